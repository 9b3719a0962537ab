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

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache, partial
from typing import NamedTuple

from core.instants import from_us, to_us
from core.models import ClockKind, Inquiry, Marketplace, StreamKind
from policies.intervals import Schedule, add_work_time
from policies.work_time import SpanTimeline, WorkTimeline


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


class PlannedAlert(NamedTuple):
    """One alert an inquiry will get, unless it is answered first (a date promised in the answer outlives it:
    policies/control_effects.py).

    A plain tuple, `at` then `key` first, so that a plan sorts in time order without a key function: a re-plan
    makes 600,000 of these (a frozen dataclass cost ~1 µs each to build, a tuple a third of that).
    """

    at: datetime
    key: str
    clock: ClockKind
    kind: AlertKind
    deadline: datetime
    quiet_from: datetime | None = None  # evening warning: when the quiet period the deadline falls in begins
    note: str = ""  # promise alerts: what the seller noted with the promise


_US = timedelta(microseconds=1)
_ZERO = timedelta(0)
# Builds a PlannedAlert from all seven fields without the NamedTuple's Python-level __new__ (half the cost of
# PlannedAlert(...)): the planner's hot path, 600,000 calls in a 100k re-plan.
_alert = partial(tuple.__new__, PlannedAlert)


def deadlines(inquiry: Inquiry, policy: SlaPolicy, work: Schedule) -> Deadlines:
    """The marketplace deadline and the own target of `inquiry`."""
    rule = policy.rule_for(inquiry.marketplace, inquiry.stream)
    marketplace = inquiry.deadline_at or inquiry.received_at + (rule.deadline or policy.default_deadline)
    own = add_work_time(work, inquiry.received_at, rule.own_target) if rule.own_target else None
    return Deadlines(marketplace=marketplace, own=own)


