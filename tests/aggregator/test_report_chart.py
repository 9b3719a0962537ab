"""The report's pictures: the SVG's drawn data points against the figures, the PNG's header and budget, no data.

Twelve hand-built weeks (Mondays 2026-07-20 .. 2026-10-05) of one marketplace: the first two before its account was
added (not covered), 2026-08-10 covered but empty, 2026-09-21 with 추석 (9/24-9/26). The figures are written out
here; the chart must draw exactly them: bar heights proportional to the bucket counts, the share markers at
share x the plotting box's height, the threshold likewise.
"""

from __future__ import annotations

import io
import re
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest
from PIL import Image

from aggregator.report import chart as report_chart
from aggregator.report.chart import (
    BUCKETS,
    PNG_BUDGET_BYTES,
    PNG_DPI,
    PNG_WIDTH_IN,
    SVG_SIZE_IN,
    drawn_apart,
    marketplace_svg,
    png_height_in,
    report_png,
)
from core.models import KST, Marketplace
from policies.answer_report import AnswerReport, Figures, Forecast, MarketplaceReport, WeekFigures

ROOT = Path(__file__).parents[2]
SVG = "{http://www.w3.org/2000/svg}"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
FIRST_MONDAY = date(2026, 7, 20)
CHUSEOK_WEEK = date(2026, 9, 21)
EMPTY_WEEK = date(2026, 8, 10)
UNCOVERED = (date(2026, 7, 20), date(2026, 7, 27))


def _week(start: date, buckets: tuple[int, int, int, int, int], *, open_past_24h: int = 0) -> WeekFigures:
    """A covered week whose buckets are the distribution; answered = the first four, within 24 h = the first three."""
    answered, within = sum(buckets[:4]), sum(buckets[:3])
    figures = Figures(
        received=sum(buckets),
        answered=answered,
        answered_within_24h=within,
        open_past_24h=open_past_24h,
        pending=buckets[4] - open_past_24h,
        buckets=buckets,
    )
    closed = ("추석", "추석", "추석") if start == CHUSEOK_WEEK else ()
    return WeekFigures(start, figures, closed_days=closed)


# Per covered week: (buckets ≤1h, 1-6h, 6-24h, >24h, open), open past 24 h. The share, by hand:
#   2026-08-03: (5,3,1,1,0)       answered 10, within 9, decided 10        -> 90.0 %
#   2026-08-10: empty                                                       -> no share (a gap, not 0 %)
#   2026-09-21 (추석): (3,2,1,1,2), 1 open past 24 h: answered 7, within 6, decided 8 -> 75.0 %
#   2026-10-05: (6,2,0,0,3), 0 open past 24 h: answered 8, within 8, decided 8 -> 100 % (3 pending: in neither side)
COVERED: dict[date, tuple[tuple[int, int, int, int, int], int]] = {
    date(2026, 8, 3): ((5, 3, 1, 1, 0), 0),
    EMPTY_WEEK: ((0, 0, 0, 0, 0), 0),
    date(2026, 8, 17): ((7, 2, 2, 0, 0), 0),
    date(2026, 8, 24): ((4, 4, 1, 2, 0), 0),
    date(2026, 8, 31): ((9, 1, 0, 0, 0), 0),
    date(2026, 9, 7): ((2, 2, 2, 2, 1), 1),
    date(2026, 9, 14): ((6, 0, 3, 1, 0), 0),
    CHUSEOK_WEEK: ((3, 2, 1, 1, 2), 1),
    date(2026, 9, 28): ((10, 3, 1, 0, 0), 0),
    date(2026, 10, 5): ((6, 2, 0, 0, 3), 0),
}
EXPECTED_SHARES = {date(2026, 8, 3): 0.90, CHUSEOK_WEEK: 0.75, date(2026, 10, 5): 1.0}
FORECAST = Forecast(threshold=0.90, current=0.931, projected=0.874, open_at_risk=3, source="2016년 뉴스 (95%는 미확인)")


def _weeks() -> tuple[WeekFigures, ...]:
    weeks = []
    for n in range(12):
        start = FIRST_MONDAY + timedelta(weeks=n)
        if start in UNCOVERED:
            weeks.append(WeekFigures(start, Figures(), covered=False))
        else:
            buckets, open_past = COVERED[start]
            weeks.append(_week(start, buckets, open_past_24h=open_past))
    return tuple(weeks)


def _coupang(forecast: Forecast | None = FORECAST) -> MarketplaceReport:
    last_30 = Figures(received=40, answered=35, answered_within_24h=32, open_past_24h=1)
    return MarketplaceReport(Marketplace.COUPANG, _weeks(), last_30, forecast=forecast)


