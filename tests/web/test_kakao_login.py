"""The Kakao login from the status page, over HTTP: the button, the redirect to Kakao with a state, Kakao's return
(played by an httpx client without the session cookie, as a browser coming from Kakao's site is), the token file,
and the refusals (a forged or spent state, a redirect URI that would not come back here).

The kakao channel is not in wiring.NOTIFIERS on this branch (its notifier is another half of issue 18), so the
daemon runs on the sink and the pages are mounted on a second admin server whose WebContext's settings carry a
kakao channel: the routes under test are the real ones, only the daemon does not build a kakao notifier.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from aggregator.admin import AdminServer
from aggregator.metrics import Metrics
from aggregator.notifiers.kakao_auth import code_challenge, read_tokens, token_path
from aggregator.settings import Settings
from aggregator.settings.notify import KakaoConfig
from aggregator.web import mount
from tests.conftest import MakeSettings, quiet_sink
from tests.web.conftest import WebDaemon

TOKEN_URL = "https://kauth.kakao.com/oauth/token"
KEY = "0123456789abcdef0123456789abcdef"
GRANTED = {
    "access_token": "web-access-token-00000000000000000000000",
    "token_type": "bearer",
    "refresh_token": "web-refresh-token-0000000000000000000000",
    "expires_in": 21599,
    "refresh_token_expires_in": 5183999,
}


@dataclass
class KakaoPages:
    """The inbox with a kakao channel in its settings."""

    url: str
    secrets_dir: Path
    use_port: int | None  # the redirect URI's port; None: the server's own


@pytest.fixture
def kauth() -> Iterator[respx.MockRouter]:
    """kauth.kakao.com mocked; requests to the inbox on 127.0.0.1 are real."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mock:
        mock.route(host="127.0.0.1").pass_through()
        yield mock


async def _serve(web_daemon: WebDaemon, make_settings: MakeSettings, tmp_path: Path, port: int | None) -> AdminServer:
    secrets_dir = tmp_path / "secrets"
    current: list[Settings] = []

    def settings_with(redirect_port: int) -> Settings:
        kakao = KakaoConfig(
            type="kakao",
            name="kakao",
            rest_api_key=KEY,
            redirect_uri=f"http://localhost:{redirect_port}/kakao/callback",
        )
        return make_settings(quiet_sink(tmp_path), kakao, quiet_hours=(), secrets_dir=secrets_dir)

    current.append(settings_with(9464))
    ctx = dataclasses.replace(web_daemon.daemon.web_context(), settings=lambda: current[-1])
    admin = AdminServer(
        host="127.0.0.1", port=0, token=None, health=web_daemon.daemon.watch.health, metrics=Metrics(),
        refresh_metrics=_nothing, now=web_daemon.clock.now,
    )  # fmt: skip
    mount(admin.add_route, ctx)
    bound = await admin.start()
    current.append(settings_with(port or bound))
    return admin


async def _nothing() -> None:
    return None


