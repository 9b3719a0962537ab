"""Lease keepers (one per instance, each on its own store) on a real PostgreSQL, in one event loop and on one
FakeClock: the accounts spread evenly and never have two holders, a new instance takes its share, a dead one's
accounts are taken over within two lease periods, one leader at a time, and a poll starts only with time to spare."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest

from aggregator.cli.status_report import status_lines, status_report
from aggregator.cli.words import Words
from aggregator.leases import POLL_MARGIN_S, LeaseKeeper, SoleKeeper, while_leading
from aggregator.poller import StreamPoller
from aggregator.settings import Settings
from aggregator.store import Store
from core.models import PollResult, StreamKind
from tests.conftest import START, make_inquiry
from tests.fakes import FakeClock, ScriptedConnector
from tests.postgres_server import PostgresServer, instance_stores

LEASE_S = 30.0
ACCOUNTS = [f"acc{i:02d}" for i in range(10)]

MakeKeeper = Callable[[str], LeaseKeeper]


@pytest.fixture
async def stores(postgres_server: PostgresServer) -> AsyncIterator[list[Store]]:
    async with instance_stores(postgres_server, 4) as opened:
        yield opened


@pytest.fixture
def make_keeper(stores: list[Store], clock: FakeClock) -> MakeKeeper:
    def make(name: str) -> LeaseKeeper:
        store = stores["abcd".index(name)]
        return LeaseKeeper(store, clock, ACCOUNTS, instance_id=name, lease_s=LEASE_S, db_time=clock.now)

    return make


async def _ticks(clock: FakeClock, keepers: list[LeaseKeeper], rounds: int) -> None:
    """`rounds` periods: every keeper ticks (all at once), then a third of a lease passes."""
    for _ in range(rounds):
        await asyncio.gather(*(keeper.tick() for keeper in keepers))
        clock.advance(LEASE_S / 3)


def _assert_disjoint(keepers: list[LeaseKeeper]) -> None:
    held = [account for keeper in keepers for account in keeper.held]
    assert len(held) == len(set(held)), held


def _assert_one_poller_each(keepers: list[LeaseKeeper]) -> None:
    """No account that two keepers would start a poll of (a dead keeper's memory included: it never learns)."""
    pollable = [account for keeper in keepers for account in ACCOUNTS if keeper.may_poll(account, 0)]
    assert len(pollable) == len(set(pollable)), pollable


async def test_three_instances_spread_the_accounts_evenly(make_keeper: MakeKeeper, clock: FakeClock) -> None:
    keepers = [make_keeper(name) for name in "abc"]
    for _ in range(4):
        await _ticks(clock, keepers, 1)
        _assert_disjoint(keepers)
    assert sorted(account for keeper in keepers for account in keeper.held) == ACCOUNTS
    assert all(len(keeper.held) <= 4 for keeper in keepers)  # ceil(10 / 3)
    assert [keeper.is_leader for keeper in keepers].count(True) == 1


async def test_a_new_instance_takes_its_share(make_keeper: MakeKeeper, clock: FakeClock) -> None:
    keepers = [make_keeper("a"), make_keeper("b")]
    await _ticks(clock, keepers, 3)
    assert sorted(len(keeper.held) for keeper in keepers) == [5, 5]
    keepers.append(make_keeper("c"))
    for _ in range(3):
        await _ticks(clock, keepers, 1)
        _assert_disjoint(keepers)
    assert sorted(len(keeper.held) for keeper in keepers) == [2, 4, 4]
    assert sorted(account for keeper in keepers for account in keeper.held) == ACCOUNTS


async def test_a_dead_instances_accounts_are_taken_over_within_two_lease_periods(
    make_keeper: MakeKeeper, clock: FakeClock
) -> None:
    keepers = [make_keeper(name) for name in "abc"]
    await _ticks(clock, keepers, 3)
    dead = next(keeper for keeper in keepers if keeper.is_leader)  # the leader dies, too
    orphaned = set(dead.held)
    survivors = [keeper for keeper in keepers if keeper is not dead]
    died_at = clock.monotonic()
    taken_at = None
    while taken_at is None and clock.monotonic() - died_at <= 2 * LEASE_S:
        await _ticks(clock, survivors, 1)
        _assert_disjoint(survivors)
        _assert_one_poller_each([*survivors, dead])  # dead's stop before anyone can claim them
        if orphaned <= {a for keeper in survivors for a in keeper.held} and any(k.is_leader for k in survivors):
            taken_at = clock.monotonic()
    assert taken_at is not None, "not taken over within two lease periods"
    assert sorted(account for keeper in survivors for account in keeper.held) == ACCOUNTS


async def test_leaving_frees_the_accounts_at_once(make_keeper: MakeKeeper, clock: FakeClock) -> None:
    keepers = [make_keeper("a"), make_keeper("b")]
    await _ticks(clock, keepers, 2)
    await keepers[0].leave()
    await _ticks(clock, keepers[1:], 1)
    assert keepers[1].held == ACCOUNTS


async def test_an_account_with_a_poll_in_flight_is_given_back_after_it(
    stores: list[Store], make_keeper: MakeKeeper, clock: FakeClock
) -> None:
    in_flight = set(ACCOUNTS)
    a = LeaseKeeper(
        stores[0], clock, ACCOUNTS, instance_id="a", lease_s=LEASE_S, busy=lambda: in_flight, db_time=clock.now
    )
    await _ticks(clock, [a], 1)
    b = make_keeper("b")
    await _ticks(clock, [a, b], 2)
    assert (len(a.held), b.held) == (10, [])  # a keeps them while its polls run
    in_flight.clear()
    await _ticks(clock, [a, b], 2)
    assert (len(a.held), len(b.held)) == (5, 5)


async def test_a_poll_starts_only_with_its_timeout_and_the_margin_left(
    make_keeper: MakeKeeper, clock: FakeClock
) -> None:
    keeper = make_keeper("a")
    await keeper.tick()
    timeout = 10.0
    assert keeper.may_poll("acc00", timeout)
    assert keeper.lease_for("acc00") is not None
    clock.advance(LEASE_S - timeout - POLL_MARGIN_S)  # no tick: the lease is about to run out
    assert not keeper.may_poll("acc00", timeout)
    assert not keeper.may_poll("nobody", 0)
    sole = SoleKeeper()
    assert (sole.may_poll("acc00", 1e9), sole.lease_for("acc00"), sole.is_leader) == (True, None, True)


def _shop_keepers(stores: list[Store], clock: FakeClock) -> tuple[LeaseKeeper, LeaseKeeper]:
    """Instances "a" and "b" (each on its own store) sharing one account, "shop", on the server's clock."""
    a, b = (
        LeaseKeeper(store, clock, ["shop"], instance_id=name, lease_s=LEASE_S, db_time=lambda: None)
        for store, name in zip(stores[:2], "ab", strict=True)
    )
    return a, b


async def _a_holds_shop(stores: list[Store], clock: FakeClock) -> tuple[LeaseKeeper, LeaseKeeper]:
    """`_shop_keepers` after a tick each: "a" came first and holds the account, "b" holds nothing."""
    a, b = _shop_keepers(stores, clock)
    await a.tick()
    await b.tick()
    assert (a.held, b.held) == (["shop"], [])
    return a, b


def _poller(store: Store, clock: FakeClock, keeper: LeaseKeeper, connector: ScriptedConnector) -> StreamPoller:
    return StreamPoller(
        connector,
        StreamKind.PRODUCT_QNA,
        store,
        clock,
        interval_s=60,
        jitter=0.0,
        channels=("sink",),
        on_queued=lambda: None,
        gate=keeper,
    )


async def test_a_poller_polls_only_its_instances_accounts_and_a_taken_over_write_is_fenced(
    stores: list[Store], clock: FakeClock
) -> None:
    a, b = await _a_holds_shop(stores, clock)
    result = PollResult(inquiries=(make_inquiry("1"),), cursor={"through": "x"})
    on_b = ScriptedConnector([result])
    skipped = await _poller(stores[1], clock, b, on_b).poll_once()
    assert (skipped.held, on_b.cursors_seen) == (False, [])  # b never asked the marketplace
    # a's lease is taken over (released behind its back, as if it had expired) while its poll runs.
    on_a = ScriptedConnector([result])
    poller = _poller(stores[0], clock, a, on_a)
    await stores[0].release_accounts("a", ["shop"])
    await b.tick()
    fenced = await poller.poll_once()
    assert (fenced.held, poller.fenced, on_a.cursors_seen) == (False, 1, [None])
    assert await stores[0].open_inquiries() == []  # a's poll wrote nothing
    polled = await _poller(stores[1], clock, b, ScriptedConnector([result])).poll_once()
    assert (polled.held, polled.new) == (True, 1)


async def test_an_account_claimed_back_is_polled_from_the_cursor_the_other_instance_left(
    stores: list[Store], clock: FakeClock
) -> None:
    a, b = _shop_keepers(stores, clock)
    claims: list[list[str]] = []
    a.on_claimed.append(claims.append)
    await a.tick()
    page = [PollResult(inquiries=(), cursor={"through": step}) for step in ("a1", "b1", "a2")]
    on_a, on_b = ScriptedConnector([page[0], page[2]]), ScriptedConnector([page[1]])
    poller_a, poller_b = _poller(stores[0], clock, a, on_a), _poller(stores[1], clock, b, on_b)
    await poller_a.poll_once()
    await a.leave()  # the account goes to b for a while (a rebalance, a restart) ...
    await b.tick()
    await poller_b.poll_once()
    await b.leave()  # ... and comes back, without a's poller ever being turned away in between
    await a.tick()
    await poller_a.poll_once()
    assert on_b.cursors_seen == [{"through": "a1"}]
    assert on_a.cursors_seen == [None, {"through": "b1"}]  # not the a1 it had kept: b moved it on
    assert claims == [["shop"], ["shop"]]  # the connection watch is told both times (aggregator/daemon.py)


# Found by the crash soak of instances (bench/soak_instances.py): a poller that looked at an account before anyone
# polled it must not keep "no cursor yet" when it takes the account over (its first poll would be a backfill, and
# what arrived meanwhile would be folded into a second "connected" summary instead of being pushed).
async def test_an_account_taken_over_is_polled_from_the_cursor_its_last_holder_saved(
    stores: list[Store], clock: FakeClock
) -> None:
    a, b = await _a_holds_shop(stores, clock)
    on_b = ScriptedConnector([PollResult(inquiries=(make_inquiry("2"),), cursor={"through": "y"})])
    b_poller = _poller(stores[1], clock, b, on_b)
    assert not (await b_poller.poll_once()).held  # b looked before anyone polled the account: a's
    first = PollResult(inquiries=(make_inquiry("1"),), cursor={"through": "x"})
    assert (await _poller(stores[0], clock, a, ScriptedConnector([first])).poll_once()).held
    saved = await stores[1].load_cursor("shop", StreamKind.PRODUCT_QNA)
    assert saved is not None
    await a.leave()  # a stops: the account is b's at b's next tick
    await b.tick()
    assert b.held == ["shop"]
    assert (await b_poller.poll_once()).held
    # b must go on from a's cursor: with none, its poll is a first (backfilling) poll, and inquiry 2 is never
    # pushed as new.
    assert on_b.cursors_seen == [saved]


async def test_status_shows_the_leader_and_who_polls_each_account(stores: list[Store], clock: FakeClock) -> None:
    keepers = [  # on the server's own clock, as `inqd status` reads the leases by it
        LeaseKeeper(stores[k], clock, ACCOUNTS, instance_id=name, lease_s=LEASE_S) for k, name in enumerate("ab")
    ]
    for keeper in (*keepers, *keepers):  # in turn (at once, a could claim all ten before b's first heartbeat)
        await keeper.tick()
    left = keepers[0].held
    await keepers[0].leave()  # a stopped: its accounts are nobody's until b's next tick
    report = await status_report(
        stores[2], [], Settings().policies(), now=START, lost_after=timedelta(minutes=15), words=Words("en")
    )
    holders = {row["account"]: row["holder"] for row in report["instances"]["holders"]}
    assert holders == {account: ("b" if account in keepers[1].held else None) for account in ACCOUNTS}
    assert (len(left), report["instances"]["leader"]) == (5, "b" if keepers[1].is_leader else None)
    lines = status_lines(report, now=START, words=Words("en"))
    assert ("leader instance: b" if keepers[1].is_leader else "no leader instance") in lines
    assert f"{keepers[1].held[0]}: polled by b" in lines
    assert f"{left[0]}: no instance holds it" in lines


class _HeldClock(FakeClock):
    """Time moves only when the test says: a sleep just yields (the supervisors' sleeps must not move it)."""

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(0)


async def test_one_owner_loops_run_on_the_leader_only_and_move_with_the_leadership(stores: list[Store]) -> None:
    clock = _HeldClock(START)
    a, b = (
        LeaseKeeper(stores[k], clock, ACCOUNTS, instance_id=name, lease_s=LEASE_S, db_time=clock.now)
        for k, name in enumerate("ab")
    )
    await a.tick()
    await b.tick()
    assert (a.is_leader, b.is_leader) == (True, False)
    runs: list[tuple[str, str, float]] = []

    def loop(name: str) -> Callable[[asyncio.Event], Awaitable[None]]:
        async def run(own_stop: asyncio.Event) -> None:
            runs.append((name, "start", clock.monotonic()))
            await own_stop.wait()
            runs.append((name, "stop", clock.monotonic()))

        return run

    stop = asyncio.Event()
    a_deadline = clock.monotonic() + LEASE_S
    supervisors = [asyncio.ensure_future(while_leading(k, clock, stop, loop(k.instance_id))) for k in (a, b)]
    # a stops renewing (its keeper hangs); b ticks every second.
    while not any(name == "b" for name, _, _ in runs) and clock.monotonic() < a_deadline + 3 * LEASE_S:
        clock.advance(1)
        await b.tick()
        for _ in range(10):
            await asyncio.sleep(0)
    stop.set()
    await asyncio.gather(*supervisors)
    a_stop = next(at for name, what, at in runs if (name, what) == ("a", "stop"))
    b_start = next(at for name, what, at in runs if (name, what) == ("b", "start"))
    assert runs[0][:2] == ("a", "start")
    assert a_stop < a_deadline <= b_start  # never both: a stopped before its lease could be taken over
    assert b_start - a_deadline <= 2  # taken over at b's first tick after the expiry


class _RunningOutGate:
    """A gate whose lease has `checks` more looks left before it runs out (renewals stopped)."""

    period_s = 0.001

    def __init__(self, checks: int) -> None:
        self.checks = checks

    def may_poll(self, account_id: str, needed_s: float) -> bool:
        return True

    def lease_left_s(self, account_id: str) -> float:
        self.checks -= 1
        return 1.0 if self.checks >= 0 else 0.0

    def lease_for(self, account_id: str) -> None:
        return None


class _SlowConnector(ScriptedConnector):
    """Answers after `turns` turns of the event loop (a poll that takes a while)."""

    def __init__(self, turns: int) -> None:
        super().__init__([PollResult(inquiries=(), cursor={"through": "x"})])
        self.turns = turns

    async def poll(self, stream: StreamKind, cursor: object, *, now: object) -> PollResult:  # type: ignore[override]
        for _ in range(self.turns):
            await asyncio.sleep(0.001)
        return await super().poll(stream, None, now=START)


@pytest.mark.parametrize(("checks", "turns", "ok"), [(3, 10**6, False), (10**6, 20, True)])
async def test_a_running_poll_is_cut_off_only_when_its_lease_runs_out(
    stores: list[Store], clock: FakeClock, checks: int, turns: int, ok: bool
) -> None:
    poller = StreamPoller(
        _SlowConnector(turns),
        StreamKind.PRODUCT_QNA,
        stores[0],
        clock,
        interval_s=60,
        jitter=0.0,
        channels=("sink",),
        on_queued=lambda: None,
        gate=_RunningOutGate(checks),
    )
    report = await poller.poll_once()
    assert (report.ok, report.error) == (ok, None if ok else "Unavailable")


async def test_renewals_do_not_queue_behind_a_busy_pool(stores: list[Store], clock: FakeClock) -> None:
    # Thousands of pollers keep the store's pool busy; a renewal waiting for one of its connections came more than
    # a lease late (bench.scale, 3,000 accounts over three instances). Renewals have a connection of their own.
    keeper = LeaseKeeper(stores[0], clock, ACCOUNTS, instance_id="a", lease_s=LEASE_S, db_time=lambda: None)
    await keeper.tick()
    assert len(keeper.held) == len(ACCOUNTS) and keeper.is_leader
    pool = stores[0]._database._pool  # type: ignore[attr-defined]
    async with contextlib.AsyncExitStack() as busy:
        for _ in range(pool.max_size):
            await busy.enter_async_context(pool.connection())
        # Every pooled connection is taken: a tick with nothing to claim renews on its own connection.
        await asyncio.wait_for(keeper.tick(), timeout=30)  # a bound, not a wait: it returns as soon as it is done
    assert len(keeper.held) == len(ACCOUNTS) and keeper.is_leader
