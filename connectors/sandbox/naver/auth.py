"""The Naver sandbox's token endpoint and Bearer check, written from the published algorithm (marketplaces.md §2.2).

A token request is "standard" only if every parameter is in an x-www-form-urlencoded body, nothing is in the
query string, `grant_type` is present and `account_id` comes only with type=SELLER (Naver staff's checklist in
the 2026 enforcement notices). The sign is checked by computing bcrypt(client_id + "_" + timestamp,
salt=client_secret) here, with the bcrypt library, and comparing it with the decoded client_secret_sign.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
from collections.abc import Iterator
from dataclasses import InitVar, dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

import bcrypt
import httpx

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
REQUIRED_FIELDS = ("client_id", "timestamp", "client_secret_sign", "grant_type", "type")


class NonStandardTokenRequest(Exception):
    """The token request breaks the standard form; Naver throttles the whole application for it."""


class TokenRefused(Exception):
    """The token request is standard but invalid: `status`, `message`, and the refused fields."""

    def __init__(self, status: int, message: str, fields: list[str]) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """An access token and when it stops working."""

    value: str
    expires_at: datetime


def standard_form(request: httpx.Request) -> dict[str, str]:
    """The body parameters of a standard token request; raises NonStandardTokenRequest naming the breach."""
    if request.url.query:
        raise NonStandardTokenRequest("parameters in the query string")
    content_type = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type != FORM_CONTENT_TYPE:
        raise NonStandardTokenRequest(f"Content-Type {content_type or 'missing'}")
    try:
        pairs = parse_qsl(request.content.decode("ascii"), keep_blank_values=True, strict_parsing=bool(request.content))
    except (UnicodeDecodeError, ValueError) as err:
        raise NonStandardTokenRequest("body is not x-www-form-urlencoded") from err
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise NonStandardTokenRequest(f"{name} given twice")
        form[name] = value
    if "grant_type" not in form:
        raise NonStandardTokenRequest("grant_type missing")
    if "account_id" in form and form.get("type") != "SELLER":
        raise NonStandardTokenRequest("account_id without type=SELLER")
    return form


def expected_hash(client_id: str, client_secret: str, timestamp: str) -> bytes:
    """The bcrypt string Naver computes for this request: the value client_secret_sign must encode."""
    return bcrypt.hashpw(f"{client_id}_{timestamp}".encode(), client_secret.encode("ascii"))


def decode_sign(sign: str) -> bytes | None:
    """client_secret_sign decoded from base64, or None if it is not valid base64.

    The Java sample uses a URL-safe encoder, the others standard base64; for a bcrypt string ('$', '.', '/',
    digits, letters) both give the same text, since no 6-bit group of those bytes is 62 or 63.
    """
    try:
        return base64.b64decode(sign.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return None


@dataclass(eq=False, kw_only=True)
class NaverTokenIssuer:
    """Issues and checks access tokens of one application, for its own store (type=SELF). Not thread-safe."""

    client_id: str
    client_secret: InitVar[str]
    lifetime_s: int = 10_800
    reuse_min_remaining_s: int = 1_800
    max_timestamp_age_s: float = 300.0
    max_timestamp_ahead_s: float = 60.0
    minted: int = field(init=False, default=0)  # distinct tokens issued so far
    _client_secret: str = field(init=False, repr=False)
    _tokens: list[IssuedToken] = field(init=False, repr=False, default_factory=list)
    _serial: Iterator[int] = field(init=False, repr=False, default_factory=lambda: itertools.count(1))

    def __post_init__(self, client_secret: str) -> None:
        bcrypt.hashpw(b"check", client_secret.encode("ascii"))  # a secret bcrypt refuses is a test-setup bug
        self._client_secret = client_secret

    def issue(self, form: dict[str, str], now: datetime) -> IssuedToken:
        """The token for a standard request's `form`; raises TokenRefused for anything the docs would refuse."""
        missing = [name for name in REQUIRED_FIELDS if not form.get(name)]
        if missing:
            raise TokenRefused(400, "필수 입력 항목이 누락되었습니다.", missing)
        if form["grant_type"] != "client_credentials":
            raise TokenRefused(400, "지원하지 않는 grant_type입니다.", ["grant_type"])
        if form["type"] not in ("SELF", "SELLER"):
            raise TokenRefused(400, "유효하지 않은 type입니다.", ["type"])
        if form["type"] == "SELLER":
            # The sandbox application is a seller's own app, not a solution vendor's [assumed status].
            raise TokenRefused(403, "SELLER 타입 토큰을 발급할 권한이 없습니다.", ["type"])
        if not hmac.compare_digest(form["client_id"].encode(), self.client_id.encode()):
            raise TokenRefused(400, "유효하지 않은 client_id입니다.", ["client_id"])
        timestamp = form["timestamp"]
        if not timestamp.isascii() or not timestamp.isdigit():
            raise TokenRefused(400, "timestamp는 밀리초 단위의 Unix 시간이어야 합니다.", ["timestamp"])
        age_s = now.timestamp() - int(timestamp) / 1000
        if not -self.max_timestamp_ahead_s <= age_s <= self.max_timestamp_age_s:
            raise TokenRefused(400, "timestamp가 유효 시간(5분)을 벗어났습니다.", ["timestamp"])
        sign = decode_sign(form["client_secret_sign"])
        expected = expected_hash(self.client_id, self._client_secret, timestamp)
        if sign is None or not hmac.compare_digest(sign, expected):
            raise TokenRefused(400, "전자서명 검증에 실패하였습니다.", ["client_secret_sign"])
        return self._token_for(now)

    def _token_for(self, now: datetime) -> IssuedToken:
        self._tokens = [t for t in self._tokens if t.expires_at > now]
        newest = max(self._tokens, key=lambda t: t.expires_at, default=None)
        # One token per (type, account_id): the same one while >= 30 min remain, a new one after that; the old
        # one keeps working until it expires.
        if newest is not None and (newest.expires_at - now).total_seconds() >= self.reuse_min_remaining_s:
            return newest
        serial = next(self._serial)
        digest = hashlib.sha256(f"{self.client_id}:{serial}:{now.isoformat()}".encode()).digest()
        token = IssuedToken(
            base64.urlsafe_b64encode(digest).decode().rstrip("="), now + timedelta(seconds=self.lifetime_s)
        )
        self._tokens.append(token)
        self.minted += 1
        return token

    def is_valid(self, authorization: str | None, now: datetime) -> bool:
        """Whether an Authorization header carries a token this issuer gave out that has not expired."""
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not value:
            return False
        return any(hmac.compare_digest(value.encode(), t.value.encode()) and t.expires_at > now for t in self._tokens)

    def revoke_all(self) -> None:
        """Forget every token, as if Naver had invalidated them early: the next call with one gets 401 GW.AUTHN."""
        self._tokens.clear()
