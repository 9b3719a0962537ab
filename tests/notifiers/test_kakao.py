"""KakaoTalk "send to me": the request's documented shape, the 200-character text, the link button, 401 -> one
refresh, the Korean reasons, retryable vs permanent, and no access token in logs, errors or the database.

respx answers kapi.kakao.com; a fake KakaoTokenSource stands in for the stored login (kakao_auth's store)."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from aggregator import render
from aggregator.dispatcher import Dispatcher
from aggregator.notifiers.action_links import ActionLinks
from aggregator.notifiers.base import DeliveryError
from aggregator.notifiers.kakao import KakaoLoginNeeded, KakaoNotifier, kakao_text, refresh_expiry_of
from aggregator.notifiers.kakao_auth import token_path as token_file
from aggregator.settings import Settings
from aggregator.settings.notify import KakaoConfig
from aggregator.store import Store
from core.models import Category, Inquiry, Marketplace, Message, MessageKind, Priority, StreamKind
from tests.fakes import FakeClock
from tests.notifiers.conftest import NOW, TRANSPORT_ERRORS, fail_with

SEND_URL = "https://kapi.kakao.com/v2/api/talk/memo/default/send"
CONFIG = KakaoConfig(type="kakao", name="kakao", rest_api_key="0123456789abcdef0123456789abcdef")
TOKEN = "kakao-access-token-first-0123456789"
NEW_TOKEN = "kakao-access-token-second-9876543210"
OK = httpx.Response(200, json={"result_code": 0})
EXPIRED = httpx.Response(401, json={"msg": "this access token does not exist", "code": -401})
LOGIN_REASON = "kakao: 카카오 로그인이 만료되었습니다: inqd kakao-login --channel kakao 으로 다시 로그인하세요"
INQUIRY = Inquiry(
    account_id="shop",
    marketplace=Marketplace.COUPANG,
    stream=StreamKind.PRODUCT_QNA,
    external_id="9",
    received_at=NOW - timedelta(hours=1),
    body="배송 언제 오나요? 김민수 010-1234-5678로 연락 주세요. " + "선물용이라 꼭 금요일까지 받아야 합니다. " * 4,
    category=Category.DELIVERY,
    product_name="무선 이어폰",
    title="금요일까지 꼭 받아야 하는 선물입니다",
    buyer="김민수",
)
NEW = render.new_inquiry(INQUIRY, row_id=9, deadline=NOW + timedelta(hours=23))


class FakeTokens:
    """A stored login: hands out TOKEN, NEW_TOKEN after a refresh; refuses the login at `refuse` ("access": at
    once, "refresh": when asked to refresh)."""

    def __init__(self, *, refuse: str = "", expires_at: datetime | None = None) -> None:
        self.token = TOKEN
        self.refreshes = 0
        self.refuse = refuse
        self.expires_at = expires_at

    async def access_token(self) -> str:
        if self.refuse == "access":
            raise KakaoLoginNeeded(f"refresh token for {self.token} refused (KOE320)")
        return self.token

    async def refreshed(self) -> str:
        self.refreshes += 1
        if self.refuse:
            raise KakaoLoginNeeded(f"refresh token for {self.token} refused (KOE320)")
        self.token = NEW_TOKEN
        return self.token

    def refresh_expires_at(self) -> datetime | None:
        return self.expires_at


def _traceback(error: BaseException) -> str:
    """The error as a log line's traceback shows it (causes and contexts included, unless suppressed)."""
    return "".join(traceback.format_exception(error))


def _notifier(client: httpx.AsyncClient, tokens: FakeTokens, **extra: Any) -> KakaoNotifier:
    return KakaoNotifier(CONFIG, tokens, client=client, now=lambda: NOW, **extra)


def _template(request: httpx.Request) -> dict[str, Any]:
    form = parse_qs(request.content.decode("utf-8"), strict_parsing=True)
    assert list(form) == ["template_object"]
    template: dict[str, Any] = json.loads(form["template_object"][0])
    return template


async def test_the_send_request_has_the_documented_shape(router: respx.MockRouter, client: httpx.AsyncClient) -> None:
    route = router.post(SEND_URL).mock(return_value=OK)
    links = ActionLinks("https://inqd.example.kr", "admin-token", lambda: NOW, web_inbox=True)
    await _notifier(client, FakeTokens(), action_links=links).send(NEW)
    [call] = route.calls
    template = _template(call.request)
    assert call.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert {k: v for k, v in template.items() if k != "text"} == {
        "object_type": "text",
        "link": {
            "web_url": "https://inqd.example.kr/inquiries/9",
            "mobile_web_url": "https://inqd.example.kr/inquiries/9",
        },
        "button_title": "문의 보기",
    }
    assert len(template["text"]) <= 200


