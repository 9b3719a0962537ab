"""The first connection of an account: one summary for all its streams, whatever order and timing they report in."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.store import Store
from aggregator.store.first_connection import FIRST_CONNECTION_GRACE
from core.models import Inquiry, Marketplace, MessageKind, PollResult, StreamKind
from core.payloads import BackfillSummaryPayload, StreamBackfill
from tests.conftest import START, make_inquiry

pytestmark = pytest.mark.both_backends

QNA, CALLS = StreamKind.PRODUCT_QNA, StreamKind.CALL_CENTER
BOTH = (QNA, CALLS)
LEASE = timedelta(minutes=1)


async def _first_poll(store: Store, stream: StreamKind, *inquiries: Inquiry, at: timedelta = timedelta(0)) -> int:
    """The first (backfilling) poll of one of the shop's two streams; returns the rows it queued."""
    outcome = await store.record_poll(
        "shop",
        stream,
        PollResult(inquiries=inquiries, cursor={"through": "x"}),
        now=START + at,
        channels=("a", "b"),
        notify_new=False,
        account_streams=BOTH,
    )
    return outcome.queued


def _calls(*ids: str, answered: bool = False) -> list[Inquiry]:
    return [make_inquiry(n, stream=CALLS, answered=answered) for n in ids]


async def _summaries(store: Store, at: timedelta) -> list[tuple[str, BackfillSummaryPayload]]:
    items = await store.claim_due(now=START + at, lease=LEASE, limit=100)
    assert all(item.kind is MessageKind.BACKFILL_SUMMARY for item in items)
    return [(item.channel, item.payload) for item in items if isinstance(item.payload, BackfillSummaryPayload)]


async def test_two_streams_first_polls_make_one_summary_per_channel(store: Store) -> None:
    queued_first = await _first_poll(store, QNA, make_inquiry("1"), make_inquiry("2", answered=True))
    waiting = await _summaries(store, timedelta(seconds=5))
    await _first_poll(store, CALLS, *_calls("9"), at=timedelta(seconds=5))
    sent = await _summaries(store, timedelta(seconds=5))
    both = (StreamBackfill(QNA, open=1, total=2), StreamBackfill(CALLS, open=1, total=1))
    assert queued_first == 2
    assert waiting == []  # the other stream has not reported yet
    assert sent == [(ch, BackfillSummaryPayload("shop", Marketplace.COUPANG, both)) for ch in ("a", "b")]
    assert (sent[0][1].open, sent[0][1].total) == (2, 3)


async def test_a_restart_between_the_streams_first_polls_still_makes_one_summary(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "inqd.db")
    await _first_poll(store, QNA, make_inquiry("1"))
    await store.aclose()
    reopened = await Store.open(tmp_path / "inqd.db")
    await _first_poll(reopened, CALLS, *_calls("7", "8"), at=timedelta(seconds=40))
    sent = await _summaries(reopened, timedelta(seconds=40))
    await reopened.aclose()
    assert [(ch, [s.stream for s in p.streams], p.total) for ch, p in sent] == [
        ("a", [QNA, CALLS], 3),
        ("b", [QNA, CALLS], 3),
    ]


async def test_a_stream_that_never_reports_holds_the_summary_only_for_the_grace(store: Store) -> None:
    await _first_poll(store, QNA, make_inquiry("1"))
    early = await _summaries(store, FIRST_CONNECTION_GRACE - timedelta(seconds=1))
    on_time = await _summaries(store, FIRST_CONNECTION_GRACE)
    assert early == []
    assert [(ch, p.streams) for ch, p in on_time] == [(ch, (StreamBackfill(QNA, 1, 1),)) for ch in ("a", "b")]


@pytest.mark.parametrize(
    ("late", "expected"),
    [(_calls("9"), [(CALLS, 1, 1)]), (_calls("9", answered=True), [(CALLS, 0, 1)]), ([], [])],
)
async def test_a_late_stream_gets_its_own_line_only_when_it_brought_something(
    store: Store, late: list[Inquiry], expected: list[tuple[StreamKind, int, int]]
) -> None:
    await _first_poll(store, QNA, make_inquiry("1"))
    went_out = await store.claim_due(now=START + FIRST_CONNECTION_GRACE, lease=LEASE, limit=10)
    for item in went_out:
        await store.mark_delivered(item, now=START + FIRST_CONNECTION_GRACE)
    queued = await _first_poll(store, CALLS, *late, at=FIRST_CONNECTION_GRACE * 2)
    lines = await _summaries(store, FIRST_CONNECTION_GRACE * 2)
    assert [item.payload for item in went_out] == [
        BackfillSummaryPayload("shop", Marketplace.COUPANG, (StreamBackfill(QNA, 1, 1),))
    ] * 2
    assert queued == 2 * len(expected)
    assert [[(s.stream, s.open, s.total) for s in p.streams] for _, p in lines] == [expected] * len(lines)


async def test_a_stream_that_found_nothing_first_is_listed_once_another_brings_something(store: Store) -> None:
    assert await _first_poll(store, CALLS) == 0
    await _first_poll(store, QNA, make_inquiry("1"), at=timedelta(seconds=3))
    [(_, summary), _] = await _summaries(store, timedelta(seconds=3))
    assert summary.streams == (StreamBackfill(QNA, 1, 1), StreamBackfill(CALLS, 0, 0))


async def test_nothing_on_any_stream_sends_nothing(store: Store) -> None:
    queued = [await _first_poll(store, QNA), await _first_poll(store, CALLS)]
    assert queued == [0, 0]
    assert await _summaries(store, FIRST_CONNECTION_GRACE) == []


async def test_an_account_of_one_stream_is_summarised_at_once(store: Store) -> None:
    await store.record_poll(
        "solo",
        QNA,
        PollResult(inquiries=(make_inquiry("1", account_id="solo"),), cursor={}),
        now=START,
        channels=("a",),
        notify_new=False,
    )
    [(_, summary)] = await _summaries(store, timedelta(0))
    assert (summary.account_id, summary.streams) == ("solo", (StreamBackfill(QNA, 1, 1),))
