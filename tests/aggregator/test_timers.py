"""The SLA timer on a real store: planning, due alerts into the outbox, late alerts after downtime, no repeats."""

from __future__ import annotations

from datetime import timedelta

import pytest

from aggregator.alert_timer import AlertTimer
from aggregator.render import sla_alert
from aggregator.settings import Settings
from aggregator.store import Store
from core.models import ClockKind, MessageKind, PollResult, StreamKind
from core.payloads import SlaAlertPayload
from tests.conftest import make_inquiry
from tests.fakes import FakeClock

pytestmark = pytest.mark.both_backends

POLICIES = Settings(quiet_hours=()).policies()  # 24 h deadline, warnings at 50 % and 2 h left, 3 repeats


async def _seed(store: Store, clock: FakeClock) -> int:
    outcome = await store.record_poll(
        "shop",
        StreamKind.PRODUCT_QNA,
        PollResult(inquiries=(make_inquiry("1", received_at=clock.now()),), cursor={}),
        now=clock.now(),
        channels=("sink",),
        notify_new=True,
    )
    return outcome.new_ids[0]


async def _alert_rows(store: Store, clock: FakeClock) -> list[tuple[MessageKind, str, bool]]:
    items = await store.claim_due(now=clock.now() + timedelta(days=30), lease=timedelta(minutes=1), limit=100)
    return [(i.kind, i.payload.key, i.payload.late) for i in items if isinstance(i.payload, SlaAlertPayload)]


async def test_alerts_fire_at_their_time_once(store: Store, clock: FakeClock) -> None:
    await _seed(store, clock)
    timer = AlertTimer(store, clock, POLICIES, channels=("sink",))
    planned = await timer.run_once()
    first_wake = await store.next_alert_at()
    clock.advance(12 * 3600)
    at_half = await timer.run_once()
    again = await timer.run_once()
    assert (planned, at_half, again) == (0, 1, 0)
    assert first_wake == clock.now()
    assert await _alert_rows(store, clock) == [(MessageKind.SLA_WARNING, "marketplace:warn:50%", False)]


async def test_breach_missed_while_down_fires_once_at_start_marked_late(store: Store, clock: FakeClock) -> None:
    row_id = await _seed(store, clock)
    await AlertTimer(store, clock, POLICIES, channels=("sink",)).run_once()
    clock.advance(25 * 3600)  # the daemon was down through both warnings and the breach
    for fingerprint in ("config-a", "config-a", "config-b"):  # restarts, one with a changed config: re-planned
        restarted = AlertTimer(store, clock, POLICIES, channels=("sink",))
        await restarted.start(fingerprint)
        await restarted.run_once()
    rows = await _alert_rows(store, clock)
    log = await store.alert_log(row_id)
    stored = await store.get_inquiry(row_id)
    assert rows == [(MessageKind.SLA_BREACH, "marketplace:breach", True)]
    assert sorted((key, outcome) for key, _, _, outcome in log) == [
        ("marketplace:breach", "queued"),
        ("marketplace:warn:2h", "superseded"),
        ("marketplace:warn:50%", "superseded"),
    ]
    assert stored is not None
    message = sla_alert(
        stored.inquiry,
        row_id=row_id,
        kind=MessageKind.SLA_BREACH,
        payload=SlaAlertPayload(
            "marketplace:breach", ClockKind.MARKETPLACE, clock.now(), clock.now() - timedelta(hours=1), late=True
        ),
        now=clock.now(),
    )
    assert message.body.splitlines()[0] == "(inqd가 꺼져 있던 동안 지난 알림입니다)"


async def test_answered_inquiry_gets_no_more_alerts(store: Store, clock: FakeClock) -> None:
    await _seed(store, clock)
    timer = AlertTimer(store, clock, POLICIES, channels=("sink",))
    await timer.run_once()
    await store.record_poll(
        "shop",
        StreamKind.PRODUCT_QNA,
        PollResult(inquiries=(make_inquiry("1", received_at=clock.now(), answered=True),), cursor={}),
        now=clock.now(),
        channels=("sink",),
        notify_new=True,
    )
    clock.advance(30 * 3600)
    assert await timer.run_once() == 0
    assert await store.next_alert_at() is None


async def test_replanning_only_when_the_policy_config_changed(store: Store, clock: FakeClock) -> None:
    await _seed(store, clock)
    timer = AlertTimer(store, clock, POLICIES, channels=("sink",))
    assert [await timer.start(f) for f in ("a", "a", "b", "b")] == [1, None, 1, None]
