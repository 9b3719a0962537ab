"""One poll's bookkeeping, shared by every marketplace connector: its dates, windows and pages, and its tally.

A poll is quick or a sweep. A quick poll makes one pass: the unanswered rows over the quick window, the dates one
request may ask about (within the recheck range) up to today. Its rows are both the new inquiries and the open
snapshot of that window: a stored open inquiry received there and absent from them was answered. A sweep, due every
`sweep` (an hour by default) and on a first poll, makes two: every row over [last sweep's date - overlap, today]
(widened to the quick window: inquiries answered before inqd saw them, and the marketplace's answer times of those
quick polls closed), and the unanswered ones over [today - recheck, today] (open inquiries older than the quick
window). The cursor keeps the last sweep's time. So an inquiry received in the quick window shows up, and is seen
answered, within one poll interval; one answered before a poll saw it open, or older than the quick window, within a
sweep period plus a poll interval; one older than the recheck range is not rechecked.

Each pass walks date windows, and each window its pages. A window with more pages than the walk's cap is halved
(down to one date, or to `finest` within a date for APIs that take date-times) and each half read in turn; nothing
is returned, and so no cursor moves, until every window is read.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

import structlog

from connectors.base import Connector, MalformedItem
from core.models import KST, Cursor, Inquiry, OpenSnapshot, PollResult, StreamKind

log = structlog.get_logger(__name__)

# v2: {"v": 2, "swept": <the last sweep's time>}. v1 ({"v": 1, "through": <the last poll's time>}) came from polls
# that were all sweeps, so its `through` is read as `swept`.
CURSOR_VERSION = 2
DEFAULT_SWEEP = timedelta(hours=1)
ONE_DAY = timedelta(days=1)
END_OF_DAY = time(23, 59, 59, 999_000)  # the last millisecond: date-time APIs take milliseconds
_truncation_logged: set[tuple[str, str, str]] = set()


def enabled_streams(streams: Sequence[StreamKind], known: Iterable[StreamKind]) -> tuple[StreamKind, ...]:
    """`streams` as a tuple; ValueError unless they are distinct and every one is among `known`."""
    known = tuple(known)
    if not streams or len(set(streams)) != len(streams) or not set(streams) <= set(known):
        raise ValueError(f"streams must be distinct and among {', '.join(known)}")
    return tuple(streams)


@dataclass(frozen=True, slots=True)
class Lookback:
    """How far back a connector reads: `backfill` on a first run, `overlap` before its last sweep, `recheck` open
    ids; and how often it sweeps (`sweep`)."""

    backfill: timedelta
    overlap: timedelta
    recheck: timedelta
    sweep: timedelta = DEFAULT_SWEEP

    @classmethod
    def of_days(cls, backfill_days: int, overlap_days: int, recheck_days: int, sweep_minutes: float = 60.0) -> Lookback:
        """The lookback a connector is configured with; ValueError if any part is negative or the sweep is not."""
        if min(backfill_days, overlap_days, recheck_days) < 0:
            raise ValueError("backfill_days, overlap_days and recheck_days must not be negative")
        if not sweep_minutes > 0:
            raise ValueError("sweep_minutes must be positive")
        days = (timedelta(days=backfill_days), timedelta(days=overlap_days), timedelta(days=recheck_days))
        return cls(*days, sweep=timedelta(minutes=sweep_minutes))


@dataclass(frozen=True, slots=True)
class DateWindow:
    """An inclusive range of local calendar dates, as the marketplaces' `yyyy-MM-dd` parameters take it.

    A window split within one date (only for an API that takes date-times) keeps that date as `start` and `end`
    and its part of the day as `since`..`until` (KST, both inclusive); a window of whole dates spans the day.
    """

    start: date
    end: date
    since: time = time.min
    until: time = END_OF_DAY


def split_window(window: DateWindow, *, finest: timedelta = ONE_DAY) -> tuple[DateWindow, DateWindow] | None:
    """`window` halved, or None if it is no wider than `finest` (one date for APIs that take dates only).

    Dates halve into two runs of whole dates; one date (when `finest` is under a day) into two parts of the day
    that share their middle instant, so a row there is read twice (the walk's readers dedup) and none falls between
    whether the API reads the end as inclusive or exclusive.
    """
    if window.start < window.end:
        first_end = window.start + timedelta(days=((window.end - window.start).days + 1) // 2 - 1)
        return DateWindow(window.start, first_end), DateWindow(first_end + ONE_DAY, window.end)
    since, until = datetime.combine(window.start, window.since), datetime.combine(window.start, window.until)
    if finest >= ONE_DAY or until - since <= finest:
        return None
    # Whole seconds, rounded up, so that both halves are narrower than the window (its `since` is a whole second).
    middle = since + timedelta(seconds=math.ceil((until - since).total_seconds() / 2))
    return (
        DateWindow(window.start, window.start, window.since, middle.time()),
        DateWindow(window.start, window.start, middle.time(), window.until),
    )


def date_windows(first: date, last: date, *, max_days: int) -> Iterator[DateWindow]:
    """Split [first, last] (inclusive) into consecutive windows of at most `max_days` calendar dates."""
    if max_days < 1:
        raise ValueError("max_days must be at least 1")
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=max_days - 1))
        yield DateWindow(start, end)
        start = end + timedelta(days=1)


def cursor_swept(cursor: Cursor | None) -> datetime | None:
    """The last sweep's time in a cursor `PollTally.result` wrote (v2, or v1's `through`), None if none we trust."""
    version = cursor.get("v") if cursor is not None else None
    key = "swept" if version == CURSOR_VERSION else "through" if version == 1 else None
    if cursor is None or key is None or not isinstance(cursor.get(key), str):
        return None
    try:
        swept = datetime.fromisoformat(cursor[key])
    except ValueError:
        return None
    return swept if swept.tzinfo is not None else None


class Passes(NamedTuple):
    """The date ranges of one poll's passes: every status from `changed_first` (None on a quick poll: no such
    pass), and unanswered-only from `open_first`, whose rows are the open snapshot (and a quick poll's inquiries)."""

    changed_first: date | None
    open_first: date
    quick_first: date  # the quick window's first date (a first poll also takes in the open rows from there on)


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
    """One poll of a stream: quick or a sweep, the KST dates it reads, its counters, and its bookkeeping.

    A sweep reads rows received over [first, today] for new and changed inquiries, the unanswered ones over
    [recheck_first, today] for the ids still open; a quick poll the unanswered ones of its quick window (`passes`).
    `swept` is the last sweep's time (None before the first). Events go under the connector's own names: `source`
    prefixes every one ("coupang" -> "coupang.item_skipped").
    """

    source: str
    account_id: str
    stream: StreamKind
    first: date
    recheck_first: date
    today: date
    sweep: bool = True
    swept: datetime | None = None
    requests: int = 0
    skipped: int = 0
    # Rows `normalize` skipped: a quick poll's rows are also its snapshot's, and a broken row counts once.
    _skipped_rows: set[int] = field(default_factory=set)

    def passes(self, one_request_dates: int) -> Passes:
        """This poll's passes, for an API that lists `one_request_dates` dates in one request.

        The quick window is those dates up to today, within the recheck range. A sweep after an earlier one reads
        every status from the quick window's start at the latest, so that an inquiry a quick poll closed (at the
        poll's time) gets the marketplace's own answer time where its API gives one.
        """
        quick_first = max(self.today - timedelta(days=max(one_request_dates, 1) - 1), self.recheck_first)
        if not self.sweep:
            return Passes(None, quick_first, quick_first)
        return Passes(
            self.first if self.swept is None else min(self.first, quick_first), self.recheck_first, quick_first
        )

    async def walk(
        self,
        first: date,
        read_page: Callable[[DateWindow, int], Awaitable[Page]],
        *,
        max_days: int,
        max_pages: int,
        finest: timedelta = ONE_DAY,
        last_page_number: int | None = None,
    ) -> Listing:
        """Every row of every page (from 1) of every window of at most `max_days` dates from `first` to today.

        A window with more than `max_pages` pages is halved (`split_window` down to `finest`) and its halves read
        instead, so the page cap never refuses a backlog. A window that cannot be halved is read to the last page
        its first page announces, but not past `last_page_number` (the API's documented highest page, None if it
        documents none): rows beyond that cannot be listed at all, which is logged once and leaves the listing
        unsteady (no open snapshot is built from it).
        """
        listing = Listing()
        pending = list(date_windows(first, self.today, max_days=max_days))
        pending.reverse()  # a stack: the oldest window, then each window's earlier half, is read first
        while pending:
            window = pending.pop()
            halves = split_window(window, finest=finest)
            split_above = max_pages if halves is not None else None
            read = await self._read_window(window, read_page, split_above, max_pages, last_page_number)
            if read is None:
                assert halves is not None  # only a window that can be halved is given up on
                pending.extend(reversed(halves))
                continue
            listing.rows.extend(read.rows)
            listing.steady = listing.steady and read.steady
        return listing

    async def _read_window(
        self,
        window: DateWindow,
        read_page: Callable[[DateWindow, int], Awaitable[Page]],
        split_above: int | None,
        max_pages: int,
        last_page_number: int | None,
    ) -> Listing | None:
        """The rows of every page of `window`, or None if it has more than `split_above` pages (None: no limit)."""
        read = Listing()
        totals: set[int | None] = set()
        bound = split_above or max_pages
        page_num = 0
        while True:
            page_num += 1
            page = await read_page(window, page_num)
            if not page.rows:
                # Running dry before the last page means rows left the listing while we walked it.
                read.steady = page_num == 1
                break
            if page_num == 1:
                announced = page.total_pages
                if split_above is not None and announced is not None and announced > split_above:
                    return None  # halve at once: the halves read this page's rows again
                if split_above is None:
                    bound = _narrowest_bound(announced, max_pages, last_page_number)
            read.rows.extend(page.rows)
            totals.add(page.total_elements)
            if page.ends_walk(page_num):
                break
            if page_num >= bound:
                if split_above is not None:
                    return None  # a server without totals: found out the long way
                # The total grew while we paged (the listing moved), or the API cannot list further.
                read.steady = False
                if page.total_pages is None or page.total_pages > bound:
                    self._cannot_list_beyond(window, bound)
                break
        # A total that moved between pages shifted rows across page borders: one may have been missed.
        read.steady = read.steady and len(totals) <= 1
        return read

    def _cannot_list_beyond(self, window: DateWindow, page_num: int) -> None:
        """Log, once per stream and process, that a narrowest window holds more rows than its API can list."""
        key = (self.source, self.account_id, self.stream.value)
        if key in _truncation_logged:
            return
        _truncation_logged.add(key)
        log.warning(
            f"{self.source}.window_truncated",
            account_id=self.account_id,
            stream=self.stream.value,
            date=window.start.isoformat(),
            last_page=page_num,
            reason="rows past this page of a narrowest window cannot be listed",
        )

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
                self._skipped_rows.add(id(raw))
                continue
            inquiries.setdefault(inquiry.external_id, inquiry)
        return tuple(inquiries.values())

    def take_in(
        self, changed: Listing | None, still_open: Listing, passes: Passes, to_inquiry: Callable[[object], Inquiry]
    ) -> tuple[Inquiry, ...]:
        """The poll's inquiries: a quick poll's open rows, or a sweep's every-status rows (`changed`).

        A first poll also takes in the open rows of the quick window that its backfill did not reach, so that the
        first-connection summary holds every open inquiry a quick poll will list: one received before the backfill
        would otherwise arrive a minute later, from the first quick poll, as a push of its own.
        """
        if changed is None:
            return self.normalize(still_open.rows, to_inquiry)
        inquiries = self.normalize(changed.rows, to_inquiry)
        if self.swept is not None:
            return inquiries
        since = datetime.combine(passes.quick_first, time(), KST)
        until = datetime.combine(passes.changed_first or self.today, time(), KST)  # where the backfill began
        more: dict[str, Inquiry] = {}
        for raw in still_open.rows:
            try:
                inquiry = to_inquiry(raw)
            except MalformedItem:
                continue  # counted by open_snapshot, which reads the same rows
            if since <= inquiry.received_at < until:
                more.setdefault(inquiry.external_id, inquiry)
        return inquiries + tuple(more.values())

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
                if id(raw) not in self._skipped_rows:
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
        """The poll's result, with a cursor naming the last sweep (`now` if this is one) and this tally's counts."""
        swept = now if self.sweep or self.swept is None else self.swept
        return PollResult(
            inquiries=inquiries,
            cursor={"v": CURSOR_VERSION, "swept": swept.astimezone(UTC).isoformat()},
            skipped=self.skipped,
            requests=self.requests,
            open_snapshot=snapshot,
        )


def _narrowest_bound(announced: int | None, max_pages: int, last_page_number: int | None) -> int:
    """How far to page a window that cannot be halved: its announced last page, within the documented highest.

    A server that announces no total is paged to the documented highest page, or to the cap if none is documented.
    """
    bound = announced if announced is not None else (last_page_number or max_pages)
    return bound if last_page_number is None else min(bound, last_page_number)


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
    # The first date a sweep reads: the last sweep's less the overlap, or the backfill's on a first run; never
    # after today. A sweep is due on a first run, once `sweep` has passed, and after a clock that went back.
    swept = cursor_swept(cursor)
    if swept is None:
        if cursor is not None:
            log.warning(f"{source}.cursor_unreadable", account_id=account_id, action="backfill")
        first = min((now - lookback.backfill).astimezone(KST).date(), today)
    else:
        first = min(swept.astimezone(KST).date() - lookback.overlap, today)
    sweep = swept is None or not timedelta(0) <= now - swept < lookback.sweep
    return PollTally(source, account_id, stream, first, today - lookback.recheck, today, sweep, swept)
