"""The connection the store's parts share, and its one-at-a-time transactions."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar, cast

import aiosqlite

_T = TypeVar("_T")


class StoreBase:
    """One aiosqlite connection and the lock that keeps its transactions from interleaving."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        # One connection is shared by the poll, timer and dispatch tasks: a transaction must not interleave.
        self._write_lock = asyncio.Lock()

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

    async def _transaction_in_one_hop(self, work: Callable[[aiosqlite.Connection], Coroutine[Any, Any, _T]]) -> _T:
        """Run `work` as one transaction in ONE call on the database thread, instead of a thread hop (a queue, a
        future, a wake-up of the event loop) for each statement: a poll's record_poll made ~20 of them.

        `work` is written as for `_transaction` (awaiting the connection's calls), but is given a connection whose
        calls complete at once on the database thread, so it runs there from start to end without suspending.
        Once queued it runs whole even if the caller is cancelled (committed, or rolled back on an error; a crash
        leaves it uncommitted); the database thread runs one call at a time, so nothing interleaves with it.
        """
        async with self._write_lock:
            # aiosqlite's one door to its thread (what each of its own calls goes through), untyped
            on_thread = cast(Callable[..., Awaitable[_T]], self._conn._execute)
            return await on_thread(_run_transaction, self._conn, work)


def _run_transaction(conn: aiosqlite.Connection, work: Callable[[aiosqlite.Connection], Coroutine[Any, Any, _T]]) -> _T:
    """On the database thread: BEGIN IMMEDIATE, `work` through a `ThreadConnection`, COMMIT (ROLLBACK on error)."""
    raw = conn._conn  # we are on its thread
    raw.execute("BEGIN IMMEDIATE")
    try:
        result = run_at_once(work(cast(aiosqlite.Connection, ThreadConnection(raw))))
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
