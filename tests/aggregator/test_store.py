"""The store: idempotent upserts, cursor in the same transaction, events, outbox leases, file mode."""

from __future__ import annotations

import asyncio
import stat
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.store import Store, TextChange
from core.models import MessageKind, OpenSnapshot, PollResult, StreamKind
from core.payloads import SystemPayload
from tests.conftest import START, make_inquiry

pytestmark = pytest.mark.both_backends

CHANNELS = ("sink",)
AUTH = SystemPayload("[쿠팡] 인증 실패: shop", "키를 확인해 주세요.")


def _result(*inquiries, cursor=None, snapshot=None, skipped=0):  # type: ignore[no-untyped-def]
    return PollResult(
        inquiries=tuple(inquiries), cursor=cursor or {"through": "x"}, skipped=skipped, open_snapshot=snapshot
    )


async def test_db_file_is_private(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "sub" / "inqd.db")
    await store.aclose()
    assert stat.S_IMODE((tmp_path / "sub" / "inqd.db").stat().st_mode) == 0o600


async def test_reopen_keeps_schema_and_data(database: Path | str) -> None:
    store = await Store.open(database)
    await store.record_poll(
        "shop",
        StreamKind.PRODUCT_QNA,
        _result(make_inquiry("1")),
        now=START,
        channels=CHANNELS,
        notify_new=True,
    )
    await store.aclose()
    reopened = await Store.open(database)
    assert await reopened.count_inquiries() == 1
    assert await reopened.load_cursor("shop", StreamKind.PRODUCT_QNA) == {"through": "x"}
    await reopened.aclose()


async def test_upsert_is_idempotent(store: Store) -> None:
    first = await store.record_poll(
        "shop",
        StreamKind.PRODUCT_QNA,
        _result(make_inquiry("1"), make_inquiry("2")),
        now=START,
        channels=CHANNELS,
        notify_new=True,
    )
    again = await store.record_poll(
        "shop",
        StreamKind.PRODUCT_QNA,
        _result(make_inquiry("1"), make_inquiry("2")),
        now=START,
        channels=CHANNELS,
        notify_new=True,
    )
    assert (len(first.new_ids), first.queued) == (2, 2)
    assert (len(again.new_ids), again.updated, again.queued) == (0, 0, 0)
    assert await store.count_inquiries() == 2
    assert await store.outbox_counts() == {"pending": 2}


async def test_same_id_in_other_stream_is_another_inquiry(store: Store) -> None:
    await store.record_poll(
        "shop",
        StreamKind.PRODUCT_QNA,
        _result(make_inquiry("1")),
        now=START,
        channels=CHANNELS,
        notify_new=True,
    )
    await store.record_poll(
        "shop",
        StreamKind.CALL_CENTER,
        _result(make_inquiry("1", stream=StreamKind.CALL_CENTER)),
        now=START,
        channels=CHANNELS,
        notify_new=True,
    )
    assert await store.count_inquiries() == 2


async def test_answer_is_recorded_once_with_event(store: Store) -> None:
    await store.record_poll(
        "shop",
        StreamKind.PRODUCT_QNA,
        _result(make_inquiry("1")),
        now=START,
        channels=CHANNELS,
        notify_new=True,
    )
    outcome = await store.record_poll(
        "shop",
        StreamKind.PRODUCT_QNA,
        _result(make_inquiry("1", answered=True)),
        now=START,
        channels=CHANNELS,
        notify_new=True,
    )
    repeat = await store.record_poll(
        "shop",
        StreamKind.PRODUCT_QNA,
        _result(make_inquiry("1", answered=True)),
        now=START,
        channels=CHANNELS,
        notify_new=True,
    )
    row_id = outcome.answered_ids[0]
    assert (len(outcome.answered_ids), len(repeat.answered_ids)) == (1, 0)
    assert [e.kind for e in await store.events_for(row_id)] == ["seen", "answered"]
    assert await store.open_inquiries() == []


