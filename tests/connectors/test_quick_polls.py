"""Quick polls and sweeps (connectors/polling.py) of every marketplace, against its strict sandbox.

A quiet quick poll asks once per list the API has (ESM's board: once per qnaType); a new inquiry shows up from it;
an open one answered inside its window is closed by the next one; one answered before any poll saw it, and an open
one older than the window, wait for the sweep; an old (v1) cursor still works; and the sweep's answer time, where
the API gives one, replaces the time of the quick poll that closed the inquiry (checked in the store).
Requests are counted at the sandbox; time is a FakeClock. No network, no sleeping.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from aggregator.store import Store
from connectors.coupang.connector import CoupangConnector
from connectors.elevenst.connector import ElevenstConnector
from connectors.esm.connector import EsmConnector
from connectors.naver.connector import NaverConnector
from connectors.sandbox import CoupangSandbox, ElevenstSandbox, EsmSandbox, NaverSandbox
from core.models import KST, PollResult, StreamKind
from policies.answer_report import AnswerTimeSource
from tests.fakes import FakeClock

pytestmark = pytest.mark.both_backends

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=KST)
ACCOUNT = "shop"
MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
BACKFILL = 20  # the first poll reads every item of the recheck range (the default backfill is 3 days)


@dataclass(frozen=True)
class Case:
    """One stream of one marketplace: how to build it and how to add, answer and name an item in its sandbox."""

    name: str
    stream: StreamKind
    build: Callable[[FakeClock], tuple[Any, Any]]
    add: Callable[[Any, datetime], int]  # an open item received at the time; its sandbox key
    answer: Callable[[Any, int, datetime], None]
    external_id: Callable[[Any, int], str]
    lists: int = 1  # requests of a quiet quick poll: one per list the API has
    quick_dates: int = 7  # dates a quick poll covers (the recheck range when one request may ask for all of it)
    all_statuses: bool = False  # the quick listing is of every status (11st 긴급알리미): it sees answers itself
    answer_time: Callable[[datetime, datetime], datetime] | None = None  # (received, answered) -> the API's time


def _client(box: Any, base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, transport=httpx.MockTransport(box.handler))


def _coupang(clock: FakeClock) -> tuple[Any, Any]:
    box = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    client = _client(box, "https://api-gateway.coupang.com")
    return box, CoupangConnector(
        account_id=ACCOUNT,
        vendor_id="A00012345",
        access_key=SecretStr("ak"),
        secret_key=SecretStr("sk"),
        client=client,
        clock=clock,
        backfill_days=BACKFILL,
    )


def _naver(clock: FakeClock) -> tuple[Any, Any]:
    secret = "$2a$10$abcdefghijklmnopqrstuu"
    box = NaverSandbox(client_id="naver-app", client_secret=secret, now=clock.now)
    client = _client(box, "https://api.commerce.naver.com/external")
    return box, NaverConnector(
        account_id=ACCOUNT,
        client_id="naver-app",
        client_secret=SecretStr(secret),
        client=client,
        clock=clock,
        backfill_days=BACKFILL,
    )


def _esm(clock: FakeClock) -> tuple[Any, Any]:
    secret_key = "esm-secret-key-0123456789abcdef"
    box = EsmSandbox(
        master_id="master",
        secret_key=secret_key,
        now=clock.now,
        gmarket_seller_id="gseller",
        auction_seller_id="aseller",
    )
    client = _client(box, "https://sa2.esmplus.com")
    secret = SecretStr("esm-secret-key-0123456789abcdef")
    return box, EsmConnector(
        account_id=ACCOUNT,
        master_id="master",
        secret_key=secret,
        client=client,
        clock=clock,
        backfill_days=BACKFILL,
        gmarket_seller_id="gseller",
        auction_seller_id="aseller",
    )


def _elevenst(clock: FakeClock) -> tuple[Any, Any]:
    box = ElevenstSandbox(api_key="k-11st", now=clock.now)
    client = _client(box, "https://api.11st.co.kr")
    return box, ElevenstConnector(
        account_id=ACCOUNT, api_key=SecretStr("k-11st"), client=client, clock=clock, backfill_days=BACKFILL
    )


def _midnight_after(received: datetime, answered: datetime) -> datetime:
    """11st's `answerDt` is a date: its midnight, never before the question."""
    return max(datetime.combine(answered.astimezone(KST).date(), time(), KST), received)


