"""Pure policy functions: configuration, state and `now` in, a decision with a reason out."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from policies.calendar import Calendar
from policies.control_effects import ControlPolicy
from policies.intervals import Schedule
from policies.sla import SlaPolicy


@dataclass(frozen=True)
class Policies:
    """Everything the runtime needs to decide about time: the zone, the calendar, both schedules, the SLA."""

    zone: ZoneInfo
    calendar: Calendar
    quiet: Schedule
    work: Schedule
    sla: SlaPolicy
    controls: ControlPolicy = field(default_factory=ControlPolicy)
