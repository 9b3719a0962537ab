"""The SLA timer: one task that sleeps until the earliest stored alert time, queues what is due, and re-plans.

Restart-safe by construction: each planned inquiry's next alert time (open ones, and answered ones whose answer
promised a date) and the alerts already fired are in the store, so an alert whose time passed while the daemon
was down fires at start, marked late.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import structlog

from aggregator.store import AlertCandidate, AlertFire, AlertUpdate, Channels, Store
from core.clock import Clock, WakeableLoop
from core.models import MessageKind
from core.payloads import SlaAlertPayload
from policies import Policies
from policies.control_effects import apply_controls
from policies.sla import AlertKind, AlertPlanner, PlannedAlert, due_alerts, is_late

log = structlog.get_logger("inqd.timers")

_MESSAGE_KIND = {
    AlertKind.WARNING: MessageKind.SLA_WARNING,
    AlertKind.BREACH: MessageKind.SLA_BREACH,
    AlertKind.REPEAT: MessageKind.SLA_REPEAT,
    AlertKind.EVENING: MessageKind.EVENING_WARNING,
    AlertKind.PROMISE_REMINDER: MessageKind.PROMISE_REMINDER,
    AlertKind.PROMISE_MISSED: MessageKind.PROMISE_MISSED,
}


def _fire(alert: PlannedAlert, *, now: datetime) -> AlertFire:
    return AlertFire(
        kind=_MESSAGE_KIND[alert.kind],
        alert=SlaAlertPayload(
            key=alert.key,
            clock=alert.clock,
            due_at=alert.at,
            deadline=alert.deadline,
            late=is_late(alert, now=now),
            quiet_from=alert.quiet_from,
            note=alert.note,
        ),
    )


class AlertTimer:
    """Turns planned SLA alerts into outbox rows at their time."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        policies: Policies,
        *,
        channels: Channels,
        batch: int = 2000,
        idle_check_s: float = 300.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._policies = policies
        self._planner = AlertPlanner(policies.sla, work=policies.work, quiet=policies.quiet)
        self._channels = channels
        self._batch = batch
        self._loop = WakeableLoop(clock, idle_s=idle_check_s, on_error=lambda: log.exception("timer_crashed"))
        self.wake = self._loop.wake
        self.on_queued: list[asyncio.Event] = []
        self.on_fired: list[Callable[[MessageKind], None]] = []  # one call per alert decided (metrics)

    def use_policies(self, policies: Policies) -> None:
        """Follow a changed calendar (a vacation added or removed while running)."""
        self._policies = policies
        self._planner = AlertPlanner(policies.sla, work=policies.work, quiet=policies.quiet)

    def plan(
        self, candidate: AlertCandidate, now: datetime, *, snooze_all_until: datetime | None = None
    ) -> AlertUpdate:
        """What is due for one planned row now, and when to look again (pure policy calls)."""
        answered = candidate.answered
        if not (answered or candidate.fired or candidate.controls.any) and (
            snooze_all_until is None or snooze_all_until <= now
        ):
            # Most rows of a re-plan: nothing fired yet and no control changes the plan; if its first alert is
            # still ahead, nothing is due and that alert is the next (due_alerts' own first check).
            first = self._planner.first_alert(
                candidate.marketplace, candidate.stream, candidate.received_at, candidate.deadline_at
            )
            if first is not None and first[0] > now:
                return AlertUpdate(candidate.id, (), (), first[0], candidate.plan_generation)
        plan = apply_controls(
            ()
            if answered
            else self._planner.plan_clocks(
                candidate.marketplace, candidate.stream, candidate.received_at, candidate.deadline_at
            ),
            candidate.controls,
            self._policies.controls,
            snooze_all_until=snooze_all_until,
            now=now,
            answered=answered,
        )
        due = due_alerts(plan, candidate.fired, now=now, known_since=candidate.first_seen_at)
        return AlertUpdate(
            inquiry_id=candidate.id,
            fire=tuple(_fire(alert, now=now) for alert in due.fire),
            superseded=tuple((alert.key, alert.at) for alert in due.superseded),
            next_at=due.next_at,
            plan_generation=candidate.plan_generation,
        )

    async def run_once(self) -> int:
        """Plan new inquiries and queue every alert due now; returns the number of outbox rows added."""
        queued = 0
        snooze_all_until = await self._store.snooze_all_until()
        while True:
            now = self._clock.now()
            candidates = await self._store.alert_candidates(now=now, limit=self._batch)
            if not candidates:
                break
            updates = [self.plan(candidate, now, snooze_all_until=snooze_all_until) for candidate in candidates]
            added = await self._store.record_alerts(updates, channels=self._channels, now=now)
            for fire in (fire for update in updates for fire in update.fire):
                for observer in self.on_fired:
                    observer(fire.kind)
            if added:  # wake the dispatcher per batch: a long re-plan must not hold back what is due now
                for event in self.on_queued:
                    event.set()
            queued += added
            if len(candidates) < self._batch:
                break
        return queued

    async def start(self, fingerprint: str) -> int | None:
        """Re-plan every open inquiry if the policy config changed since the plans were made; returns how many."""
        count = await self._store.reset_alert_plans(fingerprint)
        if count is not None:
            log.info("timers_replanning", open_inquiries=count)
        return count

    async def run(self, stop: asyncio.Event) -> None:
        """Fire alerts until `stop`; sleeps until the earliest stored alert time or until woken."""
        await self._loop.run(stop, self.run_once, self._store.next_alert_at)
