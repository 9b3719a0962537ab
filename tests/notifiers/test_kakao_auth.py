"""The Kakao token store against a respx-mocked kauth.kakao.com: the code exchange's request, the token file (0600,
atomic, its content), refresh before the end, rotation persisted across a restart, refusals and outages, one
refresh for many callers, and no token in a log line or an error."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import stat
import traceback
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx
from pydantic import SecretStr
from structlog.testing import capture_logs

from aggregator.logs import configure_logging
from aggregator.notifiers.base import DeliveryError
from aggregator.notifiers.kakao_auth import (
    KakaoLoginNeeded,
    KakaoTokens,
    KakaoTokenStore,
    authorize_url,
    code_challenge,
    exchange_code,
    new_code_verifier,
    read_tokens,
    token_path,
    write_tokens,
)
from aggregator.settings.notify import KakaoConfig
from tests.fakes import FakeClock
from tests.notifiers.conftest import NOW

TOKEN_URL = "https://kauth.kakao.com/oauth/token"
KEY = "0123456789abcdef0123456789abcdef"
OLD_REFRESH = "old-refresh-Zq9x8w7v6u5t4s3r2q1p0o9n8m7l6k5j4i3h2g1f"
OLD_ACCESS = "old-access-Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv1Wx2Yz3"
NEW_ACCESS = "new-access-Kk2Ll3Mm4Nn5Oo6Pp7Qq8Rr9Ss0Tt1Uu2Vv3Ww4"
NEW_REFRESH = "new-refresh-Xx5Yy6Zz7Aa8Bb9Cc0Dd1Ee2Ff3Gg4Hh5Ii6Jj7"


def _config(*, secret: str | None = None) -> KakaoConfig:
    return KakaoConfig(
        type="kakao", name="kakao", rest_api_key=KEY, client_secret=SecretStr(secret) if secret else None
    )


def _granted(access: str = NEW_ACCESS, refresh: str | None = None) -> httpx.Response:
    body: dict[str, object] = {"access_token": access, "token_type": "bearer", "expires_in": 21599}
    if refresh is not None:
        body |= {"refresh_token": refresh, "refresh_token_expires_in": 5183999}
    return httpx.Response(200, json=body)


def _form(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.content.decode()).items()}


@pytest.fixture
def kauth() -> Iterator[respx.MockRouter]:
    """kauth.kakao.com, strict: nothing else may be asked."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mock:
        yield mock


def _logged_in(secrets_dir: Path, *, access_left: timedelta, refresh_left: timedelta = timedelta(days=50)) -> Path:
    path = token_path(secrets_dir, "kakao")
    write_tokens(path, KakaoTokens(OLD_REFRESH, NOW + refresh_left, OLD_ACCESS, NOW + access_left))
    return path


def test_pkce_challenge_is_s256_of_a_verifier_of_legal_length() -> None:
    verifier = new_code_verifier()
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    assert 43 <= len(verifier) <= 128
    assert set(verifier) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    assert code_challenge(verifier) == expected
    assert new_code_verifier() != verifier


def test_the_authorize_url_asks_for_talk_message_with_state_and_challenge() -> None:
    url = urlsplit(authorize_url(_config(), "the-state", "the-challenge"))
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    assert (url.scheme, url.netloc, url.path) == ("https", "kauth.kakao.com", "/oauth/authorize")
    assert query == {
        "response_type": "code",
        "client_id": KEY,
        "redirect_uri": "http://localhost:9464/kakao/callback",
        "scope": "talk_message",
        "state": "the-state",
        "code_challenge": "the-challenge",
        "code_challenge_method": "S256",
    }


@pytest.mark.parametrize("secret", [None, "client-secret-value"])
async def test_the_code_exchange_sends_the_documented_form_and_writes_a_private_file(
    tmp_path: Path, kauth: respx.MockRouter, secret: str | None
) -> None:
    route = kauth.post(TOKEN_URL).mock(return_value=_granted(refresh=NEW_REFRESH))
    secrets_dir = tmp_path / "secrets"
    tokens = await exchange_code(_config(secret=secret), secrets_dir, "the-code", "the-verifier", clock=FakeClock(NOW))
    expected = {
        "grant_type": "authorization_code",
        "client_id": KEY,
        "redirect_uri": "http://localhost:9464/kakao/callback",
        "code": "the-code",
        "code_verifier": "the-verifier",
    } | ({"client_secret": secret} if secret else {})
    assert _form(route.calls.last.request) == expected
    assert route.calls.last.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    path = secrets_dir / "kakao.kakao_token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    assert json.loads(path.read_text()) == {
        "refresh_token": NEW_REFRESH,
        "refresh_token_expires_at": (NOW + timedelta(seconds=5183999)).isoformat(),
        "access_token": NEW_ACCESS,
        "access_token_expires_at": (NOW + timedelta(seconds=21599)).isoformat(),
    }
    assert read_tokens(path) == tokens
    assert list(secrets_dir.iterdir()) == [path]  # the temporary file of the atomic write is gone


