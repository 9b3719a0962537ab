"""record_poll runs its whole transaction in one call on the database thread (SQLite; on PostgreSQL in a task
of its own): all of it or nothing, whoever cancels the caller."""

from __future__ import annotations

import asyncio

import aiosqlite
import pytest

from aggregator.store import Store
from core.models import PollResult, StreamKind
from tests.conftest import make_inquiry
from tests.fakes import FakeClock


async def _record(store: Store, clock: FakeClock, *ids: str, cursor: int = 1) -> None:
    result = PollResult(inquiries=tuple(make_inquiry(i) for i in ids), cursor={"n": cursor})
    await store.record_poll(
        "shop", StreamKind.PRODUCT_QNA, result, now=clock.now(), channels=("sink",), notify_new=True
    )


@pytest.mark.both_backends
async def test_a_failing_poll_transaction_leaves_nothing_and_the_store_goes_on(store: Store, clock: FakeClock) -> None:
    await _record(store, clock, "1")
    # The cursor is written last, after the inquiries and their pushes: it cannot be stored (a set is not JSON).
    unstorable = PollResult(inquiries=(make_inquiry("2"), make_inquiry("3")), cursor={"n": {2}})
    with pytest.raises(TypeError, match="JSON"):
        await store.record_poll(
            "shop", StreamKind.PRODUCT_QNA, unstorable, now=clock.now(), channels=("sink",), notify_new=True
        )
    assert await store.count_inquiries() == 1
    assert await store.load_cursor("shop", StreamKind.PRODUCT_QNA) == {"n": 1}
    await _record(store, clock, "3", cursor=3)
    assert (await store.count_inquiries(), await store.load_cursor("shop", StreamKind.PRODUCT_QNA)) == (2, {"n": 3})


@pytest.mark.both_backends
async def test_a_cancelled_caller_leaves_the_poll_stored_whole(store: Store, clock: FakeClock) -> None:
    recording = asyncio.create_task(_record(store, clock, "1", "2", "3", cursor=7))
    await asyncio.sleep(0)  # queued on the database thread (SQLite), begun (PostgreSQL)
    recording.cancel()
    with pytest.raises(asyncio.CancelledError):
        await recording
    await _record(store, clock, cursor=8)  # runs after it: the thread does one call at a time
    assert await store.count_inquiries() == 3
    assert await store.load_cursor("shop", StreamKind.PRODUCT_QNA) == {"n": 8}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the database thread is SQLite's alone
async def test_a_transaction_that_would_wait_on_the_loop_is_refused_and_rolled_back(store: Store) -> None:
    async def waits(db: aiosqlite.Connection) -> None:
        await db.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
        await asyncio.sleep(0)  # not the connection's: it cannot run on the database thread

    with pytest.raises(RuntimeError, match="awaited something other"):
        await store._transaction_in_one_hop(waits)
    async with store._conn.execute("SELECT COUNT(*) FROM meta WHERE key = 'x'") as cur:
        row = await cur.fetchone()
    assert row is not None and row[0] == 0
