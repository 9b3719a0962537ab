"""Plan generations (migration v14): a config change makes every alert plan stale by raising one number in meta,
the timer re-plans stale rows soonest first after what is due, a re-plan cut short is finished by the next start,
and a database of the previous version keeps its plans."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.alert_timer import AlertTimer
from aggregator.settings import Settings
from aggregator.store import Store
from aggregator.store.migrations import MIGRATIONS
from tests.conftest import START, seed_hours_ago
from tests.fakes import FakeClock

pytestmark = pytest.mark.both_backends

POLICIES = Settings(quiet_hours=()).policies()  # 24 h deadline, warnings at 50 % and 2 h left
PLANNING = datetime.min.replace(tzinfo=UTC)  # Store.next_alert_at() while some row awaits planning


def _dt(text: str | None) -> datetime:
    assert text is not None
    return datetime.fromisoformat(text)


def _plans(path: Path) -> list[tuple[int, str | None, int]]:
    """(id, next_alert_at, plan_generation) of every inquiry, read beside the store."""
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT id, next_alert_at, plan_generation FROM inquiries ORDER BY id").fetchall()
    finally:
        db.close()


async def _plan_one_batch(store: Store, timer: AlertTimer, now: datetime, limit: int) -> list[int]:
    """What one round of `run_once` does, stopped after its first batch; the ids planned."""
    candidates = await store.alert_candidates(now=now, limit=limit)
    await store.record_alerts([timer.plan(c, now) for c in candidates], channels=("sink",), now=now)
    return [c.id for c in candidates]


async def test_a_config_change_writes_no_inquiry_row_and_replans_due_first_then_soonest(tmp_path: Path) -> None:
    path = tmp_path / "inqd.db"
    store = await Store.open(path)
    clock = FakeClock(START)
    ids = await seed_hours_ago(store, clock.now(), range(6))
    timer = AlertTimer(store, clock, POLICIES, channels=("sink",))
    await timer.start("config-a")
    await timer.run_once()
    planned = _plans(path)
    replanned = await timer.start("config-b")
    stale = _plans(path)
    wake = await store.next_alert_at()
    first = await _plan_one_batch(store, timer, clock.now(), limit=2)
    clock.advance((_dt(planned[0][1]) - clock.now()).total_seconds() + 1)  # the first re-planned one is due
    newcomer = await seed_hours_ago(store, clock.now(), range(1), tag="new-")  # (a new inquiry: never planned)
    order = [c.id for c in await store.alert_candidates(now=clock.now(), limit=4)]
    await store.aclose()
    assert replanned == 6
    assert stale == planned  # not one inquiry row rewritten by the config change
    assert wake == PLANNING
    assert sorted(planned, key=lambda plan: str(plan[1]))[:2] == planned[:2]  # (the first two are the soonest)
    assert first == ids[:2]  # stale plans soonest first
    assert order == [ids[0], newcomer[0], ids[2], ids[3]]  # due now, never planned, then stale soonest first


async def test_a_replan_cut_short_is_finished_by_the_next_start_each_inquiry_once(tmp_path: Path) -> None:
    path = tmp_path / "inqd.db"
    store = await Store.open(path)
    clock = FakeClock(START)
    ids = await seed_hours_ago(store, clock.now(), range(30))
    timer = AlertTimer(store, clock, POLICIES, channels=("sink",))
    await timer.start("config-a")
    await timer.run_once()
    await timer.start("config-b")
    before_cut = await _plan_one_batch(store, timer, clock.now(), limit=7)
    await store.aclose()  # the daemon is killed in the middle of the re-plan
    store = await Store.open(path)
    timer = AlertTimer(store, clock, POLICIES, channels=("sink",))
    restarted = await timer.start("config-b")  # same config: nothing more marked stale
    after_cut = [c.id for c in await store.alert_candidates(now=clock.now(), limit=100)]
    await timer.run_once()
    left = await store.alert_candidates(now=clock.now(), limit=100)
    wake = await store.next_alert_at()
    generation = await store.plan_generation()
    await store.aclose()
    assert restarted is None
    assert sorted(before_cut + after_cut) == sorted(ids)  # every inquiry planned once under config-b
    assert (left, wake is not None and wake > clock.now()) == ([], True)
    assert {(nxt is not None, gen) for _, nxt, gen in _plans(path)} == {(True, generation)}


def _v13_database(path: Path) -> None:
    """Schema v13 under policy config "a": one inquiry planned, one whose plan was marked stale, one unplanned."""
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:13]:
        db.executescript(script)
    db.execute("PRAGMA user_version=13")
    stamp = "2026-11-24T05:00:00.000000Z"
    plans = [("1", "2026-11-24T20:00:00.000000Z"), ("2", "02026-11-24T18:00:00.000000Z"), ("3", None)]
    db.executemany(
        "INSERT INTO inquiries (account_id, stream, external_id, marketplace, received_at, category, body, "
        "next_alert_at, first_seen_at, updated_at) "
        "VALUES ('shop', 'product_qna', ?, 'naver', ?, '기타', '문의', ?, ?, ?)",
        [(ext, stamp, nxt, stamp, stamp) for ext, nxt in plans],
    )
    db.execute("INSERT INTO meta (key, value) VALUES ('plan_fingerprint', 'a')")
    db.commit()
    db.close()


async def test_migration_v14_keeps_plans_and_their_staleness(tmp_path: Path) -> None:
    path = tmp_path / "inqd.db"
    _v13_database(path)
    store = await Store.open(path)
    migrated = _plans(path)
    wake = await store.next_alert_at()
    order = [c.id for c in await store.alert_candidates(now=START, limit=10)]
    timer = AlertTimer(store, FakeClock(START), POLICIES, channels=("sink",))
    restarted = await timer.start("a")
    await timer.run_once()
    left = await store.alert_candidates(now=START, limit=10)
    await store.aclose()
    assert migrated == [
        (1, "2026-11-24T20:00:00.000000Z", 0),
        (2, "2026-11-24T18:00:00.000000Z", -1),  # stale: an older generation, its old time kept for the order
        (3, None, 0),
    ]
    assert (wake, order) == (PLANNING, [3, 2])  # the planned one is not due and not stale
    assert (restarted, left) == (None, [])  # a plain restart re-plans nothing


async def test_snooze_for_all_and_a_vacation_make_every_plan_stale_without_rewriting_a_row(tmp_path: Path) -> None:
    path = tmp_path / "inqd.db"
    store = await Store.open(path)
    clock = FakeClock(START)
    await seed_hours_ago(store, clock.now(), range(3))
    timer = AlertTimer(store, clock, POLICIES, channels=("sink",))
    await timer.run_once()
    planned = _plans(path)
    generations = [await store.plan_generation()]
    await store.snooze_all(clock.now() + timedelta(hours=1), now=clock.now(), actor="test")
    generations.append(await store.plan_generation())
    stale = [c.id for c in await store.alert_candidates(now=clock.now(), limit=10)]
    await timer.run_once()
    replanned = _plans(path)
    await store.add_vacation(START.date(), START.date(), "", now=clock.now(), actor="test")
    generations.append(await store.plan_generation())
    after_vacation = _plans(path)
    wake = await store.next_alert_at()
    await store.aclose()
    assert generations == [0, 1, 2]
    assert len(stale) == 3
    assert [gen for _, _, gen in planned + replanned] == [0, 0, 0, 1, 1, 1]
    assert (after_vacation, wake) == (replanned, PLANNING)  # stale, yet not one row rewritten


async def test_plans_made_while_the_config_changed_stay_stale(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "inqd.db")
    clock = FakeClock(START)
    ids = await seed_hours_ago(store, clock.now(), range(3))
    timer = AlertTimer(store, clock, POLICIES, channels=("sink",))
    await timer.start("config-a")
    candidates = await store.alert_candidates(now=clock.now(), limit=10)
    await timer.start("config-b")  # (a reload between the read and the write-back)
    await store.record_alerts([timer.plan(c, clock.now()) for c in candidates], channels=("sink",), now=clock.now())
    again = [c.id for c in await store.alert_candidates(now=clock.now(), limit=10)]
    await store.aclose()
    assert again == ids  # planned under the old config: planned again
