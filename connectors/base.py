"""The Connector contract, its error tree, and helpers shared by every marketplace connector.

Error tree (translated once, at the HTTP edge, always `raise ... from err`):

    ConnectorError
    ├── AuthFailed        credentials wrong, expired or revoked: operator action, no retry loop
    ├── RateLimited       429 or a throttle signal; `retry_after` is the floor for the next attempt
    └── Unavailable       5xx, timeouts, network errors, temporary blocks, undecodable pages: retry later
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import ClassVar, Protocol

import structlog

from core.clock import Clock
from core.models import KST, Cursor, Inquiry, Marketplace, OpenSnapshot, PollResult, StreamKind

log = structlog.get_logger(__name__)

CURSOR_VERSION = 1


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


def cursor_through(cursor: Cursor | None) -> datetime | None:
    """`through` of a cursor `PollTally.result` wrote, or None if there is none we can trust."""
    if cursor is None or cursor.get("v") != CURSOR_VERSION or not isinstance(cursor.get("through"), str):
        return None
    try:
        through = datetime.fromisoformat(cursor["through"])
    except ValueError:
        return None
    return through if through.tzinfo is not None else None


@dataclass(slots=True)
class Listing:
    """Rows of one pass over a date range; `steady` if no page walk saw the listing move under it."""

    rows: list[object] = field(default_factory=list)
    steady: bool = True


@dataclass(slots=True)
class PollTally:
    """Per-poll counters, and the poll's bookkeeping logged under the connector's own event names.

    `source` prefixes every event ("coupang" -> "coupang.item_skipped").
    """

    source: str
    account_id: str
    stream: StreamKind
    requests: int = 0
    skipped: int = 0

    def first_date(self, cursor: Cursor | None, now: datetime, *, backfill: timedelta, overlap: timedelta) -> date:
        """The first KST date to read: the cursor's date less `overlap`, or `backfill` ago; never after today."""
        today = now.astimezone(KST).date()
        through = cursor_through(cursor)
        if through is None:
            if cursor is not None:
                log.warning(f"{self.source}.cursor_unreadable", account_id=self.account_id, action="backfill")
            return min((now - backfill).astimezone(KST).date(), today)
        return min(through.astimezone(KST).date() - overlap, today)

    def skip(self, err: MalformedItem) -> None:
        self.skipped += 1
        log.warning(
            f"{self.source}.item_skipped", account_id=self.account_id, stream=self.stream.value, reason=str(err)
        )

    def normalize(self, rows: Iterable[object], to_inquiry: Callable[[object], Inquiry]) -> tuple[Inquiry, ...]:
        """Every row that normalizes, the first of each external_id; malformed ones are skipped and counted."""
        inquiries: dict[str, Inquiry] = {}
        for raw in rows:
            try:
                inquiry = to_inquiry(raw)
            except MalformedItem as err:
                self.skip(err)
                continue
            inquiries.setdefault(inquiry.external_id, inquiry)
        return tuple(inquiries.values())

    def open_snapshot(
        self, listing: Listing, row_id: Callable[[object], str], first: date, now: datetime
    ) -> OpenSnapshot | None:
        """The ids of an unanswered-only listing over [first, now], or None if it cannot be trusted whole."""
        # Only the id is read: a listed row is open whatever else about it is malformed.
        ids: set[str] = set()
        named_all = True
        for raw in listing.rows:
            try:
                ids.add(row_id(raw))
            except MalformedItem as err:
                self.skip(err)
                named_all = False
        if not (named_all and listing.steady):
            # A row we cannot name, or one the paging may have skipped, could be any stored open inquiry:
            # claiming all the others answered would be a lie. The next poll tries again.
            log.warning(
                f"{self.source}.snapshot_dropped",
                account_id=self.account_id,
                stream=self.stream.value,
                reason="unnamed row" if not named_all else "listing moved while paging",
            )
            return None
        return OpenSnapshot(
            received_from=datetime.combine(first, time(), KST),
            received_to=now,
            open_external_ids=frozenset(ids),
        )

    def result(self, inquiries: tuple[Inquiry, ...], snapshot: OpenSnapshot | None, now: datetime) -> PollResult:
        """The poll's result, with a cursor through `now` and this tally's counts."""
        return PollResult(
            inquiries=inquiries,
            cursor={"v": CURSOR_VERSION, "through": now.astimezone(UTC).isoformat()},
            skipped=self.skipped,
            requests=self.requests,
            open_snapshot=snapshot,
        )
