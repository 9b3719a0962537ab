"""Outbox drain: claim due rows with a lease, decide (policies), render, send, record the outcome and its reason."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime, timedelta

import structlog

from aggregator import render
from aggregator.notifiers.base import ClearingNotifier, DeliveryError, Notifier, PictureNotifier
from aggregator.scheduler import delivery_retry_delay_s, should_fall_back
from aggregator.store import OutboxItem, Store, StoredInquiry
from core.clock import Clock, WakeableLoop
from core.models import Message, MessageKind
from core.payloads import (
    AnswerNotSentPayload,
    BackfillSummaryPayload,
    DigestPayload,
    SlaAlertPayload,
    SystemPayload,
    WeeklyReportPayload,
)
from policies import Policies
from policies.routing import Decision, NightHistory, PendingMessage, Reason, decide, quiet_period_start
from policies.sla import deadlines

log = structlog.get_logger("inqd.dispatcher")

# Draws the weekly chart of a week (its Monday) from the store, as PNG bytes; None when there is nothing to draw.
WeeklyImage = Callable[[date], Awaitable[bytes | None]]


# A claimed row is sent only while its claim has this long left: more than a channel's request timeout (and its
# fallback's), so a send is over before the claim runs out and no other instance can claim the row meanwhile.
CLAIM_MARGIN_S = 40.0


class Dispatcher:
    """Delivers queued notifications at least once; a row is marked sent only after the channel took it."""

    def __init__(
        self,
        store: Store,
        notifiers: Mapping[str, Notifier],
        clock: Clock,
        policies: Policies,
        *,
        fallbacks: Mapping[str, tuple[str, timedelta]] | None = None,
        lease_s: float = 120.0,
        batch: int = 50,
        idle_check_s: float = 30.0,
        weekly_image: WeeklyImage | None = None,
    ) -> None:
        self._store = store
        self._notifiers = dict(notifiers)
        self._clock = clock
        self._policies = policies
        self._fallbacks = dict(fallbacks or {})  # channel -> (fallback channel, after how long failing)
        self._lease = timedelta(seconds=lease_s)
        self._batch = batch
        self._loop = WakeableLoop(clock, idle_s=idle_check_s, on_error=lambda: log.exception("dispatch_crashed"))
        self.wake = self._loop.wake
        # Observers of every outcome (metrics): (channel, message kind, outcome) with outcome one of
        # sent, held, dropped, failed, retried, fell_back.
        self.on_outcome: list[Callable[[str, str, str], None]] = []
        # Asked lazily, only for a weekly message going to a channel that shows pictures; the last chart is kept
        # so that Telegram and ntfy share one drawing.
        self.weekly_image = weekly_image
        self._chart: tuple[date, bytes | None] | None = None

    def use_policies(self, policies: Policies) -> None:
        """Follow a changed calendar (a vacation added or removed while running)."""
        self._policies = policies

    def _note(self, item: OutboxItem, outcome: str) -> None:
        for observer in self.on_outcome:
            observer(item.channel, item.kind.value, outcome)

    async def run_once(self) -> int:
        """Handle every row due now; returns how many rows were handled."""
        handled = 0
        while True:
            items = await self._store.claim_due(now=self._clock.now(), lease=self._lease, limit=self._batch)
            if not items:
                return handled
            claimed_at = self._clock.monotonic()
            for index, item in enumerate(items):
                if self._clock.monotonic() - claimed_at > self._lease.total_seconds() - CLAIM_MARGIN_S:
                    # Slow channels ate the claim: where instances share the database another may claim these
                    # rows once it runs out, so they are given back now rather than sent late twice.
                    await self._store.release_claims(items[index:])
                    break
                await self._handle(item)
                handled += 1

    async def _history(self, now: datetime) -> NightHistory:
        start = quiet_period_start(self._policies.quiet, now)
        if start is None:
            return NightHistory()
        count, ids = await self._store.breakthroughs_since(start)
        return NightHistory(breakthroughs=count, inquiry_ids=ids)

    def _pending(self, item: OutboxItem, stored: StoredInquiry | None) -> PendingMessage:
        alert = item.payload if isinstance(item.payload, SlaAlertPayload) else None
        return PendingMessage(
            kind=item.kind,
            inquiry=stored.inquiry if stored else None,
            inquiry_id=item.inquiry_id,
            clock=alert.clock if alert else None,
            deadline=alert.deadline if alert else None,
            handled=stored is not None and stored.controls.handled_at is not None,
            promise_at=stored.controls.promise_at if stored else None,
            promise_by_answer=stored is not None and stored.controls.promise_by_answer,
        )

    async def _handle(self, item: OutboxItem) -> None:
        stored = await self._store.get_inquiry(item.inquiry_id) if item.inquiry_id is not None else None
        now = self._clock.now()
        decision = decide(
            self._pending(item, stored),
            now=now,
            quiet=self._policies.quiet,
            breakthrough=self._policies.sla.breakthrough,
            history=await self._history(now),
        )
        if decision.reason is Reason.HOLD_QUIET:
            await self._hold(item, decision, now)
            self._note(item, "held")
            return
        if decision.reason is Reason.WAIT_QUIET:
            # Quiet hours that never end (within the schedule's horizon) are looked at again in a day.
            until = decision.at or now + timedelta(days=1)
            await self._store.wait_until(item, until=until, now=now, reason=decision.reason.value)
            self._note(item, "held")
            return
        if not decision.send:
            await self._store.mark_dropped(item, now=now, reason=decision.reason.value)
            self._note(item, "dropped")
            return
        notifier = self._notifiers.get(item.channel)
        if notifier is None:
            await self._store.mark_failed(item, now=now, error=f"channel {item.channel!r} is not configured")
            self._note(item, "failed")
            return
        if item.kind is MessageKind.ANSWERED:
            await self._clear(item, notifier, decision)
            return
        held = await self._store.held_until(channel=item.channel, until=now) if item.kind is MessageKind.DIGEST else []
        message = await self._render(item, stored, now, decision, held, pictures=isinstance(notifier, PictureNotifier))
        if message is None:  # an empty digest: nothing happened during quiet hours worth a message
            await self._store.fold_into_digest(item, held, now=now)
            self._note(item, "dropped")
            return
        try:
            await notifier.send(message)
        except DeliveryError as err:
            await self._delivery_failed(item, err)
            return
        if item.kind is MessageKind.DIGEST:
            await self._store.fold_into_digest(item, held, now=self._clock.now())
        else:
            await self._store.mark_delivered(
                item, now=self._clock.now(), reason=decision.reason.value, note=decision.note
            )
        self._note(item, "sent")

    async def _clear(self, item: OutboxItem, notifier: Notifier, decision: Decision) -> None:
        """Take an answered inquiry's notification off the phone, where the channel can."""
        assert item.inquiry_id is not None
        if not isinstance(notifier, ClearingNotifier):
            await self._store.mark_dropped(item, now=self._clock.now(), reason="channel cannot clear")
            self._note(item, "dropped")
            return
        try:
            cleared = await notifier.clear(render.inquiry_group_key(item.inquiry_id))
        except DeliveryError as err:
            await self._delivery_failed(item, err)
            return
        if cleared:
            await self._store.mark_delivered(item, now=self._clock.now(), reason=decision.reason.value, note="cleared")
            self._note(item, "sent")
        else:
            await self._store.mark_dropped(item, now=self._clock.now(), reason="server cannot clear")
            self._note(item, "dropped")

    async def _hold(self, item: OutboxItem, decision: Decision, now: datetime) -> None:
        until = decision.at or now
        # One digest per channel per quiet period; when it has gone already (another instance, a clock ahead of
        # ours) the row waits for `until` on its own instead.
        if not await self._store.hold_for_digest(item, until=until, now=now, reason=decision.reason.value):
            log.info("digest_already_sent", channel=item.channel, until=until.isoformat(), row=item.id)

    async def _render(
        self,
        item: OutboxItem,
        stored: StoredInquiry | None,
        now: datetime,
        decision: Decision,
        held: list[OutboxItem],
        *,
        pictures: bool,
    ) -> Message | None:
        payload = item.payload
        if isinstance(payload, WeeklyReportPayload):
            chart = await self._weekly_chart(payload.week) if payload.chart and pictures else None
            return render.weekly_report(payload, image=chart)
        if isinstance(payload, DigestPayload):
            return await self._digest(item.channel, payload, now, held)
        if isinstance(payload, BackfillSummaryPayload):
            return render.backfill_summary(payload)
        if isinstance(payload, SystemPayload):
            return render.system(payload)
        assert stored is not None  # the other kinds are about an inquiry, and routing dropped them if it is gone
        if isinstance(payload, SlaAlertPayload):
            breakthrough = decision.reason is Reason.BREAKTHROUGH
            return render.sla_alert(
                stored.inquiry, row_id=stored.id, kind=item.kind, payload=payload, now=now, breakthrough=breakthrough
            )
        if isinstance(payload, AnswerNotSentPayload):
            return render.answer_not_sent(stored.inquiry, row_id=stored.id, payload=payload)
        clocks = deadlines(stored.inquiry, self._policies.sla, self._policies.work)
        return render.new_inquiry(stored.inquiry, row_id=stored.id, deadline=clocks.marketplace)

    async def _weekly_chart(self, week: date) -> bytes | None:
        """The week's chart, drawn once for every channel; a failed drawing costs the picture, never the message."""
        if self.weekly_image is None:
            return None
        if self._chart is None or self._chart[0] != week:
            try:
                image = await self.weekly_image(week)
            except Exception:  # the drawing is an add-on: the summary lines still go out
                log.exception("weekly_chart_failed", week=week.isoformat())
                image = None
            self._chart = (week, image)
        return self._chart[1]

    async def _digest(
        self, channel: str, payload: DigestPayload, now: datetime, held: list[OutboxItem]
    ) -> Message | None:
        since = payload.quiet_until
        start = quiet_period_start(self._policies.quiet, since - timedelta(microseconds=1)) or since
        breakthroughs = await self._store.breakthrough_times_since(start, channel=channel)
        if not held and not breakthroughs:
            return None
        open_rows = await self._store.open_inquiries()
        ranked = sorted(
            (deadlines(row.inquiry, self._policies.sla, self._policies.work).marketplace, row.id, row.inquiry)
            for row in open_rows
        )
        entries = [(deadline, inquiry) for deadline, _, inquiry in ranked]
        return render.digest(
            entries,
            held_new=sum(h.kind is MessageKind.NEW_INQUIRY for h in held),
            held_other=sum(h.kind is not MessageKind.NEW_INQUIRY for h in held),
            breakthroughs=breakthroughs,
            quiet_from=start,
            now=now,
        )

    async def _delivery_failed(self, item: OutboxItem, err: DeliveryError) -> None:
        now = self._clock.now()
        fallback = self._fallbacks.get(item.channel)
        if (
            fallback is not None
            # A digest folds this channel's held rows, and a clear only means something where the notification
            # was shown: both stay on their channel.
            and item.kind not in (MessageKind.DIGEST, MessageKind.ANSWERED)
            and should_fall_back(
                retryable=err.retryable,
                failing_for_s=(now - item.created_at).total_seconds(),
                fallback_after_s=fallback[1].total_seconds(),
            )
        ):
            await self._fall_back(item, err, fallback[0], now)
            return
        if not err.retryable:
            log.error("delivery_failed_permanently", channel=item.channel, outbox_id=item.id, error=str(err))
            await self._store.mark_failed(item, now=now, error=str(err))
            self._note(item, "failed")
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
        self._note(item, "retried")

    async def _fall_back(self, item: OutboxItem, err: DeliveryError, fallback: str, now: datetime) -> None:
        log.warning("delivery_fallback", channel=item.channel, fallback=fallback, outbox_id=item.id, error=str(err))
        # Queue the copy first: a crash in between leaves a duplicate at worst, never a lost message.
        await self._store.enqueue(
            item.kind,
            channels=[fallback],
            dedup_key=f"fallback:{item.id}",
            now=now,
            payload=item.payload,
            inquiry_id=item.inquiry_id,
        )
        await self._store.mark_dropped(item, now=now, reason=f"fell back to {fallback}: {err}")
        self._note(item, "fell_back")
        self.wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Drain the outbox until `stop`; sleeps until the next due row or until woken by new rows."""
        await self._loop.run(stop, self.run_once, self._store.next_due_at)
