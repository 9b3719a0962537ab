"""Naver beside Coupang through the whole daemon, against the strict Naver sandbox on a fake clock."""

from __future__ import annotations

import io
import json
import random
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from aggregator.daemon import Daemon
from aggregator.logs import configure_logging
from connectors.sandbox import NaverSandbox
from tests.conftest import MakeSettings
from tests.fakes import FakeClock

CLIENT_ID = "e2eNaverApp"
SECRET = "$2a$04$e2eCanarySecretSaltxxu"  # a bcrypt salt, as Naver issues; also the canary
ACCOUNT = {
    "marketplace": "naver",
    "id": "smartstore",
    "client_id": CLIENT_ID,
    "client_secret": SECRET,
    "base_url": "http://127.0.0.1:9",
    "poll_interval_s": 60,
}


@pytest.fixture
def naver(clock: FakeClock) -> NaverSandbox:
    """A Naver sandbox that knows the test application."""
    return NaverSandbox(client_id=CLIENT_ID, client_secret=SECRET, now=clock.now)


async def test_naver_inquiries_arrive_masked_with_one_token(
    tmp_path: Path, clock: FakeClock, naver: NaverSandbox, make_settings: MakeSettings
) -> None:
    buffer = io.StringIO()
    configure_logging(fmt="json", level="DEBUG", stream=buffer).add([SECRET])
    naver.add_product_question(question="사이즈 문의드려요", created_at=clock.now() - timedelta(hours=5))
    transport = httpx.MockTransport(naver.handler)
    daemon = await Daemon.build(
        make_settings(account=ACCOUNT, quiet_hours=()),
        clock=clock,
        transport_for=lambda _: transport,
        rng=random.Random(2),
    )
    await daemon.run_once()
    for _ in range(5):
        clock.advance(60)
        naver.add_customer_inquiry(
            title="배송 문의",
            content="언제 오나요? 010-2222-3333",
            registered_at=clock.now() - timedelta(seconds=20),
            customer_name="박서준",
        )
        await daemon.run_once()
    stored = await daemon.store.open_inquiries()
    await daemon.aclose()
    sent = [json.loads(line) for line in (tmp_path / "sink.jsonl").read_text(encoding="utf-8").splitlines()]
    pushes = [m for m in sent if m["kind"] == "new_inquiry"]
    assert naver.tokens_minted == 1  # one token served every poll of both streams
    assert [m["title"] for m in sent[:1]] == ["[스마트스토어] 상품문의·고객문의 연결됨"]
    assert [m["title"] for m in pushes] == ["[스마트스토어] 새 고객문의"] * 5
    assert all("010-****-3333" in m["body"] and "박서준" not in m["body"] for m in pushes)
    assert {row.inquiry.buyer for row in stored if row.inquiry.buyer} == {"박서준"}  # kept raw only in the store
    assert SECRET not in buffer.getvalue()
    assert not any("access_token" in line for line in buffer.getvalue().splitlines())
