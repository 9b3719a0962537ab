"""`inqd explain` and `inqd queue` text: the question, the seller's promise notes and any event detail masked, the
buyer's known name (one the masker could not guess alone) included."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aggregator.cli.reports import explain_lines, queue_entries
from aggregator.cli.words import Words
from aggregator.settings import Settings
from aggregator.store import Store
from core.models import PollResult, StreamKind
from tests.conftest import START, make_inquiry

pytestmark = pytest.mark.both_backends

BUYER = "타나카 유키"
RAW = ("타나카", "4444-5555", "yuki.tanaka")


async def test_explain_and_queue_mask_the_question_notes_and_unknown_event_details(store: Store) -> None:
    inquiry = make_inquiry("1", body=f"{BUYER} 주문 건 환불해 주세요 010-4444-5555", buyer=BUYER)
    poll = PollResult(inquiries=(inquiry,), cursor={})
    await store.record_poll("shop", StreamKind.PRODUCT_QNA, poll, now=START, channels=("sink",), notify_new=True)
    at = START + timedelta(hours=2)
    await store.promise(1, at, f"{BUYER} 고객님께 전화", now=START, actor="terminal:t")
    await store.add_event("text_changed", now=START, inquiry_id=1, detail={"was": "yuki.tanaka@naver.com"})
    policies = Settings().policies()

    lines = await explain_lines(store, policies, 1, now=START, words=Words("ko"))
    queue = queue_entries(await store.open_inquiries(), policies, now=START, words=Words("ko"))

    assert lines is not None
    text = "\n".join(lines) + "\n" + "\n".join(entry["excerpt"] for entry in queue)
    assert [raw for raw in RAW if raw in text] == []
    assert "“타*카 ** 주문 건 환불해 주세요 010-****-5555”" in lines
    assert sum("“타*카 ** 고객님께 전화”" in line for line in lines) == 2  # the control line and the event line
    assert any("text_changed" in line and "yu***@naver.com" in line for line in lines)
