"""When the weekly message is due (policies/weekly.py) and how routing treats it in quiet hours."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from core.models import KST, MessageKind
from policies.calendar import Calendar
from policies.intervals import Schedule, parse_interval
from policies.routing import NightHistory, PendingMessage, Reason, decide
from policies.sla import BreakthroughPolicy
from policies.weekly import WEEKDAYS, WeeklyDue, reported_week, weekly_due

KR = Calendar(country="KR")
NIGHT = parse_interval("night", [{"times": ["22:00-09:00"]}])
CLOSED = parse_interval("closed-days", [{"closed_days": True}])
QUIET = Schedule([NIGHT, CLOSED], KST, KR)  # inqd's default quiet hours
NIGHT_ONLY = Schedule([NIGHT], KST, KR)
NO_QUIET = Schedule([], KST, KR)
MON = WEEKDAYS["mon"]


def kst(text: str) -> datetime:
    """A KST instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=KST)


def due(week: str, day: str, at: str | None) -> WeeklyDue:
    """The expected answer: the reported week's Monday, the report day, the moment."""
    return WeeklyDue(date.fromisoformat(week), date.fromisoformat(day), None if at is None else kst(at))


@pytest.mark.parametrize(
    ("quiet", "weekday", "now", "last_week", "expected"),
    [
        # Monday 2026-09-28 before quiet ends: 09:00 that Monday, about 9/21-9/27 (the week after 추석 9/24-9/26)
        (QUIET, MON, "2026-09-28 08:00", None, due("2026-09-21", "2026-09-28", "2026-09-28 09:00")),
        # Sunday: the Monday before was done, so the next Monday
        (QUIET, MON, "2026-09-27 12:00", "2026-09-14", due("2026-09-21", "2026-09-28", "2026-09-28 09:00")),
        # just sent this Monday: next week's, and Monday 10/5 is 개천절's substitute holiday, so Tuesday 09:00
        (QUIET, MON, "2026-09-28 09:05", "2026-09-21", due("2026-09-28", "2026-10-05", "2026-10-06 09:00")),
        # down all Monday, back on Wednesday: this week's is due (its moment passed)
        (QUIET, MON, "2026-09-30 10:00", "2026-09-14", due("2026-09-21", "2026-09-28", "2026-09-28 09:00")),
        # down three weeks: only the newest week, never the ones missed
        (QUIET, MON, "2026-10-14 10:00", "2026-09-14", due("2026-10-05", "2026-10-12", "2026-10-12 09:00")),
        # 설날 2026 is Monday 2/16 to Wednesday 2/18: quiet all three days, so the first morning after is Thursday
        (QUIET, MON, "2026-02-16 08:00", None, due("2026-02-09", "2026-02-16", "2026-02-19 09:00")),
        # the same holiday Monday when only the night is quiet: 09:00 on the holiday
        (NIGHT_ONLY, MON, "2026-02-16 08:00", None, due("2026-02-09", "2026-02-16", "2026-02-16 09:00")),
        # the first start ever, on a Sunday: no report about the week before, the first one is the next Monday's
        (QUIET, MON, "2026-09-27 20:00", None, due("2026-09-21", "2026-09-28", "2026-09-28 09:00")),
        # the first start ever, on the report day after its moment: sent at once
        (QUIET, MON, "2026-09-28 13:00", None, due("2026-09-21", "2026-09-28", "2026-09-28 09:00")),
        # no quiet hours at all: the report day's first moment
        (NO_QUIET, MON, "2026-09-27 12:00", "2026-09-14", due("2026-09-21", "2026-09-28", "2026-09-28 00:00")),
        # another report day: Friday reports the last full Monday-to-Sunday week
        (QUIET, WEEKDAYS["fri"], "2026-10-02 08:00", None, due("2026-09-21", "2026-10-02", "2026-10-02 09:00")),
        # weekly off: never
        (QUIET, None, "2026-09-28 10:00", None, None),
    ],
)
def test_weekly_due(
    quiet: Schedule, weekday: int | None, now: str, last_week: str | None, expected: WeeklyDue | None
) -> None:
    last = None if last_week is None else date.fromisoformat(last_week)
    assert weekly_due(quiet, weekday=weekday, now=kst(now), last_week=last) == expected


@pytest.mark.parametrize(
    ("watched_since", "expected"),
    [
        # first polled on that Monday itself: the week before was not watched, so the next Monday's (about 9/28-10/4)
        ("2026-09-28", due("2026-09-28", "2026-10-05", "2026-10-06 09:00")),
        # first polled on the Sunday of the reported week: part of it was watched, so it goes today
        ("2026-09-27", due("2026-09-21", "2026-09-28", "2026-09-28 09:00")),
        # first polled two weeks later than now's week (clock skew between surfaces): keeps moving on
        ("2026-10-06", due("2026-10-05", "2026-10-12", "2026-10-12 09:00")),
    ],
)
def test_only_weeks_inqd_watched_are_reported(watched_since: str, expected: WeeklyDue) -> None:
    # 10/05 is 개천절's substitute holiday: quiet all day, so that report goes on Tuesday 10/06 at 09:00.
    now = kst("2026-09-28 08:00")
    since = date.fromisoformat(watched_since)
    assert weekly_due(QUIET, weekday=MON, now=now, last_week=None, watched_since=since) == expected


@pytest.mark.parametrize(
    ("report_day", "week"),
    [
        ("2026-09-28", "2026-09-21"),
        ("2026-10-02", "2026-09-21"),
        ("2026-10-04", "2026-09-21"),
        ("2026-10-05", "2026-09-28"),
    ],
)
def test_the_reported_week_is_the_last_full_week_before_the_report_day(report_day: str, week: str) -> None:
    assert reported_week(date.fromisoformat(report_day)) == date.fromisoformat(week)


@pytest.mark.parametrize(
    ("now", "reason", "at"),
    [
        ("2026-09-28 08:00", Reason.WAIT_QUIET, "2026-09-28 09:00"),  # on its own at quiet's end, not in the digest
        ("2026-09-28 09:00", Reason.SEND_NOW, "2026-09-28 09:00"),
        ("2026-02-16 12:00", Reason.WAIT_QUIET, "2026-02-19 09:00"),  # 설날: quiet all day
    ],
)
def test_the_weekly_message_waits_out_quiet_hours_as_its_own_message(now: str, reason: Reason, at: str) -> None:
    decision = decide(
        PendingMessage(kind=MessageKind.WEEKLY_REPORT),
        now=kst(now),
        quiet=QUIET,
        breakthrough=BreakthroughPolicy(enabled=True),
        history=NightHistory(),
    )
    assert (decision.reason, decision.at, decision.send) == (reason, kst(at), reason is Reason.SEND_NOW)
