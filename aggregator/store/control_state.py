"""The `Store` methods for the seller's controls: snooze, handled, promised call-backs, vacations.

Each control is one transaction: the inquiry's columns, an event naming who did it (`inqd explain` shows it),
the inquiry's alert plan reset (the timer plans it again at once) and the controls version bumped, so a running
daemon notices a change made by another process (`inqd snooze` in a terminal, a tap on the phone).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from aggregator.store.base import StoreBase
from aggregator.store.database import Connection
from aggregator.store.schema import (
    PLANNED_ROWS,
    REPLAN_ALL_SQL,
    StoredInquiry,
    Vacation,
    _dt_or_none,
    _inquiry_from_row,
    db_time,
)

_VERSION_KEY = "controls_version"
_SNOOZE_ALL_KEY = "snooze_all_until"


class ControlsMixin(StoreBase):
    """Snooze, handled, promise and vacation records, with their events."""

    async def _bump(self, db: Connection) -> None:
        await db.execute(
            "INSERT INTO meta (key, value) VALUES (?, '1') "
            "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)",
            (_VERSION_KEY,),
        )

    async def _control(
        self,
        inquiry_id: int,
        *,
        assignments: str,
        args: Sequence[Any],
        event: str,
        detail: dict[str, Any],
        now: datetime,
        where: str = "answered = 0",
    ) -> StoredInquiry | None:
        async with self._transaction() as db:
            cur = await db.execute(
                f"UPDATE inquiries SET {assignments}, next_alert_at = NULL WHERE id = ? AND {where}",  # noqa: S608
                (*args, inquiry_id),
            )
            if cur.rowcount == 0:
                return None
            await db.execute(
                "INSERT INTO events (at, kind, inquiry_id, detail) VALUES (?, ?, ?, ?)",
                (db_time(now), event, inquiry_id, json.dumps(detail, ensure_ascii=False)),
            )
            await self._bump(db)
            async with db.execute("SELECT * FROM inquiries WHERE id = ?", (inquiry_id,)) as rows:
                row = await rows.fetchone()
        return None if row is None else _inquiry_from_row(row)

    async def snooze(
        self, inquiry_id: int, until: datetime | None, *, now: datetime, actor: str
    ) -> StoredInquiry | None:
        """Postpone an open inquiry's warnings and repeats until `until` (None: end the snooze)."""
        return await self._control(
            inquiry_id,
            assignments="snoozed_until = ?",
            args=(None if until is None else db_time(until),),
            event="snoozed" if until else "unsnoozed",
            detail={"actor": actor, "until": until.isoformat() if until else None},
            now=now,
        )

    async def mark_handled(self, inquiry_id: int, *, now: datetime, actor: str) -> StoredInquiry | None:
        """Stop an open inquiry's alerts until the marketplace shows it answered (or it is reopened); on an
        answered inquiry whose answer promised a date: that promise is kept, its alerts stop."""
        return await self._control(
            inquiry_id,
            assignments="handled_at = ?",
            args=(db_time(now),),
            event="handled",
            detail={"actor": actor},
            now=now,
            where=PLANNED_ROWS,
        )

    async def promise(
        self,
        inquiry_id: int,
        at: datetime | None,
        note: str,
        *,
        now: datetime,
        actor: str,
        by_answer: bool = False,
    ) -> StoredInquiry | None:
        """Record a promised time for an open inquiry (None: withdraw the promise, also after answering).

        `by_answer`: the date was promised in an answer (a template's), so answering does not keep it.
        """
        detail: dict[str, Any] = {"actor": actor, "at": at.isoformat() if at else None, "note": note}
        if by_answer:
            detail["by_answer"] = True
        return await self._control(
            inquiry_id,
            assignments="promise_at = ?, promise_note = ?, promise_by_answer = ?",
            args=(None if at is None else db_time(at), note if at else None, int(by_answer and at is not None)),
            event="promised" if at else "promise_withdrawn",
            detail=detail,
            now=now,
            where="answered = 0" if at else PLANNED_ROWS,
        )

    async def snooze_all(self, until: datetime | None, *, now: datetime, actor: str) -> int:
        """Postpone every open inquiry's warnings and repeats until `until` (a meeting); returns how many."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (_SNOOZE_ALL_KEY, "" if until is None else db_time(until)),
            )
            cur = await db.execute("SELECT COUNT(*) FROM inquiries WHERE answered = 0")
            (count,) = await cur.fetchone() or (0,)
            await db.execute(REPLAN_ALL_SQL)
            await db.execute(
                "INSERT INTO events (at, kind, detail) VALUES (?, ?, ?)",
                (
                    db_time(now),
                    "snoozed_all" if until else "unsnoozed_all",
                    json.dumps({"actor": actor, "until": until.isoformat() if until else None}),
                ),
            )
            await self._bump(db)
            return int(count)

    async def snooze_all_until(self) -> datetime | None:
        """The end of the snooze for everything, if one was set."""
        async with self._conn.execute("SELECT value FROM meta WHERE key = ?", (_SNOOZE_ALL_KEY,)) as cur:
            row = await cur.fetchone()
        return _dt_or_none(row[0] or None) if row else None

    async def meta_value(self, key: str) -> str | None:
        """A small stored fact (e.g. the Telegram update offset), or None."""
        async with self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return None if row is None else str(row[0])

    async def set_meta_value(self, key: str, value: str) -> None:
        """Store a small fact under `key`."""
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def controls_version(self) -> int:
        """A number that changes whenever a control changes (cheap to poll)."""
        async with self._conn.execute("SELECT value FROM meta WHERE key = ?", (_VERSION_KEY,)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def add_vacation(self, first: date, last: date, note: str, *, now: datetime, actor: str) -> int:
        """Record days off (closed days for the calendar); returns the vacation's id."""
        async with self._transaction() as db:
            cur = await db.execute(
                "INSERT INTO vacations (first_day, last_day, note, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                (first.isoformat(), last.isoformat(), note, db_time(now)),
            )
            row = await cur.fetchone()
            vacation_id = int(row[0])
            await db.execute(
                "INSERT INTO events (at, kind, detail) VALUES (?, 'vacation_added', ?)",
                (
                    db_time(now),
                    json.dumps({"actor": actor, "id": vacation_id, "first": str(first), "last": str(last)}),
                ),
            )
            # Closed days move work hours and quiet hours: every open inquiry's alerts are planned again.
            await db.execute(REPLAN_ALL_SQL)
            await self._bump(db)
        return vacation_id

    async def remove_vacation(self, vacation_id: int, *, now: datetime, actor: str) -> bool:
        """Forget a vacation; False when there is no such id."""
        async with self._transaction() as db:
            cur = await db.execute("DELETE FROM vacations WHERE id = ?", (vacation_id,))
            if cur.rowcount == 0:
                return False
            await db.execute(
                "INSERT INTO events (at, kind, detail) VALUES (?, 'vacation_removed', ?)",
                (db_time(now), json.dumps({"actor": actor, "id": vacation_id})),
            )
            await db.execute(REPLAN_ALL_SQL)
            await self._bump(db)
        return True

    async def vacation_ranges(self) -> list[tuple[date, date]]:
        """(first, last) of every vacation: what `Settings.policies` takes."""
        return [(v.first_day, v.last_day) for v in await self.vacations()]

    async def vacations(self) -> list[Vacation]:
        """Every recorded vacation, earliest first."""
        async with self._conn.execute("SELECT * FROM vacations ORDER BY first_day, id") as cur:
            rows = await cur.fetchall()
        return [
            Vacation(r["id"], date.fromisoformat(r["first_day"]), date.fromisoformat(r["last_day"]), r["note"])
            for r in rows
        ]
