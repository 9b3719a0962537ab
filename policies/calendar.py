"""Closed days: public holidays from the pinned `holidays` package plus the seller's own closed and open dates.

The package is imported only when a year's holidays are first needed and were not handed in with
`seed_public_holidays`: importing it loads every country it knows (about 300 modules, ~14 MiB that a process
never gives back), which is why the daemon has a short-lived process compute its years (aggregator.holiday_tables).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

CLOSED_NAME = "휴무"
VACATION_NAME = "휴가"  # days off recorded with `inqd vacation add`
NAME_JOINER = " · "
RANGE_SEPARATOR = ".."
# Korean names where the country has them; the package falls back to its default language elsewhere.
_LANGUAGE = "ko"


def parse_dates(items: Sequence[str]) -> frozenset[date]:
    """Dates from "YYYY-MM-DD" items and inclusive "YYYY-MM-DD..YYYY-MM-DD" ranges; ValueError names the bad item."""
    if isinstance(items, str):  # a bare string is a Sequence too, and would be read character by character
        raise ValueError(f"expected a list of dates, got the string {items!r}")
    found: set[date] = set()
    for item in items:
        found.update(_parse_item(item))
    return frozenset(found)


def _parse_item(item: object) -> Iterator[date]:
    if not isinstance(item, str):
        raise ValueError(f"{item!r} is not a date (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)")
    first_text, sep, last_text = item.partition(RANGE_SEPARATOR)
    first = _parse_one(first_text, item)
    last = _parse_one(last_text, item) if sep else first
    if last < first:
        raise ValueError(f"{item!r}: the range ends before it starts")
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _parse_one(text: str, item: str) -> date:
    text = text.strip()
    # fromisoformat also takes "20251003" and week dates; the config promises one spelling only
    if len(text) != 10 or text[4] != "-" or text[7] != "-":
        raise ValueError(f"{item!r} is not a date (YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{item!r} is not a valid date") from None


# (country, year) -> that year's public holidays as the package computed them, handed in by seed_public_holidays
_SEEDED: dict[tuple[str, int], Mapping[date, str]] = {}


def library_holidays(country: str, year: int) -> dict[date, str]:
    """One year of public holidays computed by the `holidays` package (imported here, on first use)."""
    import holidays  # lazy: see the module docstring

    table = holidays.country_holidays(country, years=year, language=_LANGUAGE)
    return {day: NAME_JOINER.join(table.get_list(day)) for day in sorted(table)}


def seed_public_holidays(country: str, years: Mapping[int, Mapping[date, str]]) -> None:
    """Hand in years of `country`'s holidays computed by `library_holidays` elsewhere (another process)."""
    for year, table in years.items():
        _SEEDED[(country.upper(), year)] = MappingProxyType(dict(table))


def _supported(country: str) -> bool:
    if any(seeded == country for seeded, _ in _SEEDED):
        return True
    import holidays  # lazy: see the module docstring

    return country in holidays.list_supported_countries()


@lru_cache(maxsize=256)
def _public_holidays(country: str, year: int) -> Mapping[date, str]:
    """One year of public holidays, loaded once per process: building a year costs about a millisecond."""
    seeded = _SEEDED.get((country, year))
    return seeded if seeded is not None else MappingProxyType(library_holidays(country, year))


@dataclass(frozen=True)
class Calendar:
    """Which local dates are closed: public holidays of `country`, plus `closed`, minus `open` (open wins)."""

    country: str | None = "KR"
    closed: frozenset[date] = frozenset()
    open: frozenset[date] = frozenset()
    # Labels only: they never change which days are closed, so they stay out of equality and hashing.
    names: Mapping[date, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.country is not None:
            country = self.country.upper()
            if not _supported(country):
                raise ValueError(f"unknown holiday country {self.country!r}")
            object.__setattr__(self, "country", country)
        object.__setattr__(self, "closed", frozenset(self.closed))
        object.__setattr__(self, "open", frozenset(self.open))
        object.__setattr__(self, "names", MappingProxyType(dict(self.names)))

    def is_closed(self, day: date) -> bool:
        """True when the seller does not work on this local date."""
        if day in self.open:
            return False
        return day in self.closed or self._public_name(day) is not None

    def holiday_name(self, day: date) -> str | None:
        """The Korean name of a closed day ("추석 · 개천절" when two fall together), or None on an open day."""
        if not self.is_closed(day):
            return None
        return self.names.get(day) or self._public_name(day) or CLOSED_NAME

    def closed_days(self, start: date, end: date) -> list[tuple[date, str]]:
        """Closed days in [start, end) with their names, in date order."""
        found: list[tuple[date, str]] = []
        day = start
        while day < end:
            name = self.holiday_name(day)
            if name is not None:
                found.append((day, name))
            day += timedelta(days=1)
        return found

    def _public_name(self, day: date) -> str | None:
        if self.country is None:
            return None
        return _public_holidays(self.country, day.year).get(day)
