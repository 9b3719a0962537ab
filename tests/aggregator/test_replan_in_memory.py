"""A re-plan larger than one batch is held in memory and written back in the background (aggregator/alert_timer.py
`_HeldPlans`): the timer knows every next alert at once, fires what falls due from rows read again, survives a
crash in the middle of the write-back, and never overwrites a row changed or answered meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.alert_timer import AlertTimer
from aggregator.settings import Settings
from aggregator.store import Store
from tests.conftest import START, make_inquiry, record_quietly, seed_hours_ago
from tests.fakes import FakeClock

pytestmark = pytest.mark.both_backends

POLICIES = Settings(quiet_hours=()).policies()  # 24 h deadline, warnings at 50 % and 2 h left, 3 repeats every 2 h
EVERY_ALERT = {
    "marketplace:warn:50%",
    "marketplace:warn:2h",
    "marketplace:breach",
    "marketplace:repeat:1",
    "marketplace:repeat:2",
    "marketplace:repeat:3",
}
PLANNING = datetime.min.replace(tzinfo=UTC)
BATCH = 3  # twelve inquiries: more than a batch, so all four pages are held in memory
STEP = timedelta(minutes=15)  # finer than any two alerts of one inquiry: each fires on its own


async def _planned_twice(store: Store, clock: FakeClock) -> tuple[AlertTimer, datetime | None]:
    """Twelve open inquiries planned under config "a", then the config changes: a timer about to re-plan them, and
    the earliest alert of the first plans."""
    await seed_hours_ago(store, clock.now(), range(12))
    timer = AlertTimer(store, clock, POLICIES, channels=("sink",), batch=BATCH)
    await timer.start("config-a")
    await timer.run_once()
    await timer.written_back()
    first = await store.next_alert_at()
    assert await timer.start("config-b") == 12
    return timer, first


class _Gate:
    """Holds the store's write-back: each call waits for `release`; `fail_after` calls pass, then it raises."""

    def __init__(self, store: Store, *, fail_after: int | None = None) -> None:
        self.release = asyncio.Event()
        self.calls = 0
        self._write: Callable[..., Awaitable[None]] = store.write_back_alert_plans
        self._fail_after = fail_after
        store.write_back_alert_plans = self  # type: ignore[method-assign]

    async def __call__(self, plans: Sequence[tuple[int | None, int]], *, generation: int) -> None:
        self.calls += 1
        if self._fail_after is not None and self.calls > self._fail_after:
            raise ConnectionError("the daemon was killed")  # nothing more reaches the store
        if self._fail_after is None:
            await self.release.wait()
        await self._write(plans, generation=generation)


async def _run_until(timer: AlertTimer, clock: FakeClock, end: datetime) -> None:
    while clock.now() < end:
        clock.advance(STEP.total_seconds())
        await timer.run_once()


async def _queued(store: Store, ids: Sequence[int]) -> dict[int, list[tuple[str, datetime, str]]]:
    return {
        inquiry_id: [(key, due, outcome) for key, due, _fired, outcome in await store.alert_log(inquiry_id)]
        for inquiry_id in ids
    }


async def test_a_large_replan_is_known_before_it_is_stored_and_fires_from_rows_read_again(
    database: Path | str,
) -> None:
    store = await Store.open(database)
    clock = FakeClock(START)
    timer, first_plans = await _planned_twice(store, clock)
    by_external = {stored.inquiry.external_id: stored.id for stored in await store.open_inquiries()}
    gate = _Gate(store)
    await timer.run_once()  # more than a batch went stale: all twelve held, none stored
    known = await timer.next_alert_at()
    stored_meanwhile = await store.next_alert_at()
    await _run_until(timer, clock, START + timedelta(hours=6))  # "8", "7", "6": their 50 % warnings, from memory
    held_fired = await _queued(store, [by_external[str(h)] for h in (8, 7, 6, 5)])
    calls_while_held = gate.calls
    gate.release.set()
    await timer.written_back()
    stored = await store.next_alert_at()
    left = await store.alert_candidates(now=clock.now(), limit=100)
    await store.aclose()
    assert (calls_while_held, gate.calls) == (1, 4)  # waiting in its first batch all along; then 12 rows in 4
    assert stored_meanwhile == PLANNING  # the store still has twelve plans of the old generation
    assert known == first_plans == START + timedelta(hours=1)  # the same policies: the same earliest alert
    assert [[(key, due) for key, due, _outcome in log] for log in held_fired.values()] == [
        [("marketplace:warn:50%", START + timedelta(hours=h))] for h in (4, 5, 6)
    ] + [[]]
    assert stored == START + timedelta(hours=7)  # "5": the write-back kept the plans made meanwhile
    assert left == []


