"""The pipelined re-plan (AlertTimer.run_once): the next batch is read while one is planned and the one before is
written. The stale scan goes on after the batch in flight, so no row is read (or planned) twice, across equal alert
times, rows awaiting a plan and older generations; and an alert that falls due meanwhile is served before the rest
of the stale rows."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from aggregator.alert_timer import AlertTimer
from aggregator.settings import Settings
from aggregator.store import Store
from aggregator.store.alert_plans import CandidateBatch, StaleKey
from core.models import PollResult, StreamKind
from tests.conftest import START, make_inquiry
from tests.fakes import FakeClock

POLICIES = Settings(quiet_hours=()).policies()  # 24 h deadline, warnings at 50 % and 2 h left
BATCH = 4


class RecordingStore(Store):
    """The store, keeping each candidate read (the ids, in order, and whether it went on after a batch in flight)."""

    reads: list[tuple[list[int], bool]]
    on_read: Callable[[int], None] = staticmethod(lambda count: None)

    async def alert_candidate_batch(
        self, *, now: datetime, limit: int, after: StaleKey | None = None
    ) -> CandidateBatch:
        """The store's read, recorded."""
        self.on_read(len(self.reads))
        batch = await super().alert_candidate_batch(now=now, limit=limit, after=after)
        self.reads.append(([c.id for c in batch.candidates], after is not None))
        return batch


async def _open(path: Path) -> RecordingStore:
    store = await RecordingStore.open(path)
    assert isinstance(store, RecordingStore)
    store.reads = []
    return store


async def _seed(store: Store, received: list[datetime], *, tag: str, still_open: Sequence[datetime] = ()) -> list[int]:
    """Open inquiries received at `received`, in one poll that also lists those of `still_open` (seeded before with
    the tag "old-"); the new ones' row ids."""
    inquiries = tuple(make_inquiry(f"{tag}{n}", received_at=at) for n, at in enumerate(received)) + tuple(
        make_inquiry(f"old-{n}", received_at=at) for n, at in enumerate(still_open)
    )
    outcome = await store.record_poll(
        "shop",
        StreamKind.PRODUCT_QNA,
        PollResult(inquiries=inquiries, cursor={}),
        now=START,
        channels=("sink",),
        notify_new=False,
    )
    return list(outcome.new_ids)


def _forget_plans(path: Path, ids: list[int]) -> None:
    """What a poll does to a changed inquiry: its plan time goes (NULL), its generation stays."""
    db = sqlite3.connect(path)
    with db:
        db.executemany("UPDATE inquiries SET next_alert_at = NULL WHERE id = ?", [(i,) for i in ids])
    db.close()


def _soonest_plan(path: Path) -> tuple[int, datetime]:
    """The row whose stored plan comes first, and its next alert time, read beside the store."""
    db = sqlite3.connect(path)
    row_id, at = db.execute("SELECT id, next_alert_at FROM inquiries ORDER BY next_alert_at, id LIMIT 1").fetchone()
    db.close()
    return row_id, datetime.fromisoformat(at)


async def test_the_pipelined_replan_reads_and_plans_each_stale_row_once(tmp_path: Path) -> None:
    path = tmp_path / "inqd.db"
    store = await _open(path)
    clock = FakeClock(START)
    # Equal alert times (five inquiries received at one instant), distinct ones, and rows whose plan a poll dropped.
    same = [START - timedelta(hours=1)] * 5
    spread = [START - timedelta(minutes=7 * n) for n in range(9)]
    ids = await _seed(store, same + spread, tag="old-")
    timer = AlertTimer(store, clock, POLICIES, channels=("sink",), batch=BATCH)
    await timer.start("config-a")
    await timer.run_once()
    _forget_plans(path, ids[5:8])
    newcomers = await _seed(
        store, [START - timedelta(minutes=3)] * 6, tag="new-", still_open=same + spread
    )  # generation 0, no time
    await timer.start("config-b")  # every row stale: generation 0 and 1 behind 2
    store.reads = []
    await timer.run_once()
    reads = list(store.reads)
    read = [row_id for ids_read, _after in reads for row_id in ids_read]
    left = await store.alert_candidates(now=clock.now(), limit=100)
    await store.aclose()
    assert Counter(read) == Counter(ids + newcomers)  # every row once: none read twice, none left out
    assert [after for _ids, after in reads] == [False] + [True] * (len(reads) - 1)  # each later read went on after
    # the batch in flight
    assert left == []


async def test_an_alert_falling_due_during_a_pipelined_replan_comes_before_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "inqd.db"
    store = await _open(path)
    clock = FakeClock(START)
    await _seed(store, [START - timedelta(minutes=10 * n) for n in range(16)], tag="q-")
    timer = AlertTimer(store, clock, POLICIES, channels=("sink",), batch=BATCH)
    await timer.start("config-a")
    await timer.run_once()
    await timer.start("config-b")
    soonest, warning_at = _soonest_plan(path)  # re-planned first; its time stays (the same policies)

    def the_warning_falls_due(reads_so_far: int) -> None:
        if reads_so_far == 1:  # the second read: the first batch (the soonest rows) is being planned
            clock.advance((warning_at - clock.now()).total_seconds() + 1)

    store.on_read = the_warning_falls_due
    store.reads = []
    queued = await timer.run_once()
    first_of_each_read = [ids_read[0] for ids_read, _after in store.reads if ids_read]
    await store.aclose()
    assert store.reads[0][0][0] == soonest  # re-planned first (stale, soonest)
    assert first_of_each_read[2] == soonest  # due: first of the first read that could see it planned
    assert queued == 1  # its warning, once
