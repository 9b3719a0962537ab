"""The PostgreSQL engine of the store: a psycopg 3 async connection pool behind the store's `Connection`.

Statements are the store's own (store/dialect.py rewrites the few SQLite words, once per text); an
`executemany` of a one-row INSERT goes as multi-row INSERTs (`_run_many_on`). Rows answer by index and by column
name, as sqlite3.Row does. Booleans are written as 0/1: the schema keeps SQLite's INTEGER
flags, so `answered = 0` reads the same on both engines.

Isolation: READ COMMITTED, PostgreSQL's default, for every transaction. Within one process the store runs one
write transaction at a time (the same lock as on SQLite), so its read-then-write steps meet no writer of their
own between the read and the write; each statement sees the rows committed before it began. Outbox rows, alert
log entries and meta keys are upserts (ON CONFLICT), which PostgreSQL keeps atomic under READ COMMITTED; any
other race on a unique key fails its transaction whole (rolled back, nothing half-written). SERIALIZABLE would
add retry loops on serialization failures for no case one instance has; what several instances will contend for
(accounts, outbox rows, answers) gets row locks (FOR UPDATE SKIP LOCKED) with the leases, not a stricter level.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import selectors
from collections.abc import AsyncIterator, Callable, Coroutine, Generator, Iterable, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, ClassVar, TypeVar

import psycopg
from psycopg.adapt import Dumper
from psycopg.postgres import types as pg_types
from psycopg.rows import RowMaker
from psycopg_pool import AsyncConnectionPool

from aggregator.store.database import Connection, DatabaseUnreachable
from aggregator.store.dialect import InsertRows, postgres_insert_rows, postgres_statement

_T = TypeVar("_T")
_POOL_SIZE = 8  # reads run beside the one write transaction (web inbox, admin, CLI); a handful is plenty
_CONNECT_TIMEOUT_S = 10
# Rows in one multi-row INSERT (`_run_many_on`): 250 to 3,000 measured alike; the statement's text stays ~50 KB.
_ROWS_PER_INSERT = 500
_MAX_PARAMETERS = 65_535  # the wire protocol's limit for one statement
# pg_advisory_xact_lock's key for "migrating the inqd schema": two instances starting at once migrate in turn.
_MIGRATION_LOCK = 0x1A9D_0001
_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)"
# The advisory lock key for "inqd works on this database", held by a connection of its own for the process's life
# (released by the server when that connection ends, kill -9 included): shared by every daemon instance (they
# share the work through leases and claims), exclusive for `inqd migrate`, which must not copy under a daemon.
_DAEMON_LOCK = 0x1A9D_0002


class _BoolAsInteger(Dumper):
    """Python bools as 0/1 integers (the flag columns are INTEGER, as on SQLite)."""

    oid = pg_types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class Row(tuple[Any, ...]):
    """A result row: a tuple that also answers `row["column"]` and `keys()`, as sqlite3.Row does."""

    __slots__ = ()
    _names: ClassVar[dict[str, int]] = {}  # set on each result's own subclass (`_row_class`)

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._names)


@lru_cache(maxsize=512)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "_names": {name: i for i, name in enumerate(names)}})


def _rows(cursor: psycopg.AsyncCursor[Any]) -> RowMaker[Row]:
    return _row_class(tuple(column.name for column in cursor.description or ()))


class Result:
    """A statement's rows, fetched whole before the connection went back (rowcount as the driver gave it)."""

    __slots__ = ("_rows", "row_factory", "rowcount")

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.row_factory: Any = None  # set by callers tuning sqlite3 rows; these rows are tuples already

    async def fetchone(self) -> Row | None:
        """The first row, or None."""
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[Row]:
        """Every row."""
        return self._rows

    async def close(self) -> None:
        """Nothing to release: the rows were fetched whole."""


class _Pending:
    """What `PostgresConnection.execute` returns: awaited, or used as `async with ... as cur`."""

    __slots__ = ("_run",)

    def __init__(self, run: Coroutine[Any, Any, Result]) -> None:
        self._run = run

    def __await__(self) -> Generator[Any, None, Result]:
        return self._run.__await__()

    async def __aenter__(self) -> Result:
        return await self._run

    async def __aexit__(self, *exc: object) -> None:
        return None


class PostgresConnection:
    """The store's `Connection` on one psycopg connection (in a transaction), or on the pool (one per statement)."""

    __slots__ = ("_conn", "_pool")

    def __init__(self, conn: psycopg.AsyncConnection[Any] | None, pool: AsyncConnectionPool[Any]) -> None:
        self._conn = conn
        self._pool = pool

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> _Pending:
        return _Pending(self._run(sql, parameters, many=False))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> _Pending:
        return _Pending(self._run(sql, list(parameters), many=True))

    async def _run(self, sql: str, parameters: Any, *, many: bool) -> Result:
        if self._conn is not None:
            return await _run_on(self._conn, sql, parameters, many=many)
        async with self._pool.connection() as conn:
            return await _run_on(conn, sql, parameters, many=many)


