"""The store (SQLite, or PostgreSQL): the only package that speaks SQL.

Every state change is one transaction written before anyone acts on it (outbox pattern): a poll's
inquiries, its cursor, its events and the notifications it causes commit together, so `kill -9` at
any moment either keeps all of it or none of it, and the next poll simply reads the same items again.
"""

from __future__ import annotations

from pathlib import Path

from aggregator.store.alert_plans import AlertCandidate, TimersMixin
from aggregator.store.answer_sending import AnswerSendingMixin
from aggregator.store.answers import AnswersMixin
from aggregator.store.control_state import ControlsMixin
from aggregator.store.copying import CopyMixin, TargetNotEmpty
from aggregator.store.database import Database, DatabaseUnreachable
from aggregator.store.health import HealthMixin
from aggregator.store.inbox import InboxMixin
from aggregator.store.inquiries import InquiriesMixin
from aggregator.store.leases import AccountLease, LeaseHolder, LeaseLost, LeasesMixin
from aggregator.store.migrations import MIGRATIONS, POSTGRES_MIGRATIONS
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
from aggregator.store.sqlite import SqliteDatabase
from aggregator.store.telegram_threads import TelegramThreadsMixin

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(location: Path | str) -> bool:
    """Whether `location` names a PostgreSQL database (else it is the path of a SQLite file)."""
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


__all__ = [
    "INQUIRY_COLUMNS",
    "NO_MORE_ALERTS",
    "POSTGRES_SCHEMES",
    "AccountLease",
    "AlertCandidate",
    "AlertFire",
    "AlertUpdate",
    "ChannelFailure",
    "Channels",
    "DatabaseUnreachable",
    "Event",
    "LeaseHolder",
    "LeaseLost",
    "OutboxItem",
    "QueueSummary",
    "RecordOutcome",
    "ReportInputs",
    "Store",
    "StoredInquiry",
    "StreamStatus",
    "TargetNotEmpty",
    "TextChange",
    "Vacation",
    "db_time",
    "inquiry_row",
    "is_postgres_url",
]


class Store(
    InquiriesMixin,
    OutboxMixin,
    TimersMixin,
    HealthMixin,
    ControlsMixin,
    AnswersMixin,
    AnswerSendingMixin,
    TelegramThreadsMixin,
    InboxMixin,
    ReportMixin,
    LeasesMixin,
    CopyMixin,
):
    """Async access to the inqd database. Open with `await Store.open(path or URL)`; close with `aclose()`."""

    def __init__(self, database: Database, path: Path | None) -> None:
        super().__init__(database)
        self.path = path  # the SQLite file; None on PostgreSQL

    @classmethod
    async def open(cls, location: Path | str) -> Store:
        """Open the database at `location` and migrate it as needed: a "postgresql://" URL, or the path of the
        SQLite file (created with mode 0600)."""
        if is_postgres_url(location):
            from aggregator.store.postgres import PostgresDatabase  # the driver loads only for PostgreSQL

            database: Database = await PostgresDatabase.open(str(location))
            migrations, path = POSTGRES_MIGRATIONS, None
        else:
            path = Path(location)
            database = await SqliteDatabase.open(path)
            migrations = MIGRATIONS
        try:
            await database.migrate(migrations)
        except BaseException:
            await database.aclose()
            raise
        return cls(database, path)

    @staticmethod
    async def schema_versions(location: Path | str) -> tuple[int, int]:
        """(the schema version of the database at `location`, this inqd's), opening it without changing it (0: not
        created yet); raises DatabaseUnreachable when it cannot be opened."""
        if is_postgres_url(location):
            from aggregator.store.postgres import PostgresDatabase

            return await PostgresDatabase.schema_version(str(location)), len(POSTGRES_MIGRATIONS)
        return await SqliteDatabase.schema_version(Path(location)), len(MIGRATIONS)

    async def hold_database(self, *, alone: bool) -> bool:
        """On PostgreSQL, whether this process may go on (held until `aclose`): daemons share the database
        (`alone=False`, refused only while `inqd migrate` runs), `inqd migrate` needs it alone (`alone=True`, refused
        while any daemon runs, on any machine). On SQLite the file lock next to the database does it: always True."""
        return await self._database.hold_database(alone=alone)

    async def aclose(self) -> None:
        """Close the connection(s) (waits for queued work)."""
        await self._database.aclose()
