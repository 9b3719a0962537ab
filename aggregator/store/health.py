"""The `Store` methods for connection health and the operator's view: each stream's poll bookkeeping, notices, channel
failures, queue counts."""

from __future__ import annotations

import json
from datetime import datetime

from aggregator.store.base import StoreBase
from aggregator.store.payloads import payload_json
from aggregator.store.schema import (
    ChannelFailure,
    Channels,
    QueueSummary,
    StreamStatus,
    _dt,
    _dt_or_none,
    channels_for,
    db_time,
)
from core.models import MessageKind, StreamKind
from core.payloads import SystemPayload


class HealthMixin(StoreBase):
    """Connection notices (what has been said about an account being down) and summaries for status/metrics."""

    async def connection_notices(self, account_id: str | None = None) -> dict[str, tuple[datetime, str]]:
        """Accounts whose outage has been announced: account id -> (outage start, how it was announced)."""
        query = "SELECT account_id, since, kind FROM connection_notices"
        args: tuple[str, ...] = ()
        if account_id is not None:
            query, args = query + " WHERE account_id = ?", (account_id,)
        async with self._conn.execute(query, args) as cur:
            rows = await cur.fetchall()
        return {r["account_id"]: (_dt(r["since"]), r["kind"]) for r in rows}

    async def record_connection_change(
        self,
        account_id: str,
        *,
        change: str,
        since: datetime,
        now: datetime,
        payload: SystemPayload,
        channels: Channels,
    ) -> int:
        """Announce an account's connection going down (`lost`/`auth`) or coming back (`recovered`).

        The notice, its event and its messages commit together, so a crash can neither lose the "복구" nor
        send a second "연결 끊김". Returns the messages queued.
        """
        now_s, since_s = db_time(now), db_time(since)
        body = payload_json(MessageKind.SYSTEM, payload)
        async with self._transaction() as db:
            if change == "recovered":
                cur = await db.execute("DELETE FROM connection_notices WHERE account_id = ?", (account_id,))
            else:
                cur = await db.execute(
                    "INSERT INTO connection_notices (account_id, since, kind, noticed_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (account_id) DO NOTHING",
                    (account_id, since_s, change, now_s),
                )
            if cur.rowcount == 0:  # already announced (or nothing to recover from): say nothing twice
                return 0
            await db.execute(
                "INSERT INTO events (at, kind, account_id, detail) VALUES (?, ?, ?, ?)",
                (now_s, f"connection_{change}", account_id, json.dumps({"since": since_s})),
            )
            queued = 0
            for ch in channels_for(channels, MessageKind.SYSTEM):
                cur = await db.execute(
                    "INSERT INTO outbox (kind, channel, payload, dedup_key, due_at, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
                    (
                        MessageKind.SYSTEM.value,
                        ch,
                        body,
                        f"connection:{account_id}:{change}:{since_s}:{ch}",
                        now_s,
                        now_s,
                    ),
                )
                queued += cur.rowcount
        return queued

    async def channel_failures(self) -> list[ChannelFailure]:
        """Per channel, the messages refused for good: what `inqd status` and the metrics surface."""
        async with self._conn.execute(
            "SELECT channel, COUNT(*) AS n, MAX(COALESCE(done_at, created_at)) AS last_at FROM outbox "
            "WHERE state = 'failed' GROUP BY channel ORDER BY channel"
        ) as cur:
            groups = await cur.fetchall()
        failures = []
        for g in groups:
            async with self._conn.execute(
                "SELECT last_error FROM outbox WHERE state = 'failed' AND channel = ? "
                "ORDER BY COALESCE(done_at, created_at) DESC, id DESC LIMIT 1",
                (g["channel"],),
            ) as cur:
                row = await cur.fetchone()
            error = str(row["last_error"] or "") if row else ""
            failures.append(ChannelFailure(g["channel"], int(g["n"]), _dt(g["last_at"]), error))
        return failures

    async def queue_summary(self) -> QueueSummary:
        """Open inquiries per stream (with the oldest arrival) and per marketplace, in two indexed scans."""
        async with self._conn.execute(
            "SELECT account_id, stream, COUNT(*) AS n, MIN(received_at) AS oldest FROM inquiries "
            "WHERE answered = 0 GROUP BY account_id, stream"
        ) as cur:
            streams = await cur.fetchall()
        async with self._conn.execute(
            "SELECT marketplace, COUNT(*) AS n FROM inquiries WHERE answered = 0 GROUP BY marketplace"
        ) as cur:
            markets = await cur.fetchall()
        return QueueSummary(
            open_by_stream={(r["account_id"], r["stream"]): (int(r["n"]), _dt(r["oldest"])) for r in streams},
            open_by_marketplace={r["marketplace"]: int(r["n"]) for r in markets},
        )

    # ---- each stream's poll bookkeeping -----------------------------------------------------------

    async def record_poll_failure(
        self, account_id: str, stream: StreamKind, *, now: datetime, error: str, auth_failed: bool = False
    ) -> int:
        """Count a failed poll; returns the number of consecutive failures."""
        now_s = db_time(now)
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO stream_status (account_id, stream, last_error_at, last_error, consecutive_failures, "
                "failing_since, auth_failed) VALUES (?, ?, ?, ?, 1, ?, ?) ON CONFLICT (account_id, stream) DO UPDATE "
                "SET last_error_at = excluded.last_error_at, last_error = excluded.last_error, "
                "consecutive_failures = stream_status.consecutive_failures + 1, "
                "failing_since = COALESCE(stream_status.failing_since, excluded.failing_since), "
                "auth_failed = excluded.auth_failed",
                (account_id, stream.value, now_s, error, now_s, int(auth_failed)),
            )
            async with db.execute(
                "SELECT consecutive_failures FROM stream_status WHERE account_id = ? AND stream = ?",
                (account_id, stream.value),
            ) as cur:
                row = await cur.fetchone()
        return int(row[0]) if row else 1

    async def stream_statuses(self, account_id: str | None = None) -> list[StreamStatus]:
        """Health bookkeeping of every stream (or one account's streams) that has polled at least once."""
        query = "SELECT * FROM stream_status ORDER BY account_id, stream"
        args: tuple[str, ...] = ()
        if account_id is not None:
            query, args = "SELECT * FROM stream_status WHERE account_id = ? ORDER BY stream", (account_id,)
        async with self._conn.execute(query, args) as cur:
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
                failing_since=_dt_or_none(row["failing_since"]),
                auth_failed=bool(row["auth_failed"]),
            )
            for row in rows
        ]
