"""The outbox: queueing, claiming and finishing notifications, and holding them through quiet hours."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import NamedTuple

from aggregator.store.base import StoreBase
from aggregator.store.database import Connection, Row
from aggregator.store.payloads import PayloadError, payload_json, read_payload
from aggregator.store.schema import Channels, OutboxItem, _dt, channels_for, db_time
from core.models import MessageKind
from core.payloads import DigestPayload, OutboxPayload, WeeklyReportPayload

_ITEM_COLUMNS = "id, kind, channel, inquiry_id, payload, attempts, created_at"
_WEEKLY_KEY = "weekly_report:last_week"  # meta: the newest week whose weekly message was queued


def _outbox_item(row: Row) -> OutboxItem:
    kind = MessageKind(row["kind"])
    return OutboxItem(
        id=row["id"],
        kind=kind,
        channel=row["channel"],
        inquiry_id=row["inquiry_id"],
        payload=read_payload(kind, row["payload"]),
        attempts=row["attempts"],
        created_at=_dt(row["created_at"]),
    )


class OutboxMixin(StoreBase):
    """The `Store` methods for the outbox."""

    # ---- outbox ----------------------------------------------------------------------------------

    async def enqueue(
        self,
        kind: MessageKind,
        *,
        channels: Channels,
        dedup_key: str,
        now: datetime,
        payload: OutboxPayload,
        inquiry_id: int | None = None,
        due_at: datetime | None = None,
    ) -> int:
        """Queue one message for each channel; a repeated `dedup_key` is ignored. Returns rows added."""
        now_s = db_time(now)
        body = payload_json(kind, payload)
        added = 0
        async with self._transaction() as db:
            for ch in channels_for(channels, kind):
                added += await _queue_row(db, kind, ch, body, dedup_key, db_time(due_at or now), now_s, inquiry_id)
        return added

    async def claim_due(self, *, now: datetime, lease: timedelta, limit: int) -> list[OutboxItem]:
        """Claim up to `limit` due rows for `lease`; a crashed claimer's rows come back when it expires.

        Each row's payload is decoded here, once. A row whose payload does not fit its kind can never be sent:
        it is marked failed in the same transaction rather than handed out (or left to block the rows after it).
        """
        now_s = db_time(now)
        async with self._transaction() as db:
            async with db.execute(
                # Several instances on PostgreSQL: rows another claimer has locked are skipped, not waited for and
                # never claimed twice (store/dialect.py turns the comment into FOR UPDATE SKIP LOCKED there).
                "UPDATE outbox SET lease_until = ?, attempts = attempts + 1 WHERE id IN ("  # noqa: S608 - constant
                " SELECT id FROM outbox WHERE state = 'pending' AND due_at <= ?"
                " AND (lease_until IS NULL OR lease_until <= ?) ORDER BY due_at, id LIMIT ? /*FOR UPDATE SKIP LOCKED*/)"
                f" RETURNING {_ITEM_COLUMNS}",
                (db_time(now + lease), now_s, now_s, limit),
            ) as cur:
                rows = await cur.fetchall()
            items, unreadable = _decoded(rows)
            if unreadable:
                await _finish_rows(db, unreadable, state="failed", now_s=now_s, event="delivery_failed", reason=None)
        return sorted(items, key=lambda item: item.id)

    async def release_leases(self) -> int:
        """At start-up on SQLite (the file lock held): free the leases of a daemon that died mid-send, so its
        claimed rows go out now instead of after the lease (120 s), at worst once more than needed.

        Where several instances share the database nothing is freed: a lease there may be a live instance's, and a
        dead one's rows come back to `claim_due` when their lease runs out."""
        if self.shared:
            return 0
        async with self._transaction() as db:
            cur = await db.execute(
                "UPDATE outbox SET lease_until = NULL WHERE state = 'pending' AND lease_until IS NOT NULL"
            )
            return int(cur.rowcount)

    async def release_claims(self, items: Sequence[OutboxItem]) -> None:
        """Give back claimed rows not handled (still pending, and not claimed again since: the attempt fences it)."""
        async with self._transaction() as db:
            await db.executemany(
                "UPDATE outbox SET lease_until = NULL WHERE id = ? AND attempts = ? AND state = 'pending'",
                [(item.id, item.attempts) for item in items],
            )

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
        async with self._transaction() as db:
            finished = _Finished(item.id, item.inquiry_id, item.channel, item.kind.value, note)
            await _finish_rows(db, [finished], state=state, now_s=db_time(now), event=event, reason=reason)

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

    # ---- quiet hours -----------------------------------------------------------------------------

    async def hold_for_digest(self, item: OutboxItem, *, until: datetime, now: datetime, reason: str) -> bool:
        """Hold a claimed row until `until` (the end of quiet hours) and queue its channel's digest for then (one
        per channel and quiet period: the dedup key); the digest folds it. Returns False, and puts the row back as
        pending until `until` instead, when that digest has already gone: another instance whose clock had passed
        `until` sent it meanwhile, and a row held now would never be folded.

        The digest row is locked (FOR UPDATE on PostgreSQL) before the row is held, and `fold_into_digest` writes
        the digest row first: a hold and a fold of one digest happen one after the other, never interleaved."""
        key = f"digest:{until.isoformat()}"
        body = payload_json(MessageKind.DIGEST, DigestPayload(quiet_until=until))
        async with self._transaction() as db:
            await _queue_row(db, MessageKind.DIGEST, item.channel, body, key, db_time(until), db_time(now))
            async with db.execute(
                "SELECT state FROM outbox WHERE dedup_key = ? /*FOR UPDATE*/", (f"{key}:{item.channel}",)
            ) as cur:
                digest = await cur.fetchone()
            held = digest is not None and digest["state"] == "pending"
            await _postpone_in(db, item, until=until, now=now, reason=reason, held=held)
        return held

    async def wait_until(self, item: OutboxItem, *, until: datetime, now: datetime, reason: str) -> None:
        """Put a claimed row back as pending until `until` (quiet hours end): it goes out then on its own, where a
        held row would be folded into the digest."""
        async with self._transaction() as db:
            await _postpone_in(db, item, until=until, now=now, reason=reason, held=False)

    # ---- the weekly message --------------------------------------------------------------------------

    async def last_weekly_report_week(self) -> date | None:
        """The newest week (its Monday) whose weekly message was queued, or None before the first."""
        async with self._conn.execute("SELECT value FROM meta WHERE key = ?", (_WEEKLY_KEY,)) as cur:
            row = await cur.fetchone()
        return None if row is None else date.fromisoformat(str(row[0]))

    async def queue_weekly_report(
        self, payload: WeeklyReportPayload, *, channels: Channels, now: datetime, due_at: datetime
    ) -> bool:
        """Queue the weekly message of `payload.week` for its channels, once: False (nothing queued) when that
        week or a newer one was queued before. The week is recorded in the same transaction as the rows, so no
        restart can queue it twice, and a week no channel carries still counts as done."""
        body = payload_json(MessageKind.WEEKLY_REPORT, payload)
        week = payload.week.isoformat()
        now_s, due_s = db_time(now), db_time(due_at)
        async with self._transaction() as db:
            async with db.execute("SELECT value FROM meta WHERE key = ?", (_WEEKLY_KEY,)) as cur:
                row = await cur.fetchone()
            if row is not None and str(row[0]) >= week:  # ISO dates compare as text
                return False
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (_WEEKLY_KEY, week),
            )
            await db.executemany(
                "INSERT INTO outbox (kind, channel, inquiry_id, payload, dedup_key, due_at, created_at) "
                "VALUES (?, ?, NULL, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
                [
                    (MessageKind.WEEKLY_REPORT.value, ch, body, f"weekly_report:{week}:{ch}", due_s, now_s)
                    for ch in channels_for(channels, MessageKind.WEEKLY_REPORT)
                ],
            )
        return True

    async def held_until(self, *, channel: str, until: datetime) -> list[OutboxItem]:
        """Rows of `channel` held for release at or before `until` (each decoded when it was claimed)."""
        async with self._conn.execute(
            f"SELECT {_ITEM_COLUMNS} FROM outbox "  # noqa: S608 - constant
            "WHERE state = 'held' AND channel = ? AND due_at <= ? ORDER BY id",
            (channel, db_time(until)),
        ) as cur:
            return [_outbox_item(r) for r in await cur.fetchall()]

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
            if isinstance(digest.payload, DigestPayload):
                # Held by another instance after this digest read its rows (hold_for_digest waited for the lock
                # above): the digest did not list them, so they go out on their own now.
                await db.execute(
                    "UPDATE outbox SET state = 'pending', due_at = ?, reason = 'after_digest' "
                    "WHERE state = 'held' AND channel = ? AND due_at <= ?",
                    (now_s, digest.channel, db_time(digest.payload.quiet_until)),
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

    async def breakthrough_times_since(self, start: datetime, *, channel: str) -> list[datetime]:
        """When messages broke through quiet hours on `channel` since `start`, oldest first."""
        async with self._conn.execute(
            "SELECT done_at FROM outbox WHERE reason = 'breakthrough' AND channel = ? AND done_at >= ? "
            "ORDER BY done_at",
            (channel, db_time(start)),
        ) as cur:
            return [_dt(r[0]) for r in await cur.fetchall()]


class _Finished(NamedTuple):
    """A row being finished, and the note kept with it (its error, or why it was dropped)."""

    id: int
    inquiry_id: int | None
    channel: str
    kind: str
    note: str


async def _queue_row(
    db: Connection,
    kind: MessageKind,
    channel: str,
    body: str,
    dedup_key: str,
    due_s: str,
    now_s: str,
    inquiry_id: int | None = None,
) -> int:
    """One message for one channel (its dedup key is `dedup_key:channel`); 0 when that key is queued already."""
    cur = await db.execute(
        "INSERT INTO outbox (kind, channel, inquiry_id, payload, dedup_key, due_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
        (kind.value, channel, inquiry_id, body, f"{dedup_key}:{channel}", due_s, now_s),
    )
    return int(cur.rowcount)


async def _postpone_in(
    db: Connection, item: OutboxItem, *, until: datetime, now: datetime, reason: str, held: bool
) -> None:
    state = ", state = 'held'" if held else ""
    detail = {"channel": item.channel, "message": item.kind.value, "until": db_time(until), "reason": reason}
    await db.execute(
        f"UPDATE outbox SET due_at = ?, lease_until = NULL, reason = ?{state} WHERE id = ?",  # noqa: S608
        (db_time(until), reason, item.id),
    )
    await db.execute(
        "INSERT INTO events (at, kind, inquiry_id, detail) VALUES (?, 'held', ?, ?)",
        (db_time(now), item.inquiry_id, json.dumps(detail, ensure_ascii=False)),
    )


async def _finish_rows(
    db: Connection, rows: Sequence[_Finished], *, state: str, now_s: str, event: str, reason: str | None
) -> None:
    await db.executemany(
        "UPDATE outbox SET state = ?, done_at = ?, lease_until = NULL, last_error = ?, reason = ? WHERE id = ?",
        [(state, now_s, row.note or None, reason, row.id) for row in rows],
    )
    await db.executemany(
        "INSERT INTO events (at, kind, inquiry_id, detail) VALUES (?, ?, ?, ?)",
        [
            (
                now_s,
                event,
                row.inquiry_id,
                json.dumps(
                    {"channel": row.channel, "message": row.kind, "note": row.note, "reason": reason},
                    ensure_ascii=False,
                ),
            )
            for row in rows
        ],
    )


def _decoded(rows: Iterable[Row]) -> tuple[list[OutboxItem], list[_Finished]]:
    """The rows as items; those whose payload does not fit their kind apart, with the reason."""
    items: list[OutboxItem] = []
    unreadable: list[_Finished] = []
    for row in rows:
        try:
            items.append(_outbox_item(row))
        except PayloadError as err:
            unreadable.append(_Finished(row["id"], row["inquiry_id"], row["channel"], row["kind"], str(err)))
    return items, unreadable
