"""The admin server on a real 127.0.0.1 socket: health transitions, /metrics, token guard, refresh failures, and its
lazy start (listening from start(), aiohttp built on the first connection)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import httpx
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from structlog.testing import capture_logs

from aggregator.admin import AdminServer, requires_token
from aggregator.metrics import Metrics

TOKEN = "s3cret-토큰"


class FakeHealth:
    """A health check the test flips between healthy and a stale stream."""

    def __init__(self) -> None:
        self.stale: list[str] = []

    async def __call__(self) -> tuple[bool, Mapping[str, Any]]:
        return not self.stale, {"ok": not self.stale, "stale_streams": list(self.stale)}


class FakeRefresh:
    """A refresh_metrics that sets a gauge, or fails when told to."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.fail = False
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        if self.fail:
            raise RuntimeError("database is locked")
        self.metrics.set_open_inquiries({"coupang": self.calls})


Serve = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start AdminServers on 127.0.0.1:0 and hand back an httpx client for each; everything is closed after."""
    servers: list[AdminServer] = []
    clients: list[httpx.AsyncClient] = []

    async def start(server: AdminServer) -> httpx.AsyncClient:
        servers.append(server)
        port = await server.start()
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False)
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.aclose()
    for server in servers:
        await server.aclose()


def _server(
    *, token: str | None = None, health: FakeHealth | None = None, metrics: Metrics | None = None
) -> tuple[AdminServer, Metrics, FakeRefresh]:
    metrics = metrics or Metrics()
    refresh = FakeRefresh(metrics)
    server = AdminServer(
        host="127.0.0.1", port=0, token=token, health=health or FakeHealth(), metrics=metrics, refresh_metrics=refresh
    )
    return server, metrics, refresh


async def test_healthz_reports_a_stale_stream_then_recovers(serve: Serve) -> None:
    health = FakeHealth()
    server, _, _ = _server(health=health)
    client = await serve(server)

    health.stale = ["shop/상품문의"]
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == {"ok": False, "stale_streams": ["shop/상품문의"]}
    assert "상품문의".encode() in response.content  # ensure_ascii=False: readable, not \uXXXX

    health.stale = []
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "stale_streams": []}


async def test_metrics_are_refreshed_and_parse(serve: Serve) -> None:
    server, metrics, refresh = _server()
    common = {"account": "shop", "marketplace": "coupang", "stream": "product_qna"}
    for duration_s in (0.2, 0.4):
        metrics.poll_finished(
            account="shop", marketplace="coupang", stream="product_qna", ok=True, error_kind=None, duration_s=duration_s
        )
    client = await serve(server)

    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert refresh.calls == 1
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }
    assert samples["inqd_polls_total", tuple(sorted({**common, "result": "ok"}.items()))] == 2
    per_stream = (("marketplace", "coupang"), ("stream", "product_qna"))
    assert samples["inqd_poll_duration_seconds_count", per_stream] == 2
    assert samples["inqd_open_inquiries", (("marketplace", "coupang"),)] == 1


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": "Basic czNjcmV0"}, 401),
        ({"Authorization": "Bearer"}, 401),
        ({"Authorization": f"Bearer {TOKEN}"}, 200),
        ({"Authorization": f"bearer {TOKEN}"}, 200),
    ],
)
async def test_metrics_need_the_token(serve: Serve, headers: dict[str, str], status: int) -> None:
    server, _, refresh = _server(token=TOKEN)
    client = await serve(server)
    # httpx encodes str headers as ASCII only; the token's Hangul goes over the wire as UTF-8 bytes.
    raw = {k.encode(): v.encode("utf-8") for k, v in headers.items()}
    response = await client.get("/metrics", headers=raw)
    assert response.status_code == status
    assert refresh.calls == (1 if status == 200 else 0)
    if status == 401:
        assert response.json() == {"error": "unauthorized"}
        assert response.headers["www-authenticate"] == "Bearer"


async def test_healthz_is_open_with_a_token_set(serve: Serve) -> None:
    server, _, _ = _server(token=TOKEN)
    client = await serve(server)
    assert (await client.get("/healthz")).status_code == 200


async def test_refresh_failure_is_500_and_the_server_keeps_serving(serve: Serve) -> None:
    server, _, refresh = _server()
    client = await serve(server)
    refresh.fail = True
    response = await client.get("/metrics")
    assert response.status_code == 500
    assert response.json() == {"error": "metrics refresh failed"}

    refresh.fail = False
    assert (await client.get("/metrics")).status_code == 200
    assert (await client.get("/healthz")).status_code == 200


async def test_health_check_crash_is_503(serve: Serve) -> None:
    async def broken() -> tuple[bool, Mapping[str, Any]]:
        raise RuntimeError("boom")

    metrics = Metrics()
    server = AdminServer(port=0, token=None, health=broken, metrics=metrics, refresh_metrics=FakeRefresh(metrics))
    client = await serve(server)
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"ok": False, "error": "health check failed"}


async def test_unknown_path_and_wrong_method(serve: Serve) -> None:
    server, _, _ = _server()
    client = await serve(server)
    assert (await client.get("/nope")).status_code == 404
    assert (await client.post("/metrics")).status_code == 405


async def test_added_routes_are_guarded_by_default(serve: Serve) -> None:
    async def ack(request: web.Request) -> web.StreamResponse:
        return web.json_response({"acked": request.match_info["id"]})

    async def ping(request: web.Request) -> web.StreamResponse:
        return web.Response(text="pong")

    server, _, _ = _server(token=TOKEN)
    server.add_route("POST", "/ack/{id}", ack)
    server.add_route("GET", "/ping", ping, needs_token=False)
    client = await serve(server)
    assert (await client.post("/ack/7")).status_code == 401
    response = await client.post("/ack/7", headers={b"Authorization": f"Bearer {TOKEN}".encode()})
    assert response.json() == {"acked": "7"}
    assert (await client.get("/ping")).text == "pong"
    with pytest.raises(RuntimeError, match="after start"):
        server.add_route("GET", "/late", ping)


async def test_start_twice_is_refused_and_aclose_is_idempotent() -> None:
    server, _, _ = _server()
    await server.start()
    with pytest.raises(RuntimeError, match="already started"):
        await server.start()
    await server.aclose()
    await server.aclose()


def _server_on(port: int) -> AdminServer:
    metrics = Metrics()
    return AdminServer(
        port=port, token=None, health=FakeHealth(), metrics=metrics, refresh_metrics=FakeRefresh(metrics)
    )


async def test_a_port_in_use_fails_at_start() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        server = _server_on(taken.getsockname()[1])
        with pytest.raises(OSError, match="address already in use"):
            await server.start()
    await server.aclose()


def _bindable(port: int) -> bool:
    try:
        socket.create_server(("127.0.0.1", port)).close()
    except OSError:
        return False
    return True


async def test_the_port_is_taken_from_start_and_released_by_aclose_before_any_request() -> None:
    server, _, _ = _server()
    port = await server.start()
    assert not _bindable(port)
    await server.aclose()
    assert _bindable(port)


async def test_the_first_requests_arriving_together_are_all_served(serve: Serve) -> None:
    server, _, refresh = _server()
    client = await serve(server)
    responses = await asyncio.gather(*(client.get("/metrics") for _ in range(5)), client.get("/healthz"))
    assert [r.status_code for r in responses] == [200] * 6
    assert refresh.calls == 5


async def test_aclose_with_a_first_connection_that_sent_nothing_releases_the_port() -> None:
    server, _, _ = _server()
    port = await server.start()
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await asyncio.wait_for(server.aclose(), timeout=30)
    finally:
        writer.close()
    assert _bindable(port)


async def test_a_route_aiohttp_refuses_on_the_first_connection_refuses_clients_and_is_logged(serve: Serve) -> None:
    async def ping(request: web.Request) -> web.StreamResponse:
        return web.Response(text="pong")

    server, _, _ = _server()
    server.add_route("GET", "no-leading-slash", ping)  # aiohttp raises on it, now when the app is built
    client = await serve(server)
    with capture_logs() as logs, pytest.raises(httpx.TransportError):
        await client.get("/healthz")
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["admin_serve_failed"]
    await server.aclose()


async def test_aclose_after_serving_releases_the_port(serve: Serve) -> None:
    server, _, _ = _server()
    client = await serve(server)
    assert (await client.get("/healthz")).status_code == 200
    await server.aclose()
    assert server.port is not None
    assert _bindable(server.port)


@pytest.mark.parametrize(
    ("host", "needed"),
    [
        ("127.0.0.1", False),
        ("127.0.0.2", False),
        ("::1", False),
        ("localhost", False),
        ("0.0.0.0", True),
        ("::", True),
        ("192.168.0.10", True),
        ("inqd.example", True),
        ("", True),
    ],
)
def test_requires_token(host: str, needed: bool) -> None:
    assert requires_token(host) is needed


@pytest.mark.parametrize("token", [None, ""])
def test_non_loopback_bind_without_token_is_refused(token: str | None) -> None:
    metrics = Metrics()
    refresh = FakeRefresh(metrics)
    with pytest.raises(ValueError, match=r"admin: binding 0\.0\.0\.0 needs a token"):
        AdminServer(host="0.0.0.0", token=token, health=FakeHealth(), metrics=metrics, refresh_metrics=refresh)


def test_non_loopback_bind_with_token_is_accepted() -> None:
    metrics = Metrics()
    AdminServer(host="0.0.0.0", token=TOKEN, health=FakeHealth(), metrics=metrics, refresh_metrics=FakeRefresh(metrics))