async def test_snapshot_marks_missing_open_items_answered(store: Store) -> None:
    old = [make_inquiry(str(i), received_at=START - timedelta(days=i)) for i in range(1, 5)]
    await store.record_poll(
        "shop", StreamKind.PRODUCT_QNA, _result(*old), now=START, channels=CHANNELS, notify_new=True
    )
    snapshot = OpenSnapshot(
        received_from=START - timedelta(days=3, hours=12),
        received_to=START,
        open_external_ids=frozenset({"2"}),
    )
    outcome = await store.record_poll(
        "shop",
        StreamKind.PRODUCT_QNA,
        _result(snapshot=snapshot),
        now=START,
        channels=CHANNELS,
        notify_new=True,
    )
    still_open = sorted(row.inquiry.external_id for row in await store.open_inquiries())
    # "4" is older than the snapshot's range, so nothing is known about it: it stays open.
    assert still_open == ["2", "4"]
    assert len(outcome.answered_ids) == 2


async def test_first_poll_queues_one_summary_not_one_push_per_item(store: Store) -> None:
    backlog = [make_inquiry(str(i)) for i in range(30)] + [make_inquiry("done", answered=True)]
    outcome = await store.record_poll(
        "shop", StreamKind.PRODUCT_QNA, _result(*backlog), now=START, channels=("a", "b"), notify_new=False
    )
    items = await store.claim_due(now=START, lease=timedelta(minutes=1), limit=100)
    assert outcome.queued == 2
    assert [(i.kind, i.channel, i.payload.open, i.payload.total) for i in items] == [
        (MessageKind.BACKFILL_SUMMARY, "a", 30, 31),
        (MessageKind.BACKFILL_SUMMARY, "b", 30, 31),
    ]


async def test_failed_transaction_keeps_old_cursor_and_no_rows(store: Store) -> None:
    await store.record_poll(
        "shop",
        StreamKind.PRODUCT_QNA,
        _result(make_inquiry("1"), cursor={"through": "a"}),
        now=START,
        channels=CHANNELS,
        notify_new=True,
    )
    broken = make_inquiry("2")
    object.__setattr__(broken, "received_at", START.replace(tzinfo=None))  # the store refuses naive times
    with pytest.raises(ValueError, match="naive"):
        await store.record_poll(
            "shop",
            StreamKind.PRODUCT_QNA,
            _result(make_inquiry("3"), broken, cursor={"through": "b"}),
            now=START,
            channels=CHANNELS,
            notify_new=True,
        )
    assert await store.load_cursor("shop", StreamKind.PRODUCT_QNA) == {"through": "a"}
    assert await store.count_inquiries() == 1


async def test_claim_lease_expiry_and_delivery(store: Store) -> None:
    await store.record_poll(
        "shop",
        StreamKind.PRODUCT_QNA,
        _result(make_inquiry("1")),
        now=START,
        channels=CHANNELS,
        notify_new=True,
    )
    lease = timedelta(minutes=2)
    claimed = await store.claim_due(now=START, lease=lease, limit=10)
    while_leased = await store.claim_due(now=START + timedelta(minutes=1), lease=lease, limit=10)
    after_expiry = await store.claim_due(now=START + timedelta(minutes=3), lease=lease, limit=10)
    await store.mark_delivered(after_expiry[0], now=START + timedelta(minutes=3))
    after_delivery = await store.claim_due(now=START + timedelta(hours=1), lease=lease, limit=10)
    assert (len(claimed), len(while_leased), len(after_expiry), len(after_delivery)) == (1, 0, 1, 0)
    assert after_expiry[0].attempts == 2
    assert await store.outbox_counts() == {"sent": 1}
    assert [e.kind for e in await store.events_for(claimed[0].inquiry_id or 0)] == ["seen", "notified"]


async def test_reschedule_and_next_due(store: Store) -> None:
    await store.enqueue(MessageKind.SYSTEM, channels=CHANNELS, dedup_key="x", now=START, payload=SystemPayload("t", ""))
    [item] = await store.claim_due(now=START, lease=timedelta(minutes=1), limit=10)
    await store.reschedule(item, at=START + timedelta(seconds=30), error="503")
    assert await store.next_due_at() == START + timedelta(seconds=30)
    assert await store.claim_due(now=START + timedelta(seconds=29), lease=timedelta(minutes=1), limit=10) == []
    assert len(await store.claim_due(now=START + timedelta(seconds=30), lease=timedelta(minutes=1), limit=10)) == 1


