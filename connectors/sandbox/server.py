"""Serve a sandbox handler (`httpx.Request -> httpx.Response`) over real HTTP on 127.0.0.1.

Uses the stdlib ThreadingHTTPServer in a background thread: the HTTP parsing is the stdlib's, this module
only converts requests and responses. The request target is passed on byte for byte, because signatures
(Coupang's HMAC) cover the path and query exactly as sent.

TIMEOUT faults: when the handler raises `httpx.TimeoutException`, the server holds the connection open
without answering for `timeout_hold_s` (default 30 s, far beyond any sane client timeout), so the client
sees a genuine read timeout; then it closes the connection without a response. `stop()` releases held
connections at once.

By default every response closes its connection (HTTP/1.0). `keep_alive=True` serves HTTP/1.1 and keeps them
open, as the marketplaces' gateways do; `connections_accepted` counts the TCP connections accepted either way.
"""

from __future__ import annotations

import ipaddress
import logging
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

Handler = Callable[[httpx.Request], httpx.Response]

_log = logging.getLogger(__name__)
# Computed by the server from the body it writes, or meaningless between two hops.
_HOP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "date", "server"})


class _Server(ThreadingHTTPServer):
    def __init__(self, address: tuple[str, int], handler: Handler, timeout_hold_s: float, keep_alive: bool) -> None:
        super().__init__(address, _KeepAliveRequestHandler if keep_alive else _RequestHandler)
        self.sandbox_handler = handler
        self.timeout_hold_s = timeout_hold_s
        self.stopping = threading.Event()
        self.connections_accepted = 0  # written by the serving thread only

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections_accepted += 1
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up before its response is written (a daemon stopping mid-poll, a timeout) is what a
        # real gateway sees every day: not worth socketserver's traceback on stderr, which the demo shares.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._forward()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _forward(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.send_error(411, "Length Required")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        host, port = self.server.server_address[:2]
        # http.server decodes the request line as latin-1, so encoding back restores the exact bytes.
        url = httpx.URL(scheme="http", host=str(host), port=int(port), raw_path=self.path.encode("latin-1"))
        request = httpx.Request(self.command, url, headers=list(self.headers.items()), content=body)
        try:
            response = self.server.sandbox_handler(request)
            response.read()
        except httpx.TimeoutException:
            self.server.stopping.wait(self.server.timeout_hold_s)
            self.close_connection = True
            return
        except Exception:  # noqa: BLE001 - a server thread's boundary: log, answer 500, keep serving
            _log.exception("sandbox handler failed")
            self.send_error(500, "Sandbox handler failed")
            return
        self.send_response(response.status_code)
        for name, value in response.headers.multi_items():
            if name.lower() not in _HOP_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.content)

    def log_message(self, format: str, *args: object) -> None:
        _log.debug("sandbox %s", format % args)


class _KeepAliveRequestHandler(_RequestHandler):
    protocol_version = "HTTP/1.1"  # answers carry Content-Length, so the connection stays open for the next one
    timeout = 600.0  # an idle connection's thread ends at the latest then (a client that never closed it)


class SandboxServer:
    """Runs `handler` on http://127.0.0.1:PORT in a background thread; port 0 picks a free one."""

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        timeout_hold_s: float = 30.0,
        keep_alive: bool = False,
    ) -> None:
        try:
            address = ipaddress.ip_address(host)
        except ValueError as err:
            raise ValueError(f"the sandbox binds an IPv4 loopback address only, not {host!r}") from err
        if address.version != 4 or not address.is_loopback:
            raise ValueError(f"the sandbox binds an IPv4 loopback address only, not {host!r}")
        self._host = host
        self._port = port
        self._handler = handler
        self._timeout_hold_s = timeout_hold_s
        self._keep_alive = keep_alive
        self._accepted_before = 0  # of a server stopped since
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the running server."""
        if self._server is None:
            raise RuntimeError("the sandbox server is not running")
        return f"http://{self._host}:{self._server.server_address[1]}"

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted since this object was made."""
        return self._accepted_before + (self._server.connections_accepted if self._server is not None else 0)

    def start(self) -> None:
        """Bind and start serving in a background thread."""
        if self._server is not None:
            raise RuntimeError("the sandbox server is already running")
        self._server = _Server((self._host, self._port), self._handler, self._timeout_hold_s, self._keep_alive)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox-http", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Release held connections, stop serving and close the socket; waits for request threads."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()
        self._accepted_before += server.connections_accepted
        self._server = self._thread = None

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
