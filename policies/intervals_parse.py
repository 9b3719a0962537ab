"""Field parsers for time-interval specs (Alertmanager syntax): config values in, plain numbers out, one-line errors."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

MINUTES_PER_DAY = 1440

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_WEEKDAY_NUMBER = {name: n for n, full in enumerate(WEEKDAYS) for name in (full, full[:3])}
_MONTH_NUMBER = {name: n for n, full in enumerate(MONTHS, start=1) for name in (full, full[:3])}
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
# ":" is Alertmanager's range mark; ".." is accepted too because the calendar's date ranges use it.
_RANGE = re.compile(r"\s*(.+?)\s*(?::|\.\.)\s*(.+?)\s*")


class IntervalError(ValueError):
    """A bad interval spec: `.path` names the sub-key (time_intervals[0].times[1]), str() is one readable line."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def items_of(value: object, path: str) -> list[tuple[str, object]]:
    """The elements of a list-valued field with their paths; the field must be a non-empty list."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise IntervalError(path, "must be a list")
    if not value:
        raise IntervalError(path, "is empty; leave the key out to match everything")
    return [(f"{path}[{n}]", item) for n, item in enumerate(value)]


def parse_clock(text: object, what: str, path: str) -> int:
    """Minutes after local midnight of an "HH:MM" time; "24:00" is 1440."""
    if not isinstance(text, str):
        raise IntervalError(path, f"{what} must be a string like '09:00', got {text!r}")
    match = _CLOCK.fullmatch(text.strip())
    hour, minute = (int(match[1]), int(match[2])) if match else (-1, -1)
    if not (0 <= hour <= 23 and 0 <= minute <= 59) and (hour, minute) != (24, 0):
        raise IntervalError(path, f"{what} {text.strip()} is not a time (HH:MM)")
    return hour * 60 + minute


def parse_time_range(item: object, path: str) -> tuple[int, int]:
    """(start_min, end_min) of "HH:MM-HH:MM" or {start_time, end_time}; an end before the start crosses midnight."""
    if isinstance(item, str):
        start_text, sep, end_text = item.partition("-")
        if not sep:
            raise IntervalError(path, f"{item!r} is not a time range (HH:MM-HH:MM)")
    elif isinstance(item, Mapping):
        unknown = sorted(str(key) for key in item if key not in ("start_time", "end_time"))
        if unknown:
            raise IntervalError(f"{path}.{unknown[0]}", f"unknown key '{unknown[0]}'; expected start_time and end_time")
        missing = [key for key in ("start_time", "end_time") if key not in item]
        if missing:
            raise IntervalError(path, f"missing {missing[0]}")
        start_text, end_text = item["start_time"], item["end_time"]
    else:
        raise IntervalError(path, f"expected 'HH:MM-HH:MM' or {{start_time, end_time}}, got {item!r}")
    start = parse_clock(start_text, "start", path)
    end = parse_clock(end_text, "end", path)
    if start == MINUTES_PER_DAY:
        raise IntervalError(path, "start 24:00 is only allowed as an end; write 00:00")
    if end == start:
        hint = "; write 00:00-24:00 for a whole day" if start == 0 else ""
        raise IntervalError(path, f"end {end // 60:02d}:{end % 60:02d} equals start{hint}")
    # "22:00-00:00" ends at midnight of its own day, not on the following one
    return start, end or MINUTES_PER_DAY


def parse_weekdays(value: object, path: str) -> frozenset[int]:
    """Weekday numbers (Monday 0) from names, 3-letter abbreviations and ranges; "sat:sun" wraps over the week end."""
    return _cyclic(value, path, "weekday", _WEEKDAY_NUMBER, numbers=False)


def parse_months(value: object, path: str) -> frozenset[int]:
    """Month numbers 1..12 from names, abbreviations or numbers and ranges; "nov:feb" wraps over the year end."""
    return _cyclic(value, path, "month", _MONTH_NUMBER, numbers=True)


def _cyclic(value: object, path: str, what: str, names: Mapping[str, int], *, numbers: bool) -> frozenset[int]:
    low, count = min(names.values()), len(set(names.values()))

    def one(text: str, item_path: str) -> int:
        key = text.strip().lower()
        if key in names:
            return names[key]
        if numbers and key.isdigit() and low <= int(key) < low + count:
            return int(key)
        raise IntervalError(item_path, f"unknown {what} {text.strip()!r}")

    found: set[int] = set()
    for item_path, item in items_of(value, path):
        if numbers and isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str):
            raise IntervalError(item_path, f"{what} must be a name, got {item!r}")
        match = _RANGE.fullmatch(item)
        first, last = (one(match[1], item_path), one(match[2], item_path)) if match else (one(item, item_path),) * 2
        # Alertmanager rejects "saturday:sunday"; counting on over the week's (or year's) end is what people mean.
        found.update(low + (first - low + step) % count for step in range((last - first) % count + 1))
    return frozenset(found)


def parse_days_of_month(value: object, path: str) -> tuple[tuple[int, int], ...]:
    """Inclusive (first, last) day ranges; negative days count from the month's end (-1 is the last day)."""

    def check(first: int, last: int, item_path: str) -> tuple[int, int]:
        for day in (first, last):
            if day == 0 or not -31 <= day <= 31:
                raise IntervalError(item_path, f"day {day} is not a day of the month (1..31 or -31..-1)")
        if first < 0 < last:
            raise IntervalError(item_path, f"end day {last} must be negative when the start day {first} is")
        # Months differ in length; judge the order on a 28-day month, as Alertmanager does.
        if (first if first > 0 else 29 + first) > (last if last > 0 else 29 + last):
            raise IntervalError(item_path, f"end day {last} is before start day {first}")
        return first, last

    return _numeric_ranges(value, path, "day of the month", check)


def parse_years(value: object, path: str) -> tuple[tuple[int, int], ...]:
    """Inclusive (first, last) year ranges."""

    def check(first: int, last: int, item_path: str) -> tuple[int, int]:
        for year in (first, last):
            if not 1 <= year <= 9999:
                raise IntervalError(item_path, f"year {year} is out of range")
        if last < first:
            raise IntervalError(item_path, f"end year {last} is before start year {first}")
        return first, last

    return _numeric_ranges(value, path, "year", check)


def _numeric_ranges(
    value: object, path: str, what: str, check: Callable[[int, int, str], tuple[int, int]]
) -> tuple[tuple[int, int], ...]:
    def number(text: str, item_path: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise IntervalError(item_path, f"{text.strip()!r} is not a {what}") from None

    found: list[tuple[int, int]] = []
    for item_path, item in items_of(value, path):
        if isinstance(item, int) and not isinstance(item, bool):
            found.append(check(item, item, item_path))
            continue
        if not isinstance(item, str):
            raise IntervalError(item_path, f"{item!r} is not a {what}")
        match = _RANGE.fullmatch(item)  # the lazy first group keeps a leading sign: "-7:-1"
        if match:
            found.append(check(number(match[1], item_path), number(match[2], item_path), item_path))
        else:
            only = number(item, item_path)
            found.append(check(only, only, item_path))
    return tuple(found)


def parse_flag(value: object, path: str) -> bool:
    """A TOML boolean; strings such as "yes" are refused rather than guessed."""
    if not isinstance(value, bool):
        raise IntervalError(path, f"must be true or false, got {value!r}")
    return value
