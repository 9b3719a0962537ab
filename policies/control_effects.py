"""The seller's controls applied to an alert plan. Pure: the SLA plan, the inquiry's controls and the global
snooze in; the plan the timer follows out.

- handled: no alerts at all (until the marketplace shows the inquiry answered, or it is reopened);
- snoozed: warnings, evening warnings, repeats and the own-target breach move to the end of the snooze (the
  weightiest of them fires then); the MARKETPLACE breach never moves: a snooze cannot hide it;
- promised: a reminder `promise_reminder` before the promised time and an escalation at it. A call-back promise
  (`inqd promise`) is kept by answering: its alerts stop then, with the SLA alerts. A date promised IN an answer
  (a template's {약속일:...}) is not: once answered, its two alerts are all the inquiry still gets, until the
  promised time has passed, the seller withdraws it, or marks it handled (= the promise is kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.models import ClockKind, InquiryControls
from policies.alert_due import LATE_AFTER
from policies.sla import AlertKind, PlannedAlert


@dataclass(frozen=True, slots=True)
class ControlPolicy:
    """Settings of the controls."""

    promise_reminder: timedelta = timedelta(minutes=30)


def promise_alerts(controls: InquiryControls, policy: ControlPolicy) -> list[PlannedAlert]:
    """The reminder before a promised call-back and the escalation when it passes (keys name the promised time,
    so a new promise gets fresh alerts and an old one's never fire again)."""
    if controls.promise_at is None:
        return []
    at = controls.promise_at
    stamp = at.isoformat()
    return [
        PlannedAlert(
            at - policy.promise_reminder,
            f"promise:remind:{stamp}",
            ClockKind.PROMISE,
            AlertKind.PROMISE_REMINDER,
            at,
            note=controls.promise_note,
        ),
        PlannedAlert(
            at, f"promise:missed:{stamp}", ClockKind.PROMISE, AlertKind.PROMISE_MISSED, at, note=controls.promise_note
        ),
    ]


def outlives_answer(controls: InquiryControls, *, now: datetime) -> bool:
    """True when an answered inquiry still carries a promise to remind of: one made in the answer, not handled,
    and not passed (its escalation fires on time; the margin absorbs the timer's wake-up, not an outage)."""
    return (
        controls.promise_by_answer
        and controls.handled_at is None
        and controls.promise_at is not None
        and now <= controls.promise_at + LATE_AFTER
    )


def _snoozable(alert: PlannedAlert) -> bool:
    return not (alert.clock is ClockKind.MARKETPLACE and alert.kind is AlertKind.BREACH) and (
        alert.clock is not ClockKind.PROMISE
    )


def snooze_end(controls: InquiryControls, snooze_all_until: datetime | None, now: datetime) -> datetime | None:
    """When the snooze that applies to this inquiry ends, if one is running."""
    ends = [t for t in (controls.snoozed_until, snooze_all_until) if t is not None and t > now]
    return max(ends) if ends else None


def apply_controls(
    plan: Sequence[PlannedAlert],
    controls: InquiryControls,
    policy: ControlPolicy,
    *,
    snooze_all_until: datetime | None,
    now: datetime,
    answered: bool,
) -> tuple[PlannedAlert, ...]:
    """The plan after the seller's controls, in time order (of an answered inquiry: its answer's promise only)."""
    if answered:
        return tuple(promise_alerts(controls, policy)) if outlives_answer(controls, now=now) else ()
    if controls.handled_at is not None:
        return ()
    if not controls.any and snooze_all_until is None:  # nearly every inquiry: nothing to change, no re-sort
        return tuple(plan)
    alerts = [*plan, *promise_alerts(controls, policy)]
    until = snooze_end(controls, snooze_all_until, now)
    if until is not None:
        alerts = [a._replace(at=until) if _snoozable(a) and a.at < until else a for a in alerts]
    return tuple(sorted(alerts, key=lambda a: (a.at, a.key)))


def snooze_passes_deadline(until: datetime, marketplace_deadline: datetime) -> bool:
    """True when a snooze would run past the marketplace deadline (the seller must be told)."""
    return until > marketplace_deadline
