"""Answering an inquiry from Telegram: the "답변" button, up to three templates filled for it, "직접 쓰기" by
ForceReply, a preview with the check's findings and [보내기] [수정] [취소], and the notification edited with its fate
("✅ 답변 보냄 09:41", then "· 확인됨" once a poll shows the inquiry answered).

The reader of updates (telegram_actions) hands over taps and replies from the configured chat only. Every step goes
through the answer desk, so the service's rules hold here as on the terminal. The conversation lives in SQLite
(store/telegram_threads): a reply is matched to its inquiry by the prompt's message id, never by its text; only the
latest preview's buttons act, and only on the text it showed. The notification follows the answers table on every
round (`sync_status`), so a crash never loses an edit: the next round makes it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from typing import Any, TypeGuard

import httpx
import structlog
from pydantic import SecretStr

from aggregator.answering.desk import AlreadySent, AnswerDesk, Suggestions, text_digest
from aggregator.answering.service import AnswerRefused, Draft
from aggregator.notifiers.telegram import callback_data
from aggregator.notifiers.telegram_bot import TelegramBot
from aggregator.render import answer_preview, masked_excerpt, safe_excerpt
from aggregator.store import Store
from aggregator.store.answers import AnswerState
from aggregator.store.telegram_threads import ThreadStatus
from core.clock import Clock, WakeableLoop
from core.http import json_object
from core.models import KST, Inquiry

__all__ = ["ANSWER_ACTIONS", "TelegramAnswerFlow", "TelegramCallError", "status_line"]

log = structlog.get_logger("inqd.telegram_answers")

ANSWER_ACTIONS = frozenset({"answer", "write", "send", "sendw", "edit", "cancel"})
TEMPLATE_ACTION = re.compile(r"t([0-9a-f]{8})")  # "t" + desk.template_key: fits the reader's [a-z0-9]{1,16}
# 보내기 ("s") / 그래도 보내기 ("w") on the preview of a template: the key goes with the tap, so the send records the
# date the template promised (the desk checks the text still says it).
SEND_TEMPLATE_ACTION = re.compile(r"([sw])([0-9a-f]{8})")
TEXT_LIMIT = 4096
BUTTON_LABEL_CHARS = 30
SUGGESTION_CHARS = 400  # each filled template in the list; the preview shows the whole chosen one
STATUS_CHECK_S = 5.0  # how soon a confirmation by a poll shows on the phone; the sender's outcomes wake it at once
REFUSED_CHAT_TEXT = "권한이 없습니다"
STALE_PREVIEW = "지난 미리보기입니다. 가장 최근 미리보기에서 눌러 주세요."
NOT_TEXT = "글자로 된 답변만 보낼 수 있습니다. 다시 답장으로 써 주세요."
NOT_MODIFIED = "message is not modified"  # Telegram's 400 for an edit that changes nothing: already shown


class TelegramCallError(Exception):
    """A Bot API call failed; the text never holds the token nor a URL. `status` None: no HTTP answer."""

    def __init__(self, text: str, *, status: int | None, description: str = "") -> None:
        super().__init__(text)
        self.status = status
        self.description = description


def status_line(status: ThreadStatus) -> str:
    """The line an answer's fate puts at the top of its notification."""
    sent = f"✅ 답변 보냄 {status.at.astimezone(KST):%H:%M}"
    return {
        AnswerState.SENT: sent,
        AnswerState.CONFIRMED: f"{sent} · 확인됨",
        AnswerState.ALREADY_ANSWERED: "ℹ️ 답변 안 보냄: 이미 답변된 문의",
        AnswerState.NOT_ANSWERABLE: "⚠️ 답변 안 보냄: 답변할 수 없는 문의",
        AnswerState.REFUSED: "⚠️ 답변 거절됨: 마켓이 받지 않았습니다",
    }.get(status.state, "")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _button(text: str, action: str, inquiry_id: int) -> dict[str, str]:
    return {"text": text, "callback_data": callback_data(action, str(inquiry_id))}


