"""The files `inqd init` writes: the config, edited in place with tomlkit, and the secrets beside it (0600, dir 0700).

Every file is written atomically, and the new config must pass load_settings before it replaces the old one,
which is kept as `<config>.bak`. The drafts (the accounts and channels being set up) live here as they are what
gets written, with what the init modules share: StopInit and the exit codes.
A helper of the init_wizard composition root: it may import anything of ours.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Table

from aggregator.init.starter_templates import STARTER_TEMPLATES, WRITTEN
from aggregator.init.texts import Lang, comment, say
from aggregator.settings import ConfigError, secret_env_name
from aggregator.settings.editing import replace_config
from core.files import write_private

EXIT_FAILED = 1
EXIT_USAGE = 2

# An account id or a channel name: the secrets' file and env names derive from it.
OWNER_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class StopInit(Exception):
    """Stop `inqd init` with `code`; `line` is the one-line reason for stderr."""

    def __init__(self, code: int, line: str = "") -> None:
        super().__init__(line)
        self.code = code
        self.line = line


@dataclass(frozen=True, slots=True)
class Field:
    """One field the wizard asks for; a secret one is written to secrets_dir, never to the config."""

    name: str
    secret: bool = False
    optional: bool = False


_F = Field
ACCOUNT_FIELDS: dict[str, tuple[Field, ...]] = {
    "coupang": (_F("vendor_id"), _F("access_key", True), _F("secret_key", True), _F("key_issued_at", optional=True)),
    "naver": (_F("client_id"), _F("client_secret", True)),
    "elevenst": (_F("api_key", True),),
    "esm": (
        _F("master_id"),
        _F("gmarket_seller_id", optional=True),
        _F("auction_seller_id", optional=True),
        _F("secret_key", True),
    ),
}
CHANNEL_FIELDS: dict[str, tuple[Field, ...]] = {
    "ntfy": (_F("server_url"), _F("topic"), _F("token", True, optional=True)),
    "telegram": (_F("bot_token", True), _F("chat_id")),
    "sms": (_F("api_key"), _F("api_secret", True), _F("sender"), _F("recipient")),
    "kakao": (_F("rest_api_key"), _F("client_secret", True, optional=True)),
    "sink": (),
}


@dataclass
class Draft:
    """One account or channel being set up: what the config has, and what was answered."""

    section: str  # "accounts" or "notifiers"
    kind: str  # the marketplace or the channel type
    owner: str  # its id or name: the secrets' file and env names derive from it
    base: dict[str, Any]  # the table in the config now ({} for a new one)
    flag: str  # the flag it came from, or its name, for error lines
    values: dict[str, str] = field(default_factory=dict)  # answered non-secret fields: written to the TOML
    secrets: dict[str, str] = field(default_factory=dict)  # every known secret value: written to secrets_dir
    from_env: set[str] = field(default_factory=set)

    @property
    def fields(self) -> tuple[Field, ...]:
        """The fields the wizard asks for."""
        return (ACCOUNT_FIELDS if self.section == "accounts" else CHANNEL_FIELDS)[self.kind]

    @property
    def keys(self) -> tuple[str, str]:
        """(discriminator key, owner key) of its table."""
        return ("marketplace", "id") if self.section == "accounts" else ("type", "name")

    def current(self, name: str) -> str:
        """The value the field has now, answered or in the config."""
        value = self.values.get(name, self.base.get(name))
        return "" if value is None else str(value)

    def entry(self) -> dict[str, Any]:
        """The table as the daemon will see it, secrets included."""
        kind_key, owner_key = self.keys
        values = {k: v for k, v in self.values.items() if v}
        return {**self.base, **values, **self.secrets, kind_key: self.kind, owner_key: self.owner}


@dataclass
class Hours:
    """Changes to quiet and work hours; None: unchanged."""

    quiet: list[str] | None = None
    work: list[str] | None = None
    intervals: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def owner_of(section: str, table: dict[str, Any]) -> str:
    """The id of an [[accounts]] table or the name of a [[notifiers]] table."""
    if section == "accounts":
        return str(table.get("id"))
    return str(table.get("name", "sink" if table.get("type") == "sink" else ""))  # a sink's name defaults


class ConfigFile:
    """The config being set up: its tomlkit document (comments kept), read once, and where its secrets go."""

    def __init__(self, path: Path, *, secrets_dir: Path | None, db_path: Path | None, lang: Lang) -> None:
        self.path = path.expanduser().absolute()
        self.lang = lang
        self.existing = self.path.is_file()
        try:
            self.doc = tomlkit.parse(self.path.read_text(encoding="utf-8")) if self.existing else tomlkit.document()
        except (TOMLKitError, OSError, UnicodeDecodeError) as err:
            raise StopInit(EXIT_USAGE, f"{self.path}: cannot read it as TOML: {err}") from err
        self.plain: dict[str, Any] = self.doc.unwrap()
        given_dir = secrets_dir or self.plain.get("secrets_dir") or self.path.parent / "secrets"
        self.secrets_dir = Path(given_dir).expanduser().absolute()  # settings resolves it against the CWD
        self._secrets_dir_flag = secrets_dir
        self._db_path_flag = db_path

    def tables(self, section: str) -> list[dict[str, Any]]:
        """The [[section]] tables as the config had them before this run."""
        tables = self.plain.get(section, [])
        return [t for t in tables if isinstance(t, dict)] if isinstance(tables, list) else []

    def save(self, drafts: Sequence[Draft], hours: Hours, *, tell: Callable[[str], None]) -> int:
        """Write the secrets, then the config if load_settings accepts it: 0 saved, 2 not saved (reasons on stderr)."""
        secret_count = sum(len(d.secrets) for d in drafts)
        if not self.existing:
            self._new_document(hours)
        else:
            if self._db_path_flag:
                self.doc["db_path"] = str(self._db_path_flag.expanduser().absolute())
            # A kakao channel's login writes its token file there even when the app has no client secret.
            needs_dir = secret_count or any(d.kind == "kakao" for d in drafts)
            if self._secrets_dir_flag or (needs_dir and "secrets_dir" not in self.doc):
                self.doc["secrets_dir"] = str(self.secrets_dir)
            for key in ("quiet_hours", "work_hours"):
                if getattr(hours, key.removesuffix("_hours")) is not None:
                    self.doc[key] = getattr(hours, key.removesuffix("_hours"))
        for name, spec in hours.intervals.items():
            table = self._table("time_intervals", {"name": name}, [])
            inline = tomlkit.inline_table()
            inline.update(spec)
            specs = tomlkit.array()
            specs.append(inline)
            table["time_intervals"] = specs
        for draft in drafts:
            self._write_draft(draft)
        text = tomlkit.dumps(self.doc)
        if any(len(v) >= 6 and v in text for d in drafts for v in d.secrets.values()):
            raise StopInit(EXIT_USAGE, "a secret value would end up in the config file; nothing was saved")
        written = self._write_secrets(drafts, tell)
        return self._replace_config(text, written, tell)

    def _new_document(self, hours: Hours) -> None:
        doc = self.doc
        for key, value in (
            ("header", None),
            ("db_path", str((self._db_path_flag or self.path.parent / "inqd.db").expanduser().absolute())),
            ("secrets_dir", str(self.secrets_dir)),
        ):
            for line in comment(self.lang, key, path=self.path):
                doc.add(tomlkit.comment(line))
            if value is not None:
                doc.add(key, value)
            doc.add(tomlkit.nl())
        for key, names in (("quiet", hours.quiet), ("work", hours.work)):
            doc.add(tomlkit.comment(comment(self.lang, f"{key}_hours" if names is not None else f"{key}_default")[0]))
            if names is not None:
                doc.add(f"{key}_hours", names)
        doc.add(tomlkit.comment(comment(self.lang, "hours_tail", path=self.path)[0]))

    def _table(self, section: str, head: dict[str, str], notes: list[str]) -> Table:
        """The [[section]] table whose owner key has `head`'s last value; a new one starts with `head`."""
        owner = list(head.values())[-1]
        tables = self.doc.get(section)
        if tables is None:
            tables = tomlkit.aot()
            self.doc.append(section, tables)
        if not isinstance(tables, AoT):
            raise StopInit(
                EXIT_USAGE, f"{self.path}: {section} is not written as [[{section}]] tables; edit it by hand"
            )
        for table in tables:
            if isinstance(table, Table) and owner_of(section, table.unwrap()) == owner:
                return table
        table = tomlkit.table()
        table.trivia.indent = "\n"  # a blank line before its header, wherever it lands
        for line in notes:
            table.add(tomlkit.comment(line))
        for key, value in head.items():
            table.add(key, value)
        tables.append(table)
        return table

    def _write_draft(self, draft: Draft) -> None:
        kind_key, owner_key = draft.keys
        secret_names = [f.name for f in draft.fields if f.secret]
        envs = ", ".join(secret_env_name(draft.owner, n) for n in secret_names)
        notes = []
        if secret_names:
            notes = comment(
                self.lang,
                "secrets_of",
                fields=", ".join(secret_names),
                path=self.secrets_dir,
                owner=draft.owner,
                envs=envs,
            )
        table = self._table(draft.section, {kind_key: draft.kind, owner_key: draft.owner}, notes)
        for name, value in draft.values.items():
            if value and table.get(name) != value:
                table[name] = date.fromisoformat(value) if name == "key_issued_at" else value
        for name in secret_names:
            if name in table:
                del table[name]  # the secret now lives in secrets_dir; a value in the TOML would win over it

    def _write_secrets(self, drafts: Sequence[Draft], tell: Callable[[str], None]) -> int:
        if not any(d.secrets for d in drafts):
            return 0
        created = not self.secrets_dir.exists()
        try:
            self.secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            if created:
                os.chmod(self.secrets_dir, 0o700)  # mkdir's mode is filtered by the umask
            elif self.secrets_dir.stat().st_mode & 0o077:
                tell(say(self.lang, "loose_dir", path=self.secrets_dir))
            written = 0
            for draft in drafts:
                for name, value in draft.secrets.items():
                    path = self.secrets_dir / f"{draft.owner}.{name}"
                    if not path.is_file() or path.read_text(encoding="utf-8").strip() != value:
                        write_private(self.secrets_dir, path.name, value, 0o600)
                        written += 1
                    env = secret_env_name(draft.owner, name)
                    if os.environ.get(env, "").strip() not in ("", value):
                        tell(say(self.lang, "env_wins", env=env))
        except OSError as err:
            raise StopInit(
                EXIT_USAGE, f"{self.secrets_dir}: cannot write secrets ({err.strerror}); try --secrets-dir"
            ) from err
        return written

    def _replace_config(self, text: str, secrets_written: int, tell: Callable[[str], None]) -> int:
        try:
            templates = replace_config(self.path, text, lang=self.lang, check_suffix=".init-check").templates_path
        except ConfigError as err:
            tell(say(self.lang, "not_saved"))
            for line in err.problems:
                sys.stderr.write(say(self.lang, "config_error", line=line) + "\n")
            return EXIT_USAGE
        except OSError as err:
            raise StopInit(EXIT_USAGE, f"{self.path}: cannot write ({err.strerror})") from err
        tell(say(self.lang, "saved", path=self.path))
        if self.existing:
            tell(say(self.lang, "backup", path=self.path.with_name(self.path.name + ".bak")))
        if secrets_written:
            tell(say(self.lang, "secrets_saved", count=secrets_written, path=self.secrets_dir))
        self._write_starter_templates(templates, tell)
        tell(say(self.lang, "next_steps", path=self.path))
        return 0

    def _write_starter_templates(self, path: Path, tell: Callable[[str], None]) -> None:
        """The starter set of answer templates, unless the seller has a templates file (never overwritten)."""
        if path.exists() or not path.parent.is_dir():
            return
        try:
            write_private(path.parent, path.name, STARTER_TEMPLATES, 0o644)
        except OSError as err:
            tell(f"{path}: {err.strerror}")
            return
        tell(WRITTEN[self.lang != "ko"].format(path=path.absolute()))
