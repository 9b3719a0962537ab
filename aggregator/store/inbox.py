"""The `Store` reads behind the web inbox: the few columns that order the open queue, the full rows of one page,
the answers in progress, and a version that changes whenever anything was written.

The inbox sorts 10,000 open inquiries whenever the queue changed; reading whole rows for that (and building an
`Inquiry` of each) cost more than the page may take. So the sort reads the open ids, and the five columns that
order them only of the rows written since it last looked (`updated_at`: `record_poll` sets it on every row it
inserts or changes, the only writes of those columns); only the shown page reads the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aggregator.store.answers import LIVE_STATES, AnswerState
from aggregator.store.base import StoreBase
from aggregator.store.dialect import POSTGRES_WRITE_VERSION, SQLITE_WRITE_VERSION
from aggregator.store.schema import StoredInquiry, _chunks, _inquiry_from_row
from core.models import Marketplace, StreamKind

# An answer the seller has started and the marketplace does not show yet: the inbox's "답변 대기" badge.
PENDING_STATES = frozenset({AnswerState.DRAFT}) | LIVE_STATES
_PENDING_SQL = ",".join(f"'{state.value}'" for state in sorted(PENDING_STATES))
# Where the inbox's search looks: the question, the product, the order and the marketplace's own id.
_SEARCHED = ("body", "title", "product_name", "order_id", "external_id")


# What ordering one open inquiry needs, as stored: (id, marketplace, stream, received_at, deadline_at), the times
# as the store's fixed-width UTC text. Plain tuples: 10,000 of them are read for every change of the queue.
QueueKey = tuple[int, str, str, str, str | None]


def _like_pattern(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its own `%`, `_` and `\\` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filter_clauses(
    marketplace: Marketplace | None, stream: StreamKind | None, search: str
) -> tuple[list[str], list[str]]:
    clauses, args = ["answered = 0"], list[str]()
    if marketplace is not None:
        clauses.append("marketplace = ?")
        args.append(marketplace.value)
    if stream is not None:
        clauses.append("stream = ?")
        args.append(stream.value)
    if search.strip():
        clauses.append("(" + " OR ".join(f"{column} LIKE ? ESCAPE '\\'" for column in _SEARCHED) + ")")
        args += [_like_pattern(search.strip())] * len(_SEARCHED)
    return clauses, args


class InboxMixin(StoreBase):
    """Reads for the web inbox's list."""

    async def _tuples(self, query: str, args: Sequence[object]) -> list[tuple[Any, ...]]:
        async with self._conn.execute(query, args) as cur:
            cur.row_factory = None  # plain tuples: sqlite3.Row and a conversion cost a third more on 10,000 rows
            rows: list[tuple[Any, ...]] = list(await cur.fetchall())  # tuples, as set
            return rows

    async def open_ids(
        self, *, marketplace: Marketplace | None = None, stream: StreamKind | None = None, search: str = ""
    ) -> list[int]:
        """The ids of the open inquiries that match the filters (search: any of the question, title, product,
        order id, marketplace id; case-insensitive for Latin letters), unordered."""
        clauses, args = _filter_clauses(marketplace, stream, search)
        query = f"SELECT id FROM inquiries WHERE {' AND '.join(clauses)}"  # noqa: S608 - constants only
        return [row[0] for row in await self._tuples(query, args)]

    async def open_queue_keys(
        self, *, updated_since: str | None = None, ids: Sequence[int] = ()
    ) -> list[tuple[QueueKey, str]]:
        """What orders the open inquiries, each with its `updated_at`: all of them, those written after
        `updated_since` (the store's time text), or those of `ids`."""
        columns = "id, marketplace, stream, received_at, deadline_at, updated_at"
        if ids:
            rows = []
            for chunk in _chunks([str(i) for i in ids]):
                marks = ",".join("?" * len(chunk))
                query = f"SELECT {columns} FROM inquiries WHERE answered = 0 AND id IN ({marks})"  # noqa: S608
                rows += await self._tuples(query, chunk)
        elif updated_since is not None:
            query = f"SELECT {columns} FROM inquiries WHERE answered = 0 AND updated_at > ?"  # noqa: S608
            rows = await self._tuples(query, (updated_since,))
        else:
            rows = await self._tuples(f"SELECT {columns} FROM inquiries WHERE answered = 0", ())  # noqa: S608
        return [(row[:5], row[5]) for row in rows]

    async def inquiries_by_id(self, ids: Sequence[int]) -> dict[int, StoredInquiry]:
        """The stored inquiries of `ids` (those that exist)."""
        found: dict[int, StoredInquiry] = {}
        for chunk in _chunks([str(i) for i in ids]):
            marks = ",".join("?" * len(chunk))
            async with self._conn.execute(
                f"SELECT * FROM inquiries WHERE id IN ({marks})",  # noqa: S608 - only placeholders are inserted
                chunk,
            ) as cur:
                for row in await cur.fetchall():
                    stored = _inquiry_from_row(row)
                    found[stored.id] = stored
        return found

    async def pending_answer_states(self, inquiry_ids: Sequence[int]) -> dict[int, AnswerState]:
        """For each of `inquiry_ids` with an answer written but not yet seen at the marketplace: its state."""
        states: dict[int, AnswerState] = {}
        for chunk in _chunks([str(i) for i in inquiry_ids]):
            marks = ",".join("?" * len(chunk))
            async with self._conn.execute(
                f"SELECT inquiry_id, state FROM answers WHERE state IN ({_PENDING_SQL}) "  # noqa: S608 - constants
                f"AND inquiry_id IN ({marks}) ORDER BY id",
                chunk,
            ) as cur:
                for inquiry_id, state in await cur.fetchall():
                    states[inquiry_id] = AnswerState(state)
        return states

    async def write_version(self) -> str:
        """Changes whenever anything was written to the database, by this daemon or by another process (a
        terminal command): the inbox answers "nothing new" without reading the queue while it stays the same."""
        probes = POSTGRES_WRITE_VERSION if self.backend == "postgres" else SQLITE_WRITE_VERSION
        parts = []
        for probe in probes:
            async with self._conn.execute(probe) as cur:
                row = await cur.fetchone()
            parts.append(str(row[0] if row else 0))
        return ".".join(parts)
