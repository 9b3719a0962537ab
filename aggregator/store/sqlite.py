"""The SQLite engine of the store: one aiosqlite connection, its one-at-a-time transactions, and the one-hop
transaction that runs a whole poll's writes in one call on the database thread."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast

import aiosqlite

from aggregator.store.database import Connection, DatabaseUnreachable

_T = TypeVar("_T")


class SqliteDatabase:
    """One aiosqlite connection and the lock that keeps its transactions from interleaving."""

    kind = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        # One connection is shared by the poll, timer and dispatch tasks: a transaction must not interleave.
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> SqliteDatabase:
        """Open (creating with mode 0600) the database file at `path`."""
        path.parent.mkdir(parents=True, exist_ok=True)
        # Buyer questions and phone numbers live here: no one but the owner may read the file.
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        try:
            await conn.execute("PRAGMA journal_mode=WAL")
            # FULL: our volume is tiny, and "never lose an inquiry" includes power loss.
            await conn.execute("PRAGMA synchronous=FULL")
            await conn.execute("PRAGMA busy_timeout=5000")
            await conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            await conn.close()
            raise
        return cls(conn)

    @property
    def reads(self) -> Connection:
        """The one connection (SQLite serialises everything on its thread)."""
        return self._conn

    @property
    def renewals(self) -> Connection:
        """The one connection: there are no leases to renew on SQLite."""
        return self._conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """BEGIN IMMEDIATE: the write lock from the start, so a transaction never fails half-way on a busy file."""
        async with self._write_lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def in_one_hop(self, work: Callable[[Connection], Coroutine[Any, Any, _T]]) -> _T:
        """Run `work` as one transaction in ONE call on the database thread, instead of a thread hop (a queue, a
        future, a wake-up of the event loop) for each statement: a poll's record_poll made ~20 of them.

        `work` is written as for `transaction` (awaiting the connection's calls), but is given a connection whose
        calls complete at once on the database thread, so it runs there from start to end without suspending.
        Once queued it runs whole even if the caller is cancelled (committed, or rolled back on an error; a crash
        leaves it uncommitted); the database thread runs one call at a time, so nothing interleaves with it.
        """
        async with self._write_lock:
            # aiosqlite's one door to its thread (what each of its own calls goes through), untyped
            on_thread = cast(Callable[..., Awaitable[_T]], self._conn._execute)
            return await on_thread(_run_transaction, self._conn, work)

    async def migrate(self, migrations: Sequence[str]) -> None:
        """Run the migrations past PRAGMA user_version, each in its own transaction with its new version."""
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        if version > len(migrations):
            raise RuntimeError(f"database schema v{version} is newer than this inqd (v{len(migrations)})")
        for target, script in enumerate(migrations[version:], start=version + 1):
            async with self.transaction():
                for statement in filter(str.strip, script.split(";")):
                    await self._conn.execute(statement)
                await self._conn.execute(f"PRAGMA user_version={target:d}")

    @staticmethod
    async def schema_version(path: Path) -> int:
        """The schema version of the database file at `path` (0 when there is none yet), changing nothing."""
        if not await asyncio.to_thread(path.is_file):
            return 0
        try:
            async with (
                aiosqlite.connect(f"file:{path}?mode=ro", uri=True) as conn,
                conn.execute("PRAGMA user_version") as cur,
            ):
                row = await cur.fetchone()
        except sqlite3.Error as err:
            raise DatabaseUnreachable(str(err)) from err
        return int(row[0]) if row else 0

    async def hold_database(self, *, alone: bool) -> bool:
        """Always: on SQLite the daemon's file lock (aggregator/instance_lock.py) keeps to one process already."""
        return True

    async def aclose(self) -> None:
        """Close the connection (waits for queued work)."""
        await self._conn.close()


def _run_transaction(conn: aiosqlite.Connection, work: Callable[[Connection], Coroutine[Any, Any, _T]]) -> _T:
    """On the database thread: BEGIN IMMEDIATE, `work` through a `ThreadConnection`, COMMIT (ROLLBACK on error)."""
    raw = conn._conn  # we are on its thread
    raw.execute("BEGIN IMMEDIATE")
    try:
        result = run_at_once(work(ThreadConnection(raw)))
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")
    return result


def run_at_once(coro: Coroutine[Any, Any, _T]) -> _T:
    """The result of a coroutine that never suspends (it awaits only `ThreadConnection` calls); a RuntimeError if
    it tries to, as it would wait on an event loop this thread does not run."""
    try:
        coro.send(None)
    except StopIteration as done:
        return cast(_T, done.value)
    coro.close()
    raise RuntimeError("a one-hop transaction awaited something other than its connection")


class _Done:
    """An awaitable that is already done: awaiting it returns `value` without suspending."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, Any]:
        yield from ()  # a generator that never suspends
        return self.value


class ThreadCursor:
    """aiosqlite.Cursor's calls the store uses, done at once on the database thread."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    def fetchone(self) -> _Done:
        return _Done(self._cursor.fetchone())

    def fetchall(self) -> _Done:
        return _Done(self._cursor.fetchall())

    def close(self) -> _Done:
        self._cursor.close()
        return _Done(None)


class _Statement(_Done):
    """What `ThreadConnection.execute` returns: awaited, or used as `async with ... as cur`, like aiosqlite's."""

    __slots__ = ()

    async def __aenter__(self) -> ThreadCursor:
        return cast(ThreadCursor, self.value)

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await cast(ThreadCursor, self.value).close()


class ThreadConnection:
    """aiosqlite.Connection's statement calls over the raw sqlite3 connection, for code running on its thread."""

    __slots__ = ("_raw",)

    def __init__(self, raw: sqlite3.Connection) -> None:
        self._raw = raw

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> _Statement:
        return _Statement(ThreadCursor(self._raw.execute(sql, parameters)))  # type: ignore[arg-type]

    def executemany(self, sql: str, parameters: Iterable[Any]) -> _Statement:
        return _Statement(ThreadCursor(self._raw.executemany(sql, parameters)))