async def test_the_text_leads_with_what_where_and_time_left_and_stays_masked() -> None:
    text = kakao_text(NEW, now=NOW)
    lines = text.splitlines()
    assert lines[0] == "[쿠팡] 새 상품문의 · 23시간 남음"
    assert lines[1] == "무선 이어폰 · 배송"
    assert lines[2] == "금요일까지 꼭 받아야 하는 선물입니다"
    assert lines[3].startswith("“배송 언제 오나요? 김*수 010-****-5678")
    assert (lines[3].endswith("…"), lines[4], len(text) <= 200) == (
        True,
        "접수 11/24(화) 13:00 · 마감 11/25(수) 13:00",
        True,
    )
    assert [raw for raw in ("김민수", "1234-5678") if raw in text] == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("짧은 본문", "제목\n짧은 본문"),
        ("첫 줄\n\n  둘째 줄  ", "제목\n첫 줄\n둘째 줄"),
        ("가" * 300, "제목\n" + "가" * 196 + "…"),
        ("가" * 150 + "\n" + "나" * 100, "제목\n" + "가" * 95 + "…\n" + "나" * 100),
    ],
    ids=["short", "blank-lines", "one-long-line", "the-longest-line-gives-way"],
)
def test_the_text_is_squeezed_into_200_characters_keeping_newlines(body: str, expected: str) -> None:
    message = Message(kind=MessageKind.SYSTEM, title="제목", body=body)
    text = kakao_text(message, now=NOW)
    assert (text, len(text) <= 200) == (expected, True)


SYSTEM = Message(kind=MessageKind.SYSTEM, title="[쿠팡] 복구: shop", body="다시 연결되었습니다.")


@pytest.mark.parametrize(
    ("message", "extra", "link", "button"),
    [
        (NEW, {}, "https://wing.coupang.com/", "판매자센터 열기"),
        (SYSTEM, {"home_url": "https://inqd.example.kr"}, "https://inqd.example.kr", "열기"),
        (SYSTEM, {}, None, None),
    ],
    ids=["seller-centre", "web-inbox-home", "no-link"],
)
async def test_the_link_falls_back_from_the_inbox_page_to_the_seller_centre_to_the_inbox(
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    message: Message,
    extra: dict[str, Any],
    link: str | None,
    button: str | None,
) -> None:
    route = router.post(SEND_URL).mock(return_value=OK)
    await _notifier(client, FakeTokens(), **extra).send(message)
    template = _template(route.calls.last.request)
    expected_link = {"web_url": link, "mobile_web_url": link} if link else {}
    assert (template["link"], template.get("button_title")) == (expected_link, button)


async def test_a_401_refreshes_once_and_sends_again(router: respx.MockRouter, client: httpx.AsyncClient) -> None:
    route = router.post(SEND_URL).mock(side_effect=[EXPIRED, OK])
    tokens = FakeTokens()
    await _notifier(client, tokens).send(NEW)
    bearers = [call.request.headers["Authorization"] for call in route.calls]
    assert (bearers, tokens.refreshes) == ([f"Bearer {TOKEN}", f"Bearer {NEW_TOKEN}"], 1)