def test_a_failed_write_leaves_the_old_file_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _logged_in(tmp_path, access_left=timedelta(hours=1))
    before = path.read_text()

    def broken_replace(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("core.files.os.replace", broken_replace)
    with pytest.raises(OSError, match="No space"):
        write_tokens(path, KakaoTokens(NEW_REFRESH, NOW, NEW_ACCESS, NOW))
    assert path.read_text() == before
    assert list(tmp_path.iterdir()) == [path]


async def test_a_fresh_access_token_is_used_without_asking_kakao(tmp_path: Path, kauth: respx.MockRouter) -> None:
    _logged_in(tmp_path, access_left=timedelta(minutes=6))
    store = KakaoTokenStore(_config(), tmp_path, clock=FakeClock(NOW))
    assert await store.access_token() == OLD_ACCESS
    assert not kauth.calls
    await store.aclose()


async def test_an_access_token_near_its_end_is_refreshed_and_the_old_refresh_token_kept(
    tmp_path: Path, kauth: respx.MockRouter
) -> None:
    route = kauth.post(TOKEN_URL).mock(return_value=_granted())
    path = _logged_in(tmp_path, access_left=timedelta(minutes=4))
    store = KakaoTokenStore(_config(secret="client-secret-value"), tmp_path, clock=FakeClock(NOW))
    assert await store.access_token() == NEW_ACCESS
    assert _form(route.calls.last.request) == {
        "grant_type": "refresh_token",
        "client_id": KEY,
        "refresh_token": OLD_REFRESH,
        "client_secret": "client-secret-value",
    }
    stored = read_tokens(path)
    assert stored is not None
    assert (stored.refresh_token, stored.refresh_token_expires_at) == (OLD_REFRESH, NOW + timedelta(days=50))
    assert (stored.access_token, stored.access_token_expires_at) == (NEW_ACCESS, NOW + timedelta(seconds=21599))
    assert store.refresh_expires_at() == NOW + timedelta(days=50)
    await store.aclose()


async def test_a_rotated_refresh_token_is_persisted_and_a_restart_uses_it(
    tmp_path: Path, kauth: respx.MockRouter
) -> None:
    route = kauth.post(TOKEN_URL).mock(return_value=_granted(refresh=NEW_REFRESH))
    _logged_in(tmp_path, access_left=timedelta(minutes=1), refresh_left=timedelta(days=20))
    clock = FakeClock(NOW)
    store = KakaoTokenStore(_config(), tmp_path, clock=clock)
    await store.access_token()
    await store.aclose()
    assert store.refresh_expires_at() == NOW + timedelta(seconds=5183999)

    clock.advance(6 * 3600)  # the new access token is ending too; a new process reads the same file
    restarted = KakaoTokenStore(_config(), tmp_path, clock=clock)
    route.mock(return_value=_granted(access="third-access-token-value-0000000000"))
    assert await restarted.access_token() == "third-access-token-value-0000000000"
    assert _form(route.calls.last.request)["refresh_token"] == NEW_REFRESH
    await restarted.aclose()


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(400, json={"error": "invalid_grant", "error_description": "expired", "error_code": "KOE322"}),
        httpx.Response(401, json={"error": "invalid_client", "error_code": "KOE010"}),
    ],
)
async def test_a_refused_refresh_token_means_log_in_again(
    tmp_path: Path, kauth: respx.MockRouter, answer: httpx.Response
) -> None:
    route = kauth.post(TOKEN_URL).mock(return_value=answer)
    _logged_in(tmp_path, access_left=timedelta(0))
    store = KakaoTokenStore(_config(), tmp_path, clock=FakeClock(NOW))
    with pytest.raises(KakaoLoginNeeded, match="inqd kakao-login --channel kakao") as refused:
        await store.access_token()
    assert answer.json()["error_code"] in str(refused.value)
    assert store.refresh_expires_at() is None  # not logged in any more, as the status page will say
    with pytest.raises(KakaoLoginNeeded):
        await store.access_token()
    assert route.call_count == 1  # a refused token is not offered again
    await store.aclose()


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_an_outage_is_retryable(tmp_path: Path, kauth: respx.MockRouter, status: int) -> None:
    kauth.post(TOKEN_URL).mock(return_value=httpx.Response(status, headers={"Retry-After": "30"}, text="busy"))
    path = _logged_in(tmp_path, access_left=timedelta(0))
    before = path.read_text()
    store = KakaoTokenStore(_config(), tmp_path, clock=FakeClock(NOW))
    with pytest.raises(DeliveryError) as failed:
        await store.access_token()
    assert (failed.value.retryable, failed.value.status, failed.value.retry_after_s) == (True, status, 30.0)
    assert path.read_text() == before
    await store.aclose()


