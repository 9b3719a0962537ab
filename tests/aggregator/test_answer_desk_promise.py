"""The answer desk's send records the promise of the template the seller started from — as `inqd answer` does — but
only while the text still says the promised date; without a template it is a plain approval."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.answering.desk import AnswerDesk, template_key, text_digest
from aggregator.answering.service import AnswerService
from aggregator.store import Store
from core.models import KST, PollResult, StreamKind
from policies import Policies
from policies.templates import format_day
from tests.conftest import MakeSettings, make_inquiry
from tests.fakes import FakeClock

pytestmark = pytest.mark.both_backends

TEMPLATES = """
[[templates]]
name = "출고 약속"
category = "배송"
title = "출고"
body = "기다려 주셔서 감사합니다. {약속일:+2영업일}까지 출고해 드리겠습니다."
"""
KEY = template_key("출고 약속")  # as a Telegram button or the web form carries it
PROMISED_DAY = "11월 26일(목)"  # Tuesday 2026-11-24 14:00 (the test clock) + 2 영업일


@pytest.fixture
def policies(make_settings: MakeSettings) -> Policies:
    """The default work calendar (weekdays 09:00-18:00, Korean holidays)."""
    return make_settings().policies()


@pytest.fixture
def desk(tmp_path: Path, store: Store, clock: FakeClock, policies: Policies) -> AnswerDesk:
    """A desk over the store with one promising template."""
    templates = tmp_path / "templates.toml"
    templates.write_text(TEMPLATES, encoding="utf-8")
    service = AnswerService(store, clock, policies=policies)
    return AnswerDesk(
        service, store, clock, check=lambda inquiry, text: [], templates_path=templates, work=lambda: policies.work
    )


async def _inquiry(store: Store, clock: FakeClock) -> int:
    stream = StreamKind.PRODUCT_QNA
    result = PollResult(inquiries=(make_inquiry("1", stream=stream),), cursor={})
    await store.record_poll("shop", stream, result, now=clock.now(), channels=("sink",), notify_new=True)
    return (await store.open_inquiries())[0].id


async def test_the_promised_date_kept_in_the_text_is_recorded(desk: AnswerDesk, store: Store, clock: FakeClock) -> None:
    inquiry_id = await _inquiry(store, clock)
    draft = await desk.draft_template(inquiry_id, KEY)
    assert PROMISED_DAY in draft.answer.text
    # The seller rewrote the other words; the date stays as the template wrote it.
    edited = await desk.draft(inquiry_id, f"늦어져 죄송합니다. {PROMISED_DAY}까지 꼭 보내 드리겠습니다.")

    approval = await desk.send(
        edited.answer.id, "web", digest=text_digest(edited.answer.text), confirm_warnings=False, template_key=KEY
    )

    stored = await store.get_inquiry(inquiry_id)
    assert stored is not None and stored.controls.promise_at is not None
    assert format_day(stored.controls.promise_at.astimezone(KST).date()) == PROMISED_DAY
    assert approval.answer.approved_by == "web"
    assert any("연락 약속을 기록했습니다" in line for line in approval.promise_lines)


async def test_no_promise_when_the_seller_removed_the_date(desk: AnswerDesk, store: Store, clock: FakeClock) -> None:
    inquiry_id = await _inquiry(store, clock)
    await desk.draft_template(inquiry_id, KEY)
    edited = await desk.draft(inquiry_id, "기다려 주셔서 감사합니다. 곧 출고해 드리겠습니다.")

    approval = await desk.send(
        edited.answer.id, "web", digest=text_digest(edited.answer.text), confirm_warnings=False, template_key=KEY
    )

    stored = await store.get_inquiry(inquiry_id)
    assert stored is not None and stored.controls.promise_at is None
    assert approval.promise_lines == () and approval.answer.state.value == "approved"


async def test_no_promise_without_a_template(desk: AnswerDesk, store: Store, clock: FakeClock) -> None:
    inquiry_id = await _inquiry(store, clock)
    draft = await desk.draft_template(inquiry_id, KEY)

    approval = await desk.send(draft.answer.id, "web", digest=text_digest(draft.answer.text), confirm_warnings=False)

    stored = await store.get_inquiry(inquiry_id)
    assert stored is not None and stored.controls.promise_at is None
    assert approval.promise_lines == () and approval.answer.state.value == "approved"
