"""The answer-time report as pictures: one marketplace's weeks as SVG (web inbox), all of them as one PNG (phone).

Drawn with matplotlib, imported only inside these functions: the daemon and the CLI never pay for it (about
30 MiB and a few hundred milliseconds, docs/benchmarks.md) unless a chart is asked for. The object API is used
(`Figure` on an Agg canvas, never pyplot): no GUI backend is ever looked up, no figure is kept in a global registry,
and the rc settings are applied in a `rc_context` so nothing leaks into another user of matplotlib in the process.

Every data point carries an id (`bucket-<n>-week-<yyyy-mm-dd>`, `share-week-<yyyy-mm-dd>`, `threshold`,
`nodata-week-<yyyy-mm-dd>`, `received-week-<yyyy-mm-dd>`, `panel`) so a test — or a curious reader of the SVG — can
check that what is drawn is what was counted.

Drawing takes about a second of CPU, and a process that has drawn once keeps matplotlib, numpy and the font
resident: about +100 MiB of RSS (docs/benchmarks.md), more than the whole idle daemon. So the daemon does not draw
in its own process: `drawn_apart(report_png, report)` draws in a fresh interpreter that exits afterwards (spawned,
never forked from the running event loop and its threads), and the event loop only awaits it.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from policies.answer_report import AnswerReport, MarketplaceReport, WeekFigures

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)
Drawn = TypeVar("Drawn", AnswerReport, MarketplaceReport)

# Figures.buckets in order, good to bad: green for fast answers, amber and red for slow ones; still-open grey
# (neither good nor bad yet: some are inside their 24 hours). Read from ColorBrewer's RdYlGn, which stays apart
# for the common red-green colour blindness by lightness as well as hue.
BUCKETS: tuple[tuple[str, str], ...] = (
    ("1시간 이내", "#1a9850"),
    ("1–6시간", "#a6d96a"),
    ("6–24시간", "#fdae61"),
    ("24시간 넘음·모름", "#d73027"),
    ("미답변", "#bdbdbd"),
)
SHARE_COLOUR = "#2c3e91"
SVG_SIZE_IN = (8.0, 4.5)  # the web page scales it (viewBox); 576 x 324 pt as written
PNG_WIDTH_IN, PNG_DPI = 6.0, 180  # 1080 px: a phone's screen width, so Telegram/ntfy show it without rescaling
PNG_BUDGET_BYTES = 300_000
# Fixed margins in inches (top, bottom, left, right; the gap between panels), not constrained layout: the picture
# has one shape, so measuring every label to place it again (half the drawing time) buys nothing.
_BOTTOM_IN, _LEFT_IN, _RIGHT_IN = 0.85, 0.6, 0.65  # the bottom band: the last panel's week labels, the legend
_TITLE_IN, _GAP_IN = 0.3, 0.75  # a panel's title above it; between panels: week labels, the next title
PNG_AXES_IN = 2.3  # each marketplace's plotting box

# A Korean font by file first (fonts-noto-cjk, fonts-nanum on Debian; the Fedora/Arch path of Noto CJK): adding
# the file directly does not depend on matplotlib's font cache having seen it — a cache built before the fonts
# were installed would otherwise miss them. Then by family name, through the cache.
_FONT_FILES = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf"),
    Path("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc"),
)
_FONT_FAMILIES = ("Noto Sans CJK KR", "NanumGothic", "Apple SD Gothic Neo", "Malgun Gothic")


@functools.cache
def korean_font() -> str | None:
    """The family name of a Korean-capable font on this machine, or None (Korean text then shows as boxes)."""
    from matplotlib import font_manager

    for path in _FONT_FILES:
        if path.is_file():
            font_manager.fontManager.addfont(str(path))
            return str(font_manager.FontProperties(fname=str(path)).get_name())
    for family in _FONT_FAMILIES:
        try:
            font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
        except ValueError:
            continue
        return family
    log.warning("no Korean font found (install fonts-noto-cjk or fonts-nanum): chart labels will show boxes")
    return None


@contextmanager
def _style() -> Iterator[None]:
    """matplotlib settings for our charts only, with the missing-glyph warnings of a font-less machine silenced."""
    import matplotlib

    font = korean_font()
    settings = matplotlib.rc_context(
        {
            # DejaVu Sans (bundled with matplotlib) after the Korean font: digits and symbols never go missing.
            "font.family": [font, "DejaVu Sans"] if font else ["DejaVu Sans"],
            # SVG text stays text: a few hundred bytes instead of kilobytes of glyph outlines per label, selectable
            # and searchable, and the browser draws it with its own Korean font when ours is not on the phone.
            "svg.fonttype": "none",
            "svg.hashsalt": "inqd",  # stable ids inside the SVG: the same report draws the same bytes
            "axes.unicode_minus": False,
            "path.simplify": False,  # every point where it was counted (the ids are checked against the figures)
            "font.size": 9,
        }
    )
    with settings, warnings.catch_warnings():
        if font is None:
            warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        yield


def _figure(width_in: float, height_in: float, dpi: float = 100) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width_in, height_in), dpi=dpi)
    FigureCanvasAgg(figure)  # Agg, explicitly: there is no display here, and no backend is looked up
    return figure


def _panels(figure: Figure, count: int, top_in: float) -> list[Axes]:
    """`count` panels stacked between a header band of `top_in` and the legend band at the bottom."""
    width, height = figure.get_size_inches()
    axes_height = (height - top_in - _BOTTOM_IN - _GAP_IN * (count - 1)) / count
    grid = figure.add_gridspec(
        count,
        1,
        left=_LEFT_IN / width,
        right=1 - _RIGHT_IN / width,
        top=1 - top_in / height,
        bottom=_BOTTOM_IN / height,
        hspace=_GAP_IN / axes_height,
    )
    return [figure.add_subplot(grid[row, 0]) for row in range(count)]


def _line_in(size: float) -> float:
    return size / 72 * 1.45  # a line of text of `size` points, with its leading


def _header_in(lines: list[tuple[str, float]]) -> float:
    """The header band's height in inches: its lines and the first panel's title."""
    return 0.08 + sum(_line_in(size) for _, size in lines) + _TITLE_IN


def _header(figure: Figure, lines: list[tuple[str, float]]) -> None:
    """Lines of (text, font size) from the top left: the report's title, where the thresholds come from."""
    width, height = figure.get_size_inches()
    top_in = 0.08
    for text, size in lines:
        top_in += _line_in(size)
        colour = "#222222" if size > 7 else "#666666"
        figure.text(_LEFT_IN / 2 / width, 1 - top_in / height, text, fontsize=size, color=colour)


