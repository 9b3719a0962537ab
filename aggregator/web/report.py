"""The report page ("리포트"): `inqd report` in the browser — per marketplace the last 30 days, the forecast against a
known threshold, the weeks as a table, each stream, where the answer times came from, and the weekly chart.

The words are `inqd report`'s (aggregator/report/text.py), so the page and the terminal cannot disagree. The chart is
an SVG of its own route, drawn by aggregator/report/chart.py in a short-lived process (`drawn_apart`: the daemon
never holds matplotlib's ~100 MiB), one drawing at a time, and kept per (store write version, weeks, marketplace):
a reload draws nothing again; a write to the store (a poll, an answer) draws afresh. No buyer data is shown here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from aiohttp import web

from aggregator.cli.words import Words
from aggregator.report.chart import drawn_apart, marketplace_svg, report_png
from aggregator.report.reading import read_report
from aggregator.report.text import (
    figures_lines,
    forecast_line,
    heading,
    no_data_text,
    percent,
    report_lines,
    shop_name,
    sources_line,
    span,
    stream_line,
)
from aggregator.web.pages import Page, Routes
from core.models import Marketplace
from policies.answer_report import AnswerReport, MarketplaceReport, WeekFigures

log = structlog.get_logger("inqd.web")
_WORDS = Words("ko")
DEFAULT_WEEKS = 12
# The chart is 576 pt wide: about half a year of weekly bars keeps their labels readable (`inqd report` goes further).
MAX_WEEKS = 26
WEEK_CHOICES = (4, 8, 12, 26)
# Drawn charts kept for the current store version: every marketplace at a few week counts, and the PNG.
_CACHE_ENTRIES = 16


def weeks_asked(query: str | None) -> int:
    """`?weeks=N` held to 1..MAX_WEEKS; the default when absent or not a number."""
    try:
        weeks = int(query or "")
    except ValueError:
        return DEFAULT_WEEKS
    return min(max(weeks, 1), MAX_WEEKS)


@dataclass(frozen=True, slots=True)
class WeekRow:
    """One week of the table, in the report's words."""

    start: str  # 10/05, as `inqd report` writes the Monday
    iso: str
    covered: bool
    received: int
    share: str
    within: str  # answered within 24 h / decided
    median: str
    work_median: str
    marketplace_breaches: int
    own_breaches: int
    open_past: int
    closed: str


@dataclass(frozen=True, slots=True)
class MarketplaceView:
    """One marketplace's part of the page."""

    key: str  # the marketplace's value: its chart's URL
    shop: str
    figures: tuple[str, ...]
    sources: str
    streams: tuple[str, ...]
    forecast: str
    warns: bool  # the forecast says the share falls, or is, below the threshold
    weeks: tuple[WeekRow, ...]  # the newest first, as `inqd report` lists them
    chart_alt: str


def _week_row(week: WeekFigures) -> WeekRow:
    f = week.figures
    return WeekRow(
        start=f"{week.week_start:%m/%d}",
        iso=week.week_start.isoformat(),
        covered=week.covered,
        received=f.received,
        share=percent(f.share_24h, _WORDS),
        within=f"{f.answered_within_24h}/{f.decided}",
        median=span(f.median_answer_s, _WORDS),
        work_median=span(f.median_work_s, _WORDS),
        marketplace_breaches=f.marketplace_breaches,
        own_breaches=f.own_breaches,
        open_past=f.open_past_24h,
        closed=", ".join(week.closed_days),
    )


def marketplace_view(entry: MarketplaceReport, weeks: int) -> MarketplaceView:
    """The page's view of one marketplace's report."""
    shop = shop_name(entry.marketplace, _WORDS)
    f = entry.last_30_days
    forecast = entry.forecast
    warns = forecast is not None and (forecast.falls_below or forecast.current < forecast.threshold)
    alt = (
        f"{shop} 최근 {weeks}주 답변 시간 차트: 주마다 받은 문의를 첫 답변까지 걸린 시간별로 쌓은 막대와 "
        f"24시간 안 답변율 선 (최근 30일 {percent(f.share_24h, _WORDS)})"
    )
    return MarketplaceView(
        key=entry.marketplace.value,
        shop=shop,
        figures=tuple(line.strip() for line in figures_lines(f, _WORDS)),
        sources=sources_line(f, _WORDS).strip(),
        streams=tuple(stream_line(s, figures, _WORDS).strip() for s, figures in entry.streams.items()),
        forecast=forecast_line(entry, _WORDS).strip(),
        warns=warns,
        weeks=tuple(_week_row(week) for week in reversed(entry.weeks)),
        chart_alt=alt,
    )


