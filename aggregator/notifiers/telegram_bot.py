"""What the Telegram notifier and the reader of button taps share: one bot on one chat, its token kept secret.

The bot token sits in every Bot API URL path, so no URL and no httpx exception text may reach an error or a log
line: both build their texts from the status and Telegram's own `description`, scrubbed of the token here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

DESCRIPTION_LIMIT = 200


class TelegramBot:
    """A bot on the Bot API and the chat it serves; its repr and its texts never hold the token."""

    def __init__(self, token: SecretStr, chat_id: str, base_url: str) -> None:
        if not token.get_secret_value():
            raise ValueError("telegram bot_token must not be empty")
        if not chat_id.strip():
            raise ValueError("telegram chat_id must not be empty")
        self._token = token
        self.chat_id = chat_id.strip()
        self._base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"TelegramBot(chat_id={self.chat_id!r})"

    def url(self, method: str) -> str:
        """The URL of a Bot API method; it holds the token, so it is never logged nor put in an error."""
        return f"{self._base_url}/bot{self._token.get_secret_value()}/{method}"

    def description(self, answer: Mapping[str, Any]) -> str:
        """Telegram's own `description` of an answer, without the token, cut to DESCRIPTION_LIMIT characters."""
        text = str(answer.get("description") or "").replace(self._token.get_secret_value(), "**********")
        return text[:DESCRIPTION_LIMIT]
