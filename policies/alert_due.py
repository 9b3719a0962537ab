"""What an SLA plan asks of the timer now: the alerts due (one per clock, the weightiest), the ones passed unsent
that a later one supersedes, and when to look again. Pure: a plan (policies/sla.py), the keys fired and the time in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from core.models import ClockKind
from policies.sla import AlertKind, PlannedAlert

LATE_AFTER = timedelta(minutes=5)  # an alert this far past its time fired late (the daemon was down)

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


class DueAlerts(NamedTuple):
    """What the timer must do now for one inquiry."""

    fire: tuple[PlannedAlert, ...]  # send these (at most one per clock)
    superseded: tuple[PlannedAlert, ...]  # passed unsent while a later one of the same clock is due: never send
    next_at: datetime | None  # when to look again (None: nothing left)


def due_alerts(
    plan: Sequence[PlannedAlert], fired: frozenset[str], *, now: datetime, known_since: datetime | None = None
) -> DueAlerts:
    """Split `plan` (in time order, as planned) into what fires now, what is stale, and the next wake-up.

    Alerts whose time came before inqd first saw the inquiry (`known_since`: a backfilled backlog, or an item
    found after an outage) never fire: the backlog summary or the new-inquiry push, which shows the deadline,
    already covers them.

    If several alerts of one clock are due at once (the daemon was down, or two points coincide), only the
    weightiest fires (a breach over a repeat over an evening warning over a warning; then the latest): a
    breach says more than the warnings before it, it must never be skipped, and one message beats three.
    """
    for alert in plan:  # nearly every inquiry of a re-plan: the first alert not yet fired is still ahead
        if alert.key not in fired:
            if alert.at > now:  # and so is every later one: the plan is in time order
                return DueAlerts((), (), alert.at)
            break
    else:
        return DueAlerts((), (), None)
    pending = [a for a in plan if a.key not in fired]
    future = [a.at for a in pending if a.at > now]
    due = [a for a in pending if a.at <= now]
    unseen = [a for a in due if known_since is not None and a.at <= known_since]
    latest: dict[ClockKind, PlannedAlert] = {}
    for alert in sorted((a for a in due if a not in unseen), key=lambda a: (_WEIGHT[a.kind], a.at)):
        latest[alert.clock] = alert
    fire = tuple(sorted(latest.values(), key=lambda a: (a.at, a.key)))
    superseded = tuple(a for a in due if a not in fire)
    return DueAlerts(fire=fire, superseded=superseded, next_at=min(future) if future else None)


def is_late(alert: PlannedAlert, *, now: datetime) -> bool:
    """True when an alert fires well after its time (it passed while the daemon was down)."""
    return now - alert.at > LATE_AFTER
