"""The inbox in a real headless Chromium: countdowns, new inquiries without a reload, the keyboard, a phone screen."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from aggregator.settings.policy import SlaConfig, SlaRuleConfig
from connectors.sandbox import CoupangSandbox
from core.models import Marketplace, StreamKind
from tests.conftest import MakeSettings, quiet_sink
from tests.fakes import FakeClock
from tests.web.conftest import WebDaemon, screenshot_path, start_web_daemon

SLOW = 15_000  # ms: the page looks again every 4 s; Playwright waits for the condition, not for the time


@pytest.fixture
async def web_daemon(
    tmp_path: Path, real_clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> AsyncIterator[WebDaemon]:
    """The shared daemon (no quiet hours, no token), with an own target of 4 work hours on product questions:
    the list shows both clocks."""
    rule = SlaRuleConfig(marketplace=Marketplace.COUPANG, stream=StreamKind.PRODUCT_QNA, own_target=timedelta(hours=4))
    settings = make_settings(quiet_sink(tmp_path), quiet_hours=(), sla=SlaConfig(rules=(rule,)))
    running = await start_web_daemon(settings, real_clock, sandbox)
    try:
        yield running
    finally:
        await running.admin.aclose()
        await running.daemon.aclose()


async def seed_varied(web_daemon: WebDaemon) -> list[int]:
    """Six product questions (one past its deadline), polled in; a promise, a snooze, a handled one and a
    draft answer among them. Their row ids, in the order the list shows them."""
    now, sandbox = web_daemon.clock.now(), web_daemon.sandbox
    sandbox.add_product_inquiry(
        content="이 청소기 필터는 따로 파나요? 모델명 알려주세요.", inquiry_at=now - timedelta(hours=30)
    )
    sandbox.add_product_inquiry(
        content="배송이 언제 출발하나요? 내일까지 받아야 합니다.", inquiry_at=now - timedelta(hours=21)
    )
    sandbox.add_product_inquiry(
        content="반품 회수는 언제 오나요? 010-2345-6789 로 연락 주세요.", inquiry_at=now - timedelta(hours=12)
    )
    sandbox.add_product_inquiry(content="사이즈가 평소보다 작게 나오나요?", inquiry_at=now - timedelta(hours=6))
    sandbox.add_product_inquiry(content="색상이 사진과 같은가요?", inquiry_at=now - timedelta(hours=2))
    sandbox.add_product_inquiry(content="묶음 배송 되나요?", inquiry_at=now - timedelta(minutes=10))
    await web_daemon.poll()
    store = web_daemon.daemon.store
    ids = [row.id for row in sorted(await store.open_inquiries(), key=lambda row: row.inquiry.received_at)]
    assert len(ids) == 6
    await store.promise(ids[1], now + timedelta(hours=2), "재고 확인 후 전화", now=now, actor="test")
    await store.snooze(ids[3], now + timedelta(hours=1), now=now, actor="test")
    await store.mark_handled(ids[4], now=now, actor="test")
    await store.save_draft(ids[2], "확인 후 연락드리겠습니다.", now=now, final=False)
    return ids


async def test_the_inbox_lists_the_sandbox_inquiries_with_live_countdowns(page: Any, web_daemon: WebDaemon) -> None:
    ids = await seed_varied(web_daemon)

    await page.goto(web_daemon.url + "/")

    rows = page.locator("#listing .row")
    await expect(rows).to_have_count(6)
    assert [int(await row.get_attribute("data-id")) for row in await rows.all()] == ids  # oldest = nearest deadline
    await expect(rows.first.locator(".left").first).to_have_class(re.compile(r"\blate\b"))
    await expect(rows.first.locator(".left").first).to_contain_text("지남")
    await expect(rows.last.locator(".left").first).to_contain_text("남음")
    await expect(page.locator(".badge.promise")).to_contain_text("약속")
    await expect(page.locator(".badge.snoozed")).to_have_text("미룸")
    await expect(page.locator(".badge.handled")).to_have_text("처리함")
    await expect(page.locator(".badge.pending")).to_have_text("답변 대기")
    await page.screenshot(path=screenshot_path("inbox"), full_page=True)
    assert all(url.startswith(web_daemon.url) or url.startswith("data:") for url in page.requests)


async def test_a_new_inquiry_appears_without_a_reload(page: Any, web_daemon: WebDaemon) -> None:
    await seed_varied(web_daemon)
    await page.goto(web_daemon.url + "/")
    rows = page.locator("#listing .row")
    await expect(rows).to_have_count(6)
    await page.keyboard.press("j")

    web_daemon.sandbox.add_product_inquiry(
        content="방금 주문했는데 취소 가능한가요?", inquiry_at=web_daemon.clock.now()
    )
    await web_daemon.poll()

    await expect(rows).to_have_count(7, timeout=SLOW)
    await expect(page.locator("#fresh")).to_have_text("새 문의 1건")
    await expect(page.locator("#listing .row.new")).to_contain_text("취소 가능한가요")
    await expect(page.locator("#listing .row.selected")).to_have_count(1)  # the selection survives the swap
    assert all(url.startswith(web_daemon.url) or url.startswith("data:") for url in page.requests)


async def test_the_keyboard_moves_opens_and_marks_handled(page: Any, web_daemon: WebDaemon) -> None:
    ids = await seed_varied(web_daemon)
    await page.goto(web_daemon.url + "/")
    selected = page.locator("#listing .row.selected")

    await page.keyboard.press("j")
    await page.keyboard.press("j")
    await page.keyboard.press("j")
    await page.keyboard.press("k")
    await expect(selected).to_have_attribute("data-id", str(ids[1]))
    await expect(selected.locator("a.open")).to_be_focused()

    await page.keyboard.press("h")
    await expect(selected.locator(".badge.handled")).to_have_text("처리함", timeout=SLOW)
    await expect(page.locator("#reply")).to_contain_text("처리함으로 표시했습니다")
    stored = await web_daemon.daemon.store.get_inquiry(ids[1])
    assert stored is not None and stored.controls.handled_at is not None

    await page.keyboard.press("s")
    await page.locator("#snooze button[value='1h']").click()
    await expect(selected.locator(".badge.snoozed")).to_have_text("미룸", timeout=SLOW)

    await page.keyboard.press("?")
    await expect(page.locator("#shortcuts")).to_contain_text("다음 / 이전 문의")
    await page.keyboard.press("Escape")
    await page.keyboard.press("/")
    await expect(page.locator("#f-q")).to_be_focused()
    await page.keyboard.type("j")  # typing in the search box moves nothing
    await expect(selected).to_have_attribute("data-id", str(ids[1]))

    await selected.locator("a.open").focus()
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{web_daemon.url}/inquiries/{ids[1]}")


async def test_a_phone_screen_has_no_horizontal_scroll(browser: Any, web_daemon: WebDaemon) -> None:
    await seed_varied(web_daemon)
    context = await browser.new_context(viewport={"width": 375, "height": 740}, locale="ko-KR", is_mobile=True)
    phone = await context.new_page()
    requests: list[str] = []
    phone.on("request", lambda request: requests.append(request.url))
    try:
        await phone.goto(web_daemon.url + "/")
        await expect(phone.locator("#listing .row")).to_have_count(6)
        width = await phone.evaluate("document.documentElement.scrollWidth")
        await phone.screenshot(path=screenshot_path("inbox-phone"), full_page=True)
    finally:
        await context.close()

    assert width <= 375
    assert all(url.startswith(web_daemon.url) or url.startswith("data:") for url in requests)
