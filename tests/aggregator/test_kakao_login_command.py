"""`inqd kakao-login` end to end: the command's own server on the redirect URI's port, the browser's return played
by httpx, kauth.kakao.com by respx; a stray state, a cancelled consent, a busy port, the ten minutes."""

from __future__ import annotations

import asyncio
import queue
import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import respx

from aggregator.cli.kakao_login import PortBusy, serve_login
from aggregator.cli.main import main
from aggregator.kakao_login import KakaoLoginFailed
from aggregator.notifiers.kakao_auth import code_challenge, read_tokens, token_path
from aggregator.settings.notify import KakaoConfig
from core.models import KST
from tests.fakes import FakeClock

TOKEN_URL = "https://kauth.kakao.com/oauth/token"
KEY = "0123456789abcdef0123456789abcdef"
NOW = datetime(2026, 11, 24, 14, 0, tzinfo=KST)
GRANTED = {
    "access_token": "cli-access-token-0000000000000000000000",
    "token_type": "bearer",
    "refresh_token": "cli-refresh-token-000000000000000000000",
    "expires_in": 21599,
    "scope": "talk_message",
    "refresh_token_expires_in": 5183999,
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def port() -> int:
    """A port for the redirect URI nobody listens on."""
    return _free_port()


@pytest.fixture
def kauth() -> Iterator[respx.MockRouter]:
    """kauth.kakao.com mocked; the browser's return to 127.0.0.1 goes to the real server under test."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mock:
        mock.route(host="127.0.0.1").pass_through()
        yield mock


def _config(port: int) -> KakaoConfig:
    return KakaoConfig(
        type="kakao", name="kakao", rest_api_key=KEY, redirect_uri=f"http://localhost:{port}/kakao/callback"
    )


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


async def test_the_login_serves_the_redirect_and_writes_the_token_file(
    tmp_path: Path, port: int, kauth: respx.MockRouter
) -> None:
    token = kauth.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=GRANTED))
    opened: asyncio.Queue[str] = asyncio.Queue()
    said: list[str] = []
    login = asyncio.create_task(
        serve_login(_config(port), tmp_path, clock=FakeClock(NOW), say=said.append, open_browser=opened.put_nowait)
    )
    url = await opened.get()
    sent = _query(url)
    assert url in said[0]
    async with httpx.AsyncClient() as browser:
        stray = await browser.get(f"http://127.0.0.1:{port}/kakao/callback", params={"code": "x", "state": "forged"})
        assert stray.status_code == 400
        assert "알 수 없습니다" in stray.text
        back = await browser.get(
            f"http://127.0.0.1:{port}/kakao/callback", params={"code": "the-code", "state": sent["state"]}
        )
    assert back.status_code == 200
    assert "마쳤습니다" in back.text
    tokens = await login
    form = {k: v[0] for k, v in parse_qs(token.calls.last.request.content.decode()).items()}
    assert token.call_count == 1  # the forged state never reached Kakao
    assert form["code"] == "the-code"
    assert code_challenge(form["code_verifier"]) == sent["code_challenge"]
    assert form["redirect_uri"] == f"http://localhost:{port}/kakao/callback"
    assert read_tokens(token_path(tmp_path, "kakao")) == tokens


async def test_a_cancelled_consent_ends_the_login_in_korean(tmp_path: Path, port: int, kauth: respx.MockRouter) -> None:
    token = kauth.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=GRANTED))
    opened: asyncio.Queue[str] = asyncio.Queue()
    login = asyncio.create_task(
        serve_login(_config(port), tmp_path, clock=FakeClock(NOW), say=lambda _: None, open_browser=opened.put_nowait)
    )
    state = _query(await opened.get())["state"]
    async with httpx.AsyncClient() as browser:
        back = await browser.get(
            f"http://127.0.0.1:{port}/kakao/callback", params={"error": "access_denied", "state": state}
        )
    assert back.status_code == 400
    with pytest.raises(KakaoLoginFailed, match="동의 화면에서 취소했습니다"):
        await login
    assert not token_path(tmp_path, "kakao").exists()
    assert not token.called


async def test_a_busy_port_is_reported(tmp_path: Path, port: int) -> None:
    with socket.socket() as daemon:
        daemon.bind(("127.0.0.1", port))
        daemon.listen()
        with pytest.raises(PortBusy):
            await serve_login(_config(port), tmp_path, clock=FakeClock(NOW), say=lambda _: None, open_browser=None)


async def test_the_wait_ends_after_the_timeout(tmp_path: Path, port: int) -> None:
    with pytest.raises(TimeoutError):
        await serve_login(
            _config(port), tmp_path, clock=FakeClock(NOW), say=lambda _: None, open_browser=None, timeout_s=0.05
        )
    with socket.socket() as again:  # the server let go of its port
        again.bind(("127.0.0.1", port))


def _write_config(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "inqd.toml"
    path.write_text(
        f'db_path = "{tmp_path / "inqd.db"}"\nsecrets_dir = "{tmp_path / "secrets"}"\n\n'
        f'[[notifiers]]\ntype = "kakao"\nname = "kakao"\nrest_api_key = "{KEY}"\n'
        f'redirect_uri = "http://localhost:{port}/kakao/callback"\n',
        encoding="utf-8",
    )
    return path


async def test_the_command_end_to_end(
    tmp_path: Path,
    port: int,
    kauth: respx.MockRouter,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kauth.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=GRANTED))
    opened: queue.Queue[str] = queue.Queue()
    monkeypatch.setattr("webbrowser.open", opened.put)
    config = _write_config(tmp_path, port)
    command = asyncio.create_task(asyncio.to_thread(main, ["kakao-login", "--config", str(config)]))
    url = await asyncio.to_thread(opened.get, timeout=30)
    async with httpx.AsyncClient() as browser:
        back = await browser.get(
            f"http://127.0.0.1:{port}/kakao/callback", params={"code": "c", "state": _query(url)["state"]}
        )
    assert back.status_code == 200
    assert await command == 0
    out = capsys.readouterr().out
    assert "로그인했습니다: 리프레시 토큰은" in out
    assert "(약 60일)" in out
    assert GRANTED["access_token"] not in out
    assert (tmp_path / "secrets" / "kakao.kakao_token").stat().st_mode & 0o777 == 0o600


def test_the_command_names_a_missing_channel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _write_config(tmp_path, 9464)
    assert main(["kakao-login", "--config", str(config), "--channel", "other"]) == 2
    assert "kakao 채널 'other'이 없습니다" in capsys.readouterr().err
