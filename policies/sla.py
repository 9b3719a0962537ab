"""SLA clocks and the alerts they plan. Pure: an inquiry, the rules and the schedules in; alert times out.

Two clocks per inquiry:
- the MARKETPLACE deadline, on the wall clock (the one the seller is graded on; never pauses): the item's own
  deadline where the API gives one (11st 긴급알리미 `emerReplyDt`), else the rule's duration from receipt;
- the OWN target (optional), counted on work hours only.

Each clock gets warnings at configured points (share elapsed, or time left), exactly one breach alert, and the
marketplace clock gets bounded repeats after its breach, moved out of quiet hours. An inquiry whose marketplace
deadline falls inside a coming quiet period also gets an evening warning before that period starts.
Every alert has a stable key, so the store can record which ones fired and never fire one twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from core.models import ClockKind, Inquiry, Marketplace, StreamKind
from policies.intervals import Schedule, add_work_time

LATE_AFTER = timedelta(minutes=5)  # an alert this far past its time fired late (the daemon was down)


class AlertKind(StrEnum):
    """What an alert says."""

    WARNING = "warning"
    BREACH = "breach"
    REPEAT = "repeat"
    EVENING = "evening"
    PROMISE_REMINDER = "promise_reminder"
    PROMISE_MISSED = "promise_missed"


@dataclass(frozen=True, slots=True)
class WarnPoint:
    """A warning point: a share of the clock elapsed (0..1) or a time left before the deadline."""

    label: str
    elapsed_share: float | None
    left: timedelta | None


@dataclass(frozen=True, slots=True)
class SlaRule:
    """The clocks of one (marketplace, stream); None falls back to the policy default / no own target."""

    deadline: timedelta | None = None
    own_target: timedelta | None = None


@dataclass(frozen=True, slots=True)
class BreakthroughPolicy:
    """Whether a marketplace deadline passing before quiet ends may ring through it, and how often a night."""

    enabled: bool = False
    nightly_budget: int = 2


@dataclass(frozen=True, slots=True)
class SlaPolicy:
    """Every SLA setting, as pure data."""

    default_deadline: timedelta = timedelta(hours=24)
    rules: Mapping[tuple[Marketplace, StreamKind], SlaRule] = field(default_factory=dict)
    warn_points: tuple[WarnPoint, ...] = ()
    repeat_every: timedelta | None = timedelta(hours=2)
    repeat_max: int = 3
    evening_lead: timedelta | None = timedelta(hours=1)
    breakthrough: BreakthroughPolicy = BreakthroughPolicy()

    def rule_for(self, marketplace: Marketplace, stream: StreamKind) -> SlaRule:
        """The rule of a (marketplace, stream), or the defaults."""
        return self.rules.get((marketplace, stream), SlaRule())


@dataclass(frozen=True, slots=True)
class Deadlines:
    """Both clocks of one inquiry."""

    marketplace: datetime
    own: datetime | None


@dataclass(frozen=True, slots=True)
class PlannedAlert:
    """One alert an inquiry will get, unless it is answered first (a date promised in the answer outlives it:
    policies/control_effects.py)."""

    key: str
    clock: ClockKind
    kind: AlertKind
    at: datetime
    deadline: datetime
    quiet_from: datetime | None = None  # evening warning: when the quiet period the deadline falls in begins
    note: str = ""  # promise alerts: what the seller noted with the promise


def deadlines(inquiry: Inquiry, policy: SlaPolicy, work: Schedule) -> Deadlines:
    """The marketplace deadline and the own target of `inquiry`."""
    rule = policy.rule_for(inquiry.marketplace, inquiry.stream)
    marketplace = inquiry.deadline_at or inquiry.received_at + (rule.deadline or policy.default_deadline)
    own = add_work_time(work, inquiry.received_at, rule.own_target) if rule.own_target else None
    return Deadlines(marketplace=marketplace, own=own)


def _marketplace_alerts(inquiry: Inquiry, deadline: datetime, policy: SlaPolicy, quiet: Schedule) -> list[PlannedAlert]:
    start = inquiry.received_at
    total = deadline - start
    alerts: list[PlannedAlert] = []
    for point in policy.warn_points:
        at = (
            start + total * point.elapsed_share if point.elapsed_share is not None else deadline - (point.left or total)
        )
        if start <= at < deadline:
            alerts.append(
                PlannedAlert(f"marketplace:warn:{point.label}", ClockKind.MARKETPLACE, AlertKind.WARNING, at, deadline)
            )
    alerts.append(PlannedAlert("marketplace:breach", ClockKind.MARKETPLACE, AlertKind.BREACH, deadline, deadline))
    if policy.repeat_every:
        for n in range(1, policy.repeat_max + 1):
            at = deadline + policy.repeat_every * n
            # Never inside quiet hours; not moved to its end either: the digest there already lists the inquiry.
            if not quiet.contains(at):
                alerts.append(
                    PlannedAlert(f"marketplace:repeat:{n}", ClockKind.MARKETPLACE, AlertKind.REPEAT, at, deadline)
                )
    evening = _evening_alert(start, deadline, policy, quiet)
    if evening is not None:
        alerts.append(evening)
    return alerts


def quiet_span_start(quiet: Schedule, at: datetime) -> datetime | None:
    """Start of the quiet span containing `at` (None when `at` is not quiet)."""
    return quiet.span_start(at)


def _evening_alert(start: datetime, deadline: datetime, policy: SlaPolicy, quiet: Schedule) -> PlannedAlert | None:
    if policy.evening_lead is None:
        return None
    quiet_from = quiet_span_start(quiet, deadline)
    if quiet_from is None or quiet_from <= start:
        return None  # deadline outside quiet, or the inquiry arrived in that same quiet period
    at = max(start, quiet_from - policy.evening_lead)
    key = f"marketplace:evening:{quiet_from.isoformat()}"
    return PlannedAlert(key, ClockKind.MARKETPLACE, AlertKind.EVENING, at, deadline, quiet_from=quiet_from)


def _own_alerts(
    inquiry: Inquiry, target: timedelta, own_deadline: datetime, policy: SlaPolicy, work: Schedule
) -> list[PlannedAlert]:
    alerts: list[PlannedAlert] = []
    for point in policy.warn_points:
        if point.elapsed_share is not None:
            spent = target * point.elapsed_share
        elif point.left is not None and point.left < target:
            spent = target - point.left
        else:
            continue
        at = add_work_time(work, inquiry.received_at, spent)
        alerts.append(PlannedAlert(f"own:warn:{point.label}", ClockKind.OWN, AlertKind.WARNING, at, own_deadline))
    alerts.append(PlannedAlert("own:breach", ClockKind.OWN, AlertKind.BREACH, own_deadline, own_deadline))
    return alerts


def plan_alerts(inquiry: Inquiry, policy: SlaPolicy, *, work: Schedule, quiet: Schedule) -> tuple[PlannedAlert, ...]:
    """Every SLA alert of `inquiry`, in time order (answered inquiries get none: answering stops every clock)."""
    if inquiry.answered:
        return ()
    clocks = deadlines(inquiry, policy, work)
    alerts = _marketplace_alerts(inquiry, clocks.marketplace, policy, quiet)
    rule = policy.rule_for(inquiry.marketplace, inquiry.stream)
    if clocks.own is not None and rule.own_target is not None:
        alerts += _own_alerts(inquiry, rule.own_target, clocks.own, policy, work)
    return tuple(sorted(alerts, key=lambda a: (a.at, a.key)))


# When alerts of one clock coincide, the weightiest fires. The evening warning outranks a plain warning: it says
# when to answer ("before 22:00"), not only how much time is left.
_WEIGHT = {
    AlertKind.WARNING: 0,
    AlertKind.EVENING: 1,
    AlertKind.REPEAT: 2,
    AlertKind.BREACH: 3,
    AlertKind.PROMISE_REMINDER: 0,
    AlertKind.PROMISE_MISSED: 3,
}


@dataclass(frozen=True, slots=True)
class DueAlerts:
    """What the timer must do now for one inquiry."""

    fire: tuple[PlannedAlert, ...]  # send these (at most one per clock)
    superseded: tuple[PlannedAlert, ...]  # passed unsent while a later one of the same clock is due: never send
    next_at: datetime | None  # when to look again (None: nothing left)


def due_alerts(
    plan: Sequence[PlannedAlert], fired: frozenset[str], *, now: datetime, known_since: datetime | None = None
) -> DueAlerts:
    """Split `plan` into what fires now, what is stale, and the next wake-up.

    Alerts whose time came before inqd first saw the inquiry (`known_since`: a backfilled backlog, or an item
    found after an outage) never fire: the backlog summary or the new-inquiry push, which shows the deadline,
    already covers them.

    If several alerts of one clock are due at once (the daemon was down, or two points coincide), only the
    weightiest fires (a breach over a repeat over an evening warning over a warning; then the latest): a
    breach says more than the warnings before it, it must never be skipped, and one message beats three.
    """
    pending = [a for a in plan if a.key not in fired]
    due = [a for a in pending if a.at <= now]
    unseen = [a for a in due if known_since is not None and a.at <= known_since]
    latest: dict[ClockKind, PlannedAlert] = {}
    for alert in sorted((a for a in due if a not in unseen), key=lambda a: (_WEIGHT[a.kind], a.at)):
        latest[alert.clock] = alert
    fire = tuple(sorted(latest.values(), key=lambda a: (a.at, a.key)))
    superseded = tuple(a for a in due if a not in fire)
    future = [a.at for a in pending if a.at > now]
    return DueAlerts(fire=fire, superseded=superseded, next_at=min(future) if future else None)


def is_late(alert: PlannedAlert, *, now: datetime) -> bool:
    """True when an alert fires well after its time (it passed while the daemon was down)."""
    return now - alert.at > LATE_AFTER
