"""SLA timers: which inquiries need an alert plan or have an alert due, and the alerts fired.

Planned rows (schema.PLANNED_ROWS): every open inquiry, and answered ones whose answer promised a date.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast

import aiosqlite

from aggregator.store.base import StoreBase
from aggregator.store.payloads import payload_json
from aggregator.store.schema import (
    _MARKETPLACES,
    _NO_CONTROLS,
    _STREAMS,
    CURRENT_PLAN_GENERATION,
    NO_MORE_ALERTS,
    PLAN_GENERATION_KEY,
    PLANNED_ROWS,
    REPLAN_ALL_SQL,
    AlertUpdate,
    Channels,
    _dt,
    _dt_or_none,
    channels_for,
    db_time,
)
from core.models import InquiryControls, Marketplace, StreamKind

_NOTHING_FIRED: frozenset[str] = frozenset()


class AlertCandidate(NamedTuple):
    """What the timer reads of one planned row: the fields its clocks and the seller's controls need, no text.

    A re-plan reads every open row; the whole inquiry (title, body, buyer: decoded text, a frozen dataclass
    checking three times) cost about as much as planning it.
    """

    id: int
    marketplace: Marketplace
    stream: StreamKind
    received_at: datetime
    deadline_at: datetime | None
    answered: bool
    first_seen_at: datetime
    controls: InquiryControls
    fired: frozenset[str]  # keys of the alerts already fired or superseded
    plan_generation: int  # the generation current when read: its new plan is stored under it


# (plan_generation, next_alert_at, id) of a stale row: the stale scan's order (the partial index, then the rowid).
StaleKey = tuple[int, str | None, int]


class CandidateBatch(NamedTuple):
    """One read of the timer's candidates, and where its stale scan stopped."""

    candidates: list[AlertCandidate]
    resume_after: StaleKey | None  # the last stale row read (`after` again if none was): the next read goes on there
    only_stale: bool  # every row came from the stale scan (none due, none of this generation awaiting a plan)


# The columns AlertCandidate is made of, in `_candidate`'s order, and the keys already in the alert log; then the
# current plan generation, and the row's own generation and time (its StaleKey).
_G = CURRENT_PLAN_GENERATION
_CANDIDATE_FIELDS = (
    *("id", "marketplace", "stream", "received_at", "deadline_at", "answered", "first_seen_at"),
    *("snoozed_until", "handled_at", "promise_at", "promise_note", "promise_by_answer"),
    "(SELECT group_concat(key, char(31)) FROM alert_log WHERE alert_log.inquiry_id = inquiries.id)",
    *(_G, "plan_generation", "next_alert_at"),
)
# One statement and one JSON text per scan: SQLite steps the whole scan at once with the GIL released, where a
# step per row took the GIL back 2,000 times a batch from the event loop planning the batch before (a convoy).
_SELECT_CANDIDATES = "SELECT json_group_array(json_array({})) FROM (SELECT {} FROM inquiries {} AND ".format(  # noqa: S608
    ", ".join(f"c{n}" for n in range(len(_CANDIDATE_FIELDS))),
    ", ".join(f"{field} AS c{n}" for n, field in enumerate(_CANDIDATE_FIELDS)),
    f"INDEXED BY inquiries_alert_due WHERE {PLANNED_ROWS}",
)
# Range scans of the partial index (plan_generation, next_alert_at), most urgent first: alerts of current plans
# really due now, then rows of this generation never planned (new or changed), then stale plans, oldest
# generation first (new inquiries come with generation 0 and no time: first of all) and by their old alert time
# within one, then by id (the index's last column). During a 100k re-plan each batch thus serves what fell due
# meanwhile first. The current generation comes in each row (a scalar subquery, evaluated once per statement).
_URGENT_SCANS = (
    f"plan_generation = {_G} AND next_alert_at <= ? ORDER BY next_alert_at",
    f"plan_generation = {_G} AND next_alert_at IS NULL",
)
_STALE_SCAN = f"plan_generation < {_G} ORDER BY plan_generation, next_alert_at, id"
# The stale scan continued after a StaleKey: the rest of its (generation, time), the rest of its generation, the
# later stale generations. Each a plain range of the index (a row-value comparison would not skip the NULL times).
_STALE_AFTER_NULL = (
    "plan_generation = ? AND next_alert_at IS NULL AND id > ? ORDER BY id",
    "plan_generation = ? AND next_alert_at IS NOT NULL ORDER BY next_alert_at, id",
)
_STALE_AFTER_TIME = (
    "plan_generation = ? AND next_alert_at = ? AND id > ? ORDER BY id",
    "plan_generation = ? AND next_alert_at > ? ORDER BY next_alert_at, id",
)
_LATER_STALE = f"plan_generation > ? AND plan_generation < {_G} ORDER BY plan_generation, next_alert_at, id"