async def test_a_network_failure_is_retryable(tmp_path: Path, kauth: respx.MockRouter) -> None:
    kauth.post(TOKEN_URL).mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused"))
    _logged_in(tmp_path, access_left=timedelta(0))
    store = KakaoTokenStore(_config(), tmp_path, clock=FakeClock(NOW))
    with pytest.raises(DeliveryError) as failed:
        await store.access_token()
    assert (failed.value.retryable, failed.value.network) == (True, "unreachable")
    await store.aclose()


@pytest.mark.parametrize(
    ("written", "reason"),
    [(None, "로그인하지 않았습니다"), ("{not json", "읽을 수 없습니다"), ("expired", "만료되었습니다")],
)
async def test_no_usable_file_means_log_in(tmp_path: Path, written: str | None, reason: str) -> None:
    path = token_path(tmp_path, "kakao")
    if written == "expired":
        _logged_in(tmp_path, access_left=timedelta(hours=1), refresh_left=timedelta(seconds=-1))
    elif written is not None:
        path.write_text(written)
    store = KakaoTokenStore(_config(), tmp_path, clock=FakeClock(NOW))
    with pytest.raises(KakaoLoginNeeded, match=reason):
        await store.access_token()
    await store.aclose()


async def test_concurrent_callers_share_one_refresh(tmp_path: Path, kauth: respx.MockRouter) -> None:
    route = kauth.post(TOKEN_URL).mock(return_value=_granted())
    _logged_in(tmp_path, access_left=timedelta(minutes=2))
    clock = FakeClock(NOW)
    store = KakaoTokenStore(_config(), tmp_path, clock=clock)
    tokens = await asyncio.gather(*(store.access_token() for _ in range(5)))
    assert tokens == [NEW_ACCESS] * 5
    assert route.call_count == 1
    # A minute later three sends meet the same 401 with that token: one refresh between them.
    clock.advance(60)
    route.mock(return_value=_granted(access="after-401-access-token-000000000000"))
    again = await asyncio.gather(*(store.refreshed() for _ in range(3)))
    assert again == ["after-401-access-token-000000000000"] * 3
    assert route.call_count == 2
    await store.aclose()


async def test_a_login_made_elsewhere_is_picked_up_without_a_restart(tmp_path: Path, kauth: respx.MockRouter) -> None:
    store = KakaoTokenStore(_config(), tmp_path, clock=FakeClock(NOW))
    assert store.refresh_expires_at() is None
    with pytest.raises(KakaoLoginNeeded):
        await store.access_token()
    _logged_in(tmp_path, access_left=timedelta(hours=5))  # the web button or `inqd kakao-login` wrote it
    assert await store.access_token() == OLD_ACCESS
    assert store.refresh_expires_at() == NOW + timedelta(days=50)
    await store.aclose()


async def test_no_token_in_logs_or_errors(tmp_path: Path, kauth: respx.MockRouter) -> None:
    scrubber = configure_logging(level="DEBUG")
    kauth.post(TOKEN_URL).mock(return_value=_granted(refresh=NEW_REFRESH))
    _logged_in(tmp_path, access_left=timedelta(0))
    store = KakaoTokenStore(_config(), tmp_path, clock=FakeClock(NOW))
    with capture_logs() as logs:
        await store.access_token()
    kauth.post(TOKEN_URL).mock(return_value=httpx.Response(400, json={"error": "invalid_grant", "error_code": "KOE"}))
    store = KakaoTokenStore(_config(), tmp_path, clock=FakeClock(NOW + timedelta(hours=7)))
    with pytest.raises(KakaoLoginNeeded) as refused:
        await store.access_token()
    texts = [repr(logs), str(refused.value), "".join(traceback.format_exception(refused.value))]
    texts.append(repr(read_tokens(token_path(tmp_path, "kakao"))))
    for token in (OLD_ACCESS, OLD_REFRESH, NEW_ACCESS, NEW_REFRESH):
        assert all(token not in text for text in texts)
        assert token not in scrubber.scrub(f"quoted by someone: {token}")  # the scrubber learned it
    assert [entry["event"] for entry in logs] == ["kakao_token_refreshed"]
    await store.aclose()
