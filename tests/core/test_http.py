"""core.http: a poller's client keeps its connections from one poll to the next; a marketplace host's shared
client holds a few connections, queues the rest, keeps no cookies and is closed by its last holder."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from core.http import DEFAULT_KEEPALIVE_S, MAX_KEEPALIVE_S, keepalive_for, make_client, make_shared_client


def pool_keepalive_s(client: httpx.AsyncClient) -> float | None:
    """The keep-alive expiry the client's connection pool was built with."""
    transport = client._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    expiry: float | None = transport._pool._keepalive_expiry
    return expiry


@pytest.mark.parametrize("interval_s", [1.0, 30.0, 60.0, 120.0])
async def test_keepalive_outlives_the_poll_interval(interval_s: float) -> None:
    async with make_client(base_url="http://127.0.0.1:9", poll_interval_s=interval_s) as client:
        expiry = pool_keepalive_s(client)
    assert expiry == keepalive_for(interval_s)
    assert expiry is not None and interval_s < expiry <= MAX_KEEPALIVE_S


async def test_keepalive_is_bounded_and_defaults_for_a_client_that_does_not_poll() -> None:
    async with make_client(base_url="http://127.0.0.1:9", poll_interval_s=3600.0) as polling_hourly:
        hourly = pool_keepalive_s(polling_hourly)
    async with make_client(base_url="http://127.0.0.1:9") as notifier:
        default = pool_keepalive_s(notifier)
    assert (hourly, default) == (MAX_KEEPALIVE_S, DEFAULT_KEEPALIVE_S)


class _Counting(httpx.AsyncBaseTransport):
    """Answers every request with a small body; counts the requests in flight, the most at once, and closes."""

    def __init__(self, hold: asyncio.Event | None = None) -> None:
        self.in_flight = self.most = self.closed = 0
        self.hold = hold

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        if self.hold is not None:
            await self.hold.wait()
        return httpx.Response(200, stream=_Body(self))

    async def aclose(self) -> None:
        self.closed += 1


class _Body(httpx.AsyncByteStream):
    """A body that frees its request's connection when closed, as httpcore's does."""

    def __init__(self, transport: _Counting) -> None:
        self._transport = transport

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"{}"

    async def aclose(self) -> None:
        self._transport.in_flight -= 1


async def test_a_shared_client_holds_at_most_its_connections_and_queues_the_rest_in_order() -> None:
    hold = asyncio.Event()
    transport = _Counting(hold)
    client = make_shared_client(base_url="http://127.0.0.1:9", transport=transport, connections=3)
    requests = [asyncio.create_task(client.get(f"/{n}")) for n in range(10)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert transport.in_flight == 3
    hold.set()
    responses = await asyncio.gather(*requests)
    assert [r.status_code for r in responses] == [200] * 10
    assert (transport.most, transport.in_flight) == (3, 0)
    await client.share().aclose()


async def test_a_request_that_fails_gives_its_place_back() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client = make_shared_client(base_url="http://127.0.0.1:9", transport=httpx.MockTransport(refuse), connections=1)
    for _ in range(3):  # with the place kept, the second would wait forever
        with pytest.raises(httpx.ConnectError):
            await asyncio.wait_for(client.get("/"), timeout=5)
    await client.share().aclose()


async def test_waiting_for_a_place_is_bounded_by_the_pool_timeout() -> None:
    transport = _Counting(asyncio.Event())  # never answers
    client = make_shared_client(base_url="http://127.0.0.1:9", transport=transport, connections=1, timeout_s=0.05)
    stuck = asyncio.create_task(client.get("/stuck"))
    await asyncio.sleep(0)
    with pytest.raises(httpx.PoolTimeout):
        await client.get("/waiting")
    stuck.cancel()
    with contextlib.suppress(asyncio.CancelledError, httpx.TimeoutException):
        await stuck
    await client.share().aclose()


async def test_a_shared_client_is_closed_by_its_last_holder_only() -> None:
    transport = _Counting()
    client = make_shared_client(base_url="http://127.0.0.1:9", transport=transport)
    holders = [client.share() for _ in range(3)]
    for holder in holders[:2]:
        await holder.aclose()
    assert (transport.closed, client.is_closed) == (0, False)
    assert (await client.get("/")).status_code == 200
    await holders[2].aclose()
    assert (transport.closed, client.is_closed) == (1, True)


async def test_a_shared_client_keeps_no_cookie_of_one_account_for_the_next() -> None:
    sent: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.headers.get("Cookie"))
        return httpx.Response(200, headers={"Set-Cookie": "session=account-a; Path=/"})

    client = make_shared_client(base_url="http://127.0.0.1:9", transport=httpx.MockTransport(handler))
    await client.get("/a")
    await client.get("/b")
    assert sent == [None, None]
    await client.share().aclose()


async def test_a_body_already_in_memory_frees_its_place_at_once() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={}))  # httpx never closes such a body
    client = make_shared_client(base_url="http://127.0.0.1:9", transport=transport, connections=1)
    for _ in range(3):
        assert (await asyncio.wait_for(client.get("/"), timeout=5)).status_code == 200
    await client.share().aclose()
