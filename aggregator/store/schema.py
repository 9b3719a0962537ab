"""The schema of the inqd database and the plain values the store reads and writes.

Migrations, the inquiry column list, the fixed-width time text, row converters and the dataclasses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import aiosqlite

from core.models import (
    Category,
    Inquiry,
    InquiryControls,
    Marketplace,
    MessageKind,
    StreamKind,
)
from core.payloads import OutboxPayload, SlaAlertPayload

_MIGRATIONS: tuple[str, ...] = (
    # v1: inquiries, cursors, events, outbox, stream status
    """
    CREATE TABLE inquiries (
        id INTEGER PRIMARY KEY,
        account_id TEXT NOT NULL,
        stream TEXT NOT NULL,
        external_id TEXT NOT NULL,
        marketplace TEXT NOT NULL,
        received_at TEXT NOT NULL,
        category TEXT NOT NULL,
        title TEXT,
        body TEXT NOT NULL,
        product_name TEXT,
        order_id TEXT,
        buyer TEXT,
        answered INTEGER NOT NULL DEFAULT 0,
        answered_at TEXT,
        deadline_at TEXT,
        first_seen_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (account_id, stream, external_id)
    );
    CREATE INDEX inquiries_open ON inquiries (answered, account_id, stream, received_at);
    CREATE TABLE cursors (
        account_id TEXT NOT NULL,
        stream TEXT NOT NULL,
        cursor TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (account_id, stream)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        inquiry_id INTEGER REFERENCES inquiries (id),
        account_id TEXT,
        stream TEXT,
        detail TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX events_inquiry ON events (inquiry_id, id);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        channel TEXT NOT NULL,
        inquiry_id INTEGER REFERENCES inquiries (id),
        payload TEXT NOT NULL DEFAULT '{}',
        dedup_key TEXT NOT NULL UNIQUE,
        state TEXT NOT NULL DEFAULT 'pending',
        due_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_until TEXT,
        last_error TEXT,
        created_at TEXT NOT NULL,
        done_at TEXT
    );
    CREATE INDEX outbox_due ON outbox (state, due_at);
    CREATE TABLE stream_status (
        account_id TEXT NOT NULL,
        stream TEXT NOT NULL,
        last_success_at TEXT,
        last_error_at TEXT,
        last_error TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        skipped_total INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (account_id, stream)
    );
    """,
    # v2: SLA timers (next alert per open inquiry, the log of fired alerts) and the reason of each outcome
    """
    ALTER TABLE inquiries ADD COLUMN next_alert_at TEXT;
    CREATE INDEX inquiries_alert_due ON inquiries (next_alert_at) WHERE answered = 0;
    CREATE TABLE alert_log (
        inquiry_id INTEGER NOT NULL REFERENCES inquiries (id),
        key TEXT NOT NULL,
        due_at TEXT NOT NULL,
        fired_at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        PRIMARY KEY (inquiry_id, key)
    );
    ALTER TABLE outbox ADD COLUMN reason TEXT;
    CREATE INDEX outbox_held ON outbox (state, channel, due_at);
    """,
    # v3: small key-value facts about the database (e.g. which policy config the stored alert plans follow)
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # v4: the sub-marketplace (G마켓 / 옥션) and what the marketplace needs to answer an item later
    """
    ALTER TABLE inquiries ADD COLUMN site TEXT;
    ALTER TABLE inquiries ADD COLUMN answer_ref TEXT;
    """,
    # v5: find what was sent about an inquiry (to clear it on the phone once answered, and for `inqd explain`)
    """
    CREATE INDEX outbox_inquiry ON outbox (inquiry_id, channel, state);
    """,
    # v6: connection health (since when a stream fails, whether the marketplace refused our credentials) and
    # what has been said about each account's connection, so a restart neither repeats nor forgets it
    """
    ALTER TABLE stream_status ADD COLUMN failing_since TEXT;
    ALTER TABLE stream_status ADD COLUMN auth_failed INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE connection_notices (
        account_id TEXT PRIMARY KEY,
        since TEXT NOT NULL,
        kind TEXT NOT NULL,
        noticed_at TEXT NOT NULL
    );
    """,
    # v7: the seller's controls: per-inquiry snooze / handled / promised call-back, and vacations (closed days
    # kept in the database so `inqd vacation add` takes effect without editing the TOML)
    """
    ALTER TABLE inquiries ADD COLUMN snoozed_until TEXT;
    ALTER TABLE inquiries ADD COLUMN handled_at TEXT;
    ALTER TABLE inquiries ADD COLUMN promise_at TEXT;
    ALTER TABLE inquiries ADD COLUMN promise_note TEXT;
    CREATE TABLE vacations (
        id INTEGER PRIMARY KEY,
        first_day TEXT NOT NULL,
        last_day TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    """,
    # v8: outbox payloads are typed records (core/payloads.py). Rows written before keep working: an alert's
    # `label` becomes `quiet_from` (evening warning) or `note` (promise alerts) and the unread `alert` goes; a
    # backfill summary gains its account's marketplace, which only the inquiries it brought can tell.
    """
    UPDATE outbox SET payload = json_remove(
        json_set(
            payload,
            '$.quiet_from', CASE WHEN kind = 'evening_warning' THEN json_extract(payload, '$.label') END,
            '$.note', CASE WHEN kind IN ('promise_reminder', 'promise_missed')
                THEN COALESCE(json_extract(payload, '$.label'), '') ELSE '' END
        ),
        '$.label', '$.alert'
    )
    WHERE kind IN ('sla_warning', 'sla_breach', 'sla_repeat', 'evening_warning', 'promise_reminder', 'promise_missed')
    AND json_valid(payload) AND json_type(payload, '$.quiet_from') IS NULL;
    UPDATE outbox SET payload = json_set(
        payload,
        '$.marketplace',
        (SELECT marketplace FROM inquiries WHERE account_id = json_extract(outbox.payload, '$.account_id') LIMIT 1)
    )
    WHERE kind = 'backfill_summary' AND json_valid(payload) AND json_type(payload, '$.marketplace') IS NULL;
    """,
    # v9: one summary per account's first connection, listing its streams: a summary written for one stream
    # becomes a list of that one stream.
    """
    UPDATE outbox SET payload = json_object(
        'account_id', json_extract(payload, '$.account_id'),
        'marketplace', json_extract(payload, '$.marketplace'),
        'streams', json_array(json_object(
            'stream', json_extract(payload, '$.stream'),
            'open', json_extract(payload, '$.open'),
            'total', json_extract(payload, '$.total')
        ))
    )
    WHERE kind = 'backfill_summary' AND json_valid(payload) AND json_type(payload, '$.streams') IS NULL;
    """,
    # v10: the seller's answers and their lifecycle (aggregator/store/answers.py). A state is written before the
    # request it leads to; the partial unique indexes keep one draft and one live answer per inquiry.
    """
    CREATE TABLE answers (
        id INTEGER PRIMARY KEY,
        inquiry_id INTEGER NOT NULL REFERENCES inquiries (id),
        text TEXT NOT NULL,
        final INTEGER NOT NULL DEFAULT 1,
        state TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        approved_by TEXT,
        approved_at TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        lease_until TEXT,
        maybe_delivered INTEGER NOT NULL DEFAULT 0,
        open_polls INTEGER NOT NULL DEFAULT 0,
        outcome TEXT,
        marketplace_message TEXT NOT NULL DEFAULT '',
        sent_at TEXT,
        done_at TEXT
    );
    CREATE UNIQUE INDEX answers_one_draft ON answers (inquiry_id) WHERE state = 'draft';
    CREATE UNIQUE INDEX answers_one_live ON answers (inquiry_id)
        WHERE state IN ('approved', 'sending', 'sent', 'uncertain');
    CREATE INDEX answers_due ON answers (state, next_attempt_at);
    """,
)

# Every open inquiry must be planned again (a config change, a vacation, a snooze for all). Rather than NULL,
# which loses the order, the old next alert time gets a "0" prefix: it sorts before every real time, so the
# timer treats it as due now, and among those the ones whose alerts were soonest come first — an alert due
# during a 100k re-plan waits for one batch, not for the whole re-plan.
REPLAN_ALL_SQL = (
    "UPDATE inquiries SET next_alert_at = '0' || next_alert_at "
    "WHERE answered = 0 AND next_alert_at IS NOT NULL AND next_alert_at NOT LIKE '0%'"
)
STALE_PLAN_PREFIX = "0"

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


@dataclass(frozen=True, slots=True)
class AlertUpdate:
    """The timer's result for one inquiry."""

    inquiry_id: int
    fire: tuple[AlertFire, ...]
    superseded: tuple[tuple[str, datetime], ...]
    next_at: datetime | None


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


def _inquiry_from_row(row: aiosqlite.Row) -> StoredInquiry:
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
