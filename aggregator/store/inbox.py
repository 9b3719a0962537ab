"""The `Store` reads behind the web inbox: the few columns that order the open queue, the full rows of one page,
the answers in progress, and a version that changes whenever anything was written.

The inbox sorts 10,000 open inquiries on every refresh; reading whole rows for that (and building an `Inquiry`
of each) cost more than the page may take, so the sort reads five columns and only the shown page reads the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aggregator.store.answers import LIVE_STATES, AnswerState
from aggregator.store.base import StoreBase
from aggregator.store.schema import StoredInquiry, _chunks, _inquiry_from_row
from core.models import Marketplace, StreamKind

# An answer the seller has started and the marketplace does not show yet: the inbox's "답변 대기" badge.
PENDING_STATES = frozenset({AnswerState.DRAFT}) | LIVE_STATES
_PENDING_SQL = ",".join(f"'{state.value}'" for state in sorted(PENDING_STATES))
# Where the inbox's search looks: the question, the product, the order and the marketplace's own id.
_SEARCHED = ("body", "title", "product_name", "order_id", "external_id")


@dataclass(frozen=True, slots=True)
class QueueKey:
    """What ordering one open inquiry needs, as stored (times as the store's fixed-width UTC text)."""

    id: int
    marketplace: str
    stream: str
    received_at: str
    deadline_at: str | None


def _like_pattern(text: str) -> str:
    """`text` as a LIKE pattern matching it anywhere, its own `%`, `_` and `\\` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class InboxMixin(StoreBase):
    """Reads for the web inbox's list."""

    async def open_queue_keys(
        self, *, marketplace: Marketplace | None = None, stream: StreamKind | None = None, search: str = ""
    ) -> list[QueueKey]:
        """The open inquiries that match the filters (search: any of the question, title, product, order id,
        marketplace id, case-insensitive for Latin letters), unordered."""
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
        query = (
            "SELECT id, marketplace, stream, received_at, deadline_at FROM inquiries "  # noqa: S608 - constants only
            f"WHERE {' AND '.join(clauses)}"
        )
        async with self._conn.execute(query, args) as cur:
            rows = await cur.fetchall()
        return [QueueKey(*row) for row in rows]

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
        async with self._conn.execute("SELECT total_changes()") as cur:
            own = await cur.fetchone()
        async with self._conn.execute("PRAGMA data_version") as cur:
            others = await cur.fetchone()
        return f"{own[0] if own else 0}.{others[0] if others else 0}"
