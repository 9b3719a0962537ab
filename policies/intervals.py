"""Time intervals in the Alertmanager shape, evaluated per local date in one IANA zone, and work-time arithmetic.

Semantics worth knowing before reading the code:
- Ranges are half-open [start, end) on the local wall clock; "24:00" is a legal end, "22:00-00:00" ends at midnight.
- A range over midnight ("22:00-02:00") belongs to the day it STARTS: its part after midnight is governed by the
  previous day's weekday, date, month, year and closed-day filters. Friday 22:00-02:00 therefore runs into Saturday
  even when the spec says weekdays = ["monday:friday"].
- Within a spec the given fields must all match; elements of one field are alternatives; an absent field matches all.
- A schedule with `exclude_closed_days=True` (work hours) gets nothing from a day the calendar marks closed; a range
  that started the evening before still runs past midnight into it, by the rule above.
- A wall time that a DST jump skips maps to the jump itself; in a repeated hour a wall time means its first occurrence.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from policies.calendar import Calendar
from policies.intervals_parse import (
    MINUTES_PER_DAY,
    IntervalError,
    items_of,
    parse_days_of_month,
    parse_flag,
    parse_months,
    parse_time_range,
    parse_weekdays,
    parse_years,
)

__all__ = [
    "HORIZON_DAYS",
    "IntervalError",
    "IntervalSpec",
    "Schedule",
    "TimeInterval",
    "TimeRange",
    "add_work_time",
    "parse_interval",
    "work_time_between",
]

HORIZON_DAYS = 400
_SPEC_KEYS = ("times", "weekdays", "days_of_month", "months", "years", "closed_days")
_ONE_DAY = timedelta(days=1)
_US = timedelta(microseconds=1)
_US_PER_S = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A daemon touches a few hundred dates; the bound only stops a long-lived process from growing without limit.
_DAY_CACHE_MAX = 4096

_T = TypeVar("_T")
Spans = tuple[tuple[int, int], ...]  # [start, end) in microseconds since the epoch, sorted, disjoint


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Minutes [start_min, end_min) after local midnight; an end below the start runs over midnight."""

    start_min: int
    end_min: int

    def __post_init__(self) -> None:
        valid = 0 <= self.start_min < MINUTES_PER_DAY and 0 < self.end_min <= MINUTES_PER_DAY
        if not valid or self.start_min == self.end_min:
            raise ValueError(f"not a time range: {self.start_min}..{self.end_min} minutes")

    @property
    def crosses_midnight(self) -> bool:
        """True for a range such as 22:00-02:00."""
        return self.end_min < self.start_min


@dataclass(frozen=True, slots=True)
class IntervalSpec:
    """One Alertmanager time-interval spec; None means the field was left out and matches everything."""

    times: tuple[TimeRange, ...] | None = None
    weekdays: frozenset[int] | None = None  # date.weekday() numbers: Monday 0 .. Sunday 6
    days_of_month: tuple[tuple[int, int], ...] | None = None  # inclusive; negative counts from the month's end
    months: frozenset[int] | None = None
    years: tuple[tuple[int, int], ...] | None = None  # inclusive
    closed_days: bool = False

    def matches_day(self, day: date, calendar: Calendar) -> bool:
        """True when every day filter given (weekday, day of month, month, year, closed day) accepts the date."""
        if self.weekdays is not None and day.weekday() not in self.weekdays:
            return False
        if self.months is not None and day.month not in self.months:
            return False
        if self.years is not None and not any(first <= day.year <= last for first, last in self.years):
            return False
        if self.days_of_month is not None and not _day_of_month_matches(self.days_of_month, day):
            return False
        return not self.closed_days or calendar.is_closed(day)

    def own_minutes(self) -> list[tuple[int, int]]:
        """Minute ranges on a matching day itself; a range over midnight is cut at 24:00."""
        if self.times is None:
            return [(0, MINUTES_PER_DAY)]
        return [(r.start_min, MINUTES_PER_DAY if r.crosses_midnight else r.end_min) for r in self.times]

    def carried_minutes(self) -> list[tuple[int, int]]:
        """Minute ranges on the day after a matching day: the after-midnight parts of ranges over midnight."""
        return [(0, r.end_min) for r in self.times or () if r.crosses_midnight]


def _day_of_month_matches(ranges: tuple[tuple[int, int], ...], day: date) -> bool:
    length = monthrange(day.year, day.month)[1]
    for first, last in ranges:
        low = first if first > 0 else length + first + 1
        high = last if last > 0 else length + last + 1
        # As Alertmanager: "31" names no day of a 30-day month, and "1:31" stops at the month's end.
        if low <= length and max(low, 1) <= day.day <= min(high, length):
            return True
    return False


@dataclass(frozen=True, slots=True)
class TimeInterval:
    """A named interval: it matches when any of its specs matches."""

    name: str
    specs: tuple[IntervalSpec, ...]


