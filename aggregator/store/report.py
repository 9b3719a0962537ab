"""What the answer-time report reads: each inquiry received since a time, as the report counts it, and when each
account was first polled (the weeks before are "no data", not 0 %)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from aggregator.store.base import StoreBase
from aggregator.store.schema import _dt, _dt_or_none, db_time
from core.models import Marketplace, StreamKind
from policies.answer_report import AnswerTimeSource, InquiryFacts

_MARKETPLACES = {m.value: m for m in Marketplace}
_STREAMS = {s.value: s for s in StreamKind}
_SOURCES = {s.value: s for s in AnswerTimeSource}

# One row per inquiry; an answer sent through inqd counts once a poll confirmed it (answers.state 'confirmed').
_FACTS_SQL = (
    "SELECT id, account_id, marketplace, stream, received_at, first_seen_at, answered, answered_at, "
    "answer_time_source, deadline_at, promise_at, handled_at, "
    "EXISTS (SELECT 1 FROM answers WHERE answers.inquiry_id = inquiries.id AND answers.state = 'confirmed') "
    "AS by_inqd FROM inquiries WHERE received_at >= ? ORDER BY received_at, id"
)
# The first successful poll of any of the account's streams, or (a database from before it was kept, or a row lost)
# the first inquiry it brought, whichever is earlier.
_FIRST_POLLED_SQL = (
    "SELECT account_id, MIN(at) AS first FROM ("
    "SELECT account_id, first_success_at AS at FROM stream_status WHERE first_success_at IS NOT NULL "
    "UNION ALL SELECT account_id, MIN(first_seen_at) FROM inquiries GROUP BY account_id"
    ") AS firsts GROUP BY account_id"  # PostgreSQL names every subquery in FROM
)


class ReportInputs(NamedTuple):
    """The facts of the inquiries received since the asked time, and each account's first poll."""

    facts: list[InquiryFacts]
    first_polled: dict[str, datetime]  # account id -> first poll; an account never polled is absent


def _source(answered: bool, stored: str | None, answered_at: str | None) -> AnswerTimeSource | None:
    if not answered:
        return None
    if stored is not None:
        return _SOURCES[stored]
    # Never written by this version (every answered write sets a source); kept for a row the migration missed.
    return AnswerTimeSource.UNKNOWN if answered_at is None else AnswerTimeSource.MARKETPLACE


class ReportMixin(StoreBase):
    """The `Store` read of the answer-time report."""

    async def report_inputs(self, since: datetime) -> ReportInputs:
        """Every inquiry received at or after `since` (answered or not), and each account's first poll time."""
        async with self._conn.execute(_FACTS_SQL, (db_time(since),)) as cur:
            rows = await cur.fetchall()
        facts = []
        for row in rows:
            answered = bool(row["answered"])
            source = _source(answered, row["answer_time_source"], row["answered_at"])
            known = source is not None and source is not AnswerTimeSource.UNKNOWN
            facts.append(
                InquiryFacts(
                    id=row["id"],
                    account_id=row["account_id"],
                    marketplace=_MARKETPLACES[row["marketplace"]],
                    stream=_STREAMS[row["stream"]],
                    received_at=_dt(row["received_at"]),
                    first_seen_at=_dt(row["first_seen_at"]),
                    answered_at=_dt_or_none(row["answered_at"]) if known else None,
                    answer_time_source=source,
                    deadline_at=_dt_or_none(row["deadline_at"]),
                    answered_by_inqd=bool(row["by_inqd"]),
                    promise_at=_dt_or_none(row["promise_at"]),
                    promise_kept_at=_dt_or_none(row["handled_at"]),
                )
            )
        async with self._conn.execute(_FIRST_POLLED_SQL) as cur:
            first = {row["account_id"]: _dt(row["first"]) for row in await cur.fetchall()}
        return ReportInputs(facts, first)

    async def first_polled_at(self) -> datetime | None:
        """The first successful poll of any account (the weekly message reports only weeks inqd watched)."""
        async with self._conn.execute(f"SELECT MIN(first) AS first FROM ({_FIRST_POLLED_SQL}) AS accounts") as cur:  # noqa: S608
            row = await cur.fetchone()
        return _dt(row["first"]) if row is not None and row["first"] is not None else None
