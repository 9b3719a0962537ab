"""Coupang connector: CEA signing, window walking, paging, normalization, error mapping, budget, leaks.

HTTP is faked at the outermost edge with `httpx.MockTransport`; time with FakeClock. No network, no sleeping.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import traceback
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from connectors.base import AuthFailed, ConnectorError, MalformedItem, RateLimited, Unavailable
from connectors.coupang.auth import CoupangAuth, cea_signature
from connectors.coupang.connector import CoupangConnector
from connectors.coupang.rows import buyer_in_notes, category_of, to_inquiry
from core.models import KST, Category, Marketplace, OpenSnapshot, StreamKind
from tests.fakes import FakeClock

FIXTURES = Path(__file__).parent.parent / "fixtures" / "coupang"
VENDOR_ID = "A00012345"
ACCESS_KEY = "test-access"
SECRET_KEY = "test-secret"
BASE_URL = "https://api-gateway.coupang.com"
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=KST)
TODAY = NOW.date()
HOUR = timedelta(hours=1)
PRODUCT_PATH = f"/v2/providers/openapi/apis/api/v5/vendors/{VENDOR_ID}/onlineInquiries"
CALL_CENTER_PATH = f"/v2/providers/openapi/apis/api/v5/vendors/{VENDOR_ID}/callCenterInquiries"

Responder = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def ok(name: str) -> Responder:
    return lambda request: httpx.Response(200, json=fixture(name))


def reply(status: int, **kwargs: Any) -> Responder:
    return lambda request: httpx.Response(status, **kwargs)


def raise_(error: type[httpx.TransportError]) -> Responder:
    def responder(request: httpx.Request) -> httpx.Response:
        raise error("boom", request=request)

    return responder


def page(rows: list[Any], current: int, total: int, elements: int = 99) -> Responder:
    payload = {
        "code": "200",
        "message": "OK",
        "data": {
            "content": rows,
            "pagination": {"currentPage": current, "totalPages": total, "totalElements": elements},
        },
    }
    return lambda request: httpx.Response(200, json=payload)


def row(inquiry_id: int) -> dict[str, Any]:
    return {"inquiryId": inquiry_id, "content": "q", "inquiryAt": "2025-01-15 08:00:00", "commentDtoList": []}


class FakeCoupang:
    """Serves responders by (status parameter value, pageNum); anything else gets an empty page.

    Records every request with the fake clock's monotonic time at which it left.
    """

    def __init__(self, clock: FakeClock, routes: Mapping[tuple[str, int], Responder] | None = None) -> None:
        self.clock = clock
        self.routes = dict(routes or {})
        self.requests: list[httpx.Request] = []
        self.sent_at: list[float] = []
        self.signed_at: list[datetime] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.sent_at.append(self.clock.monotonic())
        self.signed_at.append(self.clock.now())
        params = request.url.params
        status = params.get("answeredType") or params.get("partnerCounselingStatus", "")
        return self.routes.get((status, int(params["pageNum"])), ok("empty_page.json"))(request)

    def windows(self, status: str) -> list[tuple[date, date]]:
        return [
            (date.fromisoformat(r.url.params["inquiryStartAt"]), date.fromisoformat(r.url.params["inquiryEndAt"]))
            for r in self.requests
            if status in (r.url.params.get("answeredType"), r.url.params.get("partnerCounselingStatus"))
        ]


class Sequenced:
    """Answers each request with the next responder of a script."""

    def __init__(self, clock: FakeClock, *responders: Responder) -> None:
        self.clock = clock
        self.script = iter(responders)
        self.sent_at: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent_at.append(self.clock.monotonic())
        return next(self.script)(request)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW.astimezone(UTC))


@pytest.fixture
async def make_connector() -> AsyncIterator[Callable[..., CoupangConnector]]:
    made: list[CoupangConnector] = []

    def factory(
        handler: Callable[[httpx.Request], httpx.Response], clock: FakeClock, **kwargs: Any
    ) -> CoupangConnector:
        client = httpx.AsyncClient(base_url=BASE_URL, transport=httpx.MockTransport(handler))
        options: dict[str, Any] = {
            "account_id": "acct-1",
            "vendor_id": VENDOR_ID,
            "access_key": SecretStr(ACCESS_KEY),
            "secret_key": SecretStr(SECRET_KEY),
            "client": client,
            "clock": clock,
        }
        connector = CoupangConnector(**(options | kwargs))
        made.append(connector)
        return connector

    yield factory
    await asyncio.gather(*(c.aclose() for c in made))


def rows_of(name: str) -> Iterator[Any]:
    yield from fixture(name)["data"]["content"]


def row_by_id(name: str, inquiry_id: int) -> Any:
    return next(r for r in rows_of(name) if r.get("inquiryId") == inquiry_id)


# --- signing -------------------------------------------------------------------------------------------------

EXAMPLE_QUERY = (
    "vendorId=A00012345&answeredType=NOANSWER&inquiryStartAt=2025-01-01&inquiryEndAt=2025-01-07&pageNum=1&pageSize=50"
)
EXAMPLE_GET_SIGNATURE = "1d130517c59be3b69b1b2dd91f2e63a4a0bf09bd94e59c5aad35c37f2debded2"
EXAMPLE_HEADER = (
    f"CEA algorithm=HmacSHA256, access-key=test-access, signed-date=250101T000000Z, signature={EXAMPLE_GET_SIGNATURE}"
)


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", PRODUCT_PATH, EXAMPLE_QUERY, EXAMPLE_GET_SIGNATURE),
        (
            "POST",
            f"/v2/providers/openapi/apis/api/v4/vendors/{VENDOR_ID}/onlineInquiries/846/replies",
            "",
            "89c16f02f47cdc557fbb814477a2130cee53bd116a8fb3f00a0668b62f7ab938",
        ),
    ],
)
def test_cea_signature_matches_the_worked_example(method: str, path: str, query: str, expected: str) -> None:
    assert cea_signature(SECRET_KEY, "250101T000000Z", method, path, query) == expected


@pytest.mark.parametrize(
    ("signing_time", "url"),
    [
        (datetime(2025, 1, 1, tzinfo=UTC), f"{BASE_URL}{PRODUCT_PATH}?{EXAMPLE_QUERY}"),
        (datetime(2025, 1, 1, 9, tzinfo=KST), f"{BASE_URL}{PRODUCT_PATH}?{EXAMPLE_QUERY}"),
    ],
)
def test_auth_header_is_the_full_cea_string(signing_time: datetime, url: str) -> None:
    auth = CoupangAuth(access_key=SecretStr(ACCESS_KEY), secret_key=SecretStr(SECRET_KEY), now=lambda: signing_time)
    signed = next(auth.sync_auth_flow(httpx.Request("GET", url)))
    assert signed.headers["Authorization"] == EXAMPLE_HEADER


def test_auth_repr_hides_both_keys() -> None:
    auth = CoupangAuth(access_key=SecretStr(ACCESS_KEY), secret_key=SecretStr(SECRET_KEY), now=lambda: NOW)
    assert (ACCESS_KEY in repr(auth), SECRET_KEY in repr(auth)) == (False, False)


async def test_outgoing_request_carries_the_worked_example_header(
    make_connector: Callable[..., CoupangConnector],
) -> None:
    # Signing time comes from the connector's clock; the poll's `now` (KST 2025-01-07) only picks the dates.
    clock = FakeClock(datetime(2025, 1, 1, tzinfo=UTC))
    api = FakeCoupang(clock)
    connector = make_connector(api, clock, backfill_days=0, recheck_days=6)
    await connector.poll(StreamKind.PRODUCT_QNA, None, now=datetime(2025, 1, 7, 12, tzinfo=KST))
    sent = api.requests[-1]
    assert (sent.url.raw_path.decode(), sent.headers["Authorization"]) == (
        f"{PRODUCT_PATH}?{EXAMPLE_QUERY}",
        EXAMPLE_HEADER,
    )


async def test_every_request_is_signed_over_its_own_wire_path(
    clock: FakeClock, make_connector: Callable[..., CoupangConnector]
) -> None:
    api = FakeCoupang(clock, {("ALL", 1): ok("product_qna_v4_page1.json"), ("ALL", 2): ok("product_qna_v5_page2.json")})
    await make_connector(api, clock).poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    # The budget sleeps between requests, so each is signed at a later time of the fake clock.
    expected = [
        "CEA algorithm=HmacSHA256, access-key=test-access, "
        f"signed-date={at:%y%m%dT%H%M%SZ}, "
        f"signature={cea_signature(SECRET_KEY, f'{at:%y%m%dT%H%M%SZ}', 'GET', *r.url.raw_path.decode().split('?'))}"
        for r, at in zip(api.requests, api.signed_at, strict=True)
    ]
    assert [r.headers["Authorization"] for r in api.requests] == expected
    assert {r.headers["Content-Type"] for r in api.requests} == {"application/json;charset=UTF-8"}


# --- windows, params, paging --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cursor", "backfill_days", "expected_first"),
    [
        (None, 20, TODAY - timedelta(days=20)),
        (None, 3, TODAY - timedelta(days=3)),
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
    make_connector: Callable[..., CoupangConnector],
    cursor: dict[str, Any] | None,
    backfill_days: int,
    expected_first: date,
) -> None:
    # recheck_days=0: the quick window is today alone, so a sweep's every-status pass starts where the last sweep's
    # date less the overlap says (a wider quick window would start it earlier: see test_quick_polls.py).
    api = FakeCoupang(clock)
    connector = make_connector(api, clock, backfill_days=backfill_days, recheck_days=0)
    await connector.poll(StreamKind.PRODUCT_QNA, cursor, now=NOW)
    windows = api.windows("ALL")
    assert windows[0][0] == expected_first
    assert windows[-1][1] == TODAY
    assert all(start <= end <= start + timedelta(days=6) for start, end in windows)
    assert all(nxt[0] == prev[1] + timedelta(days=1) for prev, nxt in itertools.pairwise(windows))


async def test_twenty_day_backfill_is_three_full_windows(
    clock: FakeClock, make_connector: Callable[..., CoupangConnector]
) -> None:
    api = FakeCoupang(clock)
    await make_connector(api, clock, backfill_days=20).poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    assert api.windows("ALL") == [
        (date(2024, 12, 26), date(2025, 1, 1)),
        (date(2025, 1, 2), date(2025, 1, 8)),
        (date(2025, 1, 9), date(2025, 1, 15)),
    ]


@pytest.mark.parametrize(
    ("stream", "api_version", "expected"),
    [
        (
            StreamKind.PRODUCT_QNA,
            "v5",
            [
                f"{PRODUCT_PATH}?vendorId=A00012345&answeredType=ALL&inquiryStartAt=2025-01-12"
                "&inquiryEndAt=2025-01-15&pageNum=1&pageSize=50",
                f"{PRODUCT_PATH}?vendorId=A00012345&answeredType=NOANSWER&inquiryStartAt=2025-01-01"
                "&inquiryEndAt=2025-01-07&pageNum=1&pageSize=50",
                f"{PRODUCT_PATH}?vendorId=A00012345&answeredType=NOANSWER&inquiryStartAt=2025-01-08"
                "&inquiryEndAt=2025-01-14&pageNum=1&pageSize=50",
                f"{PRODUCT_PATH}?vendorId=A00012345&answeredType=NOANSWER&inquiryStartAt=2025-01-15"
                "&inquiryEndAt=2025-01-15&pageNum=1&pageSize=50",
            ],
        ),
        (
            StreamKind.CALL_CENTER,
            "v4",
            [
                f"{CALL_CENTER_PATH.replace('v5', 'v4')}?vendorId=A00012345&partnerCounselingStatus=NONE"
                "&inquiryStartAt=2025-01-12&inquiryEndAt=2025-01-15&pageNum=1&pageSize=30",
                f"{CALL_CENTER_PATH.replace('v5', 'v4')}?vendorId=A00012345&partnerCounselingStatus=NO_ANSWER"
                "&inquiryStartAt=2025-01-01&inquiryEndAt=2025-01-07&pageNum=1&pageSize=30",
                f"{CALL_CENTER_PATH.replace('v5', 'v4')}?vendorId=A00012345&partnerCounselingStatus=NO_ANSWER"
                "&inquiryStartAt=2025-01-08&inquiryEndAt=2025-01-14&pageNum=1&pageSize=30",
                f"{CALL_CENTER_PATH.replace('v5', 'v4')}?vendorId=A00012345&partnerCounselingStatus=NO_ANSWER"
                "&inquiryStartAt=2025-01-15&inquiryEndAt=2025-01-15&pageNum=1&pageSize=30",
            ],
        ),
    ],
)
async def test_each_stream_sends_its_params_in_the_documented_order(
    clock: FakeClock,
    make_connector: Callable[..., CoupangConnector],
    stream: StreamKind,
    api_version: str,
    expected: list[str],
) -> None:
    api = FakeCoupang(clock)
    result = await make_connector(api, clock, api_version=api_version).poll(stream, None, now=NOW)
    assert [r.url.raw_path.decode() for r in api.requests] == expected
    assert result.requests == len(expected)


async def test_pages_are_read_until_total_pages(
    clock: FakeClock, make_connector: Callable[..., CoupangConnector]
) -> None:
    api = FakeCoupang(clock, {("ALL", 1): ok("product_qna_v4_page1.json"), ("ALL", 2): ok("product_qna_v5_page2.json")})
    result = await make_connector(api, clock).poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    assert [r.url.params["pageNum"] for r in api.requests if r.url.params["answeredType"] == "ALL"] == ["1", "2"]
    assert sorted(i.external_id for i in result.inquiries) == ["844", "845", "846"]


@pytest.mark.parametrize(
    ("routes", "expected_pages"),
    [
        # totalPages promises more, but page 2 is empty: the data has run out.
        ({("ALL", 1): page([row(1)], 1, 99)}, ["1", "2"]),
        # The server keeps echoing currentPage 1; our own counter still stops at totalPages.
        (
            {("ALL", 1): page([row(1)], 1, 3), ("ALL", 2): page([row(2)], 1, 3), ("ALL", 3): page([row(3)], 1, 3)},
            ["1", "2", "3"],
        ),
        ({("ALL", 1): page([row(1)], 1, 1)}, ["1"]),
    ],
)
async def test_paging_stops_on_empty_pages_and_stale_current_page(
    clock: FakeClock,
    make_connector: Callable[..., CoupangConnector],
    routes: dict[tuple[str, int], Responder],
    expected_pages: list[str],
) -> None:
    api = FakeCoupang(clock, routes)
    await make_connector(api, clock).poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    assert [r.url.params["pageNum"] for r in api.requests if r.url.params["answeredType"] == "ALL"] == expected_pages


# --- cursor --------------------------------------------------------------------------------------------------


async def test_cursor_is_the_last_sweep_time_and_round_trips(
    clock: FakeClock, make_connector: Callable[..., CoupangConnector]
) -> None:
    api = FakeCoupang(clock)
    connector = make_connector(api, clock)
    first = await connector.poll(StreamKind.CALL_CENTER, None, now=NOW)
    later = NOW + timedelta(minutes=1)
    second = await connector.poll(StreamKind.CALL_CENTER, json.loads(json.dumps(first.cursor)), now=later)
    third = await connector.poll(StreamKind.CALL_CENTER, json.loads(json.dumps(second.cursor)), now=NOW + HOUR)
    # The first poll sweeps; a quick poll a minute later keeps the sweep's time; an hour on, a sweep is due again.
    assert dict(first.cursor) == {"v": 2, "swept": "2025-01-15T03:00:00+00:00"}
    assert dict(second.cursor) == {"v": 2, "swept": "2025-01-15T03:00:00+00:00"}
    assert dict(third.cursor) == {"v": 2, "swept": "2025-01-15T04:00:00+00:00"}
    assert api.windows("NONE")[-1] == (TODAY - timedelta(days=6), TODAY)


@pytest.mark.parametrize(
    "cursor",
    [
        {"v": 2, "through": "2025-01-14T00:00:00+00:00"},
        {"v": 3, "swept": "2025-01-14T00:00:00+00:00"},
        {"v": 2, "swept": "2025-01-14T00:00:00"},
        {"v": 1},
        {"v": 1, "through": "yesterday"},
        {"v": 1, "through": "2025-01-14T00:00:00"},
    ],
)
async def test_unreadable_cursor_backfills_and_warns(
    clock: FakeClock, make_connector: Callable[..., CoupangConnector], cursor: dict[str, Any]
) -> None:
    api = FakeCoupang(clock)
    with capture_logs() as logs:
        await make_connector(api, clock, backfill_days=3).poll(StreamKind.PRODUCT_QNA, cursor, now=NOW)
    assert api.windows("ALL")[0][0] == TODAY - timedelta(days=3)
    assert [e["event"] for e in logs] == ["coupang.cursor_unreadable"]


# --- answered detection, snapshot ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "stream", "inquiry_id", "answered", "answered_at"),
    [
        # Two comments (10:05:00, 16:18:09): the first answer's time, which the seller score counts.
        ("product_qna_v4_page1.json", StreamKind.PRODUCT_QNA, 844, True, datetime(2025, 1, 14, 10, 5, tzinfo=KST)),
        ("product_qna_v4_page1.json", StreamKind.PRODUCT_QNA, 845, False, None),
        ("product_qna_v5_page2.json", StreamKind.PRODUCT_QNA, 846, False, None),
        # csPartnerCounselingStatus answered: answeredAt is the answer time.
        (
            "call_center_v4.json",
            StreamKind.CALL_CENTER,
            1015668177,
            True,
            datetime(2025, 1, 14, 16, 56, 16, tzinfo=KST),
        ),
        # An agent transferred it and asks for an answer.
        ("call_center_v4.json", StreamKind.CALL_CENTER, 1015668200, False, None),
        # Still requestAnswer, but Coupang closed it: nothing can be answered any more.
        ("call_center_v4.json", StreamKind.CALL_CENTER, 1015668300, True, datetime(2025, 1, 13, 10, 0, tzinfo=KST)),
        # Never transferred to the seller.
        ("call_center_v4.json", StreamKind.CALL_CENTER, 1007837450, True, None),
        # Summary says answered, but a newer transfer needs an answer.
        ("call_center_v5.json", StreamKind.CALL_CENTER, 1015669001, False, None),
    ],
)
def test_answered_detection(
    name: str, stream: StreamKind, inquiry_id: int, answered: bool, answered_at: datetime | None
) -> None:
    inquiry = to_inquiry(row_by_id(name, inquiry_id), "acct-1", stream)
    assert (inquiry.answered, inquiry.answered_at) == (answered, answered_at)


async def test_open_snapshot_lists_every_unanswered_id_of_the_recheck_range(
    clock: FakeClock, make_connector: Callable[..., CoupangConnector]
) -> None:
    api = FakeCoupang(
        clock,
        {
            ("NONE", 1): ok("call_center_v4.json"),
            ("NO_ANSWER", 1): ok("call_center_noanswer_page1.json"),
            ("NO_ANSWER", 2): ok("call_center_noanswer_page2.json"),
        },
    )
    result = await make_connector(api, clock).poll(StreamKind.CALL_CENTER, None, now=NOW)
    assert result.open_snapshot == OpenSnapshot(
        received_from=datetime(2025, 1, 1, tzinfo=KST),
        received_to=NOW,
        open_external_ids=frozenset({"1015668200", "1015660001"}),
    )
    # Every window of the recheck range is read to its last page (this fake serves two pages to each).
    assert api.windows("NO_ANSWER") == [
        (date(2025, 1, 1), date(2025, 1, 7)),
        (date(2025, 1, 1), date(2025, 1, 7)),
        (date(2025, 1, 8), date(2025, 1, 14)),
        (date(2025, 1, 8), date(2025, 1, 14)),
        (date(2025, 1, 15), date(2025, 1, 15)),
        (date(2025, 1, 15), date(2025, 1, 15)),
    ]


async def test_no_result_at_all_when_a_later_open_page_fails(
    clock: FakeClock, make_connector: Callable[..., CoupangConnector]
) -> None:
    api = FakeCoupang(
        clock,
        {("NO_ANSWER", 1): ok("call_center_noanswer_page1.json"), ("NO_ANSWER", 2): reply(502, text="bad gateway")},
    )
    with pytest.raises(Unavailable):
        await make_connector(api, clock).poll(StreamKind.CALL_CENTER, None, now=NOW)


async def test_open_row_without_id_drops_the_snapshot(
    clock: FakeClock, make_connector: Callable[..., CoupangConnector]
) -> None:
    api = FakeCoupang(clock, {("NO_ANSWER", 1): ok("call_center_v5.json")})
    with capture_logs() as logs:
        result = await make_connector(api, clock, recheck_days=6).poll(StreamKind.CALL_CENTER, None, now=NOW)
    assert (result.open_snapshot, result.skipped) == (None, 1)
    assert [e["event"] for e in logs] == ["coupang.item_skipped", "coupang.snapshot_dropped"]


@pytest.mark.parametrize(
    ("routes", "snapshot_ids"),
    [
        ({("NOANSWER", 1): page([row(1)], 1, 2, 2), ("NOANSWER", 2): page([row(2)], 2, 2, 2)}, frozenset({"1", "2"})),
        # Row 1 was answered between the two reads: row 2 slid onto page 1, which was already read.
        ({("NOANSWER", 1): page([row(1)], 1, 2, 2), ("NOANSWER", 2): page([row(3)], 2, 2, 1)}, None),
        # The listing shrank to one page under us: page 2 comes back empty.
        ({("NOANSWER", 1): page([row(1)], 1, 2, 2)}, None),
    ],
)
async def test_snapshot_is_dropped_when_the_listing_moves_while_paging(
    clock: FakeClock,
    make_connector: Callable[..., CoupangConnector],
    routes: dict[tuple[str, int], Responder],
    snapshot_ids: frozenset[str] | None,
) -> None:
    api = FakeCoupang(clock, routes)
    result = await make_connector(api, clock, recheck_days=6).poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    assert getattr(result.open_snapshot, "open_external_ids", None) == snapshot_ids


# --- normalization -------------------------------------------------------------------------------------------


async def test_malformed_rows_are_skipped_counted_and_logged_without_row_text(
    clock: FakeClock, make_connector: Callable[..., CoupangConnector]
) -> None:
    api = FakeCoupang(clock, {("ALL", 1): ok("product_qna_v4_page1.json"), ("ALL", 2): ok("product_qna_v5_page2.json")})
    with capture_logs() as logs:
        result = await make_connector(api, clock).poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    assert (len(result.inquiries), result.skipped) == (3, 1)
    assert logs == [
        {
            "event": "coupang.item_skipped",
            "log_level": "warning",
            "account_id": "acct-1",
            "stream": "product_qna",
            "reason": "inquiryAt: not a date-time",
        }
    ]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ([], "row: expected an object"),
        ({"content": "q", "inquiryAt": "2025-01-15 08:00:00"}, "inquiryId: missing"),
        ({"inquiryId": True, "content": "q", "inquiryAt": "2025-01-15 08:00:00"}, "inquiryId: expected a numeric id"),
        ({"inquiryId": "84x", "content": "q", "inquiryAt": "2025-01-15 08:00:00"}, "inquiryId: expected a numeric id"),
        ({"inquiryId": 1, "content": 5, "inquiryAt": "2025-01-15 08:00:00"}, "content: expected a string"),
        ({"inquiryId": 1, "content": "q", "inquiryAt": 1736895600000}, "inquiryAt: expected a date-time string"),
        (
            {"inquiryId": 1, "content": "q", "inquiryAt": "2025-01-15 08:00:00", "commentDtoList": {}},
            "commentDtoList: expected a list",
        ),
        (
            {"inquiryId": 1, "content": "q", "inquiryAt": "2025-01-15 08:00:00", "commentDtoList": [{"content": "a"}]},
            "inquiryCommentAt: missing",
        ),
    ],
)
def test_malformed_product_rows_name_the_field_not_the_value(raw: Any, reason: str) -> None:
    with pytest.raises(MalformedItem) as caught:
        to_inquiry(raw, "acct-1", StreamKind.PRODUCT_QNA)
    assert str(caught.value) == reason


@pytest.mark.parametrize(
    ("name", "stream", "inquiry_id", "received_at"),
    [
        ("product_qna_v4_page1.json", StreamKind.PRODUCT_QNA, 845, datetime(2025, 1, 15, 8, tzinfo=KST)),
        ("product_qna_v5_page2.json", StreamKind.PRODUCT_QNA, 846, datetime(2025, 1, 14, 23, tzinfo=UTC)),
        ("call_center_v4.json", StreamKind.CALL_CENTER, 1015668200, datetime(2025, 1, 15, 9, 5, 12, tzinfo=KST)),
        ("call_center_v5.json", StreamKind.CALL_CENTER, 1015669001, datetime(2025, 1, 14, 0, 59, tzinfo=UTC)),
    ],
)
def test_v4_naive_and_v5_offset_times_are_the_same_instant_in_kst(
    name: str, stream: StreamKind, inquiry_id: int, received_at: datetime
) -> None:
    inquiry = to_inquiry(row_by_id(name, inquiry_id), "acct-1", stream)
    assert (inquiry.received_at, inquiry.received_at.utcoffset()) == (received_at, timedelta(hours=9))


@pytest.mark.parametrize("code", ["200", 200])
async def test_envelope_code_as_string_or_number(
    clock: FakeClock, make_connector: Callable[..., CoupangConnector], code: Any
) -> None:
    payload = fixture("product_qna_noanswer.json") | {"code": code}
    api = FakeCoupang(clock, {("ALL", 1): lambda request: httpx.Response(200, json=payload)})
    result = await make_connector(api, clock).poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    assert sorted(i.external_id for i in result.inquiries) == ["700", "845", "846"]


def test_product_qna_row_normalization() -> None:
    inquiry = to_inquiry(row_by_id("product_qna_v4_page1.json", 844), "acct-1", StreamKind.PRODUCT_QNA)
    assert (inquiry.marketplace, inquiry.key.external_id, inquiry.category, inquiry.order_id, inquiry.buyer) == (
        Marketplace.COUPANG,
        "844",
        Category.PRODUCT,
        "16000009476673",
        None,
    )
    assert (inquiry.body, inquiry.product_name) == ("사이즈가 정사이즈인가요?", None)


def test_product_qna_body_is_html_unescaped() -> None:
    inquiry = to_inquiry(row_by_id("product_qna_v4_page1.json", 845), "acct-1", StreamKind.PRODUCT_QNA)
    assert (inquiry.body, inquiry.order_id) == ("재입고 <언제> 되나요?", None)


def test_call_center_body_is_content_plus_latest_agent_reply() -> None:
    inquiry = to_inquiry(row_by_id("call_center_v4.json", 1015668200), "acct-1", StreamKind.CALL_CENTER)
    assert inquiry.body == (
        "상담이력\n\n[판매자이관]\n◼고객명/연락처: <<홍길동/010-1234-5678>>\n"
        "◼문의내용: 배송이 너무 늦어요. 오늘 출고되나요?"
    )
    assert (inquiry.buyer, inquiry.order_id, inquiry.product_name, inquiry.category, inquiry.title) == (
        "홍길동",  # named in the agent's transfer note: Coupang has no buyer name field
        "10000011241320",
        "몬스터주식회사 맨투맨, (17)Dark Gray, S",
        Category.DELIVERY,
        "배송문의>배송지연>출고지연",
    )


@pytest.mark.parametrize(
    ("note", "buyer"),
    [
        ("[판매자이관]\n◼고객명/연락처: <<홍길동/010-1234-5678>>\n◼문의내용: 배송", "홍길동"),
        ("고객명/연락처: 윤성민/010-****-5845", "윤성민"),
        ("◼고객명: 남궁민수 님\n◼문의내용: 환불", "남궁민수"),
        ("◼주문자: 홍*동, 010-****-1234", "홍*동"),  # Coupang's own masked form: the masker matches it too
        ("◼고객 성함: John Smith\n", "John Smith"),
        ("◼문의자: 대상 아님", None),  # the slot says there is no one to name
        ("◼고객명/연락처: 대상 아님\n", None),
        ("[판매자이관] 김민수 고객님 010-1234-5678 배송 문의", None),  # no label: left to the masker
        ("", None),
    ],
)
def test_buyer_named_in_an_agent_note(note: str, buyer: str | None) -> None:
    assert buyer_in_notes([note]) == buyer


def test_call_center_buyer_from_the_latest_agent_note_that_names_one() -> None:
    raw = row_by_id("call_center_v4.json", 1015668200)
    earlier = {
        **raw["replies"][0],
        "content": "◼고객명/연락처: <<김민수/010-1111-2222>>",
        "replyAt": "2018-01-08 10:00:00",
    }
    later = {**raw["replies"][0], "content": "◼문의내용: 재문의", "replyAt": "2018-01-08 23:00:00"}
    inquiry = to_inquiry({**raw, "replies": [earlier, later]}, "acct-1", StreamKind.CALL_CENTER)
    assert (inquiry.buyer, "김민수" in inquiry.body) == ("김민수", False)


@pytest.mark.parametrize(
    ("name", "inquiry_id", "body"),
    [
        # The vendor's own reply is not the request; the agent's transfer note is.
        (
            "call_center_v4.json",
            1015668177,
            "상담이력\n\n[판매자이관]\n◼주문번호: 10000011255416\n◼문의내용: 입고 확인후 환불 처리 부탁 드립니다.",
        ),
        ("call_center_v4.json", 1007837450, "[통합이관]\n◼아이템: 하<와>이 기저귀1\n◼문의자: 대상 아님"),
        ("call_center_v5.json", 1015669001, "상담이력\n\n[판매자이관]\n◼문의내용: 환불 일정 재문의"),
    ],
)
def test_call_center_body_never_holds_the_masked_phone_field(name: str, inquiry_id: int, body: str) -> None:
    raw = row_by_id(name, inquiry_id)
    inquiry = to_inquiry(raw, "acct-1", StreamKind.CALL_CENTER)
    assert (inquiry.body, raw["buyerPhone"] in inquiry.body) == (body, False)


@pytest.mark.parametrize(
    ("receipt_category", "category"),
    [
        ("배송문의>배송불량>상품누락(재배송 요청)", Category.DELIVERY),
        ("배송지시 이후 반품문의>상품불량 반품>사용중결함 반품", Category.RETURN),
        ("취소/반품 후단관리>회수확인>고객반송확인", Category.RETURN),
        ("교환문의>사이즈교환", Category.EXCHANGE),
        ("주문취소>단순변심", Category.CANCEL),
        ("환불문의>환불지연", Category.REFUND),
        ("쇼핑상품문의>쇼핑상품상세문의>AS방법문의", Category.PRODUCT),
        ("기타문의>기타>전상담사통화요청", Category.OTHER),
        (None, Category.OTHER),
    ],
)
def test_call_center_category_from_receipt_category(receipt_category: str | None, category: Category) -> None:
    assert category_of(receipt_category) == category


# --- errors --------------------------------------------------------------------------------------------------

HTML_403 = (
    "<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n"
    "You don't have permission to access this server.<P>\nReference&#32;&#35;18&#46;abc</BODY>\n</HTML>\n"
)
RETRY_DATE = format_datetime(NOW.astimezone(UTC) + timedelta(seconds=120), usegmt=True)

ERROR_CASES = [
    pytest.param(reply(429, headers={"Retry-After": "30"}), RateLimited, 30.0, id="429-seconds"),
    pytest.param(reply(429, headers={"Retry-After": RETRY_DATE}), RateLimited, 120.0, id="429-http-date"),
    pytest.param(reply(429, text="Too Many Requests"), RateLimited, 60.0, id="429-default"),
    pytest.param(reply(429, headers={"Retry-After": "soon"}), RateLimited, 60.0, id="429-unreadable"),
    pytest.param(reply(403, text=HTML_403, headers={"Content-Type": "text/html"}), Unavailable, 600.0, id="403-html"),
    pytest.param(reply(401, json=fixture("auth_401.json")), AuthFailed, None, id="401-json"),
    pytest.param(reply(403, json=fixture("forbidden_ip_403.json")), AuthFailed, None, id="403-json-ip"),
    pytest.param(reply(403, json={"code": 403, "message": "Invalid signature."}), AuthFailed, None, id="403-json-sig"),
    pytest.param(reply(403, json={"code": 403, "message": "Forbidden"}), Unavailable, 600.0, id="403-json-other"),
    pytest.param(reply(500, text="oops"), Unavailable, None, id="500"),
    pytest.param(reply(503, headers={"Retry-After": "120"}), Unavailable, 120.0, id="503-retry-after"),
    pytest.param(reply(400, json=fixture("bad_request_400.json")), Unavailable, None, id="400"),
    pytest.param(reply(404, text="not found"), Unavailable, None, id="404"),
    pytest.param(reply(200, text="<html>maintenance</html>"), Unavailable, None, id="200-not-json"),
    pytest.param(reply(200, json=fixture("error_envelope_500.json")), Unavailable, None, id="200-code-500"),
    pytest.param(reply(200, json=["not", "an", "envelope"]), Unavailable, None, id="200-not-an-object"),
    pytest.param(reply(200, json={"code": 200, "data": {"content": [row(1)]}}), Unavailable, None, id="no-pagination"),
    pytest.param(reply(200, json={"code": 200, "data": {"content": "x"}}), Unavailable, None, id="content-not-list"),
    pytest.param(raise_(httpx.ReadTimeout), Unavailable, None, id="timeout"),
    pytest.param(raise_(httpx.ConnectError), Unavailable, None, id="connect-error"),
]


@pytest.mark.parametrize(("responder", "error", "retry_after_s"), ERROR_CASES)
async def test_errors_map_to_one_connector_error(
    clock: FakeClock,
    make_connector: Callable[..., CoupangConnector],
    responder: Responder,
    error: type[ConnectorError],
    retry_after_s: float | None,
) -> None:
    connector = make_connector(Sequenced(clock, responder), clock)
    with pytest.raises(ConnectorError) as caught:
        await connector.poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    assert (type(caught.value), caught.value.retry_after_s) == (error, retry_after_s)


@pytest.mark.parametrize(("responder", "error", "retry_after_s"), ERROR_CASES)
async def test_no_key_leaks_into_errors_or_logs(
    clock: FakeClock,
    make_connector: Callable[..., CoupangConnector],
    responder: Responder,
    error: type[ConnectorError],
    retry_after_s: float | None,
) -> None:
    connector = make_connector(Sequenced(clock, responder), clock)
    with capture_logs() as logs, pytest.raises(error) as caught:
        await connector.poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    exposed = "".join(traceback.format_exception(caught.value)) + repr(caught.value.args) + repr(logs) + repr(connector)
    assert [key for key in (SECRET_KEY, ACCESS_KEY, "CEA algorithm", "signature=") if key in exposed] == []


@pytest.mark.parametrize(
    ("responder", "fragment"),
    [
        (
            reply(400, json=fixture("bad_request_400.json")),
            "400 request rejected: inquiryEndAt - inquiryStartAt must be",
        ),
        (reply(401, json=fixture("auth_401.json")), "401 credentials refused: Invalid signature for access-key ***"),
        (reply(200, json=fixture("error_envelope_500.json")), "envelope code 500: Internal error"),
    ],
)
async def test_error_text_keeps_the_server_message(
    clock: FakeClock, make_connector: Callable[..., CoupangConnector], responder: Responder, fragment: str
) -> None:
    with pytest.raises(ConnectorError, match=re.escape(fragment)):
        await make_connector(Sequenced(clock, responder), clock).poll(StreamKind.PRODUCT_QNA, None, now=NOW)


# --- request budget ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rate_per_s", "backfill_days", "requests"), [(2.0, 20, 6), (1.0, 3, 4), (0.5, 3, 4)])
async def test_requests_never_exceed_the_budget(
    clock: FakeClock,
    make_connector: Callable[..., CoupangConnector],
    rate_per_s: float,
    backfill_days: int,
    requests: int,
) -> None:
    api = FakeCoupang(clock)
    connector = make_connector(api, clock, max_requests_per_s=rate_per_s, backfill_days=backfill_days)
    result = await connector.poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    gaps = [b - a for a, b in itertools.pairwise(api.sent_at)]
    assert (result.requests, len(api.requests)) == (requests, requests)
    assert sum(clock.sleeps) >= (requests - 1) / rate_per_s
    assert min(gaps) >= 1 / rate_per_s


async def test_both_streams_share_one_budget(clock: FakeClock, make_connector: Callable[..., CoupangConnector]) -> None:
    # Back to back, as two stream tasks would run: the call-center poll's first request still waits its turn.
    api = FakeCoupang(clock)
    connector = make_connector(api, clock, max_requests_per_s=2.0)
    product = await connector.poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    call_center = await connector.poll(StreamKind.CALL_CENTER, None, now=NOW)
    gaps = [b - a for a, b in itertools.pairwise(api.sent_at)]
    assert (product.requests + call_center.requests, len(api.requests)) == (8, 8)
    assert (min(gaps), sum(clock.sleeps)) == (0.5, 3.5)


async def test_rate_limit_pushes_the_next_request_back(
    clock: FakeClock, make_connector: Callable[..., CoupangConnector]
) -> None:
    api = Sequenced(clock, reply(429, headers={"Retry-After": "30"}), *[ok("empty_page.json")] * 4)
    connector = make_connector(api, clock)
    with pytest.raises(RateLimited):
        await connector.poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    await connector.poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    assert api.sent_at[1] - api.sent_at[0] >= 30.0


# --- construction and lifecycle ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"vendor_id": "A0001/../x"},
        {"vendor_id": ""},
        {"api_version": "v3"},
        {"streams": ()},
        {"streams": (StreamKind.URGENT,)},
        {"streams": (StreamKind.PRODUCT_QNA, StreamKind.PRODUCT_QNA)},
        {"backfill_days": -1},
        {"recheck_days": -1},
        {"max_requests_per_s": 0},
    ],
)
def test_bad_configuration_is_refused(clock: FakeClock, overrides: dict[str, Any]) -> None:
    options: dict[str, Any] = {
        "account_id": "acct-1",
        "vendor_id": VENDOR_ID,
        "access_key": SecretStr(ACCESS_KEY),
        "secret_key": SecretStr(SECRET_KEY),
        "client": httpx.AsyncClient(transport=httpx.MockTransport(FakeCoupang(clock))),
        "clock": clock,
    }
    with pytest.raises(ValueError):
        CoupangConnector(**(options | overrides))


async def test_polling_a_disabled_stream_is_a_bug(
    clock: FakeClock, make_connector: Callable[..., CoupangConnector]
) -> None:
    connector = make_connector(FakeCoupang(clock), clock, streams=(StreamKind.CALL_CENTER,))
    with pytest.raises(ValueError):
        await connector.poll(StreamKind.PRODUCT_QNA, None, now=NOW)


async def test_aclose_closes_the_client(clock: FakeClock) -> None:
    client = httpx.AsyncClient(base_url=BASE_URL, transport=httpx.MockTransport(FakeCoupang(clock)))
    connector = CoupangConnector(
        account_id="acct-1",
        vendor_id=VENDOR_ID,
        access_key=SecretStr(ACCESS_KEY),
        secret_key=SecretStr(SECRET_KEY),
        client=client,
        clock=clock,
    )
    await connector.aclose()
    assert (client.is_closed, connector.marketplace) == (True, Marketplace.COUPANG)
