"""Composition root: builds the store, connectors, notifiers, pollers and dispatcher from Settings and runs them.

The daemon decides nothing; every whether/when lives in policies/ and scheduler.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from aggregator.clock import Clock
from aggregator.dispatcher import Dispatcher
from aggregator.http import make_client
from aggregator.models import Marketplace, MessageKind
from aggregator.notifiers.base import Notifier
from aggregator.notifiers.ntfy import NtfyNotifier
from aggregator.notifiers.sink import SinkNotifier
from aggregator.notifiers.sms import SolapiSmsNotifier
from aggregator.notifiers.telegram import TelegramNotifier
from aggregator.notifiers.webhook import WebhookNotifier
from aggregator.poller import StreamPoller
from aggregator.settings import Account, ElevenstAccount, EsmAccount, NaverAccount, Settings
from aggregator.settings_notify import NotifierConfig, NtfyConfig, SinkNotifierConfig, SmsConfig, TelegramConfig
from aggregator.store import Store
from aggregator.timers import AlertTimer
from connectors.base import Connector
from connectors.coupang import CoupangConnector
from connectors.elevenst import ElevenstConnector
from connectors.esm import EsmConnector
from connectors.naver import NaverConnector

log = structlog.get_logger("inqd.daemon")

# Given an account, the transport its HTTP client should use (None: the real network).
TransportFactory = Callable[[Account], httpx.AsyncBaseTransport | None]


def build_connector(account: Account, *, clock: Clock, transport: httpx.AsyncBaseTransport | None = None) -> Connector:
    """The connector for one configured account."""
    common: dict[str, Any] = {
        "account_id": account.id,
        "client": make_client(base_url=account.base_url, transport=transport),
        "clock": clock,
        "streams": account.stream_kinds,
        "max_requests_per_s": account.max_requests_per_s,
        "backfill_days": account.backfill_days,
        "recheck_days": account.recheck_days,
    }
    if isinstance(account, ElevenstAccount):
        return ElevenstConnector(api_key=account.api_key, **common)
    if isinstance(account, EsmAccount):
        return EsmConnector(
            master_id=account.master_id,
            secret_key=account.secret_key,
            gmarket_seller_id=account.gmarket_seller_id,
            auction_seller_id=account.auction_seller_id,
            **common,
        )
    if isinstance(account, NaverAccount):
        return NaverConnector(client_id=account.client_id, client_secret=account.client_secret, **common)
    return CoupangConnector(
        vendor_id=account.vendor_id,
        access_key=account.access_key,
        secret_key=account.secret_key,
        api_version=account.api_version,
        **common,
    )


def build_notifier(
    config: NotifierConfig, *, clock: Clock, transport: httpx.AsyncBaseTransport | None = None
) -> Notifier:
    """The notifier for one configured channel."""
    if isinstance(config, SinkNotifierConfig):
        return SinkNotifier(name=config.name, console=config.console, file=config.file, now=clock.now)
    client = make_client(transport=transport)
    if isinstance(config, NtfyConfig):
        return NtfyNotifier(
            name=config.name,
            server_url=config.server_url,
            topic=config.topic,
            client=client,
            now=clock.now,
            token=config.token,
            username=config.username,
            password=config.password,
            use_sequence_id=config.use_sequence_id,
        )
    if isinstance(config, SmsConfig):
        return SolapiSmsNotifier(
            name=config.name,
            api_key=config.api_key,
            api_secret=config.api_secret,
            sender=config.sender,
            recipient=config.recipient,
            client=client,
            now=clock.now,
            base_url=config.base_url,
        )
    if isinstance(config, TelegramConfig):
        return TelegramNotifier(
            name=config.name,
            bot_token=config.bot_token,
            chat_id=config.chat_id,
            client=client,
            now=clock.now,
            base_url=config.base_url,
            parse_mode=config.parse_mode,
        )
    return WebhookNotifier(name=config.name, url=config.url, client=client, now=clock.now, style=config.style)


@dataclass
class Daemon:
    """A running inqd: pollers feeding the store, a dispatcher draining its outbox."""

    settings: Settings
    store: Store
    clock: Clock
    connectors: list[Connector]
    notifiers: dict[str, Notifier]
    pollers: list[StreamPoller]
    dispatcher: Dispatcher
    timer: AlertTimer
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def build(
        cls,
        settings: Settings,
        *,
        clock: Clock,
        transport_for: TransportFactory | None = None,
        rng: random.Random | None = None,
    ) -> Daemon:
        """Open the store and build every component from `settings`."""
        rng = rng or random.Random()
        store = await Store.open(settings.db_path)
        notifiers = {cfg.name: build_notifier(cfg, clock=clock) for cfg in settings.notifiers}
        connectors: list[Connector] = [
            build_connector(acc, clock=clock, transport=transport_for(acc) if transport_for else None)
            for acc in settings.accounts
        ]
        marketplaces: dict[str, Marketplace] = {acc.id: acc.marketplace_kind for acc in settings.accounts}
        policies = settings.policies()
        fallbacks = {n.name: (n.fallback, n.fallback_after) for n in settings.notifiers if n.fallback}
        dispatcher = Dispatcher(store, notifiers, clock, policies, marketplaces=marketplaces, fallbacks=fallbacks)
        channels = {kind: settings.channels_for(kind) for kind in MessageKind}
        timer = AlertTimer(store, clock, policies, channels=channels)
        timer.on_queued.append(dispatcher.wake)

        def on_queued() -> None:
            timer.wake.set()  # new inquiries need their alerts planned
            dispatcher.wake.set()

        pollers = [
            StreamPoller(
                connector,
                stream,
                store,
                clock,
                interval_s=account.poll_interval_s,
                jitter=settings.poll_jitter,
                channels=channels,
                on_queued=on_queued,
                rng=random.Random(rng.random()),
            )
            for connector, account in zip(connectors, settings.accounts, strict=True)
            for stream in account.stream_kinds
        ]
        await timer.start(settings.policy_fingerprint())
        return cls(settings, store, clock, connectors, notifiers, pollers, dispatcher, timer)

    async def run_once(self) -> None:
        """Poll every stream once, then deliver everything due: the burst mode used by tests and scripts."""
        for poller in self.pollers:
            await poller.poll_once()
        await self.timer.run_once()
        await self.dispatcher.run_once()

    async def run(self) -> None:
        """Run until `stop` is set (SIGTERM/SIGINT set it); in-flight work finishes or stays in the outbox."""
        log.info(
            "daemon_started",
            accounts=len(self.connectors),
            streams=len(self.pollers),
            channels=sorted(self.notifiers),
            db=str(self.settings.db_path),
        )
        async with asyncio.TaskGroup() as group:
            for poller in self.pollers:
                group.create_task(poller.run(self.stop), name=f"poll:{poller.account_id}:{poller.stream.value}")
            group.create_task(self.timer.run(self.stop), name="timers")
            group.create_task(self.dispatcher.run(self.stop), name="dispatch")
        log.info("daemon_stopped")

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT ask for a graceful stop."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, self.request_stop, sig.name)

    def request_stop(self, reason: str = "requested") -> None:
        """Begin a graceful stop."""
        if not self.stop.is_set():
            log.info("stopping", reason=reason)
            self.stop.set()

    async def aclose(self) -> None:
        """Close connectors, notifiers and the store."""
        for connector in self.connectors:
            await connector.aclose()
        for notifier in self.notifiers.values():
            await notifier.aclose()
        await self.store.aclose()
