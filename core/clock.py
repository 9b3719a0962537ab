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


async def loop_until_stopped(
    clock: Clock,
    stop: asyncio.Event,
    wake: asyncio.Event,
    step: Callable[[], Awaitable[datetime | None]],
    *,
    idle_s: float,
    on_error: Callable[[], None],
) -> None:
    """Run `step` until `stop`; after each, sleep until the time it returns (at most `idle_s`) or until woken.

    The loop boundary of the timer and the dispatcher: a failing step is reported through `on_error` (called
    inside the `except`, so it can log the traceback) and retried after `idle_s`; state lives in the store.
    """
    while not stop.is_set():
        wake.clear()
        try:
            next_at = await step()
        except Exception:  # noqa: BLE001 - the loop boundary; on_error logs the traceback
            on_error()
            next_at = None
        wait_s = idle_s if next_at is None else min(idle_s, max(0.0, (next_at - clock.now()).total_seconds()))
        await sleep_or_wake(clock, wait_s, stop, wake)
