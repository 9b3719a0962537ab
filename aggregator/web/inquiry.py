"""The inquiry page (to be built)."""

from __future__ import annotations

from aiohttp import web

from aggregator.web.pages import Page, Routes


def register(routes: Routes) -> None:
    """This page's routes."""

    async def show(page: Page) -> web.StreamResponse:
        return page.html("placeholder.html", title="inquiry")

    routes.get("/inquiries/{id}", show)
