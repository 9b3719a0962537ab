"""Connection-health rules: staleness, one lost/auth notice per account outage, one recovery, key reminders."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.models import KST, StreamKind
from policies.health import (
    Change,
    OutageNotice,
    StreamCondition,
    connection_changes,
    key_expires_on,
    key_reminder_due,
    stale_after,
    stream_health,
)

NOW = datetime(2026, 11, 24, 14, 0, tzinfo=KST)
LOST_AFTER = timedelta(minutes=15)
QNA, CC = StreamKind.PRODUCT_QNA, StreamKind.CALL_CENTER


def cond(
    stream: StreamKind = QNA,
    *,
    account: str = "shop",
    failing_for: timedelta | None = None,
    ok_ago: timedelta | None = timedelta(seconds=30),
    auth: bool = False,
    interval_s: float = 60,
) -> StreamCondition:
    return StreamCondition(
        account_id=account,
        stream=stream,
        interval_s=interval_s,
        last_success_at=None if ok_ago is None else NOW - ok_ago,
        failing_since=None if failing_for is None else NOW - failing_for,
        last_error="Unavailable: 503" if failing_for is not None else None,
        auth_failed=auth,
    )


def test_the_bound_is_the_configured_time_or_three_missed_polls() -> None:
    assert stale_after(60, LOST_AFTER) == LOST_AFTER
    assert stale_after(600, LOST_AFTER) == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("failing_for", "expected"),
    [
        (timedelta(minutes=14, seconds=59), []),
        (timedelta(minutes=15), [Change.LOST]),
        (timedelta(hours=3), [Change.LOST]),
    ],
)
def test_a_stream_failing_longer_than_the_bound_is_lost(failing_for: timedelta, expected: list[Change]) -> None:
    changes = connection_changes([cond(failing_for=failing_for)], {}, now=NOW, lost_after=LOST_AFTER)
    assert [c.change for c in changes] == expected


def test_two_failing_streams_of_one_account_make_one_notice_naming_both() -> None:
    changes = connection_changes(
        [cond(QNA, failing_for=timedelta(minutes=20)), cond(CC, failing_for=timedelta(minutes=16))],
        {},
        now=NOW,
        lost_after=LOST_AFTER,
    )
    assert [(c.account_id, c.change, c.streams, c.since) for c in changes] == [
        ("shop", Change.LOST, (CC, QNA), NOW - timedelta(minutes=20))
    ]


def test_an_auth_failure_is_announced_at_once() -> None:
    changes = connection_changes([cond(failing_for=timedelta(0), auth=True)], {}, now=NOW, lost_after=LOST_AFTER)
    assert [c.change for c in changes] == [Change.AUTH]


def test_an_announced_outage_says_nothing_more_until_every_stream_recovers() -> None:
    notice = {"shop": OutageNotice(NOW - timedelta(hours=1), Change.LOST)}
    still = [cond(QNA, failing_for=timedelta(hours=1)), cond(CC)]
    assert connection_changes(still, notice, now=NOW, lost_after=LOST_AFTER) == []
    back = connection_changes([cond(QNA), cond(CC)], notice, now=NOW, lost_after=LOST_AFTER)
    assert [(c.change, c.since) for c in back] == [(Change.RECOVERED, NOW - timedelta(hours=1))]


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=60))
def test_notices_alternate_lost_then_recovered_never_twice_in_a_row(steps: list[tuple[bool, bool]]) -> None:
    """Any sequence of poll outcomes: the announcements alternate, and each outage is announced at most once."""
    now = NOW
    failing_since: datetime | None = None
    notices: dict[str, OutageNotice] = {}
    said: list[Change] = []
    for ok, auth in steps:
        now += timedelta(minutes=10)
        failing_since = None if ok else (failing_since or now)
        state = StreamCondition("shop", QNA, 60, None if not ok else now, failing_since, None, auth and not ok)
        for change in connection_changes([state], notices, now=now, lost_after=LOST_AFTER):
            said.append(change.change)
            if change.change is Change.RECOVERED:
                notices.pop("shop")
            else:
                notices["shop"] = OutageNotice(change.since, change.change)
    kinds = ["up" if c is Change.RECOVERED else "down" for c in said]
    assert all(a != b for a, b in itertools.pairwise(kinds))
    assert not kinds or kinds[0] == "down"


@pytest.mark.parametrize(
    ("ok_ago", "started_ago", "healthy", "reason"),
    [
        (timedelta(minutes=5), timedelta(days=1), True, "ok"),
        (timedelta(minutes=16), timedelta(days=1), False, "no successful poll for 960 s"),
        (None, timedelta(minutes=2), True, "starting"),
        (None, timedelta(minutes=20), False, "no successful poll since start"),
    ],
)
def test_health_of_one_stream(ok_ago: timedelta | None, started_ago: timedelta, healthy: bool, reason: str) -> None:
    verdict = stream_health(cond(ok_ago=ok_ago), now=NOW, started_at=NOW - started_ago, lost_after=LOST_AFTER)
    assert verdict.healthy is healthy
    assert verdict.reason.startswith(reason)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 6, 14), None),  # 16 days left
        (date(2026, 6, 16), 14),
        (date(2026, 6, 27), 3),
        (date(2026, 6, 30), 0),  # the day it stops working
        (date(2026, 7, 9), 0),  # expired: keep the most urgent reminder
    ],
)
def test_coupang_key_reminders(today: date, expected: int | None) -> None:
    issued = date(2026, 1, 1)
    assert key_expires_on(issued) == date(2026, 6, 30)
    assert key_reminder_due(issued, today) == expected