async def _run_on(conn: psycopg.AsyncConnection[Any], sql: str, parameters: Any, *, many: bool) -> Result:
    if many:
        return await _run_many_on(conn, sql, parameters)
    async with conn.cursor(row_factory=_rows) as cur:
        await cur.execute(postgres_statement(sql), tuple(parameters))
        rows = await cur.fetchall() if cur.description is not None else []
        return Result(rows, cur.rowcount)


async def _run_many_on(conn: psycopg.AsyncConnection[Any], sql: str, rows: list[Sequence[Any]]) -> Result:
    """`sql` once per row of `rows`: a one-row INSERT as multi-row INSERTs of up to _ROWS_PER_INSERT rows each
    (a statement per row cost a third of a millisecond of psycopg's own time each, pipelined or not); any other
    statement through psycopg's executemany (pipelined)."""
    if not rows:
        return Result([], 0)
    insert = postgres_insert_rows(sql)
    if insert is None:
        async with conn.cursor() as cur:
            await cur.executemany(postgres_statement(sql), rows)
            return Result([], cur.rowcount)
    # Raw cursor ($1 placeholders): psycopg parses a `%s` statement's text on every call once it is over 4 KB.
    step = max(1, min(_ROWS_PER_INSERT, _MAX_PARAMETERS // insert.per_row))
    inserted = 0
    async with psycopg.AsyncRawCursor(conn) as cur:
        for start in range(0, len(rows), step):
            chunk = rows[start : start + step]
            await cur.execute(_insert_text(insert, len(chunk)), [value for row in chunk for value in row])
            inserted += cur.rowcount
    return Result([], inserted)


@lru_cache(maxsize=32)
def _insert_text(insert: InsertRows, rows: int) -> str:
    """`insert` written out for `rows` rows: ~10 ms of string work for 500 rows of 19 columns, so kept (the full
    chunks' texts repeat; psycopg then prepares them as it does any statement run often)."""
    return insert.for_rows(rows)


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    conn.adapters.register_dumper(bool, _BoolAsInteger)
    # psycopg prepares a statement run five times on a connection, and the server then may plan it once for any
    # values (a generic plan). For `external_id IN (?, ?, ...)` that plan rebuilds the list for every row of the
    # account and scans it: 167 ms instead of 1.5 ms for 500 ids among 3,000 rows, worse as the account grows.
    # A plan for the statement's own values costs about a millisecond of planning; prepared texts are still reused.
    await conn.execute("SET plan_cache_mode = force_custom_plan")


async def _check_if_dropped(conn: psycopg.AsyncConnection[Any]) -> None:
    """The pool's check as a connection is taken: one the server has closed (a restart, a failover, an idle
    timeout, a terminated backend) raises here and is replaced, before a statement fails on it.

    The server says so on the socket (a FATAL message, then end of file), and an idle pooled connection is
    otherwise hardly ever sent anything (a notice at most): so only a connection with something to read gets the
    round trip of the pool's own check. A round trip on every checkout would double a single read's cost (0.35-0.6
    ms more, measured); looking at the socket costs 2-4 microseconds.
    """
    if _readable(conn.pgconn.socket):
        await AsyncConnectionPool.check_connection(conn)


def _readable(fd: int) -> bool:
    """Whether the socket `fd` has something to read (or is closed), without waiting."""
    if hasattr(select, "poll"):  # POSIX: ~2 us, and no limit on the descriptor's number as select() has
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    with selectors.DefaultSelector() as sockets:  # Windows
        sockets.register(fd, selectors.EVENT_READ)
        return bool(sockets.select(timeout=0))


def _pool(url: str, size: int, name: str) -> AsyncConnectionPool[Any]:
    return AsyncConnectionPool(
        url,
        min_size=1,
        max_size=size,
        kwargs={"autocommit": True, "connect_timeout": _CONNECT_TIMEOUT_S},
        configure=_configure,
        check=_check_if_dropped,
        open=False,
        name=name,
    )


class PostgresDatabase:
    """A pool of psycopg connections (autocommit: a transaction is opened explicitly by `transaction()`)."""

    kind = "postgres"

    def __init__(self, pool: AsyncConnectionPool[Any], url: str, renewals: AsyncConnectionPool[Any]) -> None:
        self._pool = pool
        self._renewal_pool = renewals
        self._renewals = PostgresConnection(None, renewals)
        self._url = url
        self._database_hold: psycopg.AsyncConnection[Any] | None = None
        self._reads = PostgresConnection(None, pool)
        self._write_lock = asyncio.Lock()
        self._in_flight: set[asyncio.Future[Any]] = set()

    @classmethod
    async def open(cls, url: str) -> PostgresDatabase:
        """Connect to the database at `url` (a "postgresql://" URL); raises psycopg.OperationalError if it cannot."""
        pool, renewals = _pool(url, _POOL_SIZE, "inqd-store"), _pool(url, 1, "inqd-renewals")
        try:
            # One connection first, so a wrong URL or a server down is the driver's own error, not a pool timeout.
            probe = await psycopg.AsyncConnection.connect(url, connect_timeout=_CONNECT_TIMEOUT_S)
            await probe.close()
            await pool.open(wait=True, timeout=_CONNECT_TIMEOUT_S)
            await renewals.open(wait=True, timeout=_CONNECT_TIMEOUT_S)
        except BaseException:
            await pool.close()
            await renewals.close()
            raise
        return cls(pool, url, renewals)

    @property
    def reads(self) -> Connection:
        """Each statement on a pooled connection of its own, committed at once."""
        return self._reads

    @property
    def renewals(self) -> Connection:
        """A connection of its own for the lease keeper's heartbeat, extensions and leadership: with thousands of
        pollers the store's pool has a queue, and a renewal waiting in it can come more than a lease late
        (bench.scale at 3,000 accounts: two instances lost all their leases in the first-poll wave)."""
        return self._renewals

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One write transaction at a time in this process (as on SQLite), READ COMMITTED (see the module)."""
        async with self._write_lock, self._pool.connection() as conn, conn.transaction():
            yield PostgresConnection(conn, self._pool)

    async def in_one_hop(self, work: Callable[[Connection], Coroutine[Any, Any, _T]]) -> _T:
        """`work` in one transaction (no thread to hop to: the driver is asyncio's own). As on SQLite, once begun
        it runs whole even if the caller is cancelled: in a task of its own, which `aclose` waits for."""
        task = asyncio.ensure_future(self._in_transaction(work))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return await asyncio.shield(task)

    async def _in_transaction(self, work: Callable[[Connection], Coroutine[Any, Any, _T]]) -> _T:
        async with self.transaction() as db:
            return await work(db)

    async def migrate(self, migrations: Sequence[str]) -> None:
        """Run the migrations (PostgreSQL's texts) past schema_version's, all in one transaction under an
        advisory lock: a second instance starting at the same time waits, then finds nothing left to do."""
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            await conn.execute(_VERSION_TABLE)
            row = await (await conn.execute("SELECT version FROM schema_version")).fetchone()
            if row is None:
                await conn.execute("INSERT INTO schema_version (version) VALUES (0)")
            version = int(row[0]) if row else 0
            if version > len(migrations):
                raise RuntimeError(f"database schema v{version} is newer than this inqd (v{len(migrations)})")
            for script in migrations[version:]:
                for statement in filter(str.strip, script.split(";")):
                    await conn.execute(statement)  # no parameters: a `%` in the text stays as it is
            await conn.execute("UPDATE schema_version SET version = %s", (len(migrations),))

    @staticmethod
    async def schema_version(url: str) -> int:
        """The schema version of the database at `url` (0 before inqd's first start), changing nothing; raises
        DatabaseUnreachable when it cannot be reached."""
        try:
            conn = await psycopg.AsyncConnection.connect(url, connect_timeout=_CONNECT_TIMEOUT_S)
        except psycopg.OperationalError as err:
            raise DatabaseUnreachable(_first_line(err)) from err
        async with conn:
            cur = await conn.execute("SELECT to_regclass('schema_version') IS NOT NULL")
            known = await cur.fetchone()
            if not known or not known[0]:
                return 0
            cur = await conn.execute("SELECT version FROM schema_version")
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def hold_database(self, *, alone: bool) -> bool:
        """A session advisory lock on a connection kept outside the pool until `aclose`: shared by the daemons
        (several instances share the work), exclusive for `inqd migrate` (no daemon may run meanwhile). False at
        once when the other kind is held."""
        if self._database_hold is not None:
            return True
        conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S)
        lock = "pg_try_advisory_lock" if alone else "pg_try_advisory_lock_shared"
        cur = await conn.execute(f"SELECT {lock}(%s)", (_DAEMON_LOCK,))
        row = await cur.fetchone()
        if not row or not row[0]:
            await conn.close()
            return False
        self._database_hold = conn
        return True

    async def aclose(self) -> None:
        """Close the pool's connections, once the one-hop transactions under way are done (and the daemon lock's
        connection, which frees it)."""
        await asyncio.gather(*self._in_flight, return_exceptions=True)
        await self._pool.close()
        await self._renewal_pool.close()
        held, self._database_hold = self._database_hold, None
        if held is not None:
            # Unlocked before the connection closes: the server frees a closed session's locks as its backend
            # exits, after the close returns, so a migration right after the last daemon stopped could be refused.
            with contextlib.suppress(psycopg.Error):  # a broken connection: its locks go with its backend
                await held.execute("SELECT pg_advisory_unlock_all()")
            await held.close()
