"""Routing decisions: hold in quiet hours, drop what was answered, breakthrough within a nightly budget."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.models import KST, ClockKind, Inquiry, Marketplace, MessageKind, StreamKind
from policies.calendar import Calendar
from policies.intervals import Schedule, parse_interval
from policies.routing import NightHistory, PendingMessage, Reason, decide
from policies.sla import BreakthroughPolicy

QUIET = Schedule(
    [parse_interval("night", [{"times": ["22:00-09:00"]}]), parse_interval("closed", [{"closed_days": True}])],
    KST,
    Calendar(country="KR"),
)
ON = BreakthroughPolicy(enabled=True, nightly_budget=2)
OFF = BreakthroughPolicy()
INQ = Inquiry(
    account_id="shop",
    marketplace=Marketplace.COUPANG,
    stream=StreamKind.CALL_CENTER,
    external_id="9",
    received_at=datetime(2026, 11, 24, 3, 10, tzinfo=KST),
    body="교환 문의",
)


def kst(text: str) -> datetime:
    """A KST instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=KST)


def warning(deadline: str, *, clock: str = "marketplace", answered: bool = False) -> PendingMessage:
    """A marketplace-deadline warning about inquiry 1."""
    return PendingMessage(
        kind=MessageKind.SLA_WARNING,
        inquiry=replace(INQ, answered=answered),
        inquiry_id=1,
        clock=ClockKind(clock),
        deadline=kst(deadline),
    )


@pytest.mark.parametrize(
    ("pending", "now", "policy", "history", "reason", "at"),
    [
        (warning("2026-11-25 03:10"), "2026-11-24 15:00", OFF, NightHistory(), Reason.SEND_NOW, "2026-11-24 15:00"),
        (warning("2026-11-25 03:10"), "2026-11-24 23:00", OFF, NightHistory(), Reason.HOLD_QUIET, "2026-11-25 09:00"),
        (warning("2026-11-25 03:10"), "2026-11-24 23:00", ON, NightHistory(), Reason.BREAKTHROUGH, "2026-11-24 23:00"),
        # the deadline passes after quiet ends: it can wait for the morning
        (warning("2026-11-25 10:00"), "2026-11-24 23:00", ON, NightHistory(), Reason.HOLD_QUIET, "2026-11-25 09:00"),
        # own targets never break through
        (
            warning("2026-11-25 03:10", clock="own"),
            "2026-11-24 23:00",
            ON,
            NightHistory(),
            Reason.HOLD_QUIET,
            "2026-11-25 09:00",
        ),
        # the night's budget is spent
        (
            warning("2026-11-25 03:10"),
            "2026-11-24 23:00",
            ON,
            NightHistory(2, frozenset({7, 8})),
            Reason.HOLD_QUIET,
            "2026-11-25 09:00",
        ),
        # this inquiry already rang through tonight
        (
            warning("2026-11-25 03:10"),
            "2026-11-24 23:00",
            ON,
            NightHistory(1, frozenset({1})),
            Reason.HOLD_QUIET,
            "2026-11-25 09:00",
        ),
        (
            warning("2026-11-25 03:10", answered=True),
            "2026-11-24 23:00",
            ON,
            NightHistory(),
            Reason.DROP_ANSWERED,
            "2026-11-24 23:00",
        ),
        # public holidays are quiet all day: 추석 10-05..10-08 and 한글날 10-09 run into one quiet period
        (warning("2025-10-07 10:00"), "2025-10-06 14:00", OFF, NightHistory(), Reason.HOLD_QUIET, "2025-10-10 09:00"),
        (
            PendingMessage(kind=MessageKind.DIGEST),
            "2026-11-24 23:00",
            OFF,
            NightHistory(),
            Reason.SEND_NOW,
            "2026-11-24 23:00",
        ),
        (
            PendingMessage(kind=MessageKind.NEW_INQUIRY),
            "2026-11-24 15:00",
            OFF,
            NightHistory(),
            Reason.DROP_MISSING,
            "2026-11-24 15:00",
        ),
    ],
)
def test_decide(
    pending: PendingMessage, now: str, policy: BreakthroughPolicy, history: NightHistory, reason: Reason, at: str
) -> None:
    decision = decide(pending, now=kst(now), quiet=QUIET, breakthrough=policy, history=history)
    assert (decision.reason, decision.at) == (reason, kst(at))


def test_breakthrough_says_why() -> None:
    decision = decide(
        warning("2026-11-25 03:10"), now=kst("2026-11-24 23:00"), quiet=QUIET, breakthrough=ON, history=NightHistory()
    )
    assert "passes before quiet hours end" in decision.note


# A digest is released by quiet hours ending, and clearing an answered inquiry's notification rings nothing.
KINDS = [k for k in MessageKind if k not in (MessageKind.DIGEST, MessageKind.ANSWERED)]


def test_clearing_an_answered_inquiry_goes_out_even_in_quiet_hours() -> None:
    at = datetime(2026, 10, 6, 3, 0, tzinfo=KST)  # 추석, 03:00: quiet
    assert QUIET.contains(at)
    answered = replace(INQ, answered=True)
    decision = decide(
        PendingMessage(kind=MessageKind.ANSWERED, inquiry=answered, inquiry_id=1),
        now=at,
        quiet=QUIET,
        breakthrough=BreakthroughPolicy(enabled=False),
        history=NightHistory(),
    )
    assert decision.reason is Reason.SEND_NOW


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    now=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)),
    deadline_h=st.integers(min_value=-48, max_value=48),
    clock=st.sampled_from(["marketplace", "own"]),
    enabled=st.booleans(),
    used=st.integers(min_value=0, max_value=3),
)
def test_nothing_is_sent_in_quiet_hours_without_a_breakthrough_reason(
    kind: MessageKind, now: datetime, deadline_h: int, clock: str, enabled: bool, used: int
) -> None:
    at = now.replace(tzinfo=KST)
    pending = PendingMessage(
        kind=kind, inquiry=INQ, inquiry_id=1, clock=ClockKind(clock), deadline=at + timedelta(hours=deadline_h)
    )
    decision = decide(
        pending,
        now=at,
        quiet=QUIET,
        breakthrough=BreakthroughPolicy(enabled=enabled),
        history=NightHistory(used, frozenset()),
    )
    sent_in_quiet = decision.send and QUIET.contains(at)
    assert not sent_in_quiet or (decision.reason is Reason.BREAKTHROUGH and decision.note)
