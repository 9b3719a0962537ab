"""Answering in a real Chromium: open an inquiry from the sandbox, pick a template, see the check's findings as the
text changes, send with confirmation; the daemon's next rounds post it and the sandbox has the answer."""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from aggregator.store.answers import AnswerState
from tests.web.conftest import WebDaemon, screenshot_path
from tests.web.test_inquiry import seed, web_daemon  # noqa: F401 - the daemon with the seller's templates file

QUESTION = "이 상품 언제 다시 들어오나요? 급해요."
FILLED = re.compile(r"^안녕하세요, 쿠팡입니다\. 문의하신 상품은 \d+월 \d+일\(.\)에 들어옵니다\.$")
PHONE_NUMBER = "010-3333-4444"
WARNING = "입고가 늦어지는 건 어쩔 수 없습니다."


async def pick_template(page: Any, query: str) -> None:
    """`/`, type to filter the templates, Enter: the first one left fills the composer."""
    await page.locator("body").press("/")
    await expect(page.locator("#template-search")).to_be_focused()
    await page.keyboard.type(query)
    await expect(page.locator("a.template", has_text="배송 지연")).to_be_hidden()
    await page.keyboard.press("Enter")
    await expect(page.locator("#answer")).to_have_value(FILLED)
    await expect(page.locator("#answer-check .finding.ok")).to_be_visible()


async def test_answer_with_a_template_after_the_check(page: Any, web_daemon: WebDaemon) -> None:  # noqa: F811
    row = await seed(web_daemon, QUESTION)
    await page.goto(f"{web_daemon.url}/inquiries/{row}#answer")
    await expect(page.locator("#answer")).to_be_focused()
    await expect(page.locator(".question-body")).to_have_text(QUESTION)
    await page.keyboard.press("Escape")
    await pick_template(page, "재고")

    # A phone number steers the buyer off the marketplace: blocked as it is typed, 보내기 disabled.
    filled = await page.locator("#answer").input_value()
    await page.locator("#answer").fill(f"{filled}\n급하시면 {PHONE_NUMBER}로 전화 주세요.")
    await expect(page.locator("#answer-check .finding.block")).to_contain_text("마켓 밖 연락처")
    await expect(page.locator('#composer [data-step="draft"]')).to_be_disabled()
    await page.screenshot(path=screenshot_path("inquiry"), full_page=True)

    # A warning: sendable, but only after the seller confirms it in the confirm step.
    await page.locator("#answer").fill(f"{filled}\n{WARNING}")
    await expect(page.locator("#answer-check .finding.warn")).to_be_visible()
    await expect(page.locator('#composer [data-step="draft"]')).to_be_enabled()
    await page.locator('#composer [data-step="draft"]').click()
    confirm = page.locator("form.confirm")
    await expect(confirm.locator("blockquote.final")).to_have_text(f"{filled}\n{WARNING}")
    await confirm.locator("[data-send]").click()  # the unticked box stops the browser: nothing is sent
    await expect(confirm.locator("input:invalid")).to_have_count(1)
    await expect(confirm.locator("[data-send]")).to_be_enabled()  # the script disables it on a real submit
    assert [a.state for a in await web_daemon.daemon.store.answers_for(row)] == [AnswerState.DRAFT]
    await confirm.get_by_label("경고를 확인했습니다").check()
    await confirm.locator("[data-send]").click()
    await expect(page.locator(".answer-item .steps li.now")).to_have_text(re.compile("승인됨"))
    await expect(page.locator("#answer")).to_have_count(0)
    await expect(page.get_by_role("button", name="보내기 취소")).to_be_visible()

    await web_daemon.poll()
    await web_daemon.poll()
    stored = await web_daemon.daemon.store.get_inquiry(row)
    assert stored is not None and stored.inquiry.answered
    question = web_daemon.sandbox.product_inquiry(int(stored.inquiry.external_id))
    assert question is not None and [c.content for c in question.comments] == [f"{filled}\n{WARNING}"]

    await page.reload()
    await expect(page.locator(".answered-note")).to_contain_text("답변된 문의입니다")
    await expect(page.locator(".answer-item .badge")).to_contain_text("확인됨")
    await expect(page.locator("#answer")).to_have_count(0)
    assert all(url.startswith(web_daemon.url) for url in page.requests)


async def test_the_composer_fits_a_phone(browser: Any, web_daemon: WebDaemon) -> None:  # noqa: F811
    row = await seed(web_daemon, QUESTION)
    context = await browser.new_context(viewport={"width": 375, "height": 812}, locale="ko-KR", is_mobile=True)
    try:
        phone = await context.new_page()
        await phone.goto(f"{web_daemon.url}/inquiries/{row}")
        await pick_template(phone, "재고")
        await phone.screenshot(path=screenshot_path("inquiry-phone"), full_page=True)
        assert await phone.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        await context.close()


async def test_a_picked_template_promise_is_recorded_and_shown(page: Any, web_daemon: WebDaemon) -> None:  # noqa: F811
    row = await seed(web_daemon, QUESTION)
    await page.goto(f"{web_daemon.url}/inquiries/{row}")
    await page.locator("a.template", has_text="입고 약속").click()
    await expect(page.locator("#answer")).to_have_value(re.compile(r"\d+월 \d+일\(.\)까지 입고해"))
    await expect(page.locator("#answer-check .finding.ok")).to_be_visible()
    await page.locator('#composer [data-step="draft"]').click()
    await page.locator("form.confirm [data-send]").click()

    await expect(page.locator(".promise-note").first).to_contain_text("연락 약속을 기록했습니다")
    stored = await web_daemon.daemon.store.get_inquiry(row)
    assert stored is not None and stored.controls.promise_at is not None
    await page.screenshot(path=screenshot_path("inquiry-promise"), full_page=True)