CASES = [
    Case(
        "coupang-product",
        StreamKind.PRODUCT_QNA,
        _coupang,
        lambda box, at: box.add_product_inquiry(content="재입고 언제?", inquiry_at=at),
        lambda box, key, at: box.answer_product_inquiry(key, "다음 주입니다.", at),
        lambda box, key: str(key),
        answer_time=lambda received, answered: answered,
    ),
    Case(
        "coupang-call-center",
        StreamKind.CALL_CENTER,
        _coupang,
        lambda box, at: box.add_call_center_inquiry(inquiry_at=at, agent_note="배송 문의", item_name="상품"),
        lambda box, key, at: box.answer_call_center_inquiry(key, "확인했습니다.", at),
        lambda box, key: str(key),
        answer_time=lambda received, answered: answered,
    ),
    Case(
        "naver-qna",
        StreamKind.PRODUCT_QNA,
        _naver,
        lambda box, at: box.add_product_question(question="방수 되나요?", created_at=at),
        lambda box, key, at: box.answer_product_question(key, "됩니다.", at),
        lambda box, key: str(key),
    ),
    Case(
        "naver-inquiry",
        StreamKind.CUSTOMER_INQUIRY,
        _naver,
        lambda box, at: box.add_customer_inquiry(title="배송", content="언제 와요?", registered_at=at),
        lambda box, key, at: box.answer_customer_inquiry(key, "내일 도착합니다.", at),
        lambda box, key: str(key),
        quick_dates=14,  # 365 days in one request: the whole recheck range
        answer_time=lambda received, answered: answered,
    ),
    Case(
        "esm-board",
        StreamKind.PRODUCT_QNA,
        _esm,
        lambda box, at: box.add_question(site="G마켓", title="배송", details="언제 와요?", received_at=at),
        lambda box, key, at: box.answer(key, "내일 발송", at),
        lambda box, key: f"G:{box.item(key).message_no}",
        lists=3,  # one qnaType per request: 옥션 1 and 2, G마켓 3
        answer_time=lambda received, answered: answered,
    ),
    Case(
        "esm-urgent",
        StreamKind.URGENT,
        _esm,
        lambda box, at: box.add_urgent(site="G마켓", title="CS 긴급", contents="미발송", received_at=at),
        lambda box, key, at: box.answer(key, "발송했습니다", at),
        lambda box, key: str(box.item(key).message_no),
    ),
    Case(
        "elevenst-qna",
        StreamKind.PRODUCT_QNA,
        _elevenst,
        lambda box, at: box.add_product_qna(content="사이즈 문의", created_at=at),
        lambda box, key, at: box.answer_product_qna(key, "정사이즈입니다.", at),
        lambda box, key: str(key),
        answer_time=_midnight_after,
    ),
    Case(
        "elevenst-alimi",
        StreamKind.URGENT,
        _elevenst,
        lambda box, at: box.add_alimi(content="배송 지연", created_at=at, reply_deadline=None),
        lambda box, key, at: box.answer_alimi(key, "발송했습니다", at),
        lambda box, key: str(key),
        quick_dates=14,
        all_statuses=True,
    ),
]
RECHECK_DATES = {"coupang": 15, "naver": 14, "esm": 7, "elevenst": 14}  # each connector's default recheck range


@pytest.fixture(params=CASES, ids=lambda case: case.name)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "inqd.db")
    yield opened
    await opened.aclose()


