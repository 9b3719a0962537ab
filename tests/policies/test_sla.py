"""SLA clocks and planned alerts: table-driven, plus properties of the timer's bookkeeping."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.models import KST, Inquiry, Marketplace, StreamKind
from policies.alert_due import due_alerts, is_late
from policies.calendar import Calendar
from policies.intervals import Schedule, parse_interval
from policies.sla import (
    AlertKind,
    ClockKind,
    SlaPolicy,
    SlaRule,
    WarnPoint,
    deadlines,
    plan_alerts,
)

CAL = Calendar(country="KR")
QUIET = Schedule(
    [parse_interval("night", [{"times": ["22:00-09:00"]}]), parse_interval("closed", [{"closed_days": True}])],
    KST,
    CAL,
)
WORK = Schedule(
    [parse_interval("cs", [{"weekdays": ["monday:friday"], "times": ["13:00-18:00"]}])],
    KST,
    CAL,
    exclude_closed_days=True,
)
WARN = (WarnPoint("50%", 0.5, None), WarnPoint("2h", None, timedelta(hours=2)))
POLICY = SlaPolicy(warn_points=WARN, repeat_every=timedelta(hours=2), repeat_max=3, evening_lead=timedelta(hours=1))
OWN = SlaPolicy(
    warn_points=WARN,
    rules={(Marketplace.COUPANG, StreamKind.PRODUCT_QNA): SlaRule(own_target=timedelta(hours=3))},
)


def kst(text: str) -> datetime:
    """A KST instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=KST)


def inquiry(received: str, *, deadline: str | None = None, answered: bool = False) -> Inquiry:
    """A Coupang product question received at `received` (KST)."""
    return Inquiry(
        account_id="shop",
        marketplace=Marketplace.COUPANG,
        stream=StreamKind.PRODUCT_QNA,
        external_id="1",
        received_at=kst(received),
        body="배송 문의",
        deadline_at=kst(deadline) if deadline else None,
        answered=answered,
    )


@pytest.mark.parametrize(
    ("received", "item_deadline", "policy", "marketplace", "own"),
    [
        ("2026-11-24 10:00", None, POLICY, "2026-11-25 10:00", None),  # Coupang: 24 h on the wall clock
        ("2026-11-24 10:00", "2026-11-24 18:00", POLICY, "2026-11-24 18:00", None),  # the item's own deadline wins
        ("2026-11-27 16:30", None, OWN, "2026-11-28 16:30", "2026-11-30 14:30"),  # Fri 16:30 + 3 work h → Mon
        ("2026-11-24 09:00", None, OWN, "2026-11-25 09:00", "2026-11-24 16:00"),  # counting starts at 13:00
        ("2025-10-02 17:00", None, OWN, "2025-10-03 17:00", "2025-10-10 15:00"),  # 추석 week: 1 h Thu, 2 h next Fri
    ],
)
def test_deadlines(
    received: str, item_deadline: str | None, policy: SlaPolicy, marketplace: str, own: str | None
) -> None:
    clocks = deadlines(inquiry(received, deadline=item_deadline), policy, WORK)
    assert clocks.marketplace == kst(marketplace)
    assert clocks.own == (kst(own) if own else None)


def _plan(received: str, policy: SlaPolicy = POLICY) -> list[tuple[str, str, datetime]]:
    return [(a.key, a.kind.value, a.at) for a in plan_alerts(inquiry(received), policy, work=WORK, quiet=QUIET)]


def test_plan_daytime_inquiry() -> None:
    assert _plan("2026-11-24 10:00") == [
        ("marketplace:warn:50%", "warning", kst("2026-11-24 22:00")),
        ("marketplace:warn:2h", "warning", kst("2026-11-25 08:00")),
        ("marketplace:breach", "breach", kst("2026-11-25 10:00")),
        ("marketplace:repeat:1", "repeat", kst("2026-11-25 12:00")),
        ("marketplace:repeat:2", "repeat", kst("2026-11-25 14:00")),
        ("marketplace:repeat:3", "repeat", kst("2026-11-25 16:00")),
    ]


def test_plan_deadline_inside_quiet_gets_an_evening_warning_and_no_repeats_in_quiet() -> None:
    assert _plan("2026-11-24 23:30") == [
        ("marketplace:warn:50%", "warning", kst("2026-11-25 11:30")),
        ("marketplace:evening:2026-11-25T22:00:00+09:00", "evening", kst("2026-11-25 21:00")),
        ("marketplace:warn:2h", "warning", kst("2026-11-25 21:30")),
        ("marketplace:breach", "breach", kst("2026-11-25 23:30")),
        # repeats at 01:30, 03:30 and 05:30 fall in quiet hours: none (the morning digest lists the inquiry)
    ]


