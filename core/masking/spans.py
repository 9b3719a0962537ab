"""What the detectors find (a typed span with its masked form), width folding, and applying masks to a text."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class PiiKind(StrEnum):
    """The kinds of buyer data the masker hides."""

    PHONE = "phone"
    EMAIL = "email"
    ACCOUNT = "account"  # bank accounts and card numbers
    CUSTOMS = "customs"  # 개인통관고유부호
    ID_NUMBER = "id_number"  # 주민/외국인등록번호
    ADDRESS = "address"
    NAME = "name"


@dataclass(frozen=True, slots=True)
class Found:
    """One piece of buyer data: text[start:end] is replaced by `masked`."""

    start: int
    end: int
    kind: PiiKind
    masked: str


# Full-width and look-alike characters buyers paste from phones and PDFs, folded one to one so offsets stay put.
_FOLD = str.maketrans(
    {
        **{chr(0xFF10 + d): str(d) for d in range(10)},
        **{chr(0xFF21 + i): chr(0x41 + i) for i in range(26)},
        **{chr(0xFF41 + i): chr(0x61 + i) for i in range(26)},
        "－": "-",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "―": "-",
        "−": "-",
        "．": ".",
        "＋": "+",
        "（": "(",
        "）": ")",
        "＠": "@",
        "：": ":",
        "＊": "*",
        "／": "/",
        "，": ",",
        "\u3000": " ",
        "\u00a0": " ",
    }
)


def fold(text: str) -> str:
    """`text` with full-width digits, letters and punctuation as ASCII; same length, same offsets."""
    return text.translate(_FOLD)


class Claimed:
    """The spans found so far in one text, with a map of claimed characters: overlap checks cost the span's length,
    not the number of spans (a long text with hundreds of numbers stays linear)."""

    def __init__(self, length: int) -> None:
        self.items: list[Found] = []
        self._map = bytearray(length)
        self.ends: dict[int, Found] = {}
        self.starts: dict[int, Found] = {}

    def free(self, start: int, end: int) -> bool:
        """Whether no claimed span touches [start, end)."""
        return self._map.find(1, start, end) < 0

    def add(self, item: Found) -> bool:
        """Claim `item` unless it overlaps a claimed span; True when it was claimed."""
        if not self.free(item.start, item.end):
            return False
        self.items.append(item)
        self._map[item.start : item.end] = b"\x01" * (item.end - item.start)
        self.ends[item.end] = item
        self.starts[item.start] = item
        return True


def overlaps(found: Iterable[Found], start: int, end: int) -> bool:
    """Whether [start, end) touches any span already found."""
    return any(f.start < end and start < f.end for f in found)


def apply_masks(text: str, found: Iterable[Found]) -> str:
    """`text` with every span replaced by its masked form; on overlap the earlier-found span wins."""
    kept: list[Found] = []
    for item in found:
        if not overlaps(kept, item.start, item.end):
            kept.append(item)
    parts: list[str] = []
    cursor = 0
    for item in sorted(kept, key=lambda f: f.start):
        parts.append(text[cursor : item.start])
        parts.append(item.masked)
        cursor = item.end
    parts.append(text[cursor:])
    return "".join(parts)


def keep_last_digits(value: str, keep: int = 4) -> str:
    """Every digit of `value` but the last `keep` as `*`; separators stay where they are."""
    total = sum(ch.isdigit() for ch in value)
    out: list[str] = []
    seen = 0
    for ch in value:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > total - keep else "*")
        else:
            out.append(ch)
    return "".join(out)
