"""The SQLite store: the only package that speaks SQL.

Every state change is one transaction written before anyone acts on it (outbox pattern): a poll's
inquiries, its cursor, its events and the notifications it causes commit together, so `kill -9` at
any moment either keeps all of it or none of it, and the next poll simply reads the same items again.
"""

from __future__ import annotations

import os
from pathlib import Path

import aiosqlite

from aggregator.store.alert_plans import AlertCandidate, TimersMixin
from aggregator.store.answers import AnswersMixin
from aggregator.store.control_state import ControlsMixin
from aggregator.store.health import HealthMixin
from aggregator.store.inbox import InboxMixin
from aggregator.store.inquiries import InquiriesMixin
from aggregator.store.migrations import MIGRATIONS
from aggregator.store.outbox import OutboxMixin
from aggregator.store.report import ReportInputs, ReportMixin
from aggregator.store.schema import (
    INQUIRY_COLUMNS,
    NO_MORE_ALERTS,
    AlertFire,
    AlertUpdate,
    ChannelFailure,
    Channels,
    Event,
    OutboxItem,
    QueueSummary,
    RecordOutcome,
    StoredInquiry,
    StreamStatus,
    TextChange,
    Vacation,
    db_time,
    inquiry_row,
)
from aggregator.store.telegram_threads import TelegramThreadsMixin

__all__ = [
    "INQUIRY_COLUMNS",
    "NO_MORE_ALERTS",
    "AlertCandidate",
    "AlertFire",
    "AlertUpdate",
    "ChannelFailure",
    "Channels",
    "Event",
    "OutboxItem",
    "QueueSummary",
    "RecordOutcome",
    "ReportInputs",
    "Store",
    "StoredInquiry",
    "StreamStatus",
    "TextChange",
    "Vacation",
    "db_time",
    "inquiry_row",
]


class Store(
    InquiriesMixin,
    OutboxMixin,
    TimersMixin,
    HealthMixin,
    ControlsMixin,
    AnswersMixin,
    TelegramThreadsMixin,
    InboxMixin,
    ReportMixin,
):
    """Async access to the inqd database. Open with `await Store.open(path)`; close with `aclose()`."""

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
        if version > len(MIGRATIONS):
            raise RuntimeError(f"database schema v{version} is newer than this inqd (v{len(MIGRATIONS)})")
        for target, script in enumerate(MIGRATIONS[version:], start=version + 1):
            async with self._transaction():
                for statement in filter(str.strip, script.split(";")):
                    await self._conn.execute(statement)
                await self._conn.execute(f"PRAGMA user_version={target:d}")

    async def aclose(self) -> None:
        """Close the connection (waits for queued work)."""
        await self._conn.close()
