"""ntfy down for a while: every message still arrives exactly once after it recovers, or once through the
fallback channel when one is configured. The whole daemon on a fake clock; channels mocked at the HTTP edge."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx

from aggregator.daemon import Daemon
from aggregator.settings.notify import NtfyConfig, SmsConfig
from connectors.sandbox import CoupangSandbox
from tests.conftest import MakeSettings
from tests.fakes import FakeClock

NTFY = "http://127.0.0.1:8"
SOLAPI = "http://127.0.0.1:7"
SMS_OK = {"groupInfo": {"count": {"total": 1, "registeredFailed": 0}}, "failedMessageList": []}


class _Ntfy:
    """A fake ntfy server that is down until told otherwise; records what it accepted."""

    def __init__(self) -> None:
        self.up = False
        self.accepted: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            return httpx.Response(503, json={"code": 50301, "http": 503, "error": "server down"})
        self.accepted.append(json.loads(request.content))
        return httpx.Response(200, json={"id": str(len(self.accepted)), "event": "message"})


def _channels(*, fallback: bool) -> tuple[NtfyConfig, SmsConfig]:
    ntfy = NtfyConfig.model_validate(
        {
            "type": "ntfy",
            "name": "phone",
            "server_url": NTFY,
            "topic": "inqd-test-topic",
            "token": "tk_canarytoken01",
            "kinds": ["new_inquiry"],
            **({"fallback": "sms", "fallback_after": "10m"} if fallback else {}),
        }
    )
    sms = SmsConfig.model_validate(
        {
            "type": "sms",
            "name": "sms",
            "api_key": "NCSAPIKEY0001",
            "api_secret": "sms-secret-canary",
            "sender": "0212345678",
            "recipient": "01012345678",
            "base_url": SOLAPI,
            "kinds": ["sla_breach"],
        }
    )
    return ntfy, sms


@pytest.mark.parametrize(("fallback", "via_ntfy", "via_sms"), [(False, 3, 0), (True, 0, 3)])
async def test_messages_arrive_exactly_once_across_an_ntfy_outage(
    clock: FakeClock, make_settings: MakeSettings, fallback: bool, via_ntfy: int, via_sms: int
) -> None:
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    ntfy = _Ntfy()
    sms_bodies: list[dict[str, Any]] = []

    def solapi(request: httpx.Request) -> httpx.Response:
        sms_bodies.append(json.loads(request.content))
        return httpx.Response(200, json=SMS_OK)

    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.post(f"{NTFY}/").mock(side_effect=ntfy)
        router.post(f"{SOLAPI}/messages/v4/send-many/detail").mock(side_effect=solapi)
        transport = httpx.MockTransport(sandbox.handler)
        daemon = await Daemon.build(
            make_settings(*_channels(fallback=fallback), quiet_hours=()),
            clock=clock,
            transport_for=lambda _: transport,
            rng=random.Random(6),
        )
        await daemon.run_once()  # the (empty) backfill
        for minute in range(45):  # ntfy is down for the first 30 minutes
            if minute in (1, 2, 3):
                sandbox.add_product_inquiry(content=f"문의 {minute}", inquiry_at=clock.now() - timedelta(seconds=5))
            ntfy.up = minute >= 30
            clock.advance(60)
            await daemon.run_once()
        counts = await daemon.store.outbox_counts()
        await daemon.aclose()
    pushed = [body["sequence_id"] for body in ntfy.accepted]
    assert (len(pushed), len(set(pushed))) == (via_ntfy, via_ntfy)  # each inquiry once, none twice
    assert len(sms_bodies) == via_sms
    assert counts.get("pending", 0) == 0
    assert all("문의" in body["messages"][0]["text"] for body in sms_bodies)