async def test_a_second_401_is_permanent_with_the_fix_in_korean(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    route = router.post(SEND_URL).mock(side_effect=[EXPIRED, EXPIRED])
    tokens = FakeTokens()
    with pytest.raises(DeliveryError) as caught:
        await _notifier(client, tokens).send(NEW)
    assert (str(caught.value), caught.value.retryable, tokens.refreshes, route.call_count) == (
        LOGIN_REASON,
        False,
        1,
        2,
    )


@pytest.mark.parametrize(("refuse", "answers"), [("access", []), ("refresh", [EXPIRED])])
async def test_a_refused_login_is_permanent_with_the_fix_in_korean(
    client: httpx.AsyncClient, refuse: str, answers: list[httpx.Response]
) -> None:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router, capture_logs() as logs:
        route = router.post(SEND_URL).mock(side_effect=answers)
        with pytest.raises(DeliveryError) as caught:
            await _notifier(client, FakeTokens(refuse=refuse)).send(NEW)
    error = caught.value
    assert (str(error), error.retryable, route.call_count) == (LOGIN_REASON, False, len(answers))
    assert TOKEN not in f"{_traceback(error)} {logs}"


async def test_no_consent_to_talk_message_is_permanent(router: respx.MockRouter, client: httpx.AsyncClient) -> None:
    scope = {"msg": "insufficient scopes.", "code": -402, "required_scopes": ["talk_message"]}
    router.post(SEND_URL).mock(return_value=httpx.Response(403, json=scope))
    tokens = FakeTokens()
    with pytest.raises(DeliveryError) as caught:
        await _notifier(client, tokens).send(NEW)
    assert (caught.value.retryable, tokens.refreshes) == (False, 0)
    assert "talk_message" in str(caught.value)
    assert "inqd kakao-login --channel kakao" in str(caught.value)


def _kakao_error(status: int, code: int) -> httpx.Response:
    return httpx.Response(status, json={"msg": "refused", "code": code})


@pytest.mark.parametrize(
    ("answer", "retryable", "retry_after_s"),
    [
        (httpx.Response(429, headers={"Retry-After": "30"}), True, 30.0),
        (_kakao_error(400, -10), True, 300.0),
        (_kakao_error(400, -1), True, None),
        (_kakao_error(400, -7), True, None),
        (_kakao_error(503, -9798), True, None),
        (httpx.Response(500), True, None),
        (httpx.Response(502, text="<html>bad gateway</html>"), True, None),
        (_kakao_error(400, -2), False, None),
        (_kakao_error(400, -501), False, None),
        (_kakao_error(403, -5), False, None),
        (httpx.Response(404), False, None),
        *[(fail_with(error), True, None) for error in TRANSPORT_ERRORS],
    ],
    ids=lambda v: repr(v)[:40],
)
async def test_each_failure_is_classified(
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    answer: httpx.Response | Callable[[httpx.Request], httpx.Response],
    retryable: bool,
    retry_after_s: float | None,
) -> None:
    route = router.post(SEND_URL)
    route.mock(side_effect=answer) if callable(answer) else route.mock(return_value=answer)
    tokens = FakeTokens()
    with capture_logs() as logs, pytest.raises(DeliveryError) as caught:
        await _notifier(client, tokens).send(NEW)
    error = caught.value
    assert (error.retryable, error.retry_after_s, route.call_count, tokens.refreshes) == (
        retryable,
        retry_after_s,
        1,
        0,
    )
    assert TOKEN not in f"{_traceback(error)} {logs}"


async def test_a_picture_is_left_out_and_the_text_goes(router: respx.MockRouter, client: httpx.AsyncClient) -> None:
    route = router.post(SEND_URL).mock(return_value=OK)
    weekly = Message(kind=MessageKind.WEEKLY_REPORT, title="[inqd] 지난주", body="쿠팡: 3건", image=b"\x89PNG")
    await _notifier(client, FakeTokens()).send(weekly)
    assert b"PNG" not in route.calls.last.request.content
    assert _template(route.calls.last.request)["text"] == "[inqd] 지난주\n쿠팡: 3건"


async def test_a_failing_round_leaves_no_token_in_logs_errors_or_the_database(
    tmp_path: Path, router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    router.post(SEND_URL).mock(side_effect=[EXPIRED, EXPIRED])
    clock = FakeClock(NOW)
    store = await Store.open(tmp_path / "inqd.db")
    message = Message(kind=MessageKind.SYSTEM, title="[inqd] 알림", body="본문", priority=Priority.HIGH)
    await store.enqueue(
        MessageKind.SYSTEM, channels=("kakao",), dedup_key="x", now=NOW, payload=render.system_payload(message)
    )
    notifier = _notifier(client, FakeTokens())
    dispatcher = Dispatcher(store, {"kakao": notifier}, clock, Settings().policies())
    with capture_logs() as logs:
        await dispatcher.run_once()
    [failure] = await store.channel_failures()
    await store.aclose()
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("inqd.db*"))
    assert (failure.channel, failure.last_error) == ("kakao", LOGIN_REASON)
    assert LOGIN_REASON.encode() in stored  # the reason is in the database, so a token would be too
    assert [t for t in (TOKEN, NEW_TOKEN) if t.encode() in stored or t in f"{logs}"] == []


def _write_token_file(directory: Path, content: str) -> None:
    token_file(directory, "kakao").write_text(content, encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            json.dumps(
                {
                    "refresh_token": "r",
                    "refresh_token_expires_at": "2027-01-20T09:00:00+09:00",
                    "access_token": "a",
                    "access_token_expires_at": "2026-11-24T20:00:00+09:00",
                }
            ),
            datetime.fromisoformat("2027-01-20T09:00:00+09:00"),
        ),
        (json.dumps({"refresh_token": "r"}), None),
        (json.dumps({"refresh_token_expires_at": "2027-01-20T09:00:00"}), None),  # no zone: not trusted
        ("{not json", None),
        (None, None),
    ],
    ids=["stored", "no-date", "naive-date", "garbage", "no-file"],
)
def test_the_login_end_is_read_from_the_token_file(
    tmp_path: Path, content: str | None, expected: datetime | None
) -> None:
    if content is not None:
        _write_token_file(tmp_path, content)
    assert refresh_expiry_of(tmp_path, "kakao") == expected


def test_no_secrets_dir_means_no_login_known() -> None:
    assert refresh_expiry_of(None, "kakao") is None
