"""What the hours page shows and takes, without HTTP: the week grid read from the running settings, the form turned
back into the hours strings the config takes, the coming days as the policies see them, and the change preview.

The grid holds what a seller thinks in: for each weekday, the ranges that START that day (22:00-09:00 runs into the
next morning, as the policies read it). It is derived from the built schedule, not from the strings, so an interval
name ("night", a `[[time_intervals]]` entry) shows as the hours it means. Items that are not a plain weekly pattern
(closed days, dates, months) cannot live in a week grid: they are kept as they are; "closed-days" is the checkbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import tomlkit

from aggregator.settings import Settings
from aggregator.settings.editing import Ranges, clock_text, range_text, week_hours
from aggregator.settings.hours import parse_hours
from aggregator.settings.policy import BUILTIN_INTERVALS, build_schedule
from policies import Policies
from policies.calendar import Calendar
from policies.intervals import IntervalError, Schedule, parse_interval
from policies.intervals_parse import MINUTES_PER_DAY, parse_clock

WEEKDAYS = "월화수목금토일"
CLOSED_DAYS = "closed-days"
KINDS = ("quiet", "work")
_REFERENCE_MONDAY = date(2024, 1, 1)  # any Monday: the grid is read on an empty calendar, so no holiday interferes
_NO_HOLIDAYS = Calendar(country=None)
Pieces = tuple[tuple[int, int], ...]  # minute ranges on one day, 0..1440, as its bar draws them


class FormError(ValueError):
    """A range on the form that is not a time range; the message is the Korean line the page shows."""


@dataclass(frozen=True, slots=True)
class Hours:
    """Quiet and work hours as the page edits them."""

    quiet: tuple[Ranges, ...]  # seven days, Monday first
    work: tuple[Ranges, ...]
    closed_days_quiet: bool  # "closed-days": holidays and vacations quiet all day
    kept_quiet: tuple[str, ...] = ()  # items no week grid can hold, written back unchanged
    kept_work: tuple[str, ...] = ()

    def items(self) -> tuple[list[str], list[str]]:
        """(quiet_hours, work_hours) as the config file takes them."""
        quiet = week_hours(self.quiet) + list(self.kept_quiet)
        if self.closed_days_quiet:
            quiet.append(CLOSED_DAYS)
        return quiet, week_hours(self.work) + list(self.kept_work)

    def config_lines(self) -> list[str]:
        """The two lines the config file will have."""
        quiet, work = self.items()
        return tomlkit.dumps({"quiet_hours": quiet, "work_hours": work}).splitlines()


def _weekly(item: str, settings: Settings) -> bool:
    """Whether the item is a plain weekly pattern (weekdays and times only), which the grid can hold."""
    known = {i.name: i for i in BUILTIN_INTERVALS} | {i.name: i for i in settings.time_intervals}
    try:
        interval = known[item].build() if item in known else parse_interval(item, [parse_hours(item) or {}])
    except IntervalError:
        return False
    return all(
        s.days_of_month is None and s.months is None and s.years is None and not s.closed_days for s in interval.specs
    )


def day_pieces(schedule: Schedule, day: date) -> Pieces:
    """The minutes of `day` inside the schedule (a range from the evening before shows from 00:00)."""
    start = datetime.combine(day, time(0), tzinfo=schedule.zone)
    return tuple(
        (int((s - start).total_seconds()) // 60, int((e - start).total_seconds()) // 60)
        for s, e in schedule.spans(start, start + timedelta(days=1))
    )


def week_ranges(schedule: Schedule) -> tuple[Ranges, ...]:
    """Each weekday's ranges as started that day: a day ending at 24:00 and the next starting at 00:00 join into
    one range over midnight (22:00-09:00) when the morning part ends before the evening part starts."""
    pieces = [list(day_pieces(schedule, _REFERENCE_MONDAY + timedelta(days=d))) for d in range(7)]
    week: list[list[tuple[int, int]]] = [list(p) for p in pieces]
    for day in range(7):
        after = (day + 1) % 7
        if not pieces[day] or not pieces[after]:
            continue
        (evening_start, evening_end), (morning_start, morning_end) = pieces[day][-1], pieces[after][0]
        if evening_end == MINUTES_PER_DAY and morning_start == 0 and 0 < morning_end < evening_start:
            week[day][week[day].index((evening_start, evening_end))] = (evening_start, morning_end)
            week[after].remove((0, morning_end))
    return tuple(tuple(sorted(ranges)) for ranges in week)


def current_hours(settings: Settings) -> Hours:
    """The running settings' quiet and work hours as the grid shows them."""
    grids: dict[str, tuple[Ranges, ...]] = {}
    kept: dict[str, tuple[str, ...]] = {}
    for kind, items in (("quiet", settings.quiet_hours), ("work", settings.work_hours)):
        weekly = tuple(i for i in items if _weekly(i, settings))
        kept[kind] = tuple(i for i in items if i not in weekly and i != CLOSED_DAYS)
        schedule = build_schedule(weekly, settings.time_intervals, settings.zone, _NO_HOLIDAYS)
        grids[kind] = week_ranges(schedule)
    return Hours(
        quiet=grids["quiet"],
        work=grids["work"],
        closed_days_quiet=CLOSED_DAYS in settings.quiet_hours,
        kept_quiet=kept["quiet"],
        kept_work=kept["work"],
    )


