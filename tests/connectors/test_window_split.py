"""A window with more pages than the walk's cap is halved and read whole, never refused (issue 19).

Read through the sandboxes, which enforce each marketplace's documented window and page limits (Coupang: 7 days,
50/30 rows a page; Naver 고객 문의: pages 1..1,000,000, 10..200 rows; Naver 상품 문의: 100 rows, date-times), so every
request a split makes is one the real API takes. The page cap is lowered so that a few hundred rows overflow it;
`bench.ingest --count 100000` runs the real cap.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from aggregator.store import Store
from connectors.coupang import connector as coupang_module
from connectors.coupang.connector import CoupangConnector
from connectors.naver import connector as naver_module
from connectors.naver.connector import NaverConnector
from connectors.polling import END_OF_DAY, DateWindow, split_window
from connectors.sandbox import CoupangSandbox, NaverSandbox, RecordedRequest
from core.http import make_client
from core.models import KST, PollResult, StreamKind
from tests.fakes import FakeClock

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=KST)
TODAY = NOW.date()
CAP = 2  # pages a window may have before it is halved
NAVER_SECRET = "$2a$04$Q8SP.i/ETmug3tqiWEJXiO"  # cost 4 keeps the bcrypt sign fast


def at(day: date, seconds: float) -> datetime:
    return datetime.combine(day, time(), KST) + timedelta(seconds=seconds)


def spread(day: date, count: int, rng: random.Random, *, until: datetime = NOW) -> list[datetime]:
    """`count` instants on `day`, none after `until`."""
    span = min(86_399.0, (until - at(day, 0)).total_seconds())
    return [at(day, rng.uniform(0, span)) for _ in range(count)]


def assert_within_budget(requests: list[RecordedRequest], rate_per_s: float) -> None:
    """No two requests closer than the budget's spacing (1/rate: the budget allows no burst)."""
    gaps = [(b.at - a.at).total_seconds() for a, b in itertools.pairwise(requests)]
    assert min(gaps) >= 1 / rate_per_s - 1e-6


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW.astimezone(UTC))


@pytest.fixture
def low_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coupang_module, "MAX_PAGES_PER_WINDOW", CAP)
    monkeypatch.setattr(naver_module, "MAX_PAGES_PER_WINDOW", CAP)


@pytest.fixture
async def coupang(clock: FakeClock) -> AsyncIterator[tuple[CoupangSandbox, CoupangConnector]]:
    box = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    client = make_client(base_url="https://api-gateway.coupang.com", transport=httpx.MockTransport(box.handler))
    connector = CoupangConnector(
        account_id="cp",
        vendor_id="A00012345",
        access_key=SecretStr("ak"),
        secret_key=SecretStr("sk"),
        client=client,
        clock=clock,
        backfill_days=7,
    )
    yield box, connector
    await connector.aclose()


@pytest.fixture
async def naver(clock: FakeClock) -> AsyncIterator[tuple[NaverSandbox, NaverConnector]]:
    box = NaverSandbox(client_id="sbx-naver-app", client_secret=NAVER_SECRET, now=clock.now)
    client = make_client(base_url="https://api.commerce.naver.com/external", transport=httpx.MockTransport(box.handler))
    connector = NaverConnector(
        account_id="nv",
        client_id="sbx-naver-app",
        client_secret=SecretStr(NAVER_SECRET),
        client=client,
        clock=clock,
        backfill_days=7,
    )
    yield box, connector
    await connector.aclose()


def query_of(request: RecordedRequest) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(request.query).items()}


def ids_once(result: PollResult) -> list[str]:
    ids = [inquiry.external_id for inquiry in result.inquiries]
    assert len(ids) == len(set(ids))
    return sorted(ids)


# --- halving -------------------------------------------------------------------------------------------------


def test_dates_halve_down_to_one_date() -> None:
    week = DateWindow(date(2025, 1, 9), date(2025, 1, 15))
    assert split_window(week) == (
        DateWindow(date(2025, 1, 9), date(2025, 1, 11)),
        DateWindow(date(2025, 1, 12), date(2025, 1, 15)),
    )
    assert split_window(DateWindow(TODAY - timedelta(days=1), TODAY)) == (
        DateWindow(TODAY - timedelta(days=1), TODAY - timedelta(days=1)),
        DateWindow(TODAY, TODAY),
    )
    assert split_window(DateWindow(TODAY, TODAY)) is None  # a dates-only API's narrowest window


