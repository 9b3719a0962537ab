"""Configuration: one TOML file plus secrets from env vars or a secrets directory (pydantic-settings).

Strict by design: unknown keys are errors, and every error names its key path, e.g.
`accounts[0].vendor_id: field required`. Secrets are `SecretStr` and never required in the TOML:

- env var   `INQD_<ACCOUNT ID>__<FIELD>`     e.g. INQD_MYSHOP_COUPANG__SECRET_KEY
- file      `<secrets_dir>/<account id>.<field>`   e.g. /run/credentials/inqd.service/myshop-coupang.secret_key
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from aggregator.settings.notify import NOTIFIER_SECRETS, NotifierConfig
from aggregator.settings.notify import SinkNotifierConfig as SinkNotifierConfig
from aggregator.settings.policy import (
    CalendarConfig,
    SlaConfig,
    TimeIntervalConfig,
    build_schedule,
    unknown_interval_names,
)
from aggregator.settings.service import AdminConfig, ControlsConfig, HealthConfig
from core import __version__
from core.models import Marketplace, MessageKind, StreamKind
from policies import Policies

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError("use 1-40 lowercase letters, digits, - or _, starting with a letter or digit")
    return value


OwnerId = Annotated[str, AfterValidator(_check_id)]
_LOOPBACK_NAMES = {"localhost"}
_BCRYPT_SALT = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{22}$")


def is_loopback_url(url: str) -> bool:
    """True for http(s) URLs on 127.0.0.0/8, ::1 or localhost (the sandbox and test servers)."""
    host = urlsplit(url).hostname or ""
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ()


class _AccountBase(_Strict):
    """What every marketplace account has: a name, an API address, a poll cadence and look-back windows."""

    PRODUCTION_URL: ClassVar[str] = ""
    MARKETPLACE: ClassVar[Marketplace]
    MIN_POLL_INTERVAL_S: ClassVar[float] = 30.0  # rate limits are per seller or app: be a good citizen

    id: OwnerId
    base_url: str = ""  # empty: the marketplace's production URL
    poll_interval_s: Annotated[float, Field(gt=0, le=3600)] = 60.0
    backfill_days: Annotated[int, Field(ge=0, le=30)] = 3
    recheck_days: Annotated[int, Field(ge=1, le=60)] = 13

    @model_validator(mode="before")
    @classmethod
    def _default_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("base_url"):
            return {**data, "base_url": cls.PRODUCTION_URL}
        return data

    @field_validator("streams", check_fields=False)
    @classmethod
    def _streams_unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one stream is needed")
        if len(set(value)) != len(value):
            raise ValueError("a stream is listed twice")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url_http(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http(s) URL")
        if parts.scheme == "http" and not is_loopback_url(value):
            raise ValueError("plain http is only allowed for 127.0.0.1 (the sandbox); use https")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _interval_floor(self) -> _AccountBase:
        if not is_loopback_url(self.base_url) and self.poll_interval_s < self.MIN_POLL_INTERVAL_S:
            raise PydanticCustomError(
                "sub_path",
                "{message}",
                {
                    "sub_path": "poll_interval_s",
                    "message": f"must be at least {self.MIN_POLL_INTERVAL_S:g} s for a real marketplace",
                },
            )
        return self

    @property
    def stream_kinds(self) -> tuple[StreamKind, ...]:
        """The configured streams as StreamKind values."""
        return tuple(StreamKind(s) for s in getattr(self, "streams", ()))

    @property
    def marketplace_kind(self) -> Marketplace:
        """This account's marketplace."""
        return self.MARKETPLACE

    @property
    def seller_ref(self) -> str:
        """The non-secret id the marketplace knows this account by (vendor ID, application ID)."""
        for name in ("vendor_id", "client_id", "master_id"):
            value = getattr(self, name, None)
            if value:
                return str(value)
        return self.id


