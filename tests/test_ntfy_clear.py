"""An answered inquiry's notification is cleared on the phone (ntfy >= 2.16), once, and only where it was shown.

The whole daemon on a fake clock against the Coupang sandbox; ntfy mocked at the HTTP edge with respx.
"""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from aggregator.cli.reports import explain_lines
from aggregator.cli.words import Words
from aggregator.daemon import Daemon
from aggregator.settings.notify import NtfyConfig
from connectors.sandbox import CoupangSandbox
from core.models import MessageKind
from tests.conftest import MakeSettings, quiet_sink
from tests.fakes import FakeClock

NTFY = "http://127.0.0.1:8"
TOPIC = "inqd-test-topic"
KOREAN = Words("ko")


def _phone(**ntfy: Any) -> NtfyConfig:
    return NtfyConfig.model_validate(
        {"type": "ntfy", "name": "phone", "server_url": NTFY, "topic": TOPIC, "token": "tk_canary0001", **ntfy}
    )


async def _run(
    tmp_path: Path, make_settings: MakeSettings, clock: FakeClock, **ntfy: Any
) -> tuple[list[str], list[str], list[str]]:
    """Two inquiries arrive, the first is answered; returns published and cleared sequence ids, explain #1."""
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    published: list[str] = []
    cleared: list[str] = []

    def publish(request: httpx.Request) -> httpx.Response:
        published.append(json.loads(request.content).get("sequence_id", "-"))
        return httpx.Response(200, json={"event": "message"})

    def clear(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer tk_canary0001"
        cleared.append(request.url.path.split("/")[2])
        return httpx.Response(200, json={"event": "message_clear"})

    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.post(f"{NTFY}/").mock(side_effect=publish)
        router.put(url__regex=rf"^{NTFY}/{TOPIC}/[^/]+/clear$").mock(side_effect=clear)
        transport = httpx.MockTransport(sandbox.handler)
        daemon = await Daemon.build(
            make_settings(_phone(**ntfy), quiet_sink(tmp_path), quiet_hours=()),
            clock=clock,
            transport_for=lambda _: transport,
            rng=random.Random(3),
        )
        await daemon.run_once()  # the (empty) backfill
        first = sandbox.add_product_inquiry(content="배송 언제 오나요?", inquiry_at=clock.now() - timedelta(seconds=9))
        sandbox.add_product_inquiry(content="사이즈 문의", inquiry_at=clock.now() - timedelta(seconds=5))
        clock.advance(60)
        await daemon.run_once()
        sandbox.answer_product_inquiry(first, "내일 도착합니다.", clock.now())
        for _ in range(5):  # answered once; later polls see it answered again and must not clear twice
            clock.advance(60)
            await daemon.run_once()
        counts = await daemon.store.outbox_counts()
        explained = await explain_lines(daemon.store, daemon.settings.policies(), 1, now=clock.now(), words=KOREAN)
        await daemon.aclose()
    assert counts.get("pending", 0) == 0
    assert explained is not None
    return published, cleared, explained


async def test_the_answered_inquiry_is_cleared_once_and_the_open_one_stays(
    tmp_path: Path, clock: FakeClock, make_settings: MakeSettings
) -> None:
    published, cleared, explained = await _run(tmp_path, make_settings, clock)
    assert published == ["inq-1", "inq-2"]
    assert cleared == ["inq-1"]
    assert any("휴대폰 알림 지우기 → phone: 바로 보냄 — cleared" in line for line in explained)


@pytest.mark.parametrize(
    "ntfy",
    [
        {"kinds": ["sla_breach", "system"]},  # the new inquiry never reached this phone: nothing to clear
        {"use_sequence_id": False},  # no sequence id, nothing to address
        {"clear_when_answered": False},
    ],
)
async def test_no_clear_where_nothing_was_shown_or_clearing_is_off(
    tmp_path: Path, clock: FakeClock, make_settings: MakeSettings, ntfy: dict[str, Any]
) -> None:
    _, cleared, _ = await _run(tmp_path, make_settings, clock, **ntfy)
    assert cleared == []


def test_only_clearing_ntfy_channels_receive_answered_rows(tmp_path: Path, make_settings: MakeSettings) -> None:
    settings = make_settings(_phone(), quiet_sink(tmp_path), quiet_hours=())
    assert settings.channels_for(MessageKind.ANSWERED) == ("phone",)
    assert "sink" in settings.channels_for(MessageKind.NEW_INQUIRY)
    assert MessageKind.ANSWERED not in settings.notifiers[1].kinds