@pytest.fixture
async def kakao_pages(
    web_daemon: WebDaemon, make_settings: MakeSettings, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[KakaoPages]:
    """The pages with a kakao channel whose redirect URI comes back to them (or to `use_port`, parametrized)."""
    use_port = getattr(request, "param", None)
    admin = await _serve(web_daemon, make_settings, tmp_path, use_port)
    try:
        yield KakaoPages(f"http://127.0.0.1:{admin.port}", tmp_path / "secrets", use_port)
    finally:
        await admin.aclose()


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


async def _to_kakao(pages: KakaoPages) -> dict[str, str]:
    """Open the status page and press the button; the query of the Kakao address the browser is sent to."""
    async with httpx.AsyncClient(base_url=pages.url) as browser:
        status = await browser.get("/status")
        assert 'href="/kakao/login/kakao"' in status.text
        assert "로그인이 필요합니다" in status.text
        pressed = await browser.get("/kakao/login/kakao")
    assert pressed.status_code == 303
    target = pressed.headers["Location"]
    assert target.startswith("https://kauth.kakao.com/oauth/authorize?")
    return _query(target)


async def test_the_button_logs_in_and_the_status_page_shows_until_when(
    kakao_pages: KakaoPages, kauth: respx.MockRouter
) -> None:
    token = kauth.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=GRANTED))
    sent = await _to_kakao(kakao_pages)
    assert (sent["client_id"], sent["scope"], sent["code_challenge_method"]) == (KEY, "talk_message", "S256")
    async with httpx.AsyncClient(base_url=kakao_pages.url) as from_kakao:  # no session cookie: SameSite=Strict
        back = await from_kakao.get("/kakao/callback", params={"code": "web-code", "state": sent["state"]})
        again = await from_kakao.get("/kakao/callback", params={"code": "web-code", "state": sent["state"]})
        status = await from_kakao.get("/status")
    assert back.status_code == 200
    assert "로그인했습니다: 리프레시 토큰은" in back.text
    assert "(약 60일)" in back.text
    assert GRANTED["access_token"] not in back.text
    form = {k: v[0] for k, v in parse_qs(token.calls.last.request.content.decode()).items()}
    assert code_challenge(form["code_verifier"]) == sent["code_challenge"]
    assert form["code"] == "web-code"
    stored = read_tokens(token_path(kakao_pages.secrets_dir, "kakao"))
    assert stored is not None
    assert stored.refresh_token == GRANTED["refresh_token"]
    assert again.status_code == 400  # a state works once
    assert token.call_count == 1
    assert "리프레시 토큰: " in status.text
    assert "까지 (약 60일)" in status.text


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ({"code": "c", "state": "forged-state"}, "알 수 없습니다"),
        ({"code": "c"}, "알 수 없습니다"),
    ],
)
async def test_a_state_this_inqd_did_not_issue_is_refused(
    kakao_pages: KakaoPages, kauth: respx.MockRouter, query: dict[str, str], shown: str
) -> None:
    token = kauth.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=GRANTED))
    await _to_kakao(kakao_pages)
    async with httpx.AsyncClient(base_url=kakao_pages.url) as from_elsewhere:
        back = await from_elsewhere.get("/kakao/callback", params=query)
    assert back.status_code == 400
    assert shown in back.text
    assert not token.called
    assert not token_path(kakao_pages.secrets_dir, "kakao").exists()


async def test_a_cancelled_consent_is_said_in_korean(kakao_pages: KakaoPages, kauth: respx.MockRouter) -> None:
    sent = await _to_kakao(kakao_pages)
    async with httpx.AsyncClient(base_url=kakao_pages.url) as from_kakao:
        back = await from_kakao.get("/kakao/callback", params={"error": "access_denied", "state": sent["state"]})
    assert back.status_code == 400
    assert "동의 화면에서 취소했습니다" in back.text


async def test_kakao_refusing_the_code_is_shown(kakao_pages: KakaoPages, kauth: respx.MockRouter) -> None:
    refused = {
        "error": "invalid_grant",
        "error_description": "authorization code not found for code=c",
        "error_code": "KOE320",
    }
    kauth.post(TOKEN_URL).mock(return_value=httpx.Response(400, json=refused))
    sent = await _to_kakao(kakao_pages)
    async with httpx.AsyncClient(base_url=kakao_pages.url) as from_kakao:
        back = await from_kakao.get("/kakao/callback", params={"code": "c", "state": sent["state"]})
    assert back.status_code == 400
    assert "KOE320" in back.text
    assert "code=c" not in back.text  # Kakao's description quotes the code: never shown


@pytest.mark.parametrize("kakao_pages", [1], indirect=True)
async def test_a_redirect_uri_on_another_port_is_explained_instead_of_sending_to_kakao(
    kakao_pages: KakaoPages,
) -> None:
    async with httpx.AsyncClient(base_url=kakao_pages.url) as browser:
        pressed = await browser.get("/kakao/login/kakao")
        unknown = await browser.get("/kakao/login/nobody")
    assert pressed.status_code == 200
    assert "http://localhost:1/kakao/callback" in pressed.text
    assert "포트" in pressed.text
    assert unknown.status_code == 404
