"""The schema of the inqd database and the plain values the store reads and writes.

The inquiry column list, the fixed-width time text, row converters and the dataclasses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

from aggregator.store.database import Row
from core.instants import from_us
from core.models import (
    Category,
    Inquiry,
    InquiryControls,
    Marketplace,
    MessageKind,
    StreamKind,
)
from core.payloads import OutboxPayload, SlaAlertPayload

# The rows the SLA timer plans: open inquiries, and answered ones whose answer promised a date (its reminder
# outlives the answer). Written exactly as the partial index `inquiries_alert_due`'s predicate, so SQLite uses it.
PLANNED_ROWS = "(answered = 0 OR promise_by_answer = 1)"
# Every planned row must be planned again (a config change, a vacation, a snooze for all): the plan generation in
# meta goes up by one, and each row whose plan carries an older one is stale (aggregator/store/alert_plans.py).
# One row written, where marking 100k wide inquiry rows rewrote each of them before the re-plan rewrote it again.
PLAN_GENERATION_KEY = "plan_generation"
REPLAN_ALL_SQL = (
    "INSERT INTO meta (key, value) VALUES ('plan_generation', '1') "
    "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)"
)
# The current generation, as a scalar subquery (0 before the first bump).
CURRENT_PLAN_GENERATION = "COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'plan_generation'), 0)"

# next_alert_at for an open inquiry whose alerts have all fired: sorts after every real time.
NO_MORE_ALERTS = "9999-12-31T00:00:00.000000Z"

_INQUIRY_COLUMNS = (
    "account_id, stream, external_id, marketplace, received_at, category, title, body, product_name, "
    "order_id, buyer, answered, answered_at, deadline_at, site, answer_ref"
)
INQUIRY_COLUMNS = _INQUIRY_COLUMNS  # public for the ingest benchmark's raw-sqlite3 baseline
_IN_CHUNK = 500  # stays far below SQLite's host-parameter limit


def db_time(value: datetime) -> str:
    """Fixed-width UTC text, so that SQL string order is time order."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    # isoformat is C-fast and fixed-width with timespec="microseconds" (strftime cost a third of an ingest).
    return value.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def db_time_us(us: int) -> str:
    """`db_time` of an instant given as microseconds since the epoch (core/instants.py)."""
    return from_us(us).isoformat(timespec="microseconds")[:-6] + "Z"


def _ts_or_none(value: datetime | None) -> str | None:
    return None if value is None else db_time(value)


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)  # 3.11 reads the trailing Z; ~30x faster than strptime


def _dt_or_none(text: str | None) -> datetime | None:
    return None if text is None else _dt(text)


@dataclass(frozen=True, slots=True)
class StoredInquiry:
    """An inquiry as the store holds it, with its row id and when inqd first saw it."""

    id: int
    inquiry: Inquiry
    first_seen_at: datetime
    controls: InquiryControls = field(default_factory=InquiryControls)


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A claimed notification waiting to be delivered to one channel, its payload already decoded."""

    id: int
    kind: MessageKind
    channel: str
    inquiry_id: int | None
    payload: OutboxPayload
    attempts: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of the event log."""

    at: datetime
    kind: str
    inquiry_id: int | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AlertFire:
    """One alert to queue: its message kind and what the message carries (its key and due time among it)."""

    kind: MessageKind
    alert: SlaAlertPayload


class AlertUpdate(NamedTuple):
    """The timer's result for one inquiry (a tuple: a re-plan makes one per open inquiry)."""

    inquiry_id: int
    fire: tuple[AlertFire, ...]
    superseded: tuple[tuple[str, datetime], ...]
    next_at: datetime | None
    plan_generation: int  # the plan generation current when the inquiry was read: stored with next_at


