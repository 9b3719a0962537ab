"""When the weekly answer-time message is due: pure, of (quiet hours, report weekday, now, last week queued).

The rule, in the seller's zone:
- The message goes out on the report day (Monday by default), at the first moment of that day outside quiet
  hours: 09:00 with quiet hours 22:00-09:00; 00:00 when the seller keeps no quiet hours at all.
- A report day that quiet hours cover whole (a holiday Monday with "closed-days" among the quiet hours, 설날 on
  2026-02-16 say) moves it to the first morning after them, like every other non-urgent message: the seller who
  keeps holidays quiet wants no report on one either. A holiday whose quiet hours are only the night gets it at 09:00.
- It reports the last full week (Monday to Sunday) before the report day, named by its Monday.
- Once per week. A daemon that was down on the report day sends it when it comes back, until the next report day;
  after that only the newest week is due: a daemon down for three weeks sends one message, not three.
- A store that never queued one starts with the first report day on or after the day it runs: started on a
  Sunday, inqd does not send a report about the week before, which it mostly did not see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from policies.intervals import Schedule

WEEKDAYS: dict[str, int] = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_WEEK = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class WeeklyDue:
    """The next weekly message: the week it reports, its report day, and when it may go (None: quiet never ends)."""

    week: date  # the Monday of the reported week
    report_day: date
    at: datetime | None


def reported_week(report_day: date) -> date:
    """The Monday of the last full week (Monday to Sunday) that ended before `report_day`."""
    return report_day - timedelta(days=report_day.weekday()) - _WEEK


def first_moment_outside(quiet: Schedule, day: date) -> datetime | None:
    """The first instant of the local `day` outside quiet hours, or the end of the quiet span covering its start
    (possibly days later); None when quiet hours do not end within the schedule's horizon."""
    start = datetime.combine(day, time(0), tzinfo=quiet.zone)
    if not quiet.contains(start):
        return start
    return quiet.span_end(start)


def weekly_due(
    quiet: Schedule,
    *,
    weekday: int | None,
    now: datetime,
    last_week: date | None,
    watched_since: date | None = None,
) -> WeeklyDue | None:
    """The weekly message to queue next: the newest report day on or before today unless its week was queued
    already (`last_week`), else the next report day. None when the weekly message is off (`weekday` None)."""
    if weekday is None:
        return None
    today = now.astimezone(quiet.zone).date()
    report_day = today - timedelta(days=(today.weekday() - weekday) % 7)
    already_queued = last_week is not None and last_week >= reported_week(report_day)
    before_first_start = last_week is None and report_day != today
    if already_queued or before_first_start:
        report_day += _WEEK
    # A week that ended before inqd's first poll has nothing to report: a seller starting inqd on a Monday
    # would otherwise get "no data" about the week before.
    while watched_since is not None and reported_week(report_day) + _WEEK <= watched_since:
        report_day += _WEEK
    return WeeklyDue(reported_week(report_day), report_day, first_moment_outside(quiet, report_day))
