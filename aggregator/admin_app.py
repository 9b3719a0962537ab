"""The admin server's aiohttp application: /healthz, /metrics, the phone's actions, the answer poke, added routes
and the web inbox mounted on its first request.

aggregator/admin.py binds the listening socket at start and builds this only when the first connection arrives: a
daemon that nobody asks anything never imports aiohttp (~10 MiB, bench.idle)."""

from __future__ import annotations

import hmac
import json
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web

from aggregator.metrics import Metrics
from aggregator.notifiers.action_links import verify

log = structlog.get_logger("inqd.admin")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HealthCheck = Callable[[], Awaitable[tuple[bool, Mapping[str, Any]]]]
# add_route(method, path, handler, *, needs_token=True), as AdminServer.add_route
RouteAdder = Callable[..., None]
# (action, inquiry id, actor) -> the short reply shown on the phone
ActionHandler = Callable[[str, int, str], Awaitable[str]]

# A slow scraper must not hold up the daemon's shutdown for aiohttp's default 60 s.
_SHUTDOWN_TIMEOUT_S = 5.0
# aiohttp's own default for its sites (TCPSite served with it before the start became lazy).
_BACKLOG = 128


def _signed(request: web.Request, token: str, action: str, inquiry_id: int, now: datetime) -> bool:
    expires, signature = request.query.get("exp", ""), request.query.get("sig", "")
    if not expires.isdigit() or not signature:
        return False
    return verify(token, action, inquiry_id, int(expires), signature, now=now)


def _json(status: int, body: Mapping[str, Any]) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body, ensure_ascii=False), content_type="application/json", charset="utf-8"
    )


class AdminApp:
    """The routes an AdminServer was given, on an aiohttp Application, served on sockets it already listens on."""

    def __init__(
        self,
        *,
        token: bytes | None,
        health: HealthCheck,
        metrics: Metrics,
        refresh_metrics: Callable[[], Awaitable[None]],
        now: Callable[[], datetime],
    ) -> None:
        self._token = token
        self._health = health
        self._metrics = metrics
        self._refresh_metrics = refresh_metrics
        self._app = web.Application()
        self.add_route("GET", "/healthz", self._healthz, needs_token=False)  # probes (Docker HEALTHCHECK) have no token
        self.add_route("GET", "/metrics", self._metrics_page)
        self._apply: ActionHandler | None = None
        self._mount_later: Callable[[RouteAdder], None] | None = None
        self._later_routes: web.UrlDispatcher | None = None
        self._now = now  # action links expire: their check reads the daemon's clock

    def enable_actions(self, apply: ActionHandler) -> None:
        """Serve POST /actions/{action}/{inquiry_id} for the phone's buttons (AdminServer.enable_actions)."""
        self._apply = apply
        self.add_route("POST", "/actions/{action}/{inquiry_id}", self._action, needs_token=False)

    def enable_answer_wake(self, path: str, wake: Callable[[], None]) -> None:
        """Serve POST `path`, token-guarded when a token is set: wake the answer sender (AdminServer's docstring)."""

        async def woken(request: web.Request) -> web.StreamResponse:
            wake()
            return _json(202, {"ok": True})

        self.add_route("POST", path, woken)

    def add_route(self, method: str, path: str, handler: Handler, *, needs_token: bool = True) -> None:
        """Register a route; token-guarded unless needs_token is False."""
        self._app.router.add_route(method, path, self._guarded(handler) if needs_token else handler)

    def add_routes_on_first_use(self, mount: Callable[[RouteAdder], None]) -> None:
        """Let `mount(add_route)` register its routes on the first request that no route of ours takes."""
        self._mount_later = mount
        # The catch-all is registered last, so it is tried after every other route.
        self._app.router.add_route("*", "/{path_of_later_routes:.*}", self._serve_later_routes)

    async def serve(self, sockets: Sequence[socket.socket]) -> web.AppRunner:
        """Serve on `sockets` (bound and listening: connections waiting in their backlog are accepted now); the
        runner's cleanup() stops serving and closes them."""
        # access_log=None: aiohttp's access log would write request lines, query strings included, to our logs.
        runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        try:
            for sock in sockets:
                await web.SockSite(runner, sock, backlog=_BACKLOG).start()
        except BaseException:
            await runner.cleanup()
            raise
        return runner

    async def _serve_later_routes(self, request: web.Request) -> web.StreamResponse:
        routes = self._later_routes
        if routes is None and self._mount_later is not None:
            routes = web.UrlDispatcher()  # the app's own router is frozen once it serves

            def add_route(method: str, path: str, handler: Handler, *, needs_token: bool = True) -> None:
                routes.add_route(method, path, self._guarded(handler) if needs_token else handler)

            self._mount_later(add_route)
            self._later_routes = routes
        if routes is None:
            raise web.HTTPNotFound()
        resolved = await routes.resolve(request)  # a miss resolves to a handler raising 404 or 405
        # The pages read their path's parts (request.match_info["id"]): ours replace the catch-all's one part.
        request.match_info.clear()
        request.match_info.update(resolved)
        return await resolved.handler(request)

    def _authorized(self, request: web.Request) -> bool:
        if self._token is None:
            return True
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(credentials.strip().encode("utf-8", "surrogatepass"), self._token)

    def _guarded(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if not self._authorized(request):
                response = _json(401, {"error": "unauthorized"})
                response.headers["WWW-Authenticate"] = "Bearer"
                return response
            return await handler(request)

        return guarded

    async def _action(self, request: web.Request) -> web.StreamResponse:
        action, raw_id = request.match_info["action"], request.match_info["inquiry_id"]
        peer = request.remote or "?"
        if self._token is None or self._apply is None or not raw_id.isdigit():
            log.warning("phone_action_refused", action=action, peer=peer, reason="actions need admin.token")
            return _json(403, {"ok": False, "error": "forbidden"})
        inquiry_id = int(raw_id)
        token = self._token.decode("utf-8", "surrogatepass")
        signed = _signed(request, token, action, inquiry_id, self._now())
        if not (signed or self._authorized(request)):
            log.warning("phone_action_refused", action=action, inquiry=inquiry_id, peer=peer, reason="bad signature")
            return _json(403, {"ok": False, "error": "forbidden"})
        try:
            reply = await self._apply(action, inquiry_id, "ntfy:link" if signed else "admin:token")
        except ValueError as err:  # an unknown action, or the inquiry cannot take it (answered, missing)
            return _json(400, {"ok": False, "error": str(err)})
        log.info("phone_action", action=action, inquiry=inquiry_id, via="link" if signed else "token")
        return _json(200, {"ok": True, "reply": reply})

    async def _healthz(self, request: web.Request) -> web.StreamResponse:
        try:
            healthy, body = await self._health()
        except Exception:
            log.exception("admin_health_failed")
            return _json(503, {"ok": False, "error": "health check failed"})
        return _json(200 if healthy else 503, body)

    async def _metrics_page(self, request: web.Request) -> web.StreamResponse:
        try:
            await self._refresh_metrics()
        except Exception:
            # Stale gauges would look healthy; an error tells the scraper (and `up`-style alerts) the truth.
            log.exception("admin_metrics_refresh_failed")
            return _json(500, {"error": "metrics refresh failed"})
        body, content_type = self._metrics.exposition()
        # content_type= refuses parameters (version, charset): pass the full header value as-is.
        return web.Response(body=body, headers={"Content-Type": content_type})
