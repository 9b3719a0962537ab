"""Time intervals (Alertmanager shape) and work-time arithmetic: parsing, matching, spans, add_work_time, properties."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.models import KST
from policies.calendar import Calendar, parse_dates
from policies.intervals import (
    IntervalError,
    IntervalSpec,
    Schedule,
    TimeInterval,
    TimeRange,
    add_work_time,
    parse_interval,
    work_time_between,
)

BERLIN = ZoneInfo("Europe/Berlin")
KR = Calendar()
PLAIN = Calendar(country=None)
ALL_WEEK = frozenset(range(7))


def kst(text: str) -> datetime:
    """A KST instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=KST)


def berlin(text: str) -> datetime:
    """A Europe/Berlin instant from 'YYYY-MM-DD HH:MM' (first occurrence in a repeated hour)."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=BERLIN)


def schedule(
    *specs: Mapping[str, Any], calendar: Calendar = PLAIN, zone: ZoneInfo = KST, work: bool = False
) -> Schedule:
    """A schedule of one interval made of `specs`; `work` leaves out the days the calendar marks closed."""
    return Schedule([parse_interval("test", list(specs))], zone, calendar, exclude_closed_days=work)


# The schedules the tables below refer to by name.
CS = schedule({"weekdays": ["monday:friday"], "times": ["13:00-18:00"]}, calendar=KR, work=True)
LUNCH = schedule({"weekdays": ["mon:fri"], "times": ["13:00-15:00", "16:00-18:00"]}, calendar=KR, work=True)
NINE_TO_FIVE = schedule({"weekdays": ["monday:friday"], "times": ["09:00-17:00"]}, calendar=KR, work=True)
QUIET = Schedule(
    [parse_interval("night", [{"times": ["22:00-09:00"]}]), parse_interval("closed", [{"closed_days": True}])],
    KST,
    KR,
)
ALWAYS = schedule({})
WHOLE_DAYS = schedule({"times": ["00:00-24:00"]})
WEEKEND = schedule({"weekdays": ["sat:sun"], "times": [{"start_time": "00:00", "end_time": "24:00"}]})
FRIDAY_NIGHT = schedule({"weekdays": ["friday"], "times": ["22:00-02:00"]})
FRIDAY_NIGHT_WORK = schedule(
    {"weekdays": ["friday"], "times": ["22:00-02:00"]}, calendar=Calendar(closed=parse_dates(["2026-11-28"])), work=True
)
TOUCHING = schedule({"times": ["09:00-12:00"]}, {"times": ["12:00-15:00"]}, {"times": ["14:00-16:00"]})
LAST_DAY = schedule({"days_of_month": [-1]})
LATE_MONTH = schedule({"days_of_month": ["29:31"]})
WHOLE_MONTH = schedule({"days_of_month": ["1:31"]})
WINTER = schedule({"months": ["nov:feb"]})
SOME_YEARS = schedule({"years": ["2026:2027"]})
DECEMBER_2027 = schedule({"years": [2027], "months": ["december"]})
LONG_AGO = schedule({"years": [2020]})
ALWAYS_BUT_ONE = schedule({}, calendar=Calendar(country=None, closed=parse_dates(["2026-11-25"])), work=True)
BERLIN_DAY = schedule({}, zone=BERLIN)
BERLIN_NIGHT = schedule({"times": ["01:00-04:00"]}, zone=BERLIN)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({}, IntervalSpec()),
        ({"times": ["09:00-17:00"]}, IntervalSpec(times=(TimeRange(540, 1020),))),
        ({"times": [" 9:30 - 12:00 "]}, IntervalSpec(times=(TimeRange(570, 720),))),
        ({"times": [{"start_time": "00:00", "end_time": "24:00"}]}, IntervalSpec(times=(TimeRange(0, 1440),))),
        ({"times": ["22:00-02:00"]}, IntervalSpec(times=(TimeRange(1320, 120),))),
        ({"times": ["22:00-00:00"]}, IntervalSpec(times=(TimeRange(1320, 1440),))),
        ({"weekdays": ["monday:friday"]}, IntervalSpec(weekdays=frozenset(range(5)))),
        ({"weekdays": ["sat:sun"]}, IntervalSpec(weekdays=frozenset({5, 6}))),
        ({"weekdays": ["Friday:Monday"]}, IntervalSpec(weekdays=frozenset({4, 5, 6, 0}))),
        ({"weekdays": ["sunday:saturday"]}, IntervalSpec(weekdays=ALL_WEEK)),
        ({"weekdays": ["wed", "SUNDAY", "mon..tue"]}, IntervalSpec(weekdays=frozenset({0, 1, 2, 6}))),
        (
            {"days_of_month": [1, "-1", "10:15", "-7:-3", "20..21"]},
            IntervalSpec(days_of_month=((1, 1), (-1, -1), (10, 15), (-7, -3), (20, 21))),
        ),
        ({"months": ["jan:mar", 12, "July", "8"]}, IntervalSpec(months=frozenset({1, 2, 3, 7, 8, 12}))),
        ({"months": ["november:february"]}, IntervalSpec(months=frozenset({11, 12, 1, 2}))),
        ({"years": [2026, "2028:2030"]}, IntervalSpec(years=((2026, 2026), (2028, 2030)))),
        ({"closed_days": True}, IntervalSpec(closed_days=True)),
        ({"closed_days": False, "times": ["13:00-18:00"]}, IntervalSpec(times=(TimeRange(780, 1080),))),
    ],
)
def test_parse_valid_specs(spec: Mapping[str, Any], expected: IntervalSpec) -> None:
    assert parse_interval(" cs ", [spec]) == TimeInterval("cs", (expected,))


@pytest.mark.parametrize(
    ("specs", "path", "message"),
    [
        ([{"times": ["25:00-26:00"]}], "time_intervals[0].times[0]", "start 25:00 is not a time (HH:MM)"),
        ([{"times": ["09:00-17:60"]}], "time_intervals[0].times[0]", "end 17:60 is not a time (HH:MM)"),
        ([{"times": ["09:00-17:00", "09:00-09:00"]}], "time_intervals[0].times[1]", "end 09:00 equals start"),
        (
            [{"times": ["00:00-00:00"]}],
            "time_intervals[0].times[0]",
            "end 00:00 equals start; write 00:00-24:00 for a whole day",
        ),
        (
            [{"times": ["24:00-02:00"]}],
            "time_intervals[0].times[0]",
            "start 24:00 is only allowed as an end; write 00:00",
        ),
        ([{"times": ["9-17"]}], "time_intervals[0].times[0]", "start 9 is not a time (HH:MM)"),
        ([{"times": ["0900"]}], "time_intervals[0].times[0]", "'0900' is not a time range (HH:MM-HH:MM)"),
        ([{"times": [{"start_time": "09:00"}]}], "time_intervals[0].times[0]", "missing end_time"),
        (
            [{"times": [{"start_time": "09:00", "end_time": 10}]}],
            "time_intervals[0].times[0]",
            "end must be a string like '09:00', got 10",
        ),
        (
            [{"times": [{"start_time": "09:00", "end_time": "10:00", "location": "UTC"}]}],
            "time_intervals[0].times[0].location",
            "unknown key 'location'; expected start_time and end_time",
        ),
        ([{"times": 9}], "time_intervals[0].times[0]", "expected 'HH:MM-HH:MM' or {start_time, end_time}, got 9")
        if False
        else ([{"times": "09:00-17:00"}], "time_intervals[0].times", "must be a list"),
        ([{"times": []}], "time_intervals[0].times", "is empty; leave the key out to match everything"),
        ([{"times": [9]}], "time_intervals[0].times[0]", "expected 'HH:MM-HH:MM' or {start_time, end_time}, got 9"),
        ([{"weekdays": ["funday"]}], "time_intervals[0].weekdays[0]", "unknown weekday 'funday'"),
        ([{"weekdays": ["mon", "monday:funday"]}], "time_intervals[0].weekdays[1]", "unknown weekday 'funday'"),
        ([{"weekdays": [1]}], "time_intervals[0].weekdays[0]", "weekday must be a name, got 1"),
        ([{"weekdays": ["1"]}], "time_intervals[0].weekdays[0]", "unknown weekday '1'"),
        (
            [{"days_of_month": [0]}],
            "time_intervals[0].days_of_month[0]",
            "day 0 is not a day of the month (1..31 or -31..-1)",
        ),
        (
            [{"days_of_month": ["1:32"]}],
            "time_intervals[0].days_of_month[0]",
            "day 32 is not a day of the month (1..31 or -31..-1)",
        ),
        (
            [{"days_of_month": ["-3:5"]}],
            "time_intervals[0].days_of_month[0]",
            "end day 5 must be negative when the start day -3 is",
        ),
        ([{"days_of_month": ["10:5"]}], "time_intervals[0].days_of_month[0]", "end day 5 is before start day 10"),
        ([{"days_of_month": ["-1:-3"]}], "time_intervals[0].days_of_month[0]", "end day -3 is before start day -1"),
        ([{"days_of_month": ["x"]}], "time_intervals[0].days_of_month[0]", "'x' is not a day of the month"),
        ([{"days_of_month": [True]}], "time_intervals[0].days_of_month[0]", "True is not a day of the month"),
        ([{"months": ["smarch"]}], "time_intervals[0].months[0]", "unknown month 'smarch'"),
        ([{"months": [13]}], "time_intervals[0].months[0]", "unknown month '13'"),
        ([{"years": ["2030:2026"]}], "time_intervals[0].years[0]", "end year 2026 is before start year 2030"),
        ([{"years": ["twenty"]}], "time_intervals[0].years[0]", "'twenty' is not a year"),
        ([{"closed_days": "yes"}], "time_intervals[0].closed_days", "must be true or false, got 'yes'"),
        (
            [{}, {"location": "Asia/Seoul"}],
            "time_intervals[1].location",
            "unknown key 'location'; expected times, weekdays, days_of_month, months, years, closed_days",
        ),
        ([], "time_intervals", "an interval needs at least one spec ({} matches all the time)"),
        (
            ["weekdays"],
            "time_intervals[0]",
            "must be a table with some of: times, weekdays, days_of_month, months, years, closed_days",
        ),
    ],
)
def test_parse_errors_name_the_sub_key_in_one_line(specs: Sequence[Any], path: str, message: str) -> None:
    with pytest.raises(IntervalError) as info:
        parse_interval("cs", specs)
    assert (info.value.path, str(info.value), isinstance(info.value, ValueError)) == (path, message, True)


def test_an_interval_needs_a_name() -> None:
    with pytest.raises(IntervalError) as info:
        parse_interval(" ", [{}])
    assert (info.value.path, str(info.value)) == ("name", "an interval needs a non-empty name")


@pytest.mark.parametrize(
    ("plan", "at", "inside"),
    [
        (WHOLE_DAYS, kst("2026-11-24 23:59"), True),
        (WHOLE_DAYS, kst("2026-11-25 00:00"), True),
        (WEEKEND, kst("2026-11-27 23:59"), False),
        (WEEKEND, kst("2026-11-28 00:00"), True),
        (WEEKEND, kst("2026-11-29 23:59"), True),
        (WEEKEND, kst("2026-11-30 00:00"), False),
        # 22:00-02:00 belongs to Friday: it runs into Saturday, and Thursday's night is not part of it
        (FRIDAY_NIGHT, kst("2026-11-26 23:00"), False),
        (FRIDAY_NIGHT, kst("2026-11-27 01:00"), False),
        (FRIDAY_NIGHT, kst("2026-11-27 21:59"), False),
        (FRIDAY_NIGHT, kst("2026-11-27 22:00"), True),
        (FRIDAY_NIGHT, kst("2026-11-28 01:59"), True),
        (FRIDAY_NIGHT, kst("2026-11-28 02:00"), False),
        (FRIDAY_NIGHT, kst("2026-11-28 23:00"), False),
        # in work hours a closed Saturday takes nothing away from the shift that began on Friday
        (FRIDAY_NIGHT_WORK, kst("2026-11-28 01:00"), True),
        (LUNCH, kst("2026-11-24 15:00"), False),
        (LUNCH, kst("2026-11-24 15:59"), False),
        (LUNCH, kst("2026-11-24 16:00"), True),
        (LUNCH, kst("2026-11-24 18:00"), False),
        (LAST_DAY, kst("2026-02-27 12:00"), False),
        (LAST_DAY, kst("2026-02-28 12:00"), True),
        (LAST_DAY, kst("2028-02-28 12:00"), False),
        (LAST_DAY, kst("2028-02-29 12:00"), True),
        (LAST_DAY, kst("2026-04-30 12:00"), True),
        (LAST_DAY, kst("2026-12-31 12:00"), True),
        (LATE_MONTH, kst("2026-02-28 12:00"), False),  # "29:31" names no day of a 28-day February
        (LATE_MONTH, kst("2026-03-29 12:00"), True),
        (LATE_MONTH, kst("2026-04-30 12:00"), True),
        (WHOLE_MONTH, kst("2026-02-28 12:00"), True),  # "1:31" is clamped to February's 28 days
        (WINTER, kst("2026-01-15 12:00"), True),
        (WINTER, kst("2026-03-01 00:00"), False),
        (WINTER, kst("2026-12-01 00:00"), True),
        (SOME_YEARS, kst("2025-12-31 23:59"), False),
        (SOME_YEARS, kst("2026-01-01 00:00"), True),
        (SOME_YEARS, kst("2027-12-31 23:59"), True),
        (SOME_YEARS, kst("2028-01-01 00:00"), False),
        (QUIET, kst("2025-10-02 21:59"), False),
        (QUIET, kst("2025-10-02 22:00"), True),
        (QUIET, kst("2025-10-03 15:00"), True),  # 개천절
        (QUIET, kst("2025-10-04 08:59"), True),  # the night that began on 개천절
        (QUIET, kst("2025-10-04 09:00"), False),  # an ordinary Saturday
        (QUIET, kst("2025-10-10 08:59"), True),
        (QUIET, kst("2025-10-10 09:00"), False),
        (CS, kst("2025-10-02 13:00"), True),
        (CS, kst("2025-10-03 13:00"), False),  # 개천절 has no work hours
        (CS, kst("2025-10-10 13:00"), True),
    ],
)
def test_contains(plan: Schedule, at: datetime, inside: bool) -> None:
    assert plan.contains(at) is inside


@pytest.mark.parametrize(
    ("plan", "start", "end", "expected"),
    [
        # "00:00-24:00" on consecutive days leaves no gap at midnight
        (WHOLE_DAYS, kst("2026-11-23 10:00"), kst("2026-11-25 10:00"), [("2026-11-23 10:00", "2026-11-25 10:00")]),
        (ALWAYS, kst("2026-11-23 10:00"), kst("2026-11-25 10:00"), [("2026-11-23 10:00", "2026-11-25 10:00")]),
        (WEEKEND, kst("2026-11-27 00:00"), kst("2026-12-01 00:00"), [("2026-11-28 00:00", "2026-11-30 00:00")]),
        (TOUCHING, kst("2026-11-24 00:00"), kst("2026-11-25 00:00"), [("2026-11-24 09:00", "2026-11-24 16:00")]),
        (TOUCHING, kst("2026-11-24 10:00"), kst("2026-11-24 11:00"), [("2026-11-24 10:00", "2026-11-24 11:00")]),
        (FRIDAY_NIGHT, kst("2026-11-26 00:00"), kst("2026-11-30 00:00"), [("2026-11-27 22:00", "2026-11-28 02:00")]),
        (
            LUNCH,
            kst("2026-11-24 14:00"),
            kst("2026-11-25 14:00"),
            [
                ("2026-11-24 14:00", "2026-11-24 15:00"),
                ("2026-11-24 16:00", "2026-11-24 18:00"),
                ("2026-11-25 13:00", "2026-11-25 14:00"),
            ],
        ),
        (
            QUIET,
            kst("2025-10-02 12:00"),
            kst("2025-10-11 12:00"),
            [
                ("2025-10-02 22:00", "2025-10-04 09:00"),
                ("2025-10-04 22:00", "2025-10-10 09:00"),
                ("2025-10-10 22:00", "2025-10-11 09:00"),
            ],
        ),
        (
            CS,
            kst("2025-10-02 00:00"),
            kst("2025-10-13 00:00"),
            [("2025-10-02 13:00", "2025-10-02 18:00"), ("2025-10-10 13:00", "2025-10-10 18:00")],
        ),
        (CS, kst("2025-10-03 00:00"), kst("2025-10-03 00:00"), []),
    ],
)
def test_spans_are_maximal_and_merged(
    plan: Schedule, start: datetime, end: datetime, expected: list[tuple[str, str]]
) -> None:
    assert plan.spans(start, end) == [(kst(first), kst(last)) for first, last in expected]


@pytest.mark.parametrize(
    ("plan", "at", "span_end", "next_start"),
    [
        (QUIET, kst("2025-10-04 12:00"), None, kst("2025-10-04 22:00")),
        (QUIET, kst("2025-10-04 22:00"), kst("2025-10-10 09:00"), kst("2025-10-04 22:00")),
        (QUIET, kst("2025-10-04 23:00"), kst("2025-10-10 09:00"), kst("2025-10-10 22:00")),
        (QUIET, kst("2025-10-10 09:00"), None, kst("2025-10-10 22:00")),
        (WEEKEND, kst("2026-11-28 12:00"), kst("2026-11-30 00:00"), kst("2026-12-05 00:00")),
        (FRIDAY_NIGHT, kst("2026-11-28 01:00"), kst("2026-11-28 02:00"), kst("2026-12-04 22:00")),
        (TOUCHING, kst("2026-11-24 12:00"), kst("2026-11-24 16:00"), kst("2026-11-25 09:00")),
        # never-ending and never-starting schedules give up at the ~400-day horizon
        (ALWAYS, kst("2026-11-24 12:00"), None, None),
        (WHOLE_DAYS, kst("2026-11-24 12:00"), None, None),
        (LONG_AGO, kst("2026-11-24 12:00"), None, None),
        # a span that starts but does not end within the horizon still has a start
        (ALWAYS_BUT_ONE, kst("2026-11-24 12:00"), kst("2026-11-25 00:00"), kst("2026-11-26 00:00")),
        (ALWAYS_BUT_ONE, kst("2026-11-25 12:00"), None, kst("2026-11-26 00:00")),
        (ALWAYS_BUT_ONE, kst("2026-11-26 12:00"), None, None),
        (DECEMBER_2027, kst("2026-01-01 00:00"), None, None),
        (DECEMBER_2027, kst("2027-01-01 00:00"), None, kst("2027-12-01 00:00")),
        (DECEMBER_2027, kst("2027-12-15 00:00"), kst("2028-01-01 00:00"), None),
    ],
)
def test_span_end_and_next_start(
    plan: Schedule, at: datetime, span_end: datetime | None, next_start: datetime | None
) -> None:
    assert (plan.span_end(at), plan.next_start(at)) == (span_end, next_start)


@pytest.mark.parametrize(
    ("plan", "start", "duration", "expected"),
    [
        # a break splits the day: 13:00-15:00 + 16:00-17:00 make 3 h; from 14:00, 14-15 + 16-18 do
        (LUNCH, kst("2026-11-24 13:00"), timedelta(hours=3), kst("2026-11-24 17:00")),
        (LUNCH, kst("2026-11-24 14:00"), timedelta(hours=3), kst("2026-11-24 18:00")),
        (LUNCH, kst("2026-11-24 15:30"), timedelta(hours=1), kst("2026-11-24 17:00")),
        # Friday 16:30 + 1 work hour is Monday 09:30, not Friday 17:30
        (NINE_TO_FIVE, kst("2026-11-20 16:30"), timedelta(hours=1), kst("2026-11-23 09:30")),
        # ... and Tuesday when Monday is a holiday (2026-08-17 광복절 대체 휴일)
        (NINE_TO_FIVE, kst("2026-08-14 16:30"), timedelta(hours=1), kst("2026-08-18 09:30")),
        # a target that uses up the day ends at the day's end, not at the next morning
        (NINE_TO_FIVE, kst("2026-11-20 16:00"), timedelta(hours=1), kst("2026-11-20 17:00")),
        # the 2025 추석 week: Thursday's last hour, then nothing until Friday the 10th
        (CS, kst("2025-10-02 17:00"), timedelta(hours=2), kst("2025-10-10 14:00")),
        (CS, kst("2025-10-02 17:00"), timedelta(hours=1), kst("2025-10-02 18:00")),
        (CS, kst("2025-10-03 09:00"), timedelta(hours=3), kst("2025-10-10 16:00")),
        # zero: the first instant inside the schedule at or after the start
        (CS, kst("2026-11-24 12:00"), timedelta(0), kst("2026-11-24 13:00")),
        (CS, kst("2026-11-24 14:00"), timedelta(0), kst("2026-11-24 14:00")),
        (CS, kst("2026-11-24 18:00"), timedelta(0), kst("2026-11-25 13:00")),
        (CS, kst("2026-11-24 13:00"), timedelta(microseconds=1), kst("2026-11-24 13:00") + timedelta(microseconds=1)),
        (FRIDAY_NIGHT, kst("2026-11-27 23:30"), timedelta(hours=2), kst("2026-11-28 01:30")),
        (FRIDAY_NIGHT, kst("2026-11-28 01:30"), timedelta(hours=1), kst("2026-12-04 22:30")),
        (WHOLE_DAYS, kst("2026-11-24 23:00"), timedelta(hours=2), kst("2026-11-25 01:00")),
        # Europe/Berlin: the last Sunday of March has 23 hours, the last Sunday of October 25
        (BERLIN_DAY, berlin("2025-03-30 00:00"), timedelta(hours=24), berlin("2025-03-31 01:00")),
        (BERLIN_DAY, berlin("2025-10-26 00:00"), timedelta(hours=24), berlin("2025-10-26 23:00")),
        (BERLIN_NIGHT, berlin("2025-03-30 01:00"), timedelta(hours=2), berlin("2025-03-30 04:00")),
        (BERLIN_NIGHT, berlin("2025-03-30 01:00"), timedelta(hours=2, minutes=1), berlin("2025-03-31 01:01")),
    ],
)
def test_add_work_time(plan: Schedule, start: datetime, duration: timedelta, expected: datetime) -> None:
    assert add_work_time(plan, start, duration) == expected


@pytest.mark.parametrize(
    ("plan", "start", "end", "expected"),
    [
        (CS, kst("2025-10-02 12:00"), kst("2025-10-13 12:00"), timedelta(hours=10)),
        (CS, kst("2025-10-02 17:30"), kst("2025-10-10 13:30"), timedelta(hours=1)),
        (LUNCH, kst("2026-11-24 14:00"), kst("2026-11-24 18:00"), timedelta(hours=3)),
        (CS, kst("2025-10-10 14:00"), kst("2025-10-02 17:00"), timedelta(0)),
        (CS, kst("2025-10-10 14:00"), kst("2025-10-10 14:00"), timedelta(0)),
        (FRIDAY_NIGHT, kst("2026-11-27 00:00"), kst("2026-11-29 00:00"), timedelta(hours=4)),
        (BERLIN_DAY, berlin("2025-03-30 00:00"), berlin("2025-03-31 00:00"), timedelta(hours=23)),
        (BERLIN_DAY, berlin("2025-10-26 00:00"), berlin("2025-10-27 00:00"), timedelta(hours=25)),
        (BERLIN_NIGHT, berlin("2025-03-30 00:00"), berlin("2025-03-31 00:00"), timedelta(hours=2)),
    ],
)
def test_work_time_between(plan: Schedule, start: datetime, end: datetime, expected: timedelta) -> None:
    assert work_time_between(plan, start, end) == expected


NAIVE = datetime(2026, 11, 24, 14, 0)


@pytest.mark.parametrize(
    "call",
    [
        lambda: CS.contains(NAIVE),
        lambda: CS.spans(NAIVE, kst("2026-11-25 00:00")),
        lambda: CS.spans(kst("2026-11-24 00:00"), NAIVE),
        lambda: CS.span_end(NAIVE),
        lambda: CS.next_start(NAIVE),
        lambda: add_work_time(CS, NAIVE, timedelta(hours=1)),
        lambda: work_time_between(CS, NAIVE, kst("2026-11-25 00:00")),
    ],
)
def test_naive_datetimes_are_refused(call: Any) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        call()


@pytest.mark.parametrize(
    ("plan", "duration", "message"),
    [
        (CS, timedelta(hours=-1), "duration must not be negative"),
        (LONG_AGO, timedelta(hours=1), "has no time in the 400 days after"),
        (DECEMBER_2027, timedelta(days=32), "has no time in the 400 days after"),
    ],
)
def test_add_work_time_refuses_what_cannot_end(plan: Schedule, duration: timedelta, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        add_work_time(plan, kst("2026-11-24 14:00"), duration)


# Properties over random schedules, calendars and instants.

ZONES = st.sampled_from([KST, BERLIN])
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


@st.composite
def time_ranges(draw: st.DrawFn) -> str:
    """ "HH:MM-HH:MM", sometimes over midnight, sometimes ending at 24:00."""
    start = draw(st.integers(0, 1439))
    end = draw(st.integers(1, 1440).filter(lambda minute: minute != start))
    return f"{_clock(start)}-{_clock(end)}"


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    """A one-spec schedule from a random weekday set and 1-3 time ranges, with a random calendar."""
    weekdays = draw(st.lists(st.sampled_from(WEEKDAY_NAMES), min_size=1, max_size=7, unique=True))
    times = draw(st.lists(time_ranges(), min_size=1, max_size=3))
    around = st.dates(date(2025, 1, 1), date(2027, 12, 31))
    calendar = Calendar(
        country=draw(st.sampled_from(["KR", None])),
        closed=draw(st.frozensets(around, max_size=30)),
        open=draw(st.frozensets(around, max_size=5)),
    )
    return schedule(
        {"weekdays": weekdays, "times": times}, calendar=calendar, zone=draw(ZONES), work=draw(st.booleans())
    )


INSTANTS = st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31)).map(lambda at: at.replace(tzinfo=UTC))
DURATIONS = st.timedeltas(timedelta(0), timedelta(days=3))
PROPERTY = settings(max_examples=200, deadline=None)
TICK = timedelta(microseconds=1)


def utc(at: datetime) -> datetime:
    """The same instant in UTC: aware datetimes sharing a DST zone compare and subtract by wall clock, not instant."""
    return at.astimezone(UTC)


@PROPERTY
@given(plan=schedules(), start=INSTANTS, duration=DURATIONS)
def test_add_work_time_never_ends_inside_closed_time(plan: Schedule, start: datetime, duration: timedelta) -> None:
    end = utc(add_work_time(plan, start, duration))
    assert plan.contains(end) or plan.contains(end - TICK)


@PROPERTY
@given(plan=schedules(), start=INSTANTS, duration=DURATIONS)
def test_work_time_between_undoes_add_work_time(plan: Schedule, start: datetime, duration: timedelta) -> None:
    assert work_time_between(plan, start, add_work_time(plan, start, duration)) == duration


@PROPERTY
@given(plan=schedules(), start=INSTANTS, durations=st.lists(DURATIONS, min_size=2, max_size=2).map(sorted))
def test_add_work_time_is_monotonic_in_duration(plan: Schedule, start: datetime, durations: list[timedelta]) -> None:
    shorter, longer = durations
    assert utc(add_work_time(plan, start, shorter)) <= utc(add_work_time(plan, start, longer))


@PROPERTY
@given(plan=schedules(), start=INSTANTS, length=st.timedeltas(timedelta(0), timedelta(days=10)))
def test_spans_agree_with_contains_and_work_time(plan: Schedule, start: datetime, length: timedelta) -> None:
    spans = [(utc(first), utc(last)) for first, last in plan.spans(start, start + length)]
    edges_inside = [(plan.contains(first), plan.contains(last - TICK)) for first, last in spans]
    gaps = [later[0] - earlier[1] for earlier, later in pairwise(spans)]
    assert edges_inside == [(True, True)] * len(spans)
    assert all(gap > timedelta(0) for gap in gaps)
    assert sum((last - first for first, last in spans), timedelta(0)) == work_time_between(plan, start, start + length)


@pytest.mark.parametrize(
    ("at", "start"),
    [
        ("2025-10-06 14:00", "2025-10-04 22:00"),  # 추석 Monday: the quiet span began Saturday night
        ("2025-10-02 23:30", "2025-10-02 22:00"),
        ("2025-10-03 08:00", "2025-10-02 22:00"),  # after midnight, still the span that began the evening before
        ("2025-10-02 15:00", None),
    ],
)
def test_span_start_walks_back_across_midnights(at: str, start: str | None) -> None:
    quiet = Schedule(
        [parse_interval("night", [{"times": ["22:00-09:00"]}]), parse_interval("closed", [{"closed_days": True}])],
        ZoneInfo("Asia/Seoul"),
        Calendar(country="KR"),
    )
    zone = ZoneInfo("Asia/Seoul")
    found = quiet.span_start(datetime.strptime(at, "%Y-%m-%d %H:%M").replace(tzinfo=zone))
    assert found == (datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=zone) if start else None)
    assert Schedule([], zone, Calendar()).span_start(datetime(2025, 10, 6, tzinfo=zone)) is None