@dataclass(frozen=True, slots=True)
class TextChange:
    """A known inquiry the marketplace reported with another question's text (kept as first stored)."""

    external_id: str
    fields: tuple[str, ...]  # which: "title", "body"


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """What `record_poll` changed."""

    new_ids: tuple[int, ...]
    answered_ids: tuple[int, ...]
    updated: int
    queued: int
    text_changed: tuple[TextChange, ...] = ()


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """Health bookkeeping of one stream."""

    account_id: str
    stream: StreamKind
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    skipped_total: int
    failing_since: datetime | None = None
    auth_failed: bool = False


@dataclass(frozen=True, slots=True)
class Vacation:
    """Days off the seller recorded with `inqd vacation add`: closed days, first and last inclusive."""

    id: int
    first_day: date
    last_day: date
    note: str


@dataclass(frozen=True, slots=True)
class ChannelFailure:
    """Messages a channel refused for good (kept as `failed`): how many, the latest and its error."""

    channel: str
    count: int
    last_at: datetime
    last_error: str


@dataclass(frozen=True, slots=True)
class QueueSummary:
    """Open inquiries per (account, stream) and per marketplace, with the oldest one's arrival."""

    open_by_stream: dict[tuple[str, str], tuple[int, datetime]]  # -> (count, oldest received_at)
    open_by_marketplace: dict[str, int]


def inquiry_row(inq: Inquiry) -> tuple[Any, ...]:
    """The column values of one inquiry, in the order of the `inquiries` columns after `id`."""
    # The ingest hot path (10,000 rows per backfill): `_value_` and inline None checks skip two Python calls per
    # field that the enum property and `_ts_or_none` cost.
    answered_at, deadline_at = inq.answered_at, inq.deadline_at
    return (
        inq.account_id,
        inq.stream._value_,
        inq.external_id,
        inq.marketplace._value_,
        db_time(inq.received_at),
        inq.category._value_,
        inq.title,
        inq.body,
        inq.product_name,
        inq.order_id,
        inq.buyer,
        1 if inq.answered else 0,
        None if answered_at is None else db_time(answered_at),
        None if deadline_at is None else db_time(deadline_at),
        inq.site,
        inq.answer_ref,
    )


# Enum lookups by value through a dict: calling the enum class costs ~2 µs a time, which a 100k-inquiry
# re-plan pays three times per row.
_MARKETPLACES = {m.value: m for m in Marketplace}
_STREAMS = {s.value: s for s in StreamKind}
_CATEGORIES = {c.value: c for c in Category}
_NO_CONTROLS = InquiryControls()


def _inquiry_from_row(row: Row) -> StoredInquiry:
    snoozed, handled, promised = row["snoozed_until"], row["handled_at"], row["promise_at"]
    return StoredInquiry(
        id=row["id"],
        first_seen_at=_dt(row["first_seen_at"]),
        controls=(
            InquiryControls(
                snoozed_until=_dt_or_none(snoozed),
                handled_at=_dt_or_none(handled),
                promise_at=_dt_or_none(promised),
                promise_note=row["promise_note"] or "",
                promise_by_answer=bool(row["promise_by_answer"]),
            )
            if snoozed or handled or promised
            else _NO_CONTROLS
        ),
        inquiry=Inquiry(
            account_id=row["account_id"],
            marketplace=_MARKETPLACES[row["marketplace"]],
            stream=_STREAMS[row["stream"]],
            external_id=row["external_id"],
            received_at=_dt(row["received_at"]),
            category=_CATEGORIES[row["category"]],
            title=row["title"],
            body=row["body"],
            product_name=row["product_name"],
            order_id=row["order_id"],
            buyer=row["buyer"],
            answered=bool(row["answered"]),
            answered_at=_dt_or_none(row["answered_at"]),
            deadline_at=_dt_or_none(row["deadline_at"]),
            site=row["site"],
            answer_ref=row["answer_ref"],
        ),
    )


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


# Where messages go: the same channels for every kind, or a list per message kind (routing by kind).
Channels = Sequence[str] | Mapping[MessageKind, Sequence[str]]


def channels_for(channels: Channels, kind: MessageKind) -> Sequence[str]:
    """The channels a message of `kind` is queued for."""
    if isinstance(channels, Mapping):
        return channels.get(kind, ())
    return channels
