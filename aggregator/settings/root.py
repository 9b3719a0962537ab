"""The whole inqd configuration: accounts, channels, calendar and hours, SLA, admin and controls in one model.

Strict by design: unknown keys are errors, and every error names its key path. Its values come from explicit
arguments, then env vars, then the TOML file with the secrets merged in (see settings.secrets).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, ClassVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from aggregator.settings.accounts import Account
from aggregator.settings.hours import check_hours, hours_items
from aggregator.settings.notify import NotifierConfig, SinkNotifierConfig
from aggregator.settings.policy import (
    CalendarConfig,
    SlaConfig,
    TimeIntervalConfig,
    build_schedule,
    interval_names,
)
from aggregator.settings.problems import Problem
from aggregator.settings.report import ReportConfig
from aggregator.settings.secrets import TomlWithSecrets
from aggregator.settings.service import AdminConfig, ControlsConfig, HealthConfig
from aggregator.store import POSTGRES_SCHEMES
from core import __version__
from core.models import MessageKind
from policies import Policies

# False refuses every PostgreSQL URL with "PostgreSQL support is not finished" (a half-working engine is not to be
# selectable); True since the whole store test suite passes on PostgreSQL (issue 20, step 1).
POSTGRES_SELECTABLE = True


class Settings(BaseSettings):
    """The whole inqd configuration."""

    model_config = SettingsConfigDict(
        extra="forbid",
        frozen=True,
        env_prefix="INQD_",
        env_nested_delimiter="__",
        nested_model_default_partial_update=False,
    )

    # False for a command that uses no secret: a missing one is then no problem (see settings.secrets).
    SECRETS_NEEDED: ClassVar[bool] = True

    timezone: str = "Asia/Seoul"
    db_path: Path = Path("inqd.db")
    # The store's engine: unset, the SQLite file at db_path; "postgresql://..." a PostgreSQL database. A secret
    # (the URL may hold the password): from env INQD_DATABASE_URL, <secrets_dir>/database_url, or the TOML; libpq's
    # own PGPASSWORD / ~/.pgpass also supply a password the URL leaves out.
    database_url: SecretStr | None = None
    # Several instances on one PostgreSQL: how long an account's lease (and the leader's) lasts unrenewed. Renewed
    # every third of it; a dead instance's accounts move within two of it. A poll stops 5 s before its lease could
    # run out unrenewed (aggregator/leases.py): the floor leaves a poll room to start between two renewals.
    lease_seconds: Annotated[float, Field(ge=18, le=600)] = 30.0
    secrets_dir: Path | None = None
    poll_jitter: Annotated[float, Field(ge=0, le=0.5)] = 0.1
    accounts: tuple[Account, ...] = ()
    notifiers: tuple[NotifierConfig, ...] = (SinkNotifierConfig(type="sink"),)
    calendar: CalendarConfig = CalendarConfig()
    time_intervals: tuple[TimeIntervalConfig, ...] = ()
    # Interval names or hours written out ("22-9", "월-금 13:00-18:00"): see settings.hours.
    quiet_hours: Annotated[tuple[str, ...], BeforeValidator(hours_items)] = ("night", "closed-days")
    work_hours: Annotated[tuple[str, ...], BeforeValidator(hours_items)] = ("cs-hours",)
    sla: SlaConfig = SlaConfig()
    admin: AdminConfig = AdminConfig()
    controls: ControlsConfig = ControlsConfig()
    health: HealthConfig = HealthConfig()
    report: ReportConfig = ReportConfig()
    templates_file: Path | None = None  # answer templates; default: templates.toml next to the config file
    shop_name: Annotated[str, Field(min_length=1)] | None = None  # {쇼핑몰} in templates; default: the marketplace

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise Problem("unknown_zone", value=value) from err
        return value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        if not value.get_secret_value().startswith(POSTGRES_SCHEMES):
            raise Problem("database_url_scheme")  # the message names no part of the URL: it may hold a password
        if not POSTGRES_SELECTABLE:
            raise Problem("postgres_unfinished")
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        for label, names in (
            ("accounts", [a.id for a in self.accounts]),
            ("notifiers", [n.name for n in self.notifiers]),
            ("time_intervals", [i.name for i in self.time_intervals]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise Problem("duplicate_names", at=label, names=", ".join(dupes))
        if not self.notifiers:
            raise Problem("no_notifiers", at="notifiers")
        channel_names = {n.name for n in self.notifiers}
        for channel in self.notifiers:
            if channel.fallback is not None and (
                channel.fallback not in channel_names or channel.fallback == channel.name
            ):
                raise Problem("fallback_unknown", at="notifiers", channel=channel.name, fallback=channel.fallback)
            if (
                channel.type == "kakao" and self.secrets_dir is None
            ):  # its login lives in <secrets_dir>/<name>.kakao_token
                raise Problem("kakao_needs_secrets_dir", at="secrets_dir", channel=channel.name)
        known = interval_names(self.time_intervals)
        check_hours("quiet_hours", self.quiet_hours, known)
        check_hours("work_hours", self.work_hours, known)
        return self

    def channels_for(self, kind: MessageKind) -> tuple[str, ...]:
        """The channels a message of `kind` goes to (a fallback-only channel still receives its fallbacks)."""
        if kind is MessageKind.ANSWERED:
            return tuple(n.name for n in self.notifiers if n.clears_answered)
        return tuple(n.name for n in self.notifiers if kind in n.kinds)

    def policy_fingerprint(self, vacations: Sequence[tuple[date, date]] = ()) -> str:
        """Changes whenever anything that shapes an alert plan changes: the policy config or the holiday data."""
        parts = {
            "timezone": self.timezone,
            "calendar": self.calendar.model_dump(mode="json"),
            "time_intervals": [i.model_dump(mode="json") for i in self.time_intervals],
            "quiet_hours": self.quiet_hours,
            "work_hours": self.work_hours,
            "sla": self.sla.model_dump(mode="json"),
            "holidays": importlib.metadata.version("holidays"),
            "inqd": __version__,
            "controls": self.controls.model_dump(mode="json"),
            "vacations": sorted(f"{first}..{last}" for first, last in vacations),
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()

    def policies(self, vacations: Sequence[tuple[date, date]] = ()) -> Policies:
        """The pure policy objects this config describes; `vacations` (from the store) are closed days too."""
        calendar = self.calendar.build(vacations)
        return Policies(
            zone=self.zone,
            calendar=calendar,
            quiet=build_schedule(self.quiet_hours, self.time_intervals, self.zone, calendar),
            work=build_schedule(self.work_hours, self.time_intervals, self.zone, calendar, exclude_closed_days=True),
            sla=self.sla.build(),
            controls=self.controls.build(),
        )

    @property
    def config_path(self) -> Path | None:
        """The file these settings were loaded from (None when built in code, as the demo's and tests' are)."""
        config_file = self.model_config.get("toml_file")
        return Path(config_file) if isinstance(config_file, str | Path) else None

    def database_location(self) -> Path | str:
        """Where the store lives, for `Store.open`: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.database_url.get_secret_value() if self.database_url is not None else self.db_path

    def database_exists(self) -> bool:
        """Whether there is a store to read: the SQLite file exists, or a PostgreSQL URL is set (reaching it, and
        making its schema, is Store.open's)."""
        return self.database_url is not None or self.db_path.is_file()

    @property
    def database_label(self) -> str:
        """Where the store lives, for people: the SQLite file, or the PostgreSQL URL without its password."""
        if self.database_url is None:
            return str(self.db_path)
        url = urlsplit(self.database_url.get_secret_value())
        user = f"{url.username}@" if url.username else ""
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme}://{user}{url.hostname or ''}{port}{url.path}"

    @property
    def templates_path(self) -> Path:
        """The answer templates file: `templates_file`, else templates.toml beside the config file."""
        if self.templates_file is not None:
            return self.templates_file
        config_file = self.config_path
        return config_file.parent / "templates.toml" if config_file else Path("templates.toml")

    @property
    def zone(self) -> ZoneInfo:
        """The configured time zone."""
        return ZoneInfo(self.timezone)

    def secret_values(self) -> list[str]:
        """Every secret in the config, for the log scrubber."""
        found: list[str] = []
        for section in (*self.accounts, *self.notifiers, self.admin):
            for name in type(section).SECRET_FIELDS:
                value = getattr(section, name)
                if isinstance(value, SecretStr):
                    found.append(value.get_secret_value())
        return found

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Priority: explicit values, then env, then the TOML file (with secrets merged in)."""
        return (init_settings, env_settings, TomlWithSecrets(settings_cls))