def _week_label(week: WeekFigures) -> str:
    """`9/21`, with the week's closed days under it by their first word (`추석 전날`, `추석` -> `추석`; `개천절 대체
    휴일`, `한글날` -> `개천절 외`): a week's slot holds about four Korean letters on the phone."""
    label = f"{week.week_start.month}/{week.week_start.day}"
    names = list(dict.fromkeys(name.split()[0] for name in week.closed_days if name.strip()))
    if names:
        label += f"\n{names[0]}" + (" 외" if len(names) > 1 else "")
    return label


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


def _panel_title(report: MarketplaceReport) -> str:
    title = f"{report.marketplace.label} · 최근 30일 24시간 내 답변 {_percent(report.last_30_days.share_24h)}"
    forecast = report.forecast
    if forecast is not None and forecast.falls_below:
        title += f" → 이대로면 {_percent(forecast.projected)}"
    return title


def _draw_bars(axes: Axes, weeks: tuple[WeekFigures, ...]) -> None:
    """Stacked buckets per covered week, the count over each; a shaded "데이터 없음" slot where not covered."""
    from matplotlib.ticker import MaxNLocator

    tallest = max((sum(week.figures.buckets) for week in weeks if week.covered), default=0)
    # The bars keep to the lower two thirds: the share line (mostly 80-100 %) runs above them, not through them.
    axes.set_ylim(0, max(tallest * 1.5, 1))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    for x, week in enumerate(weeks):
        day = week.week_start.isoformat()
        if not week.covered:
            span = axes.axvspan(x - 0.42, x + 0.42, facecolor="#f2f2f2", edgecolor="#cccccc", hatch="///")
            span.set_gid(f"nodata-week-{day}")
            axes.text(x, 0.5, "데이터 없음", transform=axes.get_xaxis_transform(), rotation=90, ha="center",
                      va="center", color="#888888", fontsize=8)  # fmt: skip
            continue
        bottom = 0
        for n, (count, (_, colour)) in enumerate(zip(week.figures.buckets, BUCKETS, strict=True)):
            (bar,) = axes.bar(x, count, bottom=bottom, width=0.7, color=colour, linewidth=0)
            bar.set_gid(f"bucket-{n}-week-{day}")
            bottom += count
        label = axes.annotate(f"{week.figures.received}건", (x, bottom), xytext=(0, 2), textcoords="offset points",
                              ha="center", va="bottom", fontsize=7, color="#444444")  # fmt: skip
        label.set_gid(f"received-week-{day}")
    axes.set_ylabel("문의 수")
    axes.set_xticks(range(len(weeks)), [_week_label(week) for week in weeks], fontsize=7)
    axes.set_xlim(-0.6, len(weeks) - 0.4)
    axes.spines[["top"]].set_visible(False)


