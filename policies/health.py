"""Connection health: when a stream counts as stale, when an account's connection is lost or back, and when a
Coupang key (or a Kakao login) needs renewing.

Pure: what the store knows about each stream, what has already been said about each account, and `now` in;
decisions out. One "연결 끊김" per account per outage (its streams usually fail together), an auth failure at
once, one "복구" when every stream of the account works again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from core.models import StreamKind

# A stream is stale after this many missed polls even when the configured bound is shorter: one slow or
# rate-limited cycle is not an outage.
_MISSED_POLLS = 3
# Coupang OpenAPI keys expire 180 days after issue (shared/marketplaces.md §1, OFFICIAL).
COUPANG_KEY_LIFETIME = timedelta(days=180)
KEY_REMINDER_DAYS: tuple[int, ...] = (14, 3, 0)


@dataclass(frozen=True, slots=True)
class StreamCondition:
    """What is known about one stream's polling."""

    account_id: str
    stream: StreamKind
    interval_s: float
    last_success_at: datetime | None
    failing_since: datetime | None  # first failure of the current streak; None while it works
    last_error: str | None = None
    auth_failed: bool = False  # the current streak's last error was the marketplace refusing our credentials


@dataclass(frozen=True, slots=True)
class OutageNotice:
    """What has been said about an account's connection: since when it is down, and how we said it."""

    since: datetime
    kind: Change


class Change(StrEnum):
    """A change of an account's connection worth a message."""

    LOST = "lost"
    AUTH = "auth"
    RECOVERED = "recovered"


@dataclass(frozen=True, slots=True)
class Transition:
    """One message to send about an account's connection."""

    account_id: str
    change: Change
    since: datetime  # when the outage began
    streams: tuple[StreamKind, ...]  # the failing streams (lost/auth) or those that were down (recovered)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StreamHealth:
    """The health verdict of one stream, for /healthz and `inqd status`."""

    account_id: str
    stream: StreamKind
    healthy: bool
    reason: str
    last_success_at: datetime | None
    last_poll_ok: bool | None = None  # the latest poll's own result; None before the first poll ended


def stale_after(interval_s: float, lost_after: timedelta) -> timedelta:
    """How long a stream may go without a successful poll before it counts as stale."""
    return max(lost_after, timedelta(seconds=_MISSED_POLLS * interval_s))


def stream_health(cond: StreamCondition, *, now: datetime, started_at: datetime, lost_after: timedelta) -> StreamHealth:
    """Healthy when the last success is within the staleness bound (or the daemon only just started)."""
    bound = stale_after(cond.interval_s, lost_after)
    polled = cond.last_success_at is not None or cond.failing_since is not None
    last_ok = cond.failing_since is None if polled else None
    if cond.last_success_at is not None and now - cond.last_success_at <= bound:
        return StreamHealth(cond.account_id, cond.stream, True, "ok", cond.last_success_at, last_ok)
    failing_too_long = cond.failing_since is not None and now - cond.failing_since > bound
    if cond.last_success_at is None and now - started_at <= bound and not (cond.auth_failed or failing_too_long):
        return StreamHealth(cond.account_id, cond.stream, True, "starting", None, last_ok)
    if cond.auth_failed:
        reason = f"credentials refused: {cond.last_error or 'auth failed'}"
    elif cond.last_success_at is None:
        reason = f"no successful poll since start ({cond.last_error or 'no error recorded'})"
    else:
        reason = f"no successful poll for {int((now - cond.last_success_at).total_seconds())} s" + (
            f" ({cond.last_error})" if cond.last_error else ""
        )
    return StreamHealth(cond.account_id, cond.stream, False, reason, cond.last_success_at, last_ok)


def connection_changes(
    streams: Iterable[StreamCondition],
    notices: Mapping[str, OutageNotice],
    *,
    now: datetime,
    lost_after: timedelta,
) -> list[Transition]:
    """The messages due now: lost (failing longer than the bound), auth (at once) and recovered, per account."""
    by_account: dict[str, list[StreamCondition]] = {}
    for cond in streams:
        by_account.setdefault(cond.account_id, []).append(cond)
    changes: list[Transition] = []
    for account_id, conds in sorted(by_account.items()):
        failing = [c for c in conds if c.failing_since is not None]
        notice = notices.get(account_id)
        if notice is not None:
            if not failing:
                changes.append(Transition(account_id, Change.RECOVERED, notice.since, _streams(conds)))
            continue
        if not failing:
            continue
        since = min(c.failing_since for c in failing if c.failing_since is not None)
        refused = [c for c in failing if c.auth_failed]
        if refused:
            changes.append(Transition(account_id, Change.AUTH, since, _streams(refused), refused[0].last_error))
            continue
        overdue = [
            c
            for c in failing
            if c.failing_since is not None and now - c.failing_since >= stale_after(c.interval_s, lost_after)
        ]
        if overdue:
            changes.append(Transition(account_id, Change.LOST, since, _streams(overdue), overdue[0].last_error))
    return changes


def _streams(conds: Sequence[StreamCondition]) -> tuple[StreamKind, ...]:
    return tuple(sorted({c.stream for c in conds}, key=lambda s: s.value))


def key_reminder_due(issued: date, today: date, *, days: Sequence[int] = KEY_REMINDER_DAYS) -> int | None:
    """The most urgent reminder threshold (days before expiry) reached today, or None before the first one.

    Only the most urgent one: a key configured late (3 days left) gets the 3-day reminder, not the 14-day
    one as well. The caller remembers which thresholds it has sent.
    """
    return reminder_due(issued + COUPANG_KEY_LIFETIME, today, days=days)


def reminder_due(expires_on: date, today: date, *, days: Sequence[int] = KEY_REMINDER_DAYS) -> int | None:
    """The most urgent threshold reached today of anything that expires on `expires_on` (a Coupang key, a Kakao
    login), or None before the first one; 0 on and after the day it expires."""
    left = (expires_on - today).days
    reached = [d for d in days if left <= d]
    return min(reached) if reached else None


def login_attention(days_left: int | None) -> str:
    """How `inqd status` weighs a login (a Kakao refresh token) that ends in `days_left` days (None: no login):
    "urgent" (exit 3) within the last reminder before the day or past it, or with no login at all; "warn" from
    the first reminder on; "ok" before it."""
    if days_left is None or days_left <= KEY_REMINDER_DAYS[1]:
        return "urgent"
    return "warn" if days_left <= KEY_REMINDER_DAYS[0] else "ok"


def key_expires_on(issued: date) -> date:
    """The day a Coupang key issued on `issued` stops working."""
    return issued + COUPANG_KEY_LIFETIME
