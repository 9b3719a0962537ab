"""The lease keeper: which accounts this instance may poll, and whether it leads.

Several `inqd run` on one PostgreSQL: every lease_s/3 the keeper writes its heartbeat, extends the leases it holds,
gives back what is over its fair share (policies/leases.py) once no poll of that account is in flight, claims free
or expired accounts up to its share, and takes or renews the leader's lease. A dead instance's accounts expire one
lease after its last extension and are claimed at the next tick of another: within two lease periods.

The keeper's own deadline for each lease is taken on its monotonic clock BEFORE the statement that extended or
claimed it is sent, so it is never later than the database's expiry (the database's clock sets that one; an
instance's wall clock plays no part). A poller starts a poll only when that deadline is more than a tick period and a
margin away (so the next tick extends it first), and cuts a running poll off a margin before the deadline as it
stands (each tick moves it on: a long poll runs on while its instance keeps renewing), so an old holder has stopped
before another instance can claim the account; and the poll's write is fenced in any case (record_poll(lease=)).

On SQLite (one instance, the file lock) `SoleKeeper` holds every account and leads, writing nothing.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import datetime

import structlog

from aggregator.store import AccountLease, Store
from core.clock import Clock, sleep_or_wake
from policies.leases import lease_plan

log = structlog.get_logger("inqd.leases")

DEFAULT_LEASE_S = 30.0
# A poll starts only if its lease runs this long past the poll's own timeout (scheduling, the write, the commit).
POLL_MARGIN_S = 5.0


def new_instance_id() -> str:
    """hostname:pid:random, unique across restarts and machines, readable in logs and `inqd status`."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class SoleKeeper:
    """One instance on SQLite: it holds every account and leads, and the database keeps no leases."""

    instance_id = "sole"

    def __init__(self) -> None:
        self.on_claimed: list[Callable[[list[str]], None]] = []  # never called: every account is held from the start

    def lease_for(self, account_id: str) -> AccountLease | None:
        """No lease to check: record_poll writes unfenced."""
        return None

    def may_poll(self, account_id: str, needed_s: float) -> bool:
        """Always."""
        return True

    def answering_accounts(self) -> frozenset[str] | None:
        """Every account (None): the one instance posts every answer."""
        return None

    def lease_left_s(self, account_id: str) -> float:
        """No end."""
        return float("inf")

    @property
    def is_leader(self) -> bool:
        """Always."""
        return True

    async def tick(self) -> None:
        """Nothing to renew."""

    async def leave(self) -> None:
        """Nothing to give back."""


