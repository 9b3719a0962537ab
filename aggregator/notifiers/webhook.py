"""Webhook channel: a JSON POST to a secret URL, in our generic shape or Slack's / Discord's."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import httpx
import structlog
from pydantic import SecretStr

from aggregator.notifiers.base import raise_for_delivery, transport_failure
from core.models import Message

log = structlog.get_logger(__name__)

WebhookStyle = Literal["generic", "slack", "discord"]
_STYLES: tuple[str, ...] = ("generic", "slack", "discord")
_DISCORD_MAX_CHARS = 2000  # Discord rejects longer `content` with a 400
_DETAIL_MAX_CHARS = 120
_MIN_SECRET_SEGMENT_CHARS = 8


class WebhookNotifier:
    """POSTs each message as JSON; the URL is a credential (Slack/Discord embed the token) and is never shown."""

    kind: ClassVar[str] = "webhook"

    def __init__(
        self,
        *,
        name: str,
        url: SecretStr,
        client: httpx.AsyncClient,
        now: Callable[[], datetime],
        style: WebhookStyle = "generic",
    ) -> None:
        parts = urlsplit(url.get_secret_value())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("webhook url must be an http(s) URL with a host")
        if style not in _STYLES:
            raise ValueError(f"webhook style must be one of {', '.join(_STYLES)}")
        self.name = name
        self._url = url
        self._client = client
        self._now = now
        self._style = style
        self._secret_fragments = _secret_fragments(url.get_secret_value())

    async def send(self, message: Message) -> None:
        """POST `message`; raise DeliveryError classified by status (5xx/429 retry, other 4xx permanent)."""
        try:
            response = await self._client.post(self._url.get_secret_value(), json=self._payload(message))
        except httpx.HTTPError as err:
            raise transport_failure(err, channel=self.name) from err
        if response.is_success:
            return
        detail = self._error_detail(response)
        log.debug("webhook.rejected", channel=self.name, style=self._style, status=response.status_code)
        raise_for_delivery(response, channel=self.name, now=self._now(), detail=detail)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    def _payload(self, message: Message) -> dict[str, Any]:
        if self._style == "slack":
            return {"text": f"*{_slack_escape(message.title)}*\n{_slack_escape(message.body)}"}
        if self._style == "discord":
            # Buyer text could say "@everyone"; a seller's alert must never ping a whole server.
            content = _cut(f"**{message.title}**\n{message.body}", _DISCORD_MAX_CHARS)
            return {"content": content, "allowed_mentions": {"parse": []}}
        return {
            "kind": message.kind.value,
            "title": message.title,
            "body": message.body,
            "priority": int(message.priority),
            "tags": list(message.tags),
            "click": message.click_url,
            "group": message.group_key,
        }

    def _error_detail(self, response: httpx.Response) -> str:
        # Slack answers with short codes ("invalid_token", "channel_is_archived") worth showing the operator;
        # an arbitrary receiver might echo the request URL, so any trace of it drops the detail.
        first_line = response.text.strip().splitlines()[0] if response.text.strip() else ""
        if any(fragment in first_line for fragment in self._secret_fragments):
            return ""
        return first_line[:_DETAIL_MAX_CHARS]


def _secret_fragments(url: str) -> tuple[str, ...]:
    parts = urlsplit(url)
    pieces = re.split(r"[/&=]", f"{parts.path}/{parts.query}")
    candidates = (url, parts.path, parts.query, *pieces)
    return tuple(p for p in candidates if len(p) >= _MIN_SECRET_SEGMENT_CHARS)


def _slack_escape(text: str) -> str:
    # Slack treats <...> as links/mentions and requires these three escaped in message text.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit_chars: int) -> str:
    return text if len(text) <= limit_chars else text[: limit_chars - 1] + "…"
