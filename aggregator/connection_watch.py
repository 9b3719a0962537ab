"""Connection health as messages and as /healthz: reads stream status from the store, lets policies.health decide,
and queues "연결 끊김" / "인증 실패" / "복구", Coupang key and Kakao login reminders through the outbox."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from aggregator import connection_messages, render
from aggregator.store import Channels, Store, StreamStatus
from aggregator.store.schema import channels_for
from core.clock import Clock
from core.models import Marketplace, MessageKind, StreamKind
from policies.health import (
    Change,
    OutageNotice,
    StreamCondition,
    StreamHealth,
    Transition,
    connection_changes,
    key_expires_on,
    key_reminder_due,
    reminder_due,
    stream_health,
)

log = structlog.get_logger("inqd.health")


@dataclass(frozen=True, slots=True)
class WatchedStream:
    """A configured stream: its account, marketplace and poll interval."""

    account_id: str
    marketplace: Marketplace
    stream: StreamKind
    interval_s: float


def stream_condition(watched: WatchedStream, status: StreamStatus | None) -> StreamCondition:
    """What policies.health needs to know of a configured stream (never polled yet: `status` None)."""
    return StreamCondition(
        account_id=watched.account_id,
        stream=watched.stream,
        interval_s=watched.interval_s,
        last_success_at=status.last_success_at if status else None,
        failing_since=status.failing_since if status else None,
        last_error=status.last_error if status else None,
        auth_failed=status.auth_failed if status else False,
    )


class ConnectionWatch:
    """Announces each account's outages once and their recovery once; answers /healthz."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        streams: Sequence[WatchedStream],
        lost_after: timedelta,
        channels: Channels,
        zone: ZoneInfo,
        key_issued: Mapping[str, date] | None = None,
        kakao_logins: Mapping[str, Callable[[], datetime | None]] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._streams = {(s.account_id, s.stream): s for s in streams}
        self._marketplaces = {s.account_id: s.marketplace for s in streams}
        self._lost_after = lost_after
        self._channels = channels
        self._zone = zone
        self._key_issued = dict(key_issued or {})
        # kakao channel -> when its login ends (read from its token file: `inqd kakao-login` may renew it meanwhile)
        self._kakao_logins = dict(kakao_logins or {})
        self._keys_checked_on: date | None = None
        # Accounts whose last read showed every stream healthy and no outage announced: while their polls keep
        # succeeding no message can be due (policies.health needs a failing stream or an announced outage), so
        # `after_poll` skips the two reads. Only the instance polling an account writes its stream health and
        # notices; where several share the work, an account claimed from another instance is forgotten (`forget`).
        self._quiet: set[str] = set()
        self.started_at = clock.now()
        self.on_queued: list[Any] = []  # asyncio.Event-like objects to set when messages were queued

    def _conditions(self, statuses: Sequence[StreamStatus], account_id: str | None = None) -> list[StreamCondition]:
        by_key = {(s.account_id, s.stream): s for s in statuses}
        return [
            stream_condition(watched, by_key.get(key))
            for key, watched in self._streams.items()
            if account_id is None or watched.account_id == account_id
        ]

    def forget(self, accounts: list[str]) -> None:
        """These accounts were polled elsewhere meanwhile (another instance held them): read before trusting."""
        self._quiet.difference_update(accounts)

    async def after_poll(self, account_id: str, *, ok: bool) -> int:
        """`check` after a poll of the account; no reads when it succeeded and the account was quiet before."""
        if ok and account_id in self._quiet:
            return self._queued(await self._key_reminders(self._clock.now()))
        return await self.check(account_id)

    async def check(self, account_id: str | None = None) -> int:
        """Queue whatever connection messages are due now (for one account after its poll, or all)."""
        now = self._clock.now()
        statuses = await self._store.stream_statuses(account_id)
        notices = {
            acc: OutageNotice(since, Change(kind))
            for acc, (since, kind) in (await self._store.connection_notices(account_id)).items()
        }
        conditions = self._conditions(statuses, account_id)
        queued = 0
        changes = connection_changes(conditions, notices, now=now, lost_after=self._lost_after)
        for change in changes:
            queued += await self._announce(change, now)
        self._note_quiet(conditions, notices, changes)
        return self._queued(queued + await self._key_reminders(now))

    def _note_quiet(
        self, conditions: Sequence[StreamCondition], notices: Mapping[str, OutageNotice], changes: Sequence[Transition]
    ) -> None:
        """Remember which accounts just read had nothing failing, nothing announced and nothing due."""
        troubled = {c.account_id for c in conditions if c.failing_since is not None}
        troubled |= set(notices) | {change.account_id for change in changes}
        for condition in conditions:
            if condition.account_id in troubled:
                self._quiet.discard(condition.account_id)
            else:
                self._quiet.add(condition.account_id)

    def _queued(self, queued: int) -> int:
        if queued:
            for event in self.on_queued:
                event.set()
        return queued

    async def _announce(self, change: Transition, now: datetime) -> int:
        marketplace = self._marketplaces[change.account_id]
        if change.change is Change.RECOVERED:
            message = connection_messages.connection_recovered(
                marketplace=marketplace,
                account_id=change.account_id,
                streams=change.streams,
                down_for=now - change.since,
            )
        elif change.change is Change.AUTH:
            message = connection_messages.auth_failed(
                marketplace=marketplace, account_id=change.account_id, since=change.since, error=change.error
            )
        else:
            message = connection_messages.connection_lost(
                marketplace=marketplace,
                account_id=change.account_id,
                streams=change.streams,
                since=change.since,
                error=change.error,
            )
        queued = await self._store.record_connection_change(
            change.account_id,
            change=change.change.value,
            since=change.since,
            now=now,
            payload=render.system_payload(message),
            channels=self._channels,
        )
        log.warning(
            f"connection_{change.change.value}",
            account=change.account_id,
            streams=[s.value for s in change.streams],
            since=change.since.isoformat(),
            queued=queued,
        )
        return queued

    async def _key_reminders(self, now: datetime) -> int:
        today = now.astimezone(self._zone).date()
        if self._keys_checked_on == today:  # thresholds are whole days: once a day is enough
            return 0
        self._keys_checked_on = today
        queued = 0
        for account_id, issued in sorted(self._key_issued.items()):
            days = key_reminder_due(issued, today)
            if days is None:
                continue
            message = connection_messages.key_expiry(
                account_id=account_id, expires_on=key_expires_on(issued), days_left=days
            )
            # The dedup key makes a restart, or the next day inside the same threshold, a no-op.
            queued += await self._store.enqueue(
                MessageKind.SYSTEM,
                channels=self._channels,
                dedup_key=f"key-expiry:{account_id}:{issued.isoformat()}:{days}",
                now=now,
                payload=render.system_payload(message),
            )
        return queued + await self._kakao_reminders(now, today)

    async def _kakao_reminders(self, now: datetime, today: date) -> int:
        queued = 0
        for channel, expires_at in sorted(self._kakao_logins.items()):
            ends = expires_at()
            if ends is None:  # not logged in: every send already fails with the fix in its reason
                continue
            expires_on = ends.astimezone(self._zone).date()
            days = reminder_due(expires_on, today)
            if days is None:
                continue
            message = connection_messages.kakao_login_expiry(
                channel=channel, expires_on=expires_on, days_left=(expires_on - today).days
            )
            # Once per threshold of this login (a new login ends on another day: its own reminders), restarts too.
            queued += await self._store.enqueue(
                MessageKind.SYSTEM,
                channels=self._others(channel),
                dedup_key=f"kakao-login:{channel}:{ends.isoformat()}:{days}",
                now=now,
                payload=render.system_payload(message),
            )
        return queued

    def _others(self, channel: str) -> tuple[str, ...]:
        """The channels for a warning about `channel`: the others carrying system messages, as the channel may be
        the failing one; the channel itself when it is the only one (before the day its login still works)."""
        others = tuple(c for c in channels_for(self._channels, MessageKind.SYSTEM) if c != channel)
        return others or (channel,)

    async def verdicts(self) -> list[StreamHealth]:
        """Each configured stream's health now (healthy when it polled successfully within its bound)."""
        now = self._clock.now()
        return [
            stream_health(c, now=now, started_at=self.started_at, lost_after=self._lost_after)
            for c in self._conditions(await self._store.stream_statuses())
        ]

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """The /healthz verdict and its JSON body."""
        now = self._clock.now()
        verdicts = await self.verdicts()
        healthy = all(v.healthy for v in verdicts)
        body = {
            "status": "ok" if healthy else "unhealthy",
            "checked_at": now.isoformat(),
            "streams": [
                {
                    "account": v.account_id,
                    "stream": v.stream.value,
                    "healthy": v.healthy,
                    "reason": v.reason,
                    "last_success_at": v.last_success_at.isoformat() if v.last_success_at else None,
                }
                for v in verdicts
            ],
        }
        return healthy, body
