"""Quiet and work hours as a seller writes them: interval names, or plain "days + times" such as `"22-9"`.

`quiet_hours` and `work_hours` take one string or a list of strings; each is the name of a time interval (built in,
or defined under `[[time_intervals]]`) or hours in the form `inqd init` asks for: `"22-9"`, `"22:00-09:00"`,
`"월-금 13:00-18:00"`, `"mon-fri 10-19"`, `"토,일 10:00-12:00, 14:00-16:00"`, or `"none"`/`"없음"` for nothing.
"""

from __future__ import annotations

import re

from aggregator.settings.problems import HOURS_EXAMPLES, Problem
from policies.intervals import IntervalError, TimeInterval, parse_interval
from policies.intervals_parse import WEEKDAYS, parse_time_range

_DAYS = {d: d for d in WEEKDAYS} | {d[:3]: d for d in WEEKDAYS} | dict(zip("월화수목금토일", WEEKDAYS, strict=True))
NONE_WORDS = frozenset({"none", "없음", "-"})
_EVERY_DAY = {"daily", "매일"}
# "22-9", "22시-9시", "9:30-18": hours without minutes are whole hours.
_HOURS_RANGE = re.compile(r"(\d{1,2})(?::(\d{2}))?시?-(\d{1,2})(?::(\d{2}))?시?")


def _clock_range(token: str) -> str:
    """`22-9` as `22:00-09:00`; anything else unchanged (the interval parser says what is wrong with it)."""
    match = _HOURS_RANGE.fullmatch(token)
    if match is None:
        return token
    start_h, start_m, end_h, end_m = match.groups()
    return f"{int(start_h):02d}:{start_m or '00'}-{int(end_h):02d}:{end_m or '00'}"


def parse_hours(text: str) -> dict[str, list[str]] | None:
    """Hours such as `"mon-fri 13:00-18:00"` or `"22-9"` as one interval spec; None for "none".

    Raises IntervalError (one readable line) when the policies' own parser refuses it.
    """
    if text.strip().lower() in NONE_WORDS:
        return None
    days: list[str] = []
    times: list[str] = []
    for token in re.split(r"[\s,]+", text.strip().replace("~", "-")):
        if not token or token.lower() in _EVERY_DAY:
            continue
        if token[0].isdigit():
            times.append(_clock_range(token))
            continue
        first, sep, last = token.lower().partition("-")
        days.append(f"{_DAYS.get(first, first)}:{_DAYS.get(last, last)}" if sep else _DAYS.get(first, first))
    if not times:
        raise IntervalError("times", "give a time range such as 22:00-09:00")
    spec = {"weekdays": days, "times": times} if days else {"times": times}
    parse_interval("answer", [spec])
    minutes = [parse_time_range(t, "times") for t in times]  # canonical HH:MM, so equal answers compare equal
    spec["times"] = [f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in minutes]
    return spec


def hours_items(value: object) -> object:
    """The items of an hours key: one string becomes a list of one; any other shape says what is expected."""
    if isinstance(value, str):
        return () if value.strip().lower() in NONE_WORDS else (value,)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise Problem("hours_form", examples=HOURS_EXAMPLES)


def check_hours(key: str, items: tuple[str, ...], known_names: set[str]) -> None:
    """Raise a Problem naming the first item of `key` that is neither a known interval name nor hours."""
    for index, item in enumerate(items):
        if item in known_names:
            continue
        try:
            parse_hours(item)
        except IntervalError as err:
            # A word is a name that is not defined; anything with a digit was meant as hours.
            kind = "hours_text" if any(c.isdigit() for c in item) else "hours_name"
            at = f"{key}[{index}]" if len(items) > 1 else key
            names = ", ".join(sorted(known_names))
            raise Problem(kind, at=at, value=item, names=names, examples=HOURS_EXAMPLES, detail=err) from None


def hours_interval(item: str) -> TimeInterval | None:
    """The interval of hours written as `item` (checked at load); None for "none"."""
    spec = parse_hours(item)
    return None if spec is None else parse_interval(item, [spec])
