"""Naver Commerce API authentication: the bcrypt `client_secret_sign` and one cached client-credentials token.

client_secret_sign = standard base64 of bcrypt(client_id + "_" + timestamp_ms, salt=client_secret), and the token
request carries it with the other parameters in an x-www-form-urlencoded body, never in the query string
(marketplaces.md §2.2). A token lives 3 h; it is reused until shortly before it expires, and dropped once when the
gateway answers 401 GW.AUTHN.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import bcrypt
from pydantic import SecretStr

from connectors.base import Unavailable
from core.clock import Clock

TOKEN_PATH = "/v1/oauth2/token"
REFRESH_MARGIN_S = 300.0  # re-issue 5 min before expiry: a poll started on an almost-dead token must not fail midway
# Many clients sign 3 s in the past: a host clock slightly ahead of Naver's would otherwise send a future timestamp.
TIMESTAMP_LEAD_MS = 3000
_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_SALT = re.compile(r"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{22}")

# Posts the token form and returns the decoded JSON body, or raises a ConnectorError.
Fetch = Callable[[Mapping[str, str]], Awaitable[object]]


def canonical_salt(client_secret: str) -> str:
    """`client_secret` as a salt strict bcrypt libraries accept; raises ValueError if it is no bcrypt salt at all.

    The 22nd salt character carries 2 significant bits; jBCrypt and node-bcrypt ignore the other 4, Python's
    bcrypt refuses them ("Invalid salt"). Clearing them keeps the hash identical to what Naver computes, so the
    documentation's own example secret (`...qrstuv`) signs like its canonical form (`...qrstuu`).
    """
    if _SALT.fullmatch(client_secret) is None:
        # Never echo the value: it is the application secret.
        raise ValueError("client_secret must be a bcrypt salt: $2a$, two cost digits, $ and 22 characters")
    last = _BCRYPT_ALPHABET.index(client_secret[-1]) & 0b110000
    return client_secret[:-1] + _BCRYPT_ALPHABET[last]


def client_secret_sign(client_id: str, client_secret: str, timestamp_ms: int) -> str:
    """Standard base64 of bcrypt(`client_id`_`timestamp_ms`, salt=`client_secret`), as the official samples do."""
    password = f"{client_id}_{timestamp_ms}".encode()
    hashed = bcrypt.hashpw(password, canonical_salt(client_secret).encode("ascii"))
    return base64.standard_b64encode(hashed).decode("ascii")


def token_form(client_id: str, client_secret: str, timestamp_ms: int) -> dict[str, str]:
    """The token request's body parameters for the seller's own store (type=SELF, so no account_id)."""
    return {
        "client_id": client_id,
        "timestamp": str(timestamp_ms),
        "client_secret_sign": client_secret_sign(client_id, client_secret, timestamp_ms),
        "grant_type": "client_credentials",
        "type": "SELF",
    }


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """A token response's useful part."""

    access_token: str
    expires_in_s: float


def parse_grant(payload: object) -> TokenGrant:
    """`access_token` and `expires_in` of a 200 token response; Unavailable if either is missing or bad."""
    if not isinstance(payload, Mapping):
        raise Unavailable("naver: token response is not an object")
    token, expires_in = payload.get("access_token"), payload.get("expires_in")
    if not isinstance(token, str) or not re.fullmatch(r"[!-~]+", token.strip()):  # it goes into a header
        raise Unavailable("naver: token response has no access_token")
    if isinstance(expires_in, str) and expires_in.isascii() and expires_in.isdigit():
        expires_in = int(expires_in)
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
        raise Unavailable("naver: token response has no positive expires_in")
    return TokenGrant(token.strip(), float(expires_in))


@dataclass(frozen=True, slots=True)
class _Cached:
    value: str
    refresh_at_s: float  # on the clock's monotonic scale


class NaverTokenSource:
    """One cached access token per application (type=SELF), shared by every stream poll of the account.

    A lock serializes issuing, so polls that find no valid token at the same moment share one token request.
    """

    def __init__(self, *, client_id: str, client_secret: SecretStr, clock: Clock) -> None:
        canonical_salt(client_secret.get_secret_value())  # refuse a malformed secret at start-up, not at 3 a.m.
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock
        self._lock = asyncio.Lock()
        self._cached: _Cached | None = None
        self.issued = 0  # successful token requests, for tests and metrics

    def __repr__(self) -> str:
        return f"NaverTokenSource(client_id={self._client_id!r}, client_secret={self._client_secret!r})"

    async def token(self, fetch: Fetch) -> str:
        """A valid access token: the cached one, or a new one asked for through `fetch(form)`."""
        async with self._lock:
            cached = self._cached
            if cached is not None and self._clock.monotonic() < cached.refresh_at_s:
                return cached.value
            self._cached = None
            asked_at_s = self._clock.monotonic()
            timestamp_ms = int(self._clock.now().timestamp() * 1000) - TIMESTAMP_LEAD_MS
            # bcrypt is slow on purpose (~60 ms at cost 10): keep it off the event loop.
            form = await asyncio.to_thread(
                token_form, self._client_id, self._client_secret.get_secret_value(), timestamp_ms
            )
            grant = parse_grant(await fetch(form))
            margin_s = min(REFRESH_MARGIN_S, grant.expires_in_s / 2)
            # Counted from before the request: the server's clock started while ours was waiting for the answer.
            self._cached = _Cached(grant.access_token, asked_at_s + grant.expires_in_s - margin_s)
            self.issued += 1
            return grant.access_token

    def invalidate(self, value: str) -> None:
        """Forget `value` if it is still the cached token (the gateway refused it); the next call re-issues."""
        if self._cached is not None and self._cached.value == value:
            self._cached = None
