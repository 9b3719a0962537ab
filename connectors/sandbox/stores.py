"""What every sandbox's data shares: the lock, aware seeded times, Korean calendar dates and newest-first pages."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, TypeVar

from core.models import KST

ItemT = TypeVar("ItemT")
RowT = TypeVar("RowT")
EVERY_ROW = slice(None)  # the default page of the row queries: every match


class SandboxStore:
    """The base of each marketplace's store: the seeded items live behind one lock.

    The lock is re-entrant because seeding calls nest (seed an item, then answer it) and the sandbox's HTTP handler
    holds it around each request while it reads and changes the same items.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()


def require_aware(value: datetime) -> None:
    """Refuse a naive seeded time: the sandbox compares every time against aware request times."""
    if value.tzinfo is None:
        raise ValueError("seeded datetimes must be timezone-aware")


def on_korean_dates(at: datetime, start: date, end: date) -> bool:
    """Whether `at` falls on a Korean calendar date from `start` to `end`, both included."""
    return start <= at.astimezone(KST).date() <= end


def newest_first(
    matches: Iterable[ItemT],
    *,
    key: Callable[[ItemT], Any],
    page: slice,
    row: Callable[[ItemT], RowT],
) -> tuple[list[RowT], int]:
    """The rows of `page` of the matches sorted by `key`, newest first, and how many matched.

    Only the page is rendered, so paging through N items costs O(N) per page, not O(N) formatting per page.
    """
    ordered = sorted(matches, key=key, reverse=True)
    return [row(item) for item in ordered[page]], len(ordered)
