"""Where a stored answer time comes from (the `answer_time_source` column), decided on every write of answered_at.

The report wants the first answer's time. The marketplace's own time is the best there is; the poll that first saw
the inquiry answered is an upper bound (at most one poll interval late); an inquiry already answered when inqd
first saw it, with no time from the API, has no known answer time at all.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

from aggregator.store.schema import _INQUIRY_COLUMNS
from core.models import Inquiry

# The values of policies.answer_report.AnswerTimeSource (the store imports nothing above core).
MARKETPLACE, POLL, UNKNOWN = "marketplace", "poll", "unknown"
_COLUMNS = [c.strip() for c in _INQUIRY_COLUMNS.split(",")]
ANSWERED_AT = _COLUMNS.index("answered_at")
_ANSWERED = _COLUMNS.index("answered")


def fresh_source(inq: Inquiry) -> str | None:
    """The source of a new inquiry's answer time: the marketplace's, or unknown when it came answered without one."""
    if not inq.answered:
        return None
    return MARKETPLACE if inq.answered_at is not None else UNKNOWN


def keep_answer_times(
    rows: MutableMapping[str, tuple[Any, ...]],
    by_id: Mapping[str, Inquiry],
    stored: Mapping[str, tuple[tuple[Any, ...], str | None]],
    now_s: str,
) -> dict[str, str | None]:
    """Fill the answer time the connector left out; returns the source for each known inquiry's row.

    `stored` holds each known inquiry's stored row and source. Answered now and open before, without a time from
    the marketplace: this poll's time. Answered before and still answered without one: the time stored then (a
    later poll neither erases it nor counts as a change). Reopened: no time, no source.
    """
    sources: dict[str, str | None] = {}
    for ext, (stored_row, stored_source) in stored.items():
        inq = by_id[ext]
        if not inq.answered:
            sources[ext] = None
        elif inq.answered_at is not None:
            sources[ext] = MARKETPLACE
        elif stored_row[_ANSWERED]:
            rows[ext] = _with_answered_at(rows[ext], stored_row[ANSWERED_AT])
            sources[ext] = stored_source
        else:
            rows[ext] = _with_answered_at(rows[ext], now_s)
            sources[ext] = POLL
    return sources


def _with_answered_at(row: tuple[Any, ...], value: str | None) -> tuple[Any, ...]:
    return (*row[:ANSWERED_AT], value, *row[ANSWERED_AT + 1 :])
