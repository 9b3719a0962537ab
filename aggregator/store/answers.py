"""The seller's answers: their states, drafted, approved or cancelled by the seller, and settled by what a poll shows.

Every transition is one transaction. Nothing leaves without `approved`, which only the seller sets; sending it is
aggregator/store/answer_sending.py's (the outbox: claimed, finished, recovered after a crash).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from aggregator.store.base import StoreBase
from aggregator.store.database import Connection, Row
from aggregator.store.payloads import payload_json
from aggregator.store.schema import Channels, _dt, _dt_or_none, channels_for, db_time
from core.answers import AnswerOutcome
from core.models import MessageKind, PollResult, StreamKind
from core.payloads import AnswerNotSentPayload


class AnswerState(StrEnum):
    """Where an answer is in its life."""

    DRAFT = "draft"  # written, not approved: never sent
    APPROVED = "approved"  # the seller said send: due at next_attempt_at
    SENDING = "sending"  # claimed; the request is (or was, before a crash) in flight
    SENT = "sent"  # the marketplace took it
    CONFIRMED = "confirmed"  # a poll shows the inquiry answered
    UNCERTAIN = "uncertain"  # a once-only stream, outcome unknown: sent again only once a poll shows it still open
    ALREADY_ANSWERED = "already_answered"  # answered elsewhere first: the other answer is kept
    NOT_ANSWERABLE = "not_answerable"  # closed, transferred or past its window
    REFUSED = "refused"  # the marketplace refused this text
    CANCELLED = "cancelled"  # the seller withdrew it before it went out


# At most one of these per inquiry (the answers_one_live index): an answer that is, or may be, on its way.
LIVE_STATES = frozenset({AnswerState.APPROVED, AnswerState.SENDING, AnswerState.SENT, AnswerState.UNCERTAIN})
# Final states that the seller is told about: the approved answer did not go out.
NOT_SENT_STATES = frozenset({AnswerState.ALREADY_ANSWERED, AnswerState.NOT_ANSWERABLE, AnswerState.REFUSED})
CANCELLABLE_STATES = frozenset({AnswerState.DRAFT, AnswerState.APPROVED, AnswerState.UNCERTAIN})
# An uncertain answer is tried again after this many polls saw its inquiry still open: the first poll to commit
# may have read the list before the request reached the marketplace; the second started after it committed.
OPEN_POLLS_BEFORE_RETRY = 2


class AnswerConflict(Exception):
    """A transition the answer's state does not allow; `reason` names which (the service words it in Korean)."""

    def __init__(self, reason: str, answer: AnswerRecord | None = None) -> None:
        super().__init__(reason)
        self.reason = reason  # not_found, not_draft, not_cancellable, inquiry_answered, another_live
        self.answer = answer


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """One answer as stored."""

    id: int
    inquiry_id: int
    text: str
    state: AnswerState
    created_at: datetime
    updated_at: datetime
    final: bool = True
    approved_by: str | None = None
    approved_at: datetime | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    maybe_delivered: bool = False
    outcome: AnswerOutcome | None = None
    message: str = ""  # the marketplace's words about the last attempt
    sent_at: datetime | None = None
    done_at: datetime | None = None


def _record(row: Row) -> AnswerRecord:
    outcome = row["outcome"]
    return AnswerRecord(
        id=row["id"],
        inquiry_id=row["inquiry_id"],
        text=row["text"],
        state=AnswerState(row["state"]),
        created_at=_dt(row["created_at"]),
        updated_at=_dt(row["updated_at"]),
        final=bool(row["final"]),
        approved_by=row["approved_by"],
        approved_at=_dt_or_none(row["approved_at"]),
        attempts=row["attempts"],
        next_attempt_at=_dt_or_none(row["next_attempt_at"]),
        maybe_delivered=bool(row["maybe_delivered"]),
        outcome=None if outcome is None else AnswerOutcome(outcome),
        message=row["marketplace_message"],
        sent_at=_dt_or_none(row["sent_at"]),
        done_at=_dt_or_none(row["done_at"]),
    )


async def _event(db: Connection, inquiry_id: int, now_s: str, **detail: Any) -> None:
    """One `answer` event: `inqd explain` prints the lifecycle from these."""
    await db.execute(
        "INSERT INTO events (at, kind, inquiry_id, detail) VALUES (?, 'answer', ?, ?)",
        (now_s, inquiry_id, json.dumps({k: v for k, v in detail.items() if v not in (None, "")}, ensure_ascii=False)),
    )


async def _one(db: Connection, answer_id: int) -> AnswerRecord | None:
    async with db.execute("SELECT * FROM answers WHERE id = ?", (answer_id,)) as cur:
        row = await cur.fetchone()
    return None if row is None else _record(row)


