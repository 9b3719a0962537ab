"""The watch after a poll: no store reads while an account's polls keep succeeding and nothing is announced, the
same announcements as a full check otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aggregator.connection_watch import ConnectionWatch, WatchedStream
from aggregator.store import Store, StreamStatus
from core.models import KST, Marketplace, PollResult, StreamKind
from tests.fakes import FakeClock

pytestmark = pytest.mark.both_backends

STREAMS = [
    WatchedStream("shop", Marketplace.COUPANG, StreamKind.PRODUCT_QNA, 60.0),
    WatchedStream("shop", Marketplace.COUPANG, StreamKind.CALL_CENTER, 60.0),
]


def _watch(store: Store, clock: FakeClock) -> ConnectionWatch:
    return ConnectionWatch(store, clock, streams=STREAMS, lost_after=timedelta(minutes=5), channels={}, zone=KST)


async def test_reads_only_when_something_can_be_due(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str | None] = []
    statuses = store.stream_statuses

    async def counted(account_id: str | None = None) -> list[StreamStatus]:
        reads.append(account_id)
        return await statuses(account_id)

    monkeypatch.setattr(store, "stream_statuses", counted)
    watch = _watch(store, clock)
    now = clock.now()
    ok = PollResult(inquiries=(), cursor={"n": 1})
    for stream in (StreamKind.PRODUCT_QNA, StreamKind.CALL_CENTER):
        await store.record_poll("shop", stream, ok, now=now, channels={}, notify_new=False)
    assert await watch.after_poll("shop", ok=True) == 0  # the first: read, and found quiet
    assert await watch.after_poll("shop", ok=True) == 0  # quiet and still succeeding: no read
    assert reads == ["shop"]

    failing_since = clock.now()
    await store.record_poll_failure("shop", StreamKind.CALL_CENTER, now=failing_since, error="Unavailable: down")
    await watch.after_poll("shop", ok=False)
    clock.advance(600)
    await store.record_poll("shop", StreamKind.PRODUCT_QNA, ok, now=clock.now(), channels={}, notify_new=True)
    await watch.after_poll("shop", ok=True)  # the other stream still fails: read, and the loss is announced
    assert await store.connection_notices("shop") == {"shop": (failing_since, "lost")}
    await store.record_poll("shop", StreamKind.CALL_CENTER, ok, now=clock.now(), channels={}, notify_new=True)
    await watch.after_poll("shop", ok=True)  # announced before: read, and the recovery is announced
    assert await store.connection_notices("shop") == {}
    assert len(reads) == 4
    await watch.after_poll("shop", ok=True)
    assert len(reads) == 5  # the recovery was news: one more read finds it quiet
    await watch.after_poll("shop", ok=True)
    assert len(reads) == 5


async def test_an_account_claimed_back_from_another_instance_is_read_again(store: Store, clock: FakeClock) -> None:
    # Several instances: this one found the account quiet, then another instance polled it, saw it fail and
    # announced the loss; when the account comes back here, the first successful poll must announce the recovery.
    watch, elsewhere = _watch(store, clock), _watch(store, clock)
    ok = PollResult(inquiries=(), cursor={"n": 1})
    for stream in (StreamKind.PRODUCT_QNA, StreamKind.CALL_CENTER):
        await store.record_poll("shop", stream, ok, now=clock.now(), channels={}, notify_new=False)
    await watch.after_poll("shop", ok=True)  # quiet, remembered
    since = clock.now()
    await store.record_poll_failure("shop", StreamKind.PRODUCT_QNA, now=since, error="Unavailable: down")
    clock.advance(600)
    await elsewhere.after_poll("shop", ok=False)
    assert await store.connection_notices("shop") == {"shop": (since, "lost")}
    watch.forget(["shop"])  # the lease keeper claimed it back (aggregator/leases.py on_claimed)
    await store.record_poll("shop", StreamKind.PRODUCT_QNA, ok, now=clock.now(), channels={}, notify_new=True)
    await watch.after_poll("shop", ok=True)
    assert await store.connection_notices("shop") == {}