async def test_a_crash_in_the_write_back_loses_no_alert_and_fires_none_twice(database: Path | str) -> None:
    store = await Store.open(database)
    clock = FakeClock(START)
    timer, _first = await _planned_twice(store, clock)
    ids = [c.id for c in await store.alert_candidates(now=clock.now(), limit=100)]
    gate = _Gate(store, fail_after=1)
    await timer.run_once()
    await timer.written_back()  # the second batch dies with the daemon
    await store.aclose()
    store = await Store.open(database)
    restarted = AlertTimer(store, clock, POLICIES, channels=("sink",), batch=BATCH)
    again = await restarted.start("config-b")  # the same config: nothing marked stale again
    stale = await store.alert_candidates(now=clock.now(), limit=100)
    await _run_until(restarted, clock, START + timedelta(hours=32))
    await restarted.written_back()
    fired = await _queued(store, ids)
    await store.aclose()
    assert gate.calls == 2
    assert again is None
    assert 0 < len(stale) < 12  # what was not written back is stale, and planned again by the next start
    assert {inquiry_id: sorted(key for key, _due, _outcome in log) for inquiry_id, log in fired.items()} == {
        inquiry_id: sorted(EVERY_ALERT) for inquiry_id in ids
    }
    assert {outcome for log in fired.values() for _key, _due, outcome in log} == {"queued"}


async def test_rows_answered_or_changed_during_the_write_back_are_not_overwritten(database: Path | str) -> None:
    store = await Store.open(database)
    clock = FakeClock(START)
    timer, _first = await _planned_twice(store, clock)
    by_external = {stored.inquiry.external_id: stored.id for stored in await store.open_inquiries()}
    ids = [by_external[str(h)] for h in range(12)]
    gate = _Gate(store)
    await timer.run_once()  # all twelve held, the newest inquiries ("0", "1") among them
    await seed_hours_ago(store, START, [0], answered=True)  # a poll: "0" was answered
    moved_at = START - timedelta(hours=11, minutes=30)  # a poll: "1" came back received earlier (warning in 30 min)
    outcome = await record_quietly(store, clock.now(), [make_inquiry("1", received_at=moved_at)])
    await timer.run_once()  # plans the changed row from the store at once
    gate.release.set()
    await timer.written_back()  # must not put back the held plans of "0" and "1"
    await _run_until(timer, clock, START + timedelta(hours=40))
    fired = await _queued(store, ids)
    fired_at = {
        (inquiry_id, key): (due, at)
        for inquiry_id in ids
        for key, due, at, _outcome in await store.alert_log(inquiry_id)
    }
    await store.aclose()
    assert outcome.updated == 1
    assert fired[ids[0]] == []  # never resurrected by the held plan or its write-back
    moved = {key: due for key, due, _outcome in fired[ids[1]]}
    assert moved["marketplace:warn:50%"] == START + timedelta(minutes=30)  # planned anew from the changed row
    for inquiry_id in ids[1:]:
        assert sorted(key for key, _due, _outcome in fired[inquiry_id]) == sorted(EVERY_ALERT)
    late = {key: at - due for key, (due, at) in fired_at.items() if at - due >= STEP}
    assert late == {}  # each alert at the first look after its time: no stale plan held one back


async def test_a_new_generation_during_the_write_back_drops_the_held_plans(database: Path | str) -> None:
    store = await Store.open(database)
    clock = FakeClock(START)
    timer, _first = await _planned_twice(store, clock)
    gate = _Gate(store)
    await timer.run_once()
    held = await timer.next_alert_at()
    await store.snooze_all(START + timedelta(hours=30), now=clock.now(), actor="test")  # from the web admin
    gate.release.set()
    await timer.run_once()  # sees the generation moved on: plans everything again from the store
    await timer.written_back()
    left = await store.alert_candidates(now=clock.now(), limit=100)
    after = await timer.next_alert_at()
    stored = await store.next_alert_at()
    await store.aclose()
    assert held == START + timedelta(hours=1)  # the oldest inquiry's 50 % warning
    assert left == []
    assert after == stored  # nothing held any more
    assert after is not None and after > held  # planned under the snooze: that warning waits


