"""A connector keeps its TCP connection from one poll to the next (issue 19): counted on the server's side.

The sandbox serves over real HTTP/1.1 on 127.0.0.1 with keep-alive; between the two polls the connection pool's
clock (httpcore's, nothing else's) is moved on by one poll interval, so no test sleeps.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import SimpleNamespace

import httpcore._async.http11 as httpcore_http11
import pytest
from pydantic import SecretStr

from connectors.coupang.connector import CoupangConnector
from connectors.sandbox import CoupangSandbox, SandboxServer
from core.http import make_client
from core.models import KST, StreamKind
from tests.fakes import FakeClock

NOW = datetime(2025, 1, 15, 12, 0, tzinfo=KST)
INTERVAL_S = 60.0
VENDOR, ACCESS, SECRET = "A00012345", "reuse-access", "reuse-secret"


class PoolClock:
    """Stands in for the `time` module inside httpcore's HTTP/1.1 connection: monotonic time plus an offset."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset_s


@pytest.fixture
def pool_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[PoolClock]:
    clock = PoolClock()
    monkeypatch.setattr(httpcore_http11, "time", SimpleNamespace(monotonic=clock.monotonic))
    yield clock


async def two_polls_an_interval_apart(pool_clock: PoolClock, poll_interval_s: float | None) -> tuple[int, int]:
    """(connections the server accepted, requests it answered) over two polls of one stream."""
    clock = FakeClock(NOW)
    sandbox = CoupangSandbox(vendor_id=VENDOR, access_key=ACCESS, secret_key=SECRET, now=clock.now)
    sandbox.add_product_inquiry(content="배송 언제 오나요?", inquiry_at=NOW - timedelta(hours=1))
    with SandboxServer(sandbox.handler, keep_alive=True) as server:
        async with make_client(base_url=server.url, poll_interval_s=poll_interval_s) as client:
            connector = CoupangConnector(
                account_id="shop",
                vendor_id=VENDOR,
                access_key=SecretStr(ACCESS),
                secret_key=SecretStr(SECRET),
                client=client,
                clock=clock,
                streams=(StreamKind.PRODUCT_QNA,),
            )
            first = await connector.poll(StreamKind.PRODUCT_QNA, None, now=clock.now())
            clock.advance(INTERVAL_S)
            pool_clock.offset_s += INTERVAL_S
            second = await connector.poll(StreamKind.PRODUCT_QNA, first.cursor, now=clock.now())
        accepted = server.connections_accepted
    assert [len(first.inquiries), len(second.inquiries)] == [1, 1]  # both polls read the page (overlap)
    return accepted, len(sandbox.requests)


async def test_a_connector_reuses_its_connection_across_polls(pool_clock: PoolClock) -> None:
    accepted, requests = await two_polls_an_interval_apart(pool_clock, INTERVAL_S)
    assert requests >= 4
    assert accepted == 1


async def test_without_the_interval_the_connection_expires_between_polls(pool_clock: PoolClock) -> None:
    """The contrast: httpx's default 5 s keep-alive opens a new connection for the second poll."""
    accepted, _ = await two_polls_an_interval_apart(pool_clock, None)
    assert accepted == 2
