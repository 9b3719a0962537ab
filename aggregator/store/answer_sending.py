"""The answer outbox: an approved answer claimed for sending, settled by the marketplace's reply, or recovered.

Every transition is one transaction, written BEFORE the request it leads to (the outbox rule): an answer is
`sending` in the database before the connector is called, so `kill -9` at any moment leaves a row that says what
may have happened. At start-up such a row becomes `uncertain` on a once-only stream (re-read the inquiry before
trying again) and `approved` on the others.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.store.answers import (
    NOT_SENT_STATES,
    AnswerRecord,
    AnswerState,
    _event,
    _queue_not_sent,
    _record,
    _set_state,
    settle_answers_after_poll,
)
from aggregator.store.base import StoreBase
from aggregator.store.schema import Channels, StoredInquiry, _dt, _inquiry_from_row, db_time
from core.answers import AnswerOutcome
from core.models import StreamKind
from core.payloads import AnswerNotSentPayload


@dataclass(frozen=True, slots=True)
class ClaimedAnswer:
    """An answer now `sending`, with the inquiry it answers as stored at the claim."""

    answer: AnswerRecord
    inquiry: StoredInquiry


@dataclass(frozen=True, slots=True)
class AnswerTransition:
    """What a marketplace reply makes of a `sending` answer (decided by aggregator/answering/outcomes.py)."""

    state: AnswerState
    outcome: AnswerOutcome
    message: str = ""
    retry_at: datetime | None = None  # APPROVED again: when to try next
    maybe_delivered: bool = False


def _of_accounts(accounts: Collection[str] | None) -> tuple[str, tuple[str, ...]]:
    """The condition limiting a query over `answers a JOIN inquiries i` to `accounts` (none: every account)."""
    if accounts is None:
        return "", ()
    ordered = tuple(sorted(accounts))
    if not ordered:
        return " AND 0 = 1", ()
    return f" AND i.account_id IN ({', '.join('?' * len(ordered))})", ordered


class AnswerSendingMixin(StoreBase):
    """The `Store` methods that send answers: claim, finish, recover, when next."""

    async def claim_next_answer(
        self, *, now: datetime, lease: timedelta, channels: Channels, accounts: Collection[str] | None = None
    ) -> ClaimedAnswer | None:
        """The earliest approved answer that is due, now `sending` (committed before the request is made); with
        `accounts`, only an answer to one of theirs.

        Approved answers whose inquiry a poll already showed answered are settled first and never handed out.
        """
        now_s = db_time(now)
        of_accounts, account_args = _of_accounts(accounts)
        async with self._transaction() as db:
            await settle_answers_after_poll(db, now_s=now_s, channels=channels)
            async with db.execute(
                # SKIP LOCKED on PostgreSQL (store/dialect.py): two instances never take one answer.
                "UPDATE answers SET state = 'sending', attempts = attempts + 1, lease_until = ?, updated_at = ? "  # noqa: S608
                "WHERE id = (SELECT a.id FROM answers a JOIN inquiries i ON i.id = a.inquiry_id "
                f"WHERE a.state = 'approved' AND a.next_attempt_at <= ? AND i.answered = 0{of_accounts} "
                "ORDER BY a.next_attempt_at, a.id LIMIT 1 /*FOR UPDATE OF a SKIP LOCKED*/) RETURNING *",
                (db_time(now + lease), now_s, now_s, *account_args),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            answer = _record(row)
            await _event(db, answer.inquiry_id, now_s, answer_id=answer.id, state="sending", attempt=answer.attempts)
            async with db.execute("SELECT * FROM inquiries WHERE id = ?", (answer.inquiry_id,)) as cur:
                inquiry = await cur.fetchone()
        assert inquiry is not None  # answers reference their inquiry, and inquiries are never deleted
        return ClaimedAnswer(answer, _inquiry_from_row(inquiry))

    async def finish_answer(
        self, answer: AnswerRecord, transition: AnswerTransition, *, now: datetime, channels: Channels
    ) -> AnswerState | None:
        """Record what became of a `sending` answer; returns the state written, or None when the claim is no longer
        ours (its lease ran out and `recover_answers(lapsed_only=True)` settled it: nothing is written).

        Sent (or uncertain) while a poll already showed the inquiry answered is confirmed at once; an answer that
        will not go out queues the seller's notice in the same transaction.
        """
        now_s = db_time(now)
        state = transition.state
        async with self._transaction() as db:
            async with db.execute("SELECT answered FROM inquiries WHERE id = ?", (answer.inquiry_id,)) as cur:
                row = await cur.fetchone()
            if row is not None and row["answered"] and state in (AnswerState.SENT, AnswerState.UNCERTAIN):
                state = AnswerState.CONFIRMED
            retry_s = None if transition.retry_at is None else db_time(transition.retry_at)
            if not await _set_state(
                db,
                answer.id,
                state,
                now_s,
                ", outcome = ?, marketplace_message = ?, next_attempt_at = ?, open_polls = 0"
                ", maybe_delivered = MAX(maybe_delivered, ?)"
                ", sent_at = CASE WHEN ? = 1 THEN ? ELSE sent_at END",
                transition.outcome.value,
                transition.message,
                retry_s,
                int(transition.maybe_delivered),
                int(transition.outcome is AnswerOutcome.ACCEPTED),
                now_s,
                expect=AnswerState.SENDING,
                attempt=answer.attempts,
            ):
                return None
            detail_state = "retry" if state is AnswerState.APPROVED else state.value
            await _event(
                db,
                answer.inquiry_id,
                now_s,
                answer_id=answer.id,
                state=detail_state,
                message=transition.message,
                retry_at=retry_s,
                attempt=answer.attempts,
            )
            if state in NOT_SENT_STATES:
                payload = AnswerNotSentPayload(answer.id, transition.outcome, transition.message)
                await _queue_not_sent(db, answer.id, answer.inquiry_id, payload, now_s, channels)
        return state

    async def recover_answers(
        self, *, once_only: Collection[tuple[str, StreamKind]], now: datetime, lapsed_only: bool = False
    ) -> int:
        """Answers left `sending` by a sender that died mid-request become `uncertain` on once-only streams and
        `approved` (due now) on the others (maybe delivered, either way). Returns how many.

        At start-up on SQLite (the file lock held) every `sending` row is a dead daemon's. Where several instances
        share the database (`lapsed_only`), only rows whose claim ran out: a live sender never holds a request past
        its claim (aggregator/answering/sender.py), so such a row's request is over, whoever made it.
        """
        now_s = db_time(now)
        lapsed, args = (" AND a.lease_until <= ?", (now_s,)) if lapsed_only else ("", ())
        select = (
            "SELECT a.id, a.inquiry_id, a.attempts, i.account_id, i.stream FROM answers a "  # noqa: S608 - constant
            f"JOIN inquiries i ON i.id = a.inquiry_id WHERE a.state = 'sending'{lapsed}"
        )
        async with self._conn.execute(select, args) as cur:  # a read first: the sender looks often, mostly at none
            if await cur.fetchone() is None:
                return 0
        recovered = 0
        async with self._transaction() as db:
            async with db.execute(select + " /*FOR UPDATE OF a SKIP LOCKED*/", args) as cur:
                rows = list(await cur.fetchall())
            for row in rows:
                once = (row["account_id"], StreamKind(row["stream"])) in once_only
                state = AnswerState.UNCERTAIN if once else AnswerState.APPROVED
                if await _set_state(
                    db,
                    row["id"],
                    state,
                    now_s,
                    ", next_attempt_at = ?, maybe_delivered = 1, open_polls = 0",
                    now_s,
                    expect=AnswerState.SENDING,
                    attempt=row["attempts"],
                ):
                    await _event(db, row["inquiry_id"], now_s, answer_id=row["id"], state="recovered", to=state.value)
                    recovered += 1
        return recovered

    async def next_answer_due(self, accounts: Collection[str] | None = None) -> datetime | None:
        """When the earliest approved answer (to one of `accounts`, if given) is due, or None when none is waiting."""
        of_accounts, account_args = _of_accounts(accounts)
        async with self._conn.execute(
            "SELECT MIN(a.next_attempt_at) FROM answers a JOIN inquiries i ON i.id = a.inquiry_id "  # noqa: S608
            f"WHERE a.state = 'approved'{of_accounts}",
            account_args,
        ) as cur:
            row = await cur.fetchone()
        return None if row is None or row[0] is None else _dt(row[0])
