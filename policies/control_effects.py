"""The seller's controls applied to an alert plan. Pure: the SLA plan, the inquiry's controls and the global
snooze in; the plan the timer follows out.

- handled: no alerts at all (until the marketplace shows the inquiry answered, or it is reopened);
- snoozed: warnings, evening warnings, repeats and the own-target breach move to the end of the snooze (the
  weightiest of them fires then); the MARKETPLACE breach never moves: a snooze cannot hide it;
- promised: a reminder `promise_reminder` before the promised time and an escalation at it, while still open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core.models import ClockKind, InquiryControls
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
            f"promise:remind:{stamp}",
            ClockKind.PROMISE,
            AlertKind.PROMISE_REMINDER,
            at - policy.promise_reminder,
            at,
            note=controls.promise_note,
        ),
        PlannedAlert(
            f"promise:missed:{stamp}", ClockKind.PROMISE, AlertKind.PROMISE_MISSED, at, at, note=controls.promise_note
        ),
    ]


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
) -> tuple[PlannedAlert, ...]:
    """The plan after the seller's controls, in time order."""
    if controls.handled_at is not None:
        return ()
    if not controls.any and snooze_all_until is None:  # nearly every inquiry: nothing to change, no re-sort
        return tuple(plan)
    alerts = [*plan, *promise_alerts(controls, policy)]
    until = snooze_end(controls, snooze_all_until, now)
    if until is not None:
        alerts = [replace(a, at=until) if _snoozable(a) and a.at < until else a for a in alerts]
    return tuple(sorted(alerts, key=lambda a: (a.at, a.key)))


def snooze_passes_deadline(until: datetime, marketplace_deadline: datetime) -> bool:
    """True when a snooze would run past the marketplace deadline (the seller must be told)."""
    return until > marketplace_deadline
