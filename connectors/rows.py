"""Type-checked getters for the fields of marketplace list rows, shared by every `*_rows` module.

Each raises MalformedItem naming the field and what was expected, never the value: rows carry buyer text.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TypeGuard, TypeVar

from connectors.base import MalformedItem
from core.models import KST, Category, Inquiry, Marketplace, StreamKind

T = TypeVar("T")
# One stream's row normalizer: (row, account_id) -> Inquiry.
RowParser = Callable[[Mapping[str, object], str], Inquiry]

MIN_YEAR, MAX_YEAR = 2000, 2100  # outside: a broken field, and one the store and the SLA arithmetic cannot hold
# The category words Coupang's, 11st's and ESM's labels share. First match wins: 배송 comes after the kinds it
# qualifies ("배송지시 이후 반품문의"), and 상품 catches the product questions ("쇼핑상품문의>...") naming none of them.
CATEGORY_WORDS = (
    ("반품", Category.RETURN),
    ("교환", Category.EXCHANGE),
    ("취소", Category.CANCEL),
    ("환불", Category.REFUND),
    ("배송", Category.DELIVERY),
    ("상품", Category.PRODUCT),
)


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


def optional(parse: Callable[[object, str], T], value: object, field: str) -> T | None:
    """`parse(value, field)`, or None for a missing or empty value."""
    return None if value is None or value == "" else parse(value, field)


def text(value: object, field: str, *, html_escaped: bool = False) -> str:
    """A string as plain text: CRLF as LF, trimmed, storable; an `html_escaped` one unescaped first."""
    if not isinstance(value, str):
        raise MalformedItem(f"{field}: expected a string")
    if html_escaped:
        # Some rows arrive HTML-escaped (&lt;&lt;name&gt;&gt;) and others raw; normalize to plain text.
        value = html.unescape(value)
    return storable(value.replace("\r\n", "\n").strip())


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


def kst_date_time(value: object, field: str) -> datetime:
    """`date_time` in Korean time, whatever offset the marketplace sent it with."""
    return date_time(value, field).astimezone(KST)


def category_by_words(text: str | None, words: Iterable[tuple[str, Category]]) -> Category:
    """The category of the first word in `words` that `text` contains; OTHER if none is."""
    return next((category for word, category in words if word in (text or "")), Category.OTHER)


def parse_row(
    marketplace: Marketplace, parsers: Mapping[StreamKind, RowParser], raw: object, account_id: str, stream: StreamKind
) -> Inquiry:
    """Normalize one list row of `stream` with its parser; raises MalformedItem naming the first bad field."""
    try:
        parse = parsers[stream]
    except KeyError as err:
        raise ValueError(f"{marketplace} has no {stream} stream") from err
    return parse(mapping(raw, "row"), account_id)
