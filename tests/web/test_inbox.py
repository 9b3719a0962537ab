"""The inbox page over plain HTTP: the order by the nearer deadline, filters, search, pages, masking, the refresh."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from aggregator.settings.policy import SlaConfig, SlaRuleConfig
from aggregator.settings.service import AdminConfig
from core.models import Marketplace, StreamKind
from tests.conftest import MakeSettings, quiet_sink
from tests.web.conftest import WebDaemon
from tests.web.desk import NOON, desk_daemon, inquiry, record, row_ids

TOKEN = "correct-horse-battery"


@pytest.fixture
async def desk(make_settings: MakeSettings, tmp_path: Path) -> AsyncIterator[WebDaemon]:
    """A daemon at NOON whose Coupang product questions have an own target of one work hour."""
    rule = SlaRuleConfig(marketplace=Marketplace.COUPANG, stream=StreamKind.PRODUCT_QNA, own_target=timedelta(hours=1))
    settings = make_settings(quiet_sink(tmp_path), quiet_hours=(), sla=SlaConfig(rules=(rule,)))
    async with desk_daemon(settings) as running:
        yield running


@pytest.fixture
async def http(desk: WebDaemon) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the desk daemon's inbox."""
    async with httpx.AsyncClient(base_url=desk.url, follow_redirects=False) as client:
        yield client


async def test_the_nearer_of_the_two_deadlines_orders_the_list(desk: WebDaemon, http: httpx.AsyncClient) -> None:
    yesterday = NOON - timedelta(days=1)
    ids = await record(
        desk.daemon.store,
        # own target 14:00 (one work hour from 13:00); marketplace deadline tomorrow
        inquiry("own-first", received=NOON.replace(hour=11), deadline=NOON + timedelta(hours=30)),
        # marketplace deadline 13:00, no own target on call-center questions
        inquiry(
            "call",
            received=NOON.replace(hour=11, minute=30),
            deadline=NOON + timedelta(hours=1),
            stream=StreamKind.CALL_CENTER,
        ),
        # own target: 30 minutes yesterday (17:30-18:00) and 30 today (13:00-13:30); marketplace 15:00
        inquiry("carried", received=yesterday.replace(hour=17, minute=30), deadline=NOON + timedelta(hours=3)),
        # a Naver question: its marketplace deadline only, 22:00
        inquiry(
            "naver",
            received=NOON.replace(hour=11, minute=50),
            deadline=NOON + timedelta(hours=10),
            marketplace=Marketplace.NAVER,
            stream=StreamKind.CUSTOMER_INQUIRY,
        ),
        # past its marketplace deadline an hour ago
        inquiry("late", received=yesterday.replace(hour=9), deadline=NOON - timedelta(hours=1)),
        now=NOON,
    )
    own_first, call, carried, naver, late = ids

    page = await http.get("/")

    assert page.status_code == 200
    assert row_ids(page.text) == [late, call, carried, own_first, naver]
    assert "1시간 지남" in page.text and "2시간 남음" in page.text  # server-side countdowns: late, own target 14:00
    assert 'data-deadline="2026-12-09T14:00:00+09:00"' in page.text
    assert f'href="/inquiries/{naver}"' in page.text
    assert re.search(rf'data-id="{naver}">.*?스마트스토어</span> · <span class="stream">고객문의', page.text, re.S)


async def test_filters_and_search_narrow_the_list(desk: WebDaemon, http: httpx.AsyncClient) -> None:
    coupang, naver, ordered = await record(
        desk.daemon.store,
        inquiry("c1", received=NOON - timedelta(hours=1), body="사이즈 교환 되나요?", product="겨울 패딩"),
        inquiry(
            "n1",
            received=NOON - timedelta(hours=2),
            marketplace=Marketplace.NAVER,
            stream=StreamKind.CUSTOMER_INQUIRY,
            body="환불 문의 100%_확인",
        ),
        inquiry("c2", received=NOON - timedelta(hours=3), order_id="ORD-77123", stream=StreamKind.CALL_CENTER),
        now=NOON,
    )

    by_marketplace = await http.get("/", params={"marketplace": "naver"})
    by_stream = await http.get("/", params={"stream": "call_center"})
    by_text = await http.get("/", params={"q": "패딩"})
    by_order = await http.get("/", params={"q": "77123"})
    literal_percent = await http.get("/", params={"q": "100%_"})
    nothing = await http.get("/", params={"q": "없는 말"})

    assert row_ids(by_marketplace.text) == [naver]
    assert row_ids(by_stream.text) == [ordered]
    assert row_ids(by_text.text) == [coupang]
    assert row_ids(by_order.text) == [ordered]
    assert row_ids(literal_percent.text) == [naver]
    assert row_ids(nothing.text) == [] and "조건에 맞는 미답변 문의가 없습니다" in nothing.text
    assert 'value="패딩"' in by_text.text  # the search box keeps what was asked
    assert '<option value="naver" selected>' in by_marketplace.text


async def test_an_empty_queue_says_so(http: httpx.AsyncClient) -> None:
    page = await http.get("/")

    assert "미답변 문의가 없습니다" in page.text
    assert row_ids(page.text) == []