class AlertPlanner:
    """`plan_alerts` with everything that depends on the policy alone worked out once: the timer re-plans every open
    inquiry after a config change (100,000 within 2 s), so per inquiry it only does the date arithmetic."""

    def __init__(self, policy: SlaPolicy, *, work: Schedule, quiet: Schedule) -> None:
        self._policy = policy
        self._work = WorkTimeline(work)
        self._quiet = quiet
        self._warns = tuple((f"marketplace:warn:{p.label}", p.elapsed_share, p.left) for p in policy.warn_points)
        every = policy.repeat_every
        self._repeats = (
            tuple((f"marketplace:repeat:{n}", every * n) for n in range(1, policy.repeat_max + 1)) if every else ()
        )
        self._own_points: dict[timedelta, tuple[tuple[str, AlertKind, timedelta], ...]] = {}
        self._own_breach: dict[timedelta, int] = {}  # where the breach is among a target's points
        self._own_spent: dict[timedelta, list[int]] = {}  # the points' work time in µs, for WorkTimeline.add_us
        # The fast path's (`first_alert_us`) constants: whether a repeat can precede the breach; whether evening
        # warnings can happen at all; each (marketplace, stream)'s clocks; the marketplace alerts' offsets.
        self._repeats_first = bool(self._repeats) and every is not None and every <= _ZERO
        self._evening_lead = None if policy.evening_lead is None else policy.evening_lead // _US
        self._quiet_spans = SpanTimeline(quiet)
        self._evening_key = lru_cache(maxsize=4096)(self._evening_key_of)  # quiet start (µs) -> evening key
        self._clocks: dict[tuple[Marketplace, StreamKind], tuple[int, tuple[tuple[int, str], ...] | None]] = {}
        # By clock length: the rule's deadline gives every row without a deadline of its own the same one.
        self._offsets = lru_cache(maxsize=4096)(self._offsets_of)

    def plan(self, inquiry: Inquiry) -> list[PlannedAlert]:
        """Every SLA alert of an open `inquiry`, in time order (`plan_alerts` without the answered check)."""
        return self.plan_clocks(inquiry.marketplace, inquiry.stream, inquiry.received_at, inquiry.deadline_at)

    def plan_clocks(
        self, marketplace: Marketplace, stream: StreamKind, received_at: datetime, deadline_at: datetime | None
    ) -> list[PlannedAlert]:
        """Every SLA alert of an open inquiry given by the fields its clocks read, in time order."""
        rule = self._policy.rules.get((marketplace, stream))
        own_target = rule.own_target if rule is not None else None
        deadline = deadline_at or received_at + (
            (rule.deadline if rule is not None else None) or self._policy.default_deadline
        )
        alerts = self._marketplace_alerts(received_at, deadline)
        if own_target:  # a zero target has no clock, as `deadlines` says
            alerts += self._own_alerts(received_at, own_target)
        alerts.sort()  # (at, key) first in the tuple: time order, ties by key
        return alerts

    def first_alert(
        self,
        marketplace: Marketplace,
        stream: StreamKind,
        received_at: datetime,
        deadline_at: datetime | None,
        fired: frozenset[str] = frozenset(),
        due_by: datetime | None = None,
    ) -> tuple[datetime, str] | None:
        """(at, key) of the first alert `plan_clocks` would plan whose key is not in `fired`, found without building
        the plan (a re-plan's fast path: when it is still ahead, it is the next alert and nothing is due). None when
        only the plan can tell (the breach fired: a repeat may come next), and, given `due_by`, when it is at or
        before that (something is due: the caller plans the whole; found before the own clock's walk, it spares it)."""
        first = self.first_alert_us(
            marketplace,
            stream,
            to_us(received_at),
            None if deadline_at is None else to_us(deadline_at),
            fired,
            None if due_by is None else to_us(due_by),
            received_at=received_at,
        )
        return None if first is None else (from_us(first[0]), first[1])

    def first_alert_us(
        self,
        marketplace: Marketplace,
        stream: StreamKind,
        received: int,
        deadline_at: int | None,
        fired: frozenset[str],
        due_by: int | None = None,
        *,
        received_at: datetime | None = None,
    ) -> tuple[int, str] | None:
        """`first_alert` with its instants as microseconds since the epoch (core/instants.py): what a re-plan of
        100,000 rows reads and holds. `received_at`: the receipt as a datetime, so that a walk's refusal names it
        as the plan's does."""
        if self._repeats_first or "marketplace:breach" in fired:
            return None  # a repeat could come first: not worth a fast path
        clocks = self._clocks.get((marketplace, stream))
        if clocks is None:
            clocks = self._clocks[(marketplace, stream)] = self._clocks_of(marketplace, stream)
        rule_deadline, own_points = clocks
        deadline = received + rule_deadline if deadline_at is None else deadline_at
        total = deadline - received
        first = (deadline, "marketplace:breach")  # never fired here; every repeat comes after it
        for offset, key in self._offsets(total):
            if key not in fired:
                first = (received + offset, key)
                break
        lead = self._evening_lead
        quiet_from = None if lead is None else self._quiet_spans.span_start_us(deadline)
        if lead is not None and quiet_from is not None and quiet_from > received:  # `_evening_alert`, in µs
            key = self._evening_key(quiet_from)
            if key not in fired:
                first = min(first, (max(received, quiet_from - lead), key))
        if due_by is not None and first[0] <= due_by:
            return None
        if own_points is None:
            return first
        if not own_points:
            return None  # a negative share: the walk refuses it, and the plan says so
        for spent, key in own_points:  # by work time spent, so their instants come in that order
            if key not in fired:
                own_at = self._work.at_us(received, spent, start_at=received_at)
                return None if due_by is not None and own_at <= due_by else min(first, (own_at, key))
        return first

    def _clocks_of(
        self, marketplace: Marketplace, stream: StreamKind
    ) -> tuple[int, tuple[tuple[int, str], ...] | None]:
        """(the rule's marketplace deadline in µs, the own target's (work µs, key) by time): None for no own clock,
        () for one the walk refuses (a negative share; `_own_points` always has its breach)."""
        rule = self._policy.rules.get((marketplace, stream))
        deadline = ((rule.deadline if rule is not None else None) or self._policy.default_deadline) // _US
        own_target = rule.own_target if rule is not None else None
        if not own_target:  # a zero target has no clock, as `deadlines` says
            return deadline, None
        points, _breach, spent = self._own_setup(own_target)
        if spent[0] < 0:
            return deadline, ()
        return deadline, tuple(sorted((us, key) for (key, _kind, _spent), us in zip(points, spent, strict=True)))

    def _evening_key_of(self, quiet_from: int) -> str:
        at = self._quiet_spans.instant(quiet_from)  # as `quiet_span_start` gives it, so the key reads the same
        return f"marketplace:evening:{at.isoformat()}"

    def _offsets_of(self, total: int) -> tuple[tuple[int, str], ...]:
        """The marketplace clock's warnings and breach as (µs after receipt, key), in time order, for a clock of
        `total` µs."""
        span = timedelta(microseconds=total)
        found = [(total, "marketplace:breach")]
        for key, share, left in self._warns:
            # The plan's own arithmetic (a timedelta times a float rounds half to even), once per clock length.
            offset = (span * share) // _US if share is not None else total - (left // _US if left else total)
            if 0 <= offset < total:
                found.append((offset, key))
        return tuple(sorted(found))

    def _marketplace_alerts(self, start: datetime, deadline: datetime) -> list[PlannedAlert]:
        total = deadline - start
        alerts: list[PlannedAlert] = []
        for key, share, left in self._warns:
            at = start + total * share if share is not None else deadline - (left or total)
            if start <= at < deadline:
                alerts.append(_alert((at, key, ClockKind.MARKETPLACE, AlertKind.WARNING, deadline, None, "")))
        alerts.append(
            _alert((deadline, "marketplace:breach", ClockKind.MARKETPLACE, AlertKind.BREACH, deadline, None, ""))
        )
        quiet = self._quiet
        for key, after in self._repeats:
            at = deadline + after
            # Never inside quiet hours; not moved to its end either: the digest there already lists the inquiry.
            if not quiet.contains(at):
                alerts.append(_alert((at, key, ClockKind.MARKETPLACE, AlertKind.REPEAT, deadline, None, "")))
        evening = _evening_alert(start, deadline, self._policy, quiet)
        if evening is not None:
            alerts.append(evening)
        return alerts

    def _own_setup(self, target: timedelta) -> tuple[tuple[tuple[str, AlertKind, timedelta], ...], int, list[int]]:
        """A target's points (sorted by work time spent), where its breach is among them, and their times in µs."""
        points = self._own_points.get(target)
        if points is None:
            points = self._own_points[target] = _own_points(self._policy, target)
            self._own_breach[target] = [kind for _key, kind, _spent in points].index(AlertKind.BREACH)
            self._own_spent[target] = [spent // _US for _key, _kind, spent in points]
        return points, self._own_breach[target], self._own_spent[target]

    def _own_alerts(self, start: datetime, target: timedelta) -> list[PlannedAlert]:
        points, breach, spent = self._own_setup(target)
        # Every point at once (it was one work-time walk each), found by bisection: sorted by work time spent.
        if spent[0] < 0:  # a negative share: the walk refuses it, with its message
            ats = self._work.add(start, [timedelta(microseconds=us) for us in spent])
        else:
            ats = self._work.add_us(start, spent)
        own_deadline = ats[breach]
        return [
            _alert((at, key, ClockKind.OWN, kind, own_deadline, None, ""))
            for (key, kind, _spent), at in zip(points, ats, strict=True)
        ]


def _own_points(policy: SlaPolicy, target: timedelta) -> tuple[tuple[str, AlertKind, timedelta], ...]:
    """(key, kind, work time spent) of each own-target alert, sorted by the work time spent."""
    points: list[tuple[str, AlertKind, timedelta]] = []
    for point in policy.warn_points:
        if point.elapsed_share is not None:
            spent = target * point.elapsed_share
        elif point.left is not None and point.left < target:
            spent = target - point.left
        else:
            continue
        points.append((f"own:warn:{point.label}", AlertKind.WARNING, spent))
    points.append(("own:breach", AlertKind.BREACH, target))
    return tuple(sorted(points, key=lambda point: point[2]))


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
    return PlannedAlert(at, key, ClockKind.MARKETPLACE, AlertKind.EVENING, deadline, quiet_from=quiet_from)


def plan_alerts(inquiry: Inquiry, policy: SlaPolicy, *, work: Schedule, quiet: Schedule) -> tuple[PlannedAlert, ...]:
    """Every SLA alert of `inquiry`, in time order (answered inquiries get none: answering stops every clock)."""
    if inquiry.answered:
        return ()
    return tuple(AlertPlanner(policy, work=work, quiet=quiet).plan(inquiry))
