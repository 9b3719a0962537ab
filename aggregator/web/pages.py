"""Rendering pages and guarding them: Jinja2 templates (autoescaped), the session and CSRF checks every route goes
through, the static files. Page modules (inbox, inquiry, hours, status) register their routes through `Routes`."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web

from aggregator.web.context import WebContext
from aggregator.web.security import (
    CSRF_FIELD,
    CSRF_HEADER,
    DRAWING_CONTENT_SECURITY_POLICY,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    SESSION_LIFETIME,
    Session,
    csrf_ok,
    is_local_request,
    same_origin,
)

PageHandler = Callable[["Page"], Awaitable[web.StreamResponse]]
_STATIC = resources.files("aggregator.web") / "static"
_STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml", ".png": "image/png"}
_NAV = (
    ("inbox", "/", "문의함"),
    ("hours", "/hours", "시간·휴무"),
    ("status", "/status", "상태"),
    ("report", "/report", "리포트"),
)


@cache
def environment() -> jinja2.Environment:
    """The templates, HTML-escaped by default (buyers write `<script>` too)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("aggregator.web", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = static_url
    env.globals["nav_items"] = _NAV
    return env


@cache
def _static_bytes(name: str) -> bytes:
    return (_STATIC / name).read_bytes()


def static_url(name: str) -> str:
    """`/static/NAME?v=HASH`: cached for a year by the browser, a new release changes the URL."""
    return f"/static/{name}?v={hashlib.sha256(_static_bytes(name)).hexdigest()[:10]}"


@dataclass
class Page:
    """One request to a page: the request, the daemon's parts, the session, and whether buyer data is shown."""

    request: web.Request
    ctx: WebContext
    session: Session
    local: bool

    @property
    def masked(self) -> bool:
        """Whether buyer data must be masked on this page (reached through the network)."""
        return not self.local and not self.ctx.show_buyer_data_remote

    def html(self, template: str, *, status: int = 200, **values: Any) -> web.Response:
        """Render `template` with the page's common values (CSRF token, masked flag, the clock)."""
        text = (
            environment()
            .get_template(template)
            .render(
                csrf=self.session.csrf,
                masked=self.masked,
                now=self.ctx.clock.now(),
                logged_in=self.ctx.token is not None,
                **values,
            )
        )
        response = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
        respond(response)
        return response

    def fragment(self, template: str, **values: Any) -> web.Response:
        """A piece of a page (what the inbox's script swaps in), rendered like a page."""
        return self.html(template, **values)


def respond(response: web.StreamResponse) -> web.StreamResponse:
    """Add the security headers; nothing with buyer data is cached."""
    response.headers.update(SECURITY_HEADERS)
    if response.content_type == "image/svg+xml":
        response.headers["Content-Security-Policy"] = DRAWING_CONTENT_SECURITY_POLICY
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def redirect(target: str) -> web.StreamResponse:
    """A 303 to `target` as a response (aiohttp deprecates returning its HTTPException objects)."""
    return respond(web.Response(status=303, headers={"Location": target}))


def _error(status: int, text: str) -> web.Response:
    response = web.Response(status=status, text=text, content_type="text/plain", charset="utf-8")
    respond(response)
    return response


def session_of(request: web.Request, ctx: WebContext) -> Session | None:
    """The request's live session, if it has one."""
    return ctx.sessions.get(request.cookies.get(SESSION_COOKIE), ctx.clock.now())


def set_session_cookie(request: web.Request, response: web.StreamResponse, session: Session) -> None:
    """HttpOnly, SameSite=Strict; Secure when the browser came over HTTPS (a proxy in front says so)."""
    secure = request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"
    response.set_cookie(
        SESSION_COOKIE,
        session.id,
        httponly=True,
        samesite="Strict",
        secure=secure,
        path="/",
        max_age=int(SESSION_LIFETIME.total_seconds()),
    )


class Routes:
    """Registers page routes on the admin server's app, each behind the session and CSRF checks."""

    def __init__(self, add_route: Callable[..., None], ctx: WebContext) -> None:
        self._add_route = add_route
        self.ctx = ctx

    def open(self, method: str, path: str, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> None:
        """A route without the session check (the login form, static files): it guards itself."""
        self._add_route(method, path, handler, needs_token=False)

    def get(self, path: str, handler: PageHandler) -> None:
        """A page anyone with a session may read."""
        self._add_route("GET", path, self._guard(handler, changes=False), needs_token=False)

    def post(self, path: str, handler: PageHandler) -> None:
        """A state change: needs a session, its CSRF token, and a same-origin request."""
        self._add_route("POST", path, self._guard(handler, changes=True), needs_token=False)

    def _guard(self, handler: PageHandler, *, changes: bool) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        ctx = self.ctx

        async def guarded(request: web.Request) -> web.StreamResponse:
            local = is_local_request(request)
            if ctx.token is None and not local:
                # No token: this machine only. A foreign Host on loopback is a DNS-rebinding page, not the seller.
                return _error(403, "이 주소로는 열 수 없습니다. 이 컴퓨터에서 http://127.0.0.1 로 여세요.")
            session = session_of(request, ctx)
            fresh = False
            if session is None:
                if ctx.token is not None:
                    if changes or request.headers.get("Accept", "").startswith("application/json"):
                        return _error(401, "로그인이 필요합니다.")
                    target = "/login" if request.path == "/" else f"/login?{urlencode({'next': request.path_qs})}"
                    return redirect(target)
                if changes:
                    return _error(403, "세션이 없습니다. 페이지를 새로 고친 뒤 다시 하세요.")
                session, fresh = ctx.sessions.create(ctx.clock.now()), True
            if changes:
                if not same_origin(request):
                    return _error(403, "다른 사이트에서 보낸 요청은 받지 않습니다.")
                form = await request.post() if request.content_type.endswith("form-urlencoded") else {}
                given = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
                if not csrf_ok(session, given if isinstance(given, str) else None):
                    return _error(403, "CSRF 토큰이 없거나 맞지 않습니다. 페이지를 새로 고친 뒤 다시 하세요.")
            response = await handler(Page(request, ctx, session, local))
            if fresh:
                set_session_cookie(request, response, session)
            return respond(response)

        return guarded


async def static_file(request: web.Request) -> web.StreamResponse:
    """The vendored CSS and scripts, from the package (no CDN, no build step)."""
    name = request.match_info["name"]
    suffix = name[name.rfind(".") :] if "." in name else ""
    if "/" in name or name.startswith(".") or suffix not in _STATIC_TYPES:
        raise web.HTTPNotFound()
    try:
        body = _static_bytes(name)
    except (FileNotFoundError, IsADirectoryError):
        raise web.HTTPNotFound() from None
    response = web.Response(body=body, content_type=_STATIC_TYPES[suffix])
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    response.headers.update(SECURITY_HEADERS)
    return response
