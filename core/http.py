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


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context (CA bundle loaded once) for every client: each client's own context cost ~0.8 MB, which
    made 1,000 accounts take 1 GB of memory. SSLContext is safe to share between connections."""
    return httpx.create_ssl_context()


def make_client(
    *, base_url: str = "", transport: httpx.AsyncBaseTransport | None = None, timeout_s: float = 20.0
) -> httpx.AsyncClient:
    """An AsyncClient with our timeouts, limits and user agent; `transport` lets tests plug in a sandbox."""
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        timeout=httpx.Timeout(timeout_s, connect=10.0),
        limits=httpx.Limits(max_connections=10, max_keepalive_connections=5),
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
