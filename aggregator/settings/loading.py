"""Loading the config file: `load_settings` reads and validates it, and turns pydantic's errors into ConfigError,
one line per problem that names its key path, e.g. `accounts[0].vendor_id: field required`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aggregator.settings.accounts import ACCOUNT_SECRETS
from aggregator.settings.notify import NOTIFIER_SECRETS
from aggregator.settings.root import Settings
from aggregator.settings.secrets import SECRET_FIELD_NAMES, secret_env_name


class ConfigError(Exception):
    """The configuration is unusable; `problems` holds one readable line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# The discriminator values (marketplaces, channel types): a branch name in an error location, not a key.
_TAGS = set(ACCOUNT_SECRETS) | set(NOTIFIER_SECRETS)


def _loc_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(previous, int) and part in _TAGS:
            pass  # the discriminated-union branch name: noise to a reader of the TOML
        elif not part.startswith("function-"):
            out += f".{part}" if out else part
        previous = part
    return out or "(top level)"


_NAMED_MESSAGE = re.compile(r"^(?P<key>[a-z_]+(?:\[\d+\])?): (?P<rest>.+)$", re.S)


def _problem_line(error: Mapping[str, Any]) -> str:
    path = _loc_path(tuple(error["loc"]))
    kind = error["type"]
    if kind == "missing":
        message = "field required"
        leaf = str(error["loc"][-1]) if error["loc"] else ""
        owner = error["input"].get("id") or error["input"].get("name") if isinstance(error["input"], dict) else None
        if leaf in SECRET_FIELD_NAMES and isinstance(owner, str):
            message += f" (a secret: set env {secret_env_name(owner, leaf)} or a file {owner}.{leaf} in secrets_dir)"
    elif kind == "extra_forbidden":
        message = "unknown key"
    elif kind == "sub_path":
        path += "." + str(error["ctx"]["sub_path"])
        message = str(error["ctx"]["message"])
    elif kind in {"union_tag_not_found", "union_tag_invalid"}:
        path += "." + str(error["ctx"]["discriminator"]).strip("'")
        message = (
            "field required"
            if kind == "union_tag_not_found"
            else f"unknown value {error['ctx']['tag']!r} (expected {error['ctx']['expected_tags']})"
        )
    else:
        message = str(error["msg"])
        message = message.removeprefix("Value error, ")
        message = message[:1].lower() + message[1:]
        # A model-level check names its own key first ("rules: ..."): fold it into the path.
        named = _NAMED_MESSAGE.match(message)
        if named:
            path = named["key"] if path == "(top level)" else f"{path}.{named['key']}"
            message = named["rest"]
    return f"{path}: {message}"


def load_settings(path: Path) -> Settings:
    """Read and validate the config at `path`; raises ConfigError with one line per problem."""
    if not path.is_file():
        raise ConfigError([f"{path}: config file not found"])
    try:
        with path.open("rb") as fh:
            tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError([f"{path}: not valid TOML: {err}"]) from err
    except OSError as err:
        raise ConfigError([f"{path}: cannot read: {err.strerror}"]) from err
    bound = type("BoundSettings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": path}})
    try:
        return bound()  # type: ignore[no-any-return]
    except ValidationError as err:
        raise ConfigError([_problem_line(e) for e in err.errors(include_url=False)]) from err
