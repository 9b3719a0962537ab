"""The guards as a real browser meets them (headless Chromium): logging in through the form, no request to another
host, and no Content-Security-Policy refusal on any page (which would mean an inline script or style slipped in)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from aggregator.settings.service import AdminConfig
from connectors.sandbox import CoupangSandbox
from tests.conftest import MakeSettings, quiet_sink
from tests.fakes import FakeClock
from tests.web.conftest import WebDaemon, screenshot_path, start_web_daemon

TOKEN = "correct-horse-battery"
PAGES = ("/", "/status", "/hours")


@pytest.fixture
async def token_daemon(
    tmp_path: Path, real_clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> AsyncIterator[WebDaemon]:
    """A daemon whose inbox asks for `[admin] token`."""
    settings = make_settings(quiet_sink(tmp_path), quiet_hours=(), admin=AdminConfig(token=SecretStr(TOKEN)))
    running = await start_web_daemon(settings, real_clock, sandbox)
    try:
        yield running
    finally:
        await running.admin.aclose()
        await running.daemon.aclose()


@pytest.fixture
async def token_page(browser: Any, token_daemon: WebDaemon) -> AsyncIterator[Any]:
    """A page of the token daemon that records its requests and its console's errors."""
    context = await browser.new_context(viewport={"width": 1280, "height": 860}, locale="ko-KR")
    opened = await context.new_page()
    opened.requests = []
    opened.errors = []
    opened.on("request", lambda request: opened.requests.append(request.url))
    opened.on("console", lambda message: opened.errors.append(message.text) if message.type == "error" else None)
    try:
        yield opened
    finally:
        await context.close()


def _only_here(requests: list[str], base: str) -> list[str]:
    return [url for url in requests if not (url.startswith(base + "/") or url.startswith("data:"))]


async def test_logging_in_through_the_form_reaches_the_inbox(token_page: Any, token_daemon: WebDaemon) -> None:
    await token_page.goto(token_daemon.url + "/status")
    assert token_page.url == token_daemon.url + "/login?next=%2Fstatus"
    await token_page.get_by_label("토큰").fill("wrong")
    await token_page.get_by_role("button", name="로그인").click()
    await token_page.get_by_role("alert").wait_for()
    assert "토큰이 맞지 않습니다" in await token_page.get_by_role("alert").inner_text()
    token_daemon.clock.advance(2)  # past the throttle's first delay
    await token_page.get_by_label("토큰").fill(TOKEN)
    await token_page.get_by_role("button", name="로그인").click()
    await token_page.wait_for_url(token_daemon.url + "/status")
    await token_page.get_by_role("link", name="문의함").click()
    await token_page.wait_for_url(token_daemon.url + "/")
    assert await token_page.get_by_role("button", name="로그아웃").is_visible()
    cookies = await token_page.context.cookies()
    [session] = [c for c in cookies if c["name"] == "inqd_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert await token_page.evaluate("document.cookie") == ""  # the page's scripts cannot read the session
    await token_page.screenshot(path=str(screenshot_path("login-inbox")))
    await token_page.get_by_role("button", name="로그아웃").click()  # the page's own form post, Origin and all
    await token_page.wait_for_url(token_daemon.url + "/login")
    await token_page.goto(token_daemon.url + "/status")
    assert token_page.url.startswith(token_daemon.url + "/login")
    assert _only_here(token_page.requests, token_daemon.url) == []
    assert [e for e in token_page.errors if "401" not in e] == []  # only the wrong token's 401


async def test_no_page_is_refused_anything_by_its_csp_or_loads_from_another_host(
    token_page: Any, token_daemon: WebDaemon
) -> None:
    await token_page.goto(token_daemon.url + "/login")
    await token_page.get_by_label("토큰").fill(TOKEN)
    await token_page.get_by_role("button", name="로그인").click()
    await token_page.wait_for_url(token_daemon.url + "/")
    for path in PAGES:
        await token_page.goto(token_daemon.url + path)
        await token_page.wait_for_load_state("load")
    await token_page.goto(token_daemon.url + "/status")
    assert token_page.errors == []
    assert _only_here(token_page.requests, token_daemon.url) == []
    # The listener does hear a refusal: an inline script is refused by the policy, and says so on the console.
    await token_page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1'; "
        "document.body.append(s); }"
    )
    await token_page.wait_for_function("() => true")
    assert await token_page.evaluate("window.ran === undefined")
    assert any("Content Security Policy" in error for error in token_page.errors)
