"""Naver connector: token flow, windows, paging, normalization, answered detection, error mapping, rate limits, leaks.

HTTP is faked at the outermost edge: `httpx.MockTransport` with hand-written responders, or the strict
NaverSandbox. Time is a FakeClock. No network, no sleeping.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import traceback
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from connectors.base import AuthFailed, ConnectorError, MalformedItem, RateLimited, Unavailable
from connectors.naver.auth import NaverTokenSource, canonical_salt, client_secret_sign
from connectors.naver.connector import NaverConnector
from connectors.naver.rows import category_of, to_inquiry
from connectors.sandbox import Fault, NaverDateTimeStyle, NaverSandbox
from core.models import KST, Category, Marketplace, OpenSnapshot, StreamKind
from tests.fakes import FakeClock

FIXTURES = Path(__file__).parent.parent / "fixtures" / "naver"
CLIENT_ID = "aaaabbbbcccc"
SECRET = "$2a$04$abcdefghijklmnopqrstuu"  # cost 4 keeps the tests fast; the official vector below uses cost 10
BASE_URL = "https://api.commerce.naver.com/external"
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=KST)
TODAY = NOW.date()
SENT_TIMESTAMP = 1736910000000 - 3000  # NOW in ms, signed 3 s early
SENT_SIGN = client_secret_sign(CLIENT_ID, SECRET, SENT_TIMESTAMP)
FIXTURE_TOKEN = "fixture-access-token-6Qm2"
QNA, INQUIRY = StreamKind.PRODUCT_QNA, StreamKind.CUSTOMER_INQUIRY
TOKEN_PATH = "/external/v1/oauth2/token"
QNA_PATH = "/external/v1/contents/qnas"
INQUIRY_PATH = "/external/v1/pay-user/inquiries"
RATE_2 = {
    "GNCP-GW-RateLimit-Replenish-Rate": "2",
    "GNCP-GW-RateLimit-Burst-Capacity": "4",
    "GNCP-GW-RateLimit-Remaining": "3",
}

Responder = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def ok(name: str, headers: Mapping[str, str] | None = None) -> Responder:
    return lambda request: httpx.Response(200, json=fixture(name), headers=headers)


def reply(status: int, **kwargs: Any) -> Responder:
    return lambda request: httpx.Response(status, **kwargs)


def gateway(status: int, name: str, headers: Mapping[str, str] | None = None) -> Responder:
    return lambda request: httpx.Response(status, json=fixture(name), headers=headers)


def gw(status: int, code: str, message: str) -> Responder:
    """A gateway error body as the trouble-shooting page prints it."""
    body = {"code": code, "message": message, "timestamp": "2025-01-15T12:00:00.100+09:00", "traceId": "t^1^1"}
    return lambda request: httpx.Response(status, json=body, headers={"GNCP-GW-Trace-ID": "t^1^1"})


def raise_(error: type[httpx.TransportError]) -> Responder:
    def responder(request: httpx.Request) -> httpx.Response:
        raise error("boom", request=request)

    return responder


def qna_page(rows: list[Any], *, total_pages: int | None, last: bool | None, elements: int = 99) -> Responder:
    payload = {"contents": rows, "page": 1, "size": 100, "totalElements": elements, "totalPages": total_pages}
    return lambda request: httpx.Response(200, json=payload | ({} if last is None else {"last": last}))


def once(first: Responder, *, then: Responder) -> Responder:
    script = itertools.chain([first], itertools.repeat(then))
    return lambda request: next(script)(request)


def qna_row(question_id: int) -> dict[str, Any]:
    return {
        "questionId": question_id,
        "question": "q",
        "createDate": "2025-01-15T08:00:00.000+09:00",
        "answered": False,
    }


class FakeNaver:
    """Serves the token endpoint and both lists; list responders by (list, answered filter, page).

    Unrouted list pages are empty. Token requests get the next of `tokens`, then token.json. Records every
    request with the fake clock's monotonic time at which it left.
    """

    def __init__(
        self,
        clock: FakeClock,
        routes: Mapping[tuple[str, str, int], Responder] | None = None,
        *,
        tokens: list[Responder] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.clock = clock
        self.routes = dict(routes or {})
        self.tokens = list(tokens or [])
        self.headers = dict(headers or {})
        self.requests: list[httpx.Request] = []
        self.sent_at: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.sent_at.append(self.clock.monotonic())
        path = request.url.path
        if path == TOKEN_PATH:
            responder = self.tokens.pop(0) if self.tokens else ok("token.json")
        else:
            kind = {QNA_PATH: "qnas", INQUIRY_PATH: "inquiries"}[path]
            key = (kind, request.url.params.get("answered", "all"), int(request.url.params["page"]))
            responder = self.routes.get(key, ok(f"{kind}_empty.json"))
        response = responder(request)
        response.headers.update(self.headers)
        return response

    @property
    def token_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == TOKEN_PATH]

    def listed(self, kind_path: str, answered: str = "all") -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == kind_path and r.url.params.get("answered", "all") == answered]


class Sequenced:
    """Answers the token request with token.json, then each list request with the next responder of a script."""

    def __init__(self, clock: FakeClock, *responders: Responder) -> None:
        self.clock = clock
        self.script = iter(responders)
        self.sent_at: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent_at.append(self.clock.monotonic())
        if request.url.path == TOKEN_PATH:
            return ok("token.json")(request)
        return next(self.script)(request)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW.astimezone(UTC))


@pytest.fixture
async def make_connector() -> AsyncIterator[Callable[..., NaverConnector]]:
    made: list[NaverConnector] = []

    def factory(handler: Responder, clock: FakeClock, **kwargs: Any) -> NaverConnector:
        client = httpx.AsyncClient(base_url=BASE_URL, transport=httpx.MockTransport(handler))
        options: dict[str, Any] = {
            "account_id": "acct-1",
            "client_id": CLIENT_ID,
            "client_secret": SecretStr(SECRET),
            "client": client,
            "clock": clock,
        }
        connector = NaverConnector(**(options | kwargs))
        made.append(connector)
        return connector

    yield factory
    await asyncio.gather(*(c.aclose() for c in made))


@pytest.fixture
def sandbox(clock: FakeClock) -> NaverSandbox:
    return NaverSandbox(client_id=CLIENT_ID, client_secret=SECRET, now=clock.now)


def rows_of(name: str) -> list[Any]:
    data = fixture(name)
    return list(data.get("contents", data.get("content")))


def row_by_id(name: str, item_id: int) -> Any:
    return next(r for r in rows_of(name) if item_id in (r.get("questionId"), r.get("inquiryNo")))


def form_of(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(request.content.decode("ascii")))


# --- client_secret_sign and the token request -----------------------------------------------------------

OFFICIAL_SIGN = "JDJhJDEwJGFiY2RlZmdoaWprbG1ub3BxcnN0dXVCVldZSk42T0VPdEx1OFY0cDQxa2IuTnpVaUEzbmsy"


@pytest.mark.parametrize(
    "client_secret",
    ["$2a$10$abcdefghijklmnopqrstuu", "$2a$10$abcdefghijklmnopqrstuv"],
    ids=["canonical-salt", "salt-as-printed-in-the-doc"],
)
def test_client_secret_sign_matches_the_official_vector(client_secret: str) -> None:
    assert client_secret_sign("aaaabbbbcccc", client_secret, 1643961623299) == OFFICIAL_SIGN


@pytest.mark.parametrize(
    ("secret", "canonical"),
    [
        ("$2a$10$abcdefghijklmnopqrstuv", "$2a$10$abcdefghijklmnopqrstuu"),
        ("$2a$10$abcdefghijklmnopqrstuu", "$2a$10$abcdefghijklmnopqrstuu"),
        ("$2b$04$abcdefghijklmnopqrstu9", "$2b$04$abcdefghijklmnopqrstuu"),
        ("$2a$10$abcdefghijklmnopqrstuf", "$2a$10$abcdefghijklmnopqrstue"),
        ("$2y$12$abcdefghijklmnopqrstu.", "$2y$12$abcdefghijklmnopqrstu."),
        ("$2a$10$abcdefghijklmnopqrstuO", "$2a$10$abcdefghijklmnopqrstuO"),
    ],
)
def test_salt_keeps_only_the_bits_bcrypt_uses(secret: str, canonical: str) -> None:
    assert canonical_salt(secret) == canonical


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "not-a-salt",
        "$2a$10$abcdefghijklmnopqrstu",
        "$2a$03$abcdefghijklmnopqrstuu",
        "$2x$10$abcdefghijklmnopqrstuu",
    ],
)
def test_a_secret_that_is_no_bcrypt_salt_is_refused_without_echoing_it(secret: str) -> None:
    with pytest.raises(ValueError) as caught:
        canonical_salt(secret)
    assert str(caught.value) == "client_secret must be a bcrypt salt: $2a$, two cost digits, $ and 22 characters"


async def test_token_request_is_a_standard_form_body_with_nothing_in_the_query(
    clock: FakeClock, make_connector: Callable[..., NaverConnector]
) -> None:
    api = FakeNaver(clock)
    await make_connector(api, clock).poll(QNA, None, now=NOW)
    [token_request] = api.token_requests
    assert (token_request.method, token_request.url.query, token_request.url.path) == ("POST", b"", TOKEN_PATH)
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in token_request.headers
    assert form_of(token_request) == {
        "client_id": CLIENT_ID,
        "timestamp": str(SENT_TIMESTAMP),
        "client_secret_sign": SENT_SIGN,
        "grant_type": "client_credentials",
        "type": "SELF",
    }


async def test_list_requests_carry_the_bearer_token(
    clock: FakeClock, make_connector: Callable[..., NaverConnector]
) -> None:
    api = FakeNaver(clock)
    await make_connector(api, clock).poll(INQUIRY, None, now=NOW)
    lists = [r for r in api.requests if r.url.path != TOKEN_PATH]
    assert {r.headers["Authorization"] for r in lists} == {f"Bearer {FIXTURE_TOKEN}"}
    assert {(r.method, r.content) for r in lists} == {("GET", b"")}


def test_token_source_and_connector_reprs_hide_the_secret(clock: FakeClock) -> None:
    source = NaverTokenSource(client_id=CLIENT_ID, client_secret=SecretStr(SECRET), clock=clock)
    client = httpx.AsyncClient(transport=httpx.MockTransport(FakeNaver(clock)))
    connector = NaverConnector(
        account_id="acct-1", client_id=CLIENT_ID, client_secret=SecretStr(SECRET), client=client, clock=clock
    )
    assert (SECRET in repr(source), SECRET in repr(connector), CLIENT_ID in repr(connector)) == (False, False, True)


# --- token caching, expiry, re-issue --------------------------------------------------------------------


def token(value: str, expires_in: int) -> Responder:
    return lambda request: httpx.Response(200, json={"access_token": value, "expires_in": expires_in})


@pytest.mark.parametrize(
    ("expires_in", "advance_s", "tokens_used"),
    [
        (10800, 10400, ["t1", "t1"]),
        (10800, 10500, ["t1", "t2"]),  # within 5 min of expiry (the poll itself took 3 s): re-issued first
        (10800, 3 * 3600, ["t1", "t2"]),
        (600, 200, ["t1", "t1"]),
        (600, 300, ["t1", "t2"]),
        (120, 55, ["t1", "t1"]),  # a short-lived token is renewed at half its life, not 5 min early
        (120, 60, ["t1", "t2"]),
    ],
)
async def test_token_is_cached_until_shortly_before_expiry(
    clock: FakeClock,
    make_connector: Callable[..., NaverConnector],
    expires_in: int,
    advance_s: float,
    tokens_used: list[str],
) -> None:
    api = FakeNaver(clock, tokens=[token("t1", expires_in), token("t2", expires_in)])
    connector = make_connector(api, clock)
    await connector.poll(QNA, None, now=NOW)
    clock.advance(advance_s)
    await connector.poll(QNA, None, now=NOW)
    bearers = [r.headers["Authorization"].removeprefix("Bearer ") for r in api.requests if r.url.path == QNA_PATH]
    assert [bearers[0], bearers[-1]] == tokens_used
    assert len(api.token_requests) == len(set(tokens_used))


async def test_concurrent_stream_polls_share_one_token_request(
    clock: FakeClock, make_connector: Callable[..., NaverConnector]
) -> None:
    api = FakeNaver(clock)
    connector = make_connector(api, clock)
    results = await asyncio.gather(connector.poll(QNA, None, now=NOW), connector.poll(INQUIRY, None, now=NOW))
    assert (len(api.token_requests), connector.token_requests) == (1, 1)
    assert sum(r.requests for r in results) == len(api.requests) == 7


async def test_401_gw_authn_reissues_the_token_and_retries_once(
    clock: FakeClock, make_connector: Callable[..., NaverConnector]
) -> None:
    first_page = once(gateway(401, "gw_authn_401.json"), then=ok("qnas_page2.json"))
    api = FakeNaver(clock, {("qnas", "all", 1): first_page}, tokens=[token("stale", 10800), token("fresh", 10800)])
    with capture_logs() as logs:
        result = await make_connector(api, clock).poll(QNA, None, now=NOW)
    bearers = [r.headers["Authorization"] for r in api.listed(QNA_PATH)]
    assert bearers == ["Bearer stale", "Bearer fresh"]
    assert (len(api.token_requests), result.requests) == (2, 6)
    assert [i.external_id for i in result.inquiries] == ["640000103"]
    assert [e["event"] for e in logs] == ["naver.token_refused", "naver.item_skipped"]


@pytest.mark.parametrize(
    ("responder", "token_requests"),
    [
        (gateway(401, "gw_authn_401.json"), 2),  # refused again with a brand-new token: stop, no loop
        (reply(401, json={"code": "UNAUTHORIZED", "message": "인가되지 않은 요청"}), 1),  # not the gateway's code
        (reply(401, text="Unauthorized"), 1),
    ],
)
async def test_a_second_refusal_is_auth_failed_not_a_loop(
    clock: FakeClock, make_connector: Callable[..., NaverConnector], responder: Responder, token_requests: int
) -> None:
    api = FakeNaver(clock, {("qnas", "all", 1): responder}, tokens=[token("t1", 10800), token("t2", 10800)])
    with pytest.raises(AuthFailed):
        await make_connector(api, clock).poll(QNA, None, now=NOW)
    assert (len(api.token_requests), len(api.listed(QNA_PATH))) == (token_requests, token_requests)


TOKEN_ERROR_CASES = [
    pytest.param(gateway(400, "token_400.json"), AuthFailed, None, id="400-bad-sign"),
    pytest.param(
        reply(401, json={"code": "GW.AUTHN", "message": "요청을 보낼 권한이 없습니다."}), AuthFailed, None, id="401"
    ),
    pytest.param(gateway(403, "gw_ip_not_allowed_403.json"), AuthFailed, None, id="403-ip"),
    pytest.param(
        gateway(429, "gw_quota_limit_429.json", {"GNCP-GW-Quota-Period": "HOURS", "GNCP-GW-Quota-Limit": "1"}),
        RateLimited,
        3600.0,
        id="429-quota-hours",
    ),
    pytest.param(gateway(500, "gw_proxy_500.json"), Unavailable, None, id="500"),
    pytest.param(reply(200, text="<html>점검 중</html>"), Unavailable, None, id="200-not-json"),
    pytest.param(reply(200, json={"expires_in": 10800}), Unavailable, None, id="no-access-token"),
    pytest.param(reply(200, json={"access_token": "x", "expires_in": 0}), Unavailable, None, id="no-expiry"),
    pytest.param(reply(200, json=["x"]), Unavailable, None, id="not-an-object"),
    pytest.param(raise_(httpx.ReadTimeout), Unavailable, None, id="timeout"),
]


@pytest.mark.parametrize(("responder", "error", "retry_after_s"), TOKEN_ERROR_CASES)
async def test_token_request_failures_map_to_one_connector_error(
    clock: FakeClock,
    make_connector: Callable[..., NaverConnector],
    responder: Responder,
    error: type[ConnectorError],
    retry_after_s: float | None,
) -> None:
    api = FakeNaver(clock, tokens=[responder])
    with pytest.raises(ConnectorError) as caught:
        await make_connector(api, clock).poll(INQUIRY, None, now=NOW)
    assert (type(caught.value), caught.value.retry_after_s, len(api.requests)) == (error, retry_after_s, 1)


# --- windows, params, paging ----------------------------------------------------------------------------

Q = "%3A00%3A00.000%2B09%3A00"  # ":00:00.000+09:00" as it goes on the wire


@pytest.mark.parametrize(
    ("stream", "expected"),
    [
        (
            QNA,
            [
                f"{TOKEN_PATH}",
                f"{QNA_PATH}?fromDate=2025-01-12T00{Q}&toDate=2025-01-15T12{Q}&page=1&size=100",
                f"{QNA_PATH}?fromDate=2025-01-02T00{Q}&toDate=2025-01-08T23%3A59%3A59.999%2B09%3A00"
                "&answered=false&page=1&size=100",
                f"{QNA_PATH}?fromDate=2025-01-09T00{Q}&toDate=2025-01-15T12{Q}&answered=false&page=1&size=100",
            ],
        ),
        (
            INQUIRY,
            [
                f"{TOKEN_PATH}",
                f"{INQUIRY_PATH}?startSearchDate=2025-01-12&endSearchDate=2025-01-15&page=1&size=200",
                f"{INQUIRY_PATH}?startSearchDate=2025-01-02&endSearchDate=2025-01-08&answered=false&page=1&size=200",
                f"{INQUIRY_PATH}?startSearchDate=2025-01-09&endSearchDate=2025-01-15&answered=false&page=1&size=200",
            ],
        ),
    ],
)
async def test_each_stream_sends_its_documented_params(
    clock: FakeClock, make_connector: Callable[..., NaverConnector], stream: StreamKind, expected: list[str]
) -> None:
    api = FakeNaver(clock)
    result = await make_connector(api, clock).poll(stream, None, now=NOW)
    assert [r.url.raw_path.decode() for r in api.requests] == expected
    assert result.requests == len(expected)


def window_of(request: httpx.Request) -> tuple[date, date]:
    params = request.url.params
    start = params.get("startSearchDate") or params["fromDate"][:10]
    end = params.get("endSearchDate") or params["toDate"][:10]
    return date.fromisoformat(start), date.fromisoformat(end)


@pytest.mark.parametrize("stream", [QNA, INQUIRY])
@pytest.mark.parametrize(
    ("cursor", "backfill_days", "expected_first"),
    [
        (None, 20, TODAY - timedelta(days=20)),
        (None, 0, TODAY),
        ({"v": 1, "through": (NOW - timedelta(days=2)).astimezone(UTC).isoformat()}, 3, TODAY - timedelta(days=3)),
        ({"v": 1, "through": (NOW - timedelta(days=30)).astimezone(UTC).isoformat()}, 3, TODAY - timedelta(days=31)),
        # 15:30 UTC is already the next day in Korea: the date is taken in KST, then one day of overlap.
        ({"v": 1, "through": "2025-01-14T15:30:00+00:00"}, 3, date(2025, 1, 14)),
        ({"v": 1, "through": (NOW + timedelta(days=2)).isoformat()}, 3, TODAY),
        ({"v": 2, "swept": (NOW - timedelta(days=2)).astimezone(UTC).isoformat()}, 3, TODAY - timedelta(days=3)),
    ],
)
async def test_new_items_walk_contiguous_windows_of_at_most_7_dates(
    clock: FakeClock,
    make_connector: Callable[..., NaverConnector],
    stream: StreamKind,
    cursor: dict[str, Any] | None,
    backfill_days: int,
    expected_first: date,
) -> None:
    # recheck_days=0: the quick window is today alone, so a sweep's every-status pass starts where the last sweep's
    # date less the overlap says (a wider quick window would start it earlier: see test_quick_polls.py).
    api = FakeNaver(clock)
    connector = make_connector(api, clock, backfill_days=backfill_days, streams=(stream,), recheck_days=0)
    await connector.poll(stream, cursor, now=NOW)
    windows = [window_of(r) for r in api.requests if r.url.path != TOKEN_PATH and "answered" not in r.url.params]
    assert (windows[0][0], windows[-1][1]) == (expected_first, TODAY)
    assert all(start <= end <= start + timedelta(days=6) for start, end in windows)
    assert all(nxt[0] == prev[1] + timedelta(days=1) for prev, nxt in itertools.pairwise(windows))


async def test_q_and_a_windows_span_less_than_7_days_and_never_the_future(
    clock: FakeClock, make_connector: Callable[..., NaverConnector]
) -> None:
    api = FakeNaver(clock)
    await make_connector(api, clock, backfill_days=20).poll(QNA, None, now=NOW)
    spans = [
        (datetime.fromisoformat(r.url.params["fromDate"]), datetime.fromisoformat(r.url.params["toDate"]))
        for r in api.listed(QNA_PATH)
    ]
    assert max(end - start for start, end in spans) == timedelta(days=7, milliseconds=-1)
    assert max(end for _, end in spans) == NOW


async def test_pages_are_read_until_the_last(clock: FakeClock, make_connector: Callable[..., NaverConnector]) -> None:
    api = FakeNaver(clock, {("qnas", "all", 1): ok("qnas_page1.json"), ("qnas", "all", 2): ok("qnas_page2.json")})
    result = await make_connector(api, clock).poll(QNA, None, now=NOW)
    assert [r.url.params["page"] for r in api.listed(QNA_PATH)] == ["1", "2"]
    assert sorted(i.external_id for i in result.inquiries) == ["640000101", "640000102", "640000103"]


@pytest.mark.parametrize(
    ("routes", "expected_pages"),
    [
        # `last` says so before totalPages does.
        ({("qnas", "all", 1): qna_page([qna_row(1)], total_pages=5, last=True)}, ["1"]),
        # totalPages says so while `last` lags.
        ({("qnas", "all", 1): qna_page([qna_row(1)], total_pages=1, last=False)}, ["1"]),
        # Only `last`: follow it.
        (
            {
                ("qnas", "all", 1): qna_page([qna_row(1)], total_pages=None, last=False),
                ("qnas", "all", 2): qna_page([qna_row(2)], total_pages=None, last=True),
            },
            ["1", "2"],
        ),
        # totalPages promises more, but page 2 is empty: the data has run out.
        ({("qnas", "all", 1): qna_page([qna_row(1)], total_pages=9, last=False)}, ["1", "2"]),
    ],
)
async def test_paging_stops_at_last_total_pages_or_an_empty_page(
    clock: FakeClock,
    make_connector: Callable[..., NaverConnector],
    routes: dict[tuple[str, str, int], Responder],
    expected_pages: list[str],
) -> None:
    api = FakeNaver(clock, routes)
    await make_connector(api, clock).poll(QNA, None, now=NOW)
    assert [r.url.params["page"] for r in api.listed(QNA_PATH)] == expected_pages


# --- cursor ---------------------------------------------------------------------------------------------


async def test_cursor_is_the_last_sweep_time_and_round_trips(
    clock: FakeClock, make_connector: Callable[..., NaverConnector]
) -> None:
    api = FakeNaver(clock)
    connector = make_connector(api, clock)
    first = await connector.poll(INQUIRY, None, now=NOW)
    second = await connector.poll(INQUIRY, json.loads(json.dumps(first.cursor)), now=NOW + timedelta(minutes=1))
    third = await connector.poll(INQUIRY, json.loads(json.dumps(second.cursor)), now=NOW + timedelta(hours=1))
    # The first poll sweeps; a quick poll a minute later keeps the sweep's time; an hour on, a sweep is due again.
    assert dict(first.cursor) == {"v": 2, "swept": "2025-01-15T03:00:00+00:00"}
    assert dict(second.cursor) == {"v": 2, "swept": "2025-01-15T03:00:00+00:00"}
    assert dict(third.cursor) == {"v": 2, "swept": "2025-01-15T04:00:00+00:00"}
    # The quick poll: 고객 문의 takes 365 days in one request, so its window is the whole 14-date recheck range.
    quick = api.listed(INQUIRY_PATH, "false")[2]  # after the sweep's two windows of the recheck range
    assert window_of(quick) == (TODAY - timedelta(days=13), TODAY)


@pytest.mark.parametrize(
    "cursor",
    [
        {"v": 2, "through": "2025-01-14T00:00:00+00:00"},
        {"v": 3, "swept": "2025-01-14T00:00:00+00:00"},
        {"v": 1},
        {"v": 1, "through": "yesterday"},
        {"v": 1, "through": "2025-01-14T00:00:00"},
    ],
)
async def test_unreadable_cursor_backfills_and_warns(
    clock: FakeClock, make_connector: Callable[..., NaverConnector], cursor: dict[str, Any]
) -> None:
    api = FakeNaver(clock)
    with capture_logs() as logs:
        await make_connector(api, clock, backfill_days=3).poll(INQUIRY, cursor, now=NOW)
    assert window_of(api.listed(INQUIRY_PATH)[0])[0] == TODAY - timedelta(days=3)
    assert [e["event"] for e in logs] == ["naver.cursor_unreadable"]


# --- answered detection, snapshot -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "stream", "item_id", "answered", "answered_at"),
    [
        ("qnas_page1.json", QNA, 640000101, True, None),  # the list gives no answer time
        ("qnas_page1.json", QNA, 640000102, False, None),
        ("inquiries_page.json", INQUIRY, 310000201, True, datetime(2025, 1, 15, 10, 30, tzinfo=KST)),
        ("inquiries_page.json", INQUIRY, 310000202, False, None),
        ("inquiries_page.json", INQUIRY, 310000203, False, None),
    ],
)
def test_answered_detection(
    name: str, stream: StreamKind, item_id: int, answered: bool, answered_at: datetime | None
) -> None:
    inquiry = to_inquiry(row_by_id(name, item_id), "acct-1", stream)
    assert (inquiry.answered, inquiry.answered_at) == (answered, answered_at)


def test_an_answer_time_without_answered_true_is_ignored() -> None:
    raw = row_by_id("inquiries_page.json", 310000201) | {"answered": False}
    assert to_inquiry(raw, "acct-1", INQUIRY).answered_at is None


async def test_open_snapshot_lists_every_unanswered_id_of_the_recheck_range(
    clock: FakeClock, make_connector: Callable[..., NaverConnector]
) -> None:
    routes = {("inquiries", "false", 1): ok("inquiries_page.json")}
    result = await make_connector(FakeNaver(clock, routes), clock).poll(INQUIRY, None, now=NOW)
    assert result.open_snapshot == OpenSnapshot(
        received_from=datetime(2025, 1, 2, tzinfo=KST),
        received_to=NOW,
        open_external_ids=frozenset({"310000201", "310000202", "310000203", "310000204"}),
    )


@pytest.mark.parametrize(
    ("routes", "snapshot_ids"),
    [
        (
            {
                ("qnas", "false", 1): qna_page([qna_row(1)], total_pages=2, last=False, elements=2),
                ("qnas", "false", 2): qna_page([qna_row(2)], total_pages=2, last=True, elements=2),
            },
            frozenset({"1", "2"}),
        ),
        # Row 1 was answered between the two reads: row 2 slid onto page 1, which was already read.
        (
            {
                ("qnas", "false", 1): qna_page([qna_row(1)], total_pages=2, last=False, elements=2),
                ("qnas", "false", 2): qna_page([qna_row(3)], total_pages=2, last=True, elements=1),
            },
            None,
        ),
        # The listing shrank to one page under us: page 2 comes back empty.
        ({("qnas", "false", 1): qna_page([qna_row(1)], total_pages=2, last=False, elements=2)}, None),
        # A row without an id could be any stored open inquiry.
        ({("qnas", "false", 1): qna_page([qna_row(1), {"question": "?"}], total_pages=1, last=True)}, None),
    ],
)
async def test_snapshot_is_dropped_unless_every_open_row_was_read_and_named(
    clock: FakeClock,
    make_connector: Callable[..., NaverConnector],
    routes: dict[tuple[str, str, int], Responder],
    snapshot_ids: frozenset[str] | None,
) -> None:
    result = await make_connector(FakeNaver(clock, routes), clock, recheck_days=6).poll(QNA, None, now=NOW)
    assert getattr(result.open_snapshot, "open_external_ids", None) == snapshot_ids


async def test_no_result_at_all_when_a_later_open_page_fails(
    clock: FakeClock, make_connector: Callable[..., NaverConnector]
) -> None:
    routes = {("qnas", "false", 1): ok("qnas_page1.json"), ("qnas", "false", 2): gateway(504, "gw_timeout_504.json")}
    with pytest.raises(Unavailable):
        await make_connector(FakeNaver(clock, routes), clock).poll(QNA, None, now=NOW)


# --- normalization --------------------------------------------------------------------------------------


async def test_malformed_rows_are_skipped_counted_and_logged_without_row_text(
    clock: FakeClock, make_connector: Callable[..., NaverConnector]
) -> None:
    routes = {("inquiries", "all", 1): ok("inquiries_page.json")}
    with capture_logs() as logs:
        result = await make_connector(FakeNaver(clock, routes), clock).poll(INQUIRY, None, now=NOW)
    assert (len(result.inquiries), result.skipped) == (3, 1)
    assert logs == [
        {
            "event": "naver.item_skipped",
            "log_level": "warning",
            "account_id": "acct-1",
            "stream": "customer_inquiry",
            "reason": "answered: expected true or false",
        }
    ]


def qrow(**changes: Any) -> dict[str, Any]:
    """A valid Q&A row with `changes` applied; a change to None drops that field."""
    row = {"questionId": 1, "question": "q", "createDate": "2025-01-15T08:00:00Z", "answered": False} | changes
    return {k: v for k, v in row.items() if v is not None}


def crow(**changes: Any) -> dict[str, Any]:
    """A valid 고객 문의 row with `changes` applied; a change to None drops that field."""
    row = {"inquiryNo": 1, "inquiryContent": "c", "inquiryRegistrationDateTime": "2025-01-15T08:00:00Z"}
    row = row | {"answered": False} | changes
    return {k: v for k, v in row.items() if v is not None}


@pytest.mark.parametrize(
    ("raw", "stream", "reason"),
    [
        ([], QNA, "row: expected an object"),
        (qrow(questionId=None), QNA, "questionId: missing"),
        (qrow(questionId=True), QNA, "questionId: expected a numeric id"),
        (qrow(question=5), QNA, "question: expected a string"),
        (qrow(createDate=1736895600000), QNA, "createDate: expected a date-time string"),
        (qrow(createDate="2025-02-30T08:00:00Z"), QNA, "createDate: not a date-time"),
        (qrow(answered=None), QNA, "answered: missing"),
        (qrow(answered="Y"), QNA, "answered: expected true or false"),
        (qrow(productName=7), QNA, "productName: expected a string"),
        (crow(inquiryRegistrationDateTime=None), INQUIRY, "inquiryRegistrationDateTime: missing"),
        (crow(inquiryNo="31x"), INQUIRY, "inquiryNo: expected a numeric id"),
        (crow(inquiryContent=None), INQUIRY, "inquiryContent: missing"),
        (crow(orderId="A-1"), INQUIRY, "orderId: expected a numeric id"),
        (
            crow(answered=True, answerRegistrationDateTime="어제"),
            INQUIRY,
            "answerRegistrationDateTime: not a date-time",
        ),
        (crow(customerName=["김"]), INQUIRY, "customerName: expected a string"),
        (crow(category=3), INQUIRY, "category: expected a string"),
    ],
)
def test_malformed_rows_name_the_field_not_the_value(raw: Any, stream: StreamKind, reason: str) -> None:
    with pytest.raises(MalformedItem) as caught:
        to_inquiry(raw, "acct-1", stream)
    assert str(caught.value) == reason


@pytest.mark.parametrize(
    "created",
    [
        "2025-01-15T08:00:00.000+09:00",
        "2025-01-15T08:00:00+09:00",
        "2025-01-14T23:00:00.000Z",
        "2025-01-14T23:00:00Z",
        "2025-01-15T08:00:00.000000+09:00",
        "2025-01-15T08:00:00+0900",
        "2025-01-15T08:00:00",  # no offset: Korean wall time
    ],
)
def test_every_timestamp_form_is_the_same_instant_in_kst(created: str) -> None:
    raw = {"questionId": 1, "question": "q", "createDate": created, "answered": False}
    received_at = to_inquiry(raw, "acct-1", QNA).received_at
    assert (received_at, received_at.utcoffset()) == (datetime(2025, 1, 15, 8, tzinfo=KST), timedelta(hours=9))


def test_product_qna_row_normalization() -> None:
    inquiry = to_inquiry(row_by_id("qnas_page1.json", 640000101), "acct-1", QNA)
    assert (inquiry.marketplace, inquiry.stream, inquiry.key.external_id, inquiry.category) == (
        Marketplace.NAVER,
        QNA,
        "640000101",
        Category.PRODUCT,
    )
    assert (inquiry.body, inquiry.product_name, inquiry.order_id, inquiry.buyer, inquiry.title) == (
        "사이즈가 정사이즈인가요? 평소 M 입어요.",
        "여성 린넨 셔츠 오버핏",
        None,
        None,
        None,
    )


def test_customer_inquiry_keeps_the_buyer_name_for_the_store_and_drops_the_customer_id() -> None:
    raw = row_by_id("inquiries_page.json", 310000201)
    inquiry = to_inquiry(raw, "acct-1", INQUIRY)
    assert (inquiry.buyer, inquiry.order_id, inquiry.title, inquiry.category, inquiry.product_name) == (
        "김민수",
        "2025011512345601",
        "배송 언제 되나요?",
        Category.DELIVERY,
        "유기농 현미 10kg",
    )
    assert inquiry.body == "주문한 지 4일 지났는데 아직 발송 전이에요.\n언제 보내주시나요?"
    assert (inquiry.received_at, raw["customerId"] in repr(inquiry)) == (
        datetime(2025, 1, 15, 8, 5, 12, 71000, tzinfo=KST),
        False,
    )


def test_customer_inquiry_without_title_order_or_name_is_still_kept() -> None:
    raw = {
        "inquiryNo": 9,
        "inquiryContent": "c",
        "inquiryRegistrationDateTime": "2025-01-15T08:00:00Z",
        "answered": False,
    }
    inquiry = to_inquiry(raw | {"title": "", "orderId": None}, "acct-1", INQUIRY)
    assert (inquiry.title, inquiry.order_id, inquiry.buyer, inquiry.category) == (None, None, None, Category.OTHER)


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("상품", Category.PRODUCT),
        ("배송", Category.DELIVERY),
        ("반품", Category.RETURN),
        ("교환", Category.EXCHANGE),
        ("환불", Category.REFUND),
        ("기타", Category.OTHER),
        ("상품 문의", Category.PRODUCT),
        ("교환/반품", Category.RETURN),
        ("주문취소", Category.CANCEL),
        ("포인트", Category.OTHER),
        (None, Category.OTHER),
    ],
)
def test_customer_inquiry_category(category: str | None, expected: Category) -> None:
    assert category_of(category) == expected


async def test_buyer_names_and_ids_never_reach_the_logs(
    clock: FakeClock, make_connector: Callable[..., NaverConnector]
) -> None:
    routes = {("inquiries", "all", 1): ok("inquiries_page.json"), ("inquiries", "false", 1): ok("inquiries_page.json")}
    with capture_logs() as logs:
        await make_connector(FakeNaver(clock, routes), clock).poll(INQUIRY, None, now=NOW)
    people = [v for r in rows_of("inquiries_page.json") for k, v in r.items() if k in ("customerName", "customerId")]
    assert len(people) == 7
    assert [p for p in people if p in repr(logs)] == []


# --- errors ---------------------------------------------------------------------------------------------

QUOTA = {"GNCP-GW-Quota-Limit": "1", "GNCP-GW-Quota-Remaining": "0"}

ERROR_CASES = [
    pytest.param(gateway(429, "gw_rate_limit_429.json", {"Retry-After": "7"}), RateLimited, 7.0, id="429-retry-after"),
    pytest.param(gateway(429, "gw_rate_limit_429.json", RATE_2), RateLimited, 0.5, id="429-one-replenish-period"),
    pytest.param(gateway(429, "gw_rate_limit_429.json"), RateLimited, 1.0, id="429-no-headers"),
    pytest.param(
        gateway(429, "gw_quota_limit_429.json", QUOTA | {"GNCP-GW-Quota-Period": "SECONDS"}),
        RateLimited,
        1.0,
        id="quota-seconds",
    ),
    pytest.param(
        gateway(429, "gw_quota_limit_429.json", QUOTA | {"GNCP-GW-Quota-Period": "HOURS"}),
        RateLimited,
        3600.0,
        id="quota-hours",
    ),
    pytest.param(
        gateway(429, "gw_quota_limit_429.json", QUOTA | {"GNCP-GW-Quota-Period": "ROUND"}),
        RateLimited,
        3600.0,
        id="quota-round",
    ),
    pytest.param(gateway(429, "gw_quota_limit_429.json"), RateLimited, 3600.0, id="quota-no-period"),
    pytest.param(gateway(403, "gw_ip_not_allowed_403.json"), AuthFailed, None, id="403-ip-not-allowed"),
    pytest.param(gateway(403, "contents_forbidden_403.json"), AuthFailed, None, id="403-api-group"),
    pytest.param(gateway(404, "gw_not_found_404.json"), Unavailable, None, id="404-gw"),
    pytest.param(gateway(400, "contents_bad_request_400.json"), Unavailable, None, id="400-bad-request"),
    pytest.param(gateway(400, "pay_user_4001.json"), Unavailable, None, id="400-4001"),
    pytest.param(gateway(500, "gw_proxy_500.json"), Unavailable, None, id="500-proxy"),
    pytest.param(gw(500, "GW.PROXY.01", "작업 중 오류가 발생하였습니다."), Unavailable, None, id="500-proxy-01"),
    pytest.param(gw(500, "GW.INTERNAL_SERVER_ERROR", "작업 중 오류가 발생하였습니다."), Unavailable, None, id="500-gw"),
    pytest.param(
        gw(503, "GW.BLOCK.01", "서비스를 일시적으로 사용할 수 없습니다."), Unavailable, 60.0, id="503-circuit"
    ),
    pytest.param(gw(504, "GW.TIMEOUT.02", "요청 대기 시간이 초과되었습니다."), Unavailable, None, id="504-timeout-02"),
    pytest.param(gateway(503, "gw_block_503.json"), Unavailable, 60.0, id="503-block"),
    pytest.param(gateway(503, "gw_block_503.json", {"Retry-After": "300"}), Unavailable, 300.0, id="503-block-long"),
    pytest.param(reply(503, text="Service Unavailable"), Unavailable, None, id="503-plain"),
    pytest.param(gateway(504, "gw_timeout_504.json"), Unavailable, None, id="504-timeout"),
    pytest.param(reply(200, text="<html>점검 중</html>"), Unavailable, None, id="200-not-json"),
    pytest.param(reply(200, json=["not", "a", "page"]), Unavailable, None, id="200-not-an-object"),
    pytest.param(reply(200, json={"contents": "x", "totalPages": 1}), Unavailable, None, id="contents-not-list"),
    pytest.param(reply(200, json={"contents": [qna_row(1)]}), Unavailable, None, id="no-total-pages-nor-last"),
    pytest.param(raise_(httpx.ReadTimeout), Unavailable, None, id="timeout"),
    pytest.param(raise_(httpx.ConnectError), Unavailable, None, id="connect-error"),
]


@pytest.mark.parametrize(("responder", "error", "retry_after_s"), ERROR_CASES)
async def test_errors_map_to_one_connector_error(
    clock: FakeClock,
    make_connector: Callable[..., NaverConnector],
    responder: Responder,
    error: type[ConnectorError],
    retry_after_s: float | None,
) -> None:
    connector = make_connector(Sequenced(clock, responder), clock)
    with pytest.raises(ConnectorError) as caught:
        await connector.poll(QNA, None, now=NOW)
    assert (type(caught.value), caught.value.retry_after_s) == (error, retry_after_s)


ECHOING_TOKEN_ERROR = reply(
    400,
    json={"code": "BAD_REQUEST", "message": f"client_secret_sign {SENT_SIGN} 항목이 유효하지 않습니다. salt={SECRET}"},
)
ECHOING_LIST_ERROR = reply(400, json={"code": "4001", "message": f"Bearer {FIXTURE_TOKEN} is not valid input"})


@pytest.mark.parametrize(
    ("responder", "token_responder", "error"),
    [
        *[(p.values[0], ok("token.json"), p.values[1]) for p in ERROR_CASES],
        *[(ok("qnas_empty.json"), p.values[0], p.values[1]) for p in TOKEN_ERROR_CASES],
        (ECHOING_LIST_ERROR, ok("token.json"), Unavailable),
        (ok("qnas_empty.json"), ECHOING_TOKEN_ERROR, AuthFailed),
    ],
)
async def test_no_secret_sign_or_token_leaks_into_errors_or_logs(
    clock: FakeClock,
    make_connector: Callable[..., NaverConnector],
    responder: Responder,
    token_responder: Responder,
    error: type[ConnectorError],
) -> None:
    api = FakeNaver(clock, {("qnas", "all", 1): responder}, tokens=[token_responder])
    connector = make_connector(api, clock)
    with capture_logs() as logs, pytest.raises(error) as caught:
        await connector.poll(QNA, None, now=NOW)
    exposed = "".join(traceback.format_exception(caught.value)) + repr(caught.value.args) + repr(logs) + repr(connector)
    assert [s for s in (SECRET, SECRET[7:], SENT_SIGN, FIXTURE_TOKEN) if s in exposed] == []


@pytest.mark.parametrize(
    ("responder", "fragment"),
    [
        (
            gateway(400, "pay_user_4001.json"),
            "400 request rejected: 4001: API 명세에 맞지 않는 입력 값입니다.; startSearchDate: must not be null",
        ),
        (gateway(403, "gw_ip_not_allowed_403.json"), "403 GW.IP_NOT_ALLOWED: 호출이 허용되지 않은 IP입니다."),
        (gateway(429, "gw_quota_limit_429.json", {"GNCP-GW-Quota-Period": "HOURS"}), "GW.QUOTA_LIMIT, quota per HOURS"),
        (ECHOING_LIST_ERROR, "Bearer *** is not valid input"),
    ],
)
async def test_error_text_keeps_the_server_message(
    clock: FakeClock, make_connector: Callable[..., NaverConnector], responder: Responder, fragment: str
) -> None:
    with pytest.raises(ConnectorError, match=re.escape(fragment)):
        await make_connector(Sequenced(clock, responder), clock).poll(QNA, None, now=NOW)


# --- request budget and the gateway's rate-limit headers ------------------------------------------------


@pytest.mark.parametrize(
    ("max_per_s", "headers", "min_gap_s"),
    [
        (10.0, RATE_2, 0.5),  # the gateway's 2/s wins over a higher configured maximum
        (1.0, RATE_2, 1.0),  # the configured maximum wins when it is lower
        (10.0, {}, 0.1),  # no header: the configured maximum
        (10.0, {"GNCP-GW-RateLimit-Replenish-Rate": "nonsense"}, 0.1),
    ],
)
async def test_requests_never_exceed_the_advertised_or_configured_rate(
    clock: FakeClock,
    make_connector: Callable[..., NaverConnector],
    max_per_s: float,
    headers: dict[str, str],
    min_gap_s: float,
) -> None:
    api = FakeNaver(clock, headers=headers)
    connector = make_connector(api, clock, max_requests_per_s=max_per_s, backfill_days=20)
    results = [await connector.poll(stream, None, now=NOW) for stream in (QNA, INQUIRY)]
    gaps = [b - a for a, b in itertools.pairwise(api.sent_at)]
    assert sum(r.requests for r in results) == len(api.requests) == 11
    assert min(gaps) == pytest.approx(min_gap_s)


async def test_an_empty_bucket_waits_a_full_second(
    clock: FakeClock, make_connector: Callable[..., NaverConnector]
) -> None:
    empty = RATE_2 | {"GNCP-GW-RateLimit-Remaining": "0"}
    api = FakeNaver(clock, {("qnas", "all", 1): ok("qnas_empty.json", empty)}, headers={})
    await make_connector(api, clock, max_requests_per_s=10.0).poll(QNA, None, now=NOW)
    # token -> 0.1 s (configured) -> page read: 2/s advertised, none left -> 1 s -> 0.5 s (advertised)
    assert [b - a for a, b in itertools.pairwise(api.sent_at)] == pytest.approx([0.1, 1.0, 0.5])


async def test_after_a_429_no_request_is_sent_until_the_wait_is_over(
    clock: FakeClock, make_connector: Callable[..., NaverConnector]
) -> None:
    api = Sequenced(clock, gateway(429, "gw_rate_limit_429.json", {"Retry-After": "30"}), *[ok("qnas_empty.json")] * 3)
    connector = make_connector(api, clock)
    with pytest.raises(RateLimited):
        await connector.poll(QNA, None, now=NOW)
    clock.advance(20)
    with pytest.raises(RateLimited) as early:  # e.g. the other stream's poll: it fails fast, sends nothing
        await connector.poll(INQUIRY, None, now=NOW)
    sent_before = len(api.sent_at)
    clock.advance(10)
    await connector.poll(QNA, None, now=NOW)
    assert (early.value.retry_after_s, sent_before) == (pytest.approx(10.0), 2)
    assert api.sent_at[2] - api.sent_at[1] >= 30.0


# --- against the strict sandbox -------------------------------------------------------------------------


async def test_one_token_request_serves_many_polls(
    clock: FakeClock, sandbox: NaverSandbox, make_connector: Callable[..., NaverConnector]
) -> None:
    connector = make_connector(sandbox.handler, clock)
    cursors: dict[StreamKind, Any] = {QNA: None, INQUIRY: None}
    for _ in range(30):  # 2.5 hours of polls, 5 minutes apart
        for stream in (QNA, INQUIRY):
            cursors[stream] = (await connector.poll(stream, cursors[stream], now=clock.now())).cursor
        clock.advance(300)
    token_calls = [r for r in sandbox.requests if r.path.endswith("/oauth2/token")]
    assert (len(token_calls), connector.token_requests, sandbox.tokens_minted) == (1, 1, 1)
    assert {r.status for r in sandbox.requests} == {200}
    # Per stream: a sweep at 0, 60 and 120 minutes, and one request for each of the 27 quick polls between them.
    # A sweep reads every item since the last one less a day, widened to the quick window (상품 문의 7 dates: one
    # window; 고객 문의 14: two, but the first sweep's 3-day backfill is one), and the unanswered of the 14-date
    # recheck range (two windows).
    qna, inquiry = 3 * (1 + 2) + 27, (1 + 2) + 2 * (2 + 2) + 27
    assert len(sandbox.requests) == 1 + qna + inquiry


@pytest.mark.parametrize(
    ("advance_s", "token_calls", "minted"),
    [
        (2 * 3600, 1, 1),
        (3 * 3600 - 240, 2, 2),  # < 5 min left: asked again; < 30 min left, so the sandbox mints a new one
        (3 * 3600, 2, 2),  # expired
    ],
)
async def test_token_is_reissued_after_expiry(
    clock: FakeClock,
    sandbox: NaverSandbox,
    make_connector: Callable[..., NaverConnector],
    advance_s: float,
    token_calls: int,
    minted: int,
) -> None:
    connector = make_connector(sandbox.handler, clock)
    await connector.poll(QNA, None, now=clock.now())
    clock.advance(advance_s)
    await connector.poll(QNA, None, now=clock.now())
    assert [r.status for r in sandbox.requests if r.path.endswith("/oauth2/token")] == [200] * token_calls
    assert (sandbox.tokens_minted, 401 in {r.status for r in sandbox.requests}) == (minted, False)


async def test_token_is_reissued_after_a_401(
    clock: FakeClock, sandbox: NaverSandbox, make_connector: Callable[..., NaverConnector]
) -> None:
    question = sandbox.add_product_question(question="정품 맞나요?", created_at=clock.now() - timedelta(hours=1))
    connector = make_connector(sandbox.handler, clock)
    await connector.poll(QNA, None, now=clock.now())
    sandbox.revoke_tokens()
    result = await connector.poll(QNA, None, now=clock.now())
    statuses = [(r.path.rsplit("/", 1)[-1], r.status) for r in sandbox.requests]
    assert statuses[4:7] == [("qnas", 401), ("token", 200), ("qnas", 200)]
    assert ([i.external_id for i in result.inquiries], connector.token_requests) == ([str(question)], 2)


async def test_paging_across_several_pages_of_the_sandbox(
    clock: FakeClock, sandbox: NaverSandbox, make_connector: Callable[..., NaverConnector]
) -> None:
    questions = [
        sandbox.add_product_question(question=f"질문 {n}", created_at=clock.now() - timedelta(minutes=10 * n))
        for n in range(250)
    ]
    inquiries = [
        sandbox.add_customer_inquiry(
            title="배송", content=f"문의 {n}", registered_at=clock.now() - timedelta(minutes=n)
        )
        for n in range(450)
    ]
    connector = make_connector(sandbox.handler, clock, max_requests_per_s=10.0)
    qna = await connector.poll(QNA, None, now=clock.now())
    customer = await connector.poll(INQUIRY, None, now=clock.now())
    pages = [(r.path.rsplit("/", 1)[-1], dict(parse_qsl(r.query))["page"]) for r in sandbox.requests[1:]]
    assert sorted(i.external_id for i in qna.inquiries) == sorted(map(str, questions))
    assert sorted(i.external_id for i in customer.inquiries) == sorted(map(str, inquiries))
    assert [p for p in pages if p[0] == "qnas"][:3] == [("qnas", "1"), ("qnas", "2"), ("qnas", "3")]
    assert [p for p in pages if p[0] == "inquiries"][:3] == [("inquiries", "1"), ("inquiries", "2"), ("inquiries", "3")]
    assert (qna.requests, customer.requests) == (1 + 3 + 3 + 1, 3 + 3 + 1)


@pytest.mark.parametrize("stream", [QNA, INQUIRY])
async def test_answered_detection_through_the_sandbox(
    clock: FakeClock, sandbox: NaverSandbox, make_connector: Callable[..., NaverConnector], stream: StreamKind
) -> None:
    at = clock.now()
    old_q = sandbox.add_product_question(question="유통기한은요?", created_at=at - timedelta(days=9))
    new_q = sandbox.add_product_question(question="선물 포장 되나요?", created_at=at - timedelta(hours=2))
    old_c = sandbox.add_customer_inquiry(title="환불", content="환불 언제?", registered_at=at - timedelta(days=9))
    new_c = sandbox.add_customer_inquiry(title="배송", content="언제 와요?", registered_at=at - timedelta(hours=2))
    old, new = {QNA: (old_q, new_q), INQUIRY: (old_c, new_c)}[stream]
    connector = make_connector(sandbox.handler, clock)
    first = await connector.poll(stream, None, now=clock.now())
    clock.advance(600)
    sandbox.answer_product_question(old_q, "2027년까지입니다.", clock.now())
    sandbox.answer_customer_inquiry(old_c, "오늘 환불됩니다.", clock.now())
    sandbox.answer_product_question(new_q, "가능합니다.", clock.now())
    sandbox.answer_customer_inquiry(new_c, "내일 도착합니다.", clock.now())
    second = await connector.poll(stream, first.cursor, now=clock.now())
    clock.advance(3600)
    third = await connector.poll(stream, second.cursor, now=clock.now())
    assert getattr(first.open_snapshot, "open_external_ids", None) == frozenset({str(old), str(new)})
    # The quick poll lists nothing open in its window (상품 문의 the last 7 dates, 고객 문의 the recheck range),
    # so the store closes what it held open there: the new one, and for 고객 문의 the old one too.
    assert getattr(second.open_snapshot, "open_external_ids", None) == frozenset()
    quick_first = {QNA: TODAY - timedelta(days=6), INQUIRY: TODAY - timedelta(days=13)}[stream]
    assert getattr(second.open_snapshot, "received_from", None) == datetime.combine(quick_first, time(), KST)
    assert second.inquiries == ()
    # The sweep an hour on: the recheck range's snapshot closes the old one (상품 문의), and every item of the
    # quick window is re-read answered: the new one, and for 고객 문의 (whose quick window is 14 dates) the old one.
    recheck_from = datetime.combine(TODAY - timedelta(days=13), time(), KST)
    assert getattr(third.open_snapshot, "open_external_ids", None) == frozenset()
    assert getattr(third.open_snapshot, "received_from", None) == recheck_from
    reread = {QNA: [(str(new), True)], INQUIRY: [(str(old), True), (str(new), True)]}[stream]
    assert sorted((i.external_id, i.answered) for i in third.inquiries) == reread


async def test_request_rate_never_exceeds_the_sandbox_replenish_rate(
    clock: FakeClock, sandbox: NaverSandbox, make_connector: Callable[..., NaverConnector]
) -> None:
    sandbox.seed_random(600, start=clock.now() - timedelta(days=12), end=clock.now(), rng=random.Random(5))
    connector = make_connector(sandbox.handler, clock, max_requests_per_s=20.0, backfill_days=12)
    for _ in range(3):  # back to back, as two stream tasks would run (FakeClock cannot interleave real sleeps)
        for stream in (QNA, INQUIRY):
            await connector.poll(stream, None, now=clock.now())
        clock.advance(60)
    times = [r.at for r in sandbox.requests]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert len(times) > 30
    assert min(gaps) >= 1 / sandbox.limits.replenish_rate_per_s
    assert 429 not in {r.status for r in sandbox.requests}


@pytest.mark.parametrize("style", list(NaverDateTimeStyle))
async def test_both_timestamp_forms_from_the_sandbox_give_the_same_inquiries(
    clock: FakeClock, make_connector: Callable[..., NaverConnector], style: NaverDateTimeStyle
) -> None:
    sandbox = NaverSandbox(client_id=CLIENT_ID, client_secret=SECRET, now=clock.now, datetime_style=style)
    received = datetime(2025, 1, 15, 0, 30, 15, tzinfo=KST)  # still the 14th in UTC
    sandbox.add_customer_inquiry(title="교환", content="교환 가능해요?", registered_at=received, answered=True)
    result = await make_connector(sandbox.handler, clock).poll(INQUIRY, None, now=clock.now())
    [inquiry] = result.inquiries
    assert (inquiry.received_at, inquiry.answered_at) == (received, received + timedelta(hours=1))


async def test_malformed_rows_from_the_sandbox_are_skipped_and_counted(
    clock: FakeClock, sandbox: NaverSandbox, make_connector: Callable[..., NaverConnector]
) -> None:
    [
        sandbox.add_customer_inquiry(title="문의", content=f"{n}", registered_at=clock.now() - timedelta(hours=n))
        for n in range(5)
    ]
    sandbox.inject(Fault.MALFORMED_ITEM, times=1)
    connector = make_connector(sandbox.handler, clock)
    broken = await connector.poll(INQUIRY, None, now=clock.now())
    healed = await connector.poll(INQUIRY, None, now=clock.now())
    assert (len(broken.inquiries), broken.skipped, len(healed.inquiries), healed.skipped) == (4, 1, 5, 0)


@pytest.mark.parametrize(
    ("break_it", "error", "retry_after_s"),
    [
        (lambda sb: setattr(sb, "ip_allowed", False), AuthFailed, None),
        (lambda sb: sb.inject(Fault.RATE_LIMIT, retry_after_s=9), RateLimited, 9.0),
        (lambda sb: sb.inject(Fault.SERVER_ERROR, status=503), Unavailable, 60.0),
        (lambda sb: sb.inject(Fault.TIMEOUT), Unavailable, None),
        (lambda sb: sb.inject(Fault.MALFORMED_BODY), Unavailable, None),
    ],
    ids=["ip-not-allowed", "rate-limit", "block", "timeout", "malformed-body"],
)
async def test_sandbox_faults_map_to_one_connector_error(
    clock: FakeClock,
    sandbox: NaverSandbox,
    make_connector: Callable[..., NaverConnector],
    break_it: Callable[[NaverSandbox], None],
    error: type[ConnectorError],
    retry_after_s: float | None,
) -> None:
    break_it(sandbox)
    with pytest.raises(ConnectorError) as caught:
        await make_connector(sandbox.handler, clock).poll(QNA, None, now=clock.now())
    assert (type(caught.value), caught.value.retry_after_s) == (error, retry_after_s)


async def test_after_a_query_string_token_call_the_connector_backs_off_an_hour(
    clock: FakeClock, sandbox: NaverSandbox, make_connector: Callable[..., NaverConnector]
) -> None:
    # Some other tool of the seller's used the blog-tutorial style once: the whole application is throttled.
    async with httpx.AsyncClient(transport=httpx.MockTransport(sandbox.handler), base_url=BASE_URL) as other:
        await other.post("/v1/oauth2/token", params={"client_id": CLIENT_ID, "grant_type": "client_credentials"})
    with pytest.raises(RateLimited) as caught:
        await make_connector(sandbox.handler, clock).poll(QNA, None, now=clock.now())
    assert (caught.value.retry_after_s, sandbox.requests[-1].status) == (3600.0, 429)


# --- construction and lifecycle -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": ""},
        {"client_id": "app id"},
        {"client_id": "앱"},
        {"client_secret": SecretStr("plain-secret-value")},
        {"client_secret": SecretStr("$2a$10$tooshort")},
        {"streams": ()},
        {"streams": (StreamKind.CALL_CENTER,)},
        {"streams": (QNA, QNA)},
        {"backfill_days": -1},
        {"overlap_days": -1},
        {"recheck_days": -1},
        {"max_requests_per_s": 0},
    ],
)
def test_bad_configuration_is_refused_without_echoing_the_secret(clock: FakeClock, overrides: dict[str, Any]) -> None:
    options: dict[str, Any] = {
        "account_id": "acct-1",
        "client_id": CLIENT_ID,
        "client_secret": SecretStr(SECRET),
        "client": httpx.AsyncClient(transport=httpx.MockTransport(FakeNaver(clock))),
        "clock": clock,
    }
    with pytest.raises(ValueError) as caught:
        NaverConnector(**(options | overrides))
    assert [s for s in ("plain-secret-value", "tooshort") if s in str(caught.value)] == []


async def test_polling_a_disabled_stream_is_a_bug(
    clock: FakeClock, make_connector: Callable[..., NaverConnector]
) -> None:
    connector = make_connector(FakeNaver(clock), clock, streams=(INQUIRY,))
    with pytest.raises(ValueError):
        await connector.poll(QNA, None, now=NOW)


async def test_aclose_closes_the_client(clock: FakeClock) -> None:
    client = httpx.AsyncClient(base_url=BASE_URL, transport=httpx.MockTransport(FakeNaver(clock)))
    connector = NaverConnector(
        account_id="acct-1", client_id=CLIENT_ID, client_secret=SecretStr(SECRET), client=client, clock=clock
    )
    await connector.aclose()
    assert (client.is_closed, connector.marketplace, connector.streams) == (True, Marketplace.NAVER, (QNA, INQUIRY))
