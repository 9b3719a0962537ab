"""The dispatcher: at-least-once delivery from the outbox, drops answered items, retries and fails cleanly."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.daemon import Daemon
from aggregator.dispatcher import Dispatcher
from aggregator.instance_lock import AlreadyRunning
from aggregator.notifiers.base import DeliveryError
from aggregator.settings import Settings
from aggregator.store import Store
from core.models import MessageKind, PollResult, StreamKind
from core.payloads import SystemPayload
from tests.conftest import make_inquiry
from tests.fakes import FakeClock, RecordingNotifier

pytestmark = pytest.mark.both_backends

POLICIES = Settings().policies()  # the built-in hours; the tests run on a Tuesday afternoon, outside quiet hours


async def _seed(store: Store, clock: FakeClock, *inquiries, notify_new=True):  # type: ignore[no-untyped-def]
    return await store.record_poll(
        "shop",
        StreamKind.PRODUCT_QNA,
        PollResult(inquiries=tuple(inquiries), cursor={}),
        now=clock.now(),
        channels=("sink",),
        notify_new=notify_new,
    )


def _dispatcher(store: Store, clock: FakeClock, notifier: RecordingNotifier) -> Dispatcher:
    return Dispatcher(store, {"sink": notifier}, clock, POLICIES)


async def test_new_inquiry_is_sent_once_masked(store: Store, clock: FakeClock) -> None:
    notifier = RecordingNotifier()
    await _seed(store, clock, make_inquiry("1", body="김민수 고객님이 010-1234-5678로 전화 요청", buyer="김민수"))
    dispatcher = _dispatcher(store, clock, notifier)
    handled = [await dispatcher.run_once(), await dispatcher.run_once()]
    [message] = notifier.sent
    assert handled == [1, 0]
    assert message.title == "[쿠팡] 새 상품문의"
    assert "김*수 고객님이 010-****-5678로 전화 요청" in message.body
    assert "김민수" not in message.body and "1234" not in message.body
    assert await store.outbox_counts() == {"sent": 1}


async def test_answered_before_delivery_is_dropped(store: Store, clock: FakeClock) -> None:
    notifier = RecordingNotifier()
    await _seed(store, clock, make_inquiry("1"))
    await _seed(store, clock, make_inquiry("1", answered=True))
    await _dispatcher(store, clock, notifier).run_once()
    assert notifier.sent == []
    assert await store.outbox_counts() == {"dropped": 1}


async def test_retryable_failure_stays_queued_and_is_retried(store: Store, clock: FakeClock) -> None:
    notifier = RecordingNotifier()
    notifier.fail_with = [
        DeliveryError("503", retryable=True),
        DeliveryError("429", retryable=True, retry_after_s=120),
    ]
    await _seed(store, clock, make_inquiry("1"))
    dispatcher = _dispatcher(store, clock, notifier)
    start = clock.now()
    await dispatcher.run_once()
    first_retry = await store.next_due_at()
    clock.advance(5)
    await dispatcher.run_once()
    second_retry = await store.next_due_at()
    clock.advance(120)
    await dispatcher.run_once()
    assert first_retry == start + timedelta(seconds=5)
    assert second_retry == start + timedelta(seconds=125)  # the server's Retry-After beats the 10 s backoff
    assert len(notifier.sent) == 1
    assert await store.outbox_counts() == {"sent": 1}


async def test_permanent_failure_is_kept_as_failed(store: Store, clock: FakeClock) -> None:
    notifier = RecordingNotifier()
    notifier.fail_with = [DeliveryError("401 bad token", retryable=False)]
    await _seed(store, clock, make_inquiry("1"))
    dispatcher = _dispatcher(store, clock, notifier)
    await dispatcher.run_once()
    clock.advance(3600)
    await dispatcher.run_once()
    assert notifier.sent == []
    assert await store.outbox_counts() == {"failed": 1}


async def test_backfill_summary_is_one_message(store: Store, clock: FakeClock) -> None:
    notifier = RecordingNotifier()
    await _seed(store, clock, *[make_inquiry(str(i)) for i in range(12)], notify_new=False)
    await _dispatcher(store, clock, notifier).run_once()
    [message] = notifier.sent
    assert message.kind is MessageKind.BACKFILL_SUMMARY
    assert "최근 문의 12건을 불러왔습니다. 미답변 12건." in message.body


async def test_crash_after_claim_redelivers_after_lease(store: Store, clock: FakeClock) -> None:
    notifier = RecordingNotifier()
    await _seed(store, clock, make_inquiry("1"))
    await store.claim_due(now=clock.now(), lease=timedelta(seconds=120), limit=10)  # a claimer that died
    dispatcher = _dispatcher(store, clock, notifier)
    before = await dispatcher.run_once()
    clock.advance(121)
    after = await dispatcher.run_once()
    assert (before, after, len(notifier.sent)) == (0, 1, 1)


async def test_one_daemon_per_database_and_a_dead_ones_leases_are_freed(tmp_path: Path, clock: FakeClock) -> None:
    settings = Settings(db_path=tmp_path / "inqd.db", quiet_hours=())
    first = await Daemon.build(settings, clock=clock)
    with pytest.raises(AlreadyRunning, match="another inqd is already running"):
        await Daemon.build(settings, clock=clock)
    await first.store.enqueue(
        MessageKind.SYSTEM, channels=("sink",), dedup_key="k", now=clock.now(), payload=SystemPayload("t", "b")
    )
    claimed = await first.store.claim_due(now=clock.now(), lease=timedelta(minutes=2), limit=5)
    for notifier in first.notifiers.values():
        await notifier.aclose()
    await first.store.aclose()
    assert first.instance_lock is not None
    first.instance_lock.release()  # the process "dies" holding the lease (the kernel frees its flock)
    second = await Daemon.build(settings, clock=clock)
    again = await second.store.claim_due(now=clock.now(), lease=timedelta(minutes=2), limit=5)
    await second.aclose()
    assert [i.id for i in claimed] == [i.id for i in again]  # at once, not after the 2-minute lease
