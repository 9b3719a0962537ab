"""Outbox drain: claim due rows with a lease, decide, render, send, record the outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta

import structlog

from aggregator import render
from aggregator.clock import Clock, sleep_or_wake
from aggregator.models import Marketplace, Message, MessageKind
from aggregator.notifiers.base import DeliveryError, Notifier
from aggregator.scheduler import delivery_retry_delay_s
from aggregator.store import OutboxItem, Store, StoredInquiry
from policies.routing import decide

log = structlog.get_logger("inqd.dispatcher")

_NEEDS_INQUIRY = {MessageKind.NEW_INQUIRY}


class Dispatcher:
    """Delivers queued notifications at least once; a row is marked sent only after the channel took it."""

    def __init__(
        self,
        store: Store,
        notifiers: Mapping[str, Notifier],
        clock: Clock,
        *,
        marketplaces: Mapping[str, Marketplace],
        lease_s: float = 120.0,
        batch: int = 50,
        idle_check_s: float = 30.0,
    ) -> None:
        self._store = store
        self._notifiers = dict(notifiers)
        self._clock = clock
        self._marketplaces = dict(marketplaces)
        self._lease = timedelta(seconds=lease_s)
        self._batch = batch
        self._idle_check_s = idle_check_s
        self.wake = asyncio.Event()
        self.sent = 0
        self.failed = 0

    async def run_once(self) -> int:
        """Handle every row due now; returns how many rows were handled."""
        handled = 0
        while True:
            items = await self._store.claim_due(now=self._clock.now(), lease=self._lease, limit=self._batch)
            if not items:
                return handled
            for item in items:
                await self._handle(item)
                handled += 1

    async def _handle(self, item: OutboxItem) -> None:
        stored = await self._store.get_inquiry(item.inquiry_id) if item.inquiry_id is not None else None
        now = self._clock.now()
        decision = decide(
            item.kind, stored.inquiry if stored else None, needs_inquiry=item.kind in _NEEDS_INQUIRY, now=now
        )
        if not decision.send:
            await self._store.mark_dropped(item, now=now, reason=decision.reason.value)
            return
        notifier = self._notifiers.get(item.channel)
        if notifier is None:
            await self._store.mark_failed(item, now=now, error=f"channel {item.channel!r} is not configured")
            return
        message = self._render(item, stored)
        try:
            await notifier.send(message)
        except DeliveryError as err:
            await self._delivery_failed(item, err)
            return
        await self._store.mark_delivered(item, now=self._clock.now())
        self.sent += 1

    def _render(self, item: OutboxItem, stored: StoredInquiry | None) -> Message:
        if item.kind is MessageKind.NEW_INQUIRY:
            assert stored is not None
            return render.new_inquiry(stored.inquiry, row_id=stored.id)
        if item.kind is MessageKind.BACKFILL_SUMMARY:
            marketplace = self._marketplaces.get(str(item.payload["account_id"]), Marketplace.COUPANG)
            return render.backfill_summary(item.payload, marketplace=marketplace)
        return render.system(item.payload)

    async def _delivery_failed(self, item: OutboxItem, err: DeliveryError) -> None:
        now = self._clock.now()
        if not err.retryable:
            log.error("delivery_failed_permanently", channel=item.channel, outbox_id=item.id, error=str(err))
            await self._store.mark_failed(item, now=now, error=str(err))
            self.failed += 1
            return
        delay_s = delivery_retry_delay_s(item.attempts, retry_after_s=err.retry_after_s)
        log.warning(
            "delivery_retry",
            channel=item.channel,
            outbox_id=item.id,
            attempts=item.attempts,
            retry_in_s=round(delay_s, 1),
            error=str(err),
        )
        await self._store.reschedule(item, at=now + timedelta(seconds=delay_s), error=str(err))

    async def run(self, stop: asyncio.Event) -> None:
        """Drain the outbox until `stop`; sleeps until the next due row or until woken by new rows."""
        while not stop.is_set():
            self.wake.clear()
            try:
                await self.run_once()
                next_due = await self._store.next_due_at()
            except Exception:
                log.exception("dispatch_crashed")
                next_due = None
            wait_s = self._idle_check_s
            if next_due is not None:
                wait_s = min(wait_s, max(0.0, (next_due - self._clock.now()).total_seconds()))
            await sleep_or_wake(self._clock, wait_s, stop, self.wake)
