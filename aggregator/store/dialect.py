"""Where SQLite's SQL and PostgreSQL's differ, in one place: the store's statements are written once, in the
SQL both engines read (upserts with ON CONFLICT, RETURNING, CAST, COALESCE), with `?` placeholders; the few
SQLite-only words left are rewritten here for PostgreSQL, once per statement text (cached).

- placeholders: `?` -> `%s` (psycopg's), and a literal `%` -> `%%`
- planner hints: `INDEXED BY <index>` is SQLite's; PostgreSQL's planner takes no hints (dropped)
- aggregates: `group_concat(x, char(31))` -> `string_agg(x, chr(31))` (SQLite 3.40 here has no string_agg)
- scalar MAX(a, b) / MIN(a, b) (SQLite's, two or more arguments) -> GREATEST / LEAST; MAX(x) stays an aggregate
- schema (migrations only): `INTEGER PRIMARY KEY` (SQLite's rowid alias) -> a BIGINT identity; every other
  INTEGER -> BIGINT, so an id column and the columns that reference it have one type
- row locks: `/*FOR UPDATE ...*/` (a comment to SQLite, whose one writer needs none) -> `FOR UPDATE ...`, so the
  claims several instances contend for skip each other's rows (FOR UPDATE SKIP LOCKED)
- the "anything written?" probe of the web inbox: SQLite's change counters, PostgreSQL's next transaction id
- many rows (`executemany` of a one-row INSERT): ONE multi-row INSERT with numbered placeholders ($1, $2 ...)
  for psycopg's raw cursor, instead of a statement per row (see `postgres_insert_rows`)
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

_INDEXED_BY = re.compile(r"\s+INDEXED BY \w+", re.IGNORECASE)
_GROUP_CONCAT = re.compile(r"\bgroup_concat\(", re.IGNORECASE)
_CHAR = re.compile(r"\bchar\((\d+)\)", re.IGNORECASE)
_EXTREME = re.compile(r"\b(MAX|MIN)\(", re.IGNORECASE)
_SCALAR = {"MAX": "GREATEST", "MIN": "LEAST"}
_ROWID_KEY = re.compile(r"\bINTEGER PRIMARY KEY\b", re.IGNORECASE)
_INTEGER = re.compile(r"\bINTEGER\b", re.IGNORECASE)
_ROW_LOCK = re.compile(r"/\*(FOR UPDATE[^*]*)\*/")

# SELECTs whose one row changes whenever anything was written (store/inbox.py `write_version`).
SQLITE_WRITE_VERSION = ("SELECT total_changes()", "PRAGMA data_version")
# xmax of a snapshot: the next transaction id to be handed out, which every writing transaction, of any
# connection, moves on (a read-only one takes none, so reading it does not move it).
POSTGRES_WRITE_VERSION = ("SELECT pg_snapshot_xmax(pg_current_snapshot())::text",)


@lru_cache(maxsize=2048)
def postgres_statement(sql: str) -> str:
    """`sql` as written for SQLite, for psycopg and PostgreSQL."""
    return _placeholders(_postgres_words(sql))


def _postgres_words(sql: str) -> str:
    """`sql` with SQLite's own words rewritten (placeholders left as `?`)."""
    sql = _INDEXED_BY.sub("", sql)
    sql = _ROW_LOCK.sub(r"\1", sql)
    sql = _GROUP_CONCAT.sub("string_agg(", sql)
    sql = _CHAR.sub(r"chr(\1)", sql)
    return _scalar_extremes(sql)


def _scalar_extremes(sql: str) -> str:
    """MAX(a, b) -> GREATEST(a, b) and MIN(a, b) -> LEAST(a, b): the calls whose parentheses hold a comma at
    their own depth (an aggregate has one argument)."""
    out, start = [], 0
    for match in _EXTREME.finditer(sql):
        depth, position = 1, match.end()
        has_comma = False
        while depth and position < len(sql):
            char = sql[position]
            depth += {"(": 1, ")": -1}.get(char, 0)
            has_comma |= char == "," and depth == 1
            position += 1
        if has_comma:
            out += [sql[start : match.start()], _SCALAR[match.group(1).upper()], "("]
            start = match.end()
    return "".join([*out, sql[start:]])


