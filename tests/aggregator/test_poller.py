"""The poll loop: backfill summary, cursor hand-over, failure accounting and transition logging."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from aggregator.poller import FIRST_POLL_SPACING_S, PollReport, StopWaker, StreamPoller, first_poll_delays
from aggregator.store import Store
from connectors.base import AuthFailed, RateLimited, Unavailable
from core.models import MessageKind, PollResult, StreamKind
from tests.conftest import make_inquiry
from tests.fakes import FakeClock, ScriptedConnector

pytestmark = pytest.mark.both_backends


class _MidRandom(random.Random):
    """Always draws the middle of the range, so backoff delays are exact."""

    def random(self) -> float:
        return 0.5


class _Wakes:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


def _poller(connector: ScriptedConnector, store: Store, clock: FakeClock, wakes: _Wakes) -> StreamPoller:
    return StreamPoller(
        connector,
        StreamKind.PRODUCT_QNA,
        store,
        clock,
        interval_s=60,
        jitter=0.0,
        channels=("sink",),
        on_queued=wakes,
        rng=_MidRandom(),
    )


async def test_first_poll_summarises_later_polls_notify(store: Store, clock: FakeClock) -> None:
    connector = ScriptedConnector(
        [
            PollResult(inquiries=(make_inquiry("1"), make_inquiry("2")), cursor={"n": 1}),
            PollResult(inquiries=(make_inquiry("2"), make_inquiry("3")), cursor={"n": 2}),
        ]
    )
    wakes = _Wakes()
    poller = _poller(connector, store, clock, wakes)
    first = await poller.poll_once()
    second = await poller.poll_once()
    items = await store.claim_due(now=clock.now(), lease=timedelta(minutes=1), limit=10)
    assert connector.cursors_seen == [None, {"n": 1}]
    assert (first.new, first.queued, second.new, second.queued, wakes.count) == (2, 1, 1, 1, 2)
    assert [i.kind for i in items] == [MessageKind.BACKFILL_SUMMARY, MessageKind.NEW_INQUIRY]


async def test_failures_back_off_and_log_only_transitions(store: Store, clock: FakeClock) -> None:
    connector = ScriptedConnector(
        [
            Unavailable("503"),
            Unavailable("503"),
            RateLimited("429", retry_after_s=900),
            PollResult(inquiries=(), cursor={}),
        ]
    )
    poller = _poller(connector, store, clock, _Wakes())
    with capture_logs() as logs:
        delays = [poller.next_delay_s(await poller.poll_once()) for _ in range(4)]
    events = [e["event"] for e in logs if e["log_level"] in {"warning", "info"}]
    assert delays == [45.0, 90.0, 900.0, 60.0]  # 60 s then doubling, x0.75 at mid jitter; 429 floor
    assert events == ["stream_unavailable", "stream_recovered"]
    [status] = await store.stream_statuses()
    assert (status.consecutive_failures, status.last_error) == (0, "RateLimited: 429")


async def test_failures_record_their_streak_start_and_whether_credentials_were_refused(
    store: Store, clock: FakeClock
) -> None:
    connector = ScriptedConnector([Unavailable("503"), AuthFailed("401 bad key"), PollResult(inquiries=(), cursor={})])
    poller = _poller(connector, store, clock, _Wakes())
    started = clock.now()
    seen = []
    for _ in range(3):
        await poller.poll_once()
        [status] = await store.stream_statuses()
        seen.append((status.failing_since, status.auth_failed))
        clock.advance(60)
    assert seen == [(started, False), (started, True), (None, False)]


class _WaitingOutRetryAfter(ScriptedConnector):
    """A connector stuck in its request budget's hour-long Retry-After wait."""

    def __init__(self) -> None:
        super().__init__([])
        self.cancelled = False
        self.waiting = asyncio.Event()

    async def poll(self, stream: StreamKind, cursor: object, *, now: object) -> PollResult:  # type: ignore[override]
        self.waiting.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        raise AssertionError("unreachable")


async def test_a_stop_does_not_wait_for_a_poll_stuck_in_a_long_retry_after(store: Store, clock: FakeClock) -> None:
    connector = _WaitingOutRetryAfter()
    poller = _poller(connector, store, clock, _Wakes())
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    await asyncio.wait_for(connector.waiting.wait(), timeout=5)
    stop.set()
    await asyncio.wait_for(task, timeout=5)  # bounded: a regression fails here instead of hanging
    assert connector.cancelled


@pytest.mark.parametrize(
    ("count", "interval_s", "expected"),
    [
        (0, 60.0, []),
        (2, 60.0, [0.0, FIRST_POLL_SPACING_S]),  # a seller's two streams start as good as together
        (4, 0.1, [0.0, 0.025, 0.05, 0.075]),  # never spread past one interval
        (2000, 60.0, [60.0 * k / 2000 for k in range(2000)]),  # many: evenly over the interval
    ],
)
def test_first_polls_spread_evenly_over_at_most_one_interval(
    count: int, interval_s: float, expected: list[float]
) -> None:
    assert first_poll_delays(count, interval_s) == pytest.approx(expected)


async def test_the_first_poll_waits_its_delay_on_the_clock(store: Store, clock: FakeClock) -> None:
    connector = ScriptedConnector([PollResult(inquiries=(), cursor={"n": 1})] * 3)
    polled_at: list[float] = []

    async def on_polled(poller: StreamPoller, report: PollReport) -> None:
        polled_at.append(clock.monotonic())
        if len(polled_at) == 2:
            stop.set()

    stop = asyncio.Event()
    poller = StreamPoller(
        connector,
        StreamKind.PRODUCT_QNA,
        store,
        clock,
        interval_s=60,
        jitter=0.0,
        channels=("sink",),
        on_queued=_Wakes(),
        on_polled=on_polled,
        first_delay_s=12.5,
    )
    started = clock.monotonic()
    await asyncio.wait_for(poller.run(stop), timeout=5)
    assert [at - started for at in polled_at] == [12.5, 72.5]


class _ParkedClock(FakeClock):
    """A fake clock whose sleeps never end by themselves: only a stop can end them."""

    def __init__(self, clock: FakeClock, sleepers: int) -> None:
        super().__init__(clock.now())
        self._sleepers = sleepers
        self.all_asleep = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self._sleepers -= 1
        if self._sleepers == 0:
            self.all_asleep.set()
        await asyncio.Event().wait()


async def test_a_stop_ends_every_sleeping_poller_through_one_waker(store: Store, clock: FakeClock) -> None:
    parked = _ParkedClock(clock, 3)
    waker = StopWaker()
    pollers = [
        StreamPoller(
            ScriptedConnector([PollResult(inquiries=(), cursor={"n": 1})], account_id=f"shop-{n}"),
            StreamKind.PRODUCT_QNA,
            store,
            parked,
            interval_s=60,
            jitter=0.0,
            channels=("sink",),
            on_queued=_Wakes(),
            waker=waker,
        )
        for n in range(3)
    ]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(p.run(stop)) for p in pollers]
    await asyncio.wait_for(parked.all_asleep.wait(), timeout=5)  # each polled once and sleeps until the next
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)  # they end, none cancelled
    assert [p.polls for p in pollers] == [1, 1, 1]


async def test_a_cancel_from_outside_still_cancels_a_sleeping_poller(store: Store, clock: FakeClock) -> None:
    parked = _ParkedClock(clock, 1)
    poller = _poller(ScriptedConnector([PollResult(inquiries=(), cursor={"n": 1})]), store, parked, _Wakes())
    task = asyncio.create_task(poller.run(asyncio.Event()))
    await asyncio.wait_for(parked.all_asleep.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)
