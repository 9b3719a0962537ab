"""Moving a whole queue from a SQLite store into a PostgreSQL one (`inqd migrate --from sqlite:PATH`).

The tables, their columns and the order they are written in come from the SQLite file's own schema (its catalog
and its foreign keys), never from a list kept here: a table a later migration adds is copied without a change
here. Both stores are at the current schema version (Store.open migrates each), so the columns are the same.
Rows keep their ids; each identity column's sequence is then moved past the largest id, so inquiries recorded
afterwards on PostgreSQL get ids after the copied ones. The whole copy is one PostgreSQL transaction: it is all
there, or none of it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aggregator.store.base import StoreBase
from aggregator.store.database import Connection

_BATCH_ROWS = 1000  # rows read and written at a time: a large queue never sits in memory whole


class TargetNotEmpty(Exception):
    """The target database already holds inquiries: two queues are never merged."""


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class CopyMixin(StoreBase):
    """Copying this (SQLite) store's rows into another (PostgreSQL) store."""

    async def copy_into(self, target: StoreBase, *, batch_rows: int = _BATCH_ROWS) -> dict[str, int]:
        """Copy every table of this SQLite store into the PostgreSQL store `target`, ids kept, in one transaction
        of the target; returns the rows copied per table, in the order written. Raises TargetNotEmpty (nothing
        written) when the target holds inquiries. What else the target holds (a daemon's cursors, stream status
        or leases from runs without a single inquiry) is replaced by this store's."""
        if self.backend != "sqlite" or target.backend != "postgres":
            raise ValueError(f"copies from SQLite into PostgreSQL, not from {self.backend} into {target.backend}")
        tables = await self._tables_in_write_order()
        async with target._transaction() as db:
            async with db.execute("SELECT COUNT(*) FROM inquiries") as cur:
                row = await cur.fetchone()
            if row is not None and row[0]:
                raise TargetNotEmpty(f"the target already holds {row[0]} inquiries")
            for table, _ in reversed(tables):  # the referring tables emptied before the ones they refer to
                await db.execute(f"DELETE FROM {_quoted(table)}")  # noqa: S608 (a name from the catalog)
            counts = {table: await self._copy_table(db, table, columns, batch_rows) for table, columns in tables}
            for table, copied in counts.items():
                if copied:
                    await _move_identity_past_max(db, table)
        return counts

    async def _tables_in_write_order(self) -> list[tuple[str, list[str]]]:
        """Each table with its columns, a table after the tables its foreign keys refer to."""
        async with self._conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ) as cur:
            names = [row[0] for row in await cur.fetchall()]
        refers_to: dict[str, set[str]] = {}
        columns: dict[str, list[str]] = {}
        for name in names:
            async with self._conn.execute(f"PRAGMA foreign_key_list({_quoted(name)})") as cur:
                refers_to[name] = {row["table"] for row in await cur.fetchall()} - {name}
            async with self._conn.execute(f"PRAGMA table_info({_quoted(name)})") as cur:
                columns[name] = [row["name"] for row in await cur.fetchall()]
        ordered: list[str] = []
        while len(ordered) < len(names):
            ready = [n for n in names if n not in ordered and refers_to[n] <= set(ordered)]
            if not ready:
                raise RuntimeError(f"foreign keys in a cycle among {sorted(set(names) - set(ordered))}")
            ordered += ready
        return [(name, columns[name]) for name in ordered]

    async def _copy_table(self, db: Connection, table: str, columns: Sequence[str], batch_rows: int) -> int:
        """Copy one table's rows into `db`, `batch_rows` at a time in rowid order; returns how many."""
        names = ", ".join(_quoted(c) for c in columns)
        select = f"SELECT rowid, {names} FROM {_quoted(table)} WHERE rowid > ? ORDER BY rowid LIMIT ?"  # noqa: S608
        insert = f"INSERT INTO {_quoted(table)} ({names}) VALUES ({', '.join('?' for _ in columns)})"  # noqa: S608
        copied, after = 0, -(2**63)
        while True:
            async with self._conn.execute(select, (after, batch_rows)) as cur:
                rows: list[Any] = list(await cur.fetchall())
            if not rows:
                return copied
            await db.executemany(insert, [tuple(row)[1:] for row in rows])
            copied += len(rows)
            after = rows[-1][0]


async def _move_identity_past_max(db: Connection, table: str) -> None:
    """Set the sequence of `table`'s identity column (if it has one) to its largest value: the next is after it."""
    async with db.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ? AND is_identity = 'YES'",
        (table,),
    ) as cur:
        identity = await cur.fetchone()
    if identity is None:
        return
    column = _quoted(identity[0])
    await db.execute(
        f"SELECT setval(pg_get_serial_sequence(?, ?), (SELECT MAX({column}) FROM {_quoted(table)}))",  # noqa: S608
        (table, identity[0]),
    )
