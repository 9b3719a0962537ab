"""TelegramNotifier against a respx-mocked Bot API: request shape, failure mapping, and no token leaks."""

from __future__ import annotations

import traceback
from typing import Any, Literal

import httpx
import pytest
import respx
from pydantic import SecretStr
from structlog.testing import capture_logs

from aggregator.notifiers.base import DeliveryError
from aggregator.notifiers.telegram import CALLBACK_DATA_LIMIT, TelegramNotifier, callback_data
from core.models import Message, MessageKind, Priority
from tests.notifiers.conftest import NOW

TOKEN = "123456789:AAH-tok3n_VALUE-never-printed"
URL = f"https://api.telegram.org/bot{TOKEN}/sendMessage"
OK = {"ok": True, "result": {"message_id": 7}}


def _notifier(
    client: httpx.AsyncClient, parse_mode: Literal["HTML", "plain"] = "HTML", *, actions: bool = False
) -> TelegramNotifier:
    return TelegramNotifier(
        name="tg",
        bot_token=SecretStr(TOKEN),
        chat_id="4242",
        client=client,
        now=lambda: NOW,
        parse_mode=parse_mode,
        actions=actions,
    )


def _message(
    body: str = "배송 언제?",
    *,
    priority: Priority = Priority.DEFAULT,
    click_url: str | None = None,
    inquiry_id: int | None = None,
) -> Message:
    return Message(
        kind=MessageKind.NEW_INQUIRY,
        title="쿠팡 새 문의",
        body=body,
        priority=priority,
        click_url=click_url,
        inquiry_id=inquiry_id,
    )


async def _send(
    message: Message, outcome: httpx.Response | Exception, parse_mode: Literal["HTML", "plain"] = "HTML"
) -> respx.Route:
    """Send once against a mocked Bot API answering `outcome`; return the route."""
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        route = router.post(URL).mock(side_effect=[outcome])
        async with httpx.AsyncClient() as client:
            await _notifier(client, parse_mode).send(message)
    return route


@pytest.mark.parametrize(
    ("parse_mode", "message", "expected"),
    [
        (
            "HTML",
            _message("<script>alert(1)</script> & 배송 <b>언제</b>?", click_url="https://wing.coupang.com/qna/1"),
            {
                "chat_id": "4242",
                "text": "<b>쿠팡 새 문의</b>\n&lt;script&gt;alert(1)&lt;/script&gt; &amp; "
                "배송 &lt;b&gt;언제&lt;/b&gt;?",
                "parse_mode": "HTML",
                "disable_notification": False,
                "link_preview_options": {"is_disabled": True},
                "reply_markup": {"inline_keyboard": [[{"text": "열기", "url": "https://wing.coupang.com/qna/1"}]]},
            },
        ),
        (
            "HTML",
            _message("\"quotes\" 'stay' & <done>", priority=Priority.LOW, click_url="javascript:alert(1)"),
            {
                "chat_id": "4242",
                "text": "<b>쿠팡 새 문의</b>\n\"quotes\" 'stay' &amp; &lt;done&gt;",
                "parse_mode": "HTML",
                "disable_notification": True,
                "link_preview_options": {"is_disabled": True},
            },
        ),
        (
            "plain",
            _message("<script> & 그대로", priority=Priority.MIN),
            {
                "chat_id": "4242",
                "text": "쿠팡 새 문의\n<script> & 그대로",
                "disable_notification": True,
                "link_preview_options": {"is_disabled": True},
            },
        ),
        (
            "plain",
            _message("긴급", priority=Priority.MAX),
            {
                "chat_id": "4242",
                "text": "쿠팡 새 문의\n긴급",
                "disable_notification": False,
                "link_preview_options": {"is_disabled": True},
            },
        ),
    ],
)
async def test_request_shape(parse_mode: Literal["HTML", "plain"], message: Message, expected: dict[str, Any]) -> None:
    route = await _send(message, httpx.Response(200, json=OK), parse_mode)

    request = route.calls.last.request
    assert request.headers["Content-Type"] == "application/json"
    assert httpx.Response(200, content=request.content).json() == expected


@pytest.mark.parametrize(
    ("parse_mode", "body", "tail"),
    [
        ("HTML", "&" * 5000, "&amp;…"),
        ("HTML", "가" * 5000, "가…"),
        ("plain", "&" * 5000, "&…"),
    ],
)
async def test_long_text_is_cut_to_4096_without_a_broken_entity(
    parse_mode: Literal["HTML", "plain"], body: str, tail: str
) -> None:
    route = await _send(_message(body), httpx.Response(200, json=OK), parse_mode)

    text = httpx.Response(200, content=route.calls.last.request.content).json()["text"]
    assert len(text) <= 4096
    assert text.endswith(tail)