class Stream:
    """One connector polling one stream against its sandbox, on a FakeClock, keeping its cursor."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.clock = FakeClock(NOW.astimezone(UTC))
        self.box, self.connector = case.build(self.clock)
        self.cursor: Any = None

    def sandbox_requests(self) -> int:
        """The list requests the sandbox has received so far (a token request is no list)."""
        return sum(1 for r in self.box.requests if not r.path.endswith("/oauth2/token"))

    async def poll(self, store: Store | None = None) -> tuple[PollResult, int]:
        """Poll at the clock's time (recording it in `store`, if given); the result and its requests at the sandbox."""
        before, now = self.sandbox_requests(), self.clock.now()
        result = await self.connector.poll(self.case.stream, self.cursor, now=now)
        if store is not None:
            await store.record_poll(ACCOUNT, self.case.stream, result, now=now, channels=(), notify_new=True)
        self.cursor = result.cursor
        return result, self.sandbox_requests() - before

    def ids(self, result: PollResult, *, answered: bool | None = None) -> set[str]:
        return {i.external_id for i in result.inquiries if answered is None or i.answered is answered}

    async def aclose(self) -> None:
        await self.connector.aclose()


@pytest.fixture
async def stream(case: Case) -> AsyncIterator[Stream]:
    made = Stream(case)
    yield made
    await made.aclose()


async def test_a_quiet_quick_poll_makes_one_request_per_list(stream: Stream) -> None:
    stream.case.add(stream.box, NOW - HOUR)
    _, first_requests = await stream.poll()
    stream.clock.advance(60)
    quiet, quiet_requests = await stream.poll()
    # The first poll is a sweep: every status, and the recheck range (11st 긴급알리미: one listing all the same).
    assert first_requests > stream.case.lists or stream.case.all_statuses
    assert (quiet_requests, quiet.requests) == (stream.case.lists, stream.case.lists)


async def test_a_new_inquiry_shows_up_from_the_quick_poll(stream: Stream) -> None:
    await stream.poll()
    stream.clock.advance(60)
    key = stream.case.add(stream.box, stream.clock.now() - timedelta(seconds=30))
    quick, requests = await stream.poll()
    external_id = stream.case.external_id(stream.box, key)
    assert requests == stream.case.lists
    assert stream.ids(quick, answered=False) == {external_id}
    assert quick.open_snapshot is not None and external_id in quick.open_snapshot.open_external_ids


async def test_an_open_inquiry_answered_inside_the_window_is_closed_by_the_next_quick_poll(
    stream: Stream, store: Store
) -> None:
    key = stream.case.add(stream.box, NOW - timedelta(days=stream.case.quick_dates - 1))  # the window's first date
    await stream.poll(store)
    open_before = await _open_ids(store)
    stream.clock.advance(60)
    stream.case.answer(stream.box, key, stream.clock.now() - timedelta(seconds=10))
    stream.clock.advance(60)
    quick, requests = await stream.poll(store)
    assert requests == stream.case.lists
    assert open_before == {stream.case.external_id(stream.box, key)}
    assert await _open_ids(store) == set()  # closed by this quick poll
    assert quick.open_snapshot is not None and quick.open_snapshot.open_external_ids == frozenset()


async def test_the_sweep_catches_an_answer_no_poll_saw_and_open_inquiries_older_than_the_window(
    stream: Stream, store: Store
) -> None:
    case = stream.case
    older = RECHECK_DATES[case.name.split("-")[0]] > case.quick_dates  # a recheck range wider than the window
    old_key = case.add(stream.box, NOW - timedelta(days=case.quick_dates + 1)) if older else None
    await stream.poll(store)
    stream.clock.advance(60)
    unseen = case.add(stream.box, stream.clock.now() - timedelta(seconds=20))
    case.answer(stream.box, unseen, stream.clock.now() - timedelta(seconds=10))
    if old_key is not None:
        case.answer(stream.box, old_key, stream.clock.now() - timedelta(seconds=5))
    stream.clock.advance(60)
    quick, _ = await stream.poll(store)
    unseen_id = case.external_id(stream.box, unseen)
    # The quick poll lists the unanswered of its window only (11st 긴급알리미: every status, so it sees the answer).
    assert (unseen_id in stream.ids(quick, answered=True)) is case.all_statuses
    assert await _open_ids(store) == ({case.external_id(stream.box, old_key)} if old_key is not None else set())
    stream.clock.advance(HOUR.total_seconds())
    swept, _ = await stream.poll(store)
    assert unseen_id in stream.ids(swept, answered=True)
    assert await _open_ids(store) == set()
    assert swept.open_snapshot is not None
    recheck_from = datetime.combine(NOW.date() - timedelta(days=RECHECK_DATES[case.name.split("-")[0]] - 1), time())
    assert swept.open_snapshot.received_from == recheck_from.replace(tzinfo=KST)


