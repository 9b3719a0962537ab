"""KakaoTalk's one-time login and the token file it leaves: the OAuth code exchange (PKCE), the refresh of the access
token, the refresh token's rotation, and the file `<secrets_dir>/<channel>.kakao_token` (JSON, mode 0600, replaced
atomically) that the daemon, `inqd kakao-login` and the web inbox's login button share.

The file is read again on every use, so a login made while the daemon runs (the web button, or the command while
the daemon is stopped) is picked up without a restart. No token value is ever logged, put in an error or stored
in the database: they are taught to the log scrubber the moment they are read or received.

Kakao's token endpoint (https://developers.kakao.com/docs/latest/ko/kakaologin/rest-api): POST /oauth/token,
form-encoded; a refresh answer carries a new refresh token only when the old one nears its end (rotation).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlencode

import httpx
import structlog
from pydantic import SecretStr

from aggregator.notifiers.base import DeliveryError, transport_failure
from core.clock import Clock
from core.files import write_private
from core.http import json_object, make_client, parse_retry_after
from core.redact import SecretScrubber

log = structlog.get_logger("inqd.kakao")

TOKEN_SUFFIX = ".kakao_token"
# Refresh ahead of the end: a message must not leave with a token that dies on the way.
REFRESH_MARGIN = timedelta(minutes=5)
# A 401 met within this long after a refresh is the same 401 others already refreshed for: no second refresh.
_REFRESH_SETTLE_S = 30.0


class KakaoLoginNeeded(Exception):
    """No token file, or Kakao refused the stored refresh token: the seller must log in again (the notifier
    turns it into a permanent failure naming `inqd kakao-login`)."""


class KakaoApp(Protocol):
    """What the login needs of a kakao channel's config (`settings.notify.KakaoConfig` has these; notifiers/ may
    not import settings/, so the shape is written out)."""

    @property
    def name(self) -> str: ...
    @property
    def rest_api_key(self) -> str: ...
    @property
    def client_secret(self) -> SecretStr | None: ...
    @property
    def redirect_uri(self) -> str: ...
    @property
    def auth_url(self) -> str: ...


@dataclass(frozen=True, slots=True)
class KakaoTokens:
    """The token file's content; the values never show in a repr."""

    refresh_token: str = field(repr=False)
    refresh_token_expires_at: datetime
    access_token: str = field(repr=False)
    access_token_expires_at: datetime

    def to_json(self) -> str:
        """The file's text."""
        return json.dumps(
            {
                "refresh_token": self.refresh_token,
                "refresh_token_expires_at": self.refresh_token_expires_at.isoformat(),
                "access_token": self.access_token,
                "access_token_expires_at": self.access_token_expires_at.isoformat(),
            },
            indent=2,
        )


def token_path(secrets_dir: Path, channel: str) -> Path:
    """Where the tokens of the kakao channel `channel` live."""
    return secrets_dir / f"{channel}{TOKEN_SUFFIX}"


def read_tokens(path: Path) -> KakaoTokens | None:
    """The token file at `path`; None when there is none (never logged in). A damaged file needs a new login."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return KakaoTokens(
            refresh_token=str(data["refresh_token"]),
            refresh_token_expires_at=datetime.fromisoformat(data["refresh_token_expires_at"]),
            access_token=str(data["access_token"]),
            access_token_expires_at=datetime.fromisoformat(data["access_token_expires_at"]),
        )
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise KakaoLoginNeeded(f"카카오 토큰 파일을 읽을 수 없습니다 ({path.name}: {type(err).__name__})") from None


def write_tokens(path: Path, tokens: KakaoTokens) -> None:
    """Replace the token file atomically, mode 0600, its folder 0700."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(path.parent, path.name, tokens.to_json(), 0o600)


def installed_scrubber() -> SecretScrubber | None:
    """The scrubber `aggregator.logs.configure_logging` put into structlog's processors, if logging is set up."""
    processors: Iterable[object] = structlog.get_config().get("processors", ())
    return next((p for p in processors if isinstance(p, SecretScrubber)), None)


def hide_tokens(tokens: KakaoTokens, scrubber: SecretScrubber | None = None) -> None:
    """Teach the log scrubber both token values: they must never reach a log line, whatever quotes them."""
    scrubber = scrubber or installed_scrubber()
    if scrubber is not None:
        scrubber.add([tokens.access_token, tokens.refresh_token])


