"""ESM connector: JWT, window walking with end date + 1, sites, casing, tokens, malformed rows, errors, leaks.

HTTP is faked at the outermost edge with `httpx.MockTransport`; time is a FakeClock. No network, no sleeping.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from connectors.base import AuthFailed, ConnectorError, RateLimited, Unavailable
from connectors.esm.connector import EsmConnector
from connectors.esm.rows import Sellers, board_inquiry, urgent_inquiry
from core.models import KST, Category, Marketplace, StreamKind
from tests.fakes import FakeClock

FIXTURES = Path(__file__).parent.parent / "fixtures" / "esm"
SECRET = "esm-secret-Zq81kd"
MASTER = "master01"
BASE_URL = "https://sa2.esmplus.com"
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=KST)
TODAY = NOW.date()
QNA, URGENT = StreamKind.PRODUCT_QNA, StreamKind.URGENT

Responder = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def make(
    responder: Responder, *, gmarket: str | None = "gseller", auction: str | None = "aseller", **kwargs: Any
) -> tuple[EsmConnector, list[httpx.Request], FakeClock]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responder(request)

    clock = FakeClock(NOW)
    client = httpx.AsyncClient(base_url=BASE_URL, transport=httpx.MockTransport(handler))
    connector = EsmConnector(
        account_id="esm-shop",
        master_id=MASTER,
        secret_key=SecretStr(SECRET),
        gmarket_seller_id=gmarket,
        auction_seller_id=auction,
        client=client,
        clock=clock,
        **kwargs,
    )
    return connector, seen, clock


def body_of(request: httpx.Request) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(request.content)
    return loaded


def by_path(board: Any, urgent: Any = None) -> Responder:
    def responder(request: httpx.Request) -> httpx.Response:
        payload = board if request.url.path.endswith("bulletin-board") else urgent
        return httpx.Response(200, json=payload)

    return responder


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # our own check of a short secret
@pytest.mark.parametrize(
    ("gmarket", "auction", "ssi"),
    [("gseller", "aseller", "A:aseller,G:gseller"), ("gseller", None, "G:gseller"), (None, "aseller", "A:aseller")],
)
async def test_jwt_carries_kid_and_documented_claims(gmarket: str | None, auction: str | None, ssi: str) -> None:
    connector, _, _ = make(by_path([]), gmarket=gmarket, auction=auction)
    token = connector.bearer_token()
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="sa.esmplus.com", options={"verify_exp": False})
    assert header == {"alg": "HS256", "typ": "JWT", "kid": MASTER}
    assert {k: claims[k] for k in ("iss", "sub", "aud", "ssi")} == {
        "iss": "inqd",
        "sub": "sell",
        "aud": "sa.esmplus.com",
        "ssi": ssi,
    }
    assert claims["exp"] - claims["iat"] == 300
    assert claims["iat"] == int(NOW.timestamp())


@pytest.mark.parametrize(
    ("gmarket", "auction", "qna_types"),
    [("gseller", "aseller", [1, 2, 3]), ("gseller", None, [3]), (None, "aseller", [1, 2])],
)
async def test_polls_the_qna_types_of_the_configured_sites(
    gmarket: str | None, auction: str | None, qna_types: list[int]
) -> None:
    connector, seen, _ = make(by_path([]), gmarket=gmarket, auction=auction)
    result = await connector.poll(QNA, None, now=NOW)
    assert [body_of(r)["qnaType"] for r in seen] == qna_types * 2
    assert [body_of(r)["status"] for r in seen] == [1] * len(qna_types) + [2] * len(qna_types)
    assert result.requests == 2 * len(qna_types)
    assert {r.url.path for r in seen} == {"/item/v1/communications/customer/bulletin-board"}
    assert {r.headers["Authorization"].split()[0] for r in seen} == {"Bearer"}


@pytest.mark.parametrize(
    ("backfill_days", "windows"),
    [
        (3, [(TODAY - timedelta(days=3), TODAY + timedelta(days=1))]),
        (0, [(TODAY, TODAY + timedelta(days=1))]),
        (
            10,
            [
                (TODAY - timedelta(days=10), TODAY - timedelta(days=3)),
                (TODAY - timedelta(days=3), TODAY + timedelta(days=1)),
            ],
        ),
    ],
)
async def test_window_walk_sends_end_date_plus_one(backfill_days: int, windows: list[Any]) -> None:
    connector, seen, _ = make(by_path([]), gmarket="gseller", auction=None, backfill_days=backfill_days)
    await connector.poll(QNA, None, now=NOW)
    changed = [(body_of(r)["startDate"], body_of(r)["endDate"]) for r in seen if body_of(r)["status"] == 1]
    still_open = [(body_of(r)["startDate"], body_of(r)["endDate"]) for r in seen if body_of(r)["status"] == 2]
    assert changed == [(a.isoformat(), b.isoformat()) for a, b in windows]
    # recheck_days=6: 7 dates, one window, end + 1.
    assert still_open == [((TODAY - timedelta(days=6)).isoformat(), (TODAY + timedelta(days=1)).isoformat())]
    assert {body_of(r)["type"] for r in seen} == {1}


async def test_cursor_resumes_from_its_date_less_overlap() -> None:
    # recheck_days=0: the quick window is today alone, so the sweep (due an hour on) starts at the last one's date
    # less the overlap; with the default 7-date quick window it starts at that window's first date.
    connector, seen, _ = make(by_path([]), gmarket="gseller", auction=None, recheck_days=0)
    cursor = {"v": 1, "through": (NOW - timedelta(hours=1)).isoformat()}
    await connector.poll(QNA, cursor, now=NOW)
    assert body_of(seen[0])["startDate"] == (TODAY - timedelta(days=1)).isoformat()
    wide, seen, _ = make(by_path([]), gmarket="gseller", auction=None)
    await wide.poll(QNA, {"v": 2, "swept": (NOW - timedelta(hours=1)).isoformat()}, now=NOW)
    assert body_of(seen[0])["startDate"] == (TODAY - timedelta(days=6)).isoformat()


@pytest.mark.parametrize("name", ["board_official.json", "board_camel.json"])
async def test_casing_and_shape_tolerant_rows_labelled_by_site(name: str) -> None:
    data = fixture(name)
    connector, _, _ = make(by_path(data), gmarket="gseller", auction=None)
    result = await connector.poll(QNA, None, now=NOW)
    got = {i.external_id: i for i in result.inquiries}
    assert sorted(got) == ["A:3578427", "G:3578427"]  # same MessageNo on both sites, kept apart
    gmarket, auction = got["G:3578427"], got["A:3578427"]
    assert (gmarket.site, gmarket.shop, auction.site, auction.shop) == ("G마켓", "G마켓", "옥션", "옥션")
    assert (gmarket.answer_ref, auction.answer_ref) == ("tok-g-1", "tok-a-1")
    assert (gmarket.answered, auction.answered) == (False, True)
    assert auction.answered_at == datetime(2025, 1, 15, 8, 0, tzinfo=KST)
    assert gmarket.received_at == datetime(2025, 1, 15, 9, 12, 30, tzinfo=KST)
    assert (gmarket.body, gmarket.title, gmarket.order_id) == ("언제 발송되나요?", "배송 문의", "4100001")
    assert (gmarket.category, auction.category) == (Category.DELIVERY, Category.PRODUCT)
    assert {i.marketplace for i in result.inquiries} == {Marketplace.ESM}
    assert result.skipped == 0


async def test_open_snapshot_names_the_unanswered_ids() -> None:
    open_only = [row for row in fixture("board_official.json") if row["InformStatus"] == "미처리"]

    def responder(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json=fixture("board_official.json") if body_of(request)["status"] == 1 else open_only
        )

    connector, _, _ = make(responder, gmarket="gseller", auction=None)
    result = await connector.poll(QNA, None, now=NOW)
    assert result.open_snapshot is not None
    assert result.open_snapshot.open_external_ids == frozenset({"G:3578427"})
    assert result.open_snapshot.received_from == datetime(2025, 1, 9, tzinfo=KST)
    assert result.open_snapshot.received_to == NOW


async def test_malformed_rows_are_skipped_and_counted() -> None:
    connector, _, _ = make(by_path(fixture("board_malformed.json")), gmarket="gseller", auction=None)
    with capture_logs() as logs:
        result = await connector.poll(QNA, None, now=NOW)
    assert [i.external_id for i in result.inquiries] == ["G:1001"]
    assert result.skipped == 4 + 2  # four in the changed pass, two unnamed in the open pass
    assert result.open_snapshot is None
    assert {e["event"] for e in logs} >= {"esm.item_skipped", "esm.snapshot_dropped"}


async def test_urgent_list_normalizes_both_sites() -> None:
    connector, seen, _ = make(by_path([], fixture("urgent.json")))
    result = await connector.poll(URGENT, None, now=NOW)
    got = {i.external_id: i for i in result.inquiries}
    assert [r.url.path for r in seen] == ["/assist/v1/Selling/GetEmergencyInformList"] * 2
    assert [body_of(r)["status"] for r in seen] == [1, 2]
    assert "qnaType" not in body_of(seen[0])
    assert (got["88001"].site, got["88001"].answer_ref, got["88001"].answered) == ("G마켓", "emer-tok", False)
    assert (got["88002"].site, got["88002"].answer_ref, got["88002"].answered) == ("옥션", None, True)
    assert {i.stream for i in result.inquiries} == {URGENT}


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("boom", request=request)


@pytest.mark.parametrize(
    ("responder", "error", "retry_after_s"),
    [
        (lambda r: httpx.Response(401, json=fixture("unauthorized_401.json")), AuthFailed, None),
        (lambda r: httpx.Response(403, text="<html>Forbidden</html>"), AuthFailed, None),
        (lambda r: httpx.Response(200, json=fixture("result_code_1000.json")), Unavailable, None),
        (lambda r: httpx.Response(429, headers={"Retry-After": "17"}), RateLimited, 17.0),
        (lambda r: httpx.Response(429), RateLimited, 60.0),
        (lambda r: httpx.Response(500, json={"Message": "Error getting value from 'Type'"}), Unavailable, None),
        (lambda r: httpx.Response(503), Unavailable, None),
        (lambda r: httpx.Response(400, json={"message": "bad"}), Unavailable, None),
        (lambda r: httpx.Response(200, content=b'[{"MessageNo"'), Unavailable, None),
        (lambda r: httpx.Response(200, json={"hello": 1}), Unavailable, None),
        (timeout, Unavailable, None),
    ],
)
async def test_error_mapping(responder: Responder, error: type[ConnectorError], retry_after_s: float | None) -> None:
    connector, _, _ = make(responder)
    with pytest.raises(error) as caught:
        await connector.poll(QNA, None, now=NOW)
    assert type(caught.value) is error
    assert caught.value.retry_after_s == retry_after_s


@pytest.mark.parametrize(
    "responder",
    [
        lambda r: httpx.Response(401, json={"status": {"message": f"bad key {SECRET}", "status_code": 401}}),
        lambda r: httpx.Response(200, json={"resultCode": 9, "message": f"echo {SECRET}"}),
        lambda r: httpx.Response(400, text=f"echo {SECRET}"),
        lambda r: httpx.Response(500, json={"Message": SECRET}),
    ],
)
async def test_secret_never_in_errors_or_logs(responder: Responder) -> None:
    connector, _, _ = make(responder)
    with capture_logs() as logs, pytest.raises(ConnectorError) as caught:
        await connector.poll(QNA, None, now=NOW)
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(logs)
    assert SECRET not in repr(connector)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"gmarket_seller_id": None, "auction_seller_id": None},
        {"gmarket_seller_id": "a,b", "auction_seller_id": None},
        {"gmarket_seller_id": "g", "auction_seller_id": None, "master_id": " "},
        {"gmarket_seller_id": "g", "auction_seller_id": None, "streams": (StreamKind.CALL_CENTER,)},
        {"gmarket_seller_id": "g", "auction_seller_id": None, "secret_key": SecretStr("")},
    ],
)
def test_constructor_rejects_bad_configuration(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {
        "account_id": "x",
        "master_id": MASTER,
        "secret_key": SecretStr(SECRET),
        "client": httpx.AsyncClient(),
        "clock": FakeClock(NOW),
    }
    with pytest.raises(ValueError):
        EsmConnector(**{**args, **kwargs})


async def test_requests_are_paced_by_the_budget() -> None:
    connector, _, clock = make(by_path([]))
    await connector.poll(QNA, None, now=NOW)
    assert clock.sleeps == [5.0] * 5  # six requests at the default 0.2/s


@pytest.mark.parametrize(
    ("fields", "buyer"),
    [
        ({"BuyerName": "홍길순"}, "홍길순"),
        ({"buyerName": "홍*순"}, "홍*순"),  # casing folded; ESM's own masked form kept as the masker's cue
        ({"CustomerName": "남궁민수"}, "남궁민수"),
        ({"BuyerName": 12345}, None),  # a guessed field of another type never costs the row
        ({}, None),
    ],
)
def test_buyer_name_of_board_and_urgent_rows(fields: dict[str, Any], buyer: str | None) -> None:
    sellers = Sellers(gmarket="gseller", auction="aseller")
    board_row = {**fixture("board_official.json")[0], **fields}
    urgent_row = {**fixture("urgent.json")["Data"][0], **fields}
    board = board_inquiry(board_row, "esm-shop", sellers, 3)
    urgent = urgent_inquiry(urgent_row, "esm-shop", sellers)
    assert (board.buyer, urgent.buyer) == (buyer, buyer)