def parse_interval(name: str, specs: Sequence[Mapping[str, Any]]) -> TimeInterval:
    """Build a named interval from Alertmanager-style spec tables; IntervalError.path names the bad sub-key."""
    if not isinstance(name, str) or not name.strip():
        raise IntervalError("name", "an interval needs a non-empty name")
    if isinstance(specs, list | tuple) and not specs:
        raise IntervalError("time_intervals", "an interval needs at least one spec ({} matches all the time)")
    return TimeInterval(name.strip(), tuple(_parse_spec(raw, path) for path, raw in items_of(specs, "time_intervals")))


def _parse_spec(raw: object, path: str) -> IntervalSpec:
    if not isinstance(raw, Mapping):
        raise IntervalError(path, f"must be a table with some of: {', '.join(_SPEC_KEYS)}")
    unknown = sorted(str(key) for key in raw if key not in _SPEC_KEYS)
    if unknown:
        raise IntervalError(f"{path}.{unknown[0]}", f"unknown key '{unknown[0]}'; expected {', '.join(_SPEC_KEYS)}")

    def given(key: str, parse: Callable[[object, str], _T]) -> _T | None:
        return None if key not in raw else parse(raw[key], f"{path}.{key}")

    return IntervalSpec(
        times=given("times", _parse_times),
        weekdays=given("weekdays", parse_weekdays),
        days_of_month=given("days_of_month", parse_days_of_month),
        months=given("months", parse_months),
        years=given("years", parse_years),
        closed_days=given("closed_days", parse_flag) or False,
    )


def _parse_times(value: object, path: str) -> tuple[TimeRange, ...]:
    return tuple(TimeRange(*parse_time_range(item, item_path)) for item_path, item in items_of(value, path))


