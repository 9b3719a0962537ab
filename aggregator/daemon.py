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
from datetime import date
from typing import Any

import httpx
import structlog

from aggregator import control_service as controls
from aggregator.admin import AdminServer
from aggregator.alert_timer import AlertTimer
from aggregator.connection_watch import ConnectionWatch, WatchedStream
from aggregator.dispatcher import Dispatcher
from aggregator.instance_lock import InstanceLock
from aggregator.metrics import Metrics
from aggregator.notifiers.action_links import ActionLinks
from aggregator.notifiers.base import Notifier
from aggregator.notifiers.ntfy import NtfyNotifier
from aggregator.notifiers.sink import SinkNotifier
from aggregator.notifiers.sms import SolapiSmsNotifier
from aggregator.notifiers.telegram import TelegramNotifier
from aggregator.notifiers.telegram_actions import TelegramActionPoller
from aggregator.notifiers.webhook import WebhookNotifier
from aggregator.poller import PollReport, StreamPoller
from aggregator.service import ServiceReport, keep_alive
from aggregator.settings import Account, CoupangAccount, ElevenstAccount, EsmAccount, NaverAccount, Settings
from aggregator.settings.notify import NotifierConfig, NtfyConfig, SinkNotifierConfig, SmsConfig, TelegramConfig
from aggregator.store import Store
from aggregator.systemd import SystemdNotifier
from connectors.base import Connector
from connectors.coupang.connector import CoupangConnector
from connectors.elevenst.connector import ElevenstConnector
from connectors.esm.connector import EsmConnector
from connectors.naver.connector import NaverConnector
from core.clock import Clock, sleep_or_wake
from core.http import make_client
from core.models import Marketplace, MessageKind
from policies import Policies

log = structlog.get_logger("inqd.daemon")

# How often the daemon looks for controls changed by another process (a terminal command, a phone tap): a tap
# takes effect within this long, and an idle daemon wakes only this often for it.
CONTROLS_CHECK_S = 10.0

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
    config: NotifierConfig,
    *,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
    action_links: ActionLinks | None = None,
) -> Notifier:
    """The notifier for one configured channel (`action_links`: ntfy buttons calling the admin API)."""
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
            action_links=action_links,
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
            actions=config.actions,
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
    controls_version: int = 0
    instance_lock: InstanceLock | None = None
    vacations: list[tuple[date, date]] = field(default_factory=list)
    policies: Policies | None = None
    action_pollers: list[TelegramActionPoller] = field(default_factory=list)

    async def follow_controls(self) -> bool:
        """Pick up controls changed by another process (`inqd vacation add`, `inqd snooze`, a phone tap).

        A vacation changes the calendar: new policies for the timer and the dispatcher, and every open inquiry
        planned again. Any other control only needs the timer to look now. Returns True when something changed.
        """
        version = await self.store.controls_version()
        if version == self.controls_version:
            return False
        self.controls_version = version
        vacations = await self.store.vacation_ranges()
        if vacations != self.vacations:
            self.vacations = vacations
            policies = self.settings.policies(vacations)
            self.policies = policies
            self.timer.use_policies(policies)
            self.dispatcher.use_policies(policies)
            replanned = await self.timer.start(self.settings.policy_fingerprint(vacations))
            log.info("calendar_changed", vacations=len(vacations), replanning=replanned)
        self.timer.wake.set()
        return True

    async def _follow_controls_loop(self) -> None:
        while not self.stop.is_set():
            try:
                await self.follow_controls()
            except Exception:  # a failed check is retried on the next tick; the alerts go on meanwhile
                log.exception("controls_check_failed")
            await sleep_or_wake(self.clock, CONTROLS_CHECK_S, self.stop)

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
        lock = InstanceLock.acquire(settings.db_path)
        try:
            store = await Store.open(settings.db_path)
        except BaseException:
            lock.release()
            raise
        # We hold the lock: any lease left in the outbox belongs to a daemon that died (kill -9, power cut).
        released = await store.release_leases()
        if released:
            log.info("leases_released", rows=released)
        admin = settings.admin
        links = (
            ActionLinks(admin.public_url, admin.token.get_secret_value(), clock.now)
            if admin.enabled and admin.public_url and admin.token
            else None
        )
        notifiers = {cfg.name: build_notifier(cfg, clock=clock, action_links=links) for cfg in settings.notifiers}
        connectors: list[Connector] = [
            build_connector(acc, clock=clock, transport=transport_for(acc) if transport_for else None)
            for acc in settings.accounts
        ]
        marketplaces: dict[str, Marketplace] = {acc.id: acc.marketplace_kind for acc in settings.accounts}
        vacations = await store.vacation_ranges()
        policies = settings.policies(vacations)
        fallbacks = {n.name: (n.fallback, n.fallback_after) for n in settings.notifiers if n.fallback}
        dispatcher = Dispatcher(store, notifiers, clock, policies, fallbacks=fallbacks)
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
        await timer.start(settings.policy_fingerprint(vacations))
        daemon = cls(settings, store, clock, connectors, notifiers, pollers, dispatcher, timer, watch, metrics)
        daemon.instance_lock = lock
        daemon.controls_version = await store.controls_version()
        daemon.vacations = vacations
        daemon.policies = policies
        daemon.action_pollers = [
            daemon._telegram_actions(cfg)
            for cfg in settings.notifiers
            if isinstance(cfg, TelegramConfig) and cfg.actions
        ]
        return daemon

    def _telegram_actions(self, config: TelegramConfig) -> TelegramActionPoller:
        key = f"telegram_offset:{config.name}"

        async def load_offset() -> int | None:
            value = await self.store.meta_value(key)
            return int(value) if value and value.lstrip("-").isdigit() else None

        async def save_offset(offset: int) -> None:
            await self.store.set_meta_value(key, str(offset))

        return TelegramActionPoller(
            bot_token=config.bot_token,
            chat_id=config.chat_id,
            client=make_client(),
            apply=self.apply_phone_action,
            load_offset=load_offset,
            save_offset=save_offset,
            base_url=config.base_url,
            sleep=self.clock.sleep,
        )

    async def apply_phone_action(self, action: str, inquiry_id: int, actor: str) -> str:
        """A button tapped on the phone: record it (as the terminal would) and let the timer re-plan now."""
        assert self.policies is not None  # set by build()
        reply = await controls.apply_phone_action(
            self.store, self.policies, action, inquiry_id, now=self.clock.now(), actor=actor
        )
        self.timer.wake.set()
        self.dispatcher.wake.set()
        return reply

    async def run_once(self) -> None:
        """Poll every stream once, then deliver everything due: the burst mode used by tests and scripts."""
        await self.follow_controls()
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
                group.create_task(self._follow_controls_loop(), name="controls")
                for actions in self.action_pollers:
                    group.create_task(actions.run(self.stop), name="telegram-actions")
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
            now=self.clock.now,
        )
        admin.enable_actions(self.apply_phone_action)
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
        for actions in self.action_pollers:
            await actions.aclose()
        await self.store.aclose()
        if self.instance_lock is not None:
            self.instance_lock.release()
