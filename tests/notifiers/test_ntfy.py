"""ntfy notifier: JSON publish shape, auth, sequence ids, status classification, no leaked secrets.

HTTP is faked at the edge with respx; time is a fixed instant. No network, no sleeping.
"""

from __future__ import annotations

import base64
import hashlib
import json
import traceback
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr
from structlog.testing import capture_logs

from aggregator.notifiers.base import DeliveryError
from aggregator.notifiers.ntfy import NtfyNotifier, is_public_unauthenticated
from core.http import make_client
from core.models import Message, MessageKind, Priority
from tests.notifiers.conftest import NOW, TRANSPORT_ERRORS, fail_with

SERVER = "https://ntfy.example.com"
ROOT = SERVER + "/"
TOPIC = "inqd-seller_7Kq2"
TOKEN = "tk_s3cr3tT0kenValue000000000000"
USER = "seller"
PASSWORD = "pa55-w0rd-very-secret"

MESSAGE = Message(
    kind=MessageKind.NEW_INQUIRY,
    title="[쿠팡] 새 상품문의",
    body="무선 블루투스 이어폰\n배송 언제 오나요?",
    priority=Priority.HIGH,
    tags=("warning",),
    click_url="https://wing.coupang.com/tenants/cs/inquiries",
    group_key="inq-12",
)


def notifier(client: httpx.AsyncClient, **overrides: Any) -> NtfyNotifier:
    kwargs: dict[str, Any] = {
        "name": "phone",
        "server_url": SERVER,
        "topic": TOPIC,
        "client": client,
        "now": lambda: NOW,
        **overrides,
    }
    return NtfyNotifier(**kwargs)


