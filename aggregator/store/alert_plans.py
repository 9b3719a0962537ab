"""SLA timers: which inquiries need an alert plan or have an alert due, and the alerts fired.

Planned rows (schema.PLANNED_ROWS): every open inquiry, and answered ones whose answer promised a date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

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
    db_time_us,
)
from core.instants import EPOCH
from core.models import InquiryControls, Marketplace, StreamKind

_NOTHING_FIRED: frozenset[str] = frozenset()
_US = timedelta(microseconds=1)
# Where `stale_alert_plans` left off: (old plan generation, old alert time, id) of the last row read.
StaleCursor = tuple[int, str, int]


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


# One stale row as the re-plan's fast path reads it: (id, marketplace, stream, received_at, deadline_at, keys
# fired, plain), the times as microseconds since the epoch (core/instants.py), plain = not answered and no control
# set (else the row is read whole to be planned).
StaleRow = tuple[int, Marketplace, StreamKind, int, int | None, frozenset[str], bool]


class StalePage(NamedTuple):
    """A page of `stale_alert_plans`: the rows (narrow, or read whole), the plan generation current when read,
    where to go on from."""

    rows: list[StaleRow]
    candidates: list[AlertCandidate]
    generation: int
    after: StaleCursor | None


# The columns AlertCandidate is made of, in `_candidate`'s order, and the keys already in the alert log (the
# current plan generation follows them).
_CANDIDATE_COLUMNS = (
    "id, marketplace, stream, received_at, deadline_at, answered, first_seen_at, "
    "snoozed_until, handled_at, promise_at, promise_note, promise_by_answer, "
    "(SELECT group_concat(key, char(31)) FROM alert_log WHERE alert_log.inquiry_id = inquiries.id)"
)


# The plan generations the planned rows carry, by a skip-scan of the index: one seek per generation (a handful).
# Rows without an alert time (new, changed) are found by a seek into each; a range scan of "older generation and
# no time" read every index entry while 100,000 stale rows awaited their write-back (12-90 ms a look).
_GENERATIONS = (
    "WITH RECURSIVE generations (generation) AS ("  # noqa: S608 - constants
    f"SELECT MIN(plan_generation) FROM inquiries INDEXED BY inquiries_alert_due WHERE {PLANNED_ROWS} "
    "UNION ALL SELECT (SELECT MIN(plan_generation) FROM inquiries INDEXED BY inquiries_alert_due "
    f"WHERE {PLANNED_ROWS} AND plan_generation > generation) "
    f"FROM generations WHERE generation < {CURRENT_PLAN_GENERATION}) "
)
_IN_GENERATIONS = "plan_generation IN (SELECT generation FROM generations)"


# The columns of a StaleRow, in its order but for the last two (fired keys last here).
_STALE_COLUMNS = (
    "id, marketplace, stream, received_at, deadline_at, "
    "(answered = 0 AND snoozed_until IS NULL AND handled_at IS NULL AND promise_at IS NULL), "
    "(SELECT group_concat(key, char(31)) FROM alert_log WHERE alert_log.inquiry_id = inquiries.id)"
)


@lru_cache(maxsize=4096)
def _fired_set(text: str) -> frozenset[str]:
    """The fired keys as read (group_concat's text), one frozenset for each text: a re-plan's rows share a few
    dozen sets, where a set built per row cost a tenth of the read."""
    return frozenset(text.split("\x1f"))


def _candidate(row: tuple[Any, ...]) -> AlertCandidate:
    row_id, marketplace, stream, received, deadline, answered, first_seen = row[:7]
    snoozed, handled, promised, note, by_answer, fired, generation = row[7:]
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

    async def alert_candidates(
        self, *, now: datetime, limit: int, stale_planned: bool = True, due_only: bool = False
    ) -> list[AlertCandidate]:
        """Planned rows that need planning or have an alert due, with the keys of alerts already fired.

        `stale_planned=False` leaves out rows of an older generation that still carry an old alert time: the timer
        holds their new plans in memory while it writes them back (`stale_alert_plans`, `write_back_alert_plans`);
        new and changed rows (no alert time) still come. `due_only`: only the current plans' alerts due now (one
        step of the index, where finding rows without a time among 100,000 stale ones reads all of them).
        """
        # Range scans of the partial index (plan_generation, next_alert_at), most urgent first: alerts of current
        # plans really due now, then rows of this generation never planned (new or changed), then stale plans,
        # oldest generation first (new inquiries come with generation 0 and no time: first of all) and by their
        # old alert time within one. During a 100k re-plan each batch thus serves what fell due meanwhile first.
        # The fired keys come in one correlated lookup on alert_log's primary key.
        # The current generation comes in each row (a scalar subquery, evaluated once per statement): no extra
        # round trip to the SQLite thread per timer wake-up.
        g = CURRENT_PLAN_GENERATION
        scans = (
            ("", f"plan_generation = {g} AND next_alert_at <= ? ORDER BY next_alert_at", (db_time(now),)),
            ("", f"plan_generation = {g} AND next_alert_at IS NULL", ()),
            ("", f"plan_generation < {g} ORDER BY plan_generation, next_alert_at", ())
            if stale_planned
            else (
                _GENERATIONS,
                f"{_IN_GENERATIONS} AND plan_generation < {g} AND next_alert_at IS NULL ORDER BY plan_generation",
                (),
            ),
        )
        rows: list[tuple[Any, ...]] = []
        for with_, where, args in scans[:1] if due_only else scans:
            if len(rows) >= limit:
                break
            async with self._conn.execute(
                f"{with_}SELECT {_CANDIDATE_COLUMNS}, {g} FROM inquiries INDEXED BY inquiries_alert_due "  # noqa: S608
                f"WHERE {PLANNED_ROWS} AND {where} LIMIT ?",
                (*args, limit - len(rows)),
            ) as cur:
                cur.row_factory = None  # plain tuples: no sqlite3.Row per row
                rows += await cur.fetchall()  # tuples, as set
        return [_candidate(row) for row in rows]

    async def stale_alert_plans(self, *, after: StaleCursor | None, limit: int, whole: bool = False) -> StalePage:
        """One page of the rows whose plan is of an older generation and that still carry its alert time, soonest
        first, after `after`. New and changed rows (no alert time) are left to `alert_candidates`.

        A re-plan pages through these while their plans are made, and the new plans are written back later
        (`write_back_alert_plans`): the rows keep their old generation and time meanwhile, so `alert_candidates`
        would read them again; the cursor (generation, old time, id) pages past them instead.
        Narrow rows (`StaleRow`): what the planner's fast path reads, as plain tuples; a row it cannot serve is
        read whole by `alert_candidates_by_id`. `whole`: the page read whole (`candidates`), where most rows of the
        page before needed the whole plan (reading them twice cost more than the narrow read saves).
        """
        g = CURRENT_PLAN_GENERATION
        where = f"{PLANNED_ROWS} AND plan_generation < {g} AND next_alert_at IS NOT NULL"
        args: tuple[Any, ...] = ()
        if after is not None:
            where += " AND (plan_generation, next_alert_at, id) > (?, ?, ?)"
            args = after
        async with self._conn.execute(
            f"SELECT {_CANDIDATE_COLUMNS if whole else _STALE_COLUMNS}, {g}, plan_generation, next_alert_at "  # noqa: S608
            f"FROM inquiries INDEXED BY inquiries_alert_due WHERE {where} "
            "ORDER BY plan_generation, next_alert_at, id LIMIT ?",
            (*args, limit),
        ) as cur:
            cur.row_factory = None
            rows = await cur.fetchall()
        if not rows:
            return StalePage([], [], 0, None)
        last = rows[-1]
        if whole:
            return StalePage([], [_candidate(row[:-2]) for row in rows], last[-3], (last[-2], last[-1], last[0]))
        marketplaces, streams, parse, epoch, us = _MARKETPLACES, _STREAMS, datetime.fromisoformat, EPOCH, _US
        fired_set, nothing = _fired_set, _NOTHING_FIRED
        return StalePage(
            [
                (
                    row[0],
                    marketplaces[row[1]],
                    streams[row[2]],
                    (parse(row[3]) - epoch) // us,  # core.instants.to_us, inline: 100,000 calls
                    None if row[4] is None else (parse(row[4]) - epoch) // us,
                    fired_set(row[6]) if row[6] else nothing,
                    bool(row[5]),
                )
                for row in rows
            ],
            [],
            last[7],
            (last[8], last[9], last[0]),
        )

    async def alert_candidates_by_id(self, ids: Sequence[int]) -> list[AlertCandidate]:
        """The planned rows among `ids`, read now (an answered one is not among them): what the timer re-reads
        before it fires alerts from plans it holds in memory."""
        found: list[AlertCandidate] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            async with self._conn.execute(
                f"SELECT {_CANDIDATE_COLUMNS}, {CURRENT_PLAN_GENERATION} FROM inquiries "  # noqa: S608
                f"WHERE id IN ({marks}) AND {PLANNED_ROWS} ORDER BY id",
                tuple(chunk),
            ) as cur:
                cur.row_factory = None
                found += [_candidate(row) for row in await cur.fetchall()]
        return found

    async def write_back_alert_plans(self, plans: Sequence[tuple[int | None, int]], *, generation: int) -> None:
        """Store (next alert time in µs since the epoch, id) of re-planned rows under `generation`.

        A row is written only while it is still what was planned: planned, of an older generation, and with an
        alert time. A poll that changed it or a seller's control cleared its time (the timer plans it again from
        the store), a fresh plan raised its generation, an answer took it out of the planned rows: then the
        held plan is stale and must not overwrite the row.
        """
        rows = [
            (NO_MORE_ALERTS if at is None else db_time_us(at), generation, row_id, generation) for at, row_id in plans
        ]
        async with self._transaction() as db:
            await db.executemany(
                "UPDATE inquiries SET next_alert_at = ?, plan_generation = ? "  # noqa: S608 - constants
                f"WHERE id = ? AND plan_generation < ? AND next_alert_at IS NOT NULL AND {PLANNED_ROWS}",
                rows,
            )

    async def record_alerts(self, updates: Sequence[AlertUpdate], *, channels: Channels, now: datetime) -> int:
        """Queue fired alerts, log them and superseded ones, and store each inquiry's next alert time: one txn."""
        now_s = db_time(now)
        log_rows: list[tuple[int, str, str, str, str]] = []
        outbox_rows: list[tuple[str, str, int, str, str, str, str]] = []
        events: list[tuple[str, str, int, str]] = []
        next_rows: list[tuple[str, int, int]] = []
        for update in updates:
            for fire in update.fire:
                key = fire.alert.key
                log_rows.append((update.inquiry_id, key, db_time(fire.alert.due_at), now_s, "queued"))
                payload = payload_json(fire.kind, fire.alert)
                outbox_rows += [
                    (
                        fire.kind.value,
                        ch,
                        update.inquiry_id,
                        payload,
                        f"alert:{update.inquiry_id}:{key}:{ch}",
                        now_s,
                        now_s,
                    )
                    for ch in channels_for(channels, fire.kind)
                ]
                events.append((now_s, "alert_queued", update.inquiry_id, payload))
            for key, due_at in update.superseded:
                log_rows.append((update.inquiry_id, key, db_time(due_at), now_s, "superseded"))
            next_at = NO_MORE_ALERTS if update.next_at is None else db_time(update.next_at)
            next_rows.append((next_at, update.plan_generation, update.inquiry_id))
        async with self._transaction() as db:
            await db.executemany(
                "INSERT INTO alert_log (inquiry_id, key, due_at, fired_at, outcome) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (inquiry_id, key) DO NOTHING",
                log_rows,
            )
            await db.executemany(
                "INSERT INTO outbox (kind, channel, inquiry_id, payload, dedup_key, due_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
                outbox_rows,
            )
            await db.executemany("INSERT INTO events (at, kind, inquiry_id, detail) VALUES (?, ?, ?, ?)", events)
            await db.executemany("UPDATE inquiries SET next_alert_at = ?, plan_generation = ? WHERE id = ?", next_rows)
        return len(outbox_rows)

    async def next_alert_at(self, *, stale_planned: bool = True) -> datetime | None:
        """When the timer must look next: now-ish if something awaits planning, else the earliest alert.

        `stale_planned=False`: as `alert_candidates` says, rows of an older generation that carry an old alert time
        are left out (the timer holds their new plans); new and changed rows still count as awaiting a plan.
        """
        if not stale_planned:
            return await self._next_alert_at_current()
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

    async def _next_alert_at_current(self) -> datetime | None:
        g = CURRENT_PLAN_GENERATION
        # Steps of the partial index: a row awaiting a plan (no time, any generation up to the current one: a seek
        # into each), then the earliest time of the current generation.
        async with self._conn.execute(
            f"{_GENERATIONS}SELECT id FROM inquiries INDEXED BY inquiries_alert_due "  # noqa: S608 - constants
            f"WHERE {PLANNED_ROWS} AND {_IN_GENERATIONS} AND plan_generation <= {g} AND next_alert_at IS NULL "
            "LIMIT 1"
        ) as cur:
            if await cur.fetchone() is not None:
                return datetime.min.replace(tzinfo=UTC)
        async with self._conn.execute(
            f"SELECT next_alert_at FROM inquiries INDEXED BY inquiries_alert_due "  # noqa: S608 - constants
            f"WHERE {PLANNED_ROWS} AND plan_generation = {g} AND next_alert_at IS NOT NULL "
            "ORDER BY next_alert_at LIMIT 1"
        ) as cur:
            row = await cur.fetchone()
        if row is None or row[0] == NO_MORE_ALERTS:
            return None
        return _dt(row[0])
