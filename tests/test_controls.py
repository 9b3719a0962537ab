"""Seller controls on a fake clock through the whole daemon: a snooze never silently hides a marketplace breach,
a promise reminds once at the right time and escalates once, handled stops alerts, a vacation added while the
daemon runs changes the calendar at once, and the vacation forecast names the deadlines inside the absence."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from aggregator import control_service as controls
from aggregator.daemon import Daemon
from aggregator.settings import Settings
from aggregator.store import Store
from connectors.sandbox import CoupangSandbox
from core.models import KST, Marketplace, PollResult
from tests.conftest import START, MakeSettings, make_inquiry
from tests.fakes import FakeClock

pytestmark = pytest.mark.both_backends


def _sent(tmp_path: Path) -> list[tuple[str, datetime]]:
    path = tmp_path / "sink.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    return [(r["kind"], datetime.fromisoformat(r["at"])) for r in rows if r["kind"] != "backfill_summary"]


async def _daemon(make_settings: MakeSettings, clock: FakeClock, sandbox: CoupangSandbox, **extra: Any) -> Daemon:
    transport = httpx.MockTransport(sandbox.handler)
    return await Daemon.build(
        make_settings(**extra), clock=clock, transport_for=lambda _: transport, rng=random.Random(8)
    )


async def _run_for(daemon: Daemon, clock: FakeClock, hours: float, *, step_min: int = 10) -> None:
    for _ in range(int(hours * 60 / step_min)):
        clock.advance(step_min * 60)
        await daemon.run_once()


async def test_a_snooze_past_the_deadline_says_so_and_the_breach_still_comes(
    tmp_path: Path, clock: FakeClock, make_settings: MakeSettings
) -> None:
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    daemon = await _daemon(make_settings, clock, sandbox, quiet_hours=())
    await daemon.run_once()
    arrived = clock.now()
    sandbox.add_product_inquiry(content="배송 문의", inquiry_at=arrived)
    clock.advance(60)
    await daemon.run_once()
    outcome = await controls.snooze(
        daemon.store, daemon.settings.policies(), 1, arrived + timedelta(hours=30), now=clock.now(), actor="terminal:t"
    )
    await _run_for(daemon, clock, 31)
    await daemon.aclose()
    assert "주의: 마켓 답변 마감" in outcome.lines[1]
    kinds = [(kind, round((at - arrived).total_seconds() / 3600, 1)) for kind, at in _sent(tmp_path)]
    # no warning at 12 h or 22 h (snoozed); the 24 h breach on time; at 30 h the weightiest of the snoozed ones
    assert [k for k, _ in kinds] == ["new_inquiry", "sla_breach", "sla_repeat"]
    assert 24.0 <= kinds[1][1] <= 24.2
    assert 30.0 <= kinds[2][1] <= 30.2


async def test_a_promise_reminds_once_before_and_escalates_once_after(
    tmp_path: Path, clock: FakeClock, make_settings: MakeSettings
) -> None:
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    daemon = await _daemon(make_settings, clock, sandbox, quiet_hours=())
    await daemon.run_once()
    sandbox.add_product_inquiry(content="교환 가능한가요?", inquiry_at=clock.now())
    clock.advance(60)
    await daemon.run_once()
    promised = clock.now() + timedelta(hours=3)
    await controls.promise(
        daemon.store, daemon.settings.policies(), 1, promised, "교환 안내 전화", now=clock.now(), actor="t"
    )
    await _run_for(daemon, clock, 5, step_min=1)
    await daemon.aclose()
    sent = [(kind, at) for kind, at in _sent(tmp_path) if kind.startswith("promise")]
    assert [kind for kind, _ in sent] == ["promise_reminder", "promise_missed"]
    assert promised - timedelta(minutes=30) <= sent[0][1] <= promised - timedelta(minutes=29)
    assert promised <= sent[1][1] <= promised + timedelta(minutes=1)


async def test_a_kept_promise_does_not_escalate_and_handled_stops_alerts(
    tmp_path: Path, clock: FakeClock, make_settings: MakeSettings
) -> None:
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    daemon = await _daemon(make_settings, clock, sandbox, quiet_hours=())
    await daemon.run_once()
    first = sandbox.add_product_inquiry(content="첫 문의", inquiry_at=clock.now() - timedelta(seconds=2))
    sandbox.add_product_inquiry(content="둘째 문의", inquiry_at=clock.now())
    clock.advance(60)
    await daemon.run_once()
    policies = daemon.settings.policies()
    await controls.promise(daemon.store, policies, 1, clock.now() + timedelta(hours=1), "", now=clock.now(), actor="t")
    reply = await controls.apply_phone_action(daemon.store, policies, "handled", 2, now=clock.now(), actor="telegram:7")
    await _run_for(daemon, clock, 0.75)  # the reminder at 30 minutes comes
    sandbox.answer_product_inquiry(first, "답변드립니다", clock.now())  # answered before the promised time
    await _run_for(daemon, clock, 30)
    events = [e.kind for e in await daemon.store.events_for(2)]
    await daemon.aclose()
    kinds = [kind for kind, _ in _sent(tmp_path)]
    assert "처리함으로 표시했습니다" in reply
    assert kinds.count("promise_reminder") == 1 and "promise_missed" not in kinds
    assert kinds.count("new_inquiry") == 2
    assert [k for k in kinds if k.startswith("sla")] == []  # #1 answered in time, #2 handled
    assert "handled" in events


async def test_a_vacation_added_while_running_closes_the_day_at_once(
    tmp_path: Path, clock: FakeClock, make_settings: MakeSettings, database: Path | str
) -> None:
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    daemon = await _daemon(make_settings, clock, sandbox)  # default quiet hours: nights and closed days
    await daemon.run_once()
    today = clock.now().astimezone(KST).date()  # a Tuesday, 14:00: not quiet
    assert not daemon.dispatcher._policies.quiet.contains(clock.now())
    other = await Store.open(database)  # `inqd vacation add` runs in another process
    await other.add_vacation(today, today + timedelta(days=1), "가족 여행", now=clock.now(), actor="terminal:t")
    await other.aclose()
    sandbox.add_product_inquiry(content="휴가 중 문의", inquiry_at=clock.now())
    clock.advance(60)
    await daemon.run_once()
    held = await daemon.store.outbox_counts()
    await daemon.aclose()
    assert [kind for kind, _ in _sent(tmp_path)] == []  # held for the digest when the vacation ends
    assert held.get("held") == 1


async def test_vacation_forecast_names_deadlines_inside_the_absence(store: Store) -> None:
    inside = START.replace(hour=10) + timedelta(days=1)  # received 11/25 10:00: deadline 11/26 10:00
    rows = (
        make_inquiry("in", received_at=inside),
        make_inquiry("out", received_at=START - timedelta(days=3)),
        make_inquiry("answered", received_at=inside, answered=True),
    )
    await store.record_poll(
        "shop", rows[0].stream, PollResult(inquiries=rows, cursor={}), now=START, channels=(), notify_new=False
    )
    policies = Settings().policies([(date(2026, 11, 26), date(2026, 11, 27))])
    lines = await controls.vacation_forecast(
        store, policies, date(2026, 11, 26), date(2026, 11, 27), [Marketplace.COUPANG, Marketplace.NAVER]
    )
    assert lines[0] == "휴가 11/26–11/27 동안 마켓 마감이 오는 미답변 문의: 1건"
    assert lines[1].startswith("  #2 [쿠팡] 상품문의 마감 11/26(목) 10:00")  # ids follow arrival order
    assert any(line.startswith("  쿠팡: 쿠팡의 24시간 답변 기한은 휴일에도 멈추지 않습니다") for line in lines)
    assert any(line.startswith("  스마트스토어:") for line in lines)
    assert policies.calendar.holiday_name(date(2026, 11, 26)) == "휴가"


def test_parse_until_reads_durations_clock_times_and_full_times() -> None:
    now = START  # 14:00 KST
    assert controls.parse_until("2h", now=now, zone=KST) == now + timedelta(hours=2)
    assert controls.parse_until("1h30m", now=now, zone=KST) == now + timedelta(minutes=90)
    assert controls.parse_until("2시간", now=now, zone=KST) == now + timedelta(hours=2)
    assert controls.parse_until("18:00", now=now, zone=KST) == now.replace(hour=18)
    assert controls.parse_until("09:00", now=now, zone=KST) == now.replace(hour=9) + timedelta(days=1)
    assert controls.parse_until("2026-11-25 10:30", now=now, zone=KST) == datetime(2026, 11, 25, 10, 30, tzinfo=KST)
    for bad in ("soon", "25:00", "0m", ""):
        try:
            controls.parse_until(bad, now=now, zone=KST)
        except controls.ControlError:
            continue
        raise AssertionError(f"{bad!r} was accepted")
