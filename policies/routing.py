"""Routing: whether a queued message goes out now, waits for the end of quiet hours, breaks through, or is dropped.

Pure: the message, what we know of its inquiry, the quiet schedule, the night's breakthrough history and `now` in;
a decision with a reason out. The reason is recorded with every outcome, so `inqd explain` can say why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.models import INQUIRY_KINDS, ClockKind, Inquiry, MessageKind
from policies.intervals import Schedule
from policies.sla import BreakthroughPolicy, quiet_span_start


class Reason(StrEnum):
    """Why a message was sent, held or dropped."""

    SEND_NOW = "send_now"
    HOLD_QUIET = "hold_quiet"  # folded into the digest at the end of quiet hours
    BREAKTHROUGH = "breakthrough"
    DROP_ANSWERED = "drop_answered"
    DROP_MISSING = "drop_missing"
    DROP_HANDLED = "drop_handled"  # the seller marked it handled (from the phone or `inqd handled`)
    DROP_WITHDRAWN = "drop_withdrawn"  # a promise alert whose promise was withdrawn or moved meanwhile
    WAIT_QUIET = "wait_quiet"  # goes out on its own when quiet hours end, never folded into the digest


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a pending message; `at` is when a held message is released (the digest)."""

    reason: Reason
    at: datetime | None = None
    note: str = ""

    @property
    def send(self) -> bool:
        """True when the message goes out now."""
        return self.reason in (Reason.SEND_NOW, Reason.BREAKTHROUGH)


@dataclass(frozen=True, slots=True)
class PendingMessage:
    """A queued message as routing sees it."""

    kind: MessageKind
    inquiry: Inquiry | None = None
    inquiry_id: int | None = None
    clock: ClockKind | None = None  # for SLA alerts: which deadline it is about
    deadline: datetime | None = None  # promise alerts: the promised time
    handled: bool = False
    promise_at: datetime | None = None  # the inquiry's promise now
    promise_by_answer: bool = False  # ... made in an answer: its alerts outlive the answer


PROMISE_KINDS = frozenset({MessageKind.PROMISE_REMINDER, MessageKind.PROMISE_MISSED})
# Held through quiet hours but not worth a line in the digest: they are read for themselves (the weekly chart).
OWN_MESSAGE_KINDS = frozenset({MessageKind.WEEKLY_REPORT})


@dataclass(frozen=True, slots=True)
class NightHistory:
    """Breakthroughs already made in the current quiet period."""

    breakthroughs: int = 0
    inquiry_ids: frozenset[int] = frozenset()


def decide(
    pending: PendingMessage,
    *,
    now: datetime,
    quiet: Schedule,
    breakthrough: BreakthroughPolicy,
    history: NightHistory,
) -> Decision:
    """Decide one message."""
    dropped = _drop_reason(pending)
    if dropped is not None:
        return Decision(dropped, now)
    # Clearing an answered inquiry's notification is silent: it never waits for the end of quiet hours.
    if pending.kind in (MessageKind.DIGEST, MessageKind.ANSWERED) or not quiet.contains(now):
        return Decision(Reason.SEND_NOW, now)
    quiet_ends = quiet.span_end(now)
    if pending.kind in OWN_MESSAGE_KINDS:
        return Decision(Reason.WAIT_QUIET, quiet_ends, "quiet hours: sent on its own when they end")
    if _may_break_through(pending, quiet_ends, breakthrough, history, now):
        assert pending.deadline is not None
        return Decision(
            Reason.BREAKTHROUGH,
            now,
            f"marketplace deadline {pending.deadline.isoformat()} passes before quiet hours end"
            f" ({quiet_ends.isoformat() if quiet_ends else 'never'})",
        )
    return Decision(Reason.HOLD_QUIET, quiet_ends, "quiet hours")


def _drop_reason(pending: PendingMessage) -> Reason | None:
    """Why a message about one inquiry no longer applies, if it does not."""
    if pending.kind not in INQUIRY_KINDS:
        return None
    if pending.inquiry is None:
        return Reason.DROP_MISSING
    promise = pending.kind in PROMISE_KINDS
    if promise and pending.promise_at != pending.deadline:
        return Reason.DROP_WITHDRAWN
    if pending.inquiry.answered and not (promise and pending.promise_by_answer):
        return Reason.DROP_ANSWERED
    if pending.handled:
        return Reason.DROP_HANDLED
    return None


def _may_break_through(
    pending: PendingMessage,
    quiet_ends: datetime | None,
    policy: BreakthroughPolicy,
    history: NightHistory,
    now: datetime,
) -> bool:
    # Only a warning can help: it rings while there is still time to answer. A breach at 3 a.m. cannot be undone.
    return (
        policy.enabled
        and pending.kind is MessageKind.SLA_WARNING
        and pending.clock is ClockKind.MARKETPLACE
        and pending.deadline is not None
        and pending.deadline > now
        and (quiet_ends is None or pending.deadline < quiet_ends)
        and history.breakthroughs < policy.nightly_budget
        and pending.inquiry_id not in history.inquiry_ids
    )


def quiet_period_start(quiet: Schedule, now: datetime) -> datetime | None:
    """Start of the quiet period `now` is in: the key of the night's breakthrough budget and digest."""
    return quiet_span_start(quiet, now)