def _stale_scans(after: StaleKey | None) -> list[tuple[str, tuple[Any, ...]]]:
    if after is None:
        return [(_STALE_SCAN, ())]
    generation, at, row_id = after
    if at is None:
        same_time, later_time = _STALE_AFTER_NULL
        return [(same_time, (generation, row_id)), (later_time, (generation,)), (_LATER_STALE, (generation,))]
    same_time, later_time = _STALE_AFTER_TIME
    return [(same_time, (generation, at, row_id)), (later_time, (generation, at)), (_LATER_STALE, (generation,))]


def _read_candidates(
    raw: sqlite3.Connection, now_s: str, limit: int, after: StaleKey | None
) -> tuple[list[list[Any]], int]:
    """On the database thread: up to `limit` candidate rows, urgent first; and how many of them are urgent."""
    scans = [(_URGENT_SCANS[0], (now_s,)), (_URGENT_SCANS[1], ()), *_stale_scans(after)]
    rows: list[list[Any]] = []
    urgent = 0
    for n, (where, args) in enumerate(scans):
        if len(rows) >= limit:
            break
        (found,) = raw.execute(f"{_SELECT_CANDIDATES}{where} LIMIT ?)", (*args, limit - len(rows))).fetchone()
        rows += json.loads(found)
        if n < len(_URGENT_SCANS):
            urgent = len(rows)
    return rows, urgent


def _candidate(row: list[Any]) -> AlertCandidate:
    row_id, marketplace, stream, received, deadline, answered, first_seen = row[:7]
    snoozed, handled, promised, note, by_answer, fired, generation = row[7:14]
    return AlertCandidate(
        row_id,
        _MARKETPLACES[marketplace],
        _STREAMS[stream],
        _dt(received),
        None if deadline is None else _dt(deadline),
        bool(answered),
        _dt(first_seen),
        InquiryControls(
            snoozed_until=_dt_or_none(snoozed),
            handled_at=_dt_or_none(handled),
            promise_at=_dt_or_none(promised),
            promise_note=note or "",
            promise_by_answer=bool(by_answer),
        )
        if snoozed or handled or promised
        else _NO_CONTROLS,
        frozenset(fired.split("\x1f")) if fired else _NOTHING_FIRED,
        generation,
    )


def _alert_rows(
    update: AlertUpdate,
    channels: Channels,
    now_s: str,
    log_rows: list[tuple[int, str, str, str, str]],
    outbox_rows: list[tuple[str, str, int, str, str, str, str]],
    events: list[tuple[str, str, int, str]],
) -> None:
    """Append the alert-log, outbox and event rows of one update's fired and superseded alerts."""
    for fire in update.fire:
        key = fire.alert.key
        log_rows.append((update.inquiry_id, key, db_time(fire.alert.due_at), now_s, "queued"))
        payload = payload_json(fire.kind, fire.alert)
        outbox_rows += [
            (fire.kind.value, ch, update.inquiry_id, payload, f"alert:{update.inquiry_id}:{key}:{ch}", now_s, now_s)
            for ch in channels_for(channels, fire.kind)
        ]
        events.append((now_s, "alert_queued", update.inquiry_id, payload))
    for key, due_at in update.superseded:
        log_rows.append((update.inquiry_id, key, db_time(due_at), now_s, "superseded"))


# Every row's new plan in one statement (one GIL-free step, as the read) from [[id, next_alert_at, generation]].
_UPDATE_PLANS = (
    "UPDATE inquiries SET next_alert_at = json_extract(plan.value, '$[1]'), "
    "plan_generation = json_extract(plan.value, '$[2]') "
    "FROM json_each(?) AS plan WHERE inquiries.id = json_extract(plan.value, '$[0]')"
)


