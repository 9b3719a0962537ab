"""The outbox: queueing, claiming and finishing notifications, and holding them through quiet hours."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from aggregator.store.base import StoreBase
from aggregator.store.schema import Channels, OutboxItem, _dt, _outbox_item, channels_for, db_time
from core.models import MessageKind


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
        payload: dict[str, Any] | None = None,
        inquiry_id: int | None = None,
        due_at: datetime | None = None,
    ) -> int:
        """Queue one message for each channel; a repeated `dedup_key` is ignored. Returns rows added."""
        now_s = db_time(now)
        body = json.dumps(payload or {}, ensure_ascii=False)
        added = 0
        async with self._transaction() as db:
            for ch in channels_for(channels, kind):
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

    async def release_leases(self) -> int:
        """Free the leases of a daemon that died mid-send (call only while holding the instance lock): its
        claimed rows go out now instead of after the lease (120 s), at worst once more than needed."""
        async with self._transaction() as db:
            cur = await db.execute(
                "UPDATE outbox SET lease_until = NULL WHERE state = 'pending' AND lease_until IS NOT NULL"
            )
            return cur.rowcount

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
