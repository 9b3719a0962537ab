"""Configuration of the policies: calendar, named time intervals, quiet and work hours, SLA rules.

Validated at load like the rest of the config (unknown keys are errors; one line per problem naming the key),
and turned into the pure policy objects (`Calendar`, `Schedule`, `SlaPolicy`) the runtime uses.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from aggregator.settings.hours import hours_interval
from aggregator.settings.problems import Problem
from core.models import Marketplace, StreamKind
from policies.calendar import VACATION_NAME, Calendar, parse_dates
from policies.intervals import IntervalError, Schedule, TimeInterval, parse_interval
from policies.sla import BreakthroughPolicy, SlaPolicy, SlaRule, WarnPoint

_DURATION = re.compile(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$")


def parse_duration(value: object) -> timedelta:
    """`"24h"`, `"1h30m"`, `"2d"`, `"45m"`, `"90s"` or a number of seconds → timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    text = str(value).strip().lower()
    match = _DURATION.match(text)
    if not text or match is None or not any(match.groups()):
        raise Problem("not_duration", value=value)
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def parse_warn_point(value: object) -> WarnPoint:
    """`"50%"` (share of the clock elapsed) or a duration (time left), e.g. `"2h"`."""
    text = str(value).strip()
    if text.endswith("%"):
        try:
            percent = float(text[:-1])
        except ValueError as err:
            raise Problem("not_percentage", value=value) from err
        if not 0 < percent < 100:
            raise Problem("percentage_range", value=value)
        return WarnPoint(label=text, elapsed_share=percent / 100, left=None)
    left = parse_duration(text)
    if left <= timedelta(0):
        raise Problem("left_positive", value=value)
    return WarnPoint(label=text, elapsed_share=None, left=left)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarConfig(_Strict):
    """Which days are closed: Korean public holidays plus your own closed and open dates."""

    holidays: Literal["KR", "none"] = "KR"
    closed: tuple[str, ...] = ()
    open: tuple[str, ...] = ()

    @field_validator("closed", "open")
    @classmethod
    def _dates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            parse_dates(value)
        except ValueError as err:
            raise Problem("bad_dates", detail=str(err)) from None
        return value

    def build(self, vacations: Sequence[tuple[date, date]] = ()) -> Calendar:
        """The pure Calendar; vacation days (first..last, from `inqd vacation add`) are closed even if `open`."""
        days_off = {first + timedelta(days=n) for first, last in vacations for n in range((last - first).days + 1)}
        return Calendar(
            country=None if self.holidays == "none" else "KR",
            closed=parse_dates(self.closed) | days_off,
            open=parse_dates(self.open) - days_off,
            names=dict.fromkeys(days_off, VACATION_NAME),
        )


class TimeIntervalConfig(_Strict):
    """A named list of specs in the Alertmanager shape; matches when any spec matches."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
    time_intervals: tuple[dict[str, Any], ...]

    @model_validator(mode="after")
    def _parses(self) -> TimeIntervalConfig:
        try:
            parse_interval(self.name, self.time_intervals)
        except IntervalError as err:
            # The config layer appends `sub_path` to this key's own path: one line, one full key path.
            problem = Problem("interval_spec", detail=str(err))
            raise PydanticCustomError(
                "sub_path", "{message}", {"sub_path": err.path, "message": str(err), "problem": problem}
            ) from err
        return self

    def build(self) -> TimeInterval:
        """The pure TimeInterval."""
        return parse_interval(self.name, self.time_intervals)


# Built-in intervals, as the sellers we build for keep their hours (a name in the config overrides one).
BUILTIN_INTERVALS: tuple[TimeIntervalConfig, ...] = (
    TimeIntervalConfig(name="night", time_intervals=({"times": ["22:00-09:00"]},)),
    TimeIntervalConfig(name="closed-days", time_intervals=({"closed_days": True},)),
    TimeIntervalConfig(name="cs-hours", time_intervals=({"weekdays": ["monday:friday"], "times": ["13:00-18:00"]},)),
)


class SlaRuleConfig(_Strict):
    """The clocks of one (marketplace, stream)."""

    marketplace: Marketplace
    stream: StreamKind
    deadline: Duration | None = None  # wall clock; None: the default (an item's own deadline always wins)
    own_target: Duration | None = None  # counted on work hours only


class BreakthroughConfig(_Strict):
    """Ringing through quiet hours for a marketplace deadline that passes before quiet ends. Off by default."""

    enabled: bool = False
    nightly_budget: Annotated[int, Field(ge=1, le=20)] = 2


class SlaConfig(_Strict):
    """Deadlines, warnings, repeats and the evening warning."""

    default_deadline: Duration = timedelta(hours=24)
    warn: tuple[str, ...] = ("50%", "2h")
    repeat_every: Duration | None = timedelta(hours=2)
    repeat_max: Annotated[int, Field(ge=0, le=10)] = 3
    evening_warning: Duration | None = timedelta(hours=1)
    rules: tuple[SlaRuleConfig, ...] = ()
    breakthrough: BreakthroughConfig = BreakthroughConfig()

    @field_validator("warn")
    @classmethod
    def _warn_points(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            parse_warn_point(item)
        return value

    @model_validator(mode="after")
    def _unique_rules(self) -> SlaConfig:
        keys = [(r.marketplace, r.stream) for r in self.rules]
        dupes = sorted({f"{m.value}.{s.value}" for m, s in keys if keys.count((m, s)) > 1})
        if dupes:
            raise Problem("duplicate_rules", at="rules", rules=", ".join(dupes))
        return self

    def build(self) -> SlaPolicy:
        """The pure SlaPolicy."""
        return SlaPolicy(
            default_deadline=self.default_deadline,
            rules={
                (r.marketplace, r.stream): SlaRule(deadline=r.deadline, own_target=r.own_target) for r in self.rules
            },
            warn_points=tuple(parse_warn_point(w) for w in self.warn),
            repeat_every=self.repeat_every,
            repeat_max=self.repeat_max,
            evening_lead=self.evening_warning,
            breakthrough=BreakthroughPolicy(
                enabled=self.breakthrough.enabled, nightly_budget=self.breakthrough.nightly_budget
            ),
        )


def build_schedule(
    items: tuple[str, ...],
    intervals: tuple[TimeIntervalConfig, ...],
    zone: ZoneInfo,
    calendar: Calendar,
    *,
    exclude_closed_days: bool = False,
) -> Schedule:
    """The union of the hours `items`: interval names (a user-defined one overrides a built-in one) and hours
    written out (see settings.hours; checked at load).

    `exclude_closed_days` is for work hours: a day the calendar closes has none, whatever the intervals say.
    """
    known = {i.name: i for i in BUILTIN_INTERVALS} | {i.name: i for i in intervals}
    built = [known[item].build() if item in known else hours_interval(item) for item in items]
    return Schedule([i for i in built if i is not None], zone, calendar, exclude_closed_days=exclude_closed_days)


def interval_names(intervals: tuple[TimeIntervalConfig, ...]) -> set[str]:
    """The names an hours key may use: the built-in intervals and those defined in the config."""
    return {i.name for i in BUILTIN_INTERVALS} | {i.name for i in intervals}
