"""The weekly message to the work phone: one task that sleeps until the report day's first moment outside quiet
hours, fills the summary of the last full week and queues it, once per week across restarts.

When is decided in policies/weekly.py; what the summary says is the `summary` callable's (the answer-time report's
three lines); the chart is drawn later, when the dispatcher renders the message for a channel that shows pictures
(`Dispatcher.weekly_image`). The week is recorded with the outbox rows in one transaction
(`Store.queue_weekly_report`), so a restart on the same store queues nothing twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import structlog

from aggregator.settings.report import ReportConfig
from aggregator.store import Channels, Store
from core.clock import Clock, WakeableLoop
from core.payloads import WeeklyReportPayload
from policies import Policies
from policies.weekly import WEEKDAYS, WeeklyDue, weekly_due

log = structlog.get_logger("inqd.weekly")

# The summary lines of a week (its Monday): finished Korean text, no buyer data.
Summary = Callable[[date], Awaitable[Sequence[str]]]


@dataclass(frozen=True, slots=True)
class WeeklySettings:
    """Whether the weekly message is on, and on which weekday (0 = Monday) it goes."""

    enabled: bool = True
    weekday: int = WEEKDAYS["mon"]

    @classmethod
    def of(cls, config: ReportConfig) -> WeeklySettings:
        """`[report] weekly` and `weekly_day`."""
        return cls(enabled=config.weekly, weekday=WEEKDAYS[config.weekly_day])

    @property
    def day(self) -> int | None:
        """The weekday for policies.weekly (None: off)."""
        return self.weekday if self.enabled else None


class WeeklyReporter:
    """Queues the weekly message when it is due; at most one per week, even across restarts."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        policies: Policies,
        *,
        summary: Summary,
        channels: Channels,
        weekly: WeeklySettings,
        chart: bool = True,
        idle_check_s: float = 3600.0,
    ) -> None:
        self._store = store
        self._clock = clock
        self._policies = policies
        self._summary = summary
        self._channels = channels
        self._weekly = weekly
        self._chart = chart
        self._loop = WakeableLoop(clock, idle_s=idle_check_s, on_error=lambda: log.exception("weekly_crashed"))
        self.wake = self._loop.wake
        self.on_queued: list[asyncio.Event] = []

    def use_policies(self, policies: Policies) -> None:
        """Follow changed quiet hours or calendar."""
        self._policies = policies

    async def due(self) -> WeeklyDue | None:
        """The next weekly message (policies/weekly.py over the week last queued), or None when off."""
        last = await self._store.last_weekly_report_week()
        now = self._clock.now()
        polled = await self._store.first_polled_at() or now  # nothing polled yet: no week watched so far
        since = polled.astimezone(self._policies.zone).date()
        if last is not None:  # it queued last_week's on its report day: it was watching then (the day after the week)
            since = min(since, last + timedelta(days=7))
        return weekly_due(self._policies.quiet, weekday=self._weekly.day, now=now, last_week=last, watched_since=since)

    async def run_once(self) -> int:
        """Queue the weekly message if it is due now; returns 1 when it was queued, else 0."""
        due = await self.due()
        now = self._clock.now()
        if due is None or due.at is None or due.at > now:
            return 0
        lines = tuple(await self._summary(due.week))
        payload = WeeklyReportPayload(week=due.week, lines=lines, chart=self._chart)
        # Due at the planned moment even when queued later (a daemon back on Tuesday): routing still holds it
        # through quiet hours, as its own message.
        if not await self._store.queue_weekly_report(payload, channels=self._channels, now=now, due_at=due.at):
            return 0
        log.info("weekly_report_queued", week=due.week.isoformat(), due_at=due.at.isoformat())
        for event in self.on_queued:
            event.set()
        return 1

    async def next_at(self) -> datetime | None:
        """When to look again: the next weekly message's moment (None: nothing planned, look after idle_check_s)."""
        due = await self.due()
        return None if due is None else due.at

    async def run(self, stop: asyncio.Event) -> None:
        """Queue weekly messages until `stop`."""
        await self._loop.run(stop, self.run_once, self.next_at)