# ---- PKCE (RFC 7636): a random verifier and its S256 challenge. Four lines of hashlib and base64 from the
# standard library; an OAuth library would bring a whole client for them.


def new_code_verifier() -> str:
    """86 characters of the URL-safe alphabet (RFC 7636 wants 43-128), 512 random bits."""
    return secrets.token_urlsafe(64)


def code_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding: the S256 method."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(config: KakaoApp, state: str, challenge: str) -> str:
    """The page where the seller logs in to Kakao and agrees to "카카오톡 메시지 전송" (scope talk_message)."""
    query = {
        "response_type": "code",
        "client_id": config.rest_api_key,
        "redirect_uri": config.redirect_uri,
        "scope": "talk_message",
        "state": state,
        # Kakao's SDKs send PKCE; that the REST authorize endpoint checks it is UNCONFIRMED. A server that ignores
        # the two parameters still works, one that checks them gets them.
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{config.auth_url.rstrip('/')}/oauth/authorize?{urlencode(query)}"


def _refused_reason(body: Mapping[str, Any], status: int) -> str:
    """Kakao's error and KOE code, never its description (KOE320's quotes the authorization code)."""
    code = str(body.get("error_code") or "")
    error = str(body.get("error") or f"HTTP {status}")
    return f"{error} {code}".strip()


async def _token_request(
    client: httpx.AsyncClient, config: KakaoApp, form: dict[str, str], *, now: datetime
) -> Mapping[str, Any]:
    """POST the token endpoint. 400/401 (a refused code or refresh token) → KakaoLoginNeeded; 429/5xx/transport →
    a retryable DeliveryError; any other status → a permanent DeliveryError. No value of `form` is ever quoted."""
    if config.client_secret is not None and config.client_secret.get_secret_value():
        form = {**form, "client_secret": config.client_secret.get_secret_value()}
    url = f"{config.auth_url.rstrip('/')}/oauth/token"
    try:
        response = await client.post(url, data=form)
    except httpx.HTTPError as err:
        raise transport_failure(err, channel=config.name) from None
    body = json_object(response)
    status = response.status_code
    if status == 200 and "access_token" in body:
        return body
    if status in (400, 401):
        raise KakaoLoginNeeded(
            f"카카오가 로그인을 받아들이지 않았습니다 ({_refused_reason(body, status)}). "
            f"inqd kakao-login --channel {config.name} 으로 다시 로그인하거나 웹 화면의 상태 페이지에서 "
            "'카카오 로그인'을 누르세요."
        )
    text = f"{config.name}: 카카오 토큰 요청 HTTP {status}"
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=now)
        raise DeliveryError(text, retryable=True, retry_after_s=retry_after, status=status)
    raise DeliveryError(f"{text} ({_refused_reason(body, status)})", retryable=False, status=status)


def _tokens_from(body: Mapping[str, Any], now: datetime, previous: KakaoTokens | None) -> KakaoTokens:
    """The tokens after an answer: a refresh answer without a refresh token keeps the old one (no rotation)."""
    access = str(body["access_token"])
    access_until = now + timedelta(seconds=float(body["expires_in"]))
    if "refresh_token" in body:
        refresh = str(body["refresh_token"])
        refresh_until = now + timedelta(seconds=float(body["refresh_token_expires_in"]))
    elif previous is not None:
        refresh, refresh_until = previous.refresh_token, previous.refresh_token_expires_at
    else:
        raise DeliveryError("카카오가 리프레시 토큰 없이 답했습니다", retryable=False)
    return KakaoTokens(refresh, refresh_until, access, access_until)


async def exchange_code(
    config: KakaoApp,
    secrets_dir: Path,
    code: str,
    verifier: str,
    *,
    clock: Clock,
    client: httpx.AsyncClient | None = None,
) -> KakaoTokens:
    """Trade the authorization code for tokens and write the token file. KakaoLoginNeeded when Kakao refuses the
    code (expired, used, a redirect URI or secret that does not match), DeliveryError when it cannot be reached."""
    form = {
        "grant_type": "authorization_code",
        "client_id": config.rest_api_key,
        "redirect_uri": config.redirect_uri,
        "code": code,
        "code_verifier": verifier,  # PKCE: see authorize_url
    }
    own = client is None
    client = client or make_client()
    try:
        body = await _token_request(client, config, form, now=clock.now())
    finally:
        if own:
            await client.aclose()
    tokens = _tokens_from(body, clock.now(), None)
    hide_tokens(tokens)
    await asyncio.to_thread(write_tokens, token_path(secrets_dir, config.name), tokens)
    log.info("kakao_logged_in", channel=config.name, refresh_until=tokens.refresh_token_expires_at.isoformat())
    return tokens