def _minute(text: str, what: str) -> int:
    try:
        return parse_clock(text, what, what)
    except IntervalError:
        raise FormError(f"{text!r}: 09:00 처럼 시:분으로 적어 주세요 (끝은 24:00까지)") from None


def _day_ranges(starts: Sequence[str], ends: Sequence[str], label: str) -> Ranges:
    ranges = []
    for start_text, end_text in zip(starts, ends, strict=False):
        start_text, end_text = start_text.strip(), end_text.strip()
        if not start_text and not end_text:
            continue
        if not start_text or not end_text:
            raise FormError(f"{label}: 시작과 끝을 모두 적어 주세요")
        start, end = _minute(start_text, "start"), _minute(end_text, "end") or MINUTES_PER_DAY
        if start == MINUTES_PER_DAY:
            raise FormError(f"{label}: 24:00은 끝에만 씁니다. 00:00으로 적어 주세요")
        if start == end:
            raise FormError(f"{label}: {start_text}-{end_text}는 시작과 끝이 같습니다 (하루 종일은 00:00-24:00)")
        ranges.append((start, end))
    return tuple(sorted(set(ranges)))


def hours_from_form(form: Mapping[str, Sequence[str]], current: Hours) -> Hours:
    """The hours the page's form gives (fields `quiet-0-start`, `quiet-0-end`, ... per weekday); what the grid
    cannot show is kept from `current`. Raises FormError with the first problem."""
    weeks: dict[str, tuple[Ranges, ...]] = {}
    for kind in KINDS:
        label = "조용한 시간" if kind == "quiet" else "업무시간"
        weeks[kind] = tuple(
            _day_ranges(form.get(f"{kind}-{d}-start", ()), form.get(f"{kind}-{d}-end", ()), f"{WEEKDAYS[d]} {label}")
            for d in range(7)
        )
    return Hours(
        quiet=weeks["quiet"],
        work=weeks["work"],
        closed_days_quiet=bool(form.get("closed-days")),
        kept_quiet=current.kept_quiet,
        kept_work=current.kept_work,
    )


@dataclass(frozen=True, slots=True)
class WeekdayChange:
    """One weekday in the preview: its ranges before and after."""

    weekday: str
    quiet_before: str
    quiet_after: str
    work_before: str
    work_after: str

    @property
    def changed(self) -> bool:
        """Whether anything on this weekday changes."""
        return (self.quiet_before, self.work_before) != (self.quiet_after, self.work_after)


def week_changes(before: Hours, after: Hours) -> list[WeekdayChange]:
    """Monday to Sunday, old and new ranges in words."""
    none = "없음"
    return [
        WeekdayChange(
            WEEKDAYS[d],
            range_text(before.quiet[d]) or none,
            range_text(after.quiet[d]) or none,
            range_text(before.work[d]) or none,
            range_text(after.work[d]) or none,
        )
        for d in range(7)
    ]


@dataclass(frozen=True, slots=True)
class DayRow:
    """One of the coming days as the policies see it."""

    day: date
    weekday: str
    name: str | None  # the holiday's name, "휴가" (with its note), or None on an open day
    closed: bool
    quiet: Pieces
    work: Pieces

    @property
    def all_quiet(self) -> bool:
        """Quiet the whole day."""
        return self.quiet == ((0, MINUTES_PER_DAY),)

    @property
    def quiet_text(self) -> str:
        """`00:00–09:00, 22:00–24:00`."""
        return pieces_text(self.quiet)

    @property
    def work_text(self) -> str:
        """`13:00–18:00`."""
        return pieces_text(self.work)


def pieces_text(pieces: Pieces) -> str:
    """Minute ranges of one day in words."""
    return ", ".join(f"{clock_text(s)}–{clock_text(e)}" for s, e in pieces)


def coming_days(policies: Policies, start: date, days: int, notes: Mapping[date, str]) -> list[DayRow]:
    """`days` days from `start`: holidays and vacations named (a vacation with its note), quiet and work hours."""
    rows = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        name = policies.calendar.holiday_name(day)
        if name is not None and notes.get(day):
            name = f"{name} · {notes[day]}"
        rows.append(
            DayRow(
                day=day,
                weekday=WEEKDAYS[day.weekday()],
                name=name,
                closed=policies.calendar.is_closed(day),
                quiet=day_pieces(policies.quiet, day),
                work=day_pieces(policies.work, day),
            )
        )
    return rows


def week_bars(hours: Hours, settings: Settings) -> list[tuple[Pieces, Pieces]]:
    """Each weekday's (quiet, work) minutes as its bar draws them, from the hours as they would be written."""
    quiet_items, work_items = hours.items()
    quiet = build_schedule(tuple(quiet_items), settings.time_intervals, settings.zone, _NO_HOLIDAYS)
    work = build_schedule(tuple(work_items), settings.time_intervals, settings.zone, _NO_HOLIDAYS)
    return [
        (day_pieces(quiet, _REFERENCE_MONDAY + timedelta(days=d)), day_pieces(work, _REFERENCE_MONDAY + timedelta(d)))
        for d in range(7)
    ]