async def test_enqueue_dedup_key_is_idempotent(store: Store) -> None:
    added = [
        await store.enqueue(MessageKind.SYSTEM, channels=("a", "b"), dedup_key="auth:shop", now=START, payload=AUTH)
        for _ in range(3)
    ]
    assert added == [2, 0, 0]


async def test_poll_failures_are_counted_and_reset(store: Store) -> None:
    counts = [
        await store.record_poll_failure("shop", StreamKind.PRODUCT_QNA, now=START, error="Unavailable: 503")
        for _ in range(3)
    ]
    await store.record_poll(
        "shop", StreamKind.PRODUCT_QNA, _result(skipped=2), now=START, channels=CHANNELS, notify_new=True
    )
    [status] = await store.stream_statuses()
    assert counts == [1, 2, 3]
    assert (status.consecutive_failures, status.skipped_total, status.last_error) == (
        0,
        2,
        "Unavailable: 503",
    )


async def test_concurrent_transactions_on_one_connection_do_not_interleave(store: Store) -> None:
    """Poll, timer and dispatcher tasks share the store: their transactions must queue, not collide."""
    polls = [
        store.record_poll(
            "shop", StreamKind.PRODUCT_QNA, _result(make_inquiry(str(n))), now=START, channels=CHANNELS, notify_new=True
        )
        for n in range(20)
    ]
    claims = [store.claim_due(now=START, lease=timedelta(minutes=1), limit=5) for _ in range(20)]
    results = await asyncio.gather(*polls, *claims)
    claimed = [item.id for batch in results[20:] for item in batch]  # type: ignore[union-attr]
    assert await store.count_inquiries() == 20
    assert len(claimed) == len(set(claimed))


async def test_another_question_under_a_known_id_keeps_the_stored_text_and_is_reported(store: Store) -> None:
    asked = _result(make_inquiry("1", body="사이즈 문의드려요"))
    await store.record_poll("shop", StreamKind.PRODUCT_QNA, asked, now=START, channels=CHANNELS, notify_new=True)
    other = replace(make_inquiry("1", body="환불해 주세요", answered=True), title="환불 문의")
    outcome = await store.record_poll(
        "shop", StreamKind.PRODUCT_QNA, _result(other), now=START, channels=CHANNELS, notify_new=True
    )
    stored = await store.get_inquiry(outcome.answered_ids[0])
    assert outcome.text_changed == (TextChange("1", ("title", "body")),)
    assert stored is not None
    assert (stored.inquiry.title, stored.inquiry.body) == (None, "사이즈 문의드려요")
    assert (stored.inquiry.answered, stored.inquiry.answered_at) == (True, START)  # an answer is no new question


async def test_answered_inquiries_queue_a_clear_on_each_channel_that_showed_them(store: Store) -> None:
    asked = [make_inquiry(str(n)) for n in range(4)]
    await store.record_poll(
        "shop", StreamKind.PRODUCT_QNA, _result(*asked), now=START, channels=("a", "b"), notify_new=True
    )
    pushes = await store.claim_due(now=START, lease=timedelta(minutes=1), limit=100)
    # On the phone: "0" and "1" on channel a, "2" on channel b; "3" never went out (nothing to clear).
    shown = {("0", "a"), ("1", "a"), ("2", "b")}
    ids = {row.id: row.inquiry.external_id for row in await store.open_inquiries()}
    for push in pushes:
        if (ids[push.inquiry_id], push.channel) in shown:
            await store.mark_delivered(push, now=START)
    later = START + timedelta(minutes=5)
    answered = [replace(inq, answered=True) for inq in asked]
    outcome = await store.record_poll(
        "shop", StreamKind.PRODUCT_QNA, _result(*answered), now=later, channels=("a", "b"), notify_new=True
    )
    clears = await store.claim_due(now=later, lease=timedelta(minutes=1), limit=100)
    cleared = {(ids[item.inquiry_id], item.channel) for item in clears if item.kind is MessageKind.ANSWERED}
    assert (cleared, outcome.queued, len(outcome.answered_ids)) == (shown, 3, 4)
