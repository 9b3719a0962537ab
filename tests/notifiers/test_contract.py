"""One contract every notifier passes (Alertmanager's Retrier + AssertNotifyLeaksNoSecret, apprise's URL tester):
2xx accepted; 5xx and timeouts retryable; 429 retryable with Retry-After; other 4xx permanent; no secret in any
error or log line; what a channel posts is the rendered, masked text only: no field of its own carries buyer data."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from pydantic import SecretStr
from structlog.testing import capture_logs

from aggregator import render
from aggregator.notifiers.base import DeliveryError, Notifier
from aggregator.notifiers.kakao import KakaoNotifier
from aggregator.notifiers.ntfy import NtfyNotifier
from aggregator.notifiers.sms import SolapiSmsNotifier
from aggregator.notifiers.telegram import TelegramNotifier
from aggregator.notifiers.webhook import WebhookNotifier
from aggregator.settings.notify import KakaoConfig
from core.models import Category, Inquiry, Marketplace, Message, MessageKind, Priority, StreamKind
from core.payloads import WeeklyReportPayload
from tests.png import tiny_png

NOW = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
CANARY = "canary-0123456789-secret"
MESSAGE = Message(
    kind=MessageKind.NEW_INQUIRY,
    title="[쿠팡] 새 상품문의",
    body="배송 언제 오나요?",
    priority=Priority.HIGH,
    group_key="inq-1",
)


def _json_body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def _kakao_template(request: httpx.Request) -> Any:
    return json.loads(parse_qs(request.content.decode("utf-8"))["template_object"][0])


@dataclass(frozen=True)
class Case:
    """How to build one notifier around the canary secret, where it posts, what its 2xx body is, how to read what
    it posted, and whether a 401 makes it refresh its login and try once more (Kakao)."""

    name: str
    build: Callable[[httpx.AsyncClient], Notifier]
    url: str
    ok_body: dict[str, Any]
    posted: Callable[[httpx.Request], Any] = _json_body
    retries_after_401: bool = False


def _now() -> datetime:
    return NOW


class _KakaoLogin:
    """A Kakao login whose access tokens carry the canary (before and after a refresh)."""

    async def access_token(self) -> str:
        return f"{CANARY}-access"

    async def refreshed(self) -> str:
        return f"{CANARY}-refreshed"

    def refresh_expires_at(self) -> datetime | None:
        return NOW + timedelta(days=50)


CASES = [
    Case(
        "ntfy",
        lambda c: NtfyNotifier(
            name="n", server_url="https://ntfy.sh", topic="inqd-topic", client=c, now=_now, token=SecretStr(CANARY)
        ),
        "https://ntfy.sh/",
        {"id": "1", "event": "message"},
    ),
    Case(
        "telegram",
        lambda c: TelegramNotifier(
            name="t", bot_token=SecretStr(f"123456789:{CANARY}"), chat_id="42", client=c, now=_now
        ),
        f"https://api.telegram.org/bot123456789:{CANARY}/sendMessage",
        {"ok": True, "result": {"message_id": 1}},
    ),
    Case(
        "sms",
        lambda c: SolapiSmsNotifier(
            name="s",
            api_key="NCSAPIKEY0001",
            api_secret=SecretStr(CANARY),
            sender="0212345678",
            recipient="01012345678",
            client=c,
            now=_now,
        ),
        "https://api.solapi.com/messages/v4/send-many/detail",
        {"groupInfo": {"count": {"total": 1, "registeredFailed": 0}}, "failedMessageList": []},
    ),
    Case(
        "webhook",
        lambda c: WebhookNotifier(name="w", url=SecretStr(f"https://hooks.example/{CANARY}"), client=c, now=_now),
        f"https://hooks.example/{CANARY}",
        {},
    ),
    Case(
        "kakao",
        lambda c: KakaoNotifier(
            KakaoConfig(type="kakao", name="k", rest_api_key="0123456789abcdef"), _KakaoLogin(), client=c, now=_now
        ),
        "https://kapi.kakao.com/v2/api/talk/memo/default/send",
        {"result_code": 0},
        posted=_kakao_template,
        retries_after_401=True,
    ),
]
OUTCOMES = [
    (httpx.Response(200), None, None),
    (httpx.Response(500), True, None),
    (httpx.Response(502), True, None),
    (httpx.Response(503), True, None),
    (httpx.ReadTimeout("timed out"), True, None),
    (httpx.ConnectError("refused"), True, None),
    (httpx.Response(429, headers={"Retry-After": "7"}), True, 7.0),
    (httpx.Response(400, json={"error": "bad"}), False, None),
    (httpx.Response(401, json={"error": "unauthorized"}), False, None),
    (httpx.Response(403, json={"error": "forbidden"}), False, None),
    (httpx.Response(404, json={"error": "not found"}), False, None),
]


def _attempts(case: Case, response: httpx.Response | Exception) -> int:
    """How many requests one send makes: two after a 401 where the channel refreshes its login first."""
    refused = isinstance(response, httpx.Response) and response.status_code == 401
    return 2 if refused and case.retries_after_401 else 1


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize(("outcome", "retryable", "retry_after"), OUTCOMES, ids=lambda v: repr(v)[:30])
async def test_notifier_contract(
    case: Case, outcome: httpx.Response | Exception, retryable: bool | None, retry_after: float | None
) -> None:
    response = (
        httpx.Response(200, json=case.ok_body)
        if isinstance(outcome, httpx.Response) and outcome.status_code == 200
        else outcome
    )
    async with httpx.AsyncClient() as client:
        notifier = case.build(client)
        with respx.mock(assert_all_called=True, assert_all_mocked=True) as router, capture_logs() as logs:
            router.post(case.url).mock(side_effect=[response] * _attempts(case, response))
            try:
                await notifier.send(MESSAGE)
                error: DeliveryError | None = None
            except DeliveryError as err:
                error = err
    seen = None if error is None else (error.retryable, error.retry_after_s)
    assert seen == (None if retryable is None else (retryable, retry_after))
    assert CANARY not in f"{error} {error!r} {logs} {notifier!r}"


# The weekly message carries a picture: where each channel sends it (the text-only channels ignore the picture).
WEEKLY = render.weekly_report(
    WeeklyReportPayload(date(2026, 9, 21), ("쿠팡: 문의 3건, 24시간 안에 3건",)), image=tiny_png()
)
PICTURE_ROUTES = {
    "ntfy": ("PUT", "https://ntfy.sh/inqd-topic"),
    "telegram": ("POST", f"https://api.telegram.org/bot123456789:{CANARY}/sendPhoto"),
    "sms": ("POST", CASES[2].url),
    "webhook": ("POST", CASES[3].url),
    "kakao": ("POST", CASES[4].url),  # the text alone: the text template has no picture
}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize(("outcome", "retryable", "retry_after"), OUTCOMES, ids=lambda v: repr(v)[:30])
async def test_notifier_contract_for_a_message_with_a_picture(
    case: Case, outcome: httpx.Response | Exception, retryable: bool | None, retry_after: float | None
) -> None:
    response = (
        httpx.Response(200, json=case.ok_body)
        if isinstance(outcome, httpx.Response) and outcome.status_code == 200
        else outcome
    )
    method, url = PICTURE_ROUTES[case.name]
    async with httpx.AsyncClient() as client:
        notifier = case.build(client)
        with respx.mock(assert_all_called=True, assert_all_mocked=True) as router, capture_logs() as logs:
            router.route(method=method, url=url).mock(side_effect=[response] * _attempts(case, response))
            try:
                await notifier.send(WEEKLY)
                error: DeliveryError | None = None
            except DeliveryError as err:
                error = err
    seen = None if error is None else (error.retryable, error.retry_after_s)
    assert seen == (None if retryable is None else (retryable, retry_after))
    assert CANARY not in f"{error} {error!r} {logs} {notifier!r}"


BUYER_TEXT = (
    "타나카 유키 주문 건 환불해 주세요. 010-4444-5555, yuki.tanaka@naver.com, 서울특별시 강남구 테헤란로 123, "
    "국민 123456-01-234567, 통관부호 P123456789012"
)
RAW = ("타나카", "4444-5555", "yuki.tanaka", "테헤란로", "123456-01", "P123456789012")
BUYERS_INQUIRY = Inquiry(
    account_id="shop",
    marketplace=Marketplace.NAVER,
    stream=StreamKind.CUSTOMER_INQUIRY,
    external_id="9",
    received_at=NOW - timedelta(hours=1),
    body=BUYER_TEXT,
    category=Category.REFUND,
    title="타나카 유키 환불 문의",
    buyer="타나카 유키",
)
BUYER_MESSAGES = (
    render.new_inquiry(BUYERS_INQUIRY, row_id=9, deadline=NOW + timedelta(hours=20)),
    render.digest([(NOW, BUYERS_INQUIRY)], held_new=1, held_other=0, breakthroughs=[], quiet_from=NOW, now=NOW),
)
STYLED_WEBHOOKS = [
    Case(
        f"webhook-{style}",
        lambda c, style=style: WebhookNotifier(
            name="w", url=SecretStr(f"https://hooks.example/{CANARY}"), client=c, now=_now, style=style
        ),
        f"https://hooks.example/{CANARY}",
        {},
    )
    for style in ("slack", "discord")
]


@pytest.mark.parametrize("case", [*CASES, *STYLED_WEBHOOKS], ids=lambda c: c.name)
async def test_notifier_posts_the_masked_text_and_no_buyer_data_of_its_own(case: Case) -> None:
    async with httpx.AsyncClient() as client:
        notifier = case.build(client)
        with respx.mock(assert_all_called=True, assert_all_mocked=True) as router, capture_logs() as logs:
            route = router.post(case.url).mock(return_value=httpx.Response(200, json=case.ok_body))
            for message in BUYER_MESSAGES:
                await notifier.send(message)
    # Decoded: a JSON escape (\ud0c0) would hide Korean text from a plain substring check.
    posted = [json.dumps(case.posted(call.request), ensure_ascii=False) for call in route.calls]
    assert [("타*카 **" in body, "010-****-5555" in body) for body in posted] == [(True, True)] * len(BUYER_MESSAGES)
    assert [raw for raw in RAW if raw in f"{posted} {logs}"] == []
