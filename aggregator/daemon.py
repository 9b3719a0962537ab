"""Composition root: builds the store, connectors, notifiers, pollers and dispatcher from Settings and runs them.

The daemon decides nothing; every whether/when lives in policies/ and scheduler.py.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import structlog

from aggregator.alert_timer import AlertTimer
from aggregator.answering.sender import AnswerSender
from aggregator.connection_watch import ConnectionWatch
from aggregator.daemon_surfaces import DaemonSurfaces
from aggregator.dispatcher import Dispatcher, WeeklyImage
from aggregator.instance_lock import AlreadyRunning, InstanceLock
from aggregator.leases import LeaseKeeper, SoleKeeper, keep_leases, while_leading
from aggregator.memory import release_free_memory, release_free_memory_every
from aggregator.metrics import Metrics
from aggregator.notifiers.base import Notifier
from aggregator.poller import StreamPoller
from aggregator.report.reading import weekly_chart, weekly_summary
from aggregator.report.weekly import Summary, WeeklyReporter, WeeklySettings
from aggregator.service import ServiceReport, keep_alive
from aggregator.settings import ConfigError, Settings, load_settings
from aggregator.settings.notify import TelegramConfig
from aggregator.settings.reload import Reloaded, split_reload
from aggregator.store import Store
from aggregator.systemd import SystemdNotifier
from aggregator.wiring import (
    build_action_links,
    build_connection_watch,
    build_keeper,
    build_pollers,
    connect_loops,
    poll_observer,
)
from aggregator.wiring.channels import build_notifier
from aggregator.wiring.connectors import TransportFactory, answering_connectors, build_connectors
from connectors.base import Connector
from core.clock import Clock, sleep_or_wake
from core.models import MessageKind
from policies import Policies

if TYPE_CHECKING:
    from aggregator.notifiers.telegram_actions import TelegramActionPoller
    from aggregator.notifiers.telegram_answers import TelegramAnswerFlow

log = structlog.get_logger("inqd.daemon")

# How often the daemon looks for controls changed by another process (a terminal command, a phone tap): a tap
# takes effect within this long, and an idle daemon wakes only this often for it.
CONTROLS_CHECK_S = 10.0


@dataclass
class Daemon(DaemonSurfaces):
    """A running inqd: pollers feeding the store, a dispatcher draining its outbox, a sender posting answers."""

    settings: Settings
    store: Store
    instance_lock: InstanceLock
    clock: Clock
    connectors: list[Connector]
    notifiers: dict[str, Notifier]
    pollers: list[StreamPoller]
    dispatcher: Dispatcher
    sender: AnswerSender
    timer: AlertTimer
    watch: ConnectionWatch
    metrics: Metrics
    # The calendar as last read from the store: vacations are closed days, so they shape the policies.
    vacations: list[tuple[date, date]]
    policies: Policies
    controls_version: int
    # Which accounts this instance polls, and whether it leads (several instances on PostgreSQL; on SQLite all).
    keeper: LeaseKeeper | SoleKeeper = field(default_factory=SoleKeeper)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    # Set by a surface in this process that changed a control (the web inbox): look at the store now.
    controls_wake: asyncio.Event = field(default_factory=asyncio.Event)
    systemd: SystemdNotifier = field(default_factory=SystemdNotifier.from_env)
    # The weekly message: off until `use_weekly` gives it its summary (and chart) source.
    weekly: WeeklyReporter | None = None
    # Phone taps act on this daemon (its store, its current policies): built from it, after it.
    action_pollers: list[TelegramActionPoller] = field(init=False)
    answer_flows: list[TelegramAnswerFlow] = field(init=False)

    def __post_init__(self) -> None:
        configs = [c for c in self.settings.notifiers if isinstance(c, TelegramConfig) and c.actions]
        self.answer_flows, self.action_pollers = [], []
        if not configs:
            return  # the Telegram pollers' modules stay unloaded
        from aggregator.wiring.phone import telegram_surfaces

        surfaces = [
            telegram_surfaces(
                cfg,
                self.store,
                self.clock,
                desk=self.answer_desk(),
                apply=self.apply_phone_action,
                sender_outcomes=self.sender.on_outcome,
            )
            for cfg in configs
        ]
        self.answer_flows = [flow for flow, _ in surfaces]
        self.action_pollers = [poller for _, poller in surfaces]

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
            replanned = await self._use_policies(vacations)
            log.info("calendar_changed", vacations=len(vacations), replanning=replanned)
        self.timer.wake.set()
        return True

    async def _use_policies(self, vacations: list[tuple[date, date]]) -> int | None:
        """Policies from the current settings and `vacations` for the timer and the dispatcher; every open
        inquiry is planned again when they differ from the stored plans' (how many, returned)."""
        self.vacations = vacations
        self.policies = self.settings.policies(vacations)
        self.timer.use_policies(self.policies)
        self.dispatcher.use_policies(self.policies)
        if self.weekly is not None:
            self.weekly.use_policies(self.policies)
        return await self.timer.start(self.settings.policy_fingerprint(vacations))

    async def _follow_controls_loop(self) -> None:
        while not self.stop.is_set():
            try:
                await self.follow_controls()
            except Exception:  # a failed check is retried on the next tick; the alerts go on meanwhile
                log.exception("controls_check_failed")
            await sleep_or_wake(self.clock, CONTROLS_CHECK_S, self.stop, self.controls_wake)
            self.controls_wake.clear()

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
        lock = InstanceLock.acquire(settings.db_path)
        try:
            store = await Store.open(settings.database_location())
        except BaseException:
            lock.release()
            raise
        if not await store.hold_database(alone=False):  # PostgreSQL: instances share it, `inqd migrate` does not
            await store.aclose()
            lock.release()
            raise AlreadyRunning(f"inqd migrate is copying into the database {settings.database_label}")
        try:
            daemon = await cls._assemble(settings, store, lock, clock, transport_for, rng or random.Random())
        except BaseException:  # an unregistered account or channel type, say: leave nothing open behind
            await store.aclose()
            lock.release()
            raise
        daemon.use_weekly(
            lambda week: weekly_summary(daemon.store, daemon.settings, daemon.clock.now(), week),
            lambda _week: weekly_chart(daemon.store, daemon.settings, daemon.clock.now()),
        )
        return daemon

    @classmethod
    async def _assemble(
        cls,
        settings: Settings,
        store: Store,
        lock: InstanceLock,
        clock: Clock,
        transport_for: TransportFactory | None,
        rng: random.Random,
    ) -> Daemon:
        # SQLite, the lock held: any lease left in the outbox is a dead daemon's (kill -9, power cut); none shared.
        released = await store.release_leases()
        if released:
            log.info("leases_released", rows=released)
        links = build_action_links(settings, clock)
        home = settings.admin.public_url if settings.admin.web else None
        notifiers = {
            cfg.name: build_notifier(
                cfg, clock=clock, action_links=links, secrets_dir=settings.secrets_dir, home_url=home
            )
            for cfg in settings.notifiers
        }
        connectors = build_connectors(settings.accounts, clock=clock, transport_for=transport_for)
        vacations = await store.vacation_ranges()
        policies = settings.policies(vacations)
        channels = {kind: settings.channels_for(kind) for kind in MessageKind}
        fallbacks = {n.name: (n.fallback, n.fallback_after) for n in settings.notifiers if n.fallback}
        marketplaces = {acc.id: acc.marketplace_kind for acc in settings.accounts}
        dispatcher = Dispatcher(store, notifiers, clock, policies, fallbacks=fallbacks)
        timer = AlertTimer(store, clock, policies, channels=channels)
        watch = build_connection_watch(settings, store, clock, channels)
        keeper = await build_keeper(settings, store, clock)
        keeper.on_claimed.append(watch.forget)
        sender = AnswerSender(
            store, answering_connectors(connectors), clock, channels=channels, accounts=keeper.answering_accounts
        )
        await sender.recover()  # SQLite: every `sending` answer is a dead daemon's; shared: those whose claim ran out
        metrics = Metrics()
        on_queued = connect_loops(dispatcher, timer, watch, sender, metrics)
        on_polled = poll_observer(metrics, watch, marketplaces)
        gate = keeper if isinstance(keeper, LeaseKeeper) else None
        pollers = build_pollers(settings, connectors, store, clock, channels, on_queued, on_polled, rng, gate)
        await timer.start(settings.policy_fingerprint(vacations))
        return cls(
            settings=settings,
            store=store,
            instance_lock=lock,
            clock=clock,
            connectors=connectors,
            notifiers=notifiers,
            pollers=pollers,
            dispatcher=dispatcher,
            sender=sender,
            timer=timer,
            watch=watch,
            metrics=metrics,
            vacations=vacations,
            policies=policies,
            controls_version=await store.controls_version(),
            keeper=keeper,
        )

    def use_weekly(self, summary: Summary, image: WeeklyImage | None = None) -> None:
        """Turn on the weekly message (unless `[report] weekly = false`): `summary` gives a week's lines when it is
        queued, `image` draws its chart when the dispatcher renders it for a channel that shows pictures."""
        weekly = WeeklySettings.of(self.settings.report)
        self.dispatcher.weekly_image = image
        if not weekly.enabled:
            self.weekly = None
            return
        self.weekly = WeeklyReporter(
            self.store,
            self.clock,
            self.policies,
            summary=summary,
            channels=self.settings.channels_for(MessageKind.WEEKLY_REPORT),
            weekly=weekly,
            chart=image is not None,
        )
        self.weekly.on_queued.append(self.dispatcher.wake)

    async def run_once(self) -> None:
        """Poll every stream once, send due answers, then deliver everything due: the burst mode of tests."""
        await self.follow_controls()
        await self.keeper.tick()
        for poller in self.pollers:
            await poller.poll_once()
        await self.timer.run_once()
        await self.sender.run_once()
        if self.weekly is not None:
            await self.weekly.run_once()
        await self.dispatcher.run_once()
        for flow in self.answer_flows:
            await flow.sync_status()

    async def run(self) -> None:
        """Run until `stop` is set (the command's stop signals call request_stop); in-flight work finishes or stays
        in the outbox."""
        log.info(
            "daemon_started",
            accounts=len(self.connectors),
            streams=len(self.pollers),
            channels=sorted(self.notifiers),
            db=self.settings.database_label,
            instance=self.keeper.instance_id,
        )
        report = ServiceReport(self.store, self.clock, self.watch, self.metrics)
        admin = await self._start_admin(report)
        try:
            async with asyncio.TaskGroup() as group:
                for poller in self.pollers:
                    group.create_task(poller.run(self.stop), name=f"poll:{poller.account_id}:{poller.stream.value}")
                group.create_task(self._one_owner(self.timer.run), name="timers")
                group.create_task(self.dispatcher.run(self.stop), name="dispatch")
                group.create_task(self.sender.run(self.stop), name="answers")
                group.create_task(self._follow_controls_loop(), name="controls")
                if isinstance(self.keeper, LeaseKeeper):
                    group.create_task(keep_leases(self.keeper, self.clock, self.stop), name="leases")
                if self.weekly is not None:
                    group.create_task(self._one_owner(self.weekly.run), name="weekly")
                for actions in self.action_pollers:  # getUpdates: a second poller gets 409 from Telegram
                    group.create_task(self._one_owner(actions.run), name="telegram-actions")
                for flow in self.answer_flows:
                    group.create_task(self._one_owner(flow.run), name="telegram-answers")
                # Every loop is scheduled: systemd may consider us started.
                self.systemd.ready(await report.status_line())
                release_free_memory()  # what start-up freed goes back to the system (~1 MiB, aggregator/memory.py)
                group.create_task(release_free_memory_every(self.clock, self.stop), name="memory")  # the heap's creep
                group.create_task(keep_alive(self.systemd, report, self.clock, self.stop), name="systemd")
        finally:
            self.systemd.stopping()
            if admin is not None:
                await admin.aclose()
        log.info("daemon_stopped")

    def _one_owner(self, run: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> Coroutine[Any, Any, None]:
        """A loop that must have one owner among the instances: run on the leader only (on SQLite, always)."""
        if isinstance(self.keeper, LeaseKeeper):
            return while_leading(self.keeper, self.clock, self.stop, run)
        return run(self.stop)

    async def reload_settings(self) -> Reloaded:
        """Re-read the config file (the web page saved it, or SIGHUP) and apply what can change while running:
        hours, intervals, calendar, SLA, controls; keys that need a restart are reported, not applied. A file
        `inqd check` would refuse changes nothing."""
        path = self.settings.config_path
        if path is None:
            return Reloaded(applied=False, problems=("설정 파일 없이 시작했습니다: 다시 읽을 파일이 없습니다",))
        try:
            loaded = await asyncio.to_thread(load_settings, path, lang="ko")
        except ConfigError as err:
            log.warning("reload_refused", problems=err.problems)
            return Reloaded(applied=False, problems=tuple(err.problems))
        self.settings, restart_needed = split_reload(self.settings, loaded)
        replanned = await self._use_policies(await self.store.vacation_ranges())
        self.timer.wake.set()
        self.dispatcher.wake.set()
        log.info("settings_reloaded", replanning=replanned, restart_needed=list(restart_needed))
        return Reloaded(applied=True, restart_needed=restart_needed)

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
        for flow in self.answer_flows:
            await flow.aclose()
        if not self.stop.is_set():  # the leases loop gives them back on a stop; closing without one (tests) too
            await self.keeper.leave()
        await self.store.aclose()
        self.instance_lock.release()
