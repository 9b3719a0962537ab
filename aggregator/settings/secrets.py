"""Secrets of the config: never required in the TOML, filled in from env vars or a secrets directory.

- env var   `INQD_<ACCOUNT ID>__<FIELD>`     e.g. INQD_MYSHOP_COUPANG__SECRET_KEY
- file      `<secrets_dir>/<account id>.<field>`   e.g. /run/credentials/inqd.service/myshop-coupang.secret_key

A command that uses no secret (`queue`, `schedule`, `explain`, `status`, the seller controls) reads the config
without them: a secret found nowhere is replaced by a stand-in of the right form, so every other key is still
checked, and nothing ever sends it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic_settings import TomlConfigSettingsSource

from aggregator.settings.accounts import ACCOUNT_SECRETS, CoupangAccount, ElevenstAccount, EsmAccount, NaverAccount
from aggregator.settings.file import read_toml
from aggregator.settings.notify import NOTIFIER_SECRETS, SmsConfig, TelegramConfig, WebhookConfig

# section -> (discriminator key, {discriminator value: secret fields})
_SECRETS_BY_KIND: Mapping[str, tuple[str, Mapping[str, tuple[str, ...]]]] = {
    "accounts": ("marketplace", ACCOUNT_SECRETS),
    "notifiers": ("type", NOTIFIER_SECRETS),
}
_SECRET_FIELDS_BY_SECTION: Mapping[str, tuple[str, ...]] = {
    section: tuple(sorted({f for fields in kinds.values() for f in fields}))
    for section, (_, kinds) in _SECRETS_BY_KIND.items()
}

# Every secret field name of any section, so a "field required" on one can say where the secret goes.
SECRET_FIELD_NAMES = frozenset({name for fields in _SECRET_FIELDS_BY_SECTION.values() for name in fields})
# Stand-ins for secrets a command does not use, of the form their checks ask for (a bcrypt salt, a URL).
_STAND_INS = {"client_secret": "$2a$04$" + "0" * 22, "url": "https://secret-not-read.invalid"}
_STAND_IN = "secret-not-read"
# Only a secret without which the config is invalid needs a stand-in (an optional ntfy token stays absent).
_REQUIRED_SECRETS = frozenset(
    name
    for model in (CoupangAccount, NaverAccount, ElevenstAccount, EsmAccount, SmsConfig, TelegramConfig, WebhookConfig)
    for name in model.SECRET_FIELDS
    if model.model_fields[name].is_required()
)


def secret_env_name(owner_id: str, field: str) -> str:
    """The env var that holds `field` of the account or notifier `owner_id`."""
    return f"INQD_{re.sub(r'[^A-Za-z0-9]', '_', owner_id).upper()}__{field.upper()}"


class TomlWithSecrets(TomlConfigSettingsSource):
    """The TOML file, with each account's and notifier's secrets filled from env vars or the secrets dir."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        return read_toml(Path(file_path))  # UTF-8 with or without a byte-order mark

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        secrets_dir = os.environ.get("INQD_SECRETS_DIR") or data.get("secrets_dir")
        needed = bool(getattr(self.settings_cls, "SECRETS_NEEDED", True))
        for section, (key, kinds) in _SECRETS_BY_KIND.items():
            entries = data.get(section)
            if not isinstance(entries, list):
                continue
            for entry in entries:
                if isinstance(entry, dict):
                    _fill_secrets(entry, kinds.get(str(entry.get(key)), ()), secrets_dir, needed=needed)
        if secrets_dir and "database_url" not in data:  # env INQD_DATABASE_URL wins: pydantic-settings reads it
            url_file = Path(secrets_dir) / "database_url"
            if url_file.is_file():
                data["database_url"] = url_file.read_text(encoding="utf-8").strip()
        admin = data.get("admin")
        if secrets_dir and (admin is None or isinstance(admin, dict)) and "token" not in (admin or {}):
            token_file = Path(secrets_dir) / "admin.token"  # env INQD_ADMIN__TOKEN wins: pydantic-settings reads it
            if token_file.is_file():
                data["admin"] = {**(admin or {}), "token": token_file.read_text(encoding="utf-8").strip()}
        admin = data.get("admin")
        if not needed and isinstance(admin, dict) and "token" not in admin and not os.environ.get("INQD_ADMIN__TOKEN"):
            data["admin"] = {**admin, "token": _STAND_IN}
        return data


def _fill_secrets(entry: dict[str, Any], fields: tuple[str, ...], secrets_dir: str | None, *, needed: bool) -> None:
    owner = entry.get("id") or entry.get("name")
    if not isinstance(owner, str):
        return
    for name in fields:
        env_value = os.environ.get(secret_env_name(owner, name))
        if env_value:
            entry[name] = env_value.strip()
            continue
        if secrets_dir and name not in entry:
            path = Path(secrets_dir) / f"{owner}.{name}"
            if path.is_file():
                entry[name] = path.read_text(encoding="utf-8").strip()
        if not needed and name not in entry and name in _REQUIRED_SECRETS:
            entry[name] = _STAND_INS.get(name, _STAND_IN)


def secrets_written_in(path: Path) -> list[str]:
    """Key paths of secrets written in the TOML file itself (allowed, but they belong in env or secrets_dir)."""
    data = read_toml(path)
    found = []
    for section, fields in _SECRET_FIELDS_BY_SECTION.items():
        entries = data.get(section)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            found += [f"{section}[{index}].{name}" for name in fields if isinstance(entry, dict) and name in entry]
    return found
