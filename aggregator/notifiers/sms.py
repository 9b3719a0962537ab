"""Solapi (formerly CoolSMS): one SMS or LMS per notification to the seller's phone.

Korean carriers count bytes in EUC-KR: up to 90 bytes is an SMS, longer text goes as an LMS (up to 2,000 bytes,
with a subject). Each request is signed with HMAC-SHA256 over date + a fresh salt, because Solapi refuses a
signature it has seen in the last 15 minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx
import structlog
from pydantic import SecretStr

from aggregator.notifiers.base import DeliveryError, raise_for_delivery, transport_failure
from core.http import json_object
from core.models import Message

__all__ = ["SolapiSmsNotifier", "solapi_authorization"]

log = structlog.get_logger(__name__)

SEND_PATH = "/messages/v4/send-many/detail"
SMS_LIMIT_BYTES = 90
LMS_LIMIT_BYTES = 2000
SUBJECT_LIMIT_CHARS = 20
DETAIL_LIMIT = 200
ENCODING = "euc-kr"
ELLIPSIS = "…"
_PHONE = re.compile(r"\d{8,11}")  # 1588xxxx .. 010xxxxxxxx
_PHONE_PUNCTUATION = re.compile(r"[\s\-.()]")


def solapi_authorization(api_key: str, api_secret: SecretStr, date_iso: str, salt: str) -> str:
    """The Authorization header value: HMAC-SHA256 of date + salt keyed with the API secret, lowercase hex."""
    signature = hmac.new(api_secret.get_secret_value().encode(), (date_iso + salt).encode(), hashlib.sha256).hexdigest()
    return f"HMAC-SHA256 apiKey={api_key}, date={date_iso}, salt={salt}, signature={signature}"


def euc_kr_len(text: str) -> int:
    """Bytes of `text` as carriers count them (EUC-KR; a character outside it counts as one `?`)."""
    return len(text.encode(ENCODING, errors="replace"))


def cut_bytes(text: str, limit: int) -> str:
    """`text` cut on a character boundary to at most `limit` EUC-KR bytes, with an ellipsis if it was cut."""
    if euc_kr_len(text) <= limit:
        return text
    budget = limit - euc_kr_len(ELLIPSIS)
    size = 0
    for index, char in enumerate(text):
        size += euc_kr_len(char)
        if size > budget:
            return text[:index] + ELLIPSIS
    return text  # unreachable: the whole text was longer than the limit


def normalize_phone(value: str, *, field: str) -> str:
    """Digits only; hyphens and spaces are dropped. ValueError names the field, never the number."""
    digits = _PHONE_PUNCTUATION.sub("", value)
    if not _PHONE.fullmatch(digits):
        raise ValueError(f"sms {field} must be a Korean phone number of 8-11 digits, e.g. 01012345678")
    return digits


class SolapiSmsNotifier:
    """Sends each message as one SMS/LMS from a registered sender number to the seller's phone."""

    kind: ClassVar[str] = "sms"

    def __init__(
        self,
        *,
        name: str,
        api_key: str,
        api_secret: SecretStr,
        sender: str,
        recipient: str,
        client: httpx.AsyncClient,
        now: Callable[[], datetime],
        salt: Callable[[], str] | None = None,
        base_url: str = "https://api.solapi.com",
    ) -> None:
        if not api_key.strip() or not api_secret.get_secret_value():
            raise ValueError("sms api_key and api_secret must not be empty")
        self.name = name
        self._api_key = api_key.strip()
        self._api_secret = api_secret
        self._sender = normalize_phone(sender, field="sender")
        self._recipient = normalize_phone(recipient, field="recipient")
        self._client = client
        self._now = now
        self._salt = salt or (lambda: secrets.token_hex(16))
        self._url = base_url.rstrip("/") + SEND_PATH

    def __repr__(self) -> str:
        return f"SolapiSmsNotifier(name={self.name!r}, api_key={self._api_key!r})"

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    def payload(self, message: Message) -> dict[str, Any]:
        """The send-many/detail JSON body: an SMS if the text fits 90 EUC-KR bytes, else an LMS with a subject."""
        text = f"{message.title}\n{message.body}"
        entry: dict[str, Any] = {"to": self._recipient, "from": self._sender}
        if euc_kr_len(text) <= SMS_LIMIT_BYTES:
            entry |= {"text": text, "type": "SMS"}
        else:
            entry |= {
                "text": cut_bytes(text, LMS_LIMIT_BYTES),
                "type": "LMS",
                "subject": message.title[:SUBJECT_LIMIT_CHARS],
            }
        return {"messages": [entry]}

    async def send(self, message: Message) -> None:
        """POST one message; raise DeliveryError (5xx/429 retry, 4xx and per-message failures permanent)."""
        body = self.payload(message)
        now = self._now()
        headers = {
            "Authorization": solapi_authorization(
                self._api_key, self._api_secret, now.isoformat(timespec="seconds"), self._salt()
            )
        }
        try:
            response = await self._client.post(self._url, json=body, headers=headers)
        except httpx.HTTPError as err:
            raise transport_failure(err, channel=self.name) from err
        answer = json_object(response)
        detail = _join(answer.get("errorCode"), answer.get("errorMessage"))
        raise_for_delivery(response, channel=self.name, now=now, detail=self._scrub(detail))
        failed = _failed_detail(answer)
        if failed is not None:
            raise DeliveryError(f"{self.name}: message refused ({self._scrub(failed)})", retryable=False)
        log.debug("notify.sent", channel=self.name, kind=self.kind, type=body["messages"][0]["type"])

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_secret.get_secret_value(), "**********")[:DETAIL_LIMIT]


def _failed_detail(answer: Mapping[str, Any]) -> str | None:
    """Why Solapi accepted the request but not the message (e.g. 1062 unregistered sender), or None."""
    failed_list = answer.get("failedMessageList")
    group = answer.get("groupInfo")
    count = group.get("count") if isinstance(group, Mapping) else None
    registered_failed = count.get("registeredFailed") if isinstance(count, Mapping) else None
    if failed_list and isinstance(failed_list, list):
        first = failed_list[0] if isinstance(failed_list[0], Mapping) else {}
        return _join(first.get("statusCode"), first.get("statusMessage")) or "failedMessageList not empty"
    if isinstance(registered_failed, int) and registered_failed > 0:
        return f"registeredFailed={registered_failed}"
    return None


def _join(code: object, text: object) -> str:
    return ": ".join(str(part) for part in (code, text) if part not in (None, ""))
