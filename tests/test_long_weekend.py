"""A long weekend on a fake clock: Thursday evening to Tuesday morning, 개천절 on Saturday and its substitute Monday.

The whole daemon (sandbox -> connector -> store -> timers -> dispatcher -> sink) runs in 15-minute steps; the test
asserts exactly which messages reach the phone, when, and with what text.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from aggregator.daemon import Daemon
from aggregator.settings import load_settings
from connectors.sandbox import CoupangSandbox
from core.models import KST
from tests.fakes import FakeClock

CONFIG = """
db_path = "{db}"
quiet_hours = ["night", "weekend", "closed-days"]
work_hours = ["cs-hours"]

[[time_intervals]]
name = "weekend"
time_intervals = [{{ weekdays = ["saturday:sunday"] }}]

[sla]
warn = ["50%", "2h"]
repeat_every = "2h"
repeat_max = 1
evening_warning = "1h"

[[accounts]]
marketplace = "coupang"
id = "shop"
vendor_id = "A00012345"
access_key = "wk-access"
secret_key = "wk-secret"
base_url = "http://127.0.0.1:9"
poll_interval_s = 60
max_requests_per_s = 5
streams = ["product_qna"]

[[notifiers]]
type = "sink"
console = false
file = "{sink}"
"""


def kst(text: str) -> datetime:
    """A KST instant from 'MM-DD HH:MM' in October 2026."""
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=KST)


async def test_long_weekend_exact_messages(tmp_path: Path) -> None:
    config = tmp_path / "inqd.toml"
    config.write_text(CONFIG.format(db=tmp_path / "inqd.db", sink=tmp_path / "sink.jsonl"), encoding="utf-8")
    clock = FakeClock(kst("10-01 18:00"))  # Thursday
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="wk-access", secret_key="wk-secret", now=clock.now)
    ids: dict[str, int] = {}
    script: list[tuple[datetime, Callable[[], None]]] = [
        (
            kst("10-01 20:30"),
            lambda: ids.setdefault(
                "A", sandbox.add_product_inquiry(content="A: 사이즈 교환 되나요?", inquiry_at=kst("10-01 20:30"))
            ),
        ),
        (
            kst("10-01 23:00"),
            lambda: ids.setdefault(
                "B", sandbox.add_product_inquiry(content="B: 배송 언제 오나요?", inquiry_at=kst("10-01 23:00"))
            ),
        ),
        (kst("10-02 21:30"), lambda: sandbox.answer_product_inquiry(ids["B"], "내일 출고됩니다.", kst("10-02 21:30"))),
        (
            kst("10-03 10:00"),
            lambda: ids.setdefault(
                "C",
                sandbox.add_product_inquiry(
                    content="C: 김민수입니다 010-1234-5678 환불 문의", inquiry_at=kst("10-03 10:00")
                ),
            ),
        ),
    ]
    settings = load_settings(config)
    transport = httpx.MockTransport(sandbox.handler)
    daemon = await Daemon.build(settings, clock=clock, transport_for=lambda _: transport, rng=random.Random(5))
    target = clock.now()
    while target <= kst("10-06 10:00"):  # Tuesday morning
        if target > clock.now():
            clock.advance((target - clock.now()).total_seconds())
        while script and script[0][0] <= clock.now():
            script.pop(0)[1]()
        await daemon.run_once()
        target += timedelta(minutes=15)
    await daemon.aclose()

    sent = [json.loads(line) for line in (tmp_path / "sink.jsonl").read_text(encoding="utf-8").splitlines()]
    timeline = [(datetime.fromisoformat(m["at"]).strftime("%m-%d %H:%M"), m["kind"], m["title"]) for m in sent]
    assert timeline == [
        ("10-01 20:30", "new_inquiry", "[쿠팡] 새 상품문의"),
        # B arrives at 23:00 in quiet hours: held. Friday morning: the digest.
        ("10-02 09:00", "digest", "[inqd] 조용한 시간 요약: 미답변 2건"),
        ("10-02 11:00", "sla_warning", "[쿠팡] 상품문의: 답변 마감 12시간 남음"),  # B at 50 %
        ("10-02 18:30", "sla_warning", "[쿠팡] 상품문의: 답변 마감 2시간 남음"),  # A, 2 h left
        ("10-02 20:30", "sla_breach", "[쿠팡] 상품문의: 답변 마감 지남"),  # A
        # B's deadline (Fri 23:00) falls inside quiet hours: answer before 22:00
        ("10-02 21:00", "evening_warning", "[쿠팡] 상품문의: 22:00 전에 답하세요 (마감 23:00)"),
        # B answered at 21:30; A's repeat (22:30) is in quiet hours; C arrives Saturday: all quiet until Tuesday
        ("10-06 09:00", "digest", "[inqd] 조용한 시간 요약: 미답변 2건"),
    ]
    friday, tuesday = sent[1]["body"], sent[-1]["body"]
    assert friday.splitlines()[0] == "조용한 시간(10/01(목) 22:00~09:00) 동안 새 문의 1건, 알림 1건을 보류했습니다."
    assert "A: 사이즈 교환 되나요?" in friday and "B: 배송 언제 오나요?" in friday
    assert tuesday.splitlines()[0] == "조용한 시간(10/02(금) 22:00~09:00) 동안 새 문의 1건, 알림 3건을 보류했습니다."
    assert "B:" not in tuesday  # answered meanwhile: dropped from the digest
    assert tuesday.index("A: 사이즈") < tuesday.index("C: 김*수입니다 010-****-5678")  # sorted by deadline, masked
