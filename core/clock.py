"""The Clock protocol: every wait and every `now` in inqd goes through one, so tests never sleep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Source of time and of waiting."""

    def now(self) -> datetime:
        """Current time, timezone-aware (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; for intervals and rate budgets."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` (0 or less returns at once, still yielding to the loop)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """`time.monotonic()`."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """`asyncio.sleep`, clamped at 0."""
        await asyncio.sleep(max(0.0, seconds))


async def sleep_or_wake(clock: Clock, seconds: float | None, *events: asyncio.Event) -> None:
    """Sleep `seconds` on `clock` (None: no timeout), returning early as soon as any of `events` is set."""
    waiters: list[asyncio.Future[object]] = [asyncio.ensure_future(event.wait()) for event in events]
    if seconds is not None:
        waiters.append(asyncio.ensure_future(clock.sleep(seconds)))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


class WakeableLoop:
    """The loop of the SLA timer and the dispatcher: do the work due now, then sleep until the time the store names
    next (at most `idle_s`) or until `wake` is set (new work queued).

    A failing round is reported through `on_error` (called inside the `except`, so it can log the traceback) and
    retried after `idle_s`: the loop boundary, where state lives in the store and nothing is lost by trying again.
    """

    def __init__(self, clock: Clock, *, idle_s: float, on_error: Callable[[], None]) -> None:
        self._clock = clock
        self._idle_s = idle_s
        self._on_error = on_error
        self.wake = asyncio.Event()

    async def run(
        self,
        stop: asyncio.Event,
        work: Callable[[], Awaitable[object]],
        next_at: Callable[[], Awaitable[datetime | None]],
    ) -> None:
        """Run `work` then ask `next_at` until `stop`, sleeping in between as the class says."""
        while not stop.is_set():
            self.wake.clear()
            try:
                await work()
                due = await next_at()
            except Exception:  # noqa: BLE001 - the loop boundary; on_error logs the traceback
                self._on_error()
                due = None
            wait_s = self._idle_s if due is None else max(0.0, (due - self._clock.now()).total_seconds())
            await sleep_or_wake(self._clock, min(self._idle_s, wait_s), stop, self.wake)
