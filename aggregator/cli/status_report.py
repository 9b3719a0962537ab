"""`inqd status`: per account and stream the last success, last error, next poll, open count and oldest open age;
the next quiet-hours change; announced outages; what waits in the outbox; channels that refused messages for good;
kakao channels whose login ends soon (read from the token file's expiry date, never the tokens).

Read from the database while the daemon runs (WAL lets a reader in beside the writer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from functools import partial
from typing import Any

from aggregator.cli.words import Words
from aggregator.connection_watch import WatchedStream, stream_condition
from aggregator.notifiers.kakao import refresh_expiry_of
from aggregator.scheduler import next_poll_delay_s
from aggregator.settings import Settings
from aggregator.settings.notify import KakaoConfig
from aggregator.store import Store, StreamStatus
from policies import Policies
from policies.health import login_attention, stream_health

# A next poll this far in the past means no daemon is polling (stopped, or wedged).
_OVERDUE = timedelta(minutes=2)
_STATES = ("pending", "held", "failed")  # outbox states worth a word, in this order


def watched_streams(settings: Settings) -> list[WatchedStream]:
    """Every configured account's streams, as the connection watch and `inqd status` look at them."""
    return [
        WatchedStream(acc.id, acc.marketplace_kind, stream, acc.poll_interval_s)
        for acc in settings.accounts
        for stream in acc.stream_kinds
    ]


def kakao_login_readers(settings: Settings) -> dict[str, Callable[[], datetime | None]]:
    """For each kakao channel, a reader of when its stored login ends (its token file, read when called)."""
    return {
        channel.name: partial(refresh_expiry_of, settings.secrets_dir, channel.name)
        for channel in settings.notifiers
        if isinstance(channel, KakaoConfig)
    }


def _next_poll(status: StreamStatus | None, interval_s: float) -> datetime | None:
    """When the daemon will poll next, as far as the store tells (no jitter, no Retry-After known here)."""
    if status is None:
        return None
    if status.consecutive_failures and status.last_error_at is not None:
        delay = next_poll_delay_s(
            interval_s, consecutive_failures=status.consecutive_failures, retry_after_s=None, jitter=0.0, rand=0.5
        )
        return status.last_error_at + timedelta(seconds=delay)
    if status.last_success_at is None:
        return None
    return status.last_success_at + timedelta(seconds=interval_s)


def _iso(at: datetime | None, zone: tzinfo) -> str | None:
    return at.astimezone(zone).isoformat() if at else None


async def status_report(
    store: Store,
    streams: Sequence[WatchedStream],
    policies: Policies,
    *,
    now: datetime,
    lost_after: timedelta,
    words: Words,
    kakao_logins: Mapping[str, datetime | None] | None = None,
) -> dict[str, Any]:
    """Everything `inqd status` shows, as plain data (also the `--json` shape; labels in the run's language).

    `kakao_logins`: each kakao channel's login end (None: not logged in), as kakao.refresh_expiry_of reads it.
    """
    zone = policies.zone
    statuses = {(s.account_id, s.stream): s for s in await store.stream_statuses()}
    summary = await store.queue_summary()
    rows = [
        _stream_row(
            watched,
            statuses.get((watched.account_id, watched.stream)),
            summary.open_by_stream.get((watched.account_id, watched.stream.value), (0, None)),
            now=now,
            zone=zone,
            lost_after=lost_after,
            words=words,
        )
        for watched in streams
    ]
    quiet_now = policies.quiet.contains(now)
    change = policies.quiet.span_end(now) if quiet_now else policies.quiet.next_start(now)
    notices = await store.connection_notices()
    return {
        "now": _iso(now, zone),
        "streams": rows,
        "quiet": {"now": quiet_now, "next_change_at": _iso(change, zone)},
        "outages": [
            {"account": account, "since": _iso(since, zone), "kind": kind}
            for account, (since, kind) in sorted(notices.items())
        ],
        "outbox": await store.outbox_counts(),
        "channel_failures": [
            {"channel": f.channel, "count": f.count, "last_at": _iso(f.last_at, zone), "last_error": f.last_error}
            for f in await store.channel_failures()
        ],
        "kakao_logins": [
            _kakao_row(channel, ends, now=now, zone=zone) for channel, ends in (kakao_logins or {}).items()
        ],
        "instances": await _instances(store),
    }


async def _instances(store: Store) -> dict[str, Any]:
    """Several instances on PostgreSQL: the leader and who polls each account (by the database's clock); on SQLite
    the one daemon does everything, and nothing is listed."""
    if store.backend != "postgres":
        return {"leader": None, "holders": []}
    leader = await store.leader()
    return {
        "leader": leader[0] if leader else None,
        "holders": [{"account": h.account_id, "holder": h.holder} for h in await store.lease_holders()],
    }


def _kakao_row(channel: str, ends: datetime | None, *, now: datetime, zone: tzinfo) -> dict[str, Any]:
    """One kakao channel's login: when it ends, in how many days (by the calendar), and how much that matters."""
    days_left = None if ends is None else (ends.astimezone(zone).date() - now.astimezone(zone).date()).days
    return {
        "channel": channel,
        "refresh_expires_at": _iso(ends, zone),
        "days_left": days_left,
        "attention": login_attention(days_left),
    }