class Schedule:
    """The union of some time intervals in one zone, with a calendar of closed days; every result is aware."""

    def __init__(
        self,
        intervals: Sequence[TimeInterval],
        zone: ZoneInfo,
        calendar: Calendar,
        *,
        exclude_closed_days: bool = False,
    ) -> None:
        # True for work hours (a holiday has none); False for quiet hours, where a holiday is added through a
        # closed_days spec and must never be taken away.
        self.intervals = tuple(intervals)
        self.zone = zone
        self.calendar = calendar
        self.exclude_closed_days = exclude_closed_days
        self._specs = tuple(spec for interval in self.intervals for spec in interval.specs)
        self._days: dict[date, Spans] = {}

    @property
    def has_spans(self) -> bool:
        """False when no interval gives any time (no quiet hours set): every instant lies outside."""
        return bool(self._specs)

    def __repr__(self) -> str:
        names = ", ".join(interval.name for interval in self.intervals)
        return f"Schedule([{names}], {self.zone.key}, exclude_closed_days={self.exclude_closed_days})"

    def contains(self, at: datetime) -> bool:
        """True when the aware instant `at` lies inside the schedule."""
        if not self._specs:  # e.g. no quiet hours at all: the cheapest answer, asked for every alert
            return False
        now = self._to_us(at)
        return any(start <= now < end for start, end in self._day(self._local_date(at)))

    def span_start(self, at: datetime) -> datetime | None:
        """Start of the span containing `at` (walking back across midnights); None when `at` is outside."""
        if not self._specs:
            return None
        now = self._to_us(at)
        day = self._local_date(at)
        start = next((s for s, e in self._day(day) if s <= now < e), None)
        if start is None:
            return None
        for _ in range(HORIZON_DAYS):
            day -= _ONE_DAY
            before = next((s for s, e in self._day(day) if e == start), None)
            if before is None:
                break
            start = before
        return self._to_dt(start)

    def spans(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The maximal spans inside [start, end), merged across midnight and across specs, in the schedule zone."""
        low, high = self._to_us(start), self._to_us(end)
        last_day = self._local_date(end)
        merged: list[list[int]] = []
        for day, pieces in self._days_around(start):
            if day > last_day:
                break
            for piece_start, piece_end in pieces:
                begin, finish = max(piece_start, low), min(piece_end, high)
                if begin >= finish:
                    continue
                if merged and begin <= merged[-1][1]:
                    merged[-1][1] = max(merged[-1][1], finish)
                else:
                    merged.append([begin, finish])
        return [(self._to_dt(begin), self._to_dt(finish)) for begin, finish in merged]

    def span_end(self, at: datetime) -> datetime | None:
        """End of the span containing `at`; None when `at` is outside or the span outlasts the search horizon."""
        now = self._to_us(at)
        for start, end in self._merged_after(at):
            if end is None or end > now:
                return self._to_dt(end) if end is not None and start <= now else None
        return None

    def next_start(self, at: datetime) -> datetime | None:
        """Start of the next span beginning at or after `at`; None when none begins within the search horizon."""
        now = self._to_us(at)
        for start, _end in self._merged_after(at):
            if start >= now:
                return self._to_dt(start)
        return None

    def _merged_after(self, at: datetime) -> Iterator[tuple[int, int | None]]:
        """Merged spans from the day before `at`; the end of one still open at the horizon is unknown (None)."""
        pending: tuple[int, int] | None = None
        horizon = self._local_date(at) + timedelta(days=HORIZON_DAYS)
        for day, pieces in self._days_around(at):
            if day > horizon:
                if pending is not None:
                    yield pending if pending[1] < self._instant(day, 0) else (pending[0], None)
                return
            for start, end in pieces:
                if pending is None:
                    pending = (start, end)
                elif start <= pending[1]:
                    pending = (pending[0], max(pending[1], end))
                else:
                    yield pending
                    pending = (start, end)

    def _days_around(self, at: datetime) -> Iterator[tuple[date, Spans]]:
        # Starting a day early keeps the walk correct where a DST change moves a day's first instant.
        day = self._local_date(at) - _ONE_DAY
        while day < date.max:
            yield day, self._day(day)
            day += _ONE_DAY

    def _day(self, day: date) -> Spans:
        spans = self._days.get(day)
        if spans is None:
            if len(self._days) >= _DAY_CACHE_MAX:
                self._days.clear()
            spans = self._days[day] = self._build_day(day)
        return spans

    def _build_day(self, day: date) -> Spans:
        yesterday = day - _ONE_DAY
        today_counts = not (self.exclude_closed_days and self.calendar.is_closed(day))
        yesterday_counts = not (self.exclude_closed_days and self.calendar.is_closed(yesterday))
        minutes: list[tuple[int, int]] = []
        for spec in self._specs:
            if today_counts and spec.matches_day(day, self.calendar):
                minutes.extend(spec.own_minutes())
            carried = spec.carried_minutes()
            if carried and yesterday_counts and spec.matches_day(yesterday, self.calendar):
                minutes.extend(carried)
        instants = sorted((self._instant(day, first), self._instant(day, last)) for first, last in minutes)
        merged: list[tuple[int, int]] = []
        for start, end in instants:
            if start >= end:  # a range that lies wholly inside a DST gap has no real time
                continue
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return tuple(merged)

    def _instant(self, day: date, minute: int) -> int:
        """Microseconds since the epoch of a local wall time; minute 1440 is the next day's midnight."""
        if minute == MINUTES_PER_DAY:
            day, minute = day + _ONE_DAY, 0
        wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        reading = self._to_us(wall)
        if datetime.fromtimestamp(reading // _US_PER_S, self.zone).replace(tzinfo=None) == wall.replace(tzinfo=None):
            return reading
        # The wall time falls in a DST gap: fold=1 reads it before the jump, fold=0 after. Find the jump itself.
        before, after = self._to_us(wall.replace(fold=1)) // _US_PER_S, reading // _US_PER_S
        offset_after = datetime.fromtimestamp(after, self.zone).utcoffset()
        while after - before > 1:
            middle = (before + after) // 2
            if datetime.fromtimestamp(middle, self.zone).utcoffset() == offset_after:
                after = middle
            else:
                before = middle
        return after * _US_PER_S

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    @staticmethod
    def _to_us(at: datetime) -> int:
        if at.utcoffset() is None:
            raise ValueError(f"expected a timezone-aware datetime, got {at!r}")
        return (at - _EPOCH) // _US

    def _to_dt(self, us: int) -> datetime:
        seconds, micro = divmod(us, _US_PER_S)
        return datetime.fromtimestamp(seconds, self.zone).replace(microsecond=micro)


def add_work_time(schedule: Schedule, start: datetime, duration: timedelta) -> datetime:
    """The instant at which `duration` of schedule time has passed since `start`; never strictly inside closed time."""
    if duration < timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    now = schedule._to_us(start)
    left = duration // _US
    idle_days = 0
    for _day, pieces in schedule._days_around(start):
        # Give up only after HORIZON_DAYS in a row without schedule time, so long targets on sparse schedules work.
        idle_days = 0 if pieces else idle_days + 1
        if idle_days > HORIZON_DAYS:
            break
        for piece_start, piece_end in pieces:
            if piece_end <= now:
                continue
            begin = max(piece_start, now)
            if piece_end - begin >= left:  # ">=": a target that uses up a span ends at the span's end
                return schedule._to_dt(begin + left)
            left -= piece_end - begin
    raise ValueError(f"{schedule!r} has no time in the {HORIZON_DAYS} days after {start.isoformat()}")


def work_time_between(schedule: Schedule, start: datetime, end: datetime) -> timedelta:
    """Schedule time inside [start, end); zero when `end` is not after `start`."""
    low, high = schedule._to_us(start), schedule._to_us(end)
    last_day = schedule._local_date(end)
    total = 0
    for day, pieces in schedule._days_around(start):
        if day > last_day or high <= low:
            break
        total += sum(max(0, min(end_us, high) - max(start_us, low)) for start_us, end_us in pieces)
    return timedelta(microseconds=total)
