"""11번가 긴급알리미 through the whole daemon: the item's own emerReplyDt is its marketplace deadline."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path

import httpx

from aggregator.daemon import Daemon
from aggregator.settings import ElevenstAccount, Settings, SinkNotifierConfig
from connectors.sandbox import ElevenstSandbox
from tests.fakes import FakeClock


async def test_urgent_item_deadline_from_emer_reply_dt_drives_the_alerts(tmp_path: Path, clock: FakeClock) -> None:
    sandbox = ElevenstSandbox(api_key="11st-canary-key", now=clock.now)
    account = ElevenstAccount.model_validate(
        {
            "marketplace": "elevenst",
            "id": "st11",
            "api_key": "11st-canary-key",
            "base_url": "http://127.0.0.1:9",
            "poll_interval_s": 60,
            "streams": ["urgent"],
        }
    )
    settings = Settings(
        db_path=tmp_path / "inqd.db",
        quiet_hours=(),
        accounts=(account,),
        notifiers=(SinkNotifierConfig(type="sink", console=False, file=tmp_path / "sink.jsonl"),),
    )
    transport = httpx.MockTransport(sandbox.handler)
    daemon = await Daemon.build(settings, clock=clock, transport_for=lambda _: transport, rng=random.Random(4))
    await daemon.run_once()
    clock.advance(60)
    deadline = (clock.now() + timedelta(hours=4)).replace(second=0, microsecond=0)
    sandbox.add_alimi(
        content="배송이 너무 늦어요. 010-9876-5432",
        created_at=clock.now() - timedelta(minutes=1),
        reply_deadline=deadline,
    )
    await daemon.run_once()
    [row] = await daemon.store.open_inquiries()
    for _ in range(5 * 4):  # four more hours in 15-minute steps
        clock.advance(15 * 60)
        await daemon.run_once()
    await daemon.aclose()
    sent = [json.loads(line) for line in (tmp_path / "sink.jsonl").read_text(encoding="utf-8").splitlines()]
    kinds = [(m["kind"], m["title"]) for m in sent]
    assert row.inquiry.deadline_at == deadline  # stored from emerReplyDt, not received + 24 h
    assert kinds == [
        ("new_inquiry", "[11번가] 새 긴급알리미"),
        ("sla_warning", "[11번가] 긴급알리미: 답변 마감 2시간 남음"),  # 50 % of the 4 h to the item's own deadline
        ("sla_breach", "[11번가] 긴급알리미: 답변 마감 지남"),
    ]
    assert "010-****-5432" in sent[0]["body"] and "이서연" not in sent[0]["body"]
