"""The one place httpx clients are made, and the answer parsing (Retry-After, a JSON body) shared by connectors
and notifiers."""

from __future__ import annotations

import asyncio
import functools
import math
import ssl
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from core import __version__

USER_AGENT = f"inqd/{__version__}"
MAX_RETRY_AFTER_S = 3600.0
# httpx drops an idle connection after 5 s by default, which against a 60 s poll interval opened a new TCP (and
# against a real HTTPS gateway, a TLS) connection for almost every poll. A poller's client keeps its connections for
# the interval plus a margin (the last request of a poll to the first of the next is under one interval), within
# a bound: past a few minutes the far end has long closed them (a connection it closed is never reused).
DEFAULT_KEEPALIVE_S = 5.0
KEEPALIVE_MARGIN_S = 15.0
MAX_KEEPALIVE_S = 300.0
# A shared client's connections (`make_shared_client`), and how many accounts share one client
# (aggregator.wiring.connectors.build_connectors). A request holds a connection for the gateway's latency: ~1 ms
# on loopback, 30-300 ms against the real gateways, where 1,000 accounts x 2 streams x 1 request a minute (quick
# polls: ~33 a second, ~100 during an hourly sweep) keep ~10-30 busy at 0.3 s each. But httpcore walks every open
# connection of a pool (a readability syscall for each idle one) whenever it assigns one: bench.scale at 300
# accounts took 14.5 ms of CPU a poll with one pool of 4 and 19.6 ms with one pool of up to 19 (30 fds). So a
# host's accounts share clients of 4 connections, 64 accounts each: a few pooled connections per walk, and up to
# 64 connections at 1,000 accounts for a slow gateway.
SHARED_CONNECTIONS = 4
ACCOUNTS_PER_SHARED_CLIENT = 64


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context (CA bundle loaded once) for every client: each client's own context cost ~0.8 MB, which
    made 1,000 accounts take 1 GB of memory. SSLContext is safe to share between connections."""
    return httpx.create_ssl_context()


def keepalive_for(poll_interval_s: float | None) -> float:
    """How long an idle connection is kept: a poll interval plus a margin, bounded; httpx's 5 s for no poller."""
    if poll_interval_s is None:
        return DEFAULT_KEEPALIVE_S
    return min(max(poll_interval_s + KEEPALIVE_MARGIN_S, DEFAULT_KEEPALIVE_S), MAX_KEEPALIVE_S)


def make_client(
    *,
    base_url: str = "",
    transport: httpx.AsyncBaseTransport | None = None,
    timeout_s: float = 20.0,
    poll_interval_s: float | None = None,
) -> httpx.AsyncClient:
    """An AsyncClient with our timeouts, limits and user agent; `transport` lets tests plug in a sandbox.

    A poller passes its `poll_interval_s`, so its connections live from one poll to the next (`keepalive_for`).
    The pool stays small (one account's streams and answers): httpcore scans every pooled connection per request.
    """
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        timeout=httpx.Timeout(timeout_s, connect=10.0),
        limits=httpx.Limits(
            max_connections=10, max_keepalive_connections=5, keepalive_expiry=keepalive_for(poll_interval_s)
        ),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=False,
        verify=_tls_context() if transport is None else True,  # a test transport does no TLS
    )


class _GatedTransport(httpx.AsyncBaseTransport):
    """A transport that lets at most `limit` requests hold a connection at once and queues the rest in a FIFO
    semaphore, in front of httpcore's pool: its own queue is a list it walks on every assignment, which at a
    thousand waiting polls cost ~30 ms of CPU per poll. A request holds its place until its body is read and its
    stream closed, as the connection is; waiting for a place counts against the pool timeout (httpx.PoolTimeout)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, limit: int, wait_s: float | None) -> None:
        self._inner = inner
        self._gate = asyncio.Semaphore(limit)
        self._wait_s = wait_s

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            async with asyncio.timeout(self._wait_s):
                await self._gate.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("no connection came free in time", request=request) from None
        try:
            response = await self._inner.handle_async_request(request)
        except BaseException:
            self._gate.release()
            raise
        if isinstance(response.stream, httpx.ByteStream):  # a body already in memory (a test's transport) holds
            self._gate.release()  # no connection; httpx never closes it
            return response
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _ReleasingStream(response.stream, self._gate.release)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that gives its request's place back once, when it is closed."""

    def __init__(self, inner: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._inner = inner
        self._release: Callable[[], None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        release, self._release = self._release, None
        try:
            await self._inner.aclose()
        finally:
            if release is not None:
                release()


class SharedClient(httpx.AsyncClient):
    """One marketplace host's client, held by each of its accounts' connectors (`share()` once per holder): closed
    for real when the last holder closes it, so a daemon's shutdown closes it once."""

    holders = 0

    def share(self) -> SharedClient:
        """Count one more holder; returns the client."""
        self.holders += 1
        return self

    async def aclose(self) -> None:
        """Let go of the client; the last holder closes it."""
        self.holders -= 1
        if self.holders <= 0:
            await super().aclose()


def make_shared_client(
    *,
    base_url: str,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout_s: float = 20.0,
    poll_interval_s: float | None = None,
    connections: int = SHARED_CONNECTIONS,
) -> SharedClient:
    """A client for the accounts of one marketplace host (up to ACCOUNTS_PER_SHARED_CLIENT of them): at most
    `connections` connections, kept alive across polls (`keepalive_for`), requests beyond them queued in front of
    the pool (`_GatedTransport`).

    It keeps no cookies: a cookie one account's answer set would otherwise go out with the next account's request.
    Each account's request budget, signing and secrets stay its connector's own (connectors.base.HttpEdge).
    """
    timeout = httpx.Timeout(timeout_s, connect=10.0)
    limits = httpx.Limits(
        max_connections=connections,
        max_keepalive_connections=connections,
        keepalive_expiry=keepalive_for(poll_interval_s),
    )
    inner = transport or httpx.AsyncHTTPTransport(verify=_tls_context(), limits=limits)
    return SharedClient(
        base_url=base_url,
        transport=_GatedTransport(inner, limit=connections, wait_s=timeout.pool),
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
        cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
        follow_redirects=False,
    )


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), clamped to [0, 1 h]; None if absent/bad."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if math.isfinite(seconds):
        return min(max(0.0, seconds), MAX_RETRY_AFTER_S)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)  # an HTTP-date is always GMT
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER_S)


def json_object(response: httpx.Response) -> Mapping[str, Any]:
    """The response body as a JSON object; {} when it is not JSON or not an object (an error page from a proxy)."""
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, Mapping) else {}
