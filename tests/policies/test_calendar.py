"""The calendar of closed days: Korean public holidays (pinned `holidays`), extra closed and open dates, names."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.models import KST
from policies.calendar import Calendar, parse_dates
from policies.intervals import Schedule, parse_interval

KR = Calendar()
NONE = Calendar(country=None)
OWN = Calendar(
    closed=parse_dates(["2026-08-03..2026-08-05", "2026-12-31", "2026-10-10"]),
    open=parse_dates(["2026-05-01", "2026-08-04"]),
    names={date(2026, 12, 31): "재고 조사"},
)
NO_HOLIDAYS_OWN = Calendar(country=None, closed=parse_dates(["2025-10-10"]))


@pytest.mark.parametrize(
    ("day", "closed"),
    [
        # 2025 추석 week: 개천절, 추석 연휴 (Sunday..Tuesday), 대체휴일, 한글날; Friday the 10th is a working day
        (date(2025, 10, 2), False),
        (date(2025, 10, 3), True),
        (date(2025, 10, 5), True),
        (date(2025, 10, 6), True),
        (date(2025, 10, 7), True),
        (date(2025, 10, 8), True),
        (date(2025, 10, 9), True),
        (date(2025, 10, 10), False),
        # Seollal follows the Korean (KASI) lunar table, which differs from the Chinese one in 2027 and 2028
        (date(2027, 2, 5), False),
        (date(2027, 2, 6), True),
        (date(2027, 2, 7), True),
        (date(2027, 2, 8), True),
        (date(2027, 2, 9), True),
        (date(2027, 2, 10), False),
        (date(2028, 1, 25), False),
        (date(2028, 1, 26), True),
        (date(2028, 1, 27), True),
        (date(2028, 1, 28), True),
        (date(2028, 1, 29), False),
        # 2026: 노동절 becomes a public holiday, 제헌절 returns, Saturday holidays get Monday substitutes
        (date(2026, 5, 1), True),
        (date(2026, 7, 17), True),
        (date(2026, 8, 17), True),
        (date(2026, 10, 5), True),
        # 2023: Buddha's Birthday fell on Saturday and got its first substitute day
        (date(2023, 5, 26), False),
        (date(2023, 5, 27), True),
        (date(2023, 5, 29), True),
        # weekends are not the calendar's business: work-hour intervals leave them out
        (date(2026, 11, 28), False),
    ],
)
def test_korean_public_holidays(day: date, closed: bool) -> None:
    assert KR.is_closed(day) is closed


@pytest.mark.parametrize(
    ("calendar", "day", "name"),
    [
        (KR, date(2025, 10, 3), "개천절"),
        (KR, date(2025, 10, 6), "추석"),
        (KR, date(2025, 10, 8), "추석 대체 휴일"),
        (KR, date(2025, 10, 9), "한글날"),
        (KR, date(2025, 10, 10), None),
        (KR, date(2027, 2, 9), "설날 대체 휴일"),
        (KR, date(2026, 5, 1), "노동절"),
        (KR, date(2026, 7, 17), "제헌절"),
        (KR, date(2023, 5, 29), "부처님오신날 대체 휴일"),
        (KR, date(2025, 5, 5), "부처님오신날 · 어린이날"),
        (KR, date(2028, 10, 3), "개천절 · 추석"),
        (OWN, date(2026, 8, 3), "휴무"),
        (OWN, date(2026, 8, 4), None),
        (OWN, date(2026, 5, 1), None),
        (OWN, date(2026, 12, 31), "재고 조사"),
        (OWN, date(2026, 7, 17), "제헌절"),
        (NONE, date(2025, 10, 6), None),
        (NO_HOLIDAYS_OWN, date(2025, 10, 10), "휴무"),
    ],
)
def test_holiday_names(calendar: Calendar, day: date, name: str | None) -> None:
    assert calendar.holiday_name(day) == name


@pytest.mark.parametrize(
    ("calendar", "day", "closed"),
    [
        (OWN, date(2026, 8, 2), False),
        (OWN, date(2026, 8, 3), True),
        (OWN, date(2026, 8, 4), False),  # open wins over the vacation range around it
        (OWN, date(2026, 8, 5), True),
        (OWN, date(2026, 5, 1), False),  # open wins over a public holiday
        (OWN, date(2026, 10, 10), True),
        (OWN, date(2026, 7, 17), True),
        (NONE, date(2025, 10, 6), False),
        (NO_HOLIDAYS_OWN, date(2025, 10, 10), True),
    ],
)
def test_extra_closed_and_open_dates(calendar: Calendar, day: date, closed: bool) -> None:
    assert calendar.is_closed(day) is closed


@pytest.mark.parametrize(
    ("calendar", "start", "end", "expected"),
    [
        (
            KR,
            date(2025, 10, 1),
            date(2025, 10, 12),
            [
                (date(2025, 10, 3), "개천절"),
                (date(2025, 10, 5), "추석 전날"),
                (date(2025, 10, 6), "추석"),
                (date(2025, 10, 7), "추석 다음날"),
                (date(2025, 10, 8), "추석 대체 휴일"),
                (date(2025, 10, 9), "한글날"),
            ],
        ),
        (KR, date(2025, 10, 3), date(2025, 10, 3), []),
        (KR, date(2025, 10, 9), date(2025, 10, 10), [(date(2025, 10, 9), "한글날")]),  # end is exclusive
        (
            OWN,
            date(2026, 8, 1),
            date(2026, 8, 18),
            [
                (date(2026, 8, 3), "휴무"),
                (date(2026, 8, 5), "휴무"),
                (date(2026, 8, 15), "광복절"),
                (date(2026, 8, 17), "광복절 대체 휴일"),
            ],
        ),
    ],
)
def test_closed_days_lists_names_in_date_order(
    calendar: Calendar, start: date, end: date, expected: list[tuple[date, str]]
) -> None:
    assert calendar.closed_days(start, end) == expected


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], frozenset()),
        (["2025-10-03"], {date(2025, 10, 3)}),
        (["2025-12-30..2026-01-02"], {date(2025, 12, 30), date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 2)}),
        (["2025-10-03", "2025-10-03..2025-10-04"], {date(2025, 10, 3), date(2025, 10, 4)}),
        (["2028-02-29..2028-02-29"], {date(2028, 2, 29)}),
        ((" 2026-08-03 .. 2026-08-04 ",), {date(2026, 8, 3), date(2026, 8, 4)}),
    ],
)
def test_parse_dates(items: list[str], expected: set[date]) -> None:
    assert parse_dates(items) == expected


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["2025-13-01"], "'2025-13-01' is not a valid date"),
        (["2026-02-29"], "'2026-02-29' is not a valid date"),
        (["2025/10/03"], "'2025/10/03' is not a date (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)"),
        (["20251003"], "'20251003' is not a date (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)"),
        (["2025-10-03", "2025-10-03.."], "'2025-10-03..' is not a date (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)"),
        (["2025-10-05..2025-10-03"], "'2025-10-05..2025-10-03': the range ends before it starts"),
        ([20251003], "20251003 is not a date (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)"),
        ("2025-10-03", "expected a list of dates, got the string '2025-10-03'"),
    ],
)
def test_parse_dates_names_the_bad_item(items: list[str], message: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_dates(items)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("first", "second", "equal"),
    [
        (Calendar(country="kr"), KR, True),
        (Calendar(closed=parse_dates(["2026-12-31"])), Calendar(closed=parse_dates(["2026-12-31"]), names={}), True),
        (OWN, Calendar(closed=OWN.closed, open=OWN.open), True),  # names are labels, not part of the calendar
        (KR, NONE, False),
    ],
)
def test_calendars_are_frozen_values(first: Calendar, second: Calendar, equal: bool) -> None:
    assert ((first == second), (hash(first) == hash(second))) == (equal, equal)


def test_unknown_country_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown holiday country 'XX'"):
        Calendar(country="XX")


CLOSED_DAYS = Schedule([parse_interval("closed", [{"closed_days": True}])], KST, KR)


@pytest.mark.parametrize(
    ("at", "closed"),
    [
        (datetime(2025, 10, 5, 15, 30, tzinfo=UTC), True),  # 10-06 00:30 KST, 추석, though still the 5th in UTC
        (datetime(2025, 10, 9, 23, 30, tzinfo=UTC), False),  # 10-10 08:30 KST, a working day, though the 9th in UTC
        (datetime(2025, 10, 9, 14, 59, 59, tzinfo=UTC), True),  # 10-09 23:59:59 KST, 한글날
        (datetime(2025, 10, 9, 15, 0, tzinfo=UTC), False),  # 10-10 00:00 KST
        (datetime(2025, 10, 2, 14, 59, tzinfo=UTC), False),  # 10-02 23:59 KST
        (datetime(2025, 10, 2, 15, 0, tzinfo=UTC), True),  # 10-03 00:00 KST, 개천절
        (datetime(2025, 10, 6, 0, 30, tzinfo=KST), True),
        (datetime(2025, 10, 10, 8, 30, tzinfo=KST), False),
    ],
)
def test_a_holiday_is_a_local_date_whatever_the_zone_of_the_instant(at: datetime, closed: bool) -> None:
    assert CLOSED_DAYS.contains(at) is closed


def test_holiday_spans_come_back_in_local_time() -> None:
    spans = CLOSED_DAYS.spans(datetime(2025, 10, 1, tzinfo=UTC), datetime(2025, 10, 12, tzinfo=UTC))
    assert spans == [
        (datetime(2025, 10, 3, tzinfo=KST), datetime(2025, 10, 4, tzinfo=KST)),
        (datetime(2025, 10, 5, tzinfo=KST), datetime(2025, 10, 10, tzinfo=KST)),
    ]
    assert {edge.tzinfo for span in spans for edge in span} == {KST}
