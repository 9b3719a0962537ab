"""The small database interface the store's parts talk to, whichever engine is behind it.

A `Connection` runs statements (written with `?` placeholders, in the SQL of store/dialect.py); what `execute`
returns is awaited, or used as `async with ... as cur`, as aiosqlite's is. Rows answer by index and by column
name. A `Database` gives the connection for single statements (each its own transaction), transactions, and
the migrations. Two engines: SQLite (store/sqlite.py, the embedded default) and PostgreSQL (store/postgres.py).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

_T = TypeVar("_T")


class DatabaseUnreachable(Exception):
    """The database cannot be opened (server down, refused, unreadable file); the text is the driver's first line."""


class Row(Protocol):
    """A result row: `row[0]` and `row["column"]`."""

    def __getitem__(self, key: Any, /) -> Any: ...


class Cursor(Protocol):
    """A statement's outcome: its rows (by index and by name), and how many rows it changed."""

    @property
    def rowcount(self) -> int: ...

    async def fetchone(self) -> Any: ...

    async def fetchall(self) -> Iterable[Any]: ...


class Connection(Protocol):
    """Where the store's SQL goes."""

    # What these return is awaited for a Cursor, or entered with `async with` (aiosqlite's is a decorated call
    # that type checkers see as Any).
    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Any: ...


class Database(Protocol):
    """One engine's connection(s), transactions and migrations."""

    kind: str  # "sqlite" or "postgres"

    @property
    def reads(self) -> Connection:
        """Statements outside any transaction (each one is its own)."""
        ...

    @property
    def renewals(self) -> Connection:
        """Statements that must not queue behind the others (lease renewals): on a connection of their own where
        the engine has several."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """One write transaction at a time in this process; committed on exit, rolled back on an error."""
        ...

    async def in_one_hop(self, work: Callable[[Connection], Coroutine[Any, Any, _T]]) -> _T:
        """`work` as one transaction, as cheaply as the engine allows (SQLite: one call on its thread)."""
        ...

    async def migrate(self, migrations: Sequence[str]) -> None:
        """Run the migrations the database has not seen (each of `migrations` is SQLite's text)."""
        ...

    async def hold_database(self, *, alone: bool) -> bool:
        """Whether this process may work on the database beside the others (`alone=False`: daemons) or alone
        (`alone=True`: `inqd migrate`, while no daemon runs); held until `aclose`."""
        ...

    async def aclose(self) -> None:
        """Close the connection(s)."""
        ...
