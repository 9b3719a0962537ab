"""The SQLite store: the only module that speaks SQL.

Every state change is one transaction written before anyone acts on it (outbox pattern): a poll's
inquiries, its cursor, its events and the notifications it causes commit together, so `kill -9` at
any moment either keeps all of it or none of it, and the next poll simply reads the same items again.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from aggregator.models import (
    Category,
    Cursor,
    Inquiry,
    Marketplace,
    MessageKind,
    PollResult,
    StreamKind,
)

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
)

# next_alert_at for an open inquiry whose alerts have all fired: sorts after every real time.
NO_MORE_ALERTS = "9999-12-31T00:00:00.000000Z"

_INQUIRY_COLUMNS = (
    "account_id, stream, external_id, marketplace, received_at, category, title, body, product_name, "
    "order_id, buyer, answered, answered_at, deadline_at, site, answer_ref"
)
_IN_CHUNK = 500  # stays far below SQLite's host-parameter limit


def db_time(value: datetime) -> str:
    """Fixed-width UTC text, so that SQL string order is time order."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A claimed notification waiting to be delivered to one channel."""

    id: int
    kind: MessageKind
    channel: str
    inquiry_id: int | None
    payload: dict[str, Any]
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
    """One alert to queue: its stable key, message kind, due time and payload."""

    key: str
    kind: MessageKind
    due_at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AlertUpdate:
    """The timer's result for one inquiry."""

    inquiry_id: int
    fire: tuple[AlertFire, ...]
    superseded: tuple[tuple[str, datetime], ...]
    next_at: datetime | None


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    """What `record_poll` changed."""

    new_ids: tuple[int, ...]
    answered_ids: tuple[int, ...]
    updated: int
    queued: int


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


def inquiry_row(inq: Inquiry) -> tuple[Any, ...]:
    """The column values of one inquiry, in the order of the `inquiries` columns after `id`."""
    return (
        inq.account_id,
        inq.stream.value,
        inq.external_id,
        inq.marketplace.value,
        db_time(inq.received_at),
        inq.category.value,
        inq.title,
        inq.body,
        inq.product_name,
        inq.order_id,
        inq.buyer,
        int(inq.answered),
        _ts_or_none(inq.answered_at),
        _ts_or_none(inq.deadline_at),
        inq.site,
        inq.answer_ref,
    )