def _draw_share(axes: Axes, report: MarketplaceReport) -> None:
    """The weekly 24-hour share on a second axis (0-100 %), a gap where no share; the threshold dashed."""
    from matplotlib.ticker import PercentFormatter

    share_axes = axes.twinx()
    share_axes.set_ylim(0, 1)
    share_axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    share_axes.set_ylabel("24시간 내 답변율", color=SHARE_COLOUR)
    share_axes.spines[["top"]].set_visible(False)
    shares = [week.figures.share_24h if week.covered else None for week in report.weeks]
    ys = [math.nan if share is None else share for share in shares]
    share_axes.plot(range(len(ys)), ys, color=SHARE_COLOUR, linewidth=1.6, gid="share-24h")
    for x, (week, share) in enumerate(zip(report.weeks, shares, strict=True)):
        if share is not None:  # a marker per week, so a week alone between gaps still shows (and can be checked)
            marker = share_axes.plot([x], [share], "o", color=SHARE_COLOUR, markersize=3.5, clip_on=False)[0]
            marker.set_gid(f"share-week-{week.week_start}")
    if report.forecast is not None:
        threshold = report.forecast.threshold
        share_axes.axhline(threshold, color="#d73027", linestyle="--", linewidth=1, gid="threshold")
        share_axes.annotate(f"기준 {_percent(threshold)}", (0, threshold), xycoords=("axes fraction", "data"),
                            xytext=(2, 2), textcoords="offset points", fontsize=7, color="#d73027")  # fmt: skip


def _draw_panel(axes: Axes, report: MarketplaceReport) -> None:
    axes.patch.set_gid("panel")  # the plotting box: its height is the share axis' 0-100 %
    axes.set_title(_panel_title(report), loc="left", fontsize=10)
    if not report.weeks:
        _no_data(axes)
        return
    _draw_bars(axes, report.weeks)
    _draw_share(axes, report)


def _no_data(axes: Axes) -> None:
    axes.set_axis_off()
    axes.text(0.5, 0.5, "데이터 없음", ha="center", va="center", fontsize=14, color="#888888", gid="no-data")


