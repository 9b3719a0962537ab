"""ntfy channel: one JSON publish per message to the server root (ntfy.sh or self-hosted).

A message with a picture (the weekly chart) is published the way ntfy's docs attach a local file instead: `PUT
/<topic>` with the picture as the body, its name in `Filename`, the text in the `Title` and `Message` headers. The
JSON form attaches only by URL (`attach`), and the picture lives on no URL the phone can reach. httpx sends ASCII
headers only, so Korean text travels as RFC 2047 encoded words (`=?utf-8?b?...?=`), which ntfy decodes (its
`readHeaderParam` -> `maybeDecodeHeader`; ntfy 2.4 and later by third-party account, UNCONFIRMED on older servers,
which would show the encoded text). A server that refuses the attachment gets the text alone as JSON.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from email.charset import Charset
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx
import structlog
from pydantic import SecretStr

from aggregator.notifiers.action_links import ActionLinks
from aggregator.notifiers.base import DeliveryError, raise_for_delivery, transport_failure
from core.models import Message

log = structlog.get_logger(__name__)

# binwiederhier/ntfy server/server.go `topicRegex`
_TOPIC = re.compile(r"[-_A-Za-z0-9]{1,64}")
# ntfy's visitor bucket refills one request per 5 s and ntfy sends no Retry-After, so a bare 429 waits that long.
_RATE_LIMIT_FLOOR_S = 5.0
# Longer messages are turned into attachments by the server, which the lock screen does not show.
_MESSAGE_LIMIT_BYTES = 4096
_DETAIL_MAX_CHARS = 120
_PUBLIC_HOSTS = frozenset({"ntfy.sh"})
# ntfy's refusals of an attachment (binwiederhier/ntfy server/errors.go): 40014 attachments not allowed (no
# attachment cache on the server), 41301 too large or bandwidth reached (HTTP 413), 42905 daily attachment bandwidth.
_ATTACHMENT_REFUSED_CODES = frozenset({40014, 41301, 42905})
_UTF8 = Charset("utf-8")
# Bytes of text per encoded word: base64 of 45 bytes plus `=?utf-8?b?` and `?=` stays within RFC 2047's 75 characters.
_WORD_BYTES = 45


def is_public_unauthenticated(server_url: str, token: SecretStr | None, username: str | None) -> bool:
    """True when publishing to ntfy.sh with no credentials: anyone who guesses the topic can read the alerts."""
    parts = urlsplit(server_url if "://" in server_url else f"https://{server_url}")
    host = (parts.hostname or "").rstrip(".")
    has_token = token is not None and bool(token.get_secret_value())
    return host in _PUBLIC_HOSTS and not has_token and not username


class NtfyNotifier:
    """Publishes to an ntfy topic; Korean titles travel in the JSON body because httpx rejects non-ASCII headers."""

    kind: ClassVar[str] = "ntfy"
    shows_images: ClassVar[bool] = True

    def __init__(
        self,
        *,
        name: str,
        server_url: str,
        topic: str,
        client: httpx.AsyncClient,
        now: Callable[[], datetime],
        token: SecretStr | None = None,
        username: str | None = None,
        password: SecretStr | None = None,
        use_sequence_id: bool = True,
        action_links: ActionLinks | None = None,
    ) -> None:
        # The topic is the only secret of an unauthenticated topic, so errors never echo it.
        if not _TOPIC.fullmatch(topic):
            raise ValueError("ntfy topic must be 1-64 characters of A-Z, a-z, 0-9, '-' or '_'")
        parts = urlsplit(server_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("ntfy server_url must be an http(s) URL with a host")
        self.name = name
        self._url = server_url.rstrip("/") + "/"
        self._topic = topic
        self._client = client
        self._now = now
        self._use_sequence_id = use_sequence_id
        self._secrets = _secret_values(token, password)
        self._headers = _auth_headers(token, username, password)
        self._clear_unsupported_logged = False
        self._action_links = action_links  # set when the admin API is reachable from the phone (public_url + token)

    async def send(self, message: Message) -> None:
        """Publish `message` (with its picture attached when it has one, the text alone if the server refuses the
        attachment); raise DeliveryError classified by status (5xx/429 retry, other 4xx permanent)."""
        if message.image:
            response = await self._request(
                "PUT", f"{self._url}{self._topic}", content=message.image, headers=self._attachment_headers(message)
            )
            code, _ = self._error_detail(response)
            if response.status_code != 413 and code not in _ATTACHMENT_REFUSED_CODES:
                self._check(response)
                return
            log.warning("ntfy.attachment_refused", channel=self.name, status=response.status_code, code=code)
        self._check(await self._request("POST", self._url, json=self._payload(message), headers=self._headers))

    async def _request(self, method: str, url: str, *, headers: dict[str, str], **request: Any) -> httpx.Response:
        try:
            return await self._client.request(method, url, headers=headers, **request)
        except httpx.HTTPError as err:
            raise transport_failure(err, channel=self.name) from err

    def _attachment_headers(self, message: Message) -> dict[str, str]:
        headers = {
            **self._headers,
            "Filename": message.image_name or "inqd.png",
            "Title": _encoded_words(message.title),
            "Message": _encoded_words(_cut_utf8(message.body, _MESSAGE_LIMIT_BYTES)),
            "Priority": str(int(message.priority)),
        }
        if message.tags:
            headers["Tags"] = ",".join(message.tags)  # emoji short codes: ASCII
        if message.click_url:
            headers["Click"] = message.click_url
        return headers

    def _check(self, response: httpx.Response) -> None:
        """Raise DeliveryError for a refused publish."""
        if response.is_success:
            return
        code, detail = self._error_detail(response)
        log.debug("ntfy.rejected", channel=self.name, status=response.status_code, code=code)
        try:
            raise_for_delivery(response, channel=self.name, now=self._now(), detail=detail)
        except DeliveryError as err:
            if response.status_code == 429 and err.retry_after_s is None:
                err.retry_after_s = _RATE_LIMIT_FLOOR_S
            raise

    async def clear(self, group_key: str) -> bool:
        """Dismiss the notification of `group_key` on every subscribed phone (ntfy >= 2.16).

        `PUT /<topic>/<sequence id>/clear` is what ntfy's clients use; the official page is UNCONFIRMED here
        (shared/notify-and-stack.md A1). A server without the endpoint answers 404: we report False (nothing to
        retry, nothing lost; the notification just stays) and say so once in the log.
        """
        url = f"{self._url}{self._topic}/{_sequence_id(group_key)}/clear"
        try:
            response = await self._client.put(url, headers=self._headers)
        except httpx.HTTPError as err:
            raise transport_failure(err, channel=self.name) from err
        if response.status_code == 404:
            if not self._clear_unsupported_logged:
                log.warning(
                    "ntfy.clear_unsupported", channel=self.name, hint="ntfy server >= 2.16 clears notifications"
                )
                self._clear_unsupported_logged = True
            return False
        if response.is_success:
            return True
        _, detail = self._error_detail(response)
        raise_for_delivery(response, channel=self.name, now=self._now(), detail=detail)
        return False  # unreachable: raise_for_delivery raised for every non-2xx status

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    def _payload(self, message: Message) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "topic": self._topic,
            "title": message.title,
            "message": _cut_utf8(message.body, _MESSAGE_LIMIT_BYTES),
            "priority": int(message.priority),
            "tags": list(message.tags),
        }
        click = message.click_url
        if self._action_links is not None and message.inquiry_id is not None:
            # The seller centre stays one button away; a tap on the notification opens the web inbox's page,
            # where the inquiry can be answered from the phone.
            payload["actions"] = self._action_links.ntfy_actions(message.inquiry_id, message.click_url)
            click = self._action_links.inquiry_page(message.inquiry_id) or click
        if click:
            payload["click"] = click
        if self._use_sequence_id and message.group_key:
            # ntfy >= 2.16 replaces the notification with the same sequence id in place (one per inquiry:
            # "30분 남음" -> "10분 남음" -> "초과"); older servers ignore the field and post a new one.
            payload["sequence_id"] = _sequence_id(message.group_key)
        return payload

    def _error_detail(self, response: httpx.Response) -> tuple[int | None, str]:
        try:
            body = response.json()
        except ValueError:
            return None, ""
        if not isinstance(body, dict):
            return None, ""
        code = body.get("code") if isinstance(body.get("code"), int) else None
        error = str(body.get("error") or "")[:_DETAIL_MAX_CHARS]
        if any(secret in error for secret in self._secrets):
            error = "(redacted)"
        return code, " ".join(part for part in (str(code) if code else "", error) if part)


def _sequence_id(group_key: str) -> str:
    """The ntfy sequence id for a group: the key itself when it fits the topic alphabet, else a stable digest."""
    if _TOPIC.fullmatch(group_key):
        return group_key
    return "g-" + hashlib.sha256(group_key.encode("utf-8")).hexdigest()[:40]


def _auth_headers(token: SecretStr | None, username: str | None, password: SecretStr | None) -> dict[str, str]:
    if token is not None and (username is not None or password is not None):
        raise ValueError("ntfy auth: give either token or username/password, not both")
    if token is not None:
        value = token.get_secret_value()
        if not value or not value.isascii() or not value.isprintable():
            raise ValueError("ntfy token must be non-empty printable ASCII")
        return {"Authorization": f"Bearer {value}"}
    if (username is None) != (password is None):
        raise ValueError("ntfy auth: username and password go together")
    if username is not None and password is not None:
        pair = f"{username}:{password.get_secret_value()}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    return {}


def _secret_values(*secrets: SecretStr | None) -> tuple[str, ...]:
    return tuple(value for s in secrets if s is not None and (value := s.get_secret_value()))


def _encoded_words(text: str) -> str:
    """`text` as RFC 2047 encoded words joined by spaces (ASCII, so httpx sends it; ntfy decodes it, newlines kept)."""
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for char in text:
        width = len(char.encode("utf-8"))
        if size + width > _WORD_BYTES:
            words.append(_UTF8.header_encode("".join(chunk)))
            chunk, size = [], 0
        chunk.append(char)
        size += width
    if chunk:
        words.append(_UTF8.header_encode("".join(chunk)))
    return " ".join(words)


def _cut_utf8(text: str, limit_bytes: int) -> str:
    if len(text.encode("utf-8")) <= limit_bytes:
        return text
    budget = limit_bytes - len("…".encode())
    return text.encode("utf-8")[:budget].decode("utf-8", errors="ignore") + "…"
