"""Connection health end to end: a sandbox outage gives exactly one "연결 끊김" and one "복구"; refused credentials
alert at once; a restart mid-outage repeats nothing; /healthz follows; Coupang key reminders come once.

The whole daemon on a fake clock against the Coupang sandbox over httpx.MockTransport; the sink records messages.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from aggregator.daemon import Daemon
from connectors.sandbox import CoupangSandbox
from connectors.sandbox.faults import Fault
from tests.conftest import SHOP_ACCOUNT, MakeSettings
from tests.fakes import FakeClock


def _system_titles(tmp_path: Path) -> list[str]:
    path = tmp_path / "sink.jsonl"
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [r["title"] for r in records if r["kind"] == "system"]


async def _daemon(make_settings: MakeSettings, clock: FakeClock, sandbox: CoupangSandbox, **account: Any) -> Daemon:
    settings = make_settings(
        account={**SHOP_ACCOUNT, "streams": ["product_qna", "call_center"], **account}, quiet_hours=()
    )
    transport = httpx.MockTransport(sandbox.handler)
    return await Daemon.build(settings, clock=clock, transport_for=lambda _: transport, rng=random.Random(4))


async def test_one_lost_and_one_recovered_across_a_sandbox_outage_even_with_a_restart(
    tmp_path: Path, clock: FakeClock, make_settings: MakeSettings
) -> None:
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    daemon = await _daemon(make_settings, clock, sandbox)
    await daemon.run_once()
    assert (await daemon.watch.health())[0] is True
    sandbox.inject(Fault.SERVER_ERROR, 100_000, status=503)  # a 50-minute outage of both streams
    health_during: list[bool] = []
    for minute in range(50):
        if minute == 25:  # kill and restart mid-outage: the notice is in the store, not in memory
            await daemon.aclose()
            daemon = await _daemon(make_settings, clock, sandbox)
        clock.advance(60)
        await daemon.run_once()
        health_during.append((await daemon.watch.health())[0])
    sandbox.clear_faults()
    for _ in range(5):
        clock.advance(60)
        await daemon.run_once()
    healthy_after, body = await daemon.watch.health()
    await daemon.aclose()
    assert _system_titles(tmp_path) == ["[쿠팡] 연결 끊김: shop", "[쿠팡] 복구: shop"]
    assert health_during[:10] == [True] * 10  # within the 15-minute bound
    assert health_during[-1] is False
    assert healthy_after is True
    assert {s["stream"] for s in body["streams"]} == {"product_qna", "call_center"}


async def test_a_short_blip_says_nothing(tmp_path: Path, clock: FakeClock, make_settings: MakeSettings) -> None:
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    daemon = await _daemon(make_settings, clock, sandbox)
    await daemon.run_once()
    sandbox.inject(Fault.SERVER_ERROR, 10, status=502)
    for _ in range(20):
        clock.advance(60)
        await daemon.run_once()
    await daemon.aclose()
    assert _system_titles(tmp_path) == []


async def test_refused_credentials_alert_at_once_and_once(
    tmp_path: Path, clock: FakeClock, make_settings: MakeSettings
) -> None:
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="other", now=clock.now)
    daemon = await _daemon(make_settings, clock, sandbox)
    for _ in range(5):
        await daemon.run_once()
        clock.advance(60)
    healthy, body = await daemon.watch.health()
    await daemon.aclose()
    assert _system_titles(tmp_path) == ["[쿠팡] 인증 실패: shop"]
    assert healthy is False
    assert all(s["reason"].startswith("credentials refused") for s in body["streams"])


async def test_key_expiry_reminder_comes_once_per_threshold(
    tmp_path: Path, clock: FakeClock, make_settings: MakeSettings
) -> None:
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    today = clock.now().date()
    issued = today - timedelta(days=180 - 10)  # 10 days left: the 14-day reminder is due
    daemon = await _daemon(make_settings, clock, sandbox, key_issued_at=issued.isoformat())
    for day in range(9):
        if day == 2:
            await daemon.aclose()
            daemon = await _daemon(make_settings, clock, sandbox, key_issued_at=issued.isoformat())
        await daemon.run_once()
        clock.advance(24 * 3600)
    await daemon.aclose()
    assert _system_titles(tmp_path) == ["[쿠팡] OpenAPI 키 만료 예정: shop"] * 2  # 14 days, then 3 days
