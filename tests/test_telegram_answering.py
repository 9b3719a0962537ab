"""Answering from Telegram through the whole daemon, against a fake Bot API on 127.0.0.1 and the Coupang sandbox, on
a fake clock: "답변" → templates → preview → 보내기 → the sandbox gets the answer → the notification shows
"✅ 답변 보냄 14:01", then "확인됨" after the next poll. Also: a tap or a reply from another chat is refused, a double
tap on 보내기 makes one answer, a ForceReply reply is matched by the prompt's message id, 취소 sends nothing, and the
date a template promised is recorded as an inqd promise."""

from __future__ import annotations

import json
import random
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from aggregator.daemon import Daemon
from aggregator.init.starter_templates import STARTER_TEMPLATES
from aggregator.notifiers.telegram import CALLBACK_DATA_LIMIT
from aggregator.notifiers.telegram_actions import TelegramActionPoller
from aggregator.settings.notify import TelegramConfig
from aggregator.store.answers import AnswerState
from connectors.sandbox import CoupangSandbox
from core.models import KST
from policies.templates import format_day
from tests.conftest import SHOP_ACCOUNT, MakeSettings
from tests.fake_telegram import FakeBotApi
from tests.fakes import FakeClock

TOKEN = "123456:answering-token-never-printed"
CHAT = 4242
STRANGER = 31337
QUESTION = "언제 출고되나요?"


@dataclass
class Shop:
    """The daemon with its Telegram reader, the fake Bot API, the sandbox and the answers posted to it."""

    daemon: Daemon
    reader: TelegramActionPoller
    bot: FakeBotApi
    sandbox: CoupangSandbox
    posted: list[dict[str, Any]]
    clock: FakeClock

    async def updates(self, *updates: dict[str, Any]) -> None:
        """Deliver `updates` through one getUpdates round."""
        self.bot.queue(*updates)
        await self.reader.poll_once()

    def last_sent(self) -> dict[str, Any]:
        """The latest message the bot holds."""
        return self.bot.messages[max(self.bot.messages)]

    def notification(self) -> dict[str, Any]:
        """The new-inquiry notification (the first message with a "답변" button)."""
        return next(m for m in self.bot.messages.values() if _button(m, "답변") is not None)

    async def tap(self, message: dict[str, Any], label: str, *, chat_id: int = CHAT) -> None:
        """Tap the button whose text contains `label` on `message`."""
        data = _button(message, label)
        assert data is not None, f"no {label!r} button on {message['text'][:40]!r}"
        await self.updates(self.bot.tap(message["message_id"], data, chat_id=chat_id))

    async def answered(self) -> bool:
        """Whether the sandbox shows the question answered."""
        stored = await self.daemon.store.get_inquiry(1)
        assert stored is not None
        return self.sandbox.is_answered(int(stored.inquiry.external_id))

    def toasts(self) -> list[str]:
        """Every answerCallbackQuery text, in order."""
        return [b["text"] for b in self.bot.sent("answerCallbackQuery")]


def _buttons(message: dict[str, Any]) -> list[dict[str, str]]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [b for row in rows for b in row if "callback_data" in b]


def _button(message: dict[str, Any], label: str) -> str | None:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return next((b["callback_data"] for row in rows for b in row if label in b["text"] and "callback_data" in b), None)


@pytest.fixture
async def shop(tmp_path: Path, clock: FakeClock, make_settings: MakeSettings) -> AsyncIterator[Shop]:
    """A daemon with one Coupang account on the sandbox (one open question, notified) and a Telegram channel."""
    bot = await FakeBotApi(TOKEN).start()
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    posted: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            posted.append(json.loads(request.content))
        return sandbox.handler(request)

    transport = httpx.MockTransport(handler)
    templates = tmp_path / "templates.toml"
    templates.write_text(STARTER_TEMPLATES, encoding="utf-8")
    telegram = TelegramConfig.model_validate(
        {"type": "telegram", "name": "tg", "bot_token": TOKEN, "chat_id": str(CHAT), "base_url": bot.base_url}
    )
    settings = make_settings(
        telegram, account={**SHOP_ACCOUNT, "reply_by": "sandbox-wing"}, quiet_hours=(), templates_file=templates
    )
    daemon = await Daemon.build(settings, clock=clock, transport_for=lambda _: transport, rng=random.Random(3))
    try:
        await daemon.run_once()
        sandbox.add_product_inquiry(content=QUESTION, inquiry_at=clock.now())
        clock.advance(60)
        await daemon.run_once()
        [reader] = daemon.action_pollers
        yield Shop(daemon, reader, bot, sandbox, posted, clock)
    finally:
        await daemon.aclose()
        await bot.stop()


