"""What the store's parts share: the database (either engine) and its one-at-a-time transactions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aggregator.store.database import Connection, Database

_T = TypeVar("_T")


class StoreBase:
    """The database the mixins talk to: `_conn` for single statements, `_transaction()` for the rest."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._conn = database.reads
        self._renewals = database.renewals

    @property
    def backend(self) -> str:
        """The engine behind the store: "sqlite" or "postgres"."""
        return self._database.kind

    @property
    def shared(self) -> bool:
        """Whether several inqd instances may work on this database at once (PostgreSQL): a claim another process
        holds may be alive. On SQLite the daemon's file lock makes any claim it did not make a dead daemon's."""
        return self._database.kind == "postgres"

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Connection]:
        async with self._database.transaction() as db:
            yield db

    async def _transaction_in_one_hop(self, work: Callable[[Connection], Coroutine[Any, Any, _T]]) -> _T:
        """`work` as one transaction; on SQLite in one call on the database thread (store/sqlite.py)."""
        return await self._database.in_one_hop(work)
