"""G마켓 and 옥션 through one ESM account and the whole daemon: messages name the shop, as sellers do."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import httpx

from aggregator.daemon import Daemon
from aggregator.settings import EsmAccount, Settings, SinkNotifierConfig
from connectors.sandbox import EsmSandbox
from tests.fakes import FakeClock


async def test_one_esm_account_serves_gmarket_and_auction(tmp_path: Path, clock: FakeClock) -> None:
    sandbox = EsmSandbox(
        master_id="master1",
        secret_key="esm-secret-canary-0123456789abcdef",
        gmarket_seller_id="gseller",
        auction_seller_id="aseller",
        now=clock.now,
    )
    account = EsmAccount.model_validate(
        {
            "marketplace": "esm",
            "id": "esm",
            "master_id": "master1",
            "secret_key": "esm-secret-canary-0123456789abcdef",
            "gmarket_seller_id": "gseller",
            "auction_seller_id": "aseller",
            "base_url": "http://127.0.0.1:9",
            "poll_interval_s": 60,
            "max_requests_per_s": 1.0,
        }
    )
    settings = Settings(
        db_path=tmp_path / "inqd.db",
        quiet_hours=(),
        accounts=(account,),
        notifiers=(SinkNotifierConfig(type="sink", console=False, file=tmp_path / "sink.jsonl"),),
    )
    transport = httpx.MockTransport(sandbox.handler)
    daemon = await Daemon.build(settings, clock=clock, transport_for=lambda _: transport, rng=random.Random(3))
    await daemon.run_once()
    clock.advance(120)
    sandbox.add_question(
        site="G마켓", title="배송 문의", details="언제 오나요?", received_at=clock.now() - timedelta(seconds=30)
    )
    sandbox.add_question(
        site="옥션", title="교환 문의", details="색상 교환 되나요?", received_at=clock.now() - timedelta(seconds=20)
    )
    await daemon.run_once()
    stored = await daemon.store.open_inquiries()
    await daemon.aclose()
    sent = [json.loads(line) for line in (tmp_path / "sink.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [m["title"] for m in sent if m["kind"] == "new_inquiry"] == ["[G마켓] 새 상품문의", "[옥션] 새 상품문의"]
    assert sorted(row.inquiry.site or "" for row in stored) == ["G마켓", "옥션"]
    assert any(row.inquiry.answer_ref for row in stored if row.inquiry.site == "G마켓")  # the token to answer with