async def _set_state(
    db: Connection,
    answer_id: int,
    state: AnswerState,
    now_s: str,
    assignments: str = "",
    *args: Any,
    expect: AnswerState | None = None,
    attempt: int | None = None,
) -> bool:
    """Write `state` (and `assignments`); with `expect` (and `attempt`) only while the row is still in that state
    (at that attempt). Several instances on one PostgreSQL read a row, then write it: the condition makes a write
    that lost a race to another instance's (a claim, a cancel, a recovery) write nothing. Returns whether it wrote."""
    done = "done_at = ?" if state not in LIVE_STATES and state is not AnswerState.DRAFT else "done_at = NULL"
    done_args = (now_s,) if done == "done_at = ?" else ()
    condition, condition_args = "", list[Any]()
    if expect is not None:
        condition, condition_args = " AND state = ?", [expect.value]
    if attempt is not None:
        condition, condition_args = condition + " AND attempts = ?", [*condition_args, attempt]
    cur = await db.execute(
        f"UPDATE answers SET state = ?, updated_at = ?, lease_until = NULL, {done}{assignments} "  # noqa: S608
        f"WHERE id = ?{condition}",
        (state.value, now_s, *done_args, *args, answer_id, *condition_args),
    )
    return bool(cur.rowcount)


async def _queue_not_sent(
    db: Connection,
    answer_id: int,
    inquiry_id: int,
    payload: AnswerNotSentPayload,
    now_s: str,
    channels: Channels,
) -> None:
    """Tell the seller, in the same transaction, that an approved answer will not go out."""
    body = payload_json(MessageKind.ANSWER_NOT_SENT, payload)
    await db.executemany(
        "INSERT INTO outbox (kind, channel, inquiry_id, payload, dedup_key, due_at, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
        [
            (MessageKind.ANSWER_NOT_SENT.value, ch, inquiry_id, body, f"answer:{answer_id}:{ch}", now_s, now_s)
            for ch in channels_for(channels, MessageKind.ANSWER_NOT_SENT)
        ],
    )


async def settle_answers_after_poll(
    db: Connection,
    *,
    now_s: str,
    channels: Channels,
    stream: tuple[str, StreamKind] | None = None,
    poll: PollResult | None = None,
) -> None:
    """What a poll tells the live answers of `stream` (every stream: None), inside the poll's transaction.

    Inquiry answered: a sent or uncertain answer is confirmed; an approved one never goes out (already answered
    elsewhere, the seller is told), unless an earlier attempt of it may have landed (then it is confirmed too).
    Inquiry seen still open by `poll`: an uncertain answer counts the poll, and after OPEN_POLLS_BEFORE_RETRY of
    them is approved again.
    """
    where: str = ""
    args: tuple[str, ...] = ()
    if stream is not None:
        where, args = " AND i.account_id = ? AND i.stream = ?", (stream[0], stream[1].value)
    async with db.execute(
        "SELECT a.id, a.inquiry_id, a.state, a.open_polls, a.maybe_delivered, i.external_id, i.answered "
        "FROM answers a JOIN inquiries i ON i.id = a.inquiry_id "
        "WHERE a.state IN ('approved', 'sent', 'uncertain')" + where,
        args,
    ) as cur:
        rows = await cur.fetchall()
    seen_open = _seen_open(poll) if rows and poll is not None else frozenset()
    for row in rows:
        state = AnswerState(row["state"])
        if row["answered"]:
            if state is not AnswerState.APPROVED or row["maybe_delivered"]:
                if await _set_state(db, row["id"], AnswerState.CONFIRMED, now_s, expect=state):
                    await _event(db, row["inquiry_id"], now_s, answer_id=row["id"], state="confirmed")
                continue
            if not await _set_state(
                db, row["id"], AnswerState.ALREADY_ANSWERED, now_s, ", outcome = ?", "already_answered", expect=state
            ):
                continue  # another instance claimed it meanwhile: its outcome settles it
            await _event(db, row["inquiry_id"], now_s, answer_id=row["id"], state="already_answered")
            payload = AnswerNotSentPayload(row["id"], AnswerOutcome.ALREADY_ANSWERED)
            await _queue_not_sent(db, row["id"], row["inquiry_id"], payload, now_s, channels)
        elif state is AnswerState.UNCERTAIN and row["external_id"] in seen_open:
            polls = row["open_polls"] + 1
            if polls < OPEN_POLLS_BEFORE_RETRY:
                await db.execute(
                    "UPDATE answers SET open_polls = ? WHERE id = ? AND state = 'uncertain'", (polls, row["id"])
                )
                continue
            if await _set_state(
                db, row["id"], AnswerState.APPROVED, now_s, ", open_polls = 0, next_attempt_at = ?", now_s, expect=state
            ):
                await _event(db, row["inquiry_id"], now_s, answer_id=row["id"], state="still_open")


