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

from aggregator.admin import AdminServer
from aggregator.clock import Clock
from aggregator.connection_watch import ConnectionWatch, WatchedStream
from aggregator.dispatcher import Dispatcher
from aggregator.http import make_client
from aggregator.metrics import Metrics
from aggregator.models import Marketplace, MessageKind
from aggregator.notifiers.base import Notifier
from aggregator.notifiers.ntfy import NtfyNotifier
from aggregator.notifiers.sink import SinkNotifier
from aggregator.notifiers.sms import SolapiSmsNotifier
from aggregator.notifiers.telegram import TelegramNotifier
from aggregator.notifiers.webhook import WebhookNotifier
from aggregator.poller import PollReport, StreamPoller
from aggregator.service import ServiceReport, keep_alive
from aggregator.settings import Account, CoupangAccount, ElevenstAccount, EsmAccount, NaverAccount, Settings
from aggregator.settings_notify import NotifierConfig, NtfyConfig, SinkNotifierConfig, SmsConfig, TelegramConfig
from aggregator.store import Store
from aggregator.systemd import SystemdNotifier
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
    watch: ConnectionWatch
    metrics: Metrics
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    systemd: SystemdNotifier = field(default_factory=SystemdNotifier.from_env)

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

        metrics = Metrics()
        watch = ConnectionWatch(
            store,
            clock,
            streams=[
                WatchedStream(acc.id, acc.marketplace_kind, stream, acc.poll_interval_s)
                for acc in settings.accounts
                for stream in acc.stream_kinds
            ],
            lost_after=settings.health.lost_after,
            channels=channels,
            zone=settings.zone,
            key_issued={
                acc.id: acc.key_issued_at
                for acc in settings.accounts
                if isinstance(acc, CoupangAccount) and acc.key_issued_at is not None
            },
        )
        watch.on_queued.append(dispatcher.wake)
        dispatcher.on_outcome.append(
            lambda channel, kind, outcome: metrics.message_outcome(channel=channel, kind=kind, outcome=outcome)
        )
        timer.on_fired.append(lambda kind: metrics.sla_alert_queued(kind.value))

        async def on_polled(poller: StreamPoller, report: PollReport) -> None:
            metrics.poll_finished(
                account=poller.account_id,
                marketplace=marketplaces[poller.account_id].value,
                stream=poller.stream.value,
                ok=report.ok,
                error_kind=report.error,
                duration_s=report.duration_s,
                new=report.new,
                skipped=report.skipped,
            )
            await watch.check(poller.account_id)

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
                on_polled=on_polled,
                rng=random.Random(rng.random()),
            )
            for connector, account in zip(connectors, settings.accounts, strict=True)
            for stream in account.stream_kinds
        ]
        await timer.start(settings.policy_fingerprint())
        return cls(settings, store, clock, connectors, notifiers, pollers, dispatcher, timer, watch, metrics)

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
        report = ServiceReport(self.store, self.clock, self.watch, self.metrics)
        admin = await self._start_admin(report)
        try:
            async with asyncio.TaskGroup() as group:
                for poller in self.pollers:
                    group.create_task(poller.run(self.stop), name=f"poll:{poller.account_id}:{poller.stream.value}")
                group.create_task(self.timer.run(self.stop), name="timers")
                group.create_task(self.dispatcher.run(self.stop), name="dispatch")
                # Every loop is scheduled: systemd may consider us started.
                self.systemd.ready(await report.status_line())
                group.create_task(keep_alive(self.systemd, report, self.clock, self.stop), name="systemd")
        finally:
            self.systemd.stopping()
            if admin is not None:
                await admin.aclose()
        log.info("daemon_stopped")

    async def _start_admin(self, report: ServiceReport) -> AdminServer | None:
        """Start /healthz and /metrics; a port in use costs the admin API, never the alerts."""
        config = self.settings.admin
        if not config.enabled:
            return None
        admin = AdminServer(
            host=config.host,
            port=config.port,
            token=config.token.get_secret_value() if config.token else None,
            health=self.watch.health,
            metrics=self.metrics,
            refresh_metrics=report.refresh_metrics,
        )
        try:
            await admin.start()
        except OSError as err:
            log.error("admin_unavailable", host=config.host, port=config.port, error=str(err))
            await admin.aclose()
            return None
        return admin

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