def _heading(inquiry: Inquiry, inquiry_id: int, what: str) -> str:
    return f"[{inquiry.shop}] {inquiry.stream.label} #{inquiry_id} {what}\n문의: “{safe_excerpt(inquiry, 80)}”"


class TelegramAnswerFlow:
    """The answering conversation of one Telegram channel (one bot, one chat)."""

    def __init__(
        self,
        *,
        channel: str,
        bot_token: SecretStr,
        chat_id: str,
        client: httpx.AsyncClient,
        desk: AnswerDesk,
        store: Store,
        clock: Clock,
        base_url: str = "https://api.telegram.org",
    ) -> None:
        self._bot = TelegramBot(bot_token, chat_id, base_url)
        self.channel = channel
        self._client = client
        self._desk = desk
        self._store = store
        self._clock = clock
        self._loop = WakeableLoop(
            clock, idle_s=STATUS_CHECK_S, on_error=lambda: log.exception("telegram_answer_status_failed")
        )
        self.wake = self._loop.wake

    def __repr__(self) -> str:
        return f"TelegramAnswerFlow(channel={self.channel!r}, chat_id={self._bot.chat_id!r})"

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    def handles(self, action: str) -> bool:
        """True for the callback actions of answering."""
        return action in ANSWER_ACTIONS or any(p.fullmatch(action) for p in (TEMPLATE_ACTION, SEND_TEMPLATE_ACTION))

    async def on_tap(self, action: str, inquiry_id: int, actor: str, message: Mapping[str, Any]) -> str:
        """Act on a tap from the configured chat; returns the short text the tap is answered with."""
        try:
            if action == "answer":
                return await self._offer(inquiry_id, message)
            if action in ("write", "edit"):
                return await self._prompt(inquiry_id, show_draft=action == "edit")
            if action in ("send", "sendw"):
                return await self._send(inquiry_id, actor, message, confirm_warnings=action == "sendw")
            if action == "cancel":
                return await self._cancel(inquiry_id, actor, message)
            if sent := SEND_TEMPLATE_ACTION.fullmatch(action):
                return await self._send(inquiry_id, actor, message, confirm_warnings=sent[1] == "w", template=sent[2])
            template = TEMPLATE_ACTION.fullmatch(action)
            assert template is not None, "the reader passes only actions this flow handles"
            draft = await self._desk.draft_template(inquiry_id, template[1])
            await self._preview(inquiry_id, draft, template=template[1])
            return "미리보기를 확인해 주세요"
        except AnswerRefused as err:  # the service's own words, for the seller
            return str(err)

    async def on_reply(self, message: Mapping[str, Any]) -> bool:
        """A message from the configured chat: the answer when it replies to one of our prompts; False otherwise."""
        replied = message.get("reply_to_message")
        prompt_id = replied.get("message_id") if isinstance(replied, Mapping) else None
        if not _is_int(prompt_id):
            return False
        inquiry_id = await self._store.telegram_prompt_inquiry(
            self.channel, chat_id=self._bot.chat_id, message_id=prompt_id
        )
        if inquiry_id is None:
            return False
        text = message.get("text")
        try:
            if not isinstance(text, str) or not text.strip():
                raise AnswerRefused(NOT_TEXT)
            await self._preview(inquiry_id, await self._desk.draft(inquiry_id, text))
        except AnswerRefused as err:
            await self._send_message(str(err))
        return True

    async def refuse(self, chat_id: int) -> None:
        """Tell another chat that replied to the bot that it may not answer."""
        await self._call("sendMessage", {"chat_id": chat_id, "text": REFUSED_CHAT_TEXT})

    async def sync_status(self) -> int:
        """Edit every notification whose answer reached a fate it does not show yet; returns how many."""
        edited = 0
        for due in await self._store.telegram_status_due(self.channel):
            assert due.thread.origin_message_id is not None  # the query selects only threads with one
            text = f"{status_line(due)}\n\n{due.thread.origin_text}".strip()
            try:
                await self._edit(due.thread.origin_message_id, text, chat_id=due.thread.chat_id)
            except TelegramCallError as err:
                if err.status != 400:  # down or rate-limited: the next round tries again
                    log.warning("telegram_answer_status_unsent", error=str(err))
                    break
                # Deleted by the seller, or too old to edit: showing it is impossible, not late.
                log.warning("telegram_answer_status_dropped", inquiry_id=due.thread.inquiry_id, error=str(err))
            await self._store.telegram_status_shown(due.thread, due.state)
            edited += 1
        return edited

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the notifications in step with their answers until `stop` is set."""

        async def nothing_scheduled() -> None:
            return None

        await self._loop.run(stop, self.sync_status, nothing_scheduled)

    async def _offer(self, inquiry_id: int, origin: Mapping[str, Any]) -> str:
        origin_id, origin_text = origin.get("message_id"), origin.get("text")
        suggestions = await self._desk.suggestions(inquiry_id)
        if _is_int(origin_id):
            await self._store.telegram_origin(
                self.channel,
                inquiry_id,
                chat_id=self._bot.chat_id,
                message_id=origin_id,
                text=origin_text if isinstance(origin_text, str) else "",
                now=self._clock.now(),
            )
        buttons = [
            [_button(f"{n}. {s.name[:BUTTON_LABEL_CHARS]}", f"t{s.key}", inquiry_id)]
            for n, s in enumerate(suggestions.items, start=1)
        ]
        buttons.append([_button("✏️ 직접 쓰기", "write", inquiry_id)])
        await self._send_message(self._suggestions_text(inquiry_id, suggestions), {"inline_keyboard": buttons})
        return "템플릿을 고르거나 직접 써 주세요"

    @staticmethod
    def _suggestions_text(inquiry_id: int, suggestions: Suggestions) -> str:
        inquiry = suggestions.inquiry.inquiry
        lines = [_heading(inquiry, inquiry_id, "답변 쓰기"), ""]
        for n, item in enumerate(suggestions.items, start=1):
            lines += [f"{n}. {item.name}", masked_excerpt(item.text, SUGGESTION_CHARS, inquiry), ""]
        if not suggestions.items:
            lines += [suggestions.problem or f"'{inquiry.category.value}' 분류의 템플릿이 없습니다.", ""]
        lines.append("템플릿을 고르면 미리보기가 옵니다. 직접 쓰려면 [직접 쓰기]를 누르세요.")
        return "\n".join(lines)

    async def _prompt(self, inquiry_id: int, *, show_draft: bool) -> str:
        stored = await self._desk.inquiry(inquiry_id)
        lines = [_heading(stored.inquiry, inquiry_id, "답변 쓰기")]
        thread = await self._store.telegram_thread(self.channel, inquiry_id) if show_draft else None
        draft = await self._store.get_answer(thread.answer_id) if thread and thread.answer_id else None
        if draft is not None and draft.state is AnswerState.DRAFT:
            lines += ["", "지금 답변:", masked_excerpt(draft.text, 3000, stored.inquiry)]
        lines += ["", "이 메시지에 답장으로 답변을 보내 주세요."]
        markup = {"force_reply": True, "input_field_placeholder": "답변 내용"}
        prompt_id = await self._send_message("\n".join(lines), markup)
        await self._store.telegram_prompt(
            self.channel, chat_id=self._bot.chat_id, message_id=prompt_id, inquiry_id=inquiry_id, now=self._clock.now()
        )
        return "답장으로 답변을 써 주세요"

    async def _preview(self, inquiry_id: int, draft: Draft, *, template: str = "") -> None:
        """The draft with its findings and buttons; `template` is the key of the template it was filled from."""
        stored = await self._desk.inquiry(inquiry_id)
        text = answer_preview(stored.inquiry, row_id=inquiry_id, text=draft.answer.text, findings=draft.findings)
        row = [_button("✏️ 수정", "edit", inquiry_id), _button("✖️ 취소", "cancel", inquiry_id)]
        if not draft.blocked:
            label, action, short = ("⚠️ 그래도 보내기", "sendw", "w") if draft.findings else ("📨 보내기", "send", "s")
            row.insert(0, _button(label, f"{short}{template}" if template else action, inquiry_id))
        preview_id = await self._send_message(text, {"inline_keyboard": [row]})
        await self._store.telegram_preview(
            self.channel,
            inquiry_id,
            chat_id=self._bot.chat_id,
            message_id=preview_id,
            answer_id=draft.answer.id,
            digest=text_digest(draft.answer.text),
            now=self._clock.now(),
        )

    async def _latest_preview(self, inquiry_id: int, message_id: object) -> tuple[int, str]:
        """The answer and text digest of the inquiry's latest preview, if `message_id` is that preview."""
        thread = await self._store.telegram_thread(self.channel, inquiry_id)
        if thread is None or thread.answer_id is None or message_id != thread.preview_message_id:
            raise AnswerRefused(STALE_PREVIEW)
        return thread.answer_id, thread.preview_digest

    async def _send(
        self, inquiry_id: int, actor: str, preview: Mapping[str, Any], *, confirm_warnings: bool, template: str = ""
    ) -> str:
        answer_id, digest = await self._latest_preview(inquiry_id, preview.get("message_id"))
        try:
            approval = await self._desk.send(
                answer_id, actor, digest=digest, confirm_warnings=confirm_warnings, template_key=template
            )
        except AlreadySent as err:  # a second tap: the first one did it
            return str(err)
        log.info("telegram_answer_approved", inquiry_id=inquiry_id, answer_id=answer_id, actor=actor)
        await self._close_preview(
            preview, "\n".join(("📨 승인했습니다. 마켓에 보내는 중입니다.", *approval.promise_lines))
        )
        return "승인했습니다. 곧 마켓으로 보냅니다."

    async def _cancel(self, inquiry_id: int, actor: str, preview: Mapping[str, Any]) -> str:
        answer_id, _ = await self._latest_preview(inquiry_id, preview.get("message_id"))
        await self._desk.cancel(answer_id, actor)
        await self._close_preview(preview, "✖️ 취소했습니다.")
        return "취소했습니다"

    async def _close_preview(self, preview: Mapping[str, Any], line: str) -> None:
        """Put `line` under a preview that has done its work, taking its buttons off (a failure is only logged)."""
        message_id, text = preview.get("message_id"), preview.get("text")
        if not _is_int(message_id):
            return
        try:
            await self._edit(message_id, f"{text if isinstance(text, str) else ''}\n\n{line}".strip())
        except TelegramCallError as err:
            log.warning("telegram_preview_not_closed", error=str(err))

    async def _send_message(self, text: str, markup: Mapping[str, Any] | None = None) -> int:
        body: dict[str, Any] = {
            "chat_id": self._bot.chat_id,
            "text": text[:TEXT_LIMIT],
            "link_preview_options": {"is_disabled": True},
        }
        if markup is not None:
            body["reply_markup"] = markup
        result = await self._call("sendMessage", body)
        message_id = result.get("message_id")
        if not _is_int(message_id):
            raise TelegramCallError("telegram sendMessage: no message_id in the answer", status=200)
        return message_id

    async def _edit(self, message_id: int, text: str, *, chat_id: str | None = None) -> None:
        """editMessageText without buttons (they go); an edit that changes nothing counts as done."""
        body = {"chat_id": chat_id or self._bot.chat_id, "message_id": message_id, "text": text[:TEXT_LIMIT]}
        try:
            await self._call("editMessageText", body)
        except TelegramCallError as err:
            if NOT_MODIFIED not in err.description:
                raise

    async def _call(self, method: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        try:
            response = await self._client.post(self._bot.url(method), json=body)
        except httpx.HTTPError as err:
            # No `from err`: its request carries the URL, and so the token, into any traceback.
            raise TelegramCallError(f"telegram {method}: {type(err).__name__}", status=None) from None
        answer = json_object(response)
        if response.status_code != 200 or answer.get("ok") is not True:
            description = self._bot.description(answer)
            text = f"telegram {method}: HTTP {response.status_code}" + (f" ({description})" if description else "")
            raise TelegramCallError(text, status=response.status_code, description=description)
        result = answer.get("result")
        return result if isinstance(result, Mapping) else {}
