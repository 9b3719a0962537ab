"""The seller's controls on an alert plan, for answered inquiries: a date promised in the answer keeps its two
promise alerts (and nothing of the SLA), until it passes, is withdrawn or is marked handled; a call-back promise is
kept by answering. And routing: promise alerts of an answer's promise are not dropped because it was answered."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from core.models import KST, ClockKind, InquiryControls, MessageKind
from policies.control_effects import ControlPolicy, apply_controls
from policies.routing import NightHistory, PendingMessage, Reason, decide
from policies.sla import AlertKind, BreakthroughPolicy, SlaPolicy, plan_alerts
from tests.policies.test_sla import QUIET, WORK, inquiry

POLICY = ControlPolicy(promise_reminder=timedelta(minutes=30))
PROMISED = datetime(2026, 12, 4, 18, 0, tzinfo=KST)  # "{약속일:+2영업일}" from Wed 12/02: Fri 18:00
BY_ANSWER = InquiryControls(
    promise_at=PROMISED, promise_note="답변 #1에서 약속한 날 12월 4일(금)", promise_by_answer=True
)
ANSWERED = inquiry("2026-12-02 10:00", answered=True)


def plan(controls: InquiryControls, now: datetime, *, answered: bool = True) -> list[tuple[AlertKind, datetime]]:
    """(kind, at) of every alert planned for the inquiry received Wed 12/02 10:00."""
    inq = replace(ANSWERED, answered=answered)
    sla = plan_alerts(inq, SlaPolicy(), work=WORK, quiet=QUIET)
    alerts = apply_controls(sla, controls, POLICY, snooze_all_until=None, now=now, answered=answered)
    return [(a.kind, a.at) for a in alerts]


def test_answered_with_a_future_promise_from_the_answer_gets_the_two_promise_alerts_only() -> None:
    assert plan(BY_ANSWER, PROMISED - timedelta(days=2)) == [
        (AlertKind.PROMISE_REMINDER, PROMISED - timedelta(minutes=30)),
        (AlertKind.PROMISE_MISSED, PROMISED),
    ]
    # a snooze for everything does not move them, and no SLA alert comes back with it
    alerts = apply_controls((), BY_ANSWER, POLICY, snooze_all_until=PROMISED, now=PROMISED, answered=True)
    assert [a.clock for a in alerts] == [ClockKind.PROMISE, ClockKind.PROMISE]
    # the same inquiry while open gets its SLA alerts too
    assert {kind for kind, _ in plan(BY_ANSWER, PROMISED - timedelta(days=2), answered=False)} > {
        AlertKind.BREACH,
        AlertKind.PROMISE_REMINDER,
    }


@pytest.mark.parametrize(
    ("controls", "now"),
    [
        (BY_ANSWER, PROMISED + timedelta(hours=3)),  # passed: nothing left to remind of
        (BY_ANSWER, PROMISED + timedelta(minutes=6)),  # passed beyond the late margin (an outage)
        (InquiryControls(), PROMISED - timedelta(days=1)),  # withdrawn
        (replace(BY_ANSWER, handled_at=PROMISED - timedelta(hours=5)), PROMISED - timedelta(days=1)),  # kept
        (replace(BY_ANSWER, promise_by_answer=False), PROMISED - timedelta(days=1)),  # a call-back: kept by answering
    ],
    ids=["passed", "passed-late", "withdrawn", "handled", "call-back"],
)
def test_answered_without_a_live_promise_from_the_answer_gets_nothing(controls: InquiryControls, now: datetime) -> None:
    assert plan(controls, now) == []


def test_the_escalation_still_comes_when_the_timer_wakes_just_after_the_promised_time() -> None:
    assert plan(BY_ANSWER, PROMISED + timedelta(seconds=2))[-1] == (AlertKind.PROMISE_MISSED, PROMISED)


def _promise_message(
    controls: InquiryControls, *, answered: bool, kind: MessageKind = MessageKind.PROMISE_REMINDER
) -> PendingMessage:
    return PendingMessage(
        kind=kind,
        inquiry=replace(ANSWERED, answered=answered),
        inquiry_id=1,
        clock=ClockKind.PROMISE,
        deadline=PROMISED,
        handled=controls.handled_at is not None,
        promise_at=controls.promise_at,
        promise_by_answer=controls.promise_by_answer,
    )


@pytest.mark.parametrize(
    ("pending", "reason"),
    [
        (_promise_message(BY_ANSWER, answered=True), Reason.SEND_NOW),
        (_promise_message(BY_ANSWER, answered=True, kind=MessageKind.PROMISE_MISSED), Reason.SEND_NOW),
        (_promise_message(InquiryControls(), answered=True), Reason.DROP_WITHDRAWN),
        (
            _promise_message(replace(BY_ANSWER, promise_at=PROMISED + timedelta(days=1)), answered=True),
            Reason.DROP_WITHDRAWN,
        ),
        (_promise_message(replace(BY_ANSWER, handled_at=PROMISED), answered=True), Reason.DROP_HANDLED),
        (_promise_message(replace(BY_ANSWER, promise_by_answer=False), answered=True), Reason.DROP_ANSWERED),
        (_promise_message(InquiryControls(), answered=False), Reason.DROP_WITHDRAWN),
        (_promise_message(replace(BY_ANSWER, promise_by_answer=False), answered=False), Reason.SEND_NOW),
    ],
    ids=["reminder", "escalation", "withdrawn", "moved", "handled", "call-back", "open-withdrawn", "open-call-back"],
)
def test_routing_keeps_an_answers_promise_alerts_after_answering(pending: PendingMessage, reason: Reason) -> None:
    decision = decide(
        pending,
        now=PROMISED - timedelta(minutes=30),
        quiet=QUIET,
        breakthrough=BreakthroughPolicy(),
        history=NightHistory(),
    )
    assert decision.reason is reason


def test_routing_still_drops_sla_alerts_of_an_answered_inquiry_carrying_a_promise() -> None:
    pending = replace(
        _promise_message(BY_ANSWER, answered=True), kind=MessageKind.SLA_WARNING, clock=ClockKind.MARKETPLACE
    )
    decision = decide(
        pending,
        now=PROMISED - timedelta(minutes=30),
        quiet=QUIET,
        breakthrough=BreakthroughPolicy(),
        history=NightHistory(),
    )
    assert decision.reason is Reason.DROP_ANSWERED
