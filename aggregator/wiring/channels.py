"""Which notifier serves each kind of channel: the registry keyed by the channel's config class.

Adding a channel is one config class in aggregator/settings/notify.py plus one factory and one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from aggregator.notifiers.action_links import ActionLinks
from aggregator.notifiers.base import Notifier
from aggregator.notifiers.kakao import KakaoNotifier
from aggregator.notifiers.kakao_auth import KakaoTokenStore
from aggregator.notifiers.ntfy import NtfyNotifier
from aggregator.notifiers.sink import SinkNotifier
from aggregator.notifiers.sms import SolapiSmsNotifier
from aggregator.notifiers.telegram import TelegramNotifier
from aggregator.notifiers.webhook import WebhookNotifier
from aggregator.settings.notify import (
    ChannelConfig,
    KakaoConfig,
    NotifierConfig,
    NtfyConfig,
    SinkNotifierConfig,
    SmsConfig,
    TelegramConfig,
    WebhookConfig,
)
from aggregator.wiring.registry import registered
from core.clock import Clock
from core.http import make_client


@dataclass(frozen=True, slots=True)
class ChannelParts:
    """What a notifier is built with besides its own config: the clock, the network, the admin API's links."""

    now: Callable[[], datetime]
    transport: httpx.AsyncBaseTransport | None = None
    action_links: ActionLinks | None = None  # ntfy buttons calling the admin API
    clock: Clock | None = None  # a channel that keeps time itself (kakao's token expiry)
    secrets_dir: Path | None = None  # where a channel keeps what it was given at login (kakao's token file)
    home_url: str | None = None  # the web inbox as the phone reaches it ([admin] public_url), for links

    def client(self) -> httpx.AsyncClient:
        """A fresh HTTP client for one notifier."""
        return make_client(transport=self.transport)


# (the channel's own config, the shared parts) -> its notifier
NotifierFactory = Callable[[Any, ChannelParts], Notifier]


def _sink(config: SinkNotifierConfig, parts: ChannelParts) -> Notifier:
    return SinkNotifier(name=config.name, console=config.console, file=config.file, now=parts.now)


def _ntfy(config: NtfyConfig, parts: ChannelParts) -> Notifier:
    return NtfyNotifier(
        name=config.name,
        server_url=config.server_url,
        topic=config.topic,
        client=parts.client(),
        now=parts.now,
        token=config.token,
        username=config.username,
        password=config.password,
        use_sequence_id=config.use_sequence_id,
        action_links=parts.action_links,
    )


def _sms(config: SmsConfig, parts: ChannelParts) -> Notifier:
    return SolapiSmsNotifier(
        name=config.name,
        api_key=config.api_key,
        api_secret=config.api_secret,
        sender=config.sender,
        recipient=config.recipient,
        client=parts.client(),
        now=parts.now,
        base_url=config.base_url,
    )


def _telegram(config: TelegramConfig, parts: ChannelParts) -> Notifier:
    return TelegramNotifier(
        name=config.name,
        bot_token=config.bot_token,
        chat_id=config.chat_id,
        client=parts.client(),
        now=parts.now,
        base_url=config.base_url,
        parse_mode=config.parse_mode,
        actions=config.actions,
        answers=config.actions,  # the taps' reader also runs the answer flow
    )


def _kakao(config: KakaoConfig, parts: ChannelParts) -> Notifier:
    if parts.clock is None or parts.secrets_dir is None:  # the settings refuse a kakao channel without secrets_dir
        raise ValueError(f"{config.name}: a kakao channel needs the clock and secrets_dir")
    tokens = KakaoTokenStore(config, parts.secrets_dir, clock=parts.clock, client=parts.client())
    return KakaoNotifier(
        config,
        tokens,
        client=parts.client(),
        now=parts.now,
        action_links=parts.action_links,
        home_url=parts.home_url,
    )


def _webhook(config: WebhookConfig, parts: ChannelParts) -> Notifier:
    return WebhookNotifier(name=config.name, url=config.url, client=parts.client(), now=parts.now, style=config.style)


NOTIFIERS: dict[type[ChannelConfig], NotifierFactory] = {
    SinkNotifierConfig: _sink,
    NtfyConfig: _ntfy,
    SmsConfig: _sms,
    TelegramConfig: _telegram,
    WebhookConfig: _webhook,
    KakaoConfig: _kakao,
}


def build_notifier(
    config: NotifierConfig,
    *,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
    action_links: ActionLinks | None = None,
    secrets_dir: Path | None = None,
    home_url: str | None = None,
) -> Notifier:
    """The notifier for one configured channel; KeyError for a channel type no notifier is registered for."""
    factory = registered(NOTIFIERS, type(config), "notifier")
    parts = ChannelParts(
        now=clock.now,
        transport=transport,
        action_links=action_links,
        clock=clock,
        secrets_dir=secrets_dir,
        home_url=home_url,
    )
    return factory(config, parts)
