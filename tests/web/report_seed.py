"""A store with known answer times for the report page's tests (httpx and Chromium), the figures worked out by hand.

The report stands at Wednesday 2026-10-07 15:00 KST; work hours Mon-Fri 09:00-18:00, closed days not counted
(추석 2026: 9/24-9/26; 개천절 10/3 (Sat) with its substitute holiday Mon 10/5). The Coupang account was first polled on
Wed 9/16 (added mid-period), so of the default 12 weeks (Mondays 7/20 .. 10/05) the eight before 9/14 have no data.

  id  received          answered (source)             wall     work
  A   Tue 9/15 10:00    9/15 12:00 (marketplace)      2 h      2 h      already answered at the first poll
  B   Wed 9/16 09:50    9/16 11:20 (marketplace)      1 h 30   1 h 30
  C   Wed 9/23 17:00    Mon 9/28 10:00 (marketplace)  113 h    2 h      Wed 17-18 + Mon 9-10 (추석, weekend off)
  D   Thu 9/24 10:00    open                          -        -        past 24 h by now
  E   Mon 10/5 09:00    10/5 09:30 (poll: no time)    30 min   0        개천절's substitute holiday
  G   Tue 10/6 10:00    10/6 16:00 (marketplace)      6 h      6 h
  F   Wed 10/7 14:00    open                          -        -        1 h old: pending
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from aggregator.store import Store
from connectors.sandbox import CoupangSandbox
from core.models import KST, Inquiry, PollResult, StreamKind
from tests.conftest import MakeSettings, make_inquiry, quiet_sink
from tests.fakes import FakeClock
from tests.web.conftest import WebDaemon, start_web_daemon

NOW = datetime(2026, 10, 7, 15, 0, tzinfo=KST)
WORK_HOURS = ("월-금 09:00-18:00",)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A time of 2026 in KST."""
    return datetime(2026, month, day, hour, minute, tzinfo=KST)


def _answered(inquiry: Inquiry, when: datetime | None) -> Inquiry:
    return replace(inquiry, answered=True, answered_at=when)


async def seed_report(store: Store, account_id: str = "shop") -> None:
    """Record the polls that tell the story above, each at its time."""
    a = _answered(make_inquiry("A", account_id=account_id, received_at=at(9, 15, 10)), at(9, 15, 12))
    b = make_inquiry("B", account_id=account_id, received_at=at(9, 16, 9, 50))
    c = make_inquiry("C", account_id=account_id, received_at=at(9, 23, 17))
    d = make_inquiry("D", account_id=account_id, received_at=at(9, 24, 10))
    e = make_inquiry("E", account_id=account_id, received_at=at(10, 5, 9))
    g = _answered(make_inquiry("G", account_id=account_id, received_at=at(10, 6, 10)), at(10, 6, 16))
    f = make_inquiry("F", account_id=account_id, received_at=at(10, 7, 14))
    polls = (
        (at(9, 16, 10), (a, b)),
        (at(9, 16, 11, 30), (_answered(b, at(9, 16, 11, 20)),)),
        (at(9, 24, 11), (c, d)),
        (at(9, 28, 10, 30), (_answered(c, at(9, 28, 10)),)),
        (at(10, 5, 9, 5), (e,)),
        (at(10, 5, 9, 30), (_answered(e, None),)),
        (at(10, 6, 16, 5), (g,)),
        (at(10, 7, 14, 30), (f,)),
    )
    for when, inquiries in polls:
        result = PollResult(inquiries=inquiries, cursor={"through": when.isoformat()})
        await store.record_poll(account_id, StreamKind.PRODUCT_QNA, result, now=when, channels=(), notify_new=False)


@asynccontextmanager
async def seeded_daemon(
    directory: Path, clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> AsyncIterator[WebDaemon]:
    """The inbox's daemon with the work hours the figures assume, its store seeded as above."""
    settings = make_settings(quiet_sink(directory), quiet_hours=(), work_hours=WORK_HOURS)
    running = await start_web_daemon(settings, clock, sandbox)
    try:
        await seed_report(running.daemon.store)
        yield running
    finally:
        await running.admin.aclose()
        await running.daemon.aclose()
