"""Loading the config file: `load_settings` reads and validates it, and turns pydantic's errors into ConfigError,
one line per problem that names its key path, e.g. `accounts[0].vendor_id: field required`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from aggregator.language import Lang
from aggregator.settings.accounts import ACCOUNT_SECRETS
from aggregator.settings.file import NotUtf8, read_toml
from aggregator.settings.notify import NOTIFIER_SECRETS
from aggregator.settings.problems import Problem, problem_text, pydantic_text
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


def _joined(path: str, sub: str) -> str:
    return sub if path == "(top level)" else f"{path}.{sub}"


def _message(error: Mapping[str, Any], lang: Lang) -> tuple[str | None, str]:
    """The sub-key an error belongs to (if its check named one) and its message, in `lang`."""
    kind, ctx = error["type"], error.get("ctx", {})
    problem = ctx.get("error") if kind == "value_error" else ctx.get("problem")
    if isinstance(problem, Problem):
        return (str(ctx["sub_path"]) if kind == "sub_path" else problem.at), problem.text(lang)
    if kind == "missing":
        message = problem_text(lang, "missing")
        leaf = str(error["loc"][-1]) if error["loc"] else ""
        owner = error["input"].get("id") or error["input"].get("name") if isinstance(error["input"], dict) else None
        if leaf in SECRET_FIELD_NAMES and isinstance(owner, str):
            message += problem_text(lang, "secret_hint", env=secret_env_name(owner, leaf), file=f"{owner}.{leaf}")
        return None, message
    if kind in {"union_tag_not_found", "union_tag_invalid"}:
        sub = str(ctx["discriminator"]).strip("'")
        if kind == "union_tag_not_found":
            return sub, problem_text(lang, "missing")
        return sub, problem_text(lang, kind, tag=ctx["tag"], expected_tags=ctx["expected_tags"])
    if kind == "extra_forbidden":
        return None, problem_text(lang, kind)
    message = str(error["msg"]).removeprefix("Value error, ")
    return None, pydantic_text(lang, kind, message[:1].lower() + message[1:], ctx)


def _problem_line(error: Mapping[str, Any], lang: Lang) -> str:
    """One pydantic error as `key.path: what is wrong`, in `lang`."""
    path = _loc_path(tuple(error["loc"]))
    sub, message = _message(error, lang)
    return f"{_joined(path, sub) if sub else path}: {message}"


def load_settings(path: Path, *, lang: Lang = "en", secrets: bool = True) -> Settings:
    """Read and validate the config at `path`; raises ConfigError with one line per problem, in `lang`.

    With `secrets=False` (commands that use none) a missing secret is no problem.
    """
    try:
        read_toml(path)
    except FileNotFoundError as err:
        raise ConfigError([problem_text(lang, "file_not_found", path=path)]) from err
    except NotUtf8 as err:
        converted = path.with_suffix(".utf8" + path.suffix)
        line = problem_text(lang, "not_utf8", path=path, encoding=err.encoding, converted=converted)
        raise ConfigError([line]) from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError([problem_text(lang, "not_toml", path=path, error=err)]) from err
    except OSError as err:
        raise ConfigError([problem_text(lang, "cannot_read", path=path, error=err.strerror)]) from err
    config = {**Settings.model_config, "toml_file": path}
    bound = type("BoundSettings", (Settings,), {"model_config": config, "SECRETS_NEEDED": secrets})
    try:
        return bound()  # type: ignore[no-any-return]
    except ValidationError as err:
        raise ConfigError([_problem_line(e, lang) for e in err.errors(include_url=False)]) from err