@pytest.fixture(scope="module")
def svg_bytes() -> bytes:
    return marketplace_svg(_coupang())


@pytest.fixture(scope="module")
def svg(svg_bytes: bytes) -> ET.Element:
    root: ET.Element = SafeET.fromstring(svg_bytes)
    return root


def _group(root: ET.Element, gid: str) -> ET.Element | None:
    return root.find(f".//{SVG}g[@id='{gid}']")


def _box(root: ET.Element, gid: str) -> tuple[float, float, float, float]:
    """(left, right, top, bottom) of the path in group `gid`, in the SVG's units (y grows downwards)."""
    group = _group(root, gid)
    assert group is not None, gid
    path = group.find(f".//{SVG}path")
    assert path is not None, gid
    numbers = [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", path.attrib["d"])]
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), max(xs), min(ys), max(ys)


def _marker(root: ET.Element, gid: str) -> tuple[float, float]:
    group = _group(root, gid)
    assert group is not None, gid
    use = group.find(f".//{SVG}use")
    assert use is not None, gid
    return float(use.attrib["x"]), float(use.attrib["y"])


def test_the_svg_parses_at_its_size(svg: ET.Element) -> None:
    assert svg.attrib["width"] == f"{SVG_SIZE_IN[0] * 72:g}pt"
    assert svg.attrib["height"] == f"{SVG_SIZE_IN[1] * 72:g}pt"
    assert svg.attrib["viewBox"] == f"0 0 {SVG_SIZE_IN[0] * 72:g} {SVG_SIZE_IN[1] * 72:g}"


def test_bar_heights_are_proportional_to_the_buckets_and_stacked(svg: ET.Element) -> None:
    _, _, _, baseline = _box(svg, "panel")
    per_inquiry = []
    for start, (buckets, _) in COVERED.items():
        bottom = baseline
        column = _box(svg, f"bucket-0-week-{start}")[:2]
        for n, count in enumerate(buckets):
            left, right, top, lower = _box(svg, f"bucket-{n}-week-{start}")
            assert (left, right) == column  # one column per week
            assert lower == pytest.approx(bottom, abs=1e-3)  # stacked: each starts where the one below ends
            if count:
                per_inquiry.append((lower - top) / count)
            else:
                assert lower - top == pytest.approx(0, abs=1e-3)
            bottom = top
    assert min(per_inquiry) > 0
    assert max(per_inquiry) == pytest.approx(min(per_inquiry), rel=1e-4)


def test_share_markers_sit_at_the_share_and_above_their_week(svg: ET.Element) -> None:
    _, _, panel_top, panel_bottom = _box(svg, "panel")
    for start, share in EXPECTED_SHARES.items():
        x, y = _marker(svg, f"share-week-{start}")
        assert (panel_bottom - y) / (panel_bottom - panel_top) == pytest.approx(share, abs=1e-4)
        left, right, _, _ = _box(svg, f"bucket-0-week-{start}")
        assert x == pytest.approx((left + right) / 2, abs=1e-3)
    line = _group(svg, "share-24h")
    assert line is not None


def test_weeks_not_covered_are_no_data_and_the_empty_week_is_zero(svg: ET.Element) -> None:
    for start in UNCOVERED:
        assert _group(svg, f"nodata-week-{start}") is not None
        assert _group(svg, f"bucket-0-week-{start}") is None  # a gap, not a zero bar
        assert _group(svg, f"share-week-{start}") is None
    assert _group(svg, f"nodata-week-{EMPTY_WEEK}") is None
    assert _group(svg, f"share-week-{EMPTY_WEEK}") is None  # nothing decided: no share, no 0 %
    received = _group(svg, f"received-week-{EMPTY_WEEK}")
    assert received is not None
    assert "".join(received.itertext()).strip() == "0건"


def test_the_chuseok_week_is_marked_under_its_label(svg: ET.Element) -> None:
    marked = []
    for tick in svg.iterfind(f".//{SVG}g[@id]"):
        if tick.attrib["id"].startswith("xtick_"):
            texts = [t.text for t in tick.iterfind(f".//{SVG}text")]
            use = tick.find(f".//{SVG}use")
            if "추석" in texts and use is not None:
                marked.append((texts, float(use.attrib["x"])))
    left, right, _, _ = _box(svg, f"bucket-0-week-{CHUSEOK_WEEK}")
    assert marked == [(["9/21", "추석"], pytest.approx((left + right) / 2, abs=1e-3))]


