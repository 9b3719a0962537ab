"""The skeleton serves a page in a real Chromium, from this host only."""

from __future__ import annotations

from typing import Any

from tests.web.conftest import WebDaemon


async def test_front_page_opens_in_chromium(page: Any, web_daemon: WebDaemon) -> None:
    await page.goto(web_daemon.url + "/")
    assert await page.title() != ""
    assert all(url.startswith(web_daemon.url) or url.startswith("data:") for url in page.requests)