def sent_json(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


async def test_publishes_json_to_the_server_root(router: respx.MockRouter, client: httpx.AsyncClient) -> None:
    route = router.post(ROOT).respond(200, json={"id": "abc", "event": "message"})
    await notifier(client).send(MESSAGE)
    assert route.calls.last.request.headers["Content-Type"] == "application/json"
    assert sent_json(route) == {
        "topic": TOPIC,
        "title": "[쿠팡] 새 상품문의",
        "message": "무선 블루투스 이어폰\n배송 언제 오나요?",
        "priority": 4,
        "tags": ["warning"],
        "click": "https://wing.coupang.com/tenants/cs/inquiries",
        "sequence_id": "inq-12",
    }


@pytest.mark.parametrize(
    ("server_url", "expected_url"),
    [
        ("https://ntfy.example.com", "https://ntfy.example.com/"),
        ("https://ntfy.example.com/", "https://ntfy.example.com/"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
        ("https://example.com/ntfy/", "https://example.com/ntfy/"),
    ],
)
async def test_posts_to_the_root_not_the_topic_path(
    router: respx.MockRouter, client: httpx.AsyncClient, server_url: str, expected_url: str
) -> None:
    route = router.post(expected_url).respond(200, json={})
    await notifier(client, server_url=server_url).send(MESSAGE)
    assert str(route.calls.last.request.url) == expected_url


@pytest.mark.parametrize("priority", list(Priority))
async def test_priority_follows_the_message(
    router: respx.MockRouter, client: httpx.AsyncClient, priority: Priority
) -> None:
    route = router.post(ROOT).respond(200, json={})
    await notifier(client).send(Message(kind=MessageKind.SLA_BREACH, title="t", body="b", priority=priority))
    assert sent_json(route)["priority"] == int(priority)


@pytest.mark.parametrize(
    ("use_sequence_id", "group_key", "expected"),
    [
        (True, "inq-12", "inq-12"),
        (True, None, None),
        (False, "inq-12", None),
        (True, "문의:12", "g-" + hashlib.sha256("문의:12".encode()).hexdigest()[:40]),
        (True, "x" * 65, "g-" + hashlib.sha256(("x" * 65).encode()).hexdigest()[:40]),
    ],
)
async def test_sequence_id_comes_from_the_group_key(
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    use_sequence_id: bool,
    group_key: str | None,
    expected: str | None,
) -> None:
    route = router.post(ROOT).respond(200, json={})
    message = Message(kind=MessageKind.SLA_WARNING, title="t", body="b", group_key=group_key)
    await notifier(client, use_sequence_id=use_sequence_id).send(message)
    assert sent_json(route).get("sequence_id") == expected


async def test_click_is_left_out_when_absent(router: respx.MockRouter, client: httpx.AsyncClient) -> None:
    route = router.post(ROOT).respond(200, json={})
    await notifier(client).send(Message(kind=MessageKind.DIGEST, title="요약", body="3건"))
    assert "click" not in sent_json(route)


async def test_long_body_is_cut_to_the_message_limit(router: respx.MockRouter, client: httpx.AsyncClient) -> None:
    route = router.post(ROOT).respond(200, json={})
    await notifier(client).send(Message(kind=MessageKind.DIGEST, title="요약", body="가" * 3000))
    text = sent_json(route)["message"]
    assert (len(text.encode()) <= 4096, text.endswith("…"), text[:10]) == (True, True, "가" * 10)


@pytest.mark.parametrize(
    ("auth", "expected"),
    [
        ({}, None),
        ({"token": SecretStr(TOKEN)}, f"Bearer {TOKEN}"),
        (
            {"username": USER, "password": SecretStr(PASSWORD)},
            "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
        ),
        (
            {"username": "판매자", "password": SecretStr("비밀")},
            "Basic " + base64.b64encode("판매자:비밀".encode()).decode(),
        ),
    ],
)
async def test_auth_header(
    router: respx.MockRouter, client: httpx.AsyncClient, auth: dict[str, Any], expected: str | None
) -> None:
    route = router.post(ROOT).respond(200, json={})
    await notifier(client, **auth).send(MESSAGE)
    assert route.calls.last.request.headers.get("Authorization") == expected


@pytest.mark.parametrize("status", [200, 201, 204])
async def test_2xx_is_accepted(router: respx.MockRouter, client: httpx.AsyncClient, status: int) -> None:
    router.post(ROOT).respond(status)
    await notifier(client).send(MESSAGE)  # no DeliveryError


def ntfy_error(status: int, code: int, error: str) -> dict[str, Any]:
    return {"code": code, "http": status, "error": error, "link": "https://ntfy.sh/docs/"}


@pytest.mark.parametrize(
    ("status", "headers", "body", "retryable", "retry_after_s", "text"),
    [
        (500, {}, ntfy_error(500, 50001, "internal server error"), True, None, "phone: HTTP 500 (50001 internal"),
        (502, {}, None, True, None, "phone: HTTP 502"),
        (503, {"Retry-After": "20"}, None, True, 20.0, "phone: HTTP 503"),
        (
            429,
            {"Retry-After": "30"},
            ntfy_error(429, 42901, "limit reached: too many requests"),
            True,
            30.0,
            "42901 limit reached",
        ),
        (
            429,
            {},
            ntfy_error(429, 42908, "limit reached: daily message quota reached"),
            True,
            5.0,
            "42908 limit reached: daily message quota",
        ),
        (
            429,
            {"Retry-After": "Tue, 24 Nov 2026 05:01:00 GMT"},
            ntfy_error(429, 42909, "limit reached: too many auth failures"),
            True,
            60.0,
            "42909",
        ),
        (400, {}, ntfy_error(400, 40007, "invalid request: message is too large"), False, None, "HTTP 400 (40007"),
        (401, {}, ntfy_error(401, 40101, "unauthorized"), False, None, "phone: HTTP 401 (40101 unauthorized)"),
        (403, {}, ntfy_error(403, 40301, "forbidden"), False, None, "phone: HTTP 403 (40301 forbidden)"),
        (404, {}, None, False, None, "phone: HTTP 404"),
    ],
)
async def test_status_is_classified(
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    status: int,
    headers: dict[str, str],
    body: dict[str, Any] | None,
    retryable: bool,
    retry_after_s: float | None,
    text: str,
) -> None:
    router.post(ROOT).respond(status, headers=headers, json=body)
    with pytest.raises(DeliveryError) as caught:
        await notifier(client).send(MESSAGE)
    assert (caught.value.retryable, caught.value.retry_after_s) == (retryable, retry_after_s)
    assert text in str(caught.value)


@pytest.mark.parametrize(
    "error", [httpx.ConnectTimeout, httpx.ReadTimeout, httpx.ConnectError, httpx.RemoteProtocolError]
)
async def test_transport_failures_are_retryable(
    router: respx.MockRouter, client: httpx.AsyncClient, error: type[httpx.TransportError]
) -> None:
    router.post(ROOT).mock(side_effect=fail_with(error))
    with pytest.raises(DeliveryError) as caught:
        await notifier(client).send(MESSAGE)
    assert (caught.value.retryable, str(caught.value)) == (True, f"phone: {error.__name__}")


SECRET_CASES = [
    (401, {"code": 40101, "http": 401, "error": "unauthorized"}),
    (403, {"code": 40301, "http": 403, "error": f"forbidden for token {TOKEN} and {PASSWORD}"}),
    (429, {"code": 42909, "http": 429, "error": "limit reached: too many auth failures"}),
    (500, None),
]


@pytest.mark.parametrize(("status", "body"), SECRET_CASES)
@pytest.mark.parametrize(
    "auth", [{"token": SecretStr(TOKEN)}, {"username": USER, "password": SecretStr(PASSWORD)}], ids=["token", "basic"]
)
async def test_credentials_never_leak_into_errors_or_logs(
    router: respx.MockRouter,
    client: httpx.AsyncClient,
    auth: dict[str, Any],
    status: int,
    body: dict[str, Any] | None,
) -> None:
    router.post(ROOT).respond(status, json=body)
    with capture_logs() as logs, pytest.raises(DeliveryError) as caught:
        await notifier(client, **auth).send(MESSAGE)
    shown = "".join(traceback.format_exception(caught.value)) + repr(logs)
    assert (TOKEN in shown, PASSWORD in shown) == (False, False)


@pytest.mark.parametrize("error", TRANSPORT_ERRORS)
async def test_credentials_never_leak_on_transport_failure(error: type[httpx.TransportError]) -> None:
    # A bare MockTransport: respx would add its own route repr to the exception chain.
    async with make_client(transport=httpx.MockTransport(fail_with(error))) as client:
        with capture_logs() as logs, pytest.raises(DeliveryError) as caught:
            await notifier(client, token=SecretStr(TOKEN)).send(MESSAGE)
    assert TOKEN not in "".join(traceback.format_exception(caught.value)) + repr(logs)


@pytest.mark.parametrize(
    ("server_url", "token", "username", "expected"),
    [
        ("https://ntfy.sh", None, None, True),
        ("https://ntfy.sh/", None, None, True),
        ("https://NTFY.SH", None, None, True),
        ("ntfy.sh", None, None, True),
        ("http://ntfy.sh:80", None, None, True),
        ("https://ntfy.sh", SecretStr(""), "", True),
        ("https://ntfy.sh", SecretStr(TOKEN), None, False),
        ("https://ntfy.sh", None, USER, False),
        ("https://ntfy.example.com", None, None, False),
        ("https://ntfy.sh.example.com", None, None, False),
        ("http://127.0.0.1:8080", None, None, False),
    ],
)
def test_is_public_unauthenticated(
    server_url: str, token: SecretStr | None, username: str | None, expected: bool
) -> None:
    assert is_public_unauthenticated(server_url, token, username) is expected


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"topic": ""}, "topic"),
        ({"topic": "seller alerts"}, "topic"),
        ({"topic": "판매자"}, "topic"),
        ({"topic": "a/b"}, "topic"),
        ({"topic": "x" * 65}, "topic"),
        ({"server_url": "ntfy.example.com"}, "server_url"),
        ({"server_url": "ftp://ntfy.example.com"}, "server_url"),
        ({"token": SecretStr(TOKEN), "username": USER, "password": SecretStr(PASSWORD)}, "not both"),
        ({"username": USER}, "go together"),
        ({"password": SecretStr(PASSWORD)}, "go together"),
        ({"token": SecretStr("")}, "token"),
        ({"token": SecretStr("tk_토큰")}, "token"),
    ],
)
async def test_bad_settings_are_refused(client: httpx.AsyncClient, overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match) as caught:
        notifier(client, **overrides)
    assert (TOKEN in str(caught.value), PASSWORD in str(caught.value)) == (False, False)


