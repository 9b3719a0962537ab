"""`inqd status`: per account and stream the last success, last error, next poll, open count and oldest open age;
the next quiet-hours change; announced outages; what waits in the outbox; channels that refused messages for good.

Read from the database while the daemon runs (WAL lets a reader in beside the writer).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from aggregator.connection_watch import WatchedStream, stream_condition
from aggregator.render import age_text, kst_stamp
from aggregator.scheduler import next_poll_delay_s
from aggregator.store import Store, StreamStatus
from policies import Policies
from policies.health import stream_health

# A next poll this far in the past means no daemon is polling (stopped, or wedged).
_OVERDUE = timedelta(minutes=2)
_STATES = {"pending": "보낼 예정", "held": "조용한 시간 보류", "failed": "보내지 못함"}


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
    store: Store, streams: Sequence[WatchedStream], policies: Policies, *, now: datetime, lost_after: timedelta
) -> dict[str, Any]:
    """Everything `inqd status` shows, as plain data (also the `--json` shape)."""
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
    }


def _stream_row(
    watched: WatchedStream,
    status: StreamStatus | None,
    open_now: tuple[int, datetime | None],
    *,
    now: datetime,
    zone: tzinfo,
    lost_after: timedelta,
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
        "marketplace_label": watched.marketplace.label,
        "stream": watched.stream.value,
        "stream_label": watched.stream.label,
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


def status_lines(report: dict[str, Any], *, now: datetime) -> list[str]:
    """The report as Korean terminal text."""
    lines = [f"inqd 상태 · {kst_stamp(now)} KST"]
    quiet, change = report["quiet"]["now"], report["quiet"]["next_change_at"]
    when = kst_stamp(datetime.fromisoformat(change)) if change else "없음"
    lines.append(f"지금 조용한 시간 · 끝: {when}" if quiet else f"조용한 시간 아님 · 다음 시작: {when}")
    for row in report["streams"]:
        head = f"[{row['marketplace_label']}] {row['account']} {row['stream_label']}"
        parts = ["정상" if row["healthy"] else "문제"]
        if row["health"] == "starting":
            parts = ["아직 확인 전"]
        if row["last_success_at"]:
            at = datetime.fromisoformat(row["last_success_at"])
            parts.append(f"마지막 성공 {kst_stamp(at)} ({age_text(now - at)} 전)")
        if row["consecutive_failures"]:
            at = datetime.fromisoformat(row["last_error_at"])
            parts.append(f"마지막 오류 {kst_stamp(at)} {row['last_error']} (연속 {row['consecutive_failures']}회)")
        if row["next_poll_at"]:
            at = datetime.fromisoformat(row["next_poll_at"])
            late = " — 지났음: inqd가 실행 중인지 확인하세요" if row["next_poll_overdue"] else ""
            parts.append(f"다음 확인 {kst_stamp(at)}{late}")
        if row["open"]:
            parts.append(
                f"미답변 {row['open']}건, 가장 오래된 것 {age_text(timedelta(seconds=row['oldest_open_age_s']))}"
            )
        else:
            parts.append("미답변 없음")
        lines.append(f"{head}: " + " · ".join(parts))
    for outage in report["outages"]:
        what = "인증 실패" if outage["kind"] == "auth" else "연결 끊김"
        lines.append(
            f"{what} 알림 보냄: {outage['account']} ({kst_stamp(datetime.fromisoformat(outage['since']))}부터)"
        )
    waiting = [f"{label} {report['outbox'][state]}" for state, label in _STATES.items() if report["outbox"].get(state)]
    lines.append("메시지: " + (" · ".join(waiting) if waiting else "밀린 것 없음"))
    for failure in report["channel_failures"]:
        lines.append(
            f"채널 {failure['channel']}: {failure['count']}건을 끝내 보내지 못함 (마지막 "
            f"{kst_stamp(datetime.fromisoformat(failure['last_at']))}: {failure['last_error']}) — 설정(토큰, 주소)을 "
            "확인한 뒤 `inqd test-notify --channel " + failure["channel"] + "`"
        )
    return lines
