"""Type-checked getters for the fields of marketplace list rows, shared by every `*_rows` module.

Each raises MalformedItem naming the field and what was expected, never the value: rows carry buyer text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TypeGuard

from connectors.base import MalformedItem
from core.models import KST, Category

MIN_YEAR, MAX_YEAR = 2000, 2100  # outside: a broken field, and one the store and the SLA arithmetic cannot hold


def is_int(value: object) -> TypeGuard[int]:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def mapping(value: object, field: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise MalformedItem(f"{field}: expected an object")
    return value


def required(row: Mapping[str, object], key: str) -> object:
    if row.get(key) is None:
        raise MalformedItem(f"{key}: missing")
    return row[key]


def list_field(row: Mapping[str, object], key: str) -> list[object]:
    """`row[key]` as a list; a missing or null one is empty."""
    value = row.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedItem(f"{key}: expected a list")
    return value


def numeric_id(value: object, field: str) -> str:
    """A non-negative integer id (a number or a string of ASCII digits), as a string."""
    if is_int(value) and value >= 0:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return value
    raise MalformedItem(f"{field}: expected a numeric id")


def optional_str(value: object, field: str) -> str | None:
    """A string, or None for a missing or empty one."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedItem(f"{field}: expected a string")
    return storable(value)


def storable(text: str) -> str:
    """`text` with each lone surrogate (a JSON \\ud83d escape) as U+FFFD: SQLite stores UTF-8 only."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def date_time(value: object, field: str) -> datetime:
    """An ISO 8601 date-time ("yyyy-MM-dd HH:mm:ss" included); one without an offset is Korean local time."""
    if not isinstance(value, str):
        raise MalformedItem(f"{field}: expected a date-time string")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as err:
        raise MalformedItem(f"{field}: not a date-time") from err
    parsed = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=KST)
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise MalformedItem(f"{field}: not a plausible date-time")
    return parsed


def category_by_words(text: str | None, words: Iterable[tuple[str, Category]]) -> Category:
    """The category of the first word in `words` that `text` contains; OTHER if none is."""
    return next((category for word, category in words if word in (text or "")), Category.OTHER)
