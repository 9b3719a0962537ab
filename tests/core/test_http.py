"""core.http: a poller's client keeps its connections from one poll to the next."""

from __future__ import annotations

import httpx
import pytest

from core.http import DEFAULT_KEEPALIVE_S, MAX_KEEPALIVE_S, keepalive_for, make_client


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