async def test_pages_of_fifty(desk: WebDaemon, http: httpx.AsyncClient) -> None:
    # Call-center questions: no own target, so the marketplace's 24 hours alone order them.
    many = [
        inquiry(f"q{n}", received=NOON - timedelta(minutes=n + 1), stream=StreamKind.CALL_CENTER) for n in range(120)
    ]
    ids = await record(desk.daemon.store, *many, now=NOON)
    oldest_first = list(reversed(ids))

    first = await http.get("/")
    third = await http.get("/", params={"p": "3"})
    beyond = await http.get("/", params={"p": "99"})

    assert row_ids(first.text) == oldest_first[:50]
    assert "120건 중 1–50" in first.text and 'href="/?p=2"' in first.text
    assert row_ids(third.text) == oldest_first[100:]
    assert "120건 중 101–120" in third.text
    assert row_ids(beyond.text) == oldest_first[100:]  # past the end: the last page


async def test_badges_show_promise_snooze_handled_and_a_pending_answer(
    desk: WebDaemon, http: httpx.AsyncClient
) -> None:
    store = desk.daemon.store
    promised, snoozed, handled, drafted = await record(
        store, *(inquiry(f"b{n}", received=NOON - timedelta(hours=n + 1)) for n in range(4)), now=NOON
    )
    await store.promise(promised, NOON.replace(hour=16, minute=30), "전화", now=NOON, actor="test")
    await store.snooze(snoozed, NOON + timedelta(hours=1), now=NOON, actor="test")
    await store.mark_handled(handled, now=NOON, actor="test")
    await store.save_draft(drafted, "확인해 보겠습니다.", now=NOON, final=False)

    page = (await http.get("/")).text

    def row_of(inquiry_id: int) -> str:
        match = re.search(rf'<li class="row" data-id="{inquiry_id}">(.*?)</li>', page, re.S)
        assert match, f"no row {inquiry_id}"
        return match.group(1)

    assert "약속 16:30" in row_of(promised)
    assert ">미룸<" in row_of(snoozed) and ">미룸<" not in row_of(promised)
    assert ">처리함</span>" in row_of(handled) and ">처리함</span>" not in row_of(snoozed)
    assert "답변 대기" in row_of(drafted) and "답변 대기" not in row_of(handled)


async def test_the_rows_answer_not_modified_until_something_is_written(
    desk: WebDaemon, http: httpx.AsyncClient
) -> None:
    await record(desk.daemon.store, inquiry("r1", received=NOON - timedelta(hours=1)), now=NOON)
    first = await http.get("/inbox/rows")
    version = first.headers["ETag"]

    unchanged = await http.get("/inbox/rows", headers={"If-None-Match": version})
    (new_id,) = await record(desk.daemon.store, inquiry("r2", received=NOON), now=NOON)
    changed = await http.get("/inbox/rows", headers={"If-None-Match": version})

    assert first.status_code == 200 and 'id="listing"' in first.text and "<html" not in first.text
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert changed.status_code == 200 and new_id in row_ids(changed.text)
    assert changed.headers["ETag"] != version


async def test_the_page_on_loopback_shows_buyer_data(desk: WebDaemon, http: httpx.AsyncClient) -> None:
    await record(desk.daemon.store, inquiry("pii", received=NOON, body="010-2345-6789 로 전화 주세요 홍길동"), now=NOON)

    page = await http.get("/")

    assert "010-2345-6789" in page.text


async def test_a_page_reached_through_a_proxy_masks_buyer_data(tmp_path: Path, make_settings: MakeSettings) -> None:
    settings = make_settings(quiet_sink(tmp_path), quiet_hours=(), admin=AdminConfig(token=SecretStr(TOKEN)))
    proxied = {"X-Forwarded-For": "100.64.0.7"}  # a reverse proxy in front: the browser is on another device
    async with desk_daemon(settings) as running:
        await record(running.daemon.store, inquiry("pii", received=NOON, body="010-2345-6789 로 전화 주세요"), now=NOON)
        async with httpx.AsyncClient(base_url=running.url, headers=proxied) as remote:
            before_login = await remote.get("/")
            login = await remote.post("/login", data={"token": TOKEN, "next": "/"})
            page = await remote.get("/")
            rows = await remote.get("/inbox/rows")

    assert before_login.status_code == 303 and before_login.headers["Location"].startswith("/login")
    assert login.status_code == 303
    assert page.status_code == 200 and "개인정보 가림" in page.text
    assert "010-2345-6789" not in page.text and "010-2345-6789" not in rows.text
    assert "전화 주세요" in page.text


async def test_the_order_follows_new_deadlines_answers_and_arrivals(desk: WebDaemon, http: httpx.AsyncClient) -> None:
    store, received = desk.daemon.store, NOON - timedelta(hours=1)
    later, sooner = await record(
        store,
        inquiry("later", received=received, deadline=NOON + timedelta(hours=5), stream=StreamKind.CALL_CENTER),
        inquiry("sooner", received=received, deadline=NOON + timedelta(hours=3), stream=StreamKind.CALL_CENTER),
        now=NOON,
    )
    before = row_ids((await http.get("/")).text)

    desk.clock.advance(60)
    moved = inquiry("later", received=received, deadline=NOON + timedelta(hours=1), stream=StreamKind.CALL_CENTER)
    await record(store, moved, now=desk.clock.now())
    after_move = row_ids((await http.get("/")).text)
    answered = inquiry("sooner", received=received, deadline=NOON + timedelta(hours=3), stream=StreamKind.CALL_CENTER)
    await record(store, replace(answered, answered=True, answered_at=desk.clock.now()), now=desk.clock.now())
    (newest,) = await record(
        store, inquiry("new", received=NOON, deadline=NOON + timedelta(minutes=30)), now=desk.clock.now()
    )
    after_answer = row_ids((await http.get("/")).text)

    assert before == [sooner, later]
    assert after_move == [later, sooner]
    assert after_answer == [newest, later]
