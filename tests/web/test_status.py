"""The status page: `inqd status`'s facts in the browser, what needs attention first, and each channel's test button."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from aggregator.cli.status_report import status_report
from aggregator.cli.words import Words
from aggregator.connection_watch import WatchedStream
from aggregator.settings import Settings
from aggregator.settings.service import AdminConfig
from aggregator.store import Store
from aggregator.web.status import status_view
from connectors.sandbox import CoupangSandbox
from connectors.sandbox.faults import Fault
from core.models import ClockKind, Marketplace, MessageKind, PollResult, StreamKind
from core.payloads import SlaAlertPayload
from tests.conftest import START, MakeSettings, quiet_sink
from tests.fakes import FakeClock
from tests.web.conftest import WebDaemon, csrf_of, screenshot_path, start_web_daemon

BUYER_PHONE = "010-2345-6789"


async def _refuse_for_good(web_daemon: WebDaemon, channel: str, error: str) -> None:
    """One message the channel refused permanently (as the dispatcher records a 4xx)."""
    store, now = web_daemon.daemon.store, web_daemon.clock.now()
    payload = SlaAlertPayload("marketplace:breach", ClockKind.MARKETPLACE, now, now)
    await store.enqueue(MessageKind.SLA_BREACH, channels=(channel,), dedup_key="refused", now=now, payload=payload)
    claimed = await store.claim_due(now=now, lease=timedelta(minutes=1), limit=50)
    [item] = [row for row in claimed if row.channel == channel and row.kind is MessageKind.SLA_BREACH]
    await store.mark_failed(item, now=now, error=error)


def _sink_lines(tmp_path: Path) -> list[dict[str, Any]]:
    sink = tmp_path / "sink.jsonl"
    return [json.loads(line) for line in sink.read_text("utf-8").splitlines()] if sink.exists() else []


async def test_status_shows_each_stream_the_outbox_and_the_channel(
    web_daemon: WebDaemon, client: httpx.AsyncClient
) -> None:
    web_daemon.sandbox.add_product_inquiry(content="배송 언제 되나요?", inquiry_at=web_daemon.clock.now())
    await web_daemon.poll()
    page = await client.get("/status")
    assert page.status_code == 200
    html = page.text
    assert "[쿠팡] shop 상품문의" in html and "정상" in html
    assert "마지막 성공" in html and "다음 확인" in html and "미답변 1건" in html
    assert "보냄 1" in html  # the new inquiry's message went to the sink
    assert "조용한 시간 아님" in html  # the fixture has no quiet hours
    assert "확인할 문제가 없습니다" in html and "확인이 필요합니다" not in html
    assert 'action="/status/test/sink"' in html and "테스트" in html


async def test_a_lost_connection_and_a_refused_channel_come_first(
    web_daemon: WebDaemon, client: httpx.AsyncClient
) -> None:
    web_daemon.sandbox.inject(Fault.SERVER_ERROR, times=1000)
    await web_daemon.poll()
    web_daemon.clock.advance(20 * 60)
    await web_daemon.poll()
    await _refuse_for_good(web_daemon, "sink", "sink: HTTP 401 (bad key)")
    html = (await client.get("/status")).text
    attention = html.index("확인이 필요합니다")
    assert attention < html.index("계정과 문의 종류")
    box = html[attention : html.index("</section>", attention)]
    assert "[쿠팡] shop 상품문의: 문제" in box
    assert "연결 끊김 알림 보냄: shop" in box  # the outage the phone was told about
    assert "채널 sink: 1건을 끝내 보내지 못함" in box and "bad key" in box
    assert "(연속 " in html  # the failing stream's last error, counted, in its row


async def test_a_stream_no_daemon_polls_is_one_attention_item_saying_so(store: Store) -> None:
    qna = WatchedStream("shop", Marketplace.COUPANG, StreamKind.PRODUCT_QNA, 60)
    empty = PollResult(inquiries=(), cursor={})
    await store.record_poll("shop", qna.stream, empty, now=START - timedelta(hours=3), channels=(), notify_new=False)
    report = await status_report(
        store, [qna], Settings().policies(), now=START, lost_after=timedelta(minutes=15), words=Words("ko")
    )
    view = status_view(report, [("phone", "ntfy")], now=START, hide=False)
    assert view.attention == ("[쿠팡] shop 상품문의: 문제 — 지났음: inqd가 실행 중인지 확인하세요",)
    assert [(c.name, c.type, c.failure) for c in view.channels] == [("phone", "ntfy", None)]


async def test_the_test_button_sends_the_test_messages_and_shows_the_reply(
    web_daemon: WebDaemon, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    csrf = csrf_of((await client.get("/status")).text)
    before = len(_sink_lines(tmp_path))
    reply = await client.post("/status/test/sink", data={"csrf": csrf, "fragment": "1"})
    assert reply.status_code == 200
    assert "시험 메시지" in reply.text and "<html" not in reply.text
    assert len(_sink_lines(tmp_path)) > before
    full = await client.post("/status/test/sink", data={"csrf": csrf})  # the form without the page's script
    assert full.status_code == 200 and "<html" in full.text and "시험 메시지" in full.text


@pytest.mark.parametrize(
    ("path", "with_csrf", "status"),
    [("/status/test/nope", True, 404), ("/status/test/sink", False, 403)],
)
async def test_an_unknown_channel_is_404_and_a_test_needs_the_csrf_token(
    client: httpx.AsyncClient, path: str, with_csrf: bool, status: int
) -> None:
    csrf = csrf_of((await client.get("/status")).text)
    response = await client.post(path, data={"csrf": csrf} if with_csrf else {})
    assert response.status_code == status


@pytest.fixture
async def token_daemon(
    tmp_path: Path, real_clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> AsyncIterator[WebDaemon]:
    """A daemon whose inbox needs `[admin] token = "letmein"` (reachable through a proxy)."""
    admin = AdminConfig(token=SecretStr("letmein"))
    running = await start_web_daemon(
        make_settings(quiet_sink(tmp_path), quiet_hours=(), admin=admin), real_clock, sandbox
    )
    try:
        yield running
    finally:
        await running.admin.aclose()
        await running.daemon.aclose()


async def test_buyer_data_in_an_error_is_masked_for_a_page_reached_through_a_proxy(token_daemon: WebDaemon) -> None:
    await _refuse_for_good(token_daemon, "sink", f"sink: HTTP 400 (bad recipient {BUYER_PHONE})")
    async with httpx.AsyncClient(base_url=token_daemon.url) as http:
        await http.post("/login", data={"token": "letmein", "next": "/status"})
        local = await http.get("/status")
        remote = await http.get("/status", headers={"X-Forwarded-For": "100.64.0.7"})
    assert BUYER_PHONE in local.text and "개인정보 가림" not in local.text
    assert remote.status_code == 200
    assert BUYER_PHONE not in remote.text and "개인정보 가림" in remote.text


async def test_the_test_button_in_chromium_shows_the_reply_beside_it(
    page: Any, web_daemon: WebDaemon, tmp_path: Path
) -> None:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    await web_daemon.poll()
    await page.goto(web_daemon.url + "/status")
    await page.get_by_role("button", name="테스트").click()
    reply = page.locator(".test-reply .test-result")
    await reply.wait_for()
    assert "시험 메시지" in await reply.inner_text()
    assert page.url == web_daemon.url + "/status"  # the script posted it; the page stayed
    assert _sink_lines(tmp_path)
    await page.screenshot(path=str(screenshot_path("status")), full_page=True)
    assert errors == []
    assert all(url.startswith(web_daemon.url) or url.startswith("data:") for url in page.requests)
