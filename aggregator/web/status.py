"""The status page: the facts `inqd status` prints (accounts and streams, quiet hours, outages, the outbox, channels
that refused messages), what needs the seller's attention first, and a "테스트" button for each channel.

The words are the terminal's (`aggregator/cli/texts.py` through `Words("ko")`); the report is the same dict
(`aggregator/cli/status_report.py`), so the page and `inqd status` cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from aggregator.cli.words import Words
from aggregator.web.kakao import login_lines
from aggregator.web.pages import Page, Routes
from core.redact import mask_pii

_WORDS = Words("ko")
# Outbox states as the page names them: the terminal's words for the three that matter, then the rest.
_OUTBOX_STATES = ("pending", "held", "failed")
_OUTBOX_OTHER = {"sent": "보냄", "folded": "요약에 묶음"}


@dataclass(frozen=True, slots=True)
class StreamView:
    """One account stream as the page shows it."""

    title: str
    healthy: bool
    state: str  # 정상 / 문제 / 아직 확인 전
    facts: tuple[str, ...]  # last success, last error, next poll: the terminal's phrases
    open_text: str
    error: str | None  # the last error's text while the stream is failing (retries may still bring it back)


@dataclass(frozen=True, slots=True)
class ChannelView:
    """One configured channel: its name, type, and its permanent failures if any."""

    name: str
    type: str
    failure: str | None  # the terminal's "refused for good" line


@dataclass(frozen=True, slots=True)
class StatusView:
    """Everything the template shows, attention first."""

    attention: tuple[str, ...]
    quiet: str
    streams: tuple[StreamView, ...]
    outbox: tuple[str, ...]
    channels: tuple[ChannelView, ...]


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _stream_view(row: dict[str, Any], *, now: datetime, hide: bool) -> StreamView:
    """One stream's facts, worded as `inqd status` words them."""
    title = f"[{row['marketplace_label']}] {row['account']} {row['stream_label']}"
    state = _WORDS("status_ok") if row["healthy"] else _WORDS("status_problem")
    if row["health"] == "starting":
        state = _WORDS("status_starting")
    facts: list[str] = []
    if row["last_success_at"]:
        at = _at(row["last_success_at"])
        facts.append(_WORDS("status_last_success", at=_WORDS.stamp(at), age=_WORDS.age(now - at)))
    error = None
    if row["consecutive_failures"]:
        at, error = _at(row["last_error_at"]), _shown(row["last_error"], hide=hide)
        facts.append(_WORDS("status_last_error", at=_WORDS.stamp(at), error=error, count=row["consecutive_failures"]))
    if row["next_poll_at"]:
        late = _WORDS("status_overdue") if row["next_poll_overdue"] else ""
        facts.append(_WORDS("status_next_poll", at=_WORDS.stamp(_at(row["next_poll_at"])), late=late))
    if row["open"]:
        oldest = _WORDS.age(timedelta(seconds=row["oldest_open_age_s"]))
        open_text = _WORDS("status_open", count=row["open"], age=oldest)
    else:
        open_text = _WORDS("status_none_open")
    return StreamView(title, bool(row["healthy"]), state, tuple(facts), open_text, error)


def _shown(text: str | None, *, hide: bool) -> str:
    """An error text as the page shows it: a marketplace's or channel's error may quote buyer data."""
    if not text:
        return ""
    return mask_pii(text) if hide else text


def _attention(report: dict[str, Any], streams: tuple[StreamView, ...], failures: dict[str, str]) -> list[str]:
    """What the seller should look at, most serious first: outages, failing streams, refused messages."""
    items: list[str] = []
    for outage in report["outages"]:
        what = _WORDS("status_auth_failed" if outage["kind"] == "auth" else "status_lost")
        since = _WORDS.stamp(_at(outage["since"]))
        items.append(_WORDS("status_outage", what=what, account=outage["account"], since=since))
    for row, view in zip(report["streams"], streams, strict=True):
        if row["healthy"] and not row["next_poll_overdue"]:
            continue
        error = f" — {view.error}" if view.error else ""
        overdue = _WORDS("status_overdue") if row["next_poll_overdue"] else ""
        items.append(f"{view.title}: {view.state}{error}{overdue}")
    items += failures.values()
    return items


def status_view(report: dict[str, Any], channels: list[tuple[str, str]], *, now: datetime, hide: bool) -> StatusView:
    """The page's view of `inqd status`'s report and the configured channels ((name, type) each)."""
    streams = tuple(_stream_view(row, now=now, hide=hide) for row in report["streams"])
    failures = {
        f["channel"]: _WORDS(
            "status_channel_failure",
            channel=f["channel"],
            count=f["count"],
            at=_WORDS.stamp(_at(f["last_at"])),
            error=_shown(f["last_error"], hide=hide),
        )
        for f in report["channel_failures"]
    }
    change = report["quiet"]["next_change_at"]
    when = _WORDS.stamp(_at(change)) if change else _WORDS("none")
    quiet = _WORDS("status_quiet_now" if report["quiet"]["now"] else "status_quiet_next", when=when)
    counts: dict[str, int] = report["outbox"]
    waiting = [_WORDS(f"status_{state}", count=counts[state]) for state in _OUTBOX_STATES if counts.get(state)]
    waiting += [f"{label} {counts[state]}" for state, label in _OUTBOX_OTHER.items() if counts.get(state)]
    return StatusView(
        attention=tuple(_attention(report, streams, failures)),
        quiet=quiet,
        streams=streams,
        outbox=tuple(waiting) or (_WORDS("status_nothing_waiting"),),
        channels=tuple(ChannelView(name, kind, failures.get(name)) for name, kind in channels),
    )


def _channels(page: Page) -> list[tuple[str, str]]:
    return [(config.name, config.type) for config in page.ctx.settings().notifiers]


def register(routes: Routes) -> None:
    """GET /status and POST /status/test/{channel}."""

    async def render(page: Page, tested: tuple[str, str] | None = None) -> web.Response:
        now = page.ctx.clock.now()
        view = status_view(await page.ctx.status(), _channels(page), now=now, hide=page.masked)
        kakao = login_lines(page.ctx.settings(), now)  # each kakao channel's login: a button and until when
        return page.html("status.html", title="상태", nav="status", view=view, tested=tested, kakao=kakao)

    async def show(page: Page) -> web.StreamResponse:
        return await render(page)

    async def test(page: Page) -> web.StreamResponse:
        name = page.request.match_info["channel"]
        if name not in {channel for channel, _ in _channels(page)}:
            raise web.HTTPNotFound(text="그런 알림 채널이 없습니다.")
        try:
            reply = await page.ctx.test_channel(name)
        except KeyError:
            raise web.HTTPNotFound(text="그런 알림 채널이 없습니다.") from None
        form = await page.request.post()
        if form.get("fragment"):  # the page's script asked for just the reply, to show beside the button
            return page.fragment("status_test.html", channel=name, reply=reply)
        return await render(page, tested=(name, reply))

    routes.get("/status", show)
    routes.post("/status/test/{channel}", test)
