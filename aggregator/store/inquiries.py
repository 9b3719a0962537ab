"""Polls, inquiries and the event log: cursors, `record_poll`, stream health, the queue and timeline."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from aggregator.store.answer_times import POLL, fresh_source, keep_answer_times
from aggregator.store.answers import settle_answers_after_poll
from aggregator.store.base import StoreBase
from aggregator.store.database import Connection
from aggregator.store.first_connection import queue_first_poll_summary
from aggregator.store.leases import AccountLease, check_lease
from aggregator.store.schema import (
    _INQUIRY_COLUMNS,
    Channels,
    Event,
    RecordOutcome,
    StoredInquiry,
    TextChange,
    _chunks,
    _dt,
    _inquiry_from_row,
    channels_for,
    db_time,
    inquiry_row,
)
from core.models import Cursor, Inquiry, MessageKind, PollResult, StreamKind
from core.payloads import StreamBackfill

_COLUMNS = [c.strip() for c in _INQUIRY_COLUMNS.split(",")]
# inquiry_row's values from received_at on: what a poll may change of a stored inquiry (not its key columns).
_FIRST_UPDATED = _COLUMNS.index("received_at")
# What the buyer asked: a known inquiry never takes another question's text (see `_keep_questions`).
_QUESTION = {name: _COLUMNS.index(name) for name in ("title", "body")}


class _StoredRow(NamedTuple):
    """An inquiry as stored: its row id, its inquiry_row values, whether it was answered, and its answer time's
    source (aggregator.store.answer_times)."""

    id: int
    row: tuple[Any, ...]
    answered: bool
    time_source: str | None = None


def _keep_questions(rows: dict[str, tuple[Any, ...]], existing: Mapping[str, _StoredRow]) -> list[TextChange]:
    """Put back the stored question text in `rows` of known inquiries; returns those whose text came back changed.

    A marketplace reports a known id with another question only when ids were reused (a sandbox started over, a
    marketplace's migration): the seller was told about the stored question, so it stays. An answer is no new
    question: the answered flag and time still update.
    """
    changes = []
    for ext, stored in existing.items():
        row = rows[ext]
        fields = tuple(name for name, at in _QUESTION.items() if row[at] != stored.row[at])
        if fields:
            rows[ext] = tuple(stored.row[at] if at in _QUESTION.values() else value for at, value in enumerate(row))
            changes.append(TextChange(ext, fields))
    return changes


def _cursor_json(cursor: Cursor) -> str:
    return json.dumps(dict(cursor), sort_keys=True)


def _arrival(inq: Inquiry) -> datetime:
    """Sort key of new inquiries: arrival time, refusing a naive one as every store write does."""
    if inq.received_at.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return inq.received_at


class InquiriesMixin(StoreBase):
    """The `Store` methods for polling and for reading inquiries and their events."""

    # ---- polling -------------------------------------------------------------------------------

    @staticmethod
    def cursor_as_loaded(cursor: Cursor) -> Cursor:
        """`cursor` as `load_cursor` gives it back once record_poll has saved it (through its JSON)."""
        return dict(json.loads(_cursor_json(cursor)))

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
        channels: Channels,
        notify_new: bool,
        account_streams: Collection[StreamKind] = (),
        lease: AccountLease | None = None,
    ) -> RecordOutcome:
        """Save a poll's inquiries, answers, cursor, events and notifications in ONE transaction.

        `notify_new` False (the first, backfilling poll) folds what it brought into its account's one summary
        of the first connection instead of a message per open inquiry; `account_streams` are the account's
        configured streams, whose first polls that summary waits for (empty: this stream alone).
        A known inquiry that comes back with another question's text keeps its own (`RecordOutcome.text_changed`).
        `lease` (several instances on PostgreSQL): the account's lease this poll ran under, checked inside the
        transaction: if another instance has claimed the account since, LeaseLost is raised and nothing is written.
        """
        now_s = db_time(now)
        by_id = {inq.external_id: inq for inq in result.inquiries if inq.account_id == account_id}
        rows = {ext: inquiry_row(inq) for ext, inq in by_id.items()}  # once each: compared, then written

        async def work(db: Connection) -> RecordOutcome:
            if lease is not None:
                await check_lease(db, lease, None)
            existing = await self._existing(db, account_id, stream, list(by_id))
            text_changed = _keep_questions(rows, existing)
            sources = keep_answer_times(
                rows, by_id, {ext: (stored.row, stored.time_source) for ext, stored in existing.items()}, now_s
            )
            # Oldest first, so that ids, and so pushes, follow the order the buyers asked in.
            fresh = sorted((inq for ext, inq in by_id.items() if ext not in existing), key=_arrival)
            new_rows = await self._insert_fresh(db, (account_id, stream), fresh, rows, now_s)
            changed = [
                (inq, existing[ext]) for ext, inq in by_id.items() if ext in existing and existing[ext].row != rows[ext]
            ]
            answered_ids, reopened_ids = await self._update_changed(db, changed, rows, sources, now_s)
            if result.open_snapshot is not None:
                answered_ids += await self._apply_snapshot(db, account_id, stream, result, now_s)
            await _record_state_events(db, account_id, stream, answered_ids, reopened_ids, now_s)
            open_new = [new_rows[inq.external_id] for inq in fresh if not inq.answered]
            if notify_new:
                queued = await self._queue_new(db, open_new, now_s, channels)
            else:
                brought = StreamBackfill(stream, open=len(open_new), total=len(fresh))
                marketplace = fresh[0].marketplace if fresh else None
                queued = await queue_first_poll_summary(
                    db, account_id, brought, marketplace, account_streams=account_streams, now=now, channels=channels
                )
            queued += await self._queue_clears(db, answered_ids, now_s, channels)
            # The seller's answers learn from the same poll: confirmed, answered elsewhere, or seen still open.
            await settle_answers_after_poll(
                db, now_s=now_s, channels=channels, stream=(account_id, stream), poll=result
            )
            await self._save_progress(db, account_id, stream, result, now_s)
            return RecordOutcome(
                new_ids=tuple(new_rows.values()),
                answered_ids=tuple(answered_ids),
                updated=len(changed),
                queued=queued,
                text_changed=tuple(text_changed),
            )

        # The whole transaction in one call on the database thread (~20 statements: a thread hop each before).
        return await self._transaction_in_one_hop(work)

    async def _insert_fresh(
        self,
        db: Connection,
        where: tuple[str, StreamKind],
        fresh: Sequence[Inquiry],
        rows: Mapping[str, tuple[Any, ...]],
        now_s: str,
    ) -> dict[str, int]:
        """Insert the inquiries first seen now; returns their row ids by external id."""
        if not fresh:  # most polls: nothing to insert, and no ids to read
            return {}
        async with db.execute("SELECT COALESCE(MAX(id), 0) FROM inquiries") as cur:
            row = await cur.fetchone()
        last_id = int(row[0]) if row else 0
        await db.executemany(
            f"INSERT INTO inquiries ({_INQUIRY_COLUMNS}, first_seen_at, updated_at, answer_time_source) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*rows[inq.external_id], now_s, now_s, fresh_source(inq)) for inq in fresh],
        )
        # SQLite: BEGIN IMMEDIATE holds the write lock and rowids are max(rowid) + 1: the new rows took the ids
        # right after last_id, in insertion order. Checked by one MAX(id) rather than reading every new row back.
        # PostgreSQL: ids come from a sequence in insertion order; a gap (a rolled-back insert took some) fails
        # the check, and the rows are read back.
        async with db.execute("SELECT COALESCE(MAX(id), 0) FROM inquiries") as cur:
            row = await cur.fetchone()
        if row is not None and int(row[0]) == last_id + len(fresh):
            return {inq.external_id: last_id + n for n, inq in enumerate(fresh, start=1)}
        # Never seen on SQLite; kept so a surprise in rowid assignment cannot mislabel an inquiry. Only this
        # stream's rows: on a shared PostgreSQL another instance may be inserting another account's.
        async with db.execute(
            "SELECT id, external_id FROM inquiries WHERE id > ? AND account_id = ? AND stream = ?",
            (last_id, where[0], where[1].value),
        ) as cur:
            return {r["external_id"]: r["id"] for r in await cur.fetchall()}

    async def _update_changed(
        self,
        db: Connection,
        changed: Sequence[tuple[Inquiry, _StoredRow]],
        rows: Mapping[str, tuple[Any, ...]],
        sources: Mapping[str, str | None],
        now_s: str,
    ) -> tuple[list[int], list[int]]:
        """Write the inquiries that changed; returns the row ids answered and reopened since they were stored."""
        await db.executemany(
            "UPDATE inquiries SET received_at = ?, category = ?, title = ?, body = ?, product_name = ?, "
            "order_id = ?, buyer = ?, answered = ?, answered_at = ?, deadline_at = ?, site = ?, answer_ref = ?, "
            "updated_at = ?, answer_time_source = ?, next_alert_at = NULL "  # changed: the timer plans again
            "WHERE id = ?",
            [
                (*rows[inq.external_id][_FIRST_UPDATED:], now_s, sources[inq.external_id], stored.id)
                for inq, stored in changed
            ],
        )
        answered_ids = [stored.id for inq, stored in changed if inq.answered and not stored.answered]
        reopened_ids = [stored.id for inq, stored in changed if not inq.answered and stored.answered]
        if reopened_ids:  # "handled" lasts until the marketplace shows it answered; a reopen starts over
            await db.executemany(
                "UPDATE inquiries SET handled_at = NULL WHERE id = ?", [(row_id,) for row_id in reopened_ids]
            )
        return answered_ids, reopened_ids

    async def _save_progress(
        self, db: Connection, account_id: str, stream: StreamKind, result: PollResult, now_s: str
    ) -> None:
        """The stream's new cursor, and its health: polled successfully now."""
        await db.execute(
            "INSERT INTO cursors (account_id, stream, cursor, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (account_id, stream) DO UPDATE SET cursor = excluded.cursor, "
            "updated_at = excluded.updated_at",
            (account_id, stream.value, _cursor_json(result.cursor), now_s),
        )
        await db.execute(
            "INSERT INTO stream_status (account_id, stream, last_success_at, first_success_at, skipped_total) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (account_id, stream) DO UPDATE SET "
            "last_success_at = excluded.last_success_at, consecutive_failures = 0, failing_since = NULL, "
            "first_success_at = COALESCE(stream_status.first_success_at, excluded.first_success_at), "
            "auth_failed = 0, skipped_total = stream_status.skipped_total + excluded.skipped_total",
            (account_id, stream.value, now_s, now_s, result.skipped),
        )

    async def _existing(
        self, db: Connection, account_id: str, stream: StreamKind, external_ids: Sequence[str]
    ) -> dict[str, _StoredRow]:
        found: dict[str, _StoredRow] = {}
        for chunk in _chunks(external_ids):
            marks = ",".join("?" * len(chunk))
            async with db.execute(
                f"SELECT id, {_INQUIRY_COLUMNS}, answer_time_source FROM inquiries "  # noqa: S608 - placeholders
                f"WHERE account_id = ? AND stream = ? AND external_id IN ({marks})",
                (account_id, stream.value, *chunk),
            ) as cur:
                rows = await cur.fetchall()
            found.update(
                (
                    row["external_id"],
                    _StoredRow(row["id"], tuple(row)[1:-1], bool(row["answered"]), row["answer_time_source"]),
                )
                for row in rows
            )
        return found

    async def _apply_snapshot(
        self, db: Connection, account_id: str, stream: StreamKind, result: PollResult, now_s: str
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
            "UPDATE inquiries SET answered = 1, answered_at = ?, answer_time_source = ?, updated_at = ? WHERE id = ?",
            [(now_s, POLL, now_s, row_id) for row_id in gone],
        )
        return gone

    async def _queue_new(self, db: Connection, open_new: Sequence[int], now_s: str, channels: Channels) -> int:
        """Queue a push per channel for each new open inquiry."""
        rows = [
            (MessageKind.NEW_INQUIRY.value, ch, row_id, "{}", f"new:{row_id}:{ch}", now_s, now_s)
            for row_id in open_new
            for ch in channels_for(channels, MessageKind.NEW_INQUIRY)
        ]
        await db.executemany(
            "INSERT INTO outbox (kind, channel, inquiry_id, payload, dedup_key, due_at, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
            rows,
        )
        return len(rows)

    async def _queue_clears(self, db: Connection, answered_ids: Sequence[int], now_s: str, channels: Channels) -> int:
        """Queue an `answered` row per clearing channel that showed something about an inquiry now answered."""
        rows = [
            (
                MessageKind.ANSWERED.value,
                channel,
                row_id,
                f"answered:{row_id}:{channel}:{now_s}",  # answered again after a reopen: clear again
                now_s,
                now_s,
                row_id,
                channel,
                MessageKind.ANSWERED.value,
            )
            for channel in channels_for(channels, MessageKind.ANSWERED)
            for row_id in answered_ids
        ]
        if not rows:
            return 0
        # Only a notification that reached the phone needs clearing; pending ones are dropped as answered.
        cur = await db.executemany(
            "INSERT INTO outbox (kind, channel, inquiry_id, payload, dedup_key, due_at, created_at) "
            "SELECT ?, ?, ?, '{}', ?, ?, ? WHERE EXISTS (SELECT 1 FROM outbox WHERE inquiry_id = ? "
            "AND channel = ? AND state = 'sent' AND kind != ?) ON CONFLICT (dedup_key) DO NOTHING",
            rows,
        )
        queued = int(cur.rowcount)  # the rows of every statement
        await cur.close()
        return queued

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
        """The event log of one inquiry, in order, starting with when inqd first saw it."""
        async with self._conn.execute("SELECT first_seen_at FROM inquiries WHERE id = ?", (inquiry_id,)) as cur:
            seen = await cur.fetchone()
        async with self._conn.execute(
            "SELECT at, kind, inquiry_id, detail FROM events WHERE inquiry_id = ? ORDER BY id", (inquiry_id,)
        ) as cur:
            rows = await cur.fetchall()
        first = [Event(_dt(seen[0]), "seen", inquiry_id, {})] if seen else []
        return first + [Event(_dt(r["at"]), r["kind"], r["inquiry_id"], json.loads(r["detail"])) for r in rows]

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


async def _record_state_events(
    db: Connection,
    account_id: str,
    stream: StreamKind,
    answered_ids: Sequence[int],
    reopened_ids: Sequence[int],
    now_s: str,
) -> None:
    # No "seen" event per new row: first_seen_at already says it (events_for adds it back), and writing it
    # doubled the rows of a backfill.
    await db.executemany(
        "INSERT INTO events (at, kind, inquiry_id, account_id, stream, detail) VALUES (?, ?, ?, ?, ?, ?)",
        [(now_s, "answered", row_id, account_id, stream.value, "{}") for row_id in answered_ids]
        + [(now_s, "reopened", row_id, account_id, stream.value, "{}") for row_id in reopened_ids],
    )