def test_a_date_halves_into_parts_of_the_day_that_leave_no_gap() -> None:
    day = DateWindow(TODAY, TODAY)
    halves = split_window(day, finest=timedelta(seconds=1))
    assert halves == (DateWindow(TODAY, TODAY, time.min, time(12)), DateWindow(TODAY, TODAY, time(12), END_OF_DAY))
    # Halving keeps going down to a second, each half sharing its border instant with the next.
    window, steps = day, 0
    while (parts := split_window(window, finest=timedelta(seconds=1))) is not None:
        earlier, later = parts
        assert (earlier.since, earlier.until, later.since, later.until) == (
            window.since,
            later.since,
            earlier.until,
            window.until,
        )
        window, steps = later, steps + 1
    width = datetime.combine(TODAY, window.until) - datetime.combine(TODAY, window.since)
    assert width <= timedelta(seconds=1)
    assert steps <= math.ceil(math.log2(86_400))  # a busy second is reached in 17 requests at most


# --- Coupang: dates only -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("low_cap")
async def test_coupang_window_over_the_cap_is_read_whole_by_dates(
    coupang: tuple[CoupangSandbox, CoupangConnector],
) -> None:
    box, connector = coupang
    rng = random.Random(19)
    busy = TODAY - timedelta(days=3)  # one date alone has more pages than the cap: read to its last page
    counts = {TODAY - timedelta(days=n): 30 for n in range(8)} | {busy: 180}
    seeded = {
        str(box.add_product_inquiry(content=f"문의 {n}", inquiry_at=moment, answered=n % 3 == 0))
        for day, count in counts.items()
        for n, moment in enumerate(spread(day, count, rng))
    }
    result = await connector.poll(StreamKind.PRODUCT_QNA, None, now=NOW)

    assert ids_once(result) == sorted(seeded)
    assert result.open_snapshot is not None  # nothing moved: every open id was listed
    assert len(result.open_snapshot.open_external_ids) == sum(1 for i in result.inquiries if not i.answered)
    assert all(r.status == 200 for r in box.requests)  # every split window is one Coupang takes
    narrowest = [q for q in map(query_of, box.requests) if q["inquiryStartAt"] == q["inquiryEndAt"] == str(busy)]
    assert {q["pageNum"] for q in narrowest if q["answeredType"] == "ALL"} == {"1", "2", "3", "4"}
    assert result.requests == len(box.requests)
    assert_within_budget(box.requests, rate_per_s=2.0)


@pytest.mark.usefixtures("low_cap")
async def test_coupang_crash_mid_split_rereads_rather_than_skips(
    coupang: tuple[CoupangSandbox, CoupangConnector], clock: FakeClock, tmp_path: Path
) -> None:
    box, connector = coupang
    store = await Store.open(tmp_path / "inqd.db")
    try:
        first = await connector.poll(StreamKind.PRODUCT_QNA, None, now=clock.now())
        await store.record_poll("cp", StreamKind.PRODUCT_QNA, first, now=clock.now(), channels=(), notify_new=False)
        cursor = await store.load_cursor("cp", StreamKind.PRODUCT_QNA)
        clock.advance(26 * 3600)  # a day later, with a backlog over the cap on both dates the next poll reads
        rng = random.Random(7)
        busy = clock.now().astimezone(KST).date()
        seeded = [
            box.add_product_inquiry(content=f"문의 {n}", inquiry_at=moment)
            for day, count in ((busy - timedelta(days=1), 150), (busy, 200))
            for n, moment in enumerate(spread(day, count, rng, until=clock.now()))
        ]

        class Killed(BaseException):
            """The process dying mid-poll, as a SIGKILL would: nothing after it runs."""

        def dies_on_busy_page_2(request: httpx.Request) -> httpx.Response:
            params = request.url.params
            one_date = params["inquiryStartAt"] == params["inquiryEndAt"] == str(busy)
            if params["answeredType"] == "ALL" and one_date and params["pageNum"] == "2":
                raise Killed  # the last date of a window halved twice, after the halves before it were read
            return box.handler(request)

        dying = CoupangConnector(
            account_id="cp",
            vendor_id="A00012345",
            access_key=SecretStr("ak"),
            secret_key=SecretStr("sk"),
            client=make_client(
                base_url="https://api-gateway.coupang.com", transport=httpx.MockTransport(dies_on_busy_page_2)
            ),
            clock=clock,
        )
        with pytest.raises(Killed):
            await dying.poll(StreamKind.PRODUCT_QNA, cursor, now=clock.now())
        await dying.aclose()
        read_before = {(q["inquiryStartAt"], q["inquiryEndAt"]) for q in map(query_of, box.requests[-8:])}
        assert (str(busy - timedelta(days=1)),) * 2 in read_before  # the earlier half was read whole
        assert await store.load_cursor("cp", StreamKind.PRODUCT_QNA) == cursor  # and still counts for nothing

        again = await connector.poll(StreamKind.PRODUCT_QNA, cursor, now=clock.now())
        await store.record_poll("cp", StreamKind.PRODUCT_QNA, again, now=clock.now(), channels=(), notify_new=True)
        stored = sorted(stored.inquiry.external_id for stored in await store.open_inquiries())
        assert stored == sorted(str(n) for n in seeded)  # every one, each once
        assert ids_once(again) == stored
    finally:
        await store.aclose()


