"""The report page over HTTP: the figures of a seeded store (worked out by hand in tests/web/report_seed.py), the
chart's SVG whose data points carry the weeks' ids, a chart drawn once per store version, the weeks' bounds, the PNG
download, and the same guard as every page."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import httpx
import pytest
from pydantic import SecretStr

from aggregator.cli.words import Words
from aggregator.report.chart import PNG_DPI, PNG_WIDTH_IN
from aggregator.report.text import span
from aggregator.settings.service import AdminConfig
from aggregator.web import report as report_page
from aggregator.web.security import CONTENT_SECURITY_POLICY, DRAWING_CONTENT_SECURITY_POLICY
from connectors.sandbox import CoupangSandbox
from core.models import PollResult, StreamKind
from policies.answer_report import AnswerReport, MarketplaceReport
from tests.conftest import MakeSettings, make_inquiry, quiet_sink
from tests.fakes import FakeClock
from tests.web.conftest import WebDaemon, start_web_daemon
from tests.web.report_seed import NOW, seeded_daemon

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def real_clock() -> FakeClock:
    """The report's moment (not the real time: the figures were worked out for it; this page has no countdowns)."""
    return FakeClock(NOW)


@pytest.fixture
async def web_daemon(
    tmp_path: Path, real_clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> AsyncIterator[WebDaemon]:
    """The inbox's daemon with the seeded store (tests/web/report_seed.py)."""
    async with seeded_daemon(tmp_path, real_clock, sandbox, make_settings) as running:
        yield running


Draw = Callable[[Any], bytes]


@pytest.fixture
def draws(monkeypatch: pytest.MonkeyPatch) -> list[AnswerReport | MarketplaceReport]:
    """Every chart the page has drawn, in order; drawn in this process (the same function, without the spawn)."""
    drawn: list[AnswerReport | MarketplaceReport] = []

    async def in_process(draw: Draw, report: AnswerReport | MarketplaceReport) -> bytes:
        drawn.append(report)
        return draw(report)

    monkeypatch.setattr(report_page, "drawn_apart", in_process)
    return drawn


def _text(html: str) -> str:
    """The page's text with tags dropped and spaces collapsed (what a reader sees, roughly)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _week_row(html: str, monday: str) -> str:
    match = re.search(rf'<tr data-week="{monday}".*?</tr>', html, re.S)
    assert match, monday
    return _text(match.group(0))


async def test_the_page_shows_the_figures_worked_out_by_hand(client: httpx.AsyncClient) -> None:
    response = await client.get("/report")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    html = response.text
    text = _text(html)
    # Last 30 days: A-G received (7); answered A B C E G, F pending, D open past 24 h -> decided 6; within 24 h
    # A B E G -> 4/6 = 66.7 %. Wall times 0.5, 1.5, 2, 6, 113 h -> median 2 h, p90 (5th of 5) 113 h = 4일 17시간.
    # Work times 0 (E on a holiday), 1.5, 2, 2, 6 -> median 2 h, p90 6 h.
    assert "최근 30일: 받은 문의 7건, 24시간 안 답변 66.7% (4/6건, 아직 24시간 전 1건)" in text
    assert "첫 답변까지 중앙값 2시간 / p90 4일 17시간 (업무시간으로 중앙값 2시간 / p90 6시간)" in text
    assert "24시간 넘게 열린 문의 1건" in text
    assert "답변 시각: 마켓 기록 4건, 폴링 시각 1건" in text  # A B C G from Coupang's field; E from the poll
    assert "상품문의: 받은 7건, 24시간 안 66.7%, 중앙값 2시간, p90 4일 17시간" in text
    # 66.7 % is under Coupang's 90 % (2016; the 95 % is unconfirmed): said, and marked as a warning.
    assert re.search(r'<p class="forecast warns">\s*쿠팡 30일 24시간 답변율 66.7%: 기준 90%보다 낮습니다', html)
    assert "95%라는 말은 확인 안 됨" in text


async def test_the_weekly_table_has_each_week_as_counted(client: httpx.AsyncClient) -> None:
    html = (await client.get("/report")).text
    mondays = re.findall(r'<tr data-week="([0-9-]+)"', html)
    assert mondays[0] == "2026-10-05" and mondays[-1] == "2026-07-20" and len(mondays) == 12  # the newest first
    # 10/05: E (30 min), G (6 h) answered, F pending -> 2/2 = 100 %; wall median (0.5 + 6) / 2 = 3 h 15; work
    # median (0 + 6) / 2 = 3 h (E came on 개천절's substitute holiday).
    assert _week_row(html, "2026-10-05") == (
        " 10/05 3건 100.0% (2/2건) 3시간 15분 3시간 0 · 0 0건 개천절 대체 휴일, 한글날 "
    )
    # 9/28: covered but empty: a dash, never 0 %.
    assert _week_row(html, "2026-09-28").startswith(" 09/28 0건 – (0/0건) – – ")
    # 9/21 (추석): C answered after 113 h (2 work hours), D open past 24 h -> 0/2 = 0 %; both past Coupang's deadline.
    chuseok = _week_row(html, "2026-09-21")
    assert chuseok.startswith(f" 09/21 2건 0.0% (0/2건) {span(113 * 3600, Words('ko'))} 2시간 2 · 0 1건 ")
    assert chuseok.endswith(" 추석 전날, 추석, 추석 다음날 ")
    # 9/14: the week of the first poll: A (2 h) and B (1 h 30) -> median 1 h 45.
    assert _week_row(html, "2026-09-14").startswith(" 09/14 2건 100.0% (2/2건) 1시간 45분 1시간 45분 ")
    # Before the account's first poll (9/16): no data, not zeros.
    for monday in ("2026-09-07", "2026-07-20"):
        assert "데이터 없음 (계정 연결 전)" in _week_row(html, monday)
    assert "광복절" in _week_row(html, "2026-08-10")  # closed days are named even without data


async def test_the_chart_is_an_svg_of_the_weeks(client: httpx.AsyncClient, draws: list[Any]) -> None:
    html = (await client.get("/report")).text
    src = re.search(r'<img src="(/report/chart/coupang\.svg\?weeks=12)" alt="([^"]+)"', html)
    assert src and "쿠팡 최근 12주 답변 시간 차트" in src.group(2)
    assert 'href="/report/chart.png?weeks=12"' in html
    response = await client.get(src.group(1))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/svg+xml"
    # Opened on its own the drawing needs its inline styles, and nothing else.
    assert response.headers["Content-Security-Policy"] == DRAWING_CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    root: ET.Element = SafeET.fromstring(response.content)
    ids = {element.attrib["id"] for element in root.iter() if "id" in element.attrib}
    for monday in ("2026-09-14", "2026-09-21", "2026-10-05"):  # decided inquiries: a bar and a share marker
        assert {f"bucket-0-week-{monday}", f"share-week-{monday}", f"received-week-{monday}"} <= ids
    assert "share-week-2026-09-28" not in ids and "received-week-2026-09-28" in ids  # empty: 0건, no share
    assert {"nodata-week-2026-09-07", "nodata-week-2026-07-20"} <= ids
    assert "bucket-0-week-2026-09-07" not in ids
    assert "threshold" in ids  # Coupang's 90 %
    (drawn,) = draws
    assert isinstance(drawn, MarketplaceReport) and len(drawn.weeks) == 12


async def test_a_reload_does_not_draw_again_but_a_write_does(
    web_daemon: WebDaemon, client: httpx.AsyncClient, draws: list[Any]
) -> None:
    first = await client.get("/report/chart/coupang.svg?weeks=12")
    again = await client.get("/report/chart/coupang.svg?weeks=12")
    assert len(draws) == 1 and again.content == first.content
    await client.get("/report/chart/coupang.svg?weeks=8")  # another week count: its own drawing
    await client.get("/report/chart/coupang.svg?weeks=8")
    assert len(draws) == 2
    # A new inquiry arrives (a write to the store): the chart is drawn afresh, with it.
    web_daemon.clock.advance(300)
    late = make_inquiry("H", received_at=web_daemon.clock.now() - timedelta(minutes=1))
    await web_daemon.daemon.store.record_poll(
        "shop", StreamKind.PRODUCT_QNA, PollResult(inquiries=(late,), cursor={}), now=web_daemon.clock.now(),
        channels=(), notify_new=False,
    )  # fmt: skip
    fresh = await client.get("/report/chart/coupang.svg?weeks=12")
    assert len(draws) == 3 and fresh.content != first.content
    assert draws[-1].weeks[-1].figures.received == 4  # E, G, F and H


@pytest.mark.parametrize(("asked", "weeks"), [("0", 1), ("-3", 1), ("500", 26), ("abc", 12), ("", 12), ("8", 8)])
async def test_weeks_are_held_in_bounds(client: httpx.AsyncClient, draws: list[Any], asked: str, weeks: int) -> None:
    html = (await client.get("/report", params={"weeks": asked})).text
    assert len(re.findall(r'<tr data-week="', html)) == weeks
    assert f'/report/chart/coupang.svg?weeks={weeks}"' in html
    assert re.search(rf'<option value="{weeks}" selected>', html)
    await client.get("/report/chart/coupang.svg", params={"weeks": asked})
    assert len(draws[-1].weeks) == weeks


async def test_a_marketplace_without_an_account_has_no_chart(client: httpx.AsyncClient, draws: list[Any]) -> None:
    assert (await client.get("/report/chart/naver.svg")).status_code == 404  # a marketplace, but no account
    assert (await client.get("/report/chart/amazon.svg")).status_code == 404
    assert draws == []


async def test_the_png_downloads_at_the_phone_width(client: httpx.AsyncClient, draws: list[Any]) -> None:
    response = await client.get("/report/chart.png?weeks=4")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"] == 'attachment; filename="inqd-report-2026-10-07-4w.png"'
    data = response.content
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">I", data[16:20])[0] == PNG_WIDTH_IN * PNG_DPI
    (drawn,) = draws
    assert isinstance(drawn, AnswerReport) and drawn.weeks == 4
    await client.get("/report/chart.png?weeks=4")
    assert len(draws) == 1  # cached like the SVGs


async def test_the_page_is_in_the_navigation(client: httpx.AsyncClient) -> None:
    html = (await client.get("/report")).text
    assert '<a href="/report" aria-current="page">리포트</a>' in html
    assert '<a href="/report">리포트</a>' in (await client.get("/status")).text


@pytest.fixture
async def token_daemon(
    tmp_path: Path, real_clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> AsyncIterator[WebDaemon]:
    settings = make_settings(quiet_sink(tmp_path), quiet_hours=(), admin=AdminConfig(token=SecretStr("t" * 32)))
    running = await start_web_daemon(settings, real_clock, sandbox)
    try:
        yield running
    finally:
        await running.admin.aclose()
        await running.daemon.aclose()


@pytest.mark.parametrize("path", ["/report", "/report/chart/coupang.svg?weeks=12", "/report/chart.png"])
async def test_without_a_session_the_report_asks_for_the_login(
    token_daemon: WebDaemon, draws: list[Any], path: str
) -> None:
    async with httpx.AsyncClient(base_url=token_daemon.url) as http:
        response = await http.get(path)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?next=")
    assert draws == []
