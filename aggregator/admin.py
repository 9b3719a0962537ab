"""The admin HTTP server (/healthz, /metrics), embedded in the daemon's event loop and loopback-only by default."""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
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
# POST here wakes the answer sender: `inqd answer` approves in another process, then calls it.
ANSWER_WAKE_PATH = "/answers/wake"
# The poke is a courtesy (the sender finds the approval in the store within seconds anyway): never wait long.
_POKE_TIMEOUT_S = 0.5


def requires_token(host: str) -> bool:
    """Whether binding `host` exposes the server beyond this machine, so a bearer token is mandatory."""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a hostname or "" (all interfaces): we cannot prove it stays local
        return True


def _signed(request: web.Request, token: str, action: str, inquiry_id: int, now: datetime) -> bool:
    expires, signature = request.query.get("exp", ""), request.query.get("sig", "")
    if not expires.isdigit() or not signature:
        return False
    return verify(token, action, inquiry_id, int(expires), signature, now=now)


def _json(status: int, body: Mapping[str, Any]) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body, ensure_ascii=False), content_type="application/json", charset="utf-8"
    )


class AdminServer:
    """Serves /healthz (open) and /metrics (token-guarded when a token is set) on an aiohttp runner in our loop."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 9464,
        token: str | None,
        health: HealthCheck,
        metrics: Metrics,
        refresh_metrics: Callable[[], Awaitable[None]],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        # An empty token would make "Authorization: Bearer " a valid credential: treat it as no token at all.
        self._token = token.encode("utf-8", "surrogatepass") if token else None
        if self._token is None and requires_token(host):
            raise ValueError(f"admin: binding {host} needs a token (or bind a loopback address such as 127.0.0.1)")
        self._host = host
        self._port = port
        self._health = health
        self._metrics = metrics
        self._refresh_metrics = refresh_metrics
        self._app = web.Application()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None  # the bound port once started (port=0 picks a free one)
        self.add_route("GET", "/healthz", self._healthz, needs_token=False)  # probes (Docker HEALTHCHECK) have no token
        self.add_route("GET", "/metrics", self._metrics_page)
        self._apply: ActionHandler | None = None
        self._mount_later: Callable[[RouteAdder], None] | None = None
        self._later_routes: web.UrlDispatcher | None = None
        self._now = now  # action links expire: their check reads the daemon's clock

    def enable_actions(self, apply: ActionHandler) -> None:
        """Serve POST /actions/{action}/{inquiry_id} for the phone's buttons (before start()).

        A request must carry a link signed with the token (ntfy buttons) or the token itself (scripts); without
        a configured token every action is refused, so nothing can act on inquiries from an open port.
        """
        self._apply = apply
        self.add_route("POST", "/actions/{action}/{inquiry_id}", self._action, needs_token=False)

    def enable_answer_wake(self, wake: Callable[[], None]) -> None:
        """Serve POST /answers/wake (token-guarded when a token is set): an approval was committed, send now.

        The request carries nothing: the sender reads what to send from the store, so a forged or lost poke can
        only move the next store check earlier or leave it to the idle check.
        """

        async def woken(request: web.Request) -> web.StreamResponse:
            wake()
            return _json(202, {"ok": True})

        self.add_route("POST", ANSWER_WAKE_PATH, woken)

    def add_route(self, method: str, path: str, handler: Handler, *, needs_token: bool = True) -> None:
        """Register a route before start(); token-guarded unless needs_token is False."""
        if self._runner is not None:
            raise RuntimeError("admin: add_route after start()")
        self._app.router.add_route(method, path, self._guarded(handler) if needs_token else handler)

    def add_routes_on_first_use(self, mount: Callable[[RouteAdder], None]) -> None:
        """Let `mount(add_route)` register its routes when the first request that no route of ours takes comes
        (before start()). The web inbox comes this way: a daemon whose pages nobody opens never imports Jinja2,
        the pages and their helpers (bench.idle: ~4 MiB)."""
        if self._runner is not None:
            raise RuntimeError("admin: add_routes_on_first_use after start()")
        self._mount_later = mount
        # The catch-all is registered last, so it is tried after every other route.
        self._app.router.add_route("*", "/{path_of_later_routes:.*}", self._serve_later_routes)

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

    async def start(self) -> int:
        """Bind and serve; returns the bound port (useful with port=0)."""
        if self._runner is not None:
            raise RuntimeError("admin: already started")
        # access_log=None: aiohttp's access log would write request lines, query strings included, to our logs.
        runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        self._runner = runner
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except BaseException:
            await self.aclose()
            raise
        port = int(runner.addresses[0][1])
        self.port = port
        log.info("admin_listening", host=self._host, port=port)
        return port

    async def aclose(self) -> None:
        """Stop serving and release the socket; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

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


def poke_answer_sender(host: str, port: int, token: str | None, *, timeout_s: float = _POKE_TIMEOUT_S) -> bool:
    """Ask the running daemon's sender (admin API at host:port) to look at the store now; False when no daemon
    answered (it finds the approval at its idle check anyway)."""
    # A daemon bound to every interface is reachable on loopback too; a token, when set, goes along.
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    headers: dict[bytes, bytes] = {}
    if token:
        # Bytes: a token need not be latin-1, and the server compares its UTF-8 bytes.
        headers[b"Authorization"] = f"Bearer {token}".encode("utf-8", "surrogatepass")
    authority = f"[{host}]" if ":" in host else host
    try:
        response = httpx.post(f"http://{authority}:{port}{ANSWER_WAKE_PATH}", headers=headers, timeout=timeout_s)
    except httpx.HTTPError:
        return False
    return response.status_code == 202