# --- Naver: 고객 문의 takes dates, 상품 문의 date-times --------------------------------------------------------


@pytest.mark.usefixtures("low_cap")
async def test_naver_customer_inquiries_over_the_cap_are_read_whole_by_dates(
    naver: tuple[NaverSandbox, NaverConnector],
) -> None:
    box, connector = naver
    rng = random.Random(5)
    busy = TODAY - timedelta(days=5)
    counts = {TODAY - timedelta(days=n): 150 for n in range(8)} | {busy: 700}
    seeded = {
        str(box.add_customer_inquiry(title="배송 문의", content=f"언제 오나요 {n}", registered_at=moment))
        for day, count in counts.items()
        for n, moment in enumerate(spread(day, count, rng))
    }
    result = await connector.poll(StreamKind.CUSTOMER_INQUIRY, None, now=NOW)

    assert ids_once(result) == sorted(seeded)
    assert result.open_snapshot is not None and len(result.open_snapshot.open_external_ids) == len(seeded)
    lists = [r for r in box.requests if r.path.endswith("/inquiries")]
    assert all(r.status == 200 for r in lists)
    busy_pages = {q["page"] for q in map(query_of, lists) if q["startSearchDate"] == q["endSearchDate"] == str(busy)}
    assert busy_pages == {"1", "2", "3", "4"}  # 700 rows at 200 a page, past the cap of 2
    assert_within_budget(box.requests, rate_per_s=1.0)


@pytest.mark.usefixtures("low_cap")
async def test_naver_questions_over_the_cap_split_within_a_day(naver: tuple[NaverSandbox, NaverConnector]) -> None:
    box, connector = naver
    rng = random.Random(11)
    yesterday = TODAY - timedelta(days=1)
    moments = spread(yesterday, 500, rng) + spread(TODAY, 120, rng)
    moments += [at(yesterday, 3600.25)] * 260  # one second with more pages than the cap: read to its end
    seeded = {
        str(box.add_product_question(question=f"사이즈 문의 {n}", created_at=moment))
        for n, moment in enumerate(moments)
    }
    result = await connector.poll(StreamKind.PRODUCT_QNA, None, now=NOW)

    assert ids_once(result) == sorted(seeded)
    assert result.open_snapshot is not None and len(result.open_snapshot.open_external_ids) == len(seeded)
    lists = [query_of(r) for r in box.requests if r.path.endswith("/qnas")]
    assert all(r.status == 200 for r in box.requests)
    spans = [datetime.fromisoformat(q["toDate"]) - datetime.fromisoformat(q["fromDate"]) for q in lists]
    assert min(spans) <= timedelta(seconds=1)  # halved down to the busy second
    assert all(datetime.fromisoformat(q["toDate"]) <= NOW for q in lists)  # never a part of today still to come
    assert_within_budget(box.requests, rate_per_s=1.0)


@pytest.mark.usefixtures("low_cap")
async def test_rows_past_the_documented_last_page_are_logged_once_and_drop_the_snapshot(
    naver: tuple[NaverSandbox, NaverConnector], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real limit is page 1,000,000 (error 4005); lowered to 3 here so that a date can hold more.
    monkeypatch.setattr(naver_module, "INQUIRY_LAST_PAGE", 3)
    box, connector = naver
    rng = random.Random(3)
    for n, moment in enumerate(spread(TODAY - timedelta(days=2), 900, rng)):
        box.add_customer_inquiry(title="교환 문의", content=f"교환 {n}", registered_at=moment)
    with capture_logs() as logs:
        first = await connector.poll(StreamKind.CUSTOMER_INQUIRY, None, now=NOW)
        second = await connector.poll(StreamKind.CUSTOMER_INQUIRY, None, now=NOW)
    assert len(first.inquiries) == len(second.inquiries) == 600  # 3 pages of 200: the rest cannot be listed
    assert first.open_snapshot is None  # an incomplete listing cannot say which stored ones were answered
    truncated = [entry for entry in logs if entry["event"] == "naver.window_truncated"]
    assert len(truncated) == 1 and truncated[0]["last_page"] == 3
