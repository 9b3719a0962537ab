"""`inqd queue` as a text table whose columns line up with Korean in them.

A terminal gives a Hangul syllable (an East Asian wide character) two columns and a combining mark none, so
columns are padded by display width, not by `len()`. The standard library's Unicode tables are enough for
the text we print (Hangul, ASCII, a few symbols), so no extra package.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from aggregator.cli.words import Words
from core.redact import excerpt

_WIDE = frozenset({"W", "F"})
_ZERO_WIDTH_CATEGORIES = frozenset({"Mn", "Me", "Cf"})
_EXCERPT_CHARS = 60


def display_width(text: str) -> int:
    """How many terminal columns `text` takes."""
    width = 0
    for char in text:
        if unicodedata.category(char) in _ZERO_WIDTH_CATEGORIES:
            continue
        width += 2 if unicodedata.east_asian_width(char) in _WIDE else 1
    return width


def pad(text: str, width: int, *, right: bool = False) -> str:
    """`text` padded with spaces to `width` display columns (on the left when `right`)."""
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


def _marks(entry: dict[str, Any], words: Words) -> str:
    marks = [
        words("queue_promised", at=entry["promise_kst"]) if entry["promise_kst"] else "",
        words("queue_snoozed") if entry["snoozed_until"] else "",
        words("queue_handled") if entry["handled"] else "",
    ]
    return " ".join(mark for mark in marks if mark)


def queue_table(entries: Sequence[dict[str, Any]], words: Words) -> list[str]:
    """The header, one line per open inquiry, and the count; the excerpt (last) is not padded."""
    rows = [
        [
            str(entry["id"]),
            entry["marketplace_label"],
            entry["stream_label"],
            entry["received_kst"],
            entry["deadline_kst"],
            entry["left"],
            " ".join(part for part in (_marks(entry, words), excerpt(entry["excerpt"], _EXCERPT_CHARS)) if part),
        ]
        for entry in entries
    ]
    header = words("queue_columns").split("|")
    widths = [max(display_width(row[n]) for row in [header, *rows]) for n in range(len(header) - 1)]
    lines = [
        "  ".join(pad(cell, widths[n], right=n == 0) for n, cell in enumerate(row[:-1])) + "  " + row[-1]
        for row in [header, *rows]
    ]
    return [*lines, words("queue_count", count=len(entries))]
