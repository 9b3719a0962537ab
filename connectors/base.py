"""The Connector contract, its error tree, and helpers shared by every marketplace connector.

Error tree (translated once, at the HTTP edge, always `raise ... from err`):

    ConnectorError
    ├── AuthFailed        credentials wrong, expired or revoked: operator action, no retry loop
    ├── RateLimited       429 or a throttle signal; `retry_after` is the floor for the next attempt
    └── Unavailable       5xx, timeouts, network errors, temporary blocks, undecodable pages: retry later
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import ClassVar, Protocol

from aggregator.clock import Clock
from aggregator.models import Cursor, Marketplace, PollResult, StreamKind


class ConnectorError(Exception):
    """Base of every error a connector raises."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AuthFailed(ConnectorError):
    """The marketplace refused our credentials: the seller must act (re-issue a key, fix the IP list)."""


class RateLimited(ConnectorError):
    """The marketplace asked us to slow down; `retry_after_s` is the minimum wait."""


class Unavailable(ConnectorError):
    """A transient failure: server error, timeout, network error, maintenance, an undecodable page."""


class MalformedItem(ValueError):
    """One item of a page could not be normalized; the connector skips and counts it."""


class Connector(Protocol):
    """One marketplace account; polls each of its streams independently."""

    marketplace: ClassVar[Marketplace]
    account_id: str
    streams: tuple[StreamKind, ...]

    async def poll(self, stream: StreamKind, cursor: Cursor | None, *, now: datetime) -> PollResult:
        """Fetch everything new or changed in `stream` since `cursor` (None: first run, backfill)."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP client."""
        ...


class RequestBudget:
    """Spaces an account's requests so they never exceed `rate_per_s`, across all its streams.

    The marketplace limit is per seller (Coupang: per vendorId), so one budget is shared by every stream
    task of an account. A reservation is taken before waiting, so concurrent callers queue fairly.
    """

    def __init__(self, rate_per_s: float, clock: Clock) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self.interval_s = 1.0 / rate_per_s
        self._clock = clock
        self._next_slot = float("-inf")

    async def acquire(self) -> None:
        """Wait until the next request slot is ours."""
        now = self._clock.monotonic()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self.interval_s
        if slot > now:
            await self._clock.sleep(slot - now)

    def push_back(self, seconds: float) -> None:
        """Make the next slot no earlier than `seconds` from now (a Retry-After from the server)."""
        self._next_slot = max(self._next_slot, self._clock.monotonic() + seconds)


@dataclass(frozen=True, slots=True)
class DateWindow:
    """An inclusive range of local calendar dates, as the marketplaces' `yyyy-MM-dd` parameters take it."""

    start: date
    end: date


def date_windows(first: date, last: date, *, max_days: int) -> Iterator[DateWindow]:
    """Split [first, last] (inclusive) into consecutive windows of at most `max_days` calendar dates."""
    if max_days < 1:
        raise ValueError("max_days must be at least 1")
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=max_days - 1))
        yield DateWindow(start, end)
        start = end + timedelta(days=1)
