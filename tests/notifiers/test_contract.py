"""One contract every notifier passes (Alertmanager's Retrier + AssertNotifyLeaksNoSecret, apprise's URL tester):
2xx accepted; 5xx and timeouts retryable; 429 retryable with Retry-After; other 4xx permanent; no secret in any
error or log line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr
from structlog.testing import capture_logs

from aggregator.notifiers.base import DeliveryError, Notifier
from aggregator.notifiers.ntfy import NtfyNotifier
from aggregator.notifiers.sms import SolapiSmsNotifier
from aggregator.notifiers.telegram import TelegramNotifier
from aggregator.notifiers.webhook import WebhookNotifier
from core.models import Message, MessageKind, Priority

NOW = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
CANARY = "canary-0123456789-secret"
MESSAGE = Message(
    kind=MessageKind.NEW_INQUIRY,
    title="[쿠팡] 새 상품문의",
    body="배송 언제 오나요?",
    priority=Priority.HIGH,
    group_key="inq-1",
)


@dataclass(frozen=True)
class Case:
    """How to build one notifier around the canary secret, where it posts, and what its 2xx body is."""

    name: str
    build: Callable[[httpx.AsyncClient], Notifier]
    url: str
    ok_body: dict[str, Any]


def _now() -> datetime:
    return NOW


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
            router.post(case.url).mock(side_effect=[response])
            try:
                await notifier.send(MESSAGE)
                error: DeliveryError | None = None
            except DeliveryError as err:
                error = err
    seen = None if error is None else (error.retryable, error.retry_after_s)
    assert seen == (None if retryable is None else (retryable, retry_after))
    assert CANARY not in f"{error} {error!r} {logs} {notifier!r}"
