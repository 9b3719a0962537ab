"""`inqd status`: per stream last success / last error / next poll / open count / oldest open age, the next quiet
change, announced outages, the outbox, and channels that refused messages for good (issue 6's permanent 4xx)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.cli.main import main
from aggregator.cli.status_report import status_lines, status_report
from aggregator.cli.words import Words
from aggregator.connection_watch import WatchedStream
from aggregator.settings import Settings
from aggregator.store import Store
from core.models import ClockKind, Marketplace, MessageKind, PollResult, StreamKind
from core.payloads import SlaAlertPayload
from tests.conftest import START, make_inquiry

pytestmark = pytest.mark.both_backends

QNA, CC = StreamKind.PRODUCT_QNA, StreamKind.CALL_CENTER
STREAMS = [
    WatchedStream("shop", Marketplace.COUPANG, QNA, 60),
    WatchedStream("shop", Marketplace.COUPANG, CC, 60),
]
KOREAN = Words("ko")


async def _seed(store: Store, now: datetime) -> None:
    """QNA polled fine a minute ago with 2 open inquiries; CC failing for 20 minutes; one SMS refused for good."""
    inquiries = (
        make_inquiry("1", received_at=now - timedelta(hours=5)),
        make_inquiry("2", received_at=now - timedelta(hours=1)),
        make_inquiry("3", received_at=now - timedelta(hours=2), answered=True),
    )
    await store.record_poll(
        "shop",
        QNA,
        PollResult(inquiries=inquiries, cursor={}),
        now=now - timedelta(minutes=1),
        channels=(),
        notify_new=False,
    )
    for minutes in (20, 10, 3):
        await store.record_poll_failure("shop", CC, now=now - timedelta(minutes=minutes), error="Unavailable: 503")
    breach = SlaAlertPayload("marketplace:breach", ClockKind.MARKETPLACE, now - timedelta(minutes=30), now)
    await store.enqueue(
        MessageKind.SLA_BREACH, channels=("sms",), dedup_key="x", now=now - timedelta(minutes=30), payload=breach
    )
    [item] = await store.claim_due(now=now, lease=timedelta(minutes=1), limit=5)
    await store.mark_failed(item, now=now - timedelta(minutes=29), error="sms: HTTP 401 (InvalidApiKey)")


async def test_status_report_shows_each_stream_and_the_refused_channel(store: Store) -> None:
    await _seed(store, START)
    report = await status_report(
        store, STREAMS, Settings().policies(), now=START, lost_after=timedelta(minutes=15), words=KOREAN
    )
    qna, cc = report["streams"]
    assert (qna["healthy"], qna["open"], qna["oldest_open_age_s"], qna["consecutive_failures"]) == (
        True,
        2,
        5 * 3600,
        0,
    )
    assert qna["next_poll_at"] == (START - timedelta(minutes=1) + timedelta(seconds=60)).isoformat()
    assert (cc["healthy"], cc["consecutive_failures"], cc["last_error"]) == (False, 3, "Unavailable: 503")
    assert cc["failing_since"] == (START - timedelta(minutes=20)).isoformat()
    assert (
        cc["next_poll_at"] == (START - timedelta(minutes=3) + timedelta(seconds=180)).isoformat()
    )  # 60 s x 2^2 x 0.75
    assert report["quiet"] == {"now": False, "next_change_at": START.replace(hour=22).isoformat()}
    assert report["channel_failures"] == [
        {
            "channel": "sms",
            "count": 1,
            "last_at": (START - timedelta(minutes=29)).isoformat(),
            "last_error": "sms: HTTP 401 (InvalidApiKey)",
        }
    ]
    text = "\n".join(status_lines(report, now=START, words=KOREAN))
    assert "[쿠팡] shop 상품문의: 정상 · 마지막 성공 11/24(화) 13:59 (1분 전)" in text
    assert "미답변 2건, 가장 오래된 것 5시간" in text
    assert "[쿠팡] shop 고객센터 문의: 문제" in text and "(연속 3회)" in text
    assert "조용한 시간 아님 · 다음 시작: 11/24(화) 22:00" in text
    assert "채널 sms: 1건을 끝내 보내지 못함" in text and "inqd test-notify --channel sms" in text


async def test_a_stream_never_polled_and_an_overdue_poll_are_named(store: Store) -> None:
    await store.record_poll(
        "shop", QNA, PollResult(inquiries=(), cursor={}), now=START - timedelta(hours=3), channels=(), notify_new=False
    )
    report = await status_report(
        store, STREAMS, Settings().policies(), now=START, lost_after=timedelta(minutes=15), words=KOREAN
    )
    qna, cc = report["streams"]
    assert (qna["healthy"], qna["next_poll_overdue"]) == (False, True)
    assert (cc["health"], cc["last_success_at"], cc["next_poll_at"]) == ("starting", None, None)
    text = "\n".join(status_lines(report, now=START, words=KOREAN))
    assert "지났음: inqd가 실행 중인지 확인하세요" in text
    assert "고객센터 문의: 아직 확인 전" in text


def test_the_status_command_prints_json_and_exits_3_when_something_needs_attention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    async def seed() -> None:
        store = await Store.open(tmp_path / "inqd.db")
        await _seed(store, datetime.now(UTC))
        await store.aclose()

    asyncio.run(seed())
    config = tmp_path / "inqd.toml"
    config.write_text(
        f'db_path = "{tmp_path / "inqd.db"}"\n[[accounts]]\nid = "shop"\nmarketplace = "coupang"\n'
        'vendor_id = "A00012345"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("INQD_SHOP__ACCESS_KEY", "ak")
    monkeypatch.setenv("INQD_SHOP__SECRET_KEY", "sk")
    assert main(["status", "--config", str(config), "--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert [(s["stream"], s["healthy"]) for s in report["streams"]] == [("product_qna", True), ("call_center", False)]
    assert report["outbox"] == {"failed": 1}
    assert main(["status", "--config", str(config)]) == 3
    assert "inqd 상태" in capsys.readouterr().out