def needs_attention(report: dict[str, Any]) -> bool:
    """True when `inqd status` exits 3: a stream unhealthy, a channel refusing for good, a kakao login ending within
    the last reminder's days (or gone)."""
    return (
        not all(row["healthy"] for row in report["streams"])
        or bool(report["channel_failures"])
        or any(row["attention"] == "urgent" for row in report["kakao_logins"])
    )


def _stream_row(
    watched: WatchedStream,
    status: StreamStatus | None,
    open_now: tuple[int, datetime | None],
    *,
    now: datetime,
    zone: tzinfo,
    lost_after: timedelta,
    words: Words,
) -> dict[str, Any]:
    """One stream's line of the report: its health, its last poll and next, and its open inquiries."""
    verdict = stream_health(
        stream_condition(watched, status),
        now=now,
        started_at=now,  # offline we cannot know when the daemon started: a never-polled stream is "starting"
        lost_after=lost_after,
    )
    open_count, oldest = open_now
    next_poll = _next_poll(status, watched.interval_s)
    return {
        "account": watched.account_id,
        "marketplace": watched.marketplace.value,
        "marketplace_label": words.shop(watched.marketplace.label),
        "stream": watched.stream.value,
        "stream_label": words.stream(watched.stream),
        "healthy": verdict.healthy,
        "health": verdict.reason,
        "last_success_at": _iso(status.last_success_at if status else None, zone),
        "last_error_at": _iso(status.last_error_at if status else None, zone),
        "last_error": status.last_error if status else None,
        "consecutive_failures": status.consecutive_failures if status else 0,
        "failing_since": _iso(status.failing_since if status else None, zone),
        "next_poll_at": _iso(next_poll, zone),
        "next_poll_overdue": next_poll is not None and now - next_poll > _OVERDUE,
        "open": open_count,
        "oldest_open_at": _iso(oldest, zone),
        "oldest_open_age_s": int((now - oldest).total_seconds()) if oldest else None,
    }


def _stream_line(row: dict[str, Any], *, now: datetime, words: Words) -> str:
    """One stream of `inqd status`: health, last success and error, next poll, what is open."""
    head = f"[{row['marketplace_label']}] {row['account']} {row['stream_label']}"
    parts = [words("status_ok") if row["healthy"] else words("status_problem")]
    if row["health"] == "starting":
        parts = [words("status_starting")]
    if row["last_success_at"]:
        at = datetime.fromisoformat(row["last_success_at"])
        parts.append(words("status_last_success", at=words.stamp(at), age=words.age(now - at)))
    if row["consecutive_failures"]:
        at = datetime.fromisoformat(row["last_error_at"])
        error, count = row["last_error"], row["consecutive_failures"]
        parts.append(words("status_last_error", at=words.stamp(at), error=error, count=count))
    if row["next_poll_at"]:
        at = datetime.fromisoformat(row["next_poll_at"])
        late = words("status_overdue") if row["next_poll_overdue"] else ""
        parts.append(words("status_next_poll", at=words.stamp(at), late=late))
    if row["open"]:
        oldest = words.age(timedelta(seconds=row["oldest_open_age_s"]))
        parts.append(words("status_open", count=row["open"], age=oldest))
    else:
        parts.append(words("status_none_open"))
    return f"{head}: " + " · ".join(parts)


def status_lines(report: dict[str, Any], *, now: datetime, words: Words) -> list[str]:
    """The report as terminal text, in the run's language."""
    lines = [words("status_title", now=words.stamp(now))]
    quiet, change = report["quiet"]["now"], report["quiet"]["next_change_at"]
    when = words.stamp(datetime.fromisoformat(change)) if change else words("none")
    lines.append(words("status_quiet_now" if quiet else "status_quiet_next", when=when))
    lines += [_stream_line(row, now=now, words=words) for row in report["streams"]]
    for outage in report["outages"]:
        what = words("status_auth_failed" if outage["kind"] == "auth" else "status_lost")
        since = words.stamp(datetime.fromisoformat(outage["since"]))
        lines.append(words("status_outage", what=what, account=outage["account"], since=since))
    waiting = [words(f"status_{state}", count=count) for state in _STATES if (count := report["outbox"].get(state))]
    lines.append(words("status_messages", waiting=" · ".join(waiting) if waiting else words("status_nothing_waiting")))
    for failure in report["channel_failures"]:
        at = words.stamp(datetime.fromisoformat(failure["last_at"]))
        lines.append(
            words(
                "status_channel_failure",
                channel=failure["channel"],
                count=failure["count"],
                at=at,
                error=failure["last_error"],
            )
        )
    lines += [_kakao_line(row, words=words) for row in report["kakao_logins"] if row["attention"] != "ok"]
    instances = report.get("instances") or {}
    if instances.get("holders"):
        leader = instances["leader"]
        lines.append(words("status_leader", holder=leader) if leader else words("status_no_leader"))
        for row in instances["holders"]:
            held = row["holder"]
            key = "status_lease" if held else "status_lease_none"
            lines.append(words(key, account=row["account"], holder=held))
    return lines


def _kakao_line(row: dict[str, Any], *, words: Words) -> str:
    days, channel = row["days_left"], row["channel"]
    if days is None:
        return words("status_kakao_no_login", channel=channel)
    if days <= 0:
        return words("status_kakao_login_today" if days == 0 else "status_kakao_login_expired", channel=channel)
    return words("status_kakao_login_ends", days=days, channel=channel)
