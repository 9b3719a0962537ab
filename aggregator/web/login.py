"""The login page (only when `[admin] token` is set) and logout."""

from __future__ import annotations

import hmac
import math

from aiohttp import web

from aggregator.web.pages import Page, Routes, environment, redirect, respond, set_session_cookie
from aggregator.web.security import SESSION_COOKIE, local_path, peer_of, same_origin


def _login_page(*, status: int = 200, error: str = "", target: str = "/", retry_s: int = 0) -> web.StreamResponse:
    text = environment().get_template("login.html").render(error=error, target=target, retry_s=retry_s)
    response = web.Response(text=text, status=status, content_type="text/html", charset="utf-8")
    if retry_s:
        response.headers["Retry-After"] = str(retry_s)
    return respond(response)


def register(routes: Routes) -> None:
    """GET/POST /login and POST /logout."""
    ctx = routes.ctx

    async def show(request: web.Request) -> web.StreamResponse:
        if ctx.token is None:
            raise web.HTTPSeeOther("/")
        return _login_page(target=local_path(request.query.get("next", "/")) or "/")

    async def submit(request: web.Request) -> web.StreamResponse:
        if ctx.token is None:
            raise web.HTTPSeeOther("/")
        if not same_origin(request):
            return respond(web.Response(status=403, text="다른 사이트에서 보낸 요청은 받지 않습니다."))
        form = await request.post()
        target = local_path(str(form.get("next", "/"))) or "/"
        peer, now = peer_of(request), ctx.clock.now()
        wait = ctx.throttle.wait(peer, now)
        if wait is not None:
            seconds = math.ceil(wait.total_seconds())
            return _login_page(status=429, error=f"{seconds}초 뒤에 다시 해 보세요.", target=target, retry_s=seconds)
        given = str(form.get("token", "")).encode("utf-8", "surrogatepass")
        if not hmac.compare_digest(given, ctx.token.encode("utf-8", "surrogatepass")):
            ctx.throttle.failed(peer, now)
            return _login_page(status=401, error="토큰이 맞지 않습니다.", target=target)
        ctx.throttle.succeeded(peer)
        session = ctx.sessions.create(now)
        response = redirect(target)
        set_session_cookie(request, response, session)
        return response

    async def logout(page: Page) -> web.StreamResponse:
        ctx.sessions.drop(page.session.id)
        response = redirect("/login" if ctx.token else "/")
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    routes.open("GET", "/login", show)  # the login form is the one page without a session
    routes.open("POST", "/login", submit)
    routes.post("/logout", logout)