def _inquiry_from_row(row: aiosqlite.Row) -> StoredInquiry:
    return StoredInquiry(
        id=row["id"],
        first_seen_at=_dt(row["first_seen_at"]),
        inquiry=Inquiry(
            account_id=row["account_id"],
            marketplace=Marketplace(row["marketplace"]),
            stream=StreamKind(row["stream"]),
            external_id=row["external_id"],
            received_at=_dt(row["received_at"]),
            category=Category(row["category"]),
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


def _outbox_item(row: aiosqlite.Row) -> OutboxItem:
    return OutboxItem(
        id=row["id"],
        kind=MessageKind(row["kind"]),
        channel=row["channel"],
        inquiry_id=row["inquiry_id"],
        payload=json.loads(row["payload"]),
        attempts=row["attempts"],
        created_at=_dt(row["created_at"]),
    )


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


class Store:
    """Async access to the inqd database. Open with `await Store.open(path)`; close with `aclose()`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        # One connection is shared by the poll, timer and dispatch tasks: a transaction must not interleave.
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Store:
        """Open (creating with mode 0600 and migrating as needed) the database at `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        # Buyer questions and phone numbers live here: no one but the owner may read the file.
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        store = cls(conn, path)
        try:
            await store._setup()
        except BaseException:
            await conn.close()
            raise
        return store

    async def _setup(self) -> None:
        await self._conn.execute("PRAGMA journal_mode=WAL")
        # FULL: our volume is tiny, and "never lose an inquiry" includes power loss.
        await self._conn.execute("PRAGMA synchronous=FULL")
        await self._conn.execute("PRAGMA busy_timeout=5000")
        await self._conn.execute("PRAGMA foreign_keys=ON")
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        if version > len(_MIGRATIONS):
            raise RuntimeError(f"database schema v{version} is newer than this inqd (v{len(_MIGRATIONS)})")
        for target, script in enumerate(_MIGRATIONS[version:], start=version + 1):
            async with self._transaction():
                for statement in filter(str.strip, script.split(";")):
                    await self._conn.execute(statement)
                await self._conn.execute(f"PRAGMA user_version={target:d}")

    async def aclose(self) -> None:
        """Close the connection (waits for queued work)."""
        await self._conn.close()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    # ---- polling -------------------------------------------------------------------------------

    async def load_cursor(self, account_id: str, stream: StreamKind) -> Cursor | None:
        """The cursor saved by the last successful poll of this stream, or None before the first."""
        async with self._conn.execute(
            "SELECT cursor FROM cursors WHERE account_id = ? AND stream = ?", (account_id, stream.value)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else dict(json.loads(row["cursor"]))

    async def record_poll(
        self,
        account_id: str,
        stream: StreamKind,
        result: PollResult,
        *,
        now: datetime,
        channels: Sequence[str],
        notify_new: bool,
    ) -> RecordOutcome:
        """Save a poll's inquiries, answers, cursor, events and notifications in ONE transaction.

        `notify_new` False (the first, backfilling poll) queues one summary per channel instead of a
        message per open inquiry.
        """
        now_s = db_time(now)
        by_id = {inq.external_id: inq for inq in result.inquiries if inq.account_id == account_id}
        async with self._transaction() as db:
            existing = await self._existing(db, account_id, stream, list(by_id))
            # Oldest first, so that ids, and so pushes, follow the order the buyers asked in.
            fresh = sorted(
                (inq for ext, inq in by_id.items() if ext not in existing), key=lambda inq: db_time(inq.received_at)
            )
            async with db.execute("SELECT COALESCE(MAX(id), 0) FROM inquiries") as cur:
                row = await cur.fetchone()
            last_id = int(row[0]) if row else 0
            await db.executemany(
                f"INSERT INTO inquiries ({_INQUIRY_COLUMNS}, first_seen_at, updated_at) "  # noqa: S608 - constant
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*inquiry_row(inq), now_s, now_s) for inq in fresh],
            )
            # BEGIN IMMEDIATE holds the write lock, so every id above last_id is one of ours.
            async with db.execute("SELECT id, external_id FROM inquiries WHERE id > ?", (last_id,)) as cur:
                new_rows = {r["external_id"]: r["id"] for r in await cur.fetchall()}
            changed = [
                (inq, existing[ext])
                for ext, inq in by_id.items()
                if ext in existing and existing[ext][1] != inquiry_row(inq)
            ]
            await db.executemany(
                "UPDATE inquiries SET received_at = ?, category = ?, title = ?, body = ?, product_name = ?, "
                "order_id = ?, buyer = ?, answered = ?, answered_at = ?, deadline_at = ?, site = ?, answer_ref = ?, "
                "updated_at = ?, next_alert_at = NULL WHERE id = ?",  # changed: the timer plans its alerts again
                [(*inquiry_row(inq)[4:], now_s, row_id) for inq, (row_id, _) in changed],
            )
            answered_ids = [row_id for inq, (row_id, old) in changed if inq.answered and not old[11]]
            reopened_ids = [row_id for inq, (row_id, old) in changed if not inq.answered and old[11]]
            if result.open_snapshot is not None:
                answered_ids += await self._apply_snapshot(db, account_id, stream, result, now_s)
            events: list[tuple[str, str, int | None, str, str, str]] = []
            events += [(now_s, "seen", row_id, account_id, stream.value, "{}") for row_id in new_rows.values()]
            events += [(now_s, "answered", row_id, account_id, stream.value, "{}") for row_id in answered_ids]
            events += [(now_s, "reopened", row_id, account_id, stream.value, "{}") for row_id in reopened_ids]
            await db.executemany(
                "INSERT INTO events (at, kind, inquiry_id, account_id, stream, detail) VALUES (?, ?, ?, ?, ?, ?)",
                events,
            )
            open_new = [new_rows[inq.external_id] for inq in fresh if not inq.answered]
            queued = await self._queue_for_poll(
                db, account_id, stream, open_new, len(fresh), now_s, channels, notify_new
            )
            await db.execute(
                "INSERT INTO cursors (account_id, stream, cursor, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (account_id, stream) DO UPDATE SET cursor = excluded.cursor, "
                "updated_at = excluded.updated_at",
                (account_id, stream.value, json.dumps(dict(result.cursor), sort_keys=True), now_s),
            )
            await db.execute(
                "INSERT INTO stream_status (account_id, stream, last_success_at, skipped_total) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (account_id, stream) DO UPDATE SET "
                "last_success_at = excluded.last_success_at, consecutive_failures = 0, "
                "skipped_total = skipped_total + excluded.skipped_total",
                (account_id, stream.value, now_s, result.skipped),
            )
        return RecordOutcome(
            new_ids=tuple(new_rows.values()),
            answered_ids=tuple(answered_ids),
            updated=len(changed),
            queued=queued,
        )

    async def _existing(
        self, db: aiosqlite.Connection, account_id: str, stream: StreamKind, external_ids: Sequence[str]
    ) -> dict[str, tuple[int, tuple[Any, ...]]]:
        found: dict[str, tuple[int, tuple[Any, ...]]] = {}
        for chunk in _chunks(external_ids):
            marks = ",".join("?" * len(chunk))
            async with db.execute(
                f"SELECT id, {_INQUIRY_COLUMNS} FROM inquiries "  # noqa: S608 - only placeholders are inserted
                f"WHERE account_id = ? AND stream = ? AND external_id IN ({marks})",
                (account_id, stream.value, *chunk),
            ) as cur:
                rows = await cur.fetchall()
            found.update((row["external_id"], (row["id"], tuple(row)[1:])) for row in rows)
        return found

    async def _apply_snapshot(
        self, db: aiosqlite.Connection, account_id: str, stream: StreamKind, result: PollResult, now_s: str
    ) -> list[int]:
        snapshot = result.open_snapshot
        assert snapshot is not None
        async with db.execute(
            "SELECT id, external_id FROM inquiries WHERE account_id = ? AND stream = ? AND answered = 0 "
            "AND received_at >= ? AND received_at < ?",
            (account_id, stream.value, db_time(snapshot.received_from), db_time(snapshot.received_to)),
        ) as cur:
            rows = await cur.fetchall()
        gone = [row["id"] for row in rows if row["external_id"] not in snapshot.open_external_ids]
        await db.executemany(
            "UPDATE inquiries SET answered = 1, answered_at = ?, updated_at = ? WHERE id = ?",
            [(now_s, now_s, row_id) for row_id in gone],
        )
        return gone

    async def _queue_for_poll(
        self,
        db: aiosqlite.Connection,
        account_id: str,
        stream: StreamKind,
        open_new: Sequence[int],
        fresh_count: int,
        now_s: str,
        channels: Sequence[str],
        notify_new: bool,
    ) -> int:
        rows: list[tuple[str, str, int | None, str, str, str, str]] = []
        if notify_new:
            for row_id in open_new:
                rows += [
                    (MessageKind.NEW_INQUIRY.value, ch, row_id, "{}", f"new:{row_id}:{ch}", now_s, now_s)
                    for ch in channels
                ]
        elif fresh_count:
            payload = json.dumps(
                {
                    "account_id": account_id,
                    "stream": stream.value,
                    "open": len(open_new),
                    "total": fresh_count,
                }
            )
            rows += [
                (
                    MessageKind.BACKFILL_SUMMARY.value,
                    ch,
                    None,
                    payload,
                    f"backfill:{account_id}:{stream.value}:{ch}",
                    now_s,
                    now_s,
                )
                for ch in channels
            ]
        await db.executemany(
            "INSERT INTO outbox (kind, channel, inquiry_id, payload, dedup_key, due_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
            rows,
        )
        return len(rows)

    async def record_poll_failure(self, account_id: str, stream: StreamKind, *, now: datetime, error: str) -> int:
        """Count a failed poll; returns the number of consecutive failures."""
        now_s = db_time(now)
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO stream_status (account_id, stream, last_error_at, last_error, consecutive_failures) "
                "VALUES (?, ?, ?, ?, 1) ON CONFLICT (account_id, stream) DO UPDATE SET "
                "last_error_at = excluded.last_error_at, last_error = excluded.last_error, "
                "consecutive_failures = consecutive_failures + 1",
                (account_id, stream.value, now_s, error),
            )
            async with db.execute(
                "SELECT consecutive_failures FROM stream_status WHERE account_id = ? AND stream = ?",
                (account_id, stream.value),
            ) as cur:
                row = await cur.fetchone()
        return int(row[0]) if row else 1

    async def stream_statuses(self) -> list[StreamStatus]:
        """Health bookkeeping of every stream that has polled at least once."""
        async with self._conn.execute("SELECT * FROM stream_status ORDER BY account_id, stream") as cur:
            rows = await cur.fetchall()
        return [
            StreamStatus(
                account_id=row["account_id"],
                stream=StreamKind(row["stream"]),
                last_success_at=_dt_or_none(row["last_success_at"]),
                last_error_at=_dt_or_none(row["last_error_at"]),
                last_error=row["last_error"],
                consecutive_failures=row["consecutive_failures"],
                skipped_total=row["skipped_total"],
            )
            for row in rows
        ]

    # ---- queue and timeline ----------------------------------------------------------------------

    async def get_inquiry(self, inquiry_id: int) -> StoredInquiry | None:
        """One inquiry by row id."""
        async with self._conn.execute("SELECT * FROM inquiries WHERE id = ?", (inquiry_id,)) as cur:
            row = await cur.fetchone()
        return None if row is None else _inquiry_from_row(row)

    async def open_inquiries(self) -> list[StoredInquiry]:
        """Every unanswered inquiry, oldest first."""
        async with self._conn.execute("SELECT * FROM inquiries WHERE answered = 0 ORDER BY received_at, id") as cur:
            rows = await cur.fetchall()
        return [_inquiry_from_row(row) for row in rows]

    async def count_inquiries(self) -> int:
        """How many inquiries the store holds."""
        async with self._conn.execute("SELECT COUNT(*) FROM inquiries") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def events_for(self, inquiry_id: int) -> list[Event]:
        """The event log of one inquiry, in order."""
        async with self._conn.execute(
            "SELECT at, kind, inquiry_id, detail FROM events WHERE inquiry_id = ? ORDER BY id", (inquiry_id,)
        ) as cur:
            rows = await cur.fetchall()
        return [Event(_dt(r["at"]), r["kind"], r["inquiry_id"], json.loads(r["detail"])) for r in rows]

    async def add_event(
        self,
        kind: str,
        *,
        now: datetime,
        inquiry_id: int | None = None,
        account_id: str | None = None,
        stream: StreamKind | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one event (e.g. an operator alert) to the log."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO events (at, kind, inquiry_id, account_id, stream, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    db_time(now),
                    kind,
                    inquiry_id,
                    account_id,
                    None if stream is None else stream.value,
                    json.dumps(detail or {}, ensure_ascii=False),
                ),
            )

    # ---- outbox ----------------------------------------------------------------------------------

    async def enqueue(
        self,
        kind: MessageKind,
        *,
        channels: Sequence[str],
        dedup_key: str,
        now: datetime,
        payload: dict[str, Any] | None = None,
        inquiry_id: int | None = None,
        due_at: datetime | None = None,
    ) -> int:
        """Queue one message for each channel; a repeated `dedup_key` is ignored. Returns rows added."""
        now_s = db_time(now)
        body = json.dumps(payload or {}, ensure_ascii=False)
        added = 0
        async with self._transaction() as db:
            for ch in channels:
                cur = await db.execute(
                    "INSERT INTO outbox (kind, channel, inquiry_id, payload, dedup_key, due_at, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
                    (kind.value, ch, inquiry_id, body, f"{dedup_key}:{ch}", db_time(due_at or now), now_s),
                )
                added += cur.rowcount
        return added

    async def claim_due(self, *, now: datetime, lease: timedelta, limit: int) -> list[OutboxItem]:
        """Claim up to `limit` due rows for `lease`; a crashed claimer's rows come back when it expires."""
        now_s = db_time(now)
        async with (
            self._transaction() as db,
            db.execute(
                "UPDATE outbox SET lease_until = ?, attempts = attempts + 1 WHERE id IN ("
                " SELECT id FROM outbox WHERE state = 'pending' AND due_at <= ?"
                " AND (lease_until IS NULL OR lease_until <= ?) ORDER BY due_at, id LIMIT ?)"
                " RETURNING id, kind, channel, inquiry_id, payload, attempts, created_at",
                (db_time(now + lease), now_s, now_s, limit),
            ) as cur,
        ):
            rows = await cur.fetchall()
        items = [_outbox_item(r) for r in rows]
        return sorted(items, key=lambda item: item.id)

    async def next_due_at(self) -> datetime | None:
        """When the earliest pending row becomes claimable, or None when nothing is pending."""
        async with self._conn.execute(
            "SELECT MIN(MAX(due_at, COALESCE(lease_until, due_at))) FROM outbox WHERE state = 'pending'"
        ) as cur:
            row = await cur.fetchone()
        return None if row is None or row[0] is None else _dt(row[0])

    async def _finish(
        self, item: OutboxItem, *, state: str, now: datetime, event: str, note: str, reason: str | None = None
    ) -> None:
        now_s = db_time(now)
        async with self._transaction() as db:
            await db.execute(
                "UPDATE outbox SET state = ?, done_at = ?, lease_until = NULL, last_error = ?, reason = ? WHERE id = ?",
                (state, now_s, note or None, reason, item.id),
            )
            await db.execute(
                "INSERT INTO events (at, kind, inquiry_id, detail) VALUES (?, ?, ?, ?)",
                (
                    now_s,
                    event,
                    item.inquiry_id,
                    json.dumps(
                        {"channel": item.channel, "message": item.kind.value, "note": note, "reason": reason},
                        ensure_ascii=False,
                    ),
                ),
            )

    async def mark_delivered(
        self, item: OutboxItem, *, now: datetime, reason: str = "send_now", note: str = ""
    ) -> None:
        """The channel accepted the message: never send this row again. `reason` records why it went out."""
        await self._finish(item, state="sent", now=now, event="notified", note=note, reason=reason)

    async def mark_dropped(self, item: OutboxItem, *, now: datetime, reason: str) -> None:
        """The message is no longer worth sending (e.g. answered meanwhile)."""
        await self._finish(item, state="dropped", now=now, event="dropped", note=reason, reason=reason)

    async def mark_failed(self, item: OutboxItem, *, now: datetime, error: str) -> None:
        """The channel refused the message for good (a permanent error); kept for `inqd status`."""
        await self._finish(item, state="failed", now=now, event="delivery_failed", note=error)

    async def reschedule(self, item: OutboxItem, *, at: datetime, error: str) -> None:
        """Put a claimed row back as pending, due at `at` (a retry after a transient failure)."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE outbox SET due_at = ?, lease_until = NULL, last_error = ? WHERE id = ?",
                (db_time(at), error, item.id),
            )

    async def outbox_counts(self) -> dict[str, int]:
        """Rows per state."""
        async with self._conn.execute("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state") as cur:
            rows = await cur.fetchall()
        return {r["state"]: r["n"] for r in rows}

    # ---- SLA timers ------------------------------------------------------------------------------

    async def reset_alert_plans(self, fingerprint: str) -> int | None:
        """Make the timer plan every open inquiry again if the policy config changed since the plans were made.

        Returns how many inquiries will be re-planned, or None when `fingerprint` matches the stored one.
        """
        async with self._transaction() as db:
            async with db.execute("SELECT value FROM meta WHERE key = 'plan_fingerprint'") as cur:
                row = await cur.fetchone()
            if row is not None and row[0] == fingerprint:
                return None
            cur = await db.execute("UPDATE inquiries SET next_alert_at = NULL WHERE answered = 0")
            await db.execute(
                "INSERT INTO meta (key, value) VALUES ('plan_fingerprint', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (fingerprint,),
            )
            return cur.rowcount

    async def alert_candidates(self, *, now: datetime, limit: int) -> list[tuple[StoredInquiry, frozenset[str]]]:
        """Open inquiries that need planning or have an alert due, with the keys of alerts already fired."""
        # Two range scans of the partial index (an OR of both made SQLite read and sort every open row).
        async with self._conn.execute(
            "SELECT * FROM inquiries INDEXED BY inquiries_alert_due "
            "WHERE answered = 0 AND next_alert_at IS NULL ORDER BY id LIMIT ?",
            (limit,),
        ) as cur:
            rows = list(await cur.fetchall())
        if len(rows) < limit:
            async with self._conn.execute(
                "SELECT * FROM inquiries INDEXED BY inquiries_alert_due "
                "WHERE answered = 0 AND next_alert_at <= ? ORDER BY next_alert_at LIMIT ?",
                (db_time(now), limit - len(rows)),
            ) as cur:
                rows += await cur.fetchall()
        stored = [_inquiry_from_row(row) for row in rows]
        fired: dict[int, set[str]] = {row.id: set() for row in stored}
        ids = [str(row.id) for row in stored]
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            async with self._conn.execute(
                f"SELECT inquiry_id, key FROM alert_log WHERE inquiry_id IN ({marks})",  # noqa: S608 - placeholders
                tuple(int(i) for i in chunk),
            ) as cur:
                for row in await cur.fetchall():
                    fired[row["inquiry_id"]].add(row["key"])
        return [(row, frozenset(fired[row.id])) for row in stored]

    async def record_alerts(self, updates: Sequence[AlertUpdate], *, channels: Sequence[str], now: datetime) -> int:
        """Queue fired alerts, log them and superseded ones, and store each inquiry's next alert time: one txn."""
        now_s = db_time(now)
        log_rows: list[tuple[int, str, str, str, str]] = []
        outbox_rows: list[tuple[str, str, int, str, str, str, str]] = []
        events: list[tuple[str, str, int, str]] = []
        next_rows: list[tuple[str, int]] = []
        for update in updates:
            for fire in update.fire:
                log_rows.append((update.inquiry_id, fire.key, db_time(fire.due_at), now_s, "queued"))
                payload = json.dumps(fire.payload, ensure_ascii=False, sort_keys=True)
                outbox_rows += [
                    (
                        fire.kind.value,
                        ch,
                        update.inquiry_id,
                        payload,
                        f"alert:{update.inquiry_id}:{fire.key}:{ch}",
                        now_s,
                        now_s,
                    )
                    for ch in channels
                ]
                events.append((now_s, "alert_queued", update.inquiry_id, payload))
            for key, due_at in update.superseded:
                log_rows.append((update.inquiry_id, key, db_time(due_at), now_s, "superseded"))
            next_at = NO_MORE_ALERTS if update.next_at is None else db_time(update.next_at)
            next_rows.append((next_at, update.inquiry_id))
        async with self._transaction() as db:
            await db.executemany(
                "INSERT INTO alert_log (inquiry_id, key, due_at, fired_at, outcome) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (inquiry_id, key) DO NOTHING",
                log_rows,
            )
            await db.executemany(
                "INSERT INTO outbox (kind, channel, inquiry_id, payload, dedup_key, due_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
                outbox_rows,
            )
            await db.executemany("INSERT INTO events (at, kind, inquiry_id, detail) VALUES (?, ?, ?, ?)", events)
            await db.executemany("UPDATE inquiries SET next_alert_at = ? WHERE id = ?", next_rows)
        return len(outbox_rows)

    async def next_alert_at(self) -> datetime | None:
        """When the timer must look next: now-ish if something awaits planning, else the earliest alert."""
        # NULL (awaiting a plan) sorts first: one step of the partial index answers both questions.
        async with self._conn.execute(
            "SELECT next_alert_at FROM inquiries INDEXED BY inquiries_alert_due "
            "WHERE answered = 0 ORDER BY next_alert_at LIMIT 1"
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        if row[0] is None:
            return datetime.min.replace(tzinfo=UTC)
        return None if row[0] == NO_MORE_ALERTS else _dt(row[0])

    async def alert_log(self, inquiry_id: int) -> list[tuple[str, datetime, datetime, str]]:
        """(key, due_at, fired_at, outcome) of every alert handled for one inquiry."""
        async with self._conn.execute(
            "SELECT key, due_at, fired_at, outcome FROM alert_log WHERE inquiry_id = ? ORDER BY due_at, key",
            (inquiry_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [(r["key"], _dt(r["due_at"]), _dt(r["fired_at"]), r["outcome"]) for r in rows]

    # ---- quiet hours -----------------------------------------------------------------------------

    async def hold(self, item: OutboxItem, *, until: datetime, now: datetime, reason: str) -> None:
        """Hold a claimed row until `until` (the end of quiet hours), when the digest folds it."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE outbox SET state = 'held', due_at = ?, lease_until = NULL, reason = ? WHERE id = ?",
                (db_time(until), reason, item.id),
            )
            await db.execute(
                "INSERT INTO events (at, kind, inquiry_id, detail) VALUES (?, 'held', ?, ?)",
                (
                    db_time(now),
                    item.inquiry_id,
                    json.dumps(
                        {
                            "channel": item.channel,
                            "message": item.kind.value,
                            "until": db_time(until),
                            "reason": reason,
                        },
                        ensure_ascii=False,
                    ),
                ),
            )

    async def held_until(self, *, channel: str, until: datetime) -> list[OutboxItem]:
        """Rows of `channel` held for release at or before `until`."""
        async with self._conn.execute(
            "SELECT id, kind, channel, inquiry_id, payload, attempts, created_at FROM outbox "
            "WHERE state = 'held' AND channel = ? AND due_at <= ? ORDER BY id",
            (channel, db_time(until)),
        ) as cur:
            rows = await cur.fetchall()
        return [_outbox_item(r) for r in rows]

    async def fold_into_digest(self, digest: OutboxItem, held: Sequence[OutboxItem], *, now: datetime) -> None:
        """The digest was delivered: mark it sent and the held rows it listed folded, in one transaction."""
        now_s = db_time(now)
        async with self._transaction() as db:
            await db.execute(
                "UPDATE outbox SET state = 'sent', done_at = ?, lease_until = NULL, reason = 'digest' WHERE id = ?",
                (now_s, digest.id),
            )
            await db.executemany(
                "UPDATE outbox SET state = 'folded', done_at = ?, reason = ? WHERE id = ? AND state = 'held'",
                [(now_s, f"digest:{digest.id}", item.id) for item in held],
            )
            await db.executemany(
                "INSERT INTO events (at, kind, inquiry_id, detail) VALUES (?, 'digested', ?, ?)",
                [
                    (
                        now_s,
                        item.inquiry_id,
                        json.dumps({"channel": item.channel, "message": item.kind.value, "digest": digest.id}),
                    )
                    for item in held
                ],
            )

    async def breakthroughs_since(self, start: datetime) -> tuple[int, frozenset[int]]:
        """How many inquiries broke through quiet hours since `start` (on any channel), and which."""
        async with self._conn.execute(
            "SELECT DISTINCT inquiry_id FROM outbox WHERE reason = 'breakthrough' AND done_at >= ?",
            (db_time(start),),
        ) as cur:
            ids = frozenset(int(r[0]) for r in await cur.fetchall() if r[0] is not None)
        return len(ids), ids

    async def breakthrough_notes_since(self, start: datetime, *, channel: str) -> list[dict[str, Any]]:
        """Payloads and inquiry ids of messages that broke through quiet hours since `start` on `channel`."""
        async with self._conn.execute(
            "SELECT inquiry_id, payload, done_at FROM outbox WHERE reason = 'breakthrough' AND channel = ? "
            "AND done_at >= ? ORDER BY done_at",
            (channel, db_time(start)),
        ) as cur:
            rows = await cur.fetchall()
        return [{"inquiry_id": r[0], "payload": json.loads(r[1]), "at": _dt(r[2])} for r in rows]
