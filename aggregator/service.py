"""Running as a service: the admin HTTP's data (health, metrics) and systemd's READY / STATUS / WATCHDOG.

Wiring only: the health verdicts come from policies.health through ConnectionWatch; this module gathers
numbers from the store for /metrics and `systemctl status`, and keeps the watchdog fed from the event loop.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import structlog

from aggregator.connection_watch import ConnectionWatch
from aggregator.metrics import Metrics
from aggregator.store import Store
from aggregator.systemd import SystemdNotifier
from core.clock import Clock, sleep_or_wake

log = structlog.get_logger("inqd.service")

# How often `systemctl status` gets a fresh line when no watchdog asks for more.
_STATUS_EVERY_S = 60.0


class ServiceReport:
    """Numbers about the running daemon for /metrics and the systemd status line."""

    def __init__(self, store: Store, clock: Clock, watch: ConnectionWatch, metrics: Metrics) -> None:
        self._store = store
        self._clock = clock
        self._watch = watch
        self._metrics = metrics

    async def refresh_metrics(self) -> None:
        """Pull the gauges (open inquiries, outbox, oldest open, stream health) from the store."""
        summary = await self._store.queue_summary()
        self._metrics.set_open_inquiries(summary.open_by_marketplace)
        self._metrics.set_outbox(await self._store.outbox_counts())
        oldest = min((at for _, at in summary.open_by_stream.values()), default=None)
        self._metrics.set_oldest_open_age(None if oldest is None else self._age_s(oldest))
        self._metrics.set_streams(
            (
                v.account_id,
                v.stream.value,
                v.healthy,
                v.last_poll_ok,
                v.last_success_at.timestamp() if v.last_success_at else None,
            )
            for v in await self._watch.verdicts()
        )

    def _age_s(self, at: datetime) -> float:
        return max(0.0, (self._clock.now() - at).total_seconds())

    async def status_line(self) -> str:
        """One line for `systemctl status`: open inquiries and how many connections work."""
        summary = await self._store.queue_summary()
        open_count = sum(summary.open_by_marketplace.values())
        verdicts = await self._watch.verdicts()
        working = sum(v.healthy for v in verdicts)
        text = f"미답변 문의 {open_count}건 · 연결 {working}/{len(verdicts)} 정상"
        return text if working == len(verdicts) else text + " · 점검 필요"


async def keep_alive(systemd: SystemdNotifier, report: ServiceReport, clock: Clock, stop: asyncio.Event) -> None:
    """Ping the watchdog and refresh the status line until `stop`.

    The pings come from the event loop itself, so a wedged loop (a blocking call, a livelock) stops them and
    systemd restarts inqd (`WatchdogSec=` + `Restart=on-failure`).
    """
    if not systemd.enabled:
        return
    interval = min(systemd.watchdog_interval_s or _STATUS_EVERY_S, _STATUS_EVERY_S)
    last_status = -_STATUS_EVERY_S
    while not stop.is_set():
        systemd.watchdog()
        if clock.monotonic() - last_status >= _STATUS_EVERY_S:
            try:
                systemd.status(await report.status_line())
            except Exception:  # a status line is cosmetic: never let it stop the watchdog
                log.exception("status_line_failed")
            last_status = clock.monotonic()
        await sleep_or_wake(clock, interval, stop)
