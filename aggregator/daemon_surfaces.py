"""The daemon's surfaces: what the phone, the admin API and the web inbox call on a running daemon (its store, its
current policies, its loops' wake-ups). A part of the composition root (aggregator/daemon.py), kept apart so each
file reads in one sitting; it decides nothing either."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from aggregator import control_service as controls
from aggregator.admin import AdminServer
from aggregator.alert_timer import AlertTimer
from aggregator.answering.check import answer_check
from aggregator.answering.desk import AnswerDesk
from aggregator.answering.sender import AnswerSender
from aggregator.answering.service import AnswerService, Check
from aggregator.connection_watch import ConnectionWatch
from aggregator.dispatcher import Dispatcher
from aggregator.metrics import Metrics
from aggregator.notifiers.base import Notifier
from aggregator.service import ServiceReport
from aggregator.settings import Settings
from aggregator.settings.reload import Reloaded
from aggregator.store import Store
from core.clock import Clock
from policies import Policies

if TYPE_CHECKING:
    from aggregator.web.context import WebContext

log = structlog.get_logger("inqd.daemon")


class DaemonSurfaces:
    """Mixed into `Daemon`, whose fields these are."""

    settings: Settings
    store: Store
    clock: Clock
    policies: Policies
    notifiers: dict[str, Notifier]
    dispatcher: Dispatcher
    sender: AnswerSender
    timer: AlertTimer
    watch: ConnectionWatch
    metrics: Metrics
    controls_wake: asyncio.Event

    async def reload_settings(self) -> Reloaded:
        """Re-read the config file (aggregator/daemon.py)."""
        raise NotImplementedError

    def answer_desk(self) -> AnswerDesk:
        """The answer service as the phone and the web inbox use it: templates filled, the check shown first."""
        check = answer_check(self.settings)
        return AnswerDesk(
            self.answers(check),
            self.store,
            self.clock,
            check=check,
            templates_path=self.settings.templates_path,
            work=lambda: self.policies.work,
            shop_name=self.settings.shop_name,
        )

    async def apply_phone_action(self, action: str, inquiry_id: int, actor: str) -> str:
        """A button tapped on the phone: record it (as the terminal would) and let the timer re-plan now."""
        reply = await controls.apply_phone_action(
            self.store, self.policies, action, inquiry_id, now=self.clock.now(), actor=actor
        )
        self.timer.wake.set()
        self.dispatcher.wake.set()
        return reply

    def answers(self, check: Check | None = None) -> AnswerService:
        """The answer service of this daemon's surfaces, with the check `inqd answer` runs (aggregator/answering/
        check.py) unless given another; an approval wakes the sender at once."""
        return AnswerService(
            self.store,
            self.clock,
            check=check or answer_check(self.settings),
            policies=lambda: self.policies,  # the phone's desk lives as long as the daemon: follow reloads
            shop_name=self.settings.shop_name,
            on_approved=self.sender.wake.set,
        )

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
        admin.enable_answer_wake(self.sender.wake.set)  # `inqd answer` in another process pokes it after approving
        if config.web:
            admin.add_routes_on_first_use(self.mount_web)
        try:
            await admin.start()
        except OSError as err:
            log.error("admin_unavailable", host=config.host, port=config.port, error=str(err))
            await admin.aclose()
            return None
        return admin

    def mount_web(self, add_route: Callable[..., None]) -> None:
        """The web inbox's pages, mounted on their first request: until then a daemon keeps none of Jinja2, the
        pages and their helpers (~4 MiB, bench.idle)."""
        from aggregator.web import mount

        mount(add_route, self.web_context())

    def web_context(self) -> WebContext:
        """The daemon's parts as the web inbox uses them (aggregator/web/)."""
        from aggregator.web.backend import status_facts, test_channel
        from aggregator.web.context import WebContext

        token = self.settings.admin.token

        def controls_changed() -> None:
            self.controls_wake.set()  # a vacation changes the calendar: follow_controls rebuilds the policies now
            self.timer.wake.set()
            self.dispatcher.wake.set()

        return WebContext(
            store=self.store,
            clock=self.clock,
            settings=lambda: self.settings,
            policies=lambda: self.policies,
            desk=self.answer_desk,
            controls_changed=controls_changed,
            reload=self.reload_settings,
            test_channel=lambda name: test_channel(self.settings, self.notifiers, name, self.clock),
            status=lambda: status_facts(self.store, self.settings, self.policies, self.clock),
            config_path=self.settings.config_path,
            token=token.get_secret_value() if token and token.get_secret_value() else None,
            show_buyer_data_remote=self.settings.admin.show_buyer_data_remote,
        )
