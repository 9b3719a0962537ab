"""Phone actions over Telegram: inline-button taps (처리함, 미루기) read with getUpdates long polling; with an answer
flow attached, also its taps and the replies typed to its prompts (notifiers/telegram_answers).

Long polling needs no inbound port, so a seller behind home NAT gets the actions too. Only taps on messages in the
configured chat act; every other tap, and every reply from another chat, is refused, answered and logged. The bot
token sits in every URL path, so no URL and no httpx exception text reaches a log line or an error (see
notifiers/telegram_bot).

A tap whose `apply` raises is answered with a failure text and passed over (the offset moves on): repeating a tap
costs the seller one touch, while holding the offset back would replay the whole batch, including taps that worked.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeGuard, TypeVar

import httpx
import structlog
from pydantic import SecretStr

from aggregator.notifiers.telegram_bot import TelegramBot
from core.http import json_object
from core.redact import mask_pii

__all__ = ["ACTIONS", "ActionStats", "AnswerTaps", "TelegramActionPoller", "TelegramPollError"]

log = structlog.get_logger(__name__)

T = TypeVar("T")

ACTIONS = frozenset({"handled", "snooze1h", "snooze3h"})
POLL_TIMEOUT_S = 50  # Telegram holds the request open this long when there is nothing to deliver
BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 60.0
MAX_RETRY_AFTER_S = 3600.0
ANSWER_TEXT_LIMIT = 200  # answerCallbackQuery refuses longer texts (0-200 characters)
REFUSED_CHAT_TEXT = "권한이 없습니다"
REFUSED_DATA_TEXT = "알 수 없는 동작입니다"
FAILED_TEXT = "처리하지 못했습니다. 다시 시도해 주세요"
# What notifiers/telegram.py writes into callback_data; an id fits SQLite's int64 row ids.
_CALLBACK_DATA = re.compile(r"inqd:([a-z0-9]{1,16}):([1-9][0-9]{0,18})")

FailureKind = Literal["retry", "rate_limited", "conflict", "auth"]


class TelegramPollError(Exception):
    """getUpdates did not deliver; `kind` tells `run` what to do. The text never holds the token or a URL."""

    def __init__(self, text: str, *, kind: FailureKind, retry_after_s: float | None = None) -> None:
        super().__init__(text)
        self.kind = kind
        self.retry_after_s = retry_after_s


class AnswerTaps(Protocol):
    """The answer flow as the reader sees it: the taps it handles and the replies typed to its prompts."""

    def handles(self, action: str) -> bool:
        """True for an action of the flow."""
        ...

    async def on_tap(self, action: str, inquiry_id: int, actor: str, message: Mapping[str, Any]) -> str:
        """Act on a tap on `message`; returns the text the tap is answered with."""
        ...

    async def on_reply(self, message: Mapping[str, Any]) -> bool:
        """Take a message of the configured chat; False when it is not a reply the flow asked for."""
        ...

    async def refuse(self, chat_id: int) -> None:
        """Tell another chat it may not answer."""
        ...


@dataclass
class ActionStats:
    """Counts since start, for status output and metrics."""

    applied: int = 0
    refused: int = 0
    failed: int = 0
    skipped: int = 0  # malformed updates or callback queries


class TelegramActionPoller:
    """Reads inline-button taps of one bot with getUpdates and applies those from the configured chat."""

    def __init__(
        self,
        *,
        bot_token: SecretStr,
        chat_id: str,
        client: httpx.AsyncClient,
        apply: Callable[[str, int, str], Awaitable[str]],
        load_offset: Callable[[], Awaitable[int | None]],
        save_offset: Callable[[int], Awaitable[None]],
        base_url: str = "https://api.telegram.org",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        poll_timeout_s: int = POLL_TIMEOUT_S,
        answers: AnswerTaps | None = None,
    ) -> None:
        self._bot = TelegramBot(bot_token, chat_id, base_url)
        if poll_timeout_s < 0:
            raise ValueError("telegram poll_timeout_s must not be negative")
        self._client = client
        self._apply = apply
        self._load_offset = load_offset
        self._save_offset = save_offset
        self._sleep = sleep
        self._poll_timeout_s = poll_timeout_s
        self._answers = answers  # with it, typed messages are read too: the replies to its ForceReply prompts
        # The shared client's read timeout is shorter than a long poll; this one request waits a little longer.
        self._poll_http_timeout = httpx.Timeout(poll_timeout_s + 10.0, connect=10.0)
        self._offset: int | None = None
        self._offset_loaded = False
        self.stats = ActionStats()

    def __repr__(self) -> str:
        return f"TelegramActionPoller(chat_id={self._bot.chat_id!r})"

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def poll_once(self) -> int:
        """One getUpdates round: apply or refuse each tap, save the offset; returns the callbacks answered."""
        return await self._handle_batch(await self._fetch())

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set, backing off on failures; return early only when the token is refused."""
        backoff_s = 0.0
        problem: str | None = None  # the current failure streak's kind: log changes, not every failed round
        while not stop.is_set():
            try:
                updates = await _unless_stopped(self._fetch(), stop)
            except TelegramPollError as err:
                if err.kind == "auth":
                    log.error("telegram_actions_stopped", error=str(err), hint=_AUTH_HINT)
                    return
                if err.kind == "rate_limited" and err.retry_after_s is not None:
                    log.warning("telegram_actions_rate_limited", retry_after_s=err.retry_after_s)
                    await _unless_stopped(self._sleep(err.retry_after_s), stop)
                    continue
                if problem != err.kind and err.kind == "conflict":
                    log.error("telegram_actions_conflict", error=str(err), hint=_CONFLICT_HINT)
                elif problem != err.kind:
                    log.warning("telegram_actions_unavailable", error=str(err))
                problem = err.kind
            except Exception as err:  # load_offset is the caller's store: a hiccup must not end actions
                if problem != "crash":
                    log.error("telegram_actions_unavailable", error=type(err).__name__, exc_info=True)
                problem = "crash"
            else:
                if updates is None:
                    return
                if problem is not None:
                    log.info("telegram_actions_recovered")
                    problem, backoff_s = None, 0.0
                await self._handle_batch(updates)
                continue
            backoff_s = min(max(2 * backoff_s, BACKOFF_MIN_S), BACKOFF_MAX_S)
            await _unless_stopped(self._sleep(backoff_s), stop)

    async def _fetch(self) -> list[Any]:
        if not self._offset_loaded:
            self._offset = await self._load_offset()
            self._offset_loaded = True
        wanted = ["callback_query", "message"] if self._answers is not None else ["callback_query"]
        body: dict[str, Any] = {"timeout": self._poll_timeout_s, "allowed_updates": wanted}
        if self._offset is not None:
            body["offset"] = self._offset
        try:
            response = await self._client.post(self._bot.url("getUpdates"), json=body, timeout=self._poll_http_timeout)
        except httpx.HTTPError as err:
            # No `from err`: its request carries the URL, and so the token, into any traceback.
            raise TelegramPollError(f"telegram getUpdates: {type(err).__name__}", kind="retry") from None
        answer = json_object(response)
        status = response.status_code
        if status != 200:
            raise self._status_error(status, answer, response.headers.get("Retry-After"))
        result = answer.get("result")
        if answer.get("ok") is not True or not isinstance(result, list):
            raise TelegramPollError("telegram getUpdates: answer without ok=true and a result list", kind="retry")
        return result

    def _status_error(
        self, status: int, answer: Mapping[str, Any], retry_after_header: str | None
    ) -> TelegramPollError:
        description = self._bot.description(answer)
        text = f"telegram getUpdates: HTTP {status}" + (f" ({description})" if description else "")
        if status in {401, 404}:  # Telegram answers 404 to a malformed token, 401 to a revoked one
            return TelegramPollError(text, kind="auth")
        if status == 409:
            return TelegramPollError(text, kind="conflict")
        if status == 429:
            parameters = answer.get("parameters")
            retry_after = parameters.get("retry_after") if isinstance(parameters, Mapping) else None
            return TelegramPollError(
                text, kind="rate_limited", retry_after_s=_seconds(retry_after) or _seconds(retry_after_header)
            )
        return TelegramPollError(text, kind="retry")

    async def _handle_batch(self, updates: list[Any]) -> int:
        answered = 0
        next_offset = self._offset
        for update in updates:
            update_id = update.get("update_id") if isinstance(update, Mapping) else None
            if not _is_int(update_id):
                self._skip("update without update_id")
                continue
            next_offset = max(next_offset or 0, update_id + 1)
            callback = update.get("callback_query")
            message = update.get("message")
            if callback is None and isinstance(message, Mapping) and self._answers is not None:
                await self._handle_message(message, self._answers)
                continue
            if callback is None:
                continue  # another update type: allowed_updates takes a moment to apply after it changes
            if not isinstance(callback, Mapping) or not isinstance(callback.get("id"), str):
                self._skip("callback_query without id")
                continue
            await self._handle_callback(callback)
            answered += 1
        if next_offset is not None and next_offset != self._offset:
            self._offset = next_offset  # kept in memory too: the next getUpdates confirms the batch to Telegram
            try:
                await self._save_offset(next_offset)
            except Exception as err:  # only a restart before the next save would replay taps
                log.error("telegram_offset_save_failed", error=type(err).__name__, exc_info=True)
        return answered

    async def _handle_callback(self, callback: Mapping[str, Any]) -> None:
        query_id: str = callback["id"]
        message = callback.get("message")
        chat = message.get("chat") if isinstance(message, Mapping) else None
        chat = chat if isinstance(chat, Mapping) else {}
        sender = callback.get("from")
        user_id = sender.get("id") if isinstance(sender, Mapping) else None
        if not self._is_configured_chat(chat) or not _is_int(user_id):
            await self._refuse(query_id, REFUSED_CHAT_TEXT, reason="unknown_chat", chat=chat, user_id=user_id)
            return
        data = callback.get("data")
        match = _CALLBACK_DATA.fullmatch(data) if isinstance(data, str) else None
        answers = self._answers if match is not None and match[1] not in ACTIONS else None
        if match is None or (match[1] not in ACTIONS and (answers is None or not answers.handles(match[1]))):
            await self._refuse(query_id, REFUSED_DATA_TEXT, reason="unknown_action", chat=chat, user_id=user_id)
            return
        action, inquiry_id = match[1], int(match[2])
        try:
            if answers is not None:  # an answer is the chat's: approved as "telegram:<chat id>"
                assert isinstance(message, Mapping)  # a configured chat comes with its message
                reply = await answers.on_tap(action, inquiry_id, f"telegram:{chat['id']}", message)
            else:
                reply = await self._apply(action, inquiry_id, f"telegram:{user_id}")
        except Exception as err:  # one failed tap must not stop the others; the seller can tap again
            self.stats.failed += 1
            log.error(
                "telegram_action_failed",
                action=action,
                inquiry_id=inquiry_id,
                user_id=user_id,
                error=type(err).__name__,
                exc_info=True,
            )
            await self._answer(query_id, FAILED_TEXT)
            return
        self.stats.applied += 1
        log.info("telegram_action_applied", action=action, inquiry_id=inquiry_id, user_id=user_id)
        # The reply is made elsewhere (the control service) and goes to the phone: masked like every other text.
        await self._answer(query_id, mask_pii(reply))

    async def _handle_message(self, message: Mapping[str, Any], answers: AnswerTaps) -> None:
        """A typed message: the answer flow takes replies to its prompts; another chat replying is refused."""
        chat = message.get("chat")
        chat = chat if isinstance(chat, Mapping) else {}
        sender = message.get("from")
        user_id = sender.get("id") if isinstance(sender, Mapping) else None
        try:
            if self._is_configured_chat(chat):
                if await answers.on_reply(message):
                    self.stats.applied += 1
                    log.info("telegram_reply_applied", user_id=_id_or_none(user_id))
            elif isinstance(message.get("reply_to_message"), Mapping):
                self.stats.refused += 1
                log.warning(
                    "telegram_action_refused",
                    reason="unknown_chat",
                    chat_id=_id_or_none(chat.get("id")),
                    user_id=_id_or_none(user_id),
                )
                if _is_int(chat.get("id")):
                    await answers.refuse(chat["id"])
        except Exception as err:  # one failed reply must not stop the others; the seller can write it again
            self.stats.failed += 1
            log.error("telegram_reply_failed", user_id=_id_or_none(user_id), error=type(err).__name__, exc_info=True)

    def _is_configured_chat(self, chat: Mapping[str, Any]) -> bool:
        if self._bot.chat_id.startswith("@"):  # a public channel or group configured by its username
            username = chat.get("username")
            return isinstance(username, str) and f"@{username}".lower() == self._bot.chat_id.lower()
        chat_id = chat.get("id")
        return _is_int(chat_id) and str(chat_id) == self._bot.chat_id  # as strings: group ids are negative

    async def _refuse(self, query_id: str, text: str, *, reason: str, chat: Mapping[str, Any], user_id: object) -> None:
        self.stats.refused += 1
        # Ids only: never the message text (buyer's words) nor the callback data (anyone can craft it).
        log.warning(
            "telegram_action_refused",
            reason=reason,
            chat_id=_id_or_none(chat.get("id")),
            user_id=_id_or_none(user_id),
        )
        await self._answer(query_id, text)

    async def _answer(self, query_id: str, text: str) -> None:
        body = {"callback_query_id": query_id, "text": text[:ANSWER_TEXT_LIMIT]}
        try:
            response = await self._client.post(self._bot.url("answerCallbackQuery"), json=body)
        except httpx.HTTPError as err:
            log.warning("telegram_answer_failed", error=type(err).__name__)
            return
        if response.status_code != 200:
            # Usually "query is too old" after a restart: the action itself was applied, only the toast is lost.
            description = self._bot.description(json_object(response))
            log.warning("telegram_answer_failed", status=response.status_code, description=description)

    def _skip(self, why: str) -> None:
        self.stats.skipped += 1
        log.warning("telegram_update_skipped", why=why)


_AUTH_HINT = "Telegram refused the bot token; phone actions stay off until the token is fixed and inqd restarted"
_CONFLICT_HINT = (
    "Telegram allows one reader of a bot's updates: a webhook is set for this bot (remove it with deleteWebhook) "
    "or another program polls getUpdates with the same token (stop it); retrying with backoff"
)


async def _unless_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """`work`'s result, or None once `stop` is set first (the work is then cancelled)."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        if not task.done():
            task.cancel()
        await asyncio.wait({task, waiter})  # let both finish cancelling; never leave a task pending
    return None if task.cancelled() else task.result()


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON true must not pass for an id


def _id_or_none(value: object) -> int | None:
    return value if _is_int(value) else None


def _seconds(value: object) -> float | None:
    try:
        seconds = float(str(value))
    except ValueError:
        return None
    return min(seconds, MAX_RETRY_AFTER_S) if seconds >= 0 else None
