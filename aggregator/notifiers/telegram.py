"""Telegram Bot API: one `sendMessage` per notification to the seller's chat (`sendPhoto` with a picture).

The bot token sits in the URL path, so nothing built from the URL or from httpx's exception text (which quotes the
URL) ever reaches an error or a log line; error texts are built here from the status and Telegram's `description`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Literal

import httpx
import structlog
from pydantic import SecretStr

from aggregator.notifiers.base import DeliveryError, raise_for_delivery, transport_failure
from aggregator.notifiers.telegram_bot import TelegramBot
from core.http import json_object, parse_retry_after
from core.models import ALERT_KINDS, Message, MessageKind, Priority

__all__ = ["TelegramNotifier", "callback_data", "inline_keyboard"]

log = structlog.get_logger(__name__)

TEXT_LIMIT = 4096  # Telegram counts after entity parsing, so counting the escaped text is on the safe side
CAPTION_LIMIT = 1024  # sendPhoto's caption, counted the same way
TITLE_LIMIT = 256
BUTTON_TEXT = "열기"  # a message about no particular inquiry: the link is its only button
SELLER_CENTER_BUTTON_TEXT = "판매자센터 열기"  # next to the action buttons, say where the link goes
CALLBACK_DATA_LIMIT = 64  # bytes; Telegram rejects the whole sendMessage (400) past it
# (button text, action) rows; notifiers.telegram_actions parses `inqd:<action>:<id>` back, a test ties the two.
ACTION_ROWS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("✅ 처리함", "handled"),),
    (("⏰ 1시간 뒤", "snooze1h"), ("⏰ 3시간 뒤", "snooze3h")),
)
ANSWER_ROW = (("✍️ 답변", "answer"),)  # notifiers.telegram_answers takes it from there
# Messages about an inquiry still waiting for its answer: the seller may answer from any of them.
ANSWERABLE_KINDS = frozenset({MessageKind.NEW_INQUIRY, *ALERT_KINDS})
_INQUIRY_ID = re.compile(r"[1-9][0-9]{0,18}")  # a store row id (SQLite int64): keeps callback_data far under 64 bytes
_PARTIAL_ENTITY = re.compile(r"&[#a-zA-Z0-9]*$")  # a cut must not leave "&am" behind: Telegram rejects it (400)
_BUTTON_URL = re.compile(r"https?://\S+")  # Telegram refuses other schemes with 400 and the whole message is lost
# A picture Telegram cannot use is refused with 400 and a description naming it (PHOTO_INVALID_DIMENSIONS,
# IMAGE_PROCESS_FAILED, "wrong file ...") or with 413 for a file too large: the text then goes alone.
_PICTURE_REFUSED = re.compile(r"photo|image|file", re.IGNORECASE)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _cut(text: str, *, html_mode: bool, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if html_mode:
        cut = _PARTIAL_ENTITY.sub("", cut)
    return cut + "…"


def render_text(message: Message, *, parse_mode: Literal["HTML", "plain"], limit: int = TEXT_LIMIT) -> str:
    """The message text as Telegram gets it: bold escaped title and escaped body (HTML), or title + body."""
    title = message.title[:TITLE_LIMIT]
    if parse_mode == "HTML":
        return _cut(f"<b>{_escape(title)}</b>\n{_escape(message.body)}", html_mode=True, limit=limit)
    return _cut(f"{title}\n{message.body}", html_mode=False, limit=limit)


def callback_data(action: str, inquiry_id: str) -> str:
    """The callback_data of one action button: `inqd:<action>:<inquiry id>`."""
    data = f"inqd:{action}:{inquiry_id}"
    assert len(data.encode()) <= CALLBACK_DATA_LIMIT, "callback_data over Telegram's 64-byte limit"
    return data


def inline_keyboard(message: Message, *, actions: bool, answers: bool = False) -> list[list[dict[str, str]]]:
    """The message's buttons: actions on an inquiry (when enabled and it names one), "답변" (when answering is on and
    the inquiry waits for one), then the http(s) link."""
    inquiry_id = "" if message.inquiry_id is None else str(message.inquiry_id)
    rows: list[list[dict[str, str]]] = []
    if actions and _INQUIRY_ID.fullmatch(inquiry_id):
        answer_rows = (ANSWER_ROW,) if answers and message.kind in ANSWERABLE_KINDS else ()
        rows = [
            [{"text": text, "callback_data": callback_data(action, inquiry_id)} for text, action in row]
            for row in (*ACTION_ROWS, *answer_rows)
        ]
    if message.click_url and _BUTTON_URL.fullmatch(message.click_url):
        rows.append([{"text": SELLER_CENTER_BUTTON_TEXT if rows else BUTTON_TEXT, "url": message.click_url}])
    return rows


class TelegramNotifier:
    """Sends each message to one chat through a bot; the token never appears in errors, logs or repr."""

    kind: ClassVar[str] = "telegram"
    shows_images: ClassVar[bool] = True

    def __init__(
        self,
        *,
        name: str,
        bot_token: SecretStr,
        chat_id: str,
        client: httpx.AsyncClient,
        now: Callable[[], datetime],
        base_url: str = "https://api.telegram.org",
        parse_mode: Literal["HTML", "plain"] = "HTML",
        actions: bool = False,
        answers: bool = False,
    ) -> None:
        self._bot = TelegramBot(bot_token, chat_id, base_url)
        self.name = name
        self._client = client
        self._now = now
        self._parse_mode = parse_mode
        self._actions = actions  # taps come back through aggregator.notifiers.telegram_actions (getUpdates)
        self._answers = answers  # the "답변" button; its taps go on to aggregator.notifiers.telegram_answers

    def __repr__(self) -> str:
        return (
            f"TelegramNotifier(name={self.name!r}, chat_id={self._bot.chat_id!r}, parse_mode={self._parse_mode!r}, "
            f"actions={self._actions!r})"
        )

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    def payload(self, message: Message) -> dict[str, Any]:
        """The sendMessage JSON body for `message`."""
        body: dict[str, Any] = {
            "chat_id": self._bot.chat_id,
            "text": render_text(message, parse_mode=self._parse_mode),
            "disable_notification": message.priority <= Priority.LOW,
            "link_preview_options": {"is_disabled": True},
        }
        if self._parse_mode == "HTML":
            body["parse_mode"] = "HTML"
        keyboard = inline_keyboard(message, actions=self._actions, answers=self._answers)
        if keyboard:
            body["reply_markup"] = {"inline_keyboard": keyboard}
        return body

    def photo_form(self, message: Message) -> dict[str, str]:
        """The sendPhoto form fields for `message` (multipart, beside the `photo` file): the text as the caption."""
        body = self.payload(message)
        form = {
            "chat_id": self._bot.chat_id,
            "caption": render_text(message, parse_mode=self._parse_mode, limit=CAPTION_LIMIT),
            "disable_notification": "true" if body["disable_notification"] else "false",
        }
        if "parse_mode" in body:
            form["parse_mode"] = body["parse_mode"]
        if "reply_markup" in body:
            form["reply_markup"] = json.dumps(body["reply_markup"], ensure_ascii=False)
        return form

    async def send(self, message: Message) -> None:
        """POST sendPhoto when the message has a picture (the text alone if Telegram refuses the picture), else
        sendMessage; raise DeliveryError (429 honours `parameters.retry_after`, 5xx retry, 4xx permanent)."""
        if message.image:
            photo = (message.image_name or "inqd.png", message.image, "image/png")
            response = await self._post("sendPhoto", data=self.photo_form(message), files={"photo": photo})
            if not self._picture_refused(response):
                self._check(response)
                return
            log.warning("telegram.picture_refused", channel=self.name, status=response.status_code)
        self._check(await self._post("sendMessage", json=self.payload(message)))

    async def _post(self, method: str, **request: Any) -> httpx.Response:
        try:
            return await self._client.post(self._bot.url(method), **request)
        except httpx.HTTPError as err:
            # No `from err`: the cause carries the request, whose URL holds the token, into any traceback.
            raise transport_failure(err, channel=self.name) from None

    def _picture_refused(self, response: httpx.Response) -> bool:
        if response.status_code == 413:
            return True
        description = self._bot.description(json_object(response))
        return response.status_code == 400 and bool(_PICTURE_REFUSED.search(description))

    def _check(self, response: httpx.Response) -> None:
        """Classify Telegram's answer: 2xx with ok=true is delivered, anything else a DeliveryError."""
        answer = json_object(response)
        description = self._bot.description(answer)
        parameters = answer.get("parameters")
        parameters = parameters if isinstance(parameters, Mapping) else {}
        if "migrate_to_chat_id" in parameters:
            description = f"{description}; chat moved to {parameters['migrate_to_chat_id']}".lstrip("; ")
        now = self._now()
        if response.status_code == 429:
            retry_after = parse_retry_after(str(parameters.get("retry_after", "")), now=now)
            if retry_after is not None:
                raise DeliveryError(
                    f"{self.name}: HTTP 429 ({description})" if description else f"{self.name}: HTTP 429",
                    retryable=True,
                    retry_after_s=retry_after,
                )
        raise_for_delivery(response, channel=self.name, now=now, detail=description)
        if answer.get("ok") is not True:
            raise DeliveryError(f"{self.name}: answer without ok=true", retryable=False)
        log.debug("notify.sent", channel=self.name, kind=self.kind)
