"""What the notifier tests share: a fixed instant, the HTTP edge mocked with respx, one client, transport failures.

No network and no sleeping: every request is answered by respx or an httpx.MockTransport.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime

import httpx
import pytest
import respx

from core.http import make_client
from core.models import KST

NOW = datetime(2026, 11, 24, 14, 0, tzinfo=KST)

# The transport failures a channel must survive as retryable, never quoting the URL (where tokens live).
TRANSPORT_ERRORS = [httpx.ConnectTimeout, httpx.ReadTimeout, httpx.ConnectError, httpx.RemoteProtocolError]


def fail_with(error: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    """Raise the way httpcore does: the message names the OS/protocol problem, never the URL."""

    def responder(request: httpx.Request) -> httpx.Response:
        raise error("[Errno 111] Connection refused", request=request)

    return responder


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """respx in strict mode: every request must match a route, and every route must be called."""
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as mock:
        yield mock


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client made as the daemon makes them."""
    async with make_client() as made:
        yield made