class TimersMixin(StoreBase):
    """The `Store` methods for SLA timers."""

    # ---- SLA timers ------------------------------------------------------------------------------

    async def reset_alert_plans(self, fingerprint: str) -> int | None:
        """Make the timer plan every planned row again if the policy config changed since the plans were made.

        One meta row is written (the plan generation goes up): the rows themselves are rewritten once, by the
        re-plan. Returns how many inquiries will be re-planned, or None when `fingerprint` matches the stored one.
        """
        async with self._transaction() as db:
            async with db.execute("SELECT value FROM meta WHERE key = 'plan_fingerprint'") as cur:
                row = await cur.fetchone()
            if row is not None and row[0] == fingerprint:
                return None
            await db.execute(REPLAN_ALL_SQL)
            async with db.execute(f"SELECT COUNT(*) FROM inquiries WHERE {PLANNED_ROWS}") as cur:  # noqa: S608
                (open_count,) = await cur.fetchone() or (0,)
            await db.execute(
                "INSERT INTO meta (key, value) VALUES ('plan_fingerprint', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (fingerprint,),
            )
            return int(open_count)

    async def plan_generation(self) -> int:
        """The current plan generation: a planned row whose plan carries an older one is planned again."""
        async with self._conn.execute("SELECT value FROM meta WHERE key = ?", (PLAN_GENERATION_KEY,)) as cur:
            row = await cur.fetchone()
        return 0 if row is None else int(row[0])

    async def alert_candidates(self, *, now: datetime, limit: int) -> list[AlertCandidate]:
        """Planned rows that need planning or have an alert due, with the keys of alerts already fired."""
        return (await self.alert_candidate_batch(now=now, limit=limit)).candidates

    async def alert_candidate_batch(
        self, *, now: datetime, limit: int, after: StaleKey | None = None
    ) -> CandidateBatch:
        """`alert_candidates`, the stale scan continued after `after`, read in one call on the database thread.

        With `after` the last stale row of a batch not yet written, the next batch can be read while that one is
        planned (AlertTimer.run_once): a stale row's key only moves back (planned: current generation; changed by a
        poll: NULL time) until its plan is written, so nothing in flight is read again.
        """
        # aiosqlite's one door to its thread, as StoreBase._transaction_in_one_hop: the three scans, their rows and
        # the alert-log keys in one call, so the read runs whole while the event loop is busy planning.
        on_thread = cast(Callable[..., Awaitable[tuple[list[list[Any]], int]]], self._conn._execute)
        rows, urgent = await on_thread(_read_candidates, self._conn._conn, db_time(now), limit, after)
        stale = rows[urgent:]
        return CandidateBatch(
            [_candidate(row) for row in rows],
            (stale[-1][-2], stale[-1][-1], stale[-1][0]) if stale else after,
            urgent == 0,
        )

    async def record_alerts(self, updates: Sequence[AlertUpdate], *, channels: Channels, now: datetime) -> int:
        """Queue fired alerts, log them and superseded ones, and store each inquiry's next alert time: one txn,
        in one call on the database thread (it runs there while the timer plans its next batch)."""
        now_s = db_time(now)
        log_rows: list[tuple[int, str, str, str, str]] = []
        outbox_rows: list[tuple[str, str, int, str, str, str, str]] = []
        events: list[tuple[str, str, int, str]] = []
        next_rows: list[tuple[int, str, int]] = []
        for update in updates:
            if update.fire or update.superseded:
                _alert_rows(update, channels, now_s, log_rows, outbox_rows, events)
            next_at = NO_MORE_ALERTS if update.next_at is None else db_time(update.next_at)
            next_rows.append((update.inquiry_id, next_at, update.plan_generation))

        async def work(db: aiosqlite.Connection) -> None:
            if log_rows:
                await db.executemany(
                    "INSERT INTO alert_log (inquiry_id, key, due_at, fired_at, outcome) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (inquiry_id, key) DO NOTHING",
                    log_rows,
                )
            if outbox_rows:
                await db.executemany(
                    "INSERT INTO outbox (kind, channel, inquiry_id, payload, dedup_key, due_at, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
                    outbox_rows,
                )
            if events:
                await db.executemany("INSERT INTO events (at, kind, inquiry_id, detail) VALUES (?, ?, ?, ?)", events)
            await db.execute(_UPDATE_PLANS, (json.dumps(next_rows),))

        await self._transaction_in_one_hop(work)
        return len(outbox_rows)

    async def next_alert_at(self) -> datetime | None:
        """When the timer must look next: now-ish if something awaits planning, else the earliest alert."""
        # Stale generations sort first, then NULL (awaiting a plan): one step of the partial index answers all.
        async with self._conn.execute(
            f"SELECT plan_generation < {CURRENT_PLAN_GENERATION}, next_alert_at "  # noqa: S608 - constants
            "FROM inquiries INDEXED BY inquiries_alert_due "
            f"WHERE {PLANNED_ROWS} AND plan_generation <= {CURRENT_PLAN_GENERATION} "
            "ORDER BY plan_generation, next_alert_at LIMIT 1"
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        if row[0] or row[1] is None:
            return datetime.min.replace(tzinfo=UTC)
        return None if row[1] == NO_MORE_ALERTS else _dt(row[1])

    async def alert_log(self, inquiry_id: int) -> list[tuple[str, datetime, datetime, str]]:
        """(key, due_at, fired_at, outcome) of every alert handled for one inquiry."""
        async with self._conn.execute(
            "SELECT key, due_at, fired_at, outcome FROM alert_log WHERE inquiry_id = ? ORDER BY due_at, key",
            (inquiry_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [(r["key"], _dt(r["due_at"]), _dt(r["fired_at"]), r["outcome"]) for r in rows]
