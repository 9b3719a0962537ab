"""The whole core loop against the strict Coupang sandbox: connector -> poller -> store -> dispatcher -> sink.

Everything runs through httpx.MockTransport on a FakeClock: no network, no sleeping.
"""

from __future__ import annotations

import io
import itertools
import json
import random
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from structlog.testing import capture_logs

from aggregator.daemon import Daemon
from aggregator.logs import configure_logging
from aggregator.store import Store
from aggregator.wiring.connectors import build_connector
from connectors.base import AuthFailed
from connectors.sandbox import CoupangSandbox, Fault
from core.models import MessageKind, StreamKind
from tests.conftest import SHOP_ACCOUNT, MakeSettings
from tests.fakes import FakeClock

pytestmark = pytest.mark.both_backends

VENDOR = "A00012345"
ACCESS = "e2e-access-key"
SECRET = "e2e-canary-secret-7f3a9c"
ACCOUNT = {
    **SHOP_ACCOUNT,
    "vendor_id": VENDOR,
    "access_key": ACCESS,
    "secret_key": SECRET,
    "streams": ["product_qna", "call_center"],
    "max_requests_per_s": 2.0,
    "backfill_days": 3,
}


@pytest.fixture
def sandbox(clock: FakeClock) -> CoupangSandbox:
    """A sandbox that knows the test account's real keys."""
    return CoupangSandbox(vendor_id=VENDOR, access_key=ACCESS, secret_key=SECRET, now=clock.now)


async def _daemon(
    make_settings: MakeSettings,
    clock: FakeClock,
    sandbox: CoupangSandbox,
    directory: Path | None = None,
    **account: object,
) -> Daemon:
    settings = make_settings(account={**ACCOUNT, **account}, directory=directory)
    transport = httpx.MockTransport(sandbox.handler)
    return await Daemon.build(settings, clock=clock, transport_for=lambda _: transport, rng=random.Random(1))


def _sink(tmp_path: Path) -> list[dict[str, object]]:
    path = tmp_path / "sink.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


async def _stored_ids(store: Store) -> list[str]:
    return sorted(row.inquiry.external_id for row in await store.open_inquiries())