async def _preview_of_first_template(shop: Shop) -> dict[str, Any]:
    await shop.tap(shop.notification(), "답변")
    await shop.tap(shop.last_sent(), "1.")
    return shop.last_sent()


async def test_the_whole_flow_reaches_the_sandbox_and_is_confirmed(shop: Shop) -> None:
    notification = shop.notification()
    assert "inqd:answer:1" in json.dumps(notification["reply_markup"])

    await shop.tap(notification, "답변")
    offer = shop.last_sent()
    labels = [row[0]["text"] for row in offer["reply_markup"]["inline_keyboard"]]
    assert [label[:2] for label in labels] == ["1.", "2.", "3.", "✏️"]  # three templates of its category, 직접 쓰기
    assert labels[0][3:] in offer["text"] and QUESTION in offer["text"]
    await shop.tap(offer, "1.")
    preview = shop.last_sent()
    assert "답변 미리보기" in preview["text"] and "안녕하세요, 쿠팡입니다." in preview["text"]
    assert [b["text"] for b in preview["reply_markup"]["inline_keyboard"][0]] == ["📨 보내기", "✏️ 수정", "✖️ 취소"]
    await shop.tap(preview, "보내기")
    shop.clock.advance(60)
    await shop.daemon.run_once()
    sent = shop.bot.messages[notification["message_id"]]["text"]

    shop.clock.advance(60)
    await shop.daemon.run_once()
    confirmed = shop.bot.messages[notification["message_id"]]["text"]
    [answer] = await shop.daemon.answers().status(1)

    assert [p["content"] for p in shop.posted] == [answer.text]
    assert answer.text in preview["text"] and answer.approved_by == f"telegram:{CHAT}"
    assert answer.state is AnswerState.CONFIRMED and await shop.answered()
    assert sent.startswith("✅ 답변 보냄 14:02\n\n") and QUESTION in sent
    assert confirmed.startswith("✅ 답변 보냄 14:02 · 확인됨\n\n")
    assert shop.toasts()[-1] == "승인했습니다. 곧 마켓으로 보냅니다."
    assert TOKEN not in json.dumps([c.body for c in shop.bot.calls])
    datas = [b["callback_data"] for m in shop.bot.sent("sendMessage") for b in _buttons(m)]
    assert len(datas) == 4 + 4 + 3 and max(len(d.encode()) for d in datas) <= CALLBACK_DATA_LIMIT


async def test_a_tap_or_a_reply_from_another_chat_is_refused(shop: Shop) -> None:
    notification = shop.notification()
    before = len(shop.bot.sent("sendMessage"))
    with capture_logs() as logs:
        await shop.tap(notification, "답변", chat_id=STRANGER)
        await shop.updates(shop.bot.reply(notification["message_id"], "제가 답할게요", chat_id=STRANGER))
    refusals = shop.bot.sent("sendMessage")[before:]

    assert shop.toasts() == ["권한이 없습니다"]
    assert refusals == [{"chat_id": STRANGER, "text": "권한이 없습니다"}]
    assert [(e["event"], e["chat_id"]) for e in logs if e["log_level"] == "warning"] == [
        ("telegram_action_refused", STRANGER),
        ("telegram_action_refused", STRANGER),
    ]
    assert await shop.daemon.answers().status(1) == []
    assert "제가 답할게요" not in repr(logs) and TOKEN not in repr(logs)


async def test_a_double_tap_on_send_makes_one_answer(shop: Shop) -> None:
    preview = await _preview_of_first_template(shop)
    data = _button(preview, "보내기")
    assert data is not None
    taps = [shop.bot.tap(preview["message_id"], data, chat_id=CHAT, query_id=f"double{n}") for n in range(2)]

    await shop.updates(*taps)  # both in one batch: the second arrives before the sender has run
    await shop.updates(shop.bot.tap(preview["message_id"], data, chat_id=CHAT, query_id="late"))
    for _ in range(3):
        shop.clock.advance(60)
        await shop.daemon.run_once()

    assert len(shop.posted) == 1
    assert [a.state for a in await shop.daemon.answers().status(1)] == [AnswerState.CONFIRMED]
    assert shop.toasts()[-3:] == [
        "승인했습니다. 곧 마켓으로 보냅니다.",
        "이미 보낸 답변입니다.",
        "이미 보낸 답변입니다.",
    ]


