"""One poll loop per stream: connector.poll(cursor) -> store.record_poll(...) in one transaction."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import structlog

from aggregator.scheduler import next_poll_delay_s
from aggregator.store import AccountLease, Channels, LeaseLost, Store
from connectors.base import AuthFailed, Connector, ConnectorError, Unavailable
from core.clock import Clock
from core.models import Cursor, StreamKind

log = structlog.get_logger("inqd.poller")
_T = TypeVar("_T")
# Jitter needs a draw, not a generator per stream (a random.Random is 2.5 KB: 5 MB at 2,000 streams).
_SHARED_RNG = random.Random()
# Start-up: how far apart the streams' first polls are (`first_poll_delays`): 20 a second.
FIRST_POLL_SPACING_S = 0.05


class StopWaker:
    """Cancels what the pollers of one daemon wait on (a poll, the sleep before the next) when `stop` is set, with
    one waiter on `stop` for all of them.

    A waiter on `stop` beside each sleep took three tasks per sleeping poller (10 MiB at 2,000 streams, against
    3 MiB for the pollers' own tasks) and two more tasks per poll.
    """

    def __init__(self) -> None:
        self._waiting: set[asyncio.Task[Any]] = set()
        self._woken: set[asyncio.Task[Any]] = set()
        self._watched: asyncio.Event | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def until_stopped(self, work: Coroutine[Any, Any, _T], stop: asyncio.Event) -> _T | None:
        """`work`'s result, or None when `stop` is set first (`work` is then cancelled where it waits)."""
        task = asyncio.current_task()
        if stop.is_set() or task is None:
            work.close()
            return None
        if self._watched is not stop:
            self._watched = stop
            self._watcher = asyncio.ensure_future(self._wake_on(stop))
        self._waiting.add(task)
        try:
            return await work
        except asyncio.CancelledError:
            if task not in self._woken:
                raise
            task.uncancel()  # our cancellation, not the task's owner's: the poller ends normally
            return None
        finally:
            self._waiting.discard(task)
            self._woken.discard(task)

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        for task in list(self._waiting):
            self._woken.add(task)
            task.cancel()


def first_poll_delays(count: int, interval_s: float) -> list[float]:
    """When each of `count` streams (in order) polls first after start-up: evenly spaced, FIRST_POLL_SPACING_S
    apart, spread over at most one interval.

    All at once, 2,000 streams' first polls queued for the store, the HTTP pool and the request budgets, and on
    one interval they stayed in step every minute after (bench.scale at 1,000 accounts on a loaded machine: polls
    of 37 s p50, 1.8 s spread out; a CPU burst each minute). A few streams start within a fraction of a second."""
    if count <= 0:
        return []
    spread = min(interval_s, count * FIRST_POLL_SPACING_S)
    return [spread * k / count for k in range(count)]


class PollGate(Protocol):
    """Whether this instance may poll an account now (several instances on PostgreSQL: aggregator/leases.py)."""

    @property
    def period_s(self) -> float:
        """How often the leases are renewed: a poll starts with at least this much lease left."""
        ...

    def may_poll(self, account_id: str, needed_s: float) -> bool:
        """The account is this instance's for more than `needed_s` (and a margin)."""
        ...

    def lease_left_s(self, account_id: str) -> float:
        """How long a poll of the account may still run (renewals move it on; 0: stop now)."""
        ...

    def lease_for(self, account_id: str) -> AccountLease | None:
        """The lease the poll's write is fenced with."""
        ...


async def _within_lease(gate: PollGate, account_id: str, work: Coroutine[Any, Any, _T]) -> _T:
    """`work`, cancelled (as Unavailable) if the account's lease comes within its margin of running out before it is
    done; the renewals move that moment on, so a long poll runs on while its instance keeps the lease. Checked on the
    event loop's own time, at least every renewal period."""
    task = asyncio.ensure_future(work)
    try:
        while (left := gate.lease_left_s(account_id)) > 0:
            done, _ = await asyncio.wait({task}, timeout=min(left, gate.period_s))
            if done:
                return task.result()
        raise Unavailable("poll cut off: its account's lease was running out")
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


@dataclass(frozen=True, slots=True)
class PollReport:
    """The outcome of one poll attempt, for the loop and for tests."""

    ok: bool
    new: int = 0
    answered: int = 0
    skipped: int = 0
    queued: int = 0
    text_changed: int = 0  # known inquiries reported with another question's text (kept as stored)
    requests: int = 0
    error: str | None = None
    retry_after_s: float | None = None
    duration_s: float = 0.0
    held: bool = True  # False: the account was not this instance's (not polled, or the write fenced off)


class StreamPoller:
    """Polls one stream of one account on its own schedule, forever, surviving every failure."""

    __slots__ = (
        "_channels",
        "_clock",
        "_cursor",
        "_gate",
        "_jitter",
        "_on_polled",
        "_on_queued",
        "_rng",
        "_store",
        "_waker",
        "connector",
        "consecutive_failures",
        "fenced",
        "first_delay_s",
        "interval_s",
        "polls",
        "stream",
    )

    def __init__(
        self,
        connector: Connector,
        stream: StreamKind,
        store: Store,
        clock: Clock,
        *,
        interval_s: float,
        jitter: float,
        channels: Channels,
        on_queued: Callable[[], None],
        on_polled: Callable[[StreamPoller, PollReport], Awaitable[None]] | None = None,
        rng: random.Random | None = None,
        first_delay_s: float = 0.0,
        waker: StopWaker | None = None,
        gate: PollGate | None = None,
    ) -> None:
        """`rng` draws the jitter (pollers may share one); `first_delay_s` puts off the first poll in `run`, so the
        streams of many accounts spread over the interval (`first_poll_delays`) instead of starting together;
        `waker` ends the waits of `run` on stop (the pollers of a daemon share one); `gate` (several instances on
        PostgreSQL) lets a poll start only while this instance holds the account's lease, cuts it off within the
        lease, and fences its write."""
        self.connector = connector
        self.stream = stream
        self._store = store
        self._clock = clock
        self.interval_s = interval_s
        self._jitter = jitter
        self._channels = channels
        self._on_queued = on_queued
        self._on_polled = on_polled  # connection health and metrics look at every attempt
        self._rng = rng or _SHARED_RNG
        self.first_delay_s = first_delay_s
        self._waker = waker or StopWaker()
        # This poller is the only writer of its stream's cursor while it holds the account (on SQLite always): after
        # the first read it keeps what it saved instead of reading it back before every poll (a thread hop each).
        # Kept with the lease fence it was read under: a new fence means the account was claimed again, and another
        # instance may have polled (and moved the cursor) in between.
        self._cursor: tuple[Cursor | None, int | None] | None = None
        self.consecutive_failures = 0
        self.polls = 0
        self._gate = gate
        self.fenced = 0  # polls whose write was refused: the lease had been taken over meanwhile

    @property
    def account_id(self) -> str:
        """The account this poller belongs to."""
        return self.connector.account_id

    async def poll_once(self) -> PollReport:
        """Poll once, record the result and tell the observers; never raises for marketplace trouble."""
        report = await self._poll()
        if self._on_polled is not None and report.held:
            await self._on_polled(self, report)
        return report

    async def _poll(self) -> PollReport:
        started = self._clock.monotonic()
        now = self._clock.now()
        gate = self._gate
        if gate is not None and not gate.may_poll(self.account_id, gate.period_s):
            return PollReport(ok=True, held=False)  # another instance's account (or ours too briefly)
        lease = gate.lease_for(self.account_id) if gate is not None else None
        fence = lease.fence if lease is not None else None
        if self._cursor is None or self._cursor[1] != fence:
            self._cursor = (await self._store.load_cursor(self.account_id, self.stream), fence)
        cursor = self._cursor[0]
        try:
            work = self.connector.poll(self.stream, cursor, now=now)
            result = await (_within_lease(gate, self.account_id, work) if gate is not None else work)
        except ConnectorError as err:
            return await self._failed(err, started)
        self._cursor = None  # unknown until record_poll has stored the new one
        try:
            outcome = await self._store.record_poll(
                self.account_id,
                self.stream,
                result,
                now=self._clock.now(),
                channels=self._channels,
                notify_new=cursor is not None,
                account_streams=self.connector.streams,
                lease=lease,
            )
        except LeaseLost:
            self.fenced += 1
            log.warning("poll_fenced", account=self.account_id, stream=self.stream.value, fence=lease and lease.fence)
            return PollReport(ok=True, held=False, duration_s=self._clock.monotonic() - started)
        self._cursor = (self._store.cursor_as_loaded(result.cursor), fence)
        self.polls += 1
        if self.consecutive_failures:
            log.info(
                "stream_recovered",
                account=self.account_id,
                stream=self.stream.value,
                after_failures=self.consecutive_failures,
            )
        self.consecutive_failures = 0
        if outcome.queued:
            self._on_queued()
        report = PollReport(
            ok=True,
            new=len(outcome.new_ids),
            answered=len(outcome.answered_ids),
            skipped=result.skipped,
            queued=outcome.queued,
            text_changed=len(outcome.text_changed),
            requests=result.requests,
            duration_s=self._clock.monotonic() - started,
        )
        for change in outcome.text_changed:
            # Never the text itself: it may carry buyer data.
            log.warning(
                "inquiry_text_changed",
                account=self.account_id,
                stream=self.stream.value,
                marketplace_id=change.external_id,
                fields=list(change.fields),
            )
        if report.new or report.answered or report.skipped:
            log.info(
                "polled",
                account=self.account_id,
                stream=self.stream.value,
                new=report.new,
                answered=report.answered,
                skipped=report.skipped,
                requests=report.requests,
            )
        return report

    async def _failed(self, err: ConnectorError, started: float) -> PollReport:
        kind = type(err).__name__
        self.consecutive_failures = await self._store.record_poll_failure(
            self.account_id,
            self.stream,
            now=self._clock.now(),
            error=f"{kind}: {err}",
            auth_failed=isinstance(err, AuthFailed),
        )
        first = self.consecutive_failures == 1
        if first:
            # Log the transition, not every failed cycle.
            log.warning(
                "stream_unavailable",
                account=self.account_id,
                stream=self.stream.value,
                error_kind=kind,
                error=str(err),
            )
        else:
            log.debug(
                "stream_still_failing",
                account=self.account_id,
                stream=self.stream.value,
                error_kind=kind,
                failures=self.consecutive_failures,
            )
        return PollReport(
            ok=False,
            error=kind,
            retry_after_s=err.retry_after_s,
            duration_s=self._clock.monotonic() - started,
        )

    def next_delay_s(self, report: PollReport) -> float:
        """Seconds until the next attempt after `report`."""
        return next_poll_delay_s(
            self.interval_s,
            consecutive_failures=0 if report.ok else self.consecutive_failures,
            retry_after_s=report.retry_after_s,
            jitter=self._jitter,
            rand=self._rng.random(),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; a bug in one cycle is logged and counted, never fatal."""
        if self.first_delay_s > 0:
            await self._waker.until_stopped(self._clock.sleep(self.first_delay_s), stop)
        while not stop.is_set():
            try:
                # Abandoned if `stop` comes first: a connector may be waiting out a long Retry-After (up to an
                # hour) in its request budget, and a service stop must not wait for it. Abandoning is safe: a
                # poll's writes are one transaction, done whole or not at all, and the next start reads the same
                # items again.
                report = await self._waker.until_stopped(self.poll_once(), stop)
            except Exception:
                log.exception("poll_crashed", account=self.account_id, stream=self.stream.value)
                self.consecutive_failures += 1
                report = PollReport(ok=False, error="crash")
            if report is None:
                return
            # Start to start when healthy: the interval counts from when this poll began, so a 0.4 s poll on a 1 s
            # interval still polls every second (detection latency) and 2,000 streams do not drift later each
            # cycle. After a failure the wait counts from now: a Retry-After starts at the response.
            delay = self.next_delay_s(report) - (report.duration_s if report.ok else 0.0)
            await self._waker.until_stopped(self._clock.sleep(max(0.0, delay)), stop)