class KakaoTokenStore:
    """The access token of one kakao channel, refreshed before it ends, one refresh at a time (KakaoTokenSource)."""

    def __init__(
        self,
        config: KakaoApp,
        secrets_dir: Path,
        *,
        clock: Clock,
        client: httpx.AsyncClient | None = None,
        scrubber: SecretScrubber | None = None,
    ) -> None:
        self._config = config
        self._path = token_path(secrets_dir, config.name)
        self._clock = clock
        self._client = client or make_client()
        self._own_client = client is None
        # Looked up once: logging is set up before the daemon builds its channels (a test's capture swaps it later).
        self._scrubber = scrubber or installed_scrubber()
        self._lock = asyncio.Lock()
        self._handed_out: str | None = None  # the access token last returned: refreshed() compares against it
        self._refused: str | None = None  # a refresh token Kakao refused: not offered again
        self._refreshed_at: float | None = None  # clock.monotonic() of the last refresh

    def _login_needed(self, why: str) -> KakaoLoginNeeded:
        return KakaoLoginNeeded(
            f"{why}. inqd kakao-login --channel {self._config.name} 으로 로그인하거나 "
            "웹 화면의 상태 페이지에서 '카카오 로그인'을 누르세요."
        )

    async def _load(self) -> KakaoTokens:
        tokens = await asyncio.to_thread(read_tokens, self._path)
        if tokens is None:
            raise self._login_needed("카카오에 로그인하지 않았습니다")
        hide_tokens(tokens, self._scrubber)
        if tokens.refresh_token == self._refused:
            raise self._login_needed("카카오가 저장된 리프레시 토큰을 거부했습니다")
        if tokens.refresh_token_expires_at <= self._clock.now():
            raise self._login_needed("카카오 리프레시 토큰이 만료되었습니다")
        return tokens

    async def _refresh(self, tokens: KakaoTokens) -> KakaoTokens:
        form = {
            "grant_type": "refresh_token",
            "client_id": self._config.rest_api_key,
            "refresh_token": tokens.refresh_token,
        }
        try:
            body = await _token_request(self._client, self._config, form, now=self._clock.now())
        except KakaoLoginNeeded:
            self._refused = tokens.refresh_token
            log.warning("kakao_refresh_refused", channel=self._config.name)
            raise
        fresh = _tokens_from(body, self._clock.now(), tokens)
        hide_tokens(fresh, self._scrubber)
        # Persisted before the new access token is used: a rotated refresh token lost in a crash is a lost login.
        await asyncio.to_thread(write_tokens, self._path, fresh)
        self._refreshed_at = self._clock.monotonic()
        rotated = fresh.refresh_token != tokens.refresh_token
        log.info("kakao_token_refreshed", channel=self._config.name, rotated=rotated)
        return fresh

    async def access_token(self) -> str:
        """A valid access token, refreshed first when less than five minutes are left."""
        async with self._lock:
            tokens = await self._load()
            if tokens.access_token_expires_at - self._clock.now() < REFRESH_MARGIN:
                tokens = await self._refresh(tokens)
            self._handed_out = tokens.access_token
            return tokens.access_token

    async def refreshed(self) -> str:
        """Refresh now (the API answered 401) and return the new access token. Callers that met the same 401
        together get one refresh: whoever comes second finds the token already changed."""
        failed = self._handed_out
        async with self._lock:
            tokens = await self._load()
            just_refreshed = (
                self._refreshed_at is not None and self._clock.monotonic() - self._refreshed_at < _REFRESH_SETTLE_S
            )
            if not just_refreshed and (failed is None or tokens.access_token == failed):
                tokens = await self._refresh(tokens)
            self._handed_out = tokens.access_token
            return tokens.access_token

    def refresh_expires_at(self) -> datetime | None:
        """When the stored refresh token ends; None when not logged in (no file, or Kakao refused it)."""
        try:
            tokens = read_tokens(self._path)
        except KakaoLoginNeeded:
            return None
        if tokens is None or tokens.refresh_token == self._refused:
            return None
        return tokens.refresh_token_expires_at

    async def aclose(self) -> None:
        """Close the HTTP client if the store made it."""
        if self._own_client:
            await self._client.aclose()