def _legend(figure: Figure) -> None:
    """One legend for every panel, at the bottom: the buckets good to bad, then the share line."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [Patch(facecolor=colour, label=label) for label, colour in BUCKETS]
    handles.append(Line2D([], [], color=SHARE_COLOUR, marker="o", markersize=3.5, label="24시간 내 답변율"))
    figure.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0), ncols=3, fontsize=7, frameon=False)


# Forecast.source is a code (policies/answer_report_figures.py); the report's text says it at length, the chart
# has room for a few words.
_SOURCE_WORDS = {"coupang_2016": "2016년 공개된 최소 기준", "seller": "내가 정한 목표"}


def _sources_note(report: MarketplaceReport) -> str | None:
    """Where the dashed line's threshold comes from, in a few words."""
    if report.forecast is None:
        return None
    source = _SOURCE_WORDS.get(report.forecast.source, report.forecast.source)
    return f"{report.marketplace.label} 기준선 {report.forecast.threshold * 100:.0f}%: {source}"


def marketplace_svg(report: MarketplaceReport) -> bytes:
    """One marketplace's weekly chart as SVG (SVG_SIZE_IN, written in pt), for the web inbox."""
    with _style():
        figure = _figure(*SVG_SIZE_IN)
        note = _sources_note(report)
        lines = [(note, 6.0)] if note else []
        _header(figure, lines)
        _draw_panel(_panels(figure, 1, _header_in(lines))[0], report)
        _legend(figure)
        out = io.BytesIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def report_png(report: AnswerReport) -> bytes:
    """Every marketplace's chart in one phone-wide PNG (1080 px, a panel each, stacked), for sendPhoto and ntfy."""
    header = _png_header(report)
    with _style():
        figure = _figure(PNG_WIDTH_IN, png_height_in(report), PNG_DPI)
        _header(figure, header)
        panels = _panels(figure, max(len(report.marketplaces), 1), _header_in(header))
        if not report.marketplaces:
            _no_data(panels[0])
        for axes, marketplace in zip(panels, report.marketplaces, strict=False):
            _draw_panel(axes, marketplace)
        if report.marketplaces:
            _legend(figure)
        return _png_bytes(figure)


def _png_bytes(figure: Figure) -> bytes:
    """The figure as a 256-colour PNG: a chart has few colours, and a palette makes it a third of the RGBA size
    (about 100 KB instead of 290 KB for four marketplaces) without a visible change — the phone's data and the
    channels' upload limits are what this picture is for."""
    from PIL import Image

    canvas = figure.canvas
    canvas.draw()
    size = canvas.get_width_height()
    rgba = Image.frombuffer("RGBA", size, canvas.buffer_rgba(), "raw", "RGBA", 0, 1)  # type: ignore[attr-defined]
    # Median cut keeps the few large flat colours exact (the white ground, each bucket's colour); the fast octree
    # shifted them by a few levels. Antialiased edges take the rest of the palette.
    palette = rgba.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    out = io.BytesIO()
    palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def png_height_in(report: AnswerReport) -> float:
    """The PNG's height in inches (times PNG_DPI: its pixels): the header, a panel per marketplace, the legend."""
    count = max(len(report.marketplaces), 1)
    return _header_in(_png_header(report)) + _BOTTOM_IN + count * PNG_AXES_IN + (count - 1) * _GAP_IN


def _png_header(report: AnswerReport) -> list[tuple[str, float]]:
    notes = [note for note in map(_sources_note, report.marketplaces) if note]
    title = f"답변 시간 리포트 · {report.generated_at:%Y-%m-%d} · 최근 {report.weeks}주"
    return [(title, 12.0), *((note, 6.0) for note in notes)]


async def drawn_apart(draw: Callable[[Drawn], bytes], report: Drawn) -> bytes:
    """`draw(report)` in a fresh interpreter that exits when done: the caller's memory never holds matplotlib.

    Costs the child's start and imports (about a second more than drawing in place); the report crosses as a
    pickle of our own frozen dataclasses between two processes of ours.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, draw, report)
    finally:
        pool.shutdown(wait=False)  # the child exits on its own once its one job is done; no wait in the loop