def test_the_threshold_is_dashed_at_its_share(svg: ET.Element, svg_bytes: bytes) -> None:
    _, _, panel_top, panel_bottom = _box(svg, "panel")
    _, _, top, bottom = _box(svg, "threshold")
    assert top == bottom == pytest.approx(panel_bottom - 0.90 * (panel_bottom - panel_top), abs=1e-3)
    group = _group(svg, "threshold")
    assert group is not None
    assert "stroke-dasharray" in ET.tostring(group, encoding="unicode")
    assert "쿠팡" in svg_bytes.decode()
    assert "95%는 미확인" in svg_bytes.decode()  # where the threshold comes from, as the report says it


def test_no_forecast_no_threshold_and_the_same_report_draws_the_same_bytes(svg_bytes: bytes) -> None:
    plain = marketplace_svg(_coupang(forecast=None))
    assert _group(SafeET.fromstring(plain), "threshold") is None
    assert marketplace_svg(_coupang()) == svg_bytes


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _four_marketplaces() -> AnswerReport:
    reports = tuple(
        MarketplaceReport(marketplace, _weeks(), Figures(), forecast=FORECAST if n == 0 else None)
        for n, marketplace in enumerate(Marketplace)
    )
    return AnswerReport(datetime(2026, 10, 12, 9, tzinfo=KST), 12, reports)


def test_the_phone_png_is_phone_wide_under_budget_and_shows_the_buckets() -> None:
    report = _four_marketplaces()
    data = report_png(report)
    width, height = _png_size(data)
    assert width == PNG_WIDTH_IN * PNG_DPI == 1080
    assert height == pytest.approx(png_height_in(report) * PNG_DPI, abs=1)
    assert len(data) <= PNG_BUDGET_BYTES
    with Image.open(io.BytesIO(data)) as image:
        pixels = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=1 << 16) or []}
        ground = image.convert("RGB").getpixel((2, 2))
    assert ground == (255, 255, 255)
    for label, hex_colour in BUCKETS:  # each bucket's colour is on the picture, exactly (the palette keeps it)
        assert tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)) in pixels, label


def test_closed_days_are_named_by_their_first_word() -> None:
    chuseok = WeekFigures(CHUSEOK_WEEK, Figures(), closed_days=("추석 전날", "추석", "추석 다음날"))
    october = WeekFigures(date(2026, 10, 5), Figures(), closed_days=("개천절 대체 휴일", "한글날"))
    plain = WeekFigures(date(2026, 10, 12), Figures())
    assert [report_chart._week_label(week) for week in (chuseok, october, plain)] == [
        "9/21\n추석",
        "10/5\n개천절 외",
        "10/12",
    ]


def test_an_empty_report_still_draws_no_data() -> None:
    empty = AnswerReport(datetime(2026, 10, 12, 9, tzinfo=KST), 12, ())
    width, height = _png_size(report_png(empty))
    assert (width, height) == (1080, pytest.approx(png_height_in(empty) * PNG_DPI, abs=1))
    no_weeks = SafeET.fromstring(marketplace_svg(MarketplaceReport(Marketplace.NAVER, (), Figures())))
    assert "데이터 없음" in "".join(no_weeks.itertext())


@pytest.fixture
def no_korean_font(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(report_chart, "_FONT_FILES", (Path("/nonexistent/font.ttf"),))
    monkeypatch.setattr(report_chart, "_FONT_FAMILIES", ("No Such Font Family",))
    report_chart.korean_font.cache_clear()
    yield
    report_chart.korean_font.cache_clear()


@pytest.mark.usefixtures("no_korean_font")
def test_without_a_korean_font_it_still_draws() -> None:
    assert report_chart.korean_font() is None
    width, _ = _png_size(report_png(AnswerReport(datetime(2026, 10, 12, tzinfo=KST), 12, (_coupang(),))))
    assert width == 1080  # and no missing-glyph warning escaped (warnings are errors here)


def test_importing_the_daemon_and_the_cli_does_not_import_matplotlib() -> None:
    code = "import aggregator.daemon, aggregator.cli.main, aggregator.report.chart, sys"
    code += "; assert 'matplotlib' not in sys.modules, 'matplotlib'; assert 'PIL' not in sys.modules, 'PIL'"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


async def test_drawn_apart_draws_the_same_picture_in_another_process() -> None:
    report = AnswerReport(datetime(2026, 10, 12, 9, tzinfo=KST), 12, (_coupang(),))
    assert await drawn_apart(report_png, report) == report_png(report)
    assert await drawn_apart(marketplace_svg, _coupang()) == marketplace_svg(_coupang())
