"""The web inbox under test: a whole daemon (Coupang sandbox behind a MockTransport, fake clock) with its admin
server on a free loopback port, an httpx client with a session, and a real headless Chromium (Debian's package)
driven by Playwright.

The fake clock stands at the real time when the test starts, so the page's countdowns (which run on the
browser's clock, corrected by the server's `data-now`) and the daemon's deadlines agree.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from aggregator.admin import AdminServer
from aggregator.daemon import Daemon
from aggregator.metrics import Metrics
from aggregator.settings import Settings
from connectors.sandbox import CoupangSandbox
from core.models import KST
from tests.conftest import MakeSettings, quiet_sink
from tests.fakes import FakeClock

CHROMIUM = os.environ.get("INQD_CHROMIUM", "/usr/bin/chromium")
# Where the browser tests leave their screenshots (two of them are in the README).
SCREENSHOTS = Path(os.environ.get("INQD_SCREENSHOTS", Path(__file__).resolve().parents[2] / "build" / "screenshots"))
# As the machine's own probe starts it: no background requests to Google's hosts from a closed network.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@dataclass
class WebDaemon:
    """A daemon serving the web inbox: its base URL, its sandbox, its clock."""

    daemon: Daemon
    admin: AdminServer
    sandbox: CoupangSandbox
    clock: FakeClock
    url: str

    async def poll(self) -> None:
        """One round of everything (poll, timers, sends, deliveries), as the running daemon would do."""
        await self.daemon.run_once()


async def start_web_daemon(settings: Settings, clock: FakeClock, sandbox: CoupangSandbox) -> WebDaemon:
    """Build the daemon on `settings` (its account polled through `sandbox`) and serve its web inbox."""
    transport = httpx.MockTransport(sandbox.handler)
    daemon = await Daemon.build(settings, clock=clock, transport_for=lambda _: transport, rng=random.Random(3))
    config = settings.admin
    admin = AdminServer(
        host=config.host,
        port=0,
        token=config.token.get_secret_value() if config.token else None,
        health=daemon.watch.health,
        metrics=Metrics(),
        refresh_metrics=_nothing,
        now=clock.now,
    )
    admin.add_routes_on_first_use(daemon.mount_web)  # as the daemon does: the pages mount on the first request
    port = await admin.start()
    return WebDaemon(daemon, admin, sandbox, clock, f"http://127.0.0.1:{port}")


async def _nothing() -> None:
    return None


@pytest.fixture
def real_clock() -> FakeClock:
    """A fake clock standing at this moment (whole seconds): the browser's clock and the daemon's agree."""
    return FakeClock(datetime.now(KST).replace(microsecond=0))


@pytest.fixture
def sandbox(real_clock: FakeClock) -> CoupangSandbox:
    """The Coupang sandbox the daemon polls."""
    return CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=real_clock.now)


@pytest.fixture
async def web_daemon(
    tmp_path: Path, real_clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> AsyncIterator[WebDaemon]:
    """A daemon with no quiet hours and no token, its inbox on 127.0.0.1."""
    running = await start_web_daemon(make_settings(quiet_sink(tmp_path), quiet_hours=()), real_clock, sandbox)
    try:
        yield running
    finally:
        await running.admin.aclose()
        await running.daemon.aclose()


@pytest.fixture
async def client(web_daemon: WebDaemon) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client of the inbox that has opened the front page (so it holds a session cookie)."""
    async with httpx.AsyncClient(base_url=web_daemon.url, follow_redirects=False) as http:
        await http.get("/")
        yield http


def csrf_of(html: str) -> str:
    """The CSRF token a page carries (its meta tag)."""
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def chromium_available() -> bool:
    """Whether Debian's Chromium is installed (`.ci/run` installs it; a developer machine may lack it)."""
    return shutil.which(CHROMIUM) is not None or Path(CHROMIUM).is_file()


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """A real headless Chromium (Debian's /usr/bin/chromium) through Playwright; skipped only where none is
    installed outside CI (CI installs it, and there a missing browser fails instead)."""
    if not chromium_available():
        if os.environ.get("INQD_REQUIRE_CHROMIUM"):  # `make test` installs it: missing there is a failure
            pytest.fail(f"no Chromium at {CHROMIUM}: .ci/run installs Debian's chromium package")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Any, web_daemon: WebDaemon) -> AsyncIterator[Any]:
    """A desktop-sized page that records every request it makes (none may leave 127.0.0.1)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 860}, locale="ko-KR")
    opened = await context.new_page()
    opened.requests = []  # type: ignore[attr-defined]
    opened.on("request", lambda request: opened.requests.append(request.url))  # type: ignore[attr-defined]
    try:
        yield opened
    finally:
        await context.close()


def screenshot_path(name: str) -> Path:
    """Where a test saves screenshot `name`.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