class ChartCache:
    """Drawn charts by (store write version, weeks, name), drawn one at a time.

    One at a time: each drawing is a process holding ~100 MiB while it draws, and a page of four marketplaces asks
    for four charts at once. Only the current version's charts are kept: a write makes every one of them stale.
    """

    def __init__(self) -> None:
        self._version: str | None = None
        self._drawn: dict[tuple[int, str], bytes] = {}
        self._lock = asyncio.Lock()

    async def get(self, version: str, weeks: int, name: str, draw: Callable[[], Awaitable[bytes]]) -> bytes:
        """The chart drawn for this version, or `draw()` now (and kept)."""
        async with self._lock:
            if version != self._version:
                self._version, self._drawn = version, {}
            key = (weeks, name)
            if key not in self._drawn:
                if len(self._drawn) >= _CACHE_ENTRIES:
                    del self._drawn[next(iter(self._drawn))]
                self._drawn[key] = await draw()
            return self._drawn[key]


async def _report(page: Page, weeks: int) -> AnswerReport:
    ctx = page.ctx
    return await read_report(ctx.store, ctx.settings(), now=ctx.clock.now(), weeks=weeks)


def _not_drawn() -> web.Response:
    return web.Response(status=503, text="차트를 그리지 못했습니다. 잠시 뒤 다시 여세요.", charset="utf-8")


def register(routes: Routes) -> None:
    """GET /report, /report/chart/{marketplace}.svg and /report/chart.png."""
    charts = ChartCache()

    async def show(page: Page) -> web.StreamResponse:
        weeks = weeks_asked(page.request.query.get("weeks"))
        report = await _report(page, weeks)
        return page.html(
            "report.html",
            title="리포트",
            nav="report",
            heading=heading(report, _WORDS),
            weeks=weeks,
            week_choices=sorted({*WEEK_CHOICES, weeks}),
            marketplaces=[marketplace_view(entry, weeks) for entry in report.marketplaces],
            empty=report_lines(report, _WORDS)[1:] if not report.marketplaces else [],
            no_data=no_data_text(_WORDS),
        )

    async def svg(page: Page) -> web.StreamResponse:
        try:
            marketplace = Marketplace(page.request.match_info["marketplace"])
        except ValueError:
            raise web.HTTPNotFound(text="그런 마켓이 없습니다.") from None
        weeks = weeks_asked(page.request.query.get("weeks"))

        async def draw() -> bytes:
            report = await _report(page, weeks)
            entry = next((e for e in report.marketplaces if e.marketplace is marketplace), None)
            if entry is None:
                raise web.HTTPNotFound(text="이 마켓의 계정이 없습니다.")
            return await drawn_apart(marketplace_svg, entry)

        try:
            body = await charts.get(await page.ctx.store.write_version(), weeks, marketplace.value, draw)
        except web.HTTPNotFound:
            raise
        except Exception:
            log.exception("report_chart_failed")
            return _not_drawn()
        return web.Response(body=body, content_type="image/svg+xml")

    async def png(page: Page) -> web.StreamResponse:
        weeks = weeks_asked(page.request.query.get("weeks"))

        async def draw() -> bytes:
            return await drawn_apart(report_png, await _report(page, weeks))

        try:
            body = await charts.get(await page.ctx.store.write_version(), weeks, "png", draw)
        except Exception:
            log.exception("report_chart_failed")
            return _not_drawn()
        name = f"inqd-report-{page.ctx.clock.now():%Y-%m-%d}-{weeks}w.png"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return web.Response(body=body, content_type="image/png", headers=headers)

    routes.get("/report", show)
    routes.get("/report/chart/{marketplace}.svg", svg)
    routes.get("/report/chart.png", png)
