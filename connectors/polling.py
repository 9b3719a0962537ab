"""One poll's bookkeeping, shared by every marketplace connector: its dates, windows and pages, and its tally.

A poll reads KST calendar dates in two passes: every row over [cursor date - overlap, today] (new and changed
inquiries), and the unanswered ones over [today - recheck, today] (the ids still open, so the store can close
the rest). Each pass walks date windows, and each window its pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

import structlog

from connectors.base import Connector, MalformedItem, Unavailable
from core.models import KST, Cursor, Inquiry, OpenSnapshot, PollResult, StreamKind

log = structlog.get_logger(__name__)

CURSOR_VERSION = 1


def enabled_streams(streams: Sequence[StreamKind], known: Iterable[StreamKind]) -> tuple[StreamKind, ...]:
    """`streams` as a tuple; ValueError unless they are distinct and every one is among `known`."""
    known = tuple(known)
    if not streams or len(set(streams)) != len(streams) or not set(streams) <= set(known):
        raise ValueError(f"streams must be distinct and among {', '.join(known)}")
    return tuple(streams)


@dataclass(frozen=True, slots=True)
class Lookback:
    """How far back a connector reads: `backfill` on a first run, `overlap` before its cursor, `recheck` open ids."""

    backfill: timedelta
    overlap: timedelta
    recheck: timedelta

    @classmethod
    def of_days(cls, backfill_days: int, overlap_days: int, recheck_days: int) -> Lookback:
        """The lookback a connector is configured with; ValueError if any part is negative."""
        if min(backfill_days, overlap_days, recheck_days) < 0:
            raise ValueError("backfill_days, overlap_days and recheck_days must not be negative")
        return cls(timedelta(days=backfill_days), timedelta(days=overlap_days), timedelta(days=recheck_days))


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


class Page(NamedTuple):
    """One list page, reduced to what the page walk needs; `last` if the server says no page follows."""

    rows: list[object]
    total_elements: int | None = None
    total_pages: int | None = None
    last: bool = False

    def ends_walk(self, page_num: int) -> bool:
        """Whether page `page_num` (from 1) is the last: the server says so, or our own count reached the total."""
        return self.last or (self.total_pages is not None and page_num >= self.total_pages)


@dataclass(slots=True)
class Listing:
    """Rows of one pass over a date range; `steady` if no page walk saw the listing move under it."""

    rows: list[object] = field(default_factory=list)
    steady: bool = True


@dataclass(slots=True)
class PollTally:
    """One poll of a stream: the KST dates it reads, its counters, and its bookkeeping.

    Rows received over [first, today] are read for new and changed inquiries, the unanswered ones over
    [recheck_first, today] for the ids still open. Events go under the connector's own names: `source`
    prefixes every one ("coupang" -> "coupang.item_skipped").
    """

    source: str
    account_id: str
    stream: StreamKind
    first: date
    recheck_first: date
    today: date
    requests: int = 0
    skipped: int = 0

    async def walk(
        self, first: date, read_page: Callable[[DateWindow, int], Awaitable[Page]], *, max_days: int, max_pages: int
    ) -> Listing:
        """Every row of every page (from 1) of every window of at most `max_days` dates from `first` to today.

        Unavailable if a window has more than `max_pages` pages.
        """
        listing = Listing()
        for window in date_windows(first, self.today, max_days=max_days):
            totals: set[int | None] = set()
            for page_num in range(1, max_pages + 1):
                page = await read_page(window, page_num)
                listing.rows.extend(page.rows)
                if not page.rows:
                    # Running dry before the last page means rows left the listing while we walked it.
                    listing.steady = listing.steady and page_num == 1
                    break
                totals.add(page.total_elements)
                if page.ends_walk(page_num):
                    break
            else:
                raise Unavailable(f"{self.source} {self.stream}: more than {max_pages} pages in a window")
            # A total that moved between pages shifted rows across page borders: one may have been missed.
            listing.steady = listing.steady and len(totals) <= 1
        return listing

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


def start_poll(
    connector: Connector, stream: StreamKind, cursor: Cursor | None, now: datetime, lookback: Lookback
) -> PollTally:
    """The tally of a poll of `stream` from `cursor`; ValueError if the stream is not enabled or `now` is naive."""
    if stream not in connector.streams:
        raise ValueError(f"stream {stream} is not enabled for this connector")
    if now.tzinfo is None:
        raise ValueError("poll needs a timezone-aware `now`")
    source, account_id = connector.marketplace.value, connector.account_id
    today = now.astimezone(KST).date()
    # The first date to read: the cursor's less the overlap, or the backfill's on a first run; never after today.
    through = cursor_through(cursor)
    if through is None:
        if cursor is not None:
            log.warning(f"{source}.cursor_unreadable", account_id=account_id, action="backfill")
        first = min((now - lookback.backfill).astimezone(KST).date(), today)
    else:
        first = min(through.astimezone(KST).date() - lookback.overlap, today)
    return PollTally(source, account_id, stream, first, today - lookback.recheck, today)
