"""The one place httpx clients are made, and the answer parsing (Retry-After, a JSON body) shared by connectors
and notifiers."""

from __future__ import annotations

import functools
import math
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
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
