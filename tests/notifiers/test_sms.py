"""SolapiSmsNotifier against a respx-mocked Solapi: signature, SMS/LMS choice, failure mapping, no secret leaks."""

from __future__ import annotations

import hashlib
import hmac
import re
import traceback
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr
from structlog.testing import capture_logs

from aggregator.notifiers.base import DeliveryError
from aggregator.notifiers.sms import SolapiSmsNotifier, solapi_authorization
from core.models import Message, MessageKind
from tests.notifiers.conftest import NOW

DATE = "2026-11-24T14:00:00+09:00"
SALT = "0123456789abcdef0123456789abcdef"
API_KEY = "NCSAYU7YDBXYORXC"
SECRET = "S3CR3T-solapi-api-secret-VALUE"
URL = "https://api.solapi.com/messages/v4/send-many/detail"
OK = {
    "groupInfo": {"count": {"total": 1, "registeredSuccess": 1, "registeredFailed": 0}},
    "failedMessageList": [],
    "messageList": [{"messageId": "M4V1", "statusCode": "2000"}],
}
HEADER = re.compile(
    r"HMAC-SHA256 apiKey=(?P<key>[^,]+), date=(?P<date>[^,]+), salt=(?P<salt>[^,]+), signature=(?P<sig>[0-9a-f]{64})"
)


def _independent_signature(secret: str, date: str, salt: str) -> str:
    return hmac.new(secret.encode("utf-8"), f"{date}{salt}".encode(), hashlib.sha256).hexdigest()


def _notifier(
    client: httpx.AsyncClient,
    *,
    salt: Callable[[], str] | None = lambda: SALT,
    sender: str = "02-1234-5678",
    recipient: str = "010-9876-5432",
) -> SolapiSmsNotifier:
    return SolapiSmsNotifier(
        name="sms",
        api_key=API_KEY,
        api_secret=SecretStr(SECRET),
        sender=sender,
        recipient=recipient,
        client=client,
        now=lambda: NOW,
        salt=salt,
    )


def _message(title: str = "새 문의", body: str = "배송 언제?") -> Message:
    return Message(kind=MessageKind.NEW_INQUIRY, title=title, body=body)


async def _send(
    messages: list[Message], outcomes: list[httpx.Response | Exception], salt: Callable[[], str] | None = lambda: SALT
) -> respx.Route:
    """Send each message against a mocked Solapi answering `outcomes` in turn; return the route."""
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        route = router.post(URL).mock(side_effect=outcomes)
        async with httpx.AsyncClient() as client:
            notifier = _notifier(client, salt=salt)
            for message in messages:
                await notifier.send(message)
    return route


def _json(request: httpx.Request) -> Any:
    return httpx.Response(200, content=request.content).json()


@pytest.mark.parametrize(
    ("api_key", "secret", "date", "salt"),
    [
        (API_KEY, SECRET, DATE, SALT),
        ("KEY2", "다른-비밀", "2026-01-01T00:00:00Z", "a1b2c3d4e5f6"),
    ],
)
def test_authorization_matches_an_independent_hmac(api_key: str, secret: str, date: str, salt: str) -> None:
    expected = (
        f"HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, "
        f"signature={_independent_signature(secret, date, salt)}"
    )

    assert solapi_authorization(api_key, SecretStr(secret), date, salt) == expected


async def test_request_is_signed_with_date_and_salt() -> None:
    route = await _send([_message()], [httpx.Response(200, json=OK)])

    header = HEADER.fullmatch(route.calls.last.request.headers["Authorization"])
    assert header is not None
    assert header.groupdict() == {
        "key": API_KEY,
        "date": DATE,
        "salt": SALT,
        "sig": _independent_signature(SECRET, DATE, SALT),
    }


async def test_every_request_gets_a_new_salt() -> None:
    route = await _send([_message(), _message()], [httpx.Response(200, json=OK), httpx.Response(200, json=OK)], None)

    headers = [HEADER.fullmatch(call.request.headers["Authorization"]) for call in route.calls]
    salts = {match["salt"] for match in headers if match is not None}
    assert (len(headers), len(salts)) == (2, 2)
    assert [m["sig"] == _independent_signature(SECRET, DATE, m["salt"]) for m in headers if m] == [True, True]


@pytest.mark.parametrize(
    ("title", "body", "extra"),
    [
        # "새 문의" = 7 bytes, "\n" = 1, each Hangul syllable 2 bytes in EUC-KR
        ("새 문의", "가" * 41, {"text": "새 문의\n" + "가" * 41, "type": "SMS"}),
        ("새 문의", "가" * 42, {"text": "새 문의\n" + "가" * 42, "type": "LMS", "subject": "새 문의"}),
        ("new", "a" * 86, {"text": "new\n" + "a" * 86, "type": "SMS"}),
        ("new", "a" * 87, {"text": "new\n" + "a" * 87, "type": "LMS", "subject": "new"}),
        ("가" * 30, "짧음", {"text": "가" * 30 + "\n짧음", "type": "SMS"}),
        ("가" * 30, "나" * 15, {"text": "가" * 30 + "\n" + "나" * 15, "type": "LMS", "subject": "가" * 20}),
    ],
)
async def test_sms_or_lms_by_euc_kr_bytes(title: str, body: str, extra: dict[str, str]) -> None:
    route = await _send([_message(title, body)], [httpx.Response(200, json=OK)])

    assert _json(route.calls.last.request) == {"messages": [{"to": "01098765432", "from": "0212345678", **extra}]}