class CoupangAccount(_AccountBase):
    """A Coupang WING seller account (OpenAPI key issued in WING; keys expire after 180 days)."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("access_key", "secret_key")
    PRODUCTION_URL: ClassVar[str] = "https://api-gateway.coupang.com"
    MARKETPLACE: ClassVar[Marketplace] = Marketplace.COUPANG

    marketplace: Literal["coupang"]
    vendor_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{4,20}$")]
    access_key: SecretStr
    secret_key: SecretStr
    streams: tuple[Literal["product_qna", "call_center"], ...] = ("product_qna", "call_center")
    # Documented limit is 10 req/s per vendor, with 429s near 90 %: stay far below.
    max_requests_per_s: Annotated[float, Field(gt=0, le=5)] = 2.0
    api_version: Literal["v4", "v5"] = "v5"
    # The day WING issued the key pair: inqd reminds you 14 and 3 days before its 180-day expiry, and on the day.
    key_issued_at: date | None = None


class NaverAccount(_AccountBase):
    """A Naver Smart Store seller, through a Commerce API application (type SELF: your own store)."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("client_secret",)
    PRODUCTION_URL: ClassVar[str] = "https://api.commerce.naver.com/external"
    MARKETPLACE: ClassVar[Marketplace] = Marketplace.NAVER

    marketplace: Literal["naver"]
    client_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{4,64}$")]
    client_secret: SecretStr
    streams: tuple[Literal["product_qna", "customer_inquiry"], ...] = ("product_qna", "customer_inquiry")
    # Naver advertises its own per-app rate in GNCP-GW-RateLimit-* headers (about 2/s reported); the connector
    # stays under whichever is lower.
    max_requests_per_s: Annotated[float, Field(gt=0, le=5)] = 1.0

    @field_validator("client_secret")
    @classmethod
    def _bcrypt_salt(cls, value: SecretStr) -> SecretStr:
        # Naver issues the secret as a bcrypt salt; anything else can never sign. Never echo the value.
        if not _BCRYPT_SALT.match(value.get_secret_value()):
            raise ValueError("must be the application secret as issued: $2a$NN$ followed by 22 characters")
        return value


class ElevenstAccount(_AccountBase):
    """An 11번가 seller: the Open API key issued in the seller office (register this machine's IP there)."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("api_key",)
    PRODUCTION_URL: ClassVar[str] = "https://api.11st.co.kr"
    MARKETPLACE: ClassVar[Marketplace] = Marketplace.ELEVENST

    marketplace: Literal["elevenst"]
    api_key: SecretStr
    # "product_qna" (상품 Q&A) and "urgent" (긴급알리미, each with its own reply deadline).
    streams: tuple[Literal["product_qna", "urgent"], ...] = ("product_qna", "urgent")
    max_requests_per_s: Annotated[float, Field(gt=0, le=2)] = 1.0  # 11st documents no limit: be modest


class EsmAccount(_AccountBase):
    """A G마켓 and/or 옥션 seller on ESM+, through the ESM Trading API (JWT signed with the issued secret key)."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("secret_key",)
    PRODUCTION_URL: ClassVar[str] = "https://sa2.esmplus.com"
    MARKETPLACE: ClassVar[Marketplace] = Marketplace.ESM

    marketplace: Literal["esm"]
    master_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{2,40}$")]  # ESM+ master ID (the JWT `kid`)
    secret_key: SecretStr
    gmarket_seller_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{2,40}$")] | None = None
    auction_seller_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{2,40}$")] | None = None
    # "product_qna" (게시판 문의) and "urgent" (긴급알리미).
    streams: tuple[Literal["product_qna", "urgent"], ...] = ("product_qna", "urgent")
    poll_interval_s: Annotated[float, Field(gt=0, le=3600)] = 120.0
    # ESM limits order APIs to 1 call / 5 s per seller; CS limits are undocumented: the same pace by default.
    max_requests_per_s: Annotated[float, Field(gt=0, le=1)] = 0.2
    recheck_days: Annotated[int, Field(ge=1, le=60)] = 6

    @model_validator(mode="after")
    def _one_site(self) -> EsmAccount:
        if not (self.gmarket_seller_id or self.auction_seller_id):
            raise ValueError("gmarket_seller_id: give gmarket_seller_id, auction_seller_id or both")
        return self


Account = Annotated[CoupangAccount | NaverAccount | ElevenstAccount | EsmAccount, Field(discriminator="marketplace")]


