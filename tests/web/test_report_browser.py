"""The report page in a real Chromium: the charts drawn in their own process arrive and show their colours (the
drawing's inline styles are not refused), nothing on the console, no request to another host, and a phone's 375 px
without scrolling sideways."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from aggregator.report.chart import BUCKETS, SVG_SIZE_IN
from connectors.sandbox import CoupangSandbox
from tests.conftest import MakeSettings
from tests.fakes import FakeClock
from tests.web.conftest import WebDaemon, screenshot_path
from tests.web.report_seed import NOW, seeded_daemon

CHART = 'img[src^="/report/chart/coupang.svg"]'
# The chart is drawn in a fresh interpreter (matplotlib's import and the drawing): seconds, not milliseconds.
DRAWN_WITHIN_MS = 60_000
# Paint the loaded chart on a canvas and list its colours: a refused inline style would leave the bars black.
_COLOURS = """img => {
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(img, 0, 0);
  const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const seen = new Set();
  const hex = v => v.toString(16).padStart(2, "0");
  for (let i = 0; i < data.length; i += 4) seen.add("#" + hex(data[i]) + hex(data[i + 1]) + hex(data[i + 2]));
  return [...seen];
}"""


@pytest.fixture
def real_clock() -> FakeClock:
    """The report's moment: the seeded figures were worked out for it."""
    return FakeClock(NOW)


@pytest.fixture
async def web_daemon(
    tmp_path: Path, real_clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> AsyncIterator[WebDaemon]:
    """The inbox's daemon with the seeded store (tests/web/report_seed.py)."""
    async with seeded_daemon(tmp_path, real_clock, sandbox, make_settings) as running:
        yield running


def _listen(page: Any) -> list[str]:
    """The console's errors and warnings (a CSP refusal is one) and uncaught page errors."""
    heard: list[str] = []
    page.on("console", lambda m: heard.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: heard.append(f"pageerror: {error}"))
    return heard


async def _chart_loaded(page: Any) -> None:
    await page.wait_for_function(
        f"() => {{ const img = document.querySelector('{CHART}'); return img?.complete && img.naturalWidth > 0; }}",
        timeout=DRAWN_WITHIN_MS,
    )


async def test_the_report_shows_its_chart_without_a_refusal(page: Any, web_daemon: WebDaemon) -> None:
    heard = _listen(page)
    await page.goto(f"{web_daemon.url}/report")
    await expect(page.locator("h2", has_text="쿠팡")).to_be_visible()
    await _chart_loaded(page)
    chart = page.locator(CHART)
    assert await chart.evaluate("img => img.naturalWidth") == SVG_SIZE_IN[0] * 96  # 576 pt = 768 CSS px
    colours = set(await chart.evaluate(_COLOURS))
    assert {colour for _, colour in BUCKETS[:3]} <= colours  # the buckets drawn in their own colours
    assert heard == []
    assert all(url.startswith(web_daemon.url) or url.startswith("data:") for url in page.requests)
    await page.screenshot(path=str(screenshot_path("report")), full_page=True)


async def test_the_chart_opened_on_its_own_is_not_refused(page: Any, web_daemon: WebDaemon) -> None:
    heard = _listen(page)
    await page.goto(f"{web_daemon.url}/report")  # the session, as a seller who opens the image in a new tab has
    response = await page.goto(f"{web_daemon.url}/report/chart/coupang.svg?weeks=12", timeout=DRAWN_WITHIN_MS)
    assert response.headers["content-type"] == "image/svg+xml"
    fill = await page.evaluate("getComputedStyle(document.querySelector('#bucket-0-week-2026-09-14 path')).fill")
    assert fill == "rgb(26, 152, 80)"  # BUCKETS[0]'s #1a9850: the drawing's inline style applied
    assert heard == []


async def test_the_report_fits_a_phone(browser: Any, web_daemon: WebDaemon) -> None:
    context = await browser.new_context(viewport={"width": 375, "height": 812}, locale="ko-KR", is_mobile=True)
    try:
        phone = await context.new_page()
        heard = _listen(phone)
        await phone.goto(f"{web_daemon.url}/report")
        await _chart_loaded(phone)
        widths = await phone.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert widths[0] <= widths[1] == 375
        box = await phone.locator(CHART).bounding_box()
        assert box is not None and box["width"] <= 375 and box["height"] > 0
        # The weekly table became labelled cards: the week's figures are still there, under their names.
        row = phone.locator('tr[data-week="2026-10-05"] td[data-label="받은 문의"]')
        await expect(row).to_have_text("3건")
        assert heard == []
        await phone.screenshot(path=str(screenshot_path("report-phone")), full_page=True)
    finally:
        await context.close()