async def test_lms_text_is_cut_to_2000_bytes() -> None:
    route = await _send([_message(body="가" * 1500)], [httpx.Response(200, json=OK)])

    text = _json(route.calls.last.request)["messages"][0]["text"]
    assert len(text.encode("euc-kr")) <= 2000
    assert text.endswith("가…")


@pytest.mark.parametrize(
    ("sender", "recipient"),
    [
        ("", "01098765432"),
        ("0212345678", "+82 10 9876 5432"),
        ("0212345678", "010-98"),
        ("0212345678", "010987654321"),
        ("02-CALL-ME", "01098765432"),
    ],
)
def test_rejects_malformed_phone_numbers(sender: str, recipient: str) -> None:
    with pytest.raises(ValueError, match=r"sms (sender|recipient) must be"):
        _notifier(httpx.AsyncClient(), sender=sender, recipient=recipient)


@pytest.mark.parametrize(
    ("outcome", "retryable", "retry_after_s", "text"),
    [
        (
            httpx.Response(
                403, json={"errorCode": "SignatureDoesNotMatch", "errorMessage": "서명이 일치하지 않습니다."}
            ),
            False,
            None,
            "sms: HTTP 403 (SignatureDoesNotMatch: 서명이 일치하지 않습니다.)",
        ),
        (
            httpx.Response(403, json={"errorCode": "InvalidAPIKey", "errorMessage": "Invalid API Key"}),
            False,
            None,
            "sms: HTTP 403 (InvalidAPIKey: Invalid API Key)",
        ),
        (
            httpx.Response(403, json={"errorCode": "RequestTimeTooSkewed", "errorMessage": "date is skewed"}),
            False,
            None,
            "sms: HTTP 403 (RequestTimeTooSkewed: date is skewed)",
        ),
        (
            httpx.Response(400, json={"errorCode": "ValidationError", "errorMessage": "to is required"}),
            False,
            None,
            "sms: HTTP 400 (ValidationError: to is required)",
        ),
        (
            httpx.Response(429, json={"errorCode": "TooManyRequests"}, headers={"Retry-After": "60"}),
            True,
            60.0,
            "sms: HTTP 429 (TooManyRequests)",
        ),
        (httpx.Response(503, text="maintenance"), True, None, "sms: HTTP 503"),
        (
            httpx.Response(
                200,
                json={
                    "groupInfo": {"count": {"total": 1, "registeredFailed": 1}},
                    "failedMessageList": [
                        {
                            "to": "01098765432",
                            "from": "0212345678",
                            "statusCode": "1062",
                            "statusMessage": "발신번호 미등록",
                        }
                    ],
                },
            ),
            False,
            None,
            "sms: message refused (1062: 발신번호 미등록)",
        ),
        (
            httpx.Response(200, json={"groupInfo": {"count": {"total": 1, "registeredFailed": 1}}}),
            False,
            None,
            "sms: message refused (registeredFailed=1)",
        ),
        (httpx.ConnectTimeout("timed out"), True, None, "sms: ConnectTimeout"),
    ],
)
async def test_failure_mapping(
    outcome: httpx.Response | Exception, retryable: bool, retry_after_s: float | None, text: str
) -> None:
    with pytest.raises(DeliveryError) as caught:
        await _send([_message()], [outcome])

    assert (str(caught.value), caught.value.retryable, caught.value.retry_after_s) == (text, retryable, retry_after_s)


@pytest.mark.parametrize(
    "outcome",
    [
        httpx.Response(403, json={"errorCode": "SignatureDoesNotMatch", "errorMessage": f"bad secret {SECRET}"}),
        httpx.Response(500, json={"errorCode": "InternalError", "errorMessage": "oops"}),
        httpx.Response(
            200,
            json={
                "groupInfo": {"count": {"registeredFailed": 1}},
                "failedMessageList": [{"statusCode": "3059", "statusMessage": f"echo {SECRET}"}],
            },
        ),
        httpx.ReadError("connection reset"),
    ],
)
async def test_secret_never_in_error_traceback_logs_or_repr(outcome: httpx.Response | Exception) -> None:
    with capture_logs() as logs, pytest.raises(DeliveryError) as caught:
        await _send([_message()], [outcome])

    leaked = [
        str(caught.value),
        repr(caught.value),
        "".join(traceback.format_exception(caught.value)),
        repr(logs),
        repr(_notifier(httpx.AsyncClient())),
    ]
    assert [SECRET in text for text in leaked] == [False] * len(leaked)


async def test_success_logs_channel_and_type_only() -> None:
    with capture_logs() as logs:
        await _send([_message()], [httpx.Response(200, json=OK)])

    assert logs == [{"event": "notify.sent", "channel": "sms", "kind": "sms", "type": "SMS", "log_level": "debug"}]