async def test_an_old_cursor_still_works(stream: Stream) -> None:
    stream.case.add(stream.box, NOW - HOUR)
    recent = (NOW - 5 * MINUTE).astimezone(UTC).isoformat()
    stream.cursor = {"v": 1, "through": recent}  # what every poll wrote before quick polls
    quick, requests = await stream.poll()
    assert requests == stream.case.lists  # its last sweep was 5 minutes ago: a quick poll
    assert dict(quick.cursor) == {"v": 2, "swept": recent}
    stream.cursor = {"v": 1, "through": (NOW - 2 * HOUR).astimezone(UTC).isoformat()}
    polled_at = stream.clock.now()
    swept, requests = await stream.poll()
    assert requests > stream.case.lists or stream.case.all_statuses
    assert dict(swept.cursor) == {"v": 2, "swept": polled_at.astimezone(UTC).isoformat()}


async def test_the_sweeps_answer_time_replaces_the_quick_polls(stream: Stream, store: Store) -> None:
    # 4 days old: inside the quick window, before the sweep's [last sweep's date - 1 day overlap]: the sweep's
    # every-status pass reaches it only because it covers the quick window too.
    received = NOW - timedelta(days=4)
    key = stream.case.add(stream.box, received)
    await stream.poll(store)
    stream.clock.advance(120)
    answered = (stream.clock.now() - MINUTE).replace(microsecond=0)
    stream.case.answer(stream.box, key, answered)
    closed_at = stream.clock.now()
    await stream.poll(store)
    [after_quick] = (await store.report_inputs(NOW - timedelta(days=30))).facts
    stream.clock.advance(HOUR.total_seconds())
    await stream.poll(store)
    [after_sweep] = (await store.report_inputs(NOW - timedelta(days=30))).facts
    if stream.case.all_statuses:  # the quick listing itself carries the answer: nothing for a sweep to correct
        assert after_quick == after_sweep
    elif stream.case.answer_time is None:  # the API gives no answer time: the quick poll's stays
        assert (after_quick.answer_time_source, after_quick.answered_at) == (AnswerTimeSource.POLL, closed_at)
        assert after_sweep == after_quick
    else:
        assert (after_quick.answer_time_source, after_quick.answered_at) == (AnswerTimeSource.POLL, closed_at)
        expected = stream.case.answer_time(received, answered)
        assert (after_sweep.answer_time_source, after_sweep.answered_at) == (AnswerTimeSource.MARKETPLACE, expected)


async def _open_ids(store: Store) -> set[str]:
    return {stored.inquiry.external_id for stored in await store.open_inquiries()}


async def test_the_first_poll_takes_in_every_open_inquiry_a_quick_poll_will_list(stream: Stream) -> None:
    # With the default 3-day backfill, an open inquiry of 5 days ago is inside every quick window (7 dates, or the
    # recheck range): the first poll must read it, so that it goes into the first-connection summary instead of
    # arriving with the next quick poll as a push of its own.
    stream.connector._lookback = dataclasses.replace(stream.connector._lookback, backfill=timedelta(days=3))
    old = stream.case.external_id(stream.box, stream.case.add(stream.box, NOW - timedelta(days=5)))
    first, _ = await stream.poll()
    stream.clock.advance(60)
    quick, _ = await stream.poll()
    assert old in stream.ids(first, answered=False)
    assert stream.ids(quick) <= stream.ids(first)