@pytest.mark.parametrize("topic", ["a", "x" * 64, "inqd-seller_7Kq2", "ABC-def_123"])
async def test_valid_topics_are_accepted(client: httpx.AsyncClient, topic: str) -> None:
    assert notifier(client, topic=topic).kind == "ntfy"


async def test_aclose_closes_the_client() -> None:
    client = make_client()
    await notifier(client).aclose()
    assert client.is_closed


async def test_clear_puts_to_the_sequence_id_with_auth(router: respx.MockRouter, client: httpx.AsyncClient) -> None:
    route = router.put(f"{SERVER}/{TOPIC}/inq-12/clear").respond(200, json={"event": "message_clear"})
    assert await notifier(client, token=SecretStr(TOKEN)).clear("inq-12") is True
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert route.calls.last.request.content == b""


async def test_clear_on_a_server_without_updates_is_reported_once_not_retried(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    router.put(f"{SERVER}/{TOPIC}/inq-12/clear").respond(404, json={"code": 40401, "http": 404, "error": "not found"})
    phone = notifier(client)
    with capture_logs() as logs:
        assert await phone.clear("inq-12") is False
        assert await phone.clear("inq-12") is False
    assert [entry["event"] for entry in logs] == ["ntfy.clear_unsupported"]


@pytest.mark.parametrize(("status", "retryable"), [(503, True), (429, True), (401, False), (403, False)])
async def test_clear_failures_are_classified_like_publishes(
    router: respx.MockRouter, client: httpx.AsyncClient, status: int, retryable: bool
) -> None:
    router.put(f"{SERVER}/{TOPIC}/inq-12/clear").respond(status, json={"code": status * 100, "error": TOKEN})
    with pytest.raises(DeliveryError) as caught:
        await notifier(client, token=SecretStr(TOKEN)).clear("inq-12")
    assert caught.value.retryable is retryable
    assert TOKEN not in str(caught.value)
    assert TOPIC not in str(caught.value)
