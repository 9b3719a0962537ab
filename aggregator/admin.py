"""The admin HTTP server (/healthz, /metrics, the phone's actions, the web inbox), embedded in the daemon's event
loop and loopback-only by default.

start() binds and listens at once: the port is taken, a bind error is raised at start, and `inqd status` or a
health probe can connect at once. aiohttp and the application (aggregator/admin_app.py) come with the first
connection, which waits in the socket's backlog until aiohttp serves that same socket and accepts it; aiohttp
parses every request, the first too. A daemon that nobody asks anything keeps ~10 MiB less (bench.idle).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
import structlog

if TYPE_CHECKING:
    from aiohttp import web

    from aggregator.admin_app import ActionHandler, AdminApp, Handler, HealthCheck, RouteAdder
    from aggregator.metrics import Metrics

log = structlog.get_logger("inqd.admin")

# POST here wakes the answer sender: `inqd answer` approves in another process, then calls it.
ANSWER_WAKE_PATH = "/answers/wake"
# The poke is a courtesy (the sender finds the approval in the store within seconds anyway): never wait long.
_POKE_TIMEOUT_S = 0.5
# aiohttp's default for its sites, which served the socket from the start before it became lazy.
_BACKLOG = 128


def requires_token(host: str) -> bool:
    """Whether binding `host` exposes the server beyond this machine, so a bearer token is mandatory."""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:  # a hostname or "" (all interfaces): we cannot prove it stays local
        return True


async def listen(host: str, port: int) -> list[socket.socket]:
    """Sockets bound to host:port and listening, not yet served: one per address `host` resolves to ("" is every
    interface), bound as aiohttp's TCPSite binds them; an OSError (the port in use) is raised here."""
    # asyncio resolves and binds (SO_REUSEADDR, IPV6_V6ONLY, its error messages) but, told not to serve, does not
    # listen: we keep duplicates of its sockets and close its server, which never accepted anything.
    bound = await asyncio.get_running_loop().create_server(asyncio.Protocol, host, port, start_serving=False)
    try:
        sockets = [sock.dup() for sock in bound.sockets]
    finally:
        bound.close()
    for sock in sockets:
        sock.listen(_BACKLOG)
    return sockets


def _import_admin_app() -> type[AdminApp]:
    from aggregator.admin_app import AdminApp  # aiohttp with it: the reason the start is lazy

    return AdminApp


class AdminServer:
    """Serves /healthz (open) and /metrics (token-guarded when a token is set) in our loop; aiohttp is imported and
    the routes are built when the first connection arrives."""

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
        self._now = now  # action links expire: their check reads the daemon's clock
        # What the routes are to be, in the order given: replayed on the application the first connection builds.
        self._setup: list[Callable[[AdminApp], None]] = []
        self._started = False
        self._sockets: list[socket.socket] = []
        self._handover: asyncio.Task[web.AppRunner | None] | None = None
        self.port: int | None = None  # the bound port once started (port=0 picks a free one)

    def enable_actions(self, apply: ActionHandler) -> None:
        """Serve POST /actions/{action}/{inquiry_id} for the phone's buttons (before start()).

        A request must carry a link signed with the token (ntfy buttons) or the token itself (scripts); without
        a configured token every action is refused, so nothing can act on inquiries from an open port.
        """
        self._before_start("enable_actions")
        self._setup.append(lambda app: app.enable_actions(apply))

    def enable_answer_wake(self, wake: Callable[[], None]) -> None:
        """Serve POST /answers/wake (token-guarded when a token is set): an approval was committed, send now.

        The request carries nothing: the sender reads what to send from the store, so a forged or lost poke can
        only move the next store check earlier or leave it to the idle check.
        """
        self._before_start("enable_answer_wake")
        self._setup.append(lambda app: app.enable_answer_wake(ANSWER_WAKE_PATH, wake))

    def add_route(self, method: str, path: str, handler: Handler, *, needs_token: bool = True) -> None:
        """Register a route before start(); token-guarded unless needs_token is False."""
        self._before_start("add_route")
        self._setup.append(lambda app: app.add_route(method, path, handler, needs_token=needs_token))

    def add_routes_on_first_use(self, mount: Callable[[RouteAdder], None]) -> None:
        """Let `mount(add_route)` register its routes when the first request that no route of ours takes comes
        (before start()). The web inbox comes this way: a daemon whose pages nobody opens never imports Jinja2,
        the pages and their helpers (bench.idle: ~4 MiB)."""
        self._before_start("add_routes_on_first_use")
        self._setup.append(lambda app: app.add_routes_on_first_use(mount))

    def _before_start(self, what: str) -> None:
        if self._started:
            raise RuntimeError(f"admin: {what} after start()")

    async def start(self) -> int:
        """Bind and listen; returns the bound port (useful with port=0). Serving begins with the first connection."""
        if self._started:
            raise RuntimeError("admin: already started")
        self._sockets = await listen(self._host, self._port)
        self._started = True
        loop = asyncio.get_running_loop()
        for sock in self._sockets:
            loop.add_reader(sock.fileno(), self._first_connection)
        port = int(self._sockets[0].getsockname()[1])
        self.port = port
        log.info("admin_listening", host=self._host, port=port)
        return port

    def _first_connection(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self._sockets:
            loop.remove_reader(sock.fileno())  # from here on aiohttp's server accepts, on every socket
        self._handover = loop.create_task(self._serve(), name="admin-first-connection")

    async def _serve(self) -> web.AppRunner | None:
        try:
            # Importing aiohttp takes about 0.5 s of CPU: in a worker thread, the loop meanwhile polls and sends (it
            # stalled for that long when imported in the loop).
            admin_app = await asyncio.to_thread(_import_admin_app)
            app = admin_app(
                token=self._token,
                health=self._health,
                metrics=self._metrics,
                refresh_metrics=self._refresh_metrics,
                now=self._now,
            )
            for step in self._setup:
                step(app)
            return await app.serve(self._sockets)
        except Exception:
            # Closed sockets refuse the waiting clients instead of leaving them hanging in the backlog.
            log.exception("admin_serve_failed", host=self._host, port=self.port)
            for sock in self._sockets:
                sock.close()
            return None

    async def aclose(self) -> None:
        """Stop serving and release the socket; safe to call twice, and before, during or after the first
        connection."""
        handover, self._handover = self._handover, None
        sockets, self._sockets = self._sockets, []
        if handover is None:
            loop = asyncio.get_running_loop()
            for sock in sockets:
                if sock.fileno() != -1:
                    loop.remove_reader(sock.fileno())
        else:
            # The handover (imports, then aiohttp's setup) is short: let it finish, then stop what it started,
            # rather than unwind a half-built runner.
            runner = await handover
            if runner is not None:
                await runner.cleanup()  # stops aiohttp's servers, which close the sockets
        for sock in sockets:
            sock.close()


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
