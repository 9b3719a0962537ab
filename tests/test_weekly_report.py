"""The weekly message through the whole daemon on a fake clock: queued at the first morning after quiet hours, sent
once across a restart on the same store, waiting out quiet hours on its own (not in the digest), and its chart drawn
only for a channel that shows pictures."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import respx
from pydantic import SecretStr

from aggregator.daemon import Daemon
from aggregator.report.weekly import WeeklySettings
from aggregator.settings import Settings
from aggregator.settings.notify import TelegramConfig
from aggregator.settings.report import ReportConfig
from connectors.sandbox import CoupangSandbox
from core.models import KST
from core.payloads import WeeklyReportPayload
from tests.conftest import MakeSettings
from tests.fakes import FakeClock
from tests.png import png_size, tiny_png

TOKEN = "123456789:AAH-weekly-e2e"
SEND_PHOTO = f"https://api.telegram.org/bot{TOKEN}/sendPhoto"
LINES = ("쿠팡: 문의 12건, 24시간 안에 답변 11건 (91.7%)", "답변까지 중앙값 2시간 40분", "열린 문의 24시간 넘김 1건")
WEEK = date(2026, 9, 21)  # the week after 추석 (9/24-9/26), reported on Monday 9/28


def kst(text: str) -> datetime:
    """A KST instant from 'MM-DD HH:MM' in 2026."""
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=KST)


class Stubs:
    """The figures and the chart as the lead will plug them in: each call recorded."""

    def __init__(self) -> None:
        self.summaries: list[date] = []
        self.charts: list[date] = []

    async def summary(self, week: date) -> Sequence[str]:
        """The week's three lines."""
        self.summaries.append(week)
        return LINES

    async def chart(self, week: date) -> bytes | None:
        """A tiny valid PNG."""
        self.charts.append(week)
        return tiny_png(4, 3)


async def _run(daemon: Daemon, clock: FakeClock, until: datetime, step: timedelta = timedelta(minutes=15)) -> None:
    """Run the daemon's rounds every `step` until `until`, as the long-weekend test does."""
    while clock.now() < until:
        await daemon.run_once()
        clock.advance(step.total_seconds())


def _sandbox(clock: FakeClock) -> CoupangSandbox:
    return CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)


async def _daemon(settings: Settings, clock: FakeClock, stubs: Stubs, sandbox: CoupangSandbox | None = None) -> Daemon:
    sandbox = sandbox or _sandbox(clock)
    transport = httpx.MockTransport(sandbox.handler)
    daemon = await Daemon.build(settings, clock=clock, transport_for=lambda _: transport, rng=random.Random(3))
    daemon.use_weekly(stubs.summary, stubs.chart)
    return daemon


async def test_sent_once_at_the_first_morning_after_quiet_hours_even_across_a_restart(
    make_settings: MakeSettings,
) -> None:
    telegram = TelegramConfig(type="telegram", name="tg", bot_token=SecretStr(TOKEN), chat_id="4242", actions=False)
    settings = make_settings(telegram)  # default quiet hours: 22:00-09:00 and closed days
    clock = FakeClock(kst("09-27 20:00"))  # Sunday evening
    stubs = Stubs()
    sent_at: list[datetime] = []

    def accept(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now())
        return httpx.Response(200, json={"ok": True, "result": {"message_id": len(sent_at)}})

    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        route = router.post(SEND_PHOTO).mock(side_effect=accept)
        daemon = await _daemon(settings, clock, stubs)
        await _run(daemon, clock, kst("09-28 12:00"))
        await daemon.aclose()
        # "Restart": a new daemon on the same store, later that Monday and through the week
        again = await _daemon(settings, clock, stubs)
        await _run(again, clock, kst("10-02 12:00"), step=timedelta(hours=1))
        await again.aclose()

    # the round at 09:00 (the sandbox's request pacing moves the fake clock a few seconds within it)
    assert [at.replace(second=0, microsecond=0) for at in sent_at] == [kst("09-28 09:00")]
    assert (stubs.summaries, stubs.charts) == ([WEEK], [WEEK])
    body = route.calls.last.request.content
    assert tiny_png(4, 3) in body and png_size(tiny_png(4, 3)) == (4, 3)
    assert all(line.encode() in body for line in LINES)


async def test_back_in_quiet_hours_it_waits_for_their_end_as_its_own_message(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    settings = make_settings()  # the sink: no pictures
    clock = FakeClock(kst("09-29 02:00"))  # down all Monday, back on Tuesday night
    stubs = Stubs()
    sandbox = _sandbox(clock)
    sandbox.add_product_inquiry(content="사이즈 교환 되나요?", inquiry_at=kst("09-29 01:30"))  # held for the digest
    daemon = await _daemon(settings, clock, stubs, sandbox)
    # It sent the week before's report on Monday 9/21 before going down (recorded as the store records it).
    before = WeeklyReportPayload(date(2026, 9, 14), ("…",))
    await daemon.store.queue_weekly_report(before, channels=(), now=kst("09-21 09:00"), due_at=kst("09-21 09:00"))
    await _run(daemon, clock, kst("09-29 10:00"))
    await daemon.aclose()

    sent = [json.loads(line) for line in (tmp_path / "sink.jsonl").read_text(encoding="utf-8").splitlines()]
    timeline = [(datetime.fromisoformat(m["at"]).strftime("%m-%d %H:%M"), m["kind"], m["title"]) for m in sent]
    assert sorted(timeline) == [
        ("09-29 09:00", "digest", "[inqd] 조용한 시간 요약: 미답변 1건"),
        ("09-29 09:00", "weekly_report", "[inqd] 지난주 답변 리포트 9/21(월)~9/27(일)"),
    ]
    digest = next(m["body"] for m in sent if m["kind"] == "digest")
    weekly = next(m["body"] for m in sent if m["kind"] == "weekly_report")
    # The one held alert is the account's first-connection summary (its first poll at 02:00); a folded report would
    # have been counted here and never sent on its own.
    assert digest.splitlines()[0] == "조용한 시간(09/28(월) 22:00~09:00) 동안 새 문의 0건, 알림 1건을 보류했습니다."
    assert weekly.splitlines() == list(LINES)
    # queued once (at 02:00, for last week), never folded into a digest, no chart drawn for the sink
    assert (stubs.summaries, stubs.charts) == ([WEEK], [])


def test_the_report_settings_choose_the_day_or_turn_it_off() -> None:
    configs = (ReportConfig(weekly=False), ReportConfig(weekly_day="fri"), ReportConfig())
    assert [WeeklySettings.of(c).day for c in configs] == [None, 4, 0]


async def test_a_first_start_on_a_monday_reports_nothing_about_the_week_before(
    make_settings: MakeSettings, tmp_path: Path
) -> None:
    settings = make_settings(quiet_hours=())
    clock = FakeClock(kst("09-28 10:00"))  # inqd's first start, on a report day
    stubs = Stubs()
    daemon = await _daemon(settings, clock, stubs)
    await _run(daemon, clock, kst("09-28 18:00"), step=timedelta(hours=1))
    assert stubs.summaries == []  # the week of 9/21 was not watched: no "no data" report about it
    await _run(daemon, clock, kst("10-05 01:00"), step=timedelta(hours=6))
    await daemon.aclose()
    assert stubs.summaries == [date(2026, 9, 28)]  # the first week it watched, on the next report day
