"""The outbox where several instances share one database: a row held for quiet hours is never stranded by a digest
another instance sent meanwhile, and a batch whose claim is running out is given back rather than sent late (when
another instance may already have claimed it). On both engines: the same code runs on SQLite's one daemon."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aggregator.dispatcher import CLAIM_MARGIN_S, Dispatcher
from aggregator.settings import Settings
from aggregator.store import Store
from core.models import Message, MessageKind
from core.payloads import SystemPayload
from tests.fakes import FakeClock, RecordingNotifier

pytestmark = pytest.mark.both_backends

LEASE = timedelta(minutes=2)


async def _queued(store: Store, clock: FakeClock, *keys: str) -> None:
    for key in keys:
        await store.enqueue(
            MessageKind.SYSTEM, channels=("sink",), dedup_key=key, now=clock.now(), payload=SystemPayload(key, key)
        )


async def test_a_row_held_while_or_after_its_digest_goes_is_sent_on_its_own(store: Store, clock: FakeClock) -> None:
    await _queued(store, clock, "a")
    [first] = await store.claim_due(now=clock.now(), lease=LEASE, limit=3)
    until = clock.now() + timedelta(hours=8)
    assert await store.hold_for_digest(first, until=until, now=clock.now(), reason="hold_quiet")
    clock.advance(8 * 3600)
    await _queued(store, clock, "b", "c")
    claimed = await store.claim_due(now=clock.now(), lease=LEASE, limit=5)
    [digest] = [row for row in claimed if row.kind is MessageKind.DIGEST]
    second, third = [row for row in claimed if row.kind is MessageKind.SYSTEM]
    listed = await store.held_until(channel="sink", until=clock.now())
    assert [row.id for row in listed] == [first.id]
    # Another instance, its clock still before `until`, holds a row after the digest read its rows ...
    assert await store.hold_for_digest(second, until=until, now=clock.now(), reason="hold_quiet")
    await store.fold_into_digest(digest, listed, now=clock.now())
    # ... and another one after the digest went: that one is not held, it waits for `until` on its own.
    assert not await store.hold_for_digest(third, until=until, now=clock.now(), reason="hold_quiet")
    assert await store.outbox_counts() == {"sent": 1, "folded": 1, "pending": 2}
    due = await store.claim_due(now=clock.now(), lease=LEASE, limit=5)
    assert sorted(row.id for row in due) == sorted([second.id, third.id])


class SlowNotifier(RecordingNotifier):
    """Each send takes `seconds` of the fake clock: a channel timing out, say."""

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        super().__init__()
        self._clock = clock
        self._seconds = seconds

    async def send(self, message: Message) -> None:
        self._clock.advance(self._seconds)
        await super().send(message)


async def test_a_batch_whose_claim_runs_low_gives_the_rest_back(store: Store, clock: FakeClock) -> None:
    await _queued(store, clock, "a", "b", "c")
    slow = (LEASE.total_seconds() - CLAIM_MARGIN_S) / 2 + 1  # two sends leave less than the margin
    notifier = SlowNotifier(clock, slow)
    dispatcher = Dispatcher(store, {"sink": notifier}, clock, Settings().policies(), lease_s=LEASE.total_seconds())
    assert await dispatcher.run_once() == 3
    assert [m.title for m in notifier.sent] == ["a", "b", "c"]
    # The third was given back after two sends and claimed again at once: two claims, one send.
    async with store._conn.execute("SELECT dedup_key, attempts FROM outbox") as cur:
        attempts = {row["dedup_key"]: row["attempts"] for row in await cur.fetchall()}
    assert attempts == {"a:sink": 1, "b:sink": 1, "c:sink": 2}
