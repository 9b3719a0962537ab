"""The marketplace accounts of `[[accounts]]`, one table each, discriminated by `marketplace`.

Every account has an id, an API address (the production one unless a sandbox is named), a poll cadence with a
floor the marketplace's rate limits set, and look-back windows; each marketplace adds its own keys and secrets.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from aggregator.settings.problems import Problem
from core.models import Marketplace, StreamKind

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise Problem("bad_name")
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


class AccountConfig(_Strict):
    """What every marketplace account has: a name, an API address, a poll cadence and look-back windows."""

    PRODUCTION_URL: ClassVar[str] = ""
    MARKETPLACE: ClassVar[Marketplace]
    MIN_POLL_INTERVAL_S: ClassVar[float] = 30.0  # rate limits are per seller or app: be a good citizen

    id: OwnerId
    base_url: str = ""  # empty: the marketplace's production URL
    poll_interval_s: Annotated[float, Field(gt=0, le=3600)] = 60.0
    backfill_days: Annotated[int, Field(ge=0, le=30)] = 3
    recheck_days: Annotated[int, Field(ge=1, le=60)] = 13
    # The full sweep between one-request quick polls (connectors/polling.py): catches an inquiry answered before a
    # poll saw it and re-checks open ones older than the quick window. Under 5 minutes is as costly as no quick polls.
    sweep_minutes: Annotated[float, Field(ge=5, le=1440)] = 60.0

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
            raise Problem("no_streams")
        if len(set(value)) != len(value):
            raise Problem("stream_twice")
        return value

    @field_validator("base_url")
    @classmethod
    def _base_url_http(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise Problem("not_http_url")
        if parts.scheme == "http" and not is_loopback_url(value):
            raise Problem("plain_http")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _interval_floor(self) -> AccountConfig:
        if not is_loopback_url(self.base_url) and self.poll_interval_s < self.MIN_POLL_INTERVAL_S:
            raise Problem("poll_floor", at="poll_interval_s", floor=self.MIN_POLL_INTERVAL_S)
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
    def answer_warnings(self) -> tuple[str, ...]:
        """What keeps answers from inqd from working on this account, though polling works (for `inqd check`)."""
        return ()

    @property
    def seller_ref(self) -> str:
        """The non-secret id the marketplace knows this account by (vendor ID, application ID)."""
        for name in ("vendor_id", "client_id", "master_id"):
            value = getattr(self, name, None)
            if value:
                return str(value)
        return self.id


class CoupangAccount(AccountConfig):
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
    # The WING login ID answers are posted in the name of (Coupang's `replyBy`; a wrong one is refused). Not
    # needed to poll: without it inqd only refuses to send Coupang answers, and `inqd check` says so.
    reply_by: Annotated[str, Field(pattern=r"^[!-~]{1,100}$")] | None = None

    @property
    def answer_warnings(self) -> tuple[str, ...]:
        """A missing `reply_by`: Coupang refuses an answer without the WING login ID it goes out under."""
        if self.reply_by is not None:
            return ()
        return (
            "reply_by (the WING login ID answers go out under) is not set; polling works, but inqd cannot send "
            "Coupang answers until it is",
        )


class NaverAccount(AccountConfig):
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
            raise Problem("naver_secret")
        return value


class ElevenstAccount(AccountConfig):
    """An 11번가 seller: the Open API key issued in the seller office (register this machine's IP there)."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("api_key",)
    PRODUCTION_URL: ClassVar[str] = "https://api.11st.co.kr"
    MARKETPLACE: ClassVar[Marketplace] = Marketplace.ELEVENST

    marketplace: Literal["elevenst"]
    api_key: SecretStr
    # "product_qna" (상품 Q&A) and "urgent" (긴급알리미, each with its own reply deadline).
    streams: tuple[Literal["product_qna", "urgent"], ...] = ("product_qna", "urgent")
    max_requests_per_s: Annotated[float, Field(gt=0, le=2)] = 1.0  # 11st documents no limit: be modest


class EsmAccount(AccountConfig):
    """A G마켓 and/or 옥션 seller on ESM+, through the ESM Trading API (JWT signed with the issued secret key)."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("secret_key",)
    PRODUCTION_URL: ClassVar[str] = "https://sa2.esmplus.com"
    MARKETPLACE: ClassVar[Marketplace] = Marketplace.ESM

    marketplace: Literal["esm"]
    master_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{2,40}$")]  # ESM+ master ID (the JWT `kid`)
    secret_key: SecretStr
    gmarket_seller_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{2,40}$")] | None = None
    auction_seller_id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{2,40}$")] | None = None
    # The JWT `iss` claim: ESM's guide asks for "your domain" (e.g. the shop's domain); third-party clients report
    # it is not validated (UNCONFIRMED), so "inqd" works as the default.
    jwt_issuer: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[!-~]+$")] = "inqd"
    # "product_qna" (게시판 문의) and "urgent" (긴급알리미).
    streams: tuple[Literal["product_qna", "urgent"], ...] = ("product_qna", "urgent")
    poll_interval_s: Annotated[float, Field(gt=0, le=3600)] = 120.0
    # ESM limits order APIs to 1 call / 5 s per seller; CS limits are undocumented: the same pace by default.
    max_requests_per_s: Annotated[float, Field(gt=0, le=1)] = 0.2
    recheck_days: Annotated[int, Field(ge=1, le=60)] = 6

    @model_validator(mode="after")
    def _one_site(self) -> EsmAccount:
        if not (self.gmarket_seller_id or self.auction_seller_id):
            raise Problem("esm_site", at="gmarket_seller_id")
        return self


Account = Annotated[CoupangAccount | NaverAccount | ElevenstAccount | EsmAccount, Field(discriminator="marketplace")]
# marketplace -> its secret fields, for the loader that fills them from env or the secrets dir
ACCOUNT_SECRETS: dict[str, tuple[str, ...]] = {
    "coupang": CoupangAccount.SECRET_FIELDS,
    "naver": NaverAccount.SECRET_FIELDS,
    "elevenst": ElevenstAccount.SECRET_FIELDS,
    "esm": EsmAccount.SECRET_FIELDS,
}