class Settings(BaseSettings):
    """The whole inqd configuration."""

    model_config = SettingsConfigDict(
        extra="forbid",
        frozen=True,
        env_prefix="INQD_",
        env_nested_delimiter="__",
        nested_model_default_partial_update=False,
    )

    timezone: str = "Asia/Seoul"
    db_path: Path = Path("inqd.db")
    secrets_dir: Path | None = None
    poll_jitter: Annotated[float, Field(ge=0, le=0.5)] = 0.1
    accounts: tuple[Account, ...] = ()
    notifiers: tuple[NotifierConfig, ...] = (SinkNotifierConfig(type="sink"),)
    calendar: CalendarConfig = CalendarConfig()
    time_intervals: tuple[TimeIntervalConfig, ...] = ()
    quiet_hours: tuple[str, ...] = ("night", "closed-days")
    work_hours: tuple[str, ...] = ("cs-hours",)
    sla: SlaConfig = SlaConfig()
    admin: AdminConfig = AdminConfig()
    controls: ControlsConfig = ControlsConfig()
    health: HealthConfig = HealthConfig()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        for label, names in (
            ("accounts", [a.id for a in self.accounts]),
            ("notifiers", [n.name for n in self.notifiers]),
        ):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"{label}: duplicate name {', '.join(dupes)}")
        if not self.notifiers:
            raise ValueError("notifiers: at least one notifier is needed")
        channel_names = {n.name for n in self.notifiers}
        for channel in self.notifiers:
            if channel.fallback is not None and (
                channel.fallback not in channel_names or channel.fallback == channel.name
            ):
                raise ValueError(f"notifiers: {channel.name}.fallback names no other channel ({channel.fallback!r})")
        interval_names = [i.name for i in self.time_intervals]
        dupes = sorted({n for n in interval_names if interval_names.count(n) > 1})
        if dupes:
            raise ValueError(f"time_intervals: duplicate name {', '.join(dupes)}")
        for key in ("quiet_hours", "work_hours"):
            unknown = unknown_interval_names(getattr(self, key), self.time_intervals)
            if unknown:
                raise ValueError(f"{key}: undefined time interval {', '.join(repr(n) for n in unknown)}")
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
        return (init_settings, env_settings, _TomlWithSecrets(settings_cls))


# section -> (discriminator key, {discriminator value: secret fields})
_SECRETS_BY_KIND: Mapping[str, tuple[str, Mapping[str, tuple[str, ...]]]] = {
    "accounts": (
        "marketplace",
        {
            "coupang": CoupangAccount.SECRET_FIELDS,
            "naver": NaverAccount.SECRET_FIELDS,
            "elevenst": ElevenstAccount.SECRET_FIELDS,
            "esm": EsmAccount.SECRET_FIELDS,
        },
    ),
    "notifiers": ("type", NOTIFIER_SECRETS),
}
_SECRET_FIELDS_BY_SECTION: Mapping[str, tuple[str, ...]] = {
    section: tuple(sorted({f for fields in kinds.values() for f in fields}))
    for section, (_, kinds) in _SECRETS_BY_KIND.items()
}


_ALL_SECRET_FIELDS = {name for fields in _SECRET_FIELDS_BY_SECTION.values() for name in fields}


def secret_env_name(owner_id: str, field: str) -> str:
    """The env var that holds `field` of the account or notifier `owner_id`."""
    return f"INQD_{re.sub(r'[^A-Za-z0-9]', '_', owner_id).upper()}__{field.upper()}"


class _TomlWithSecrets(TomlConfigSettingsSource):
    """The TOML file, with each account's and notifier's secrets filled from env vars or the secrets dir."""

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        secrets_dir = os.environ.get("INQD_SECRETS_DIR") or data.get("secrets_dir")
        for section, (key, kinds) in _SECRETS_BY_KIND.items():
            entries = data.get(section)
            if not isinstance(entries, list):
                continue
            for entry in entries:
                if isinstance(entry, dict):
                    _fill_secrets(entry, kinds.get(str(entry.get(key)), ()), secrets_dir)
        admin = data.get("admin")
        if secrets_dir and (admin is None or isinstance(admin, dict)) and "token" not in (admin or {}):
            token_file = Path(secrets_dir) / "admin.token"  # env INQD_ADMIN__TOKEN wins: pydantic-settings reads it
            if token_file.is_file():
                data["admin"] = {**(admin or {}), "token": token_file.read_text(encoding="utf-8").strip()}
        return data


def _fill_secrets(entry: dict[str, Any], fields: tuple[str, ...], secrets_dir: str | None) -> None:
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


class ConfigError(Exception):
    """The configuration is unusable; `problems` holds one readable line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


_TAGS = {m.value for m in Marketplace} | {"sink", "ntfy", "sms", "telegram", "webhook"}


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
        if leaf in _ALL_SECRET_FIELDS and isinstance(owner, str):
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


def secrets_written_in(path: Path) -> list[str]:
    """Key paths of secrets written in the TOML file itself (allowed, but they belong in env or secrets_dir)."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    found = []
    for section, fields in _SECRET_FIELDS_BY_SECTION.items():
        entries = data.get(section)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            found += [f"{section}[{index}].{name}" for name in fields if isinstance(entry, dict) and name in entry]
    return found


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