def _seen_open(poll: PollResult) -> frozenset[str]:
    """The external ids a poll saw unanswered: its open items, and every id of its open snapshot."""
    snapshot = poll.open_snapshot.open_external_ids if poll.open_snapshot is not None else frozenset()
    return snapshot | {inq.external_id for inq in poll.inquiries if not inq.answered}


class AnswersMixin(StoreBase):
    """The `Store` methods for answers."""

    async def save_draft(self, inquiry_id: int, text: str, *, now: datetime, final: bool = True) -> AnswerRecord:
        """Write (or rewrite) the inquiry's one draft; AnswerConflict when there is no such inquiry."""
        now_s = db_time(now)
        async with self._transaction() as db:
            async with db.execute("SELECT 1 FROM inquiries WHERE id = ?", (inquiry_id,)) as cur:
                if await cur.fetchone() is None:
                    raise AnswerConflict("not_found")
            async with db.execute(
                "INSERT INTO answers (inquiry_id, text, final, state, created_at, updated_at) "
                "VALUES (?, ?, ?, 'draft', ?, ?) ON CONFLICT (inquiry_id) WHERE state = 'draft' "
                "DO UPDATE SET text = excluded.text, final = excluded.final, updated_at = excluded.updated_at "
                "RETURNING *",
                (inquiry_id, text, int(final), now_s, now_s),
            ) as cur:
                row = await cur.fetchone()
            assert row is not None
            await _event(db, inquiry_id, now_s, answer_id=row["id"], state="draft")
        return _record(row)

    async def approve_answer(self, answer_id: int, *, actor: str, now: datetime) -> AnswerRecord:
        """draft → approved, due now; AnswerConflict when it is not a draft, the inquiry is answered, or another
        answer of the inquiry is live."""
        now_s = db_time(now)
        async with self._transaction() as db:
            answer = await _one(db, answer_id)
            if answer is None:
                raise AnswerConflict("not_found")
            if answer.state is not AnswerState.DRAFT:
                raise AnswerConflict("not_draft", answer)
            async with db.execute("SELECT answered FROM inquiries WHERE id = ?", (answer.inquiry_id,)) as cur:
                row = await cur.fetchone()
            if row is None or row["answered"]:
                raise AnswerConflict("inquiry_answered", answer)
            live = ",".join(f"'{s.value}'" for s in LIVE_STATES)
            async with db.execute(
                f"SELECT id FROM answers WHERE inquiry_id = ? AND state IN ({live})",  # noqa: S608 - constants
                (answer.inquiry_id,),
            ) as cur:
                if await cur.fetchone() is not None:
                    raise AnswerConflict("another_live", answer)
            if not await _set_state(
                db,
                answer_id,
                AnswerState.APPROVED,
                now_s,
                ", approved_by = ?, approved_at = ?, next_attempt_at = ?",
                actor,
                now_s,
                now_s,
                expect=AnswerState.DRAFT,
            ):
                raise AnswerConflict("not_draft", answer)  # approved or deleted meanwhile, from another instance
            await _event(db, answer.inquiry_id, now_s, answer_id=answer_id, state="approved", actor=actor)
            approved = await _one(db, answer_id)
        assert approved is not None
        return approved

    async def cancel_answer(self, answer_id: int, *, actor: str, now: datetime) -> AnswerRecord:
        """A draft, approved or uncertain answer → cancelled (never sent again); AnswerConflict otherwise."""
        now_s = db_time(now)
        async with self._transaction() as db:
            answer = await _one(db, answer_id)
            if answer is None:
                raise AnswerConflict("not_found")
            if answer.state not in CANCELLABLE_STATES:
                raise AnswerConflict("not_cancellable", answer)
            if not await _set_state(db, answer_id, AnswerState.CANCELLED, now_s, expect=answer.state):
                raise AnswerConflict("not_cancellable", await _one(db, answer_id))  # claimed meanwhile: it may be out
            await _event(db, answer.inquiry_id, now_s, answer_id=answer_id, state="cancelled", actor=actor)
            cancelled = await _one(db, answer_id)
        assert cancelled is not None
        return cancelled

    async def get_answer(self, answer_id: int) -> AnswerRecord | None:
        """One answer by id."""
        return await _one(self._conn, answer_id)

    async def answers_for(self, inquiry_id: int) -> list[AnswerRecord]:
        """Every answer written for an inquiry, oldest first."""
        async with self._conn.execute("SELECT * FROM answers WHERE inquiry_id = ? ORDER BY id", (inquiry_id,)) as cur:
            return [_record(row) for row in await cur.fetchall()]