async def test_a_force_reply_answer_is_matched_by_the_prompt_not_the_text(shop: Shop) -> None:
    typed = "안녕하세요. 주문하신 상품은 내일 출고됩니다. 기다려 주셔서 감사합니다."
    await shop.tap(shop.notification(), "답변")
    offer = shop.last_sent()
    await shop.tap(offer, "직접 쓰기")
    prompt = shop.last_sent()
    assert prompt["reply_markup"]["force_reply"] is True
    await shop.updates(shop.bot.reply(shop.notification()["message_id"], "#1 이걸로 보내 주세요", chat_id=CHAT))
    assert shop.last_sent() == prompt  # a reply to anything but a prompt is not an answer
    await shop.updates(shop.bot.reply(prompt["message_id"], typed, chat_id=CHAT))
    preview = shop.last_sent()
    await shop.tap(offer, "2.")  # a newer preview: the first one's buttons no longer act
    await shop.tap(preview, "보내기")
    assert shop.toasts()[-1] == "지난 미리보기입니다. 가장 최근 미리보기에서 눌러 주세요."
    await shop.tap(shop.last_sent(), "수정")
    await shop.updates(shop.bot.reply(shop.last_sent()["message_id"], typed, chat_id=CHAT))
    await shop.tap(shop.last_sent(), "보내기")
    await shop.daemon.run_once()

    assert typed in preview["text"]
    assert [p["content"] for p in shop.posted] == [typed]


async def test_cancel_sends_nothing(shop: Shop) -> None:
    preview = await _preview_of_first_template(shop)
    send = _button(preview, "보내기")
    assert send is not None
    await shop.tap(preview, "취소")
    await shop.updates(shop.bot.tap(preview["message_id"], send, chat_id=CHAT, query_id="late"))  # a stale tap
    for _ in range(2):
        shop.clock.advance(60)
        await shop.daemon.run_once()

    assert shop.posted == []
    assert [a.state for a in await shop.daemon.answers().status(1)] == [AnswerState.CANCELLED]
    assert shop.bot.messages[preview["message_id"]]["text"].endswith("✖️ 취소했습니다.")
    assert "reply_markup" not in shop.bot.messages[preview["message_id"]]
    assert shop.toasts()[-2] == "취소했습니다" and "취소됨" in shop.toasts()[-1]


async def test_a_status_edit_telegram_missed_is_made_on_the_next_round(shop: Shop) -> None:
    preview = await _preview_of_first_template(shop)
    await shop.tap(preview, "보내기")
    origin = shop.notification()["message_id"]
    shop.bot.failing = {"editMessageText"}  # Telegram down while the answer goes out
    shop.clock.advance(60)
    await shop.daemon.run_once()
    missed = shop.bot.messages[origin]["text"]
    shop.bot.failing = set()
    await shop.daemon.run_once()

    assert await shop.answered() and not missed.startswith("✅")
    assert shop.bot.messages[origin]["text"].startswith("✅ 답변 보냄")


async def test_the_date_a_template_promised_is_recorded_when_sent_from_the_phone(shop: Shop) -> None:
    await shop.tap(shop.notification(), "답변")
    pick = _button(shop.last_sent(), "1.")  # a starter template with "… {약속일:+2영업일}까지 …"
    await shop.tap(shop.last_sent(), "1.")
    preview = shop.last_sent()
    promised = re.search(r"\d+월 \d+일\(.\)(?=까지)", preview["text"])
    send = _button(preview, "보내기")
    await shop.tap(preview, "보내기")

    stored = await shop.daemon.store.get_inquiry(1)
    assert promised and stored is not None and stored.controls.promise_at is not None
    assert format_day(stored.controls.promise_at.astimezone(KST).date()) == promised[0]
    assert pick and send == pick.replace(":t", ":s")  # the template's key rides on the 보내기 button
    closed = shop.bot.messages[preview["message_id"]]["text"]
    assert "📨 승인했습니다" in closed and "연락 약속을 기록했습니다" in closed
    assert shop.toasts()[-1] == "승인했습니다. 곧 마켓으로 보냅니다."
