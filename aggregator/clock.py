"""The Clock protocol: every wait and every `now` in inqd goes through one, so tests never sleep."""

from __future__ import annotations

import asyncio
import time
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