async def test_backfill_then_one_push_per_new_inquiry(
    tmp_path: Path, clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> None:
    for hours in (30, 20, 10):
        sandbox.add_product_inquiry(content="사이즈 문의드려요", inquiry_at=clock.now() - timedelta(hours=hours))
    sandbox.add_call_center_inquiry(
        inquiry_at=clock.now() - timedelta(hours=2),
        agent_note="[판매자이관] 김민수 고객님 010-1234-5678 배송 문의",
        item_name="무선 블루투스 이어폰",
    )
    daemon = await _daemon(make_settings, clock, sandbox)
    await daemon.run_once()
    clock.advance(60)
    new_id = sandbox.add_product_inquiry(content="재입고 언제 되나요?", inquiry_at=clock.now() - timedelta(seconds=30))
    await daemon.run_once()
    reopened = await daemon.store.open_inquiries()
    await daemon.aclose()
    sent = _sink(tmp_path)
    assert [(m["kind"], m["title"]) for m in sent] == [
        ("backfill_summary", "[쿠팡] 상품문의·고객센터 문의 연결됨"),  # one for the account, listing its streams
        ("new_inquiry", "[쿠팡] 새 상품문의"),
    ]
    assert "최근 문의 4건을 불러왔습니다. 미답변 4건." in str(sent[0]["body"])
    assert "재입고 언제 되나요?" in str(sent[1]["body"])
    assert [row.inquiry.external_id for row in reopened if row.id == int(str(sent[1]["group"])[4:])] == [str(new_id)]


async def test_a_known_inquiry_reported_with_another_question_keeps_its_text_and_is_counted(
    clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> None:
    asked = sandbox.add_product_inquiry(content="사이즈 문의드려요", inquiry_at=clock.now() - timedelta(hours=1))
    daemon = await _daemon(make_settings, clock, sandbox)
    await daemon.run_once()
    [first] = await daemon.store.open_inquiries()
    question = sandbox.product_inquiry(asked)
    assert question is not None
    question.content = "환불 언제 되나요? 010-9876-5432"  # the same id now carries another question
    sandbox.answer_product_inquiry(asked, "확인 후 안내드리겠습니다.", clock.now())
    # Answered, it leaves the unanswered list of the quick polls: the hourly sweep's every-status pass re-reads it.
    clock.advance(3600)
    with capture_logs() as logs:
        await daemon.run_once()
    stored = await daemon.store.get_inquiry(first.id)
    exposition, _ = daemon.metrics.exposition()
    await daemon.aclose()
    assert stored is not None
    assert (stored.inquiry.body, stored.inquiry.answered) == ("사이즈 문의드려요", True)  # the answer still counts
    assert [e for e in logs if e["event"] == "inquiry_text_changed"] == [
        {
            "event": "inquiry_text_changed",
            "log_level": "warning",
            "account": "shop",
            "stream": "product_qna",
            "marketplace_id": str(asked),
            "fields": ["body"],
        }
    ]
    assert not [e for e in logs if "환불" in str(e) or "9876" in str(e)]  # never the text: it may carry buyer data
    assert 'inqd_inquiry_text_changed_total{marketplace="coupang",stream="product_qna"} 1.0' in exposition.decode()


async def test_twenty_days_of_paged_data_with_overlapping_polls_nothing_lost_or_duplicated(
    tmp_path: Path, clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> None:
    rng = random.Random(20)
    start = clock.now() - timedelta(days=20)
    seeded = sandbox.seed_random(400, start=start, end=clock.now(), rng=rng)  # > 50 per 7-day window: paging
    daemon = await _daemon(make_settings, clock, sandbox, backfill_days=20, recheck_days=13)
    await daemon.run_once()
    arrived: list[int] = []
    for _ in range(40):  # 40 polls, 6 h apart: 10 more days, every poll overlapping the previous by a day
        clock.advance(6 * 3600)
        arrived += sandbox.seed_random(7, start=clock.now() - timedelta(hours=6), end=clock.now(), rng=rng)
        await daemon.run_once()
    total = await daemon.store.count_inquiries()
    counts = await daemon.store.outbox_counts()
    await daemon.aclose()
    sent = _sink(tmp_path)
    new_pushes = [m for m in sent if m["kind"] == "new_inquiry"]
    groups = [m["group"] for m in new_pushes]
    assert total == len(seeded) + len(arrived)
    assert len(groups) == len(set(groups))  # no inquiry pushed twice
    assert sum(m["kind"] == "backfill_summary" for m in sent) == 1  # one per account, never one per old item
    assert counts.get("failed", 0) == 0


async def test_answer_in_wing_closes_inquiry_within_one_poll_or_the_next_sweep(
    tmp_path: Path, clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> None:
    recent = sandbox.add_product_inquiry(content="정품 맞나요?", inquiry_at=clock.now() - timedelta(hours=1))
    old = sandbox.add_product_inquiry(content="유통기한은요?", inquiry_at=clock.now() - timedelta(days=2))
    call = sandbox.add_call_center_inquiry(
        inquiry_at=clock.now() - timedelta(hours=3), agent_note="[판매자이관] 교환 요청", item_name="텀블러"
    )
    daemon = await _daemon(make_settings, clock, sandbox)
    await daemon.run_once()
    before = await _stored_ids(daemon.store)
    for _ in range(10):  # a week of polls later the old one is outside the new-items window: only the recheck sees it
        clock.advance(12 * 3600)
        await daemon.run_once()
    sandbox.answer_product_inquiry(recent, "정품입니다.", clock.now())
    sandbox.answer_product_inquiry(old, "2027년 3월까지입니다.", clock.now())
    sandbox.answer_call_center_inquiry(call, "교환 접수했습니다.", clock.now())
    clock.advance(60)
    await daemon.run_once()
    after = await _stored_ids(daemon.store)
    # The old one (7 days old now) is outside the quick polls' last 7 dates: the hourly sweep's recheck closes it.
    clock.advance(3600)
    await daemon.run_once()
    after_sweep = await _stored_ids(daemon.store)
    await daemon.aclose()
    assert before == sorted([str(recent), str(old), str(call)])
    assert after == [str(old)]
    assert after_sweep == []


async def test_crash_between_poll_and_commit_loses_nothing(
    tmp_path: Path, clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> None:
    ids = [
        sandbox.add_product_inquiry(content=f"문의 {n}", inquiry_at=clock.now() - timedelta(hours=n)) for n in range(5)
    ]
    settings = make_settings(account=ACCOUNT)
    transport = httpx.MockTransport(sandbox.handler)
    store = await Store.open(settings.db_path)
    connector = build_connector(settings.accounts[0], clock=clock, transport=transport)
    fetched = await connector.poll(StreamKind.PRODUCT_QNA, None, now=clock.now())
    await connector.aclose()
    await store.aclose()  # the process dies here: the poll's result never reached the database
    daemon = await _daemon(make_settings, clock, sandbox)
    cursor_before = await daemon.store.load_cursor("shop", StreamKind.PRODUCT_QNA)
    await daemon.run_once()
    stored = await _stored_ids(daemon.store)
    await daemon.aclose()
    assert len(fetched.inquiries) == 5
    assert cursor_before is None
    assert stored == sorted(str(i) for i in ids)


async def test_malformed_items_are_skipped_counted_and_caught_up_later(
    tmp_path: Path, clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> None:
    ids = [
        sandbox.add_product_inquiry(content=f"문의 {n}", inquiry_at=clock.now() - timedelta(hours=n)) for n in range(5)
    ]
    daemon = await _daemon(make_settings, clock, sandbox, streams=["product_qna"])
    sandbox.inject(Fault.MALFORMED_ITEM)
    await daemon.run_once()
    first = await daemon.store.count_inquiries()
    [status] = await daemon.store.stream_statuses()
    clock.advance(60)
    await daemon.run_once()
    stored = await _stored_ids(daemon.store)
    await daemon.aclose()
    assert (first, status.skipped_total, status.consecutive_failures) == (4, 1, 0)
    assert stored == sorted(str(i) for i in ids)


async def test_wrong_secret_is_rejected_by_sandbox_and_alerts_once(
    tmp_path: Path, clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> None:
    daemon = await _daemon(make_settings, clock, sandbox, secret_key="not-the-issued-secret", streams=["product_qna"])
    with pytest.raises(AuthFailed):
        await daemon.connectors[0].poll(StreamKind.PRODUCT_QNA, None, now=clock.now())
    for _ in range(3):
        await daemon.run_once()
        clock.advance(60)
    await daemon.aclose()
    alerts = [m for m in _sink(tmp_path) if m["kind"] == MessageKind.SYSTEM.value]
    assert [m["title"] for m in alerts] == ["[쿠팡] 인증 실패: shop"]
    assert all(r.status == 401 for r in sandbox.requests)


async def test_request_rate_never_exceeds_the_budget(
    tmp_path: Path, clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> None:
    sandbox.seed_random(300, start=clock.now() - timedelta(days=10), end=clock.now(), rng=random.Random(3))
    daemon = await _daemon(make_settings, clock, sandbox, backfill_days=10, max_requests_per_s=2.0)
    for _ in range(3):
        await daemon.run_once()
        clock.advance(3600)  # every poll a sweep: the most requests a poll makes
    await daemon.aclose()
    times = [r.at for r in sandbox.requests]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert len(times) > 20
    assert min(gaps) >= 0.5


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.RATE_LIMIT, Fault.HTML_FORBIDDEN, Fault.TIMEOUT])
async def test_canary_secret_never_logged_stored_or_sent(
    tmp_path: Path, clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings, fault: Fault
) -> None:
    buffer = io.StringIO()
    scrubber = configure_logging(fmt="json", level="DEBUG", stream=buffer)
    settings = make_settings(account=ACCOUNT)
    scrubber.add(settings.secret_values())
    sandbox.add_product_inquiry(content="배송 문의", inquiry_at=clock.now() - timedelta(hours=1))
    sandbox.inject(fault, times=2)
    daemon = await _daemon(make_settings, clock, sandbox)
    for _ in range(3):
        await daemon.run_once()
        clock.advance(900)
    await daemon.aclose()
    # A wrong key too: the rejection path logs and alerts.
    bad = await _daemon(make_settings, clock, sandbox, tmp_path / "bad", access_key="wrong-access", secret_key=SECRET)
    await bad.run_once()
    await bad.aclose()
    logged = buffer.getvalue()
    files = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert "stream_unavailable" in logged
    assert SECRET not in logged
    assert SECRET.encode() not in files
    assert ACCESS not in logged
