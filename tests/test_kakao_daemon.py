"""KakaoTalk through the whole daemon: a new inquiry reaches kapi.kakao.com's "send to me" with the stored login; an
expired access token is refreshed once at kauth, the rotated refresh token is written to the token file before it is
used, and a restarted daemon goes on with it. No token in the database."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import respx

from aggregator.daemon import Daemon
from aggregator.notifiers.kakao_auth import KakaoTokens, read_tokens, token_path, write_tokens
from aggregator.settings import Settings
from aggregator.settings.notify import KakaoConfig
from connectors.sandbox import CoupangSandbox
from tests.conftest import MakeSettings
from tests.fakes import FakeClock

SEND = "https://kapi.kakao.com/v2/api/talk/memo/default/send"
TOKEN = "https://kauth.kakao.com/oauth/token"
KEY = "0123456789abcdef0123456789abcdef"
STALE = "stale-access-Qw1Er2Ty3Ui4Op5As6Df7Gh8Jk9Lz0Xc1Vb2"
FRESH = "fresh-access-Mn1Bv2Cx3Zl4Kj5Hg6Fd7Sa8Po9Iu0Yt1Re2"
OLD_REFRESH = "old-refresh-Wq2Es3Rd4Tf5Yg6Uh7Ij8Ok9Pl0Az1Sx2Dc3Fv4"
NEW_REFRESH = "new-refresh-Gb5Hn6Jm7Kl8Qa9Ws0Ed1Rf2Tg3Yh4Uj5Ik6Ol7"


def _daemon_settings(make_settings: MakeSettings, secrets_dir: Path) -> Settings:
    kakao = KakaoConfig(type="kakao", name="kakao", rest_api_key=KEY)
    return make_settings(kakao, quiet_hours=(), secrets_dir=secrets_dir)


async def test_a_new_inquiry_reaches_kakao_and_a_rotated_login_survives_a_restart(
    make_settings: MakeSettings, clock: FakeClock, tmp_path: Path
) -> None:
    secrets_dir = tmp_path / "secrets"
    path = token_path(secrets_dir, "kakao")
    now = clock.now()
    # Logged in 50 days ago: the access token is stale (the API will say 401), the refresh token has 10 days left.
    write_tokens(path, KakaoTokens(OLD_REFRESH, now + timedelta(days=10), STALE, now + timedelta(hours=3)))
    settings = _daemon_settings(make_settings, secrets_dir)
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    transport = httpx.MockTransport(sandbox.handler)
    sent: list[dict[str, object]] = []
    refreshes: list[dict[str, list[str]]] = []

    def send(request: httpx.Request) -> httpx.Response:
        bearer = request.headers["Authorization"].removeprefix("Bearer ")
        if bearer != FRESH:
            return httpx.Response(401, json={"msg": "this access token does not exist", "code": -401})
        sent.append(json.loads(parse_qs(request.content.decode())["template_object"][0]))
        return httpx.Response(200, json={"result_code": 0})

    def refresh(request: httpx.Request) -> httpx.Response:
        form = parse_qs(request.content.decode())
        refreshes.append(form)
        assert form["refresh_token"] == [OLD_REFRESH] and form["grant_type"] == ["refresh_token"]
        body = {"access_token": FRESH, "token_type": "bearer", "expires_in": 21599}
        body |= {"refresh_token": NEW_REFRESH, "refresh_token_expires_in": 5183999}  # rotated: under a month left
        return httpx.Response(200, json=body)

    with respx.mock(assert_all_mocked=True, assert_all_called=True) as router:
        router.post(SEND).mock(side_effect=send)
        router.post(TOKEN).mock(side_effect=refresh)
        daemon = await Daemon.build(settings, clock=clock, transport_for=lambda _: transport, rng=random.Random(5))
        await daemon.run_once()  # the first poll: the backlog summary goes first
        sandbox.add_product_inquiry(content="배송 언제 되나요? 연락처 010-1234-5678", inquiry_at=clock.now())
        clock.advance(61)
        await daemon.run_once()
        await daemon.aclose()
        stored = read_tokens(path)
        assert stored is not None and stored.refresh_token == NEW_REFRESH and stored.access_token == FRESH
        assert path.stat().st_mode & 0o777 == 0o600
        # restart: the new daemon uses the stored fresh token, no second refresh
        again = await Daemon.build(settings, clock=clock, transport_for=lambda _: transport, rng=random.Random(6))
        sandbox.add_product_inquiry(content="사이즈 교환 되나요?", inquiry_at=clock.now())
        clock.advance(61)
        await again.run_once()
        await again.aclose()

    assert len(refreshes) == 1
    texts = [str(m["text"]) for m in sent]
    assert any("배송 언제" in t for t in texts) and any("사이즈 교환" in t for t in texts)
    assert all(len(t) <= 200 for t in texts) and not any("010-1234-5678" in t for t in texts)
    database = b"".join(p.read_bytes() for p in tmp_path.glob("inqd.db*"))
    for secret in (STALE, FRESH, OLD_REFRESH, NEW_REFRESH):
        assert secret.encode() not in database
