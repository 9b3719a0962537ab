"""The Telegram bot's two surfaces for one channel, built for a daemon: the answer flow (templates, preview, send)
and the button poller (getUpdates) that hands it taps and replies; the poller's offset kept in the store."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aggregator.answering.desk import AnswerDesk
from aggregator.notifiers.telegram_actions import TelegramActionPoller
from aggregator.notifiers.telegram_answers import TelegramAnswerFlow
from aggregator.settings.notify import TelegramConfig
from aggregator.store import Store
from core.clock import Clock
from core.http import make_client

# (action, inquiry id, actor) -> the short reply shown on the phone
PhoneAction = Callable[[str, int, str], Awaitable[str]]


def telegram_surfaces(
    config: TelegramConfig,
    store: Store,
    clock: Clock,
    *,
    desk: AnswerDesk,
    apply: PhoneAction,
    sender_outcomes: list[Callable[[str, str], None]],
) -> tuple[TelegramAnswerFlow, TelegramActionPoller]:
    """The answer flow and the button poller of one Telegram channel with `actions = true`; the flow hears each of
    the answer sender's outcomes (`sender_outcomes`) so "답변 보냄" shows at once."""
    flow = TelegramAnswerFlow(
        channel=config.name,
        bot_token=config.bot_token,
        chat_id=config.chat_id,
        client=make_client(),
        desk=desk,
        store=store,
        clock=clock,
        base_url=config.base_url,
    )
    sender_outcomes.append(lambda _marketplace, _outcome: flow.wake.set())
    key = f"telegram_offset:{config.name}"

    async def load_offset() -> int | None:
        value = await store.meta_value(key)
        return int(value) if value and value.lstrip("-").isdigit() else None

    async def save_offset(offset: int) -> None:
        await store.set_meta_value(key, str(offset))

    poller = TelegramActionPoller(
        bot_token=config.bot_token,
        chat_id=config.chat_id,
        client=make_client(),
        apply=apply,
        load_offset=load_offset,
        save_offset=save_offset,
        base_url=config.base_url,
        sleep=clock.sleep,
        answers=flow,
    )
    return flow, poller