def test_plan_own_target_counts_work_hours_only() -> None:
    plan = plan_alerts(inquiry("2026-11-27 16:30"), OWN, work=WORK, quiet=QUIET)
    own = [(a.key, a.at) for a in plan if a.clock is ClockKind.OWN]
    assert own == [
        ("own:warn:2h", kst("2026-11-27 17:30")),  # 2 h left = 1 work hour spent: Fri 16:30-17:30
        ("own:warn:50%", kst("2026-11-27 18:00")),  # 1.5 of 3 work hours: Fri 16:30-18:00
        ("own:breach", kst("2026-11-30 14:30")),  # 1.5 h Fri + 1.5 h from Mon 13:00
    ]


def test_answered_inquiry_plans_nothing() -> None:
    assert plan_alerts(inquiry("2026-11-24 10:00", answered=True), POLICY, work=WORK, quiet=QUIET) == ()


def test_due_alerts_fire_one_per_clock_and_breach_is_never_skipped() -> None:
    plan = plan_alerts(inquiry("2026-11-24 10:00"), POLICY, work=WORK, quiet=QUIET)
    after_outage = due_alerts(plan, frozenset(), now=kst("2026-11-25 12:30"))  # down from 09:00 Tue to 12:30 Wed
    assert [a.key for a in after_outage.fire] == ["marketplace:breach"]
    assert [a.key for a in after_outage.superseded] == [
        "marketplace:warn:50%",
        "marketplace:warn:2h",
        "marketplace:repeat:1",
    ]
    assert after_outage.next_at == kst("2026-11-25 14:00")
    assert is_late(after_outage.fire[0], now=kst("2026-11-25 12:30"))


def test_alerts_from_before_inqd_knew_the_inquiry_never_fire() -> None:
    plan = plan_alerts(inquiry("2026-11-24 10:00"), POLICY, work=WORK, quiet=QUIET)
    backlog = due_alerts(plan, frozenset(), now=kst("2026-11-25 11:00"), known_since=kst("2026-11-25 11:00"))
    assert backlog.fire == ()
    assert [a.key for a in backlog.superseded] == ["marketplace:warn:50%", "marketplace:warn:2h", "marketplace:breach"]
    assert backlog.next_at == kst("2026-11-25 12:00")


def test_due_alerts_on_time_and_nothing_left() -> None:
    plan = plan_alerts(inquiry("2026-11-24 10:00"), POLICY, work=WORK, quiet=QUIET)
    first = due_alerts(plan, frozenset(), now=kst("2026-11-24 22:00"))
    done = due_alerts(plan, frozenset(a.key for a in plan), now=kst("2026-11-30 00:00"))
    assert ([a.key for a in first.fire], first.next_at) == (["marketplace:warn:50%"], kst("2026-11-25 08:00"))
    assert not is_late(first.fire[0], now=kst("2026-11-24 22:00"))
    assert (done.fire, done.next_at) == ((), None)


@settings(max_examples=150, deadline=None)
@given(
    received=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)),
    own_h=st.sampled_from([None, 1, 3, 8]),
    steps=st.lists(st.integers(min_value=1, max_value=60 * 30), min_size=1, max_size=40),
)
def test_every_open_inquiry_gets_each_breach_exactly_once(
    received: datetime, own_h: int | None, steps: list[int]
) -> None:
    """Whatever the timer's wake-up pattern (gaps up to 30 h, like a daemon that was down), each breach fires once."""
    rule = SlaRule(own_target=timedelta(hours=own_h) if own_h else None)
    policy = SlaPolicy(warn_points=WARN, rules={(Marketplace.COUPANG, StreamKind.PRODUCT_QNA): rule})
    inq = Inquiry(
        account_id="a",
        marketplace=Marketplace.COUPANG,
        stream=StreamKind.PRODUCT_QNA,
        external_id="x",
        received_at=received.replace(tzinfo=KST),
        body="?",
    )
    plan = plan_alerts(inq, policy, work=WORK, quiet=QUIET)
    fired: set[str] = set()
    sent: list[str] = []
    now = inq.received_at
    for minutes in [*steps, 60 * 24 * 30]:  # and finally long after everything
        now += timedelta(minutes=minutes)
        due = due_alerts(plan, frozenset(fired), now=now)
        sent += [a.key for a in due.fire]
        fired |= {a.key for a in (*due.fire, *due.superseded)}
    breaches = [key for key in sent if key.endswith(":breach")]
    assert sorted(breaches) == sorted(a.key for a in plan if a.kind is AlertKind.BREACH)
    assert len(sent) == len(set(sent))