async def _alerts_over_a_day_and_a_half(database: Path | str, batch: int) -> dict[str, list[tuple[str, datetime]]]:
    """Inquiries of every kind a re-plan meets (some with alerts passed before inqd saw them, one snoozed, one
    handled, one with a promise), planned, re-planned after a config change while alerts are due, then run for
    40 h: (key, due at) of every alert queued, by external id; each checked to have come at its time."""
    store = await Store.open(database)
    clock = FakeClock(START)
    await seed_hours_ago(store, START, [*range(12), 20, 22, 30])
    by_external = {stored.inquiry.external_id: stored.id for stored in await store.open_inquiries()}
    await store.snooze(by_external["3"], START + timedelta(hours=14), now=START, actor="test")
    await store.mark_handled(by_external["4"], now=START, actor="test")
    await store.promise(by_external["5"], START + timedelta(hours=5), "교환 회신", now=START, actor="test")
    timer = AlertTimer(store, clock, POLICIES, channels=("sink",), batch=batch)
    await timer.start("config-a")
    await timer.run_once()
    await timer.written_back()
    clock.advance(timedelta(hours=3, minutes=10).total_seconds())  # alerts of four inquiries are due now
    await timer.start("config-b")
    await timer.run_once()
    await timer.written_back()
    queued = {
        external: [(key, due) for key, due, at, outcome in await store.alert_log(row_id) if outcome == "queued"]
        for external, row_id in by_external.items()
    }
    await _run_until(timer, clock, START + timedelta(hours=40))
    late = [
        (external, key)
        for external, row_id in by_external.items()
        if external != "3"  # (snoozed: its warnings come when the snooze ends)
        for key, due, at, outcome in await store.alert_log(row_id)
        if outcome == "queued" and at - due >= STEP and due > START + timedelta(hours=3, minutes=10)
    ]
    for external, row_id in by_external.items():
        queued[external] = [(key, due) for key, due, _at, outcome in await store.alert_log(row_id)]
    await store.aclose()
    assert late == []
    return queued


async def test_a_replan_held_in_memory_fires_what_a_replan_stored_at_once_does(
    database: Path | str, tmp_path: Path
) -> None:
    held = await _alerts_over_a_day_and_a_half(database, batch=BATCH)
    stored_at_once = await _alerts_over_a_day_and_a_half(tmp_path / "reference.db", batch=2000)  # as before
    assert held == stored_at_once
    assert held["3"] and held["5"] and any(key.startswith("promise") for key, _due in held["5"])


async def test_rows_awaiting_a_plan_are_found_in_every_generation_while_plans_are_held(
    database: Path | str,
) -> None:
    """While held plans are written back, the store's look for rows without an alert time (a new inquiry, of
    generation 0; a changed one, of the generation it was planned under) leaves the stale rows with a time alone
    and still finds those, whichever generation they carry (a seek into each generation, not a scan)."""
    store = await Store.open(database)
    clock = FakeClock(START)
    _timer, _first = await _planned_twice(store, clock)  # twelve rows of the first generation, now stale
    stale_only = await store.next_alert_at(stale_planned=False)
    none_awaiting = await store.alert_candidates(now=clock.now(), limit=100, stale_planned=False)
    new_ids = await seed_hours_ago(store, START, [20])  # generation 0, no time
    # "3" came back changed: its time cleared, its generation kept
    changed = await record_quietly(store, clock.now(), [make_inquiry("3", received_at=START - timedelta(hours=2))])
    awaiting = await store.next_alert_at(stale_planned=False)
    found = await store.alert_candidates(now=clock.now(), limit=100, stale_planned=False)
    by_external = {stored.inquiry.external_id: stored.id for stored in await store.open_inquiries()}
    await store.aclose()
    assert (stale_only, none_awaiting) == (None, [])  # the stale rows' plans are the timer's to hold
    assert changed.updated == 1
    assert awaiting == PLANNING
    assert sorted(candidate.id for candidate in found) == sorted([*new_ids, by_external["3"]])