@pytest.mark.parametrize(
    ("outcome", "retryable", "retry_after_s", "text"),
    [
        (
            httpx.Response(
                429,
                json={
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 17",
                    "parameters": {"retry_after": 17},
                },
                headers={"Retry-After": "99"},
            ),
            True,
            17.0,
            "tg: HTTP 429 (Too Many Requests: retry after 17)",
        ),
        (
            httpx.Response(429, json={"ok": False, "description": "Too Many Requests"}, headers={"Retry-After": "30"}),
            True,
            30.0,
            "tg: HTTP 429 (Too Many Requests)",
        ),
        (
            httpx.Response(
                403, json={"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
            ),
            False,
            None,
            "tg: HTTP 403 (Forbidden: bot was blocked by the user)",
        ),
        (
            httpx.Response(400, json={"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
            False,
            None,
            "tg: HTTP 400 (Bad Request: chat not found)",
        ),
        (
            httpx.Response(401, json={"ok": False, "error_code": 401, "description": "Unauthorized"}),
            False,
            None,
            "tg: HTTP 401 (Unauthorized)",
        ),
        (
            httpx.Response(
                400,
                json={
                    "ok": False,
                    "description": "Bad Request: group chat was upgraded to a supergroup chat",
                    "parameters": {"migrate_to_chat_id": -1001234},
                },
            ),
            False,
            None,
            "tg: HTTP 400 (Bad Request: group chat was upgraded to a supergroup chat; chat moved to -1001234)",
        ),
        (httpx.Response(502, text="<html>Bad Gateway</html>"), True, None, "tg: HTTP 502"),
        (httpx.Response(200, json={"ok": False}), False, None, "tg: answer without ok=true"),
        (httpx.ConnectTimeout("timed out"), True, None, "tg: ConnectTimeout"),
        (httpx.ReadError("connection reset"), True, None, "tg: ReadError"),
    ],
)
async def test_failure_mapping(
    outcome: httpx.Response | Exception, retryable: bool, retry_after_s: float | None, text: str
) -> None:
    with pytest.raises(DeliveryError) as caught:
        await _send(_message(), outcome)

    assert (str(caught.value), caught.value.retryable, caught.value.retry_after_s) == (text, retryable, retry_after_s)


@pytest.mark.parametrize(
    "outcome",
    [
        httpx.Response(429, json={"ok": False, "description": "Too Many Requests", "parameters": {"retry_after": 5}}),
        httpx.Response(403, json={"ok": False, "description": "Forbidden: bot was blocked by the user"}),
        httpx.Response(404, json={"ok": False, "description": f"Not Found: /bot{TOKEN}/sendMessage"}),
        httpx.Response(500, text=f"upstream error for {URL}"),
        httpx.ConnectError(f"cannot connect to {URL}"),
        httpx.ReadTimeout(f"read timed out: POST {URL}"),
    ],
)
async def test_token_never_in_error_traceback_logs_or_repr(outcome: httpx.Response | Exception) -> None:
    with capture_logs() as logs, pytest.raises(DeliveryError) as caught:
        await _send(_message(), outcome)

    leaked = [
        str(caught.value),
        repr(caught.value),
        "".join(traceback.format_exception(caught.value)),
        repr(logs),
        repr(_notifier(httpx.AsyncClient())),
    ]
    assert [TOKEN in text for text in leaked] == [False] * len(leaked)


async def test_success_logs_without_token() -> None:
    with capture_logs() as logs:
        await _send(_message(), httpx.Response(200, json=OK))

    assert logs == [{"event": "notify.sent", "channel": "tg", "kind": "telegram", "log_level": "debug"}]


@pytest.mark.parametrize(
    ("token", "chat_id"),
    [("", "4242"), (TOKEN, ""), (TOKEN, "   ")],
)
def test_rejects_empty_settings(token: str, chat_id: str) -> None:
    with pytest.raises(ValueError, match="telegram"):
        TelegramNotifier(
            name="tg", bot_token=SecretStr(token), chat_id=chat_id, client=httpx.AsyncClient(), now=lambda: NOW
        )


SELLER_CENTER = "https://wing.coupang.com/qna/1"
ACTION_KEYBOARD = [
    [{"text": "✅ 처리함", "callback_data": "inqd:handled:42"}],
    [
        {"text": "⏰ 1시간 뒤", "callback_data": "inqd:snooze1h:42"},
        {"text": "⏰ 3시간 뒤", "callback_data": "inqd:snooze3h:42"},
    ],
]


@pytest.mark.parametrize(
    ("actions", "message", "keyboard"),
    [
        (
            True,
            _message(click_url=SELLER_CENTER, inquiry_id=42),
            [*ACTION_KEYBOARD, [{"text": "판매자센터 열기", "url": SELLER_CENTER}]],
        ),
        (True, _message(inquiry_id=42), ACTION_KEYBOARD),
        (True, _message(click_url="javascript:alert(1)", inquiry_id=42), ACTION_KEYBOARD),
        # Without an inquiry, or with actions off, the message keeps today's single link button (or none).
        (True, _message(click_url=SELLER_CENTER), [[{"text": "열기", "url": SELLER_CENTER}]]),
        (
            False,
            _message(click_url=SELLER_CENTER, inquiry_id=42),
            [[{"text": "열기", "url": SELLER_CENTER}]],
        ),
        (
            True,
            _message(click_url=SELLER_CENTER, inquiry_id=-42),
            [[{"text": "열기", "url": SELLER_CENTER}]],
        ),
        (True, _message(inquiry_id=0), None),
        (True, _message(), None),
        (False, _message(inquiry_id=42), None),
    ],
)
async def test_action_keyboard(actions: bool, message: Message, keyboard: list[list[dict[str, str]]] | None) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        route = router.post(URL).mock(return_value=httpx.Response(200, json=OK))
        async with httpx.AsyncClient() as client:
            await _notifier(client, actions=actions).send(message)

    sent = httpx.Response(200, content=route.calls.last.request.content).json()
    assert sent.get("reply_markup") == (None if keyboard is None else {"inline_keyboard": keyboard})


def test_callback_data_stays_within_64_bytes() -> None:
    keyboard = _notifier(httpx.AsyncClient(), actions=True).payload(
        _message(inquiry_id=int("9" * 19))  # the largest SQLite row id has 19 digits
    )["reply_markup"]["inline_keyboard"]

    sizes = [len(button["callback_data"].encode()) for row in keyboard for button in row if "callback_data" in button]
    assert len(sizes) == 3
    assert max(sizes) <= CALLBACK_DATA_LIMIT == 64


def test_callback_data_over_64_bytes_is_refused() -> None:
    with pytest.raises(AssertionError, match="64-byte"):
        callback_data("snooze1h", "9" * 60)
