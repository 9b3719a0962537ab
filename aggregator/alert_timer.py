"""The SLA timer: one task that sleeps until the earliest stored alert time, queues what is due, and re-plans.

Restart-safe by construction: each planned inquiry's next alert time (open ones, and answered ones whose answer
promised a date) and the alerts already fired are in the store, so an alert whose time passed while the daemon
was down fires at start, marked late.

A large re-plan (a config change: every open inquiry) is held in memory first: the timer knows every new alert
time once the rows are read and planned, and writes the times back in the background, a batch at a time
(`_HeldPlans`). Still restart-safe: a row not yet written back keeps its old plan generation in the store, and a
row of an older generation is stale, so a restart (or a new leader) plans it again; alerts that fire are stored
with their row's new plan in one transaction, as always.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime
from heapq import heapify, heappop

import structlog

from aggregator.store import AlertCandidate, AlertFire, AlertUpdate, Channels, Store
from aggregator.store.alert_plans import StaleRow
from core.clock import Clock, WakeableLoop
from core.instants import from_us, to_us
from core.models import MessageKind
from core.payloads import SlaAlertPayload
from policies import Policies
from policies.alert_due import due_alerts, is_late
from policies.control_effects import apply_controls
from policies.sla import AlertKind, AlertPlanner, PlannedAlert

log = structlog.get_logger("inqd.timers")

_MESSAGE_KIND = {
    AlertKind.WARNING: MessageKind.SLA_WARNING,
    AlertKind.BREACH: MessageKind.SLA_BREACH,
    AlertKind.REPEAT: MessageKind.SLA_REPEAT,
    AlertKind.EVENING: MessageKind.EVENING_WARNING,
    AlertKind.PROMISE_REMINDER: MessageKind.PROMISE_REMINDER,
    AlertKind.PROMISE_MISSED: MessageKind.PROMISE_MISSED,
}


_SERVE_EVERY = 4  # pages of a re-plan between two looks at the current plans' alerts due (one store call each)
_NEVER = 1 << 62  # a held plan with no alert left (µs since the epoch, like the others): sorts after every time


class _HeldPlans:
    """A re-plan's new alert times, held in memory while a background task writes them back to the store.

    Why this stays correct (the store's `write_back_alert_plans` and `stale_alert_plans` keep their side):
    - a crash or stop before the write-back ends loses nothing: the rows not yet written keep their old plan
      generation, which is stale, so the next start (or a new leader, which starts from the store) plans them
      again; nothing fires from this memory without being stored (below);
    - nothing fires from a held time directly: when one falls due, its row is read again and planned as any
      other, and that plan (alerts and next time, current generation) is stored in one transaction;
    - a row changed meanwhile (a poll, a control: its alert time cleared), answered, or planned afresh (a newer
      generation) is not overwritten by the write-back; a changed row is planned from the store at once;
    - the plan generation moving on (another config change, a vacation, a snooze for all) drops the memory.
    The times are microseconds since the epoch (core/instants.py), kept as a heap: building it is linear, where
    sorting 100,000 pairs of datetimes took a tenth of a second.
    """

    def __init__(self, generation: int, plans: list[tuple[int, int]]) -> None:
        self.generation = generation
        self.plans = plans  # (next alert time, inquiry id): written back in this order
        self._due = plans.copy()  # the same, a heap of those not handed over yet
        heapify(self._due)

    def next_at(self) -> datetime | None:
        """The earliest held time not yet handed over (None: none left)."""
        if not self._due or self._due[0][0] == _NEVER:
            return None
        return from_us(self._due[0][0])

    def pop_due(self, now: datetime) -> list[int]:
        """The inquiries whose held time is `now` or earlier, each handed over once."""
        now_us, due, heap = to_us(now), [], self._due
        while heap and heap[0][0] <= now_us:
            due.append(heappop(heap)[1])
        return due


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
        self._held: _HeldPlans | None = None  # a large re-plan's result, while it is written back
        self._write_back: asyncio.Task[None] | None = None
        self._replan_large = False  # start() made more than a batch stale: run_once plans them in memory at once

    def use_policies(self, policies: Policies) -> None:
        """Follow a changed calendar (a vacation added or removed while running)."""
        self._policies = policies
        self._planner = AlertPlanner(policies.sla, work=policies.work, quiet=policies.quiet)

    def plan(
        self,
        candidate: AlertCandidate,
        now: datetime,
        *,
        snooze_all_until: datetime | None = None,
        fast_path: bool = True,
    ) -> AlertUpdate:
        """What is due for one planned row now, and when to look again (pure policy calls); `fast_path=False` for a
        row whose fast path was tried already."""
        answered = candidate.answered
        if (
            fast_path
            and not (answered or candidate.controls.any)
            and (snooze_all_until is None or snooze_all_until <= now)
        ):
            # Most rows of a re-plan: no control changes the plan; if its first alert not fired yet is still ahead,
            # nothing is due and that alert is the next (due_alerts' own first check).
            first = self._planner.first_alert(
                candidate.marketplace, candidate.stream, candidate.received_at, candidate.deadline_at, candidate.fired
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
        if self._held is not None:
            queued += await self._fire_held_due(snooze_all_until)
        if self._replan_large and self._held is None:
            # start() made more than a batch stale: first the rows awaiting a plan (new ones, and those a poll just
            # changed, whose alerts may be minutes away), then every stale row in memory, no batch stored first.
            self._replan_large = False
            queued += await self._plan_batches(snooze_all_until, awaiting_only=True)
            queued += await self._replan_in_memory(snooze_all_until)
        return queued + await self._plan_batches(snooze_all_until)

    async def _plan_batches(self, snooze_all_until: datetime | None, *, awaiting_only: bool = False) -> int:
        """Plan the store's candidates a batch at a time (all of them, or only the rows awaiting a plan and the
        current plans' alerts due); more than a batch of stale rows goes to memory (`_replan_in_memory`)."""
        queued = 0
        tried_in_memory = awaiting_only or self._held is not None
        while True:
            now = self._clock.now()
            candidates = await self._store.alert_candidates(
                now=now, limit=self._batch, stale_planned=self._held is None and not awaiting_only
            )
            if not candidates:
                break
            queued += await self._record(
                [self.plan(candidate, now, snooze_all_until=snooze_all_until) for candidate in candidates], now
            )
            if len(candidates) < self._batch:
                break
            if self._held is None and not tried_in_memory:  # more than a batch: plan the stale rows in memory
                tried_in_memory = True
                queued += await self._replan_in_memory(snooze_all_until)
        return queued

    async def _record(self, updates: Sequence[AlertUpdate], now: datetime) -> int:
        """Store one batch of plans with the alerts they fire; tell the observers and the dispatcher."""
        added = await self._store.record_alerts(updates, channels=self._channels, now=now)
        for fire in (fire for update in updates for fire in update.fire):
            for observer in self.on_fired:
                observer(fire.kind)
        if added:  # wake the dispatcher per batch: a long re-plan must not hold back what is due now
            for event in self.on_queued:
                event.set()
        return added

    async def _replan_in_memory(self, snooze_all_until: datetime | None) -> int:
        """Plan every stale row that has an old alert time, a page at a time; store at once only what fires or is
        superseded now, hold the other rows' next times (`_HeldPlans`) and write those back in the background."""
        queued = pages = 0
        held: list[tuple[int, int]] = []
        generation: int | None = None
        after = None
        whole = False  # read the next page whole: most rows of the last one needed the whole plan
        while True:
            page = await self._store.stale_alert_plans(after=after, limit=self._batch, whole=whole)
            count = len(page.rows) + len(page.candidates)
            if not count:
                break
            if generation is None:
                generation = page.generation
            elif page.generation != generation:
                return queued  # the generation moved on while reading: the rest is planned again from the store
            if whole:
                added, planned_whole = await self._plan_candidates(page.candidates, held, snooze_all_until)
            else:
                added, planned_whole = await self._plan_narrow(page.rows, held, snooze_all_until)
            queued += added
            whole = planned_whole * 2 > count
            pages += 1
            if pages % _SERVE_EVERY == 0:  # what fell due meanwhile waits a few pages at most
                queued += await self._serve_stored_due(snooze_all_until)
            after = page.after
            if count < self._batch:
                break
        if generation is None or not held:
            return queued
        self._held = _HeldPlans(generation, held)
        self._write_back = None  # started when the timer is about to wait (`next_alert_at`)
        return queued + await self._serve_stored_due(snooze_all_until) + await self._fire_held_due(snooze_all_until)

    async def _plan_narrow(
        self, rows: Sequence[StaleRow], held: list[tuple[int, int]], snooze_all_until: datetime | None
    ) -> tuple[int, int]:
        """The fast path on narrow rows, adding to `held`; the rows it cannot serve are read whole and planned.
        Returns (outbox rows added, rows planned whole)."""
        now = self._clock.now()
        now_us = to_us(now)
        first_alert = self._planner.first_alert_us
        whole: list[int] = []
        if snooze_all_until is not None and snooze_all_until > now:
            whole = [row[0] for row in rows]  # a snooze for all changes every plan
            rows = ()
        for row_id, marketplace, stream, received, deadline_at, fired, plain in rows:
            first = first_alert(marketplace, stream, received, deadline_at, fired, now_us) if plain else None
            if first is not None and first[0] > now_us:
                held.append((first[0], row_id))  # nothing due: `plan`'s fast path, without its objects
            else:
                whole.append(row_id)
        if not whole:
            return 0, 0
        candidates = await self._store.alert_candidates_by_id(whole)
        added, _stored = await self._plan_candidates(candidates, held, snooze_all_until, fast_path=False)
        return added, len(whole)

    async def _plan_candidates(
        self,
        candidates: Sequence[AlertCandidate],
        held: list[tuple[int, int]],
        snooze_all_until: datetime | None,
        *,
        fast_path: bool = True,
    ) -> tuple[int, int]:
        """Plan re-plan rows read whole: store what fires or is superseded now, add the others to `held`.
        Returns (outbox rows added, rows stored now)."""
        now = self._clock.now()
        updates = [
            self.plan(candidate, now, snooze_all_until=snooze_all_until, fast_path=fast_path)
            for candidate in candidates
        ]
        now_stored = [update for update in updates if update.fire or update.superseded]
        held += [
            (_NEVER if update.next_at is None else to_us(update.next_at), update.inquiry_id)
            for update in updates
            if not (update.fire or update.superseded)
        ]
        return (await self._record(now_stored, now) if now_stored else 0), len(now_stored)

    async def _serve_stored_due(self, snooze_all_until: datetime | None) -> int:
        """One batch of the alerts of current plans due now (new and changed rows wait for the re-plan's end)."""
        now = self._clock.now()
        candidates = await self._store.alert_candidates(now=now, limit=self._batch, due_only=True)
        if not candidates:
            return 0
        return await self._record(
            [self.plan(candidate, now, snooze_all_until=snooze_all_until) for candidate in candidates], now
        )

    async def _fire_held_due(self, snooze_all_until: datetime | None) -> int:
        """Plan afresh, from the store, the held rows whose time has come (alerts fire from stored rows only)."""
        held = self._held
        assert held is not None
        if await self._store.plan_generation() != held.generation:
            self._drop_held()  # plans of an older config: the store says what is stale
            return 0
        now = self._clock.now()
        due = held.pop_due(now)
        if not due:
            return 0
        candidates = await self._store.alert_candidates_by_id(due)
        return await self._record(
            [self.plan(candidate, now, snooze_all_until=snooze_all_until) for candidate in candidates], now
        )

    async def _write_back_held(self, held: _HeldPlans) -> None:
        """Write the held times back, a batch per transaction in the order read (soonest old time first), letting
        other work in between."""
        try:
            for start in range(0, len(held.plans), self._batch):
                if self._held is not held:
                    return  # dropped: a newer re-plan, or the timer stops
                chunk = [
                    (None if at == _NEVER else at, row_id) for at, row_id in held.plans[start : start + self._batch]
                ]
                await self._store.write_back_alert_plans(chunk, generation=held.generation)
                await asyncio.sleep(0)
        except Exception:  # the rows not written stay stale: the store has them planned again
            log.exception("timer_write_back_failed")
            self._drop_held()
            return
        if self._held is held:
            self._held = None

    def _drop_held(self) -> None:
        self._held = None
        self.wake.set()  # look at the store again: it has the rows not written back as stale

    def _start_write_back(self) -> None:
        """Write the held plans back in the background, from when the timer waits: started within `run_once`, its
        first batch (a transaction) came before the timer's next look at the store."""
        if self._held is not None and self._write_back is None:
            self._write_back = asyncio.create_task(self._write_back_held(self._held))

    async def written_back(self) -> None:
        """Wait until the plans held in memory are in the store (at once when none are held)."""
        self._start_write_back()
        if self._write_back is not None:
            await self._write_back

    async def next_alert_at(self) -> datetime | None:
        """When to look next: the store's earliest time, and the earliest held one during a write-back."""
        held = self._held
        if held is None:
            return await self._store.next_alert_at()
        stored = await self._store.next_alert_at(stale_planned=False)
        self._start_write_back()
        held_at = held.next_at()
        return held_at if stored is None else stored if held_at is None else min(stored, held_at)

    async def start(self, fingerprint: str) -> int | None:
        """Re-plan every open inquiry if the policy config changed since the plans were made; returns how many."""
        count = await self._store.reset_alert_plans(fingerprint)
        if count is not None:
            self._held = None  # plans of the old config
            self._replan_large = count > self._batch
            log.info("timers_replanning", open_inquiries=count)
        return count

    async def run(self, stop: asyncio.Event) -> None:
        """Fire alerts until `stop`; sleeps until the earliest stored alert time or until woken."""
        try:
            await self._loop.run(stop, self.run_once, self.next_alert_at)
        finally:
            self._held = None  # the write-back stops after its batch: what is not written is stale in the store
            await self.written_back()
