"""The web inbox: server-rendered pages on the daemon's admin server (aiohttp + Jinja2, one small script).

`mount` adds the pages to an AdminServer before it starts. Each page module registers its own routes:
`inbox` (the open inquiries), `inquiry` (one inquiry, its timeline and the answer composer), `hours` (quiet and
work hours, days off), `status` (accounts, channels, outbox), `kakao` (the
Kakao login of a kakao channel, a button on the status page). Security lives in `security.py` and `pages.py`.
"""

from __future__ import annotations

from collections.abc import Callable

from aggregator.web import actions, hours, inbox, inquiry, kakao, login, report, status
from aggregator.web.context import WebContext
from aggregator.web.pages import Routes, static_file


def mount(add_route: Callable[..., None], ctx: WebContext) -> None:
    """Register every page of the web inbox through the admin server's `add_route`."""
    routes = Routes(add_route, ctx)
    routes.open("GET", "/static/{name}", static_file)
    login.register(routes)
    for page in (inbox, inquiry, actions, hours, status, report, kakao):
        page.register(routes)
