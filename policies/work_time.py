"""Schedule arithmetic for many points at once: the SLA timer's own-target clocks and evening warnings
(policies/sla.py).

`add_work_time` (policies/intervals.py) walks a schedule day by day from a start. A re-plan asks that for
every open inquiry and each of its own-target points; `add_work_times` walks once for all the points of one
start, and `WorkTimeline` lays the schedule's pieces out once and answers each start by bisection. Both give
exactly `add_work_time`'s instants (tests/policies/test_sla_planner.py), in the zone of the start.
`SpanTimeline` does the same for `Schedule.span_start` (where the quiet period a deadline falls in began).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from core.instants import from_us, to_us
from policies.intervals import HORIZON_DAYS, Schedule

__all__ = ["SpanTimeline", "WorkTimeline", "add_work_times"]

_ONE_DAY = timedelta(days=1)
_US = timedelta(microseconds=1)
_US_PER_S = 1_000_000


def add_work_times(schedule: Schedule, start: datetime, durations: Sequence[timedelta]) -> list[datetime]:
    """`add_work_time` of each of `durations` (sorted ascending) in one walk: the same instants, in that order.

    They come in the zone of `start`, not the schedule's: the timer compares them with the marketplace clock's
    instants, and an aware comparison across two zones costs twenty times one within a zone.
    """
    wanted = [duration // _US for duration in durations]
    if wanted != sorted(wanted):
        raise ValueError(f"durations must be sorted ascending, got {[str(d) for d in durations]}")
    if wanted and wanted[0] < 0:
        raise ValueError(f"duration must not be negative, got {durations[0]}")
    found: list[datetime] = []
    if not wanted:
        return found
    now = schedule._to_us(start)
    zone = start.tzinfo
    used = 0  # schedule time between `start` and the current piece
    target = wanted[0]
    idle_days = 0
    for _day, pieces in schedule._days_around(start):
        idle_days = 0 if pieces else idle_days + 1  # as add_work_time: give up after HORIZON_DAYS idle days in a row
        if idle_days > HORIZON_DAYS:
            break
        for piece_start, piece_end in pieces:
            if piece_end <= now:
                continue
            begin = max(piece_start, now)
            reach = used + piece_end - begin
            while reach >= target:  # ">=": a target that uses up a span ends at the span's end
                seconds, micro = divmod(begin + target - used, _US_PER_S)
                found.append(datetime.fromtimestamp(seconds, zone).replace(microsecond=micro))
                if len(found) == len(wanted):
                    return found
                target = wanted[len(found)]
            used = reach
    raise ValueError(f"{schedule!r} has no time in the {HORIZON_DAYS} days after {start.isoformat()}")


class _Stretch:
    """A stretch of a schedule's days laid out for bisection, re-laid around a start that falls near or outside it.

    Checked on instants, not local dates: a date conversion per call cost more than the bisection. A new stretch
    begins four days before the start's local date: the walk's first day (the day before) is in, and the stretch's
    first midnight lies more than _BEHIND before the start, so the next start nearby fits."""

    AHEAD_DAYS = 40  # how far past a start the stretch reaches: own targets are hours or days of work time
    _AHEAD = timedelta(days=AHEAD_DAYS) // _US
    _BEHIND = timedelta(days=3) // _US  # the walk starts the day before the start's local date: 26 h back at most

    def __init__(self, schedule: Schedule) -> None:
        self._schedule = schedule
        self._low = self._high = 0  # the stretch as instants (µs): its first day's midnight, its last day's

    def _around(self, now: int) -> None:
        """Make the stretch cover `now` (µs) with room on both sides."""
        if now - self._BEHIND < self._low or now + self._AHEAD > self._high:
            self._cover(self._schedule._local_date(from_us(now)) - 4 * _ONE_DAY)

    def _cover(self, day: date) -> None:
        raise NotImplementedError


class WorkTimeline(_Stretch):
    """A schedule's pieces laid end to end over a stretch of days, with the schedule time before each one: the
    instants of `add_work_times` by bisection instead of a walk, for a caller that asks for many starts (a re-plan
    of 100,000 own-target clocks). Anything outside the stretch, or far off, is left to the walk."""

    FAR = timedelta(days=300) // _US  # beyond this the walk decides (its horizon counts idle days in a row)

    def __init__(self, schedule: Schedule) -> None:
        super().__init__(schedule)
        self._first = self._last = date.max  # the stretch of days covered, inclusive (empty: first > last)
        self._starts: list[int] = []
        self._through: list[int] = []  # schedule time from the stretch's first piece to the end of each piece
        self._ends: list[int] = []

    def add(self, start: datetime, durations: Sequence[timedelta]) -> list[datetime]:
        """`add_work_times(schedule, start, durations)`, the same instants in the zone of `start`."""
        wanted = [duration // _US for duration in durations]
        if not wanted or wanted[0] < 0 or wanted != sorted(wanted):
            return add_work_times(self._schedule, start, durations)  # the walk's answer, or its refusal
        return self.add_us(start, wanted)

    def add_us(self, start: datetime, wanted: list[int]) -> list[datetime]:
        """`add`, with the durations as microseconds, already sorted and not negative (the caller's hot path)."""
        found = self._instants(self._schedule._to_us(start), wanted)
        if found is None:
            return self._walk(start, wanted)
        zone = start.tzinfo
        if zone is UTC:  # the store's times: exact, and no fold to mind
            return [from_us(at) for at in found]
        return [datetime.fromtimestamp(at // _US_PER_S, zone).replace(microsecond=at % _US_PER_S) for at in found]

    def at_us(self, start: int, spent: int, *, start_at: datetime | None = None) -> int:
        """One instant of `add_us`, microseconds in and out: the re-plan's fast path (policies/sla.py). Where the
        walk must decide, it walks from `start_at` (the same instant as `start`, in the caller's zone, so that a
        refusal reads as the plan's) or else from `start` in UTC."""
        found = self._instants(start, [spent])
        if found is None:
            return to_us(self._walk(start_at or from_us(start), [spent])[0])
        return found[0]

    def _instants(self, now: int, wanted: list[int]) -> list[int] | None:
        """The instants (µs) `wanted` µs of schedule time after `now`, by bisection; None where the walk decides."""
        self._around(now)
        first = bisect_right(self._ends, now)  # the first piece that ends after `start`, as in the walk
        if first == len(self._ends):
            return None
        begin = self._starts[first]
        offset = self._through[first] - (self._ends[first] - begin) + max(0, now - begin)  # time before `start`
        found: list[int] = []
        for duration in wanted:
            position = offset + duration
            piece = bisect_left(self._through, position, lo=first)  # ">=": a target using up a piece ends at its end
            if piece == len(self._through):
                return None
            at = self._ends[piece] - (self._through[piece] - position)
            if at - now > self.FAR:
                return None
            found.append(at)
        return found

    def _walk(self, start: datetime, wanted: list[int]) -> list[datetime]:
        return add_work_times(self._schedule, start, [timedelta(microseconds=us) for us in wanted])

    def _cover(self, day: date) -> None:
        """Lay out the pieces from `day` (or the stretch's first day, if earlier) to 2 x AHEAD_DAYS past it."""
        first = min(day, self._first)
        last = max(day + timedelta(days=2 * self.AHEAD_DAYS), self._last if self._last != date.max else day)
        starts, ends, through = [], [], []
        total = 0
        current = first
        while current <= last:
            for piece_start, piece_end in self._schedule._day(current):
                total += piece_end - piece_start
                starts.append(piece_start)
                ends.append(piece_end)
                through.append(total)
            current += _ONE_DAY
        self._first, self._last = first, last
        self._low, self._high = self._schedule._instant(first, 0), self._schedule._instant(last, 0)
        self._starts, self._ends, self._through = starts, ends, through


class SpanTimeline(_Stretch):
    """A schedule's spans laid out over a stretch of days, each with the start of the run it belongs to (spans
    touching across midnight, as `Schedule.span_start` walks back): that start by bisection, in microseconds, for
    a caller asking for many instants (a re-plan: one evening warning per open inquiry). What the stretch cannot
    tell (a run from before it, or longer than the walk goes) is asked of the schedule."""

    def __init__(self, schedule: Schedule) -> None:
        super().__init__(schedule)
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._runs: list[int | None] = []  # the start of each span's run; None: the schedule's walk decides

    def span_start_us(self, at: int) -> int | None:
        """`Schedule.span_start` of the instant `at` (µs), as µs: None when `at` lies outside every span."""
        if not self._schedule.has_spans:
            return None
        self._around(at)
        span = bisect_right(self._starts, at) - 1
        if span < 0 or at >= self._ends[span]:
            return None
        run = self._runs[span]
        if run is None:
            found = self._schedule.span_start(from_us(at))
            return None if found is None else to_us(found)
        return run

    def instant(self, at: int) -> datetime:
        """The instant `at` (µs) as `Schedule.span_start` gives it: in the schedule's zone."""
        return self._schedule._to_dt(at)

    def _cover(self, day: date) -> None:
        """Lay out the spans from `day` to 2 x AHEAD_DAYS past it. Within a day they are merged already, so two
        touching spans are the end of one day and the start of the next: one run."""
        last = day + timedelta(days=2 * self.AHEAD_DAYS)
        starts: list[int] = []
        ends: list[int] = []
        runs: list[int | None] = []
        lengths: list[int] = []  # midnights each run crossed: the walk gives up after HORIZON_DAYS
        current = day
        while current <= last:
            for start, end in self._schedule._day(current):
                if ends and ends[-1] == start:
                    length = lengths[-1] + 1
                    run = runs[-1] if length <= HORIZON_DAYS else None
                else:
                    # The stretch's first span may go on from the day before it: the walk decides.
                    length, run = 0, None if not starts and current == day else start
                starts.append(start)
                ends.append(end)
                runs.append(run)
                lengths.append(length)
            current += _ONE_DAY
        self._low, self._high = self._schedule._instant(day, 0), self._schedule._instant(last, 0)
        self._starts, self._ends, self._runs = starts, ends, runs
