"""Webhook notifier: generic / Slack / Discord shapes, status classification, the URL never leaks.

HTTP is faked at the edge with respx; time is a fixed instant. No network, no sleeping.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr
from structlog.testing import capture_logs

from aggregator.notifiers.base import DeliveryError
from aggregator.notifiers.webhook import WebhookNotifier, WebhookStyle
from core.http import make_client
from core.models import Message, MessageKind, Priority
from tests.notifiers.conftest import NOW, TRANSPORT_ERRORS, fail_with

SECRET_PATH = "/services/T0AAAAAAA/B0BBBBBBB/xoxSeCrEtWebhookToken123"
URL = "https://hooks.example.com" + SECRET_PATH

MESSAGE = Message(
    kind=MessageKind.SLA_WARNING,
    title="[스마트스토어] 답변 기한 30분 남음",
    body="무선 블루투스 이어폰\n배송 언제 오나요?",
    priority=Priority.HIGH,
    tags=("warning",),
    click_url="https://sell.smartstore.naver.com/#/comment",
    group_key="inq-12",
)


def notifier(client: httpx.AsyncClient, *, style: WebhookStyle = "generic", url: str = URL) -> WebhookNotifier:
    return WebhookNotifier(name="hook", url=SecretStr(url), client=client, now=lambda: NOW, style=style)


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


@pytest.mark.parametrize(
    ("style", "message", "expected"),
    [
        (
            "generic",
            MESSAGE,
            {
                "kind": "sla_warning",
                "title": "[스마트스토어] 답변 기한 30분 남음",
                "body": "무선 블루투스 이어폰\n배송 언제 오나요?",
                "priority": 4,
                "tags": ["warning"],
                "click": "https://sell.smartstore.naver.com/#/comment",
                "group": "inq-12",
            },
        ),
        (
            "generic",
            Message(kind=MessageKind.DIGEST, title="요약", body="3건", priority=Priority.DEFAULT),
            {
                "kind": "digest",
                "title": "요약",
                "body": "3건",
                "priority": 3,
                "tags": [],
                "click": None,
                "group": None,
            },
        ),
        ("slack", MESSAGE, {"text": "*[스마트스토어] 답변 기한 30분 남음*\n무선 블루투스 이어폰\n배송 언제 오나요?"}),
        (
            "slack",
            Message(kind=MessageKind.NEW_INQUIRY, title="A&B <새 문의>", body="1 < 2 > 0 & <!channel>"),
            {"text": "*A&amp;B &lt;새 문의&gt;*\n1 &lt; 2 &gt; 0 &amp; &lt;!channel&gt;"},
        ),
        (
            "discord",
            MESSAGE,
            {
                "content": "**[스마트스토어] 답변 기한 30분 남음**\n무선 블루투스 이어폰\n배송 언제 오나요?",
                "allowed_mentions": {"parse": []},
            },
        ),
    ],
)
async def test_payload_shape(
    router: respx.MockRouter, client: httpx.AsyncClient, style: WebhookStyle, message: Message, expected: Any
) -> None:
    route = router.post(URL).respond(200, text="ok")
    await notifier(client, style=style).send(message)
    assert (route.calls.last.request.headers["Content-Type"], sent_json(route)) == ("application/json", expected)


@pytest.mark.parametrize(
    ("body", "expected_len", "expected_end"),
    [
        ("가" * 1990, 1997, "가"),
        ("가" * 1993, 2000, "가"),
        ("가" * 1994, 2000, "…"),
        ("가" * 5000, 2000, "…"),
    ],
)
async def test_discord_content_is_cut_to_2000_chars(
    router: respx.MockRouter, client: httpx.AsyncClient, body: str, expected_len: int, expected_end: str
) -> None:
    route = router.post(URL).respond(204)
    await notifier(client, style="discord").send(Message(kind=MessageKind.DIGEST, title="요약", body=body))
    content = sent_json(route)["content"]
    assert (len(content), content[-1], content[:6]) == (expected_len, expected_end, "**요약**")


@pytest.mark.parametrize("status", [200, 201, 202, 204])
async def test_2xx_is_accepted(router: respx.MockRouter, client: httpx.AsyncClient, status: int) -> None:
    router.post(URL).respond(status)
    await notifier(client).send(MESSAGE)  # no DeliveryError


@pytest.mark.parametrize(
    ("status", "headers", "text", "retryable", "retry_after_s", "shown"),
    [
        (500, {}, "", True, None, "hook: HTTP 500"),
        (502, {}, "bad gateway", True, None, "hook: HTTP 502 (bad gateway)"),
        (503, {"Retry-After": "15"}, "", True, 15.0, "hook: HTTP 503"),
        (
            429,
            {"Retry-After": "2.5"},
            '{"message": "You are being rate limited.", "retry_after": 2.5}',
            True,
            2.5,
            "429",
        ),
        (429, {"Retry-After": "Tue, 24 Nov 2026 05:00:30 GMT"}, "", True, 30.0, "hook: HTTP 429"),
        (400, {}, "invalid_payload", False, None, "hook: HTTP 400 (invalid_payload)"),
        (401, {}, "", False, None, "hook: HTTP 401"),
        (403, {}, "invalid_token", False, None, "hook: HTTP 403 (invalid_token)"),
        (404, {}, "no_service", False, None, "hook: HTTP 404 (no_service)"),
        (410, {}, "channel_is_archived", False, None, "hook: HTTP 410 (channel_is_archived)"),
    ],
)
async def test_status_is_classified(
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    status: int,
    headers: dict[str, str],
    text: str,
    retryable: bool,
    retry_after_s: float | None,
    shown: str,
) -> None:
    router.post(URL).respond(status, headers=headers, text=text)
    with pytest.raises(DeliveryError) as caught:
        await notifier(client, style="slack").send(MESSAGE)
    assert (caught.value.retryable, caught.value.retry_after_s) == (retryable, retry_after_s)
    assert shown in str(caught.value)


@pytest.mark.parametrize(
    "error", [httpx.ConnectTimeout, httpx.ReadTimeout, httpx.ConnectError, httpx.RemoteProtocolError]
)
async def test_transport_failures_are_retryable(
    router: respx.MockRouter, client: httpx.AsyncClient, error: type[httpx.TransportError]
) -> None:
    router.post(URL).mock(side_effect=fail_with(error))
    with pytest.raises(DeliveryError) as caught:
        await notifier(client).send(MESSAGE)
    assert (caught.value.retryable, str(caught.value)) == (True, f"hook: {error.__name__}")


@pytest.mark.parametrize(
    ("url", "status", "text"),
    [
        (URL, 404, f"no such webhook: {URL}"),
        (URL, 400, f"bad request to {SECRET_PATH}"),
        (URL, 403, "token xoxSeCrEtWebhookToken123 revoked"),
        (URL, 500, f"<html>upstream {URL} failed</html>"),
        (URL, 429, ""),
        ("https://hooks.example.com/hook?token=qUeRySeCrEt987", 401, "token=qUeRySeCrEt987 is invalid"),
        ("https://hooks.example.com/hook?token=qUeRySeCrEt987", 401, "qUeRySeCrEt987 is invalid"),
    ],
)
@pytest.mark.parametrize("style", ["generic", "slack", "discord"])
async def test_url_never_leaks_into_errors_or_logs(
    router: respx.MockRouter, client: httpx.AsyncClient, style: WebhookStyle, url: str, status: int, text: str
) -> None:
    router.post(url).respond(status, text=text)
    secret = url.split("/")[-1].split("=")[-1]
    with capture_logs() as logs, pytest.raises(DeliveryError) as caught:
        await notifier(client, style=style, url=url).send(MESSAGE)
    shown = "".join(traceback.format_exception(caught.value)) + repr(logs)
    assert (secret in shown, "hooks.example.com" in shown) == (False, False)


@pytest.mark.parametrize("error", TRANSPORT_ERRORS)
async def test_url_never_leaks_on_transport_failure(error: type[httpx.TransportError]) -> None:
    # A bare MockTransport: respx would add its own route repr (with the URL) to the exception chain.
    async with make_client(transport=httpx.MockTransport(fail_with(error))) as client:
        with capture_logs() as logs, pytest.raises(DeliveryError) as caught:
            await notifier(client).send(MESSAGE)
    assert "xoxSeCrEtWebhookToken123" not in "".join(traceback.format_exception(caught.value)) + repr(logs)


@pytest.mark.parametrize(
    "url", ["hooks.example.com/services/xoxSeCrEtWebhookToken123", "ftp://hooks.example.com/xoxSeCrEtWebhookToken123"]
)
async def test_bad_url_is_refused_without_echoing_it(client: httpx.AsyncClient, url: str) -> None:
    with pytest.raises(ValueError, match="webhook url") as caught:
        notifier(client, url=url)
    assert "xoxSeCrEtWebhookToken123" not in str(caught.value)


async def test_unknown_style_is_refused(client: httpx.AsyncClient) -> None:
    with pytest.raises(ValueError, match="style"):
        WebhookNotifier(name="hook", url=SecretStr(URL), client=client, now=lambda: NOW, style="teams")  # type: ignore[arg-type]


async def test_aclose_closes_the_client() -> None:
    client = make_client()
    await notifier(client).aclose()
    assert client.is_closed
