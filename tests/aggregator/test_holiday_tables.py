"""The daemon's holidays come from the `holidays` package in another process, and equal the package's own."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from aggregator import holiday_tables
from aggregator.holiday_tables import cache_name, seed_daemon_holidays, years_around
from aggregator.holiday_tables import holiday_tables as tables_in
from policies import calendar
from policies.calendar import Calendar, library_holidays

YEARS = [2025, 2026, 2027]


@pytest.fixture(autouse=True)
def _unseeded() -> Iterator[None]:
    """Every test starts and ends with nothing handed to policies.calendar."""
    calendar._SEEDED.clear()
    calendar._public_holidays.cache_clear()
    yield
    calendar._SEEDED.clear()
    calendar._public_holidays.cache_clear()


def test_the_child_computes_what_the_package_computes_here(tmp_path: Path) -> None:
    tables = tables_in(tmp_path, "KR", YEARS)
    assert tables == {year: library_holidays("KR", year) for year in YEARS}
    assert date(2026, 9, 25) in tables[2026]  # 추석: a lunar date, so the lunar tables were really used
    assert (tmp_path / cache_name("KR")).is_file()


def test_years_in_the_file_are_not_computed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = tables_in(tmp_path, "KR", [2026])
    asked: list[list[int]] = []

    def child(country: str, years: list[int]) -> dict[int, dict[date, str]]:
        asked.append(list(years))
        return {year: library_holidays(country, year) for year in years}

    monkeypatch.setattr(holiday_tables, "computed_in_child", child)
    assert tables_in(tmp_path, "KR", [2026]) == first
    assert asked == []
    tables_in(tmp_path, "KR", [2026, 2027])
    assert asked == [[2027]]


def test_a_damaged_file_is_computed_again(tmp_path: Path) -> None:
    (tmp_path / cache_name("KR")).write_text("{not json", encoding="utf-8")
    assert tables_in(tmp_path, "KR", [2026]) == {2026: library_holidays("KR", 2026)}


def test_a_seeded_calendar_answers_as_the_package_does(tmp_path: Path) -> None:
    seed_daemon_holidays(tmp_path, date(2026, 12, 7))
    assert sorted(year for _, year in calendar._SEEDED) == years_around(date(2026, 12, 7)) == [2025, 2026, 2027, 2028]
    seeded = Calendar(country="KR")
    for year in YEARS:
        expected = library_holidays("KR", year)
        days = [date.fromordinal(n) for n in range(date(year, 1, 1).toordinal(), date(year + 1, 1, 1).toordinal())]
        assert {day: seeded.holiday_name(day) for day in days if seeded.is_closed(day)} == expected


def test_a_failing_child_leaves_the_calendar_to_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(country: str, years: list[int]) -> dict[int, dict[date, str]]:
        raise OSError("no interpreter")

    monkeypatch.setattr(holiday_tables, "computed_in_child", broken)
    seed_daemon_holidays(tmp_path, date(2026, 12, 7))
    assert calendar._SEEDED == {}
    assert Calendar(country="KR").holiday_name(date(2026, 9, 25)) == library_holidays("KR", 2026)[date(2026, 9, 25)]
