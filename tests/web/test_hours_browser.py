"""The hours page in a real headless Chromium: a schedule edit is saved through the page, survives a restart of the
real `inqd run` process and shows in `inqd schedule`; the page fits a 375-px phone without sideways scrolling."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.async_api import expect

from core.models import KST
from tests.processes import DEADLINE_S, finish, read_until, start
from tests.web.conftest import WebDaemon, screenshot_path

CONFIG = """# written by the test: no accounts, the sink, the web on a free port
db_path = "{db}"
quiet_hours = ["night", "closed-days"]  # the defaults, spelled out
work_hours = ["cs-hours"]

[[notifiers]]
type = "sink"
console = false
file = "{sink}"

[admin]
port = {port}
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(config: Path, procs: list[subprocess.Popen[bytes]]) -> tuple[subprocess.Popen[bytes], list[str]]:
    """`inqd run --config FILE`, once its web server listens."""
    proc = start(["run", "--config", str(config)])
    procs.append(proc)
    seen: list[str] = []
    read_until(proc, "admin_listening", seen)
    return proc, seen


def _stop(proc: subprocess.Popen[bytes], seen: list[str]) -> str:
    proc.send_signal(signal.SIGTERM)
    return finish(proc, seen)


async def _edit_and_save(page: Any, url: str) -> None:
    """Monday's quiet hours start at 23:00; Saturday gets work hours 10:00-14:00 (a new range)."""
    await page.goto(url + "/hours")
    await page.get_by_label("월 조용한 시간 시작").fill("23:00")
    saturday = page.locator('.weekday[data-day="5"]')
    await saturday.locator('button.add[data-kind="work"]').click()
    await saturday.get_by_label("토 시작").fill("10:00")
    await saturday.get_by_label("토 끝").fill("14:00")
    await expect(saturday.locator("svg.bar g.work rect")).to_have_count(1)  # the bar follows the form
    await page.get_by_role("button", name="바꿀 내용 미리 보기").click()
    await expect(page.locator("pre.config-lines")).to_contain_text('"토 10:00-14:00"')
    await expect(page.locator("tr.changed")).to_have_count(2)
    await page.get_by_role("button", name="저장하고 적용").click()
    await page.wait_for_url("**/hours?saved=1")
    await expect(page.get_by_role("status").first).to_contain_text("저장했습니다")


async def test_an_hours_edit_survives_a_restart_and_shows_in_inqd_schedule(
    browser: Any, tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    port = _free_port()
    config = tmp_path / "inqd.toml"
    config.write_text(CONFIG.format(db=tmp_path / "inqd.db", sink=tmp_path / "sink.jsonl", port=port), encoding="utf-8")
    url = f"http://127.0.0.1:{port}"
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    try:
        page = await context.new_page()
        first, seen = _run(config, procs)
        await _edit_and_save(page, url)
        first_output = _stop(first, seen)
        second, seen_again = _run(config, procs)
        await page.goto(url + "/hours")
        await expect(page.get_by_label("월 조용한 시간 시작")).to_have_value("23:00")
        await expect(page.locator('.weekday[data-day="5"]').get_by_label("토 업무시간 시작")).to_have_value("10:00")
        await page.screenshot(path=str(screenshot_path("hours")), full_page=True)
        _stop(second, seen_again)
    finally:
        await context.close()
    today = datetime.now(KST).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7)
    schedule = subprocess.run(  # noqa: ASYNC221 (the browser is closed; nothing else runs on this loop)
        [sys.executable, "-m", "aggregator", "schedule", "--config", str(config), "--from", str(saturday)],
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        check=True,
    ).stdout
    assert "settings_reloaded" in first_output
    assert "토 10:00-14:00" in schedule.splitlines()[0]  # the header lists the hours as written
    lines = {line[:5]: line for line in schedule.splitlines()[1:]}
    assert "업무 10:00–14:00" in lines[f"{saturday:%m/%d}"]
    monday = saturday + timedelta(days=2)
    assert "22:00–23:00" not in lines[f"{monday:%m/%d}"] and "23:00–24:00" in lines[f"{monday:%m/%d}"]
    assert "# the defaults, spelled out" in config.read_text(encoding="utf-8")
    assert config.with_name("inqd.toml.bak").is_file()


async def test_the_hours_page_fits_a_phone(browser: Any, web_daemon: WebDaemon) -> None:
    context = await browser.new_context(viewport={"width": 375, "height": 800}, locale="ko-KR", is_mobile=True)
    try:
        page = await context.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        await page.goto(web_daemon.url + "/hours")
        await expect(page.locator("ol.days > li")).to_have_count(60)
        widths = await page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        await page.screenshot(path=str(screenshot_path("hours-phone")))  # the first screen, as a phone shows it
    finally:
        await context.close()
    assert widths[0] <= widths[1], f"scrolls sideways: {widths}"
    assert all(u.startswith(web_daemon.url) or u.startswith("data:") for u in requests)