def _placeholders(sql: str) -> str:
    """`?` outside string literals becomes `%s`; every `%` becomes `%%` (psycopg reads `%` inside literals too)."""
    out: list[str] = []
    quoted = False
    for char in sql:
        if char == "'":
            quoted = not quoted  # '' inside a literal toggles twice: still inside
        if char == "%":
            out.append("%%")
        elif char == "?" and not quoted:
            out.append("%s")
        else:
            out.append(char)
    return "".join(out)


class InsertRows(NamedTuple):
    """A one-row INSERT taken apart, to be written out for many rows: `head` ("INSERT INTO t (cols) VALUES "),
    the row's text split at its placeholders (`row_parts`), and `tail` (its ON CONFLICT ... DO NOTHING)."""

    head: str
    row_parts: tuple[str, ...]
    tail: str

    @property
    def per_row(self) -> int:
        """Placeholders in one row."""
        return len(self.row_parts) - 1

    def for_rows(self, rows: int) -> str:
        """The statement inserting `rows` rows, its placeholders numbered $1, $2 ... (psycopg's raw cursor)."""
        per_row = self.per_row
        values = ",".join(self._row(before) for before in range(0, rows * per_row, per_row))
        return f"{self.head}{values}{self.tail}"

    def _row(self, before: int) -> str:
        """One row's text, its placeholders numbered from `before` + 1."""
        numbered = (f"{part}${before + k}" for k, part in enumerate(self.row_parts[:-1], start=1))
        return "(" + "".join(numbered) + self.row_parts[-1] + ")"


# The table's name bare or quoted (`inqd migrate` quotes every name it copies).
_INSERT_HEAD = re.compile(r'\s*INSERT\s+INTO\s+(\w+|"[^"]+")\s*\([^)]*\)\s*VALUES\s*\(', re.IGNORECASE)
_DO_NOTHING = re.compile(r"\s*(ON\s+CONFLICT\s*(\([^)]*\))?\s*DO\s+NOTHING\s*)?", re.IGNORECASE)


@lru_cache(maxsize=256)
def postgres_insert_rows(sql: str) -> InsertRows | None:
    """`sql` (as written for SQLite), when it is `INSERT INTO t (cols) VALUES (<one row>)` with nothing after the
    row but ON CONFLICT ... DO NOTHING, taken apart to insert many rows in one statement; else None.

    One statement of N rows does what N one-row statements in order do: the rows go in in their order (ids from
    the sequence in that order), and a row whose key an earlier row of the same statement took is skipped by DO
    NOTHING as it would be a statement later. DO UPDATE is left out: PostgreSQL refuses one statement updating
    a row twice, which a row per statement may do.
    """
    sql = _postgres_words(sql)
    head = _INSERT_HEAD.match(sql)
    if head is None:
        return None
    end = _closing_parenthesis(sql, head.end())
    if end is None or not _DO_NOTHING.fullmatch(sql, end + 1):
        return None
    row = sql[head.end() : end]
    if "'" in row or "?" not in row:  # a literal could hold a "?": such rows are not split (none is written)
        return None
    return InsertRows(sql[: head.end() - 1], tuple(row.split("?")), sql[end + 1 :])


def _closing_parenthesis(sql: str, start: int) -> int | None:
    """Where the parenthesis opened just before `start` closes (outside string literals), or None."""
    depth, quoted = 1, False
    for position in range(start, len(sql)):
        char = sql[position]
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "()":
            depth += 1 if char == "(" else -1
            if depth == 0:
                return position
    return None


def postgres_schema(script: str) -> str:
    """A migration's DDL as written for SQLite, for PostgreSQL (types only; the statements are the same)."""
    script = _ROWID_KEY.sub("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", script)
    return _INTEGER.sub("BIGINT", script)