class LeaseKeeper:
    """This instance's leases on a shared PostgreSQL; `tick()` every `lease_s / 3`."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        accounts: Sequence[str],
        *,
        instance_id: str,
        lease_s: float = DEFAULT_LEASE_S,
        busy: Callable[[], Collection[str]] = frozenset,
        db_time: Callable[[], datetime | None] = lambda: None,
    ) -> None:
        self.instance_id = instance_id
        self.lease_s = lease_s
        self._store = store
        self._clock = clock
        self._accounts = list(accounts)
        self._busy = busy  # accounts with a poll in flight: given back only after it
        self._db_time = db_time  # tests: a FakeClock's time in place of the database's clock
        self._held: dict[str, tuple[AccountLease, float]] = {}  # account -> (lease, our monotonic deadline)
        self._leader_until: float | None = None
        # Called with the accounts just claimed: what this instance remembered of them while another instance
        # polled them may be stale (aggregator/connection_watch.py forgets it).
        self.on_claimed: list[Callable[[list[str]], None]] = []

    @property
    def period_s(self) -> float:
        """How often `tick` runs."""
        return self.lease_s / 3

    @property
    def held(self) -> list[str]:
        """The accounts this instance holds, by id."""
        return sorted(self._held)

    @property
    def is_leader(self) -> bool:
        """Whether this instance's leader lease is running (by our own, earlier, deadline)."""
        return self._leader_until is not None and self._clock.monotonic() < self._leader_until

    def leader_left_s(self) -> float:
        """How long this instance's leadership runs yet, by our own deadline (0: not leading)."""
        return max(0.0, self._leader_until - self._clock.monotonic()) if self._leader_until is not None else 0.0

    def lease_left_s(self, account_id: str) -> float:
        """How long a poll of `account_id` may still run: until a margin before our deadline for its lease (which
        each tick moves on; 0: not held, or too close to the end)."""
        held = self._held.get(account_id)
        return max(0.0, held[1] - self._clock.monotonic() - POLL_MARGIN_S) if held else 0.0

    def lease_for(self, account_id: str) -> AccountLease | None:
        """The lease a poll of `account_id` writes under (None: not held)."""
        held = self._held.get(account_id)
        return held[0] if held else None

    def answering_accounts(self) -> frozenset[str]:
        """The accounts whose answers this instance posts: those it polls, so that each account's requests come
        from one process (the marketplaces' rate limits are per seller account)."""
        return frozenset(self._held)

    def may_poll(self, account_id: str, needed_s: float) -> bool:
        """Whether a poll taking up to `needed_s` may start now: the account is ours for longer than that and the
        margin."""
        held = self._held.get(account_id)
        return held is not None and held[1] - self._clock.monotonic() > needed_s + POLL_MARGIN_S

    async def tick(self) -> None:
        """Heartbeat, extend, give back the surplus, claim the shortfall, lead."""
        at = self._db_time()
        started = self._clock.monotonic()
        live = await self._store.heartbeat(self.instance_id, self.lease_s, at=at)
        extended = await self._store.extend_leases(self.instance_id, self.lease_s, at=at)
        lost = set(self._held) - {lease.account_id for lease in extended}
        if lost:
            log.warning("leases_lost", instance=self.instance_id, accounts=sorted(lost))
        self._held = {lease.account_id: (lease, started + self.lease_s) for lease in extended}
        plan = lease_plan(self._held, len(self._accounts), live)
        busy = set(self._busy())
        release = [account for account in plan.release if account not in busy]
        if release:
            await self._store.release_accounts(self.instance_id, release)
            for account in release:
                del self._held[account]
            log.info("leases_released", instance=self.instance_id, accounts=release)
        if plan.claim:
            started = self._clock.monotonic()
            claimed = await self._store.claim_accounts(
                self.instance_id, self._accounts, plan.claim, self.lease_s, at=at
            )
            self._held.update({lease.account_id: (lease, started + self.lease_s) for lease in claimed})
            if claimed:
                accounts = [c.account_id for c in claimed]
                log.info("leases_claimed", instance=self.instance_id, accounts=accounts)
                for observer in self.on_claimed:
                    observer(accounts)
        await self._lead(at)

    async def _lead(self, at: datetime | None) -> None:
        started = self._clock.monotonic()
        was_leader = self.is_leader
        fence = await self._store.lead(self.instance_id, self.lease_s, at=at)
        self._leader_until = started + self.lease_s if fence is not None else None
        if fence is not None and not was_leader:
            log.info("leader_taken", instance=self.instance_id, fence=fence)
        elif fence is None and was_leader:
            log.warning("leader_lost", instance=self.instance_id)

    async def leave(self) -> None:
        """Stopping: give everything back at once, so others need not wait for the leases to run out."""
        await self._store.leave(self.instance_id)
        self._held.clear()
        self._leader_until = None


async def keep_leases(keeper: LeaseKeeper, clock: Clock, stop: asyncio.Event) -> None:
    """Tick every period until `stop`, then give everything back. A failed tick (the database away) is logged and
    retried next period; meanwhile the leases run down and the pollers stop on their own (`may_poll`)."""
    while not stop.is_set():
        await sleep_or_wake(clock, keeper.period_s, stop)
        if stop.is_set():
            break
        try:
            await keeper.tick()
        except Exception:
            log.exception("lease_tick_failed", instance=keeper.instance_id)
    try:
        await keeper.leave()
    except Exception:  # the leases then run out on their own
        log.exception("lease_leave_failed", instance=keeper.instance_id)


async def while_leading(
    keeper: LeaseKeeper, clock: Clock, stop: asyncio.Event, run: Callable[[asyncio.Event], Awaitable[None]]
) -> None:
    """Run a one-owner loop (`run(its_stop)`: the SLA timer, the weekly report, Telegram's getUpdates) only while
    this instance leads: started when it becomes the leader, stopped a margin before its leadership could run out
    unrenewed (so the next leader starts after it has stopped), started again if it leads again; until `stop`."""
    while not stop.is_set():
        # Leading, but within the margin (a renewal is late): wait for it like a follower. Starting the loops now
        # would stop them at once, and again, in a spin that takes the CPU the renewal needs (bench.scale found it).
        if not keeper.is_leader or keeper.leader_left_s() <= POLL_MARGIN_S:
            await sleep_or_wake(clock, keeper.period_s, stop)
            continue
        own_stop = asyncio.Event()
        task = asyncio.ensure_future(run(own_stop))
        while not stop.is_set() and not task.done() and keeper.leader_left_s() > POLL_MARGIN_S:
            await sleep_or_wake(clock, min(keeper.period_s, keeper.leader_left_s() - POLL_MARGIN_S), stop)
        ended_by_itself = task.done()
        own_stop.set()
        await task
        if ended_by_itself and not stop.is_set():
            log.warning("one_owner_loop_ended", instance=keeper.instance_id)
