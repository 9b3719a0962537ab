"""The Naver sandbox itself: token endpoint, 2026 enforcement, Bearer check, documented limits, paging, answers,
rate limit, faults, HTTP.

Token requests are signed by `sign()` below, written from marketplaces.md §2.2 independently of the sandbox's
verifier and pinned to the official test vector.
"""

from __future__ import annotations

import base64
import json
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import bcrypt
import httpx
import pytest

from connectors.sandbox import (
    Fault,
    NaverDateTimeStyle,
    NaverEndpoint,
    NaverInquiryGenerator,
    NaverSandbox,
    SandboxServer,
)
from core.models import KST
from tests.fakes import FakeClock

CLIENT_ID = "7dMvteboKNHwyRremLXXXX"
SECRET = "$2a$04$Q8SP.i/ETmug3tqiWEJXiO"  # cost 4 keeps the tests fast
OTHER_SECRET = "$2a$04$abcdefghijklmnopqrstuu"
START = datetime(2025, 1, 1, tzinfo=UTC)  # 09:00 on 2025-01-01 in Korea
START_MS = 1735689600000
BASE_URL = "https://api.commerce.naver.com/external"
TOKEN = "/v1/oauth2/token"
QNAS = "/v1/contents/qnas"
INQUIRIES = "/v1/pay-user/inquiries"
QNA_KEYS = {"createDate", "question", "answer", "answered", "productId", "productName", "maskedWriterId", "questionId"}
INQUIRY_KEYS = {
    "inquiryNo", "category", "title", "inquiryContent", "inquiryRegistrationDateTime", "answerContentId",
    "answerContent", "answerTemplateNo", "answerRegistrationDateTime", "answered", "orderId", "productNo",
    "productOrderIdList", "productName", "productOrderOption", "customerId", "customerName",
}  # fmt: skip
SPRING_KEYS = {
    "content", "totalPages", "totalElements", "number", "size", "numberOfElements", "first", "last", "empty",
    "pageable", "sort",
}  # fmt: skip


def sign(client_id: str = CLIENT_ID, secret: str = SECRET, timestamp: int = START_MS) -> str:
    """client_secret_sign per the spec: standard base64 of bcrypt(client_id_timestamp, salt=secret)."""
    return base64.b64encode(bcrypt.hashpw(f"{client_id}_{timestamp}".encode(), secret.encode())).decode()


def form(**changes: Any) -> dict[str, str]:
    """The documented token form at START, signed for its own client_id/timestamp; a change to None drops it."""
    base: dict[str, Any] = {"client_id": CLIENT_ID, "timestamp": START_MS, "grant_type": "client_credentials"}
    values = base | {"type": "SELF"} | changes
    signed = {"client_secret_sign": sign(str(values["client_id"]), SECRET, values["timestamp"])}
    return {k: str(v) for k, v in (values | signed | changes).items() if v is not None}


def kst(day: int, hour: int, minute: int = 0) -> datetime:
    """A Korean wall time in January 2025."""
    return datetime(2025, 1, day, hour, minute, tzinfo=KST)


@pytest.fixture
def clock() -> FakeClock:
    """Fake time at START."""
    return FakeClock(START)


@pytest.fixture
def sandbox(clock: FakeClock) -> NaverSandbox:
    """A sandbox for the test application, on the fake clock."""
    return NaverSandbox(client_id=CLIENT_ID, client_secret=SECRET, now=clock.now)


@pytest.fixture
async def client(sandbox: NaverSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client wired to the sandbox through MockTransport."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(sandbox.handler), base_url=BASE_URL) as http:
        yield http


async def issue(client: httpx.AsyncClient, clock: FakeClock) -> str:
    """A fresh access token, asked for the documented way at the fake clock's time."""
    timestamp = int(clock.now().timestamp() * 1000)
    response = await client.post(TOKEN, data=form(timestamp=timestamp))
    return str(response.json()["access_token"])


@pytest.fixture
async def token(client: httpx.AsyncClient, clock: FakeClock) -> str:
    """A valid access token."""
    return await issue(client, clock)


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}


QNA_WINDOW = {"fromDate": "2025-01-01T00:00:00.000+09:00", "toDate": "2025-01-07T23:59:59.999+09:00"}
INQUIRY_WINDOW = {"startSearchDate": "2025-01-01", "endSearchDate": "2025-01-07"}


def params(base: dict[str, str], changes: dict[str, str | None]) -> dict[str, str]:
    """`base` with `changes`; a change to None drops that parameter."""
    return {k: v for k, v in (base | changes).items() if v is not None}


# ---- token endpoint ----------------------------------------------------------------------------------


def test_test_signer_reproduces_the_official_vector() -> None:
    assert sign("aaaabbbbcccc", "$2a$10$abcdefghijklmnopqrstuu", 1643961623299) == (
        "JDJhJDEwJGFiY2RlZmdoaWprbG1ub3BxcnN0dXVCVldZSk42T0VPdEx1OFY0cDQxa2IuTnpVaUEzbmsy"
    )


async def test_issues_a_3_hour_bearer_token_for_the_documented_form(client: httpx.AsyncClient) -> None:
    response = await client.post(TOKEN, data=form())
    body = response.json()
    listed = await client.get(QNAS, params=QNA_WINDOW, headers=bearer(body["access_token"]))
    assert (response.status_code, set(body), body["expires_in"], body["token_type"]) == (
        200,
        {"access_token", "expires_in", "token_type"},
        10_800,
        "Bearer",
    )
    assert response.headers["GNCP-GW-RateLimit-Replenish-Rate"] == "2"
    assert listed.status_code == 200


async def test_same_token_while_30_minutes_remain_then_a_new_one_and_the_old_one_until_it_expires(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    first = await issue(client, clock)
    clock.advance(2 * 3600 + 30 * 60)  # exactly 30 min left: still the same
    same = (await client.post(TOKEN, data=form(timestamp=START_MS + 9_000_000))).json()
    clock.advance(1)
    renewed = (await client.post(TOKEN, data=form(timestamp=START_MS + 9_001_000))).json()
    old_still_works = (await client.get(QNAS, params=QNA_WINDOW, headers=bearer(first))).status_code
    clock.advance(30 * 60)
    old_expired = (await client.get(QNAS, params=QNA_WINDOW, headers=bearer(first))).status_code
    new_works = (await client.get(QNAS, params=QNA_WINDOW, headers=bearer(renewed["access_token"]))).status_code
    assert (same["access_token"], same["expires_in"]) == (first, 1800)
    assert (renewed["access_token"] != first, renewed["expires_in"]) == (True, 10_800)
    assert (old_still_works, old_expired, new_works) == (200, 401, 200)


@pytest.mark.parametrize(
    ("changes", "status", "fields"),
    [
        ({"client_secret_sign": sign(secret=OTHER_SECRET)}, 400, ["client_secret_sign"]),
        ({"client_secret_sign": sign(timestamp=START_MS - 1)}, 400, ["client_secret_sign"]),
        ({"client_secret_sign": bcrypt.hashpw(f"{CLIENT_ID}_{START_MS}".encode(), SECRET.encode()).decode()}, 400,
         ["client_secret_sign"]),
        ({"client_secret_sign": sign().rstrip("=") + "!"}, 400, ["client_secret_sign"]),
        ({"timestamp": START_MS - 300_001}, 400, ["timestamp"]),
        ({"timestamp": START_MS + 60_001}, 400, ["timestamp"]),
        ({"timestamp": START_MS // 1000}, 400, ["timestamp"]),
        ({"timestamp": "2025-01-01T00:00:00Z", "client_secret_sign": sign()}, 400, ["timestamp"]),
        ({"client_id": "someoneElsesAppId"}, 400, ["client_id"]),
        ({"grant_type": "password"}, 400, ["grant_type"]),
        ({"type": "self"}, 400, ["type"]),
        ({"type": "SELLER", "account_id": "ncp_2sRZTWJVbDtHPoz9OXXXX"}, 403, ["type"]),
        ({"client_secret_sign": None}, 400, ["client_secret_sign"]),
        ({"timestamp": None, "client_secret_sign": sign()}, 400, ["timestamp"]),
    ],
    ids=[
        "other-secret", "other-timestamp", "bcrypt-not-base64", "not-base64", "301s-old", "61s-ahead", "seconds",
        "iso-timestamp", "unknown-client", "grant-type", "type-lowercase", "seller", "no-sign", "no-timestamp",
    ],
)  # fmt: skip
async def test_refuses_invalid_token_requests_without_throttling(
    client: httpx.AsyncClient, sandbox: NaverSandbox, changes: dict[str, Any], status: int, fields: list[str]
) -> None:
    response = await client.post(TOKEN, data=form(**changes))
    body = response.json()
    assert (response.status_code, [i["name"] for i in body["invalidInputs"]]) == (status, fields)
    assert (set(body), "access_token" in body, sandbox.limits.penalty_until) == (
        {"code", "message", "timestamp", "invalidInputs", "data"},
        False,
        None,
    )


@pytest.mark.parametrize("offset_ms", [-300_000, -3_000, 0, 60_000])
async def test_accepts_timestamps_up_to_5_minutes_old(client: httpx.AsyncClient, offset_ms: int) -> None:
    response = await client.post(TOKEN, data=form(timestamp=START_MS + offset_ms))
    assert response.status_code == 200


NON_STANDARD = [
    pytest.param({"params": form()}, id="all-in-query-string"),
    pytest.param({"data": form(), "params": {"type": "SELF"}}, id="one-in-query-string"),
    pytest.param({"json": form()}, id="json-body"),
    pytest.param({"content": urlencode(form()), "headers": {"Content-Type": "text/plain"}}, id="text-content-type"),
    pytest.param({"data": form(grant_type=None)}, id="no-grant-type"),
    pytest.param({"data": form(account_id="ncp_2sRZTWJVbDtHPoz9OXXXX")}, id="account-id-with-self"),
]


@pytest.mark.parametrize("request_kwargs", NON_STANDARD)
async def test_non_standard_token_requests_get_the_2026_quota_limit(
    client: httpx.AsyncClient, sandbox: NaverSandbox, request_kwargs: dict[str, Any]
) -> None:
    response = await client.post(TOKEN, **request_kwargs)
    body = response.json()
    quota = {k: response.headers[f"GNCP-GW-Quota-{k}"] for k in ("Period", "Limit", "Remaining")}
    assert (response.status_code, body["code"], body["message"]) == (
        429,
        "GW.QUOTA_LIMIT",
        "할당된 시간당 요청량을 초과하였습니다.",
    )
    assert (quota, "access_token" in body) == ({"Period": "HOURS", "Limit": "1", "Remaining": "0"}, False)
    assert sandbox.limits.penalty_until == kst(3, 9)


async def test_penalty_allows_one_call_an_hour_until_the_morning_after_a_clean_day(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: NaverSandbox
) -> None:
    await client.post(TOKEN, params=form())  # 09:00 KST 2025-01-01: the offending call is this hour's one call

    async def two_calls() -> list[tuple[int, str | None]]:
        token = await client.post(TOKEN, data=form(timestamp=int(clock.now().timestamp() * 1000)))
        listed = await client.get(QNAS, params=QNA_WINDOW, headers=bearer(token.json().get("access_token", "")))
        return [(r.status_code, r.headers.get("GNCP-GW-Quota-Period")) for r in (token, listed)]

    same_hour = await two_calls()
    clock.advance(3600)
    next_hour = await two_calls()
    clock.advance((kst(3, 8, 59) - kst(1, 10)).total_seconds())
    last_minute = await two_calls()
    clock.advance(60)
    lifted = await two_calls()
    throttled = [(200, "HOURS"), (429, "HOURS")]
    assert (same_hour, next_hour, last_minute) == ([(429, "HOURS"), (429, "HOURS")], throttled, throttled)
    assert (lifted, sandbox.limits.penalty_until) == ([(200, None), (200, None)], None)


async def test_another_non_standard_call_restarts_the_penalty(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: NaverSandbox
) -> None:
    await client.post(TOKEN, params=form())
    clock.advance(30 * 3600)  # 15:00 KST the next day
    second = await client.post(TOKEN, json=form())
    assert (second.status_code, sandbox.limits.penalty_until) == (429, kst(4, 9))


# ---- Bearer check ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        (None, 401),
        ("Bearer unknown-token", 401),
        ("Token {token}", 401),
        ("Bearer {token}", 200),
        ("bearer {token}", 200),
    ],
)
async def test_list_endpoints_need_a_valid_bearer_token(
    client: httpx.AsyncClient, token: str, authorization: str | None, status: int
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization.format(token=token)}
    responses = [
        await client.get(path, params=p, headers=headers)
        for path, p in ((QNAS, QNA_WINDOW), (INQUIRIES, INQUIRY_WINDOW))
    ]
    assert [r.status_code for r in responses] == [status, status]


async def test_401_is_the_gateway_body_with_its_trace_id(client: httpx.AsyncClient) -> None:
    response = await client.get(QNAS, params=QNA_WINDOW)
    body = response.json()
    assert (body["code"], body["message"], body["timestamp"]) == (
        "GW.AUTHN",
        "요청을 보낼 권한이 없습니다.",
        "2025-01-01T09:00:00.000+09:00",
    )
    assert response.headers["GNCP-GW-Trace-ID"] == body["traceId"]
    assert "GNCP-GW-RateLimit-Remaining" not in response.headers


# ---- list parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "status", "invalid"),
    [
        ({}, 200, None),
        ({"fromDate": "2024-12-31T15:00:00.000Z"}, 200, None),
        ({"fromDate": "2025-01-01T00:00:00+09:00"}, 200, None),
        ({"size": "100", "page": "3"}, 200, None),
        ({"size": "101"}, 400, "size"),
        ({"size": "0"}, 400, "size"),
        ({"page": "0"}, 400, "page"),
        ({"page": "two"}, 400, "page"),
        ({"fromDate": None}, 400, "fromDate"),
        ({"toDate": None}, 400, "toDate"),
        ({"fromDate": "2025-01-01T00:00:00"}, 400, "fromDate"),
        ({"fromDate": "2025-01-01"}, 400, "fromDate"),
        ({"fromDate": "2025-01-01T00:00:00.000 09:00"}, 400, "fromDate"),
        ({"toDate": "2024-12-31T23:59:59.999+09:00"}, 400, "toDate"),
        ({"toDate": "2025-01-08T00:00:00.000+09:00"}, 200, None),  # exactly 7 days
        ({"toDate": "2025-01-08T00:00:00.001+09:00"}, 400, "toDate"),
        ({"answered": "false"}, 200, None),
        ({"answered": "N"}, 400, "answered"),
    ],
)
async def test_enforces_the_q_and_a_list_parameters(
    client: httpx.AsyncClient, token: str, changes: dict[str, str | None], status: int, invalid: str | None
) -> None:
    response = await client.get(QNAS, params=params(QNA_WINDOW, changes), headers=bearer(token))
    body = response.json()
    assert (response.status_code, body.get("invalidInputs", [{"name": None}])[0]["name"]) == (
        status,
        invalid,
    )


async def test_an_unencoded_plus_in_the_offset_is_refused(client: httpx.AsyncClient, token: str) -> None:
    raw = "fromDate=2025-01-01T00:00:00.000+09:00&toDate=2025-01-02T00:00:00.000%2B09:00"
    response = await client.get(f"{QNAS}?{raw}", headers=bearer(token))
    assert (response.status_code, response.json()["code"], response.json()["invalidInputs"][0]["name"]) == (
        400,
        "BAD_REQUEST",
        "fromDate",
    )


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({}, None),
        ({"startSearchDate": None}, "4001"),
        ({"startSearchDate": None, "endSearchDate": None, "fromDate": "2025-01-01", "toDate": "2025-01-07"}, "4001"),
        ({"startSearchDate": "2025/01/01"}, "4001"),
        ({"endSearchDate": "2025-02-30"}, "4001"),
        ({"startSearchDate": "2025-01-08"}, "4002"),
        ({"startSearchDate": "2024-01-01", "endSearchDate": "2025-01-01"}, "4003"),
        ({"startSearchDate": "2024-01-02", "endSearchDate": "2025-01-01"}, None),
        ({"page": "0"}, "4004"),
        ({"page": "1000000"}, None),
        ({"page": "1000001"}, "4005"),
        ({"size": "9"}, "4006"),
        ({"size": "10"}, None),
        ({"size": "200"}, None),
        ({"size": "201"}, "4007"),
        ({"page": "one"}, "4001"),
        ({"answered": "yes"}, "4001"),
        ({"answered": "true"}, None),
    ],
)
async def test_enforces_the_customer_inquiry_parameters_with_the_documented_codes(
    client: httpx.AsyncClient, token: str, changes: dict[str, str | None], code: str | None
) -> None:
    response = await client.get(INQUIRIES, params=params(INQUIRY_WINDOW, changes), headers=bearer(token))
    assert (response.status_code, response.json().get("code")) == (200 if code is None else 400, code)


@pytest.mark.parametrize(
    ("changes", "keys", "message"),
    [
        ({"startSearchDate": None}, {"code", "message", "traceId", "timestamp", "invalidInputs"},
         "API 명세에 맞지 않는 입력 값입니다."),
        ({"startSearchDate": "2025-01-08"}, {"code", "message", "traceId", "timestamp"},
         "조회 시작일이 조회 종료일 이후 날짜일 수 없습니다."),
        ({"size": "201"}, {"code", "message", "traceId", "timestamp"}, "페이지 크기가 200보다 클 수 없습니다."),
    ],
)  # fmt: skip
async def test_customer_inquiry_errors_have_the_documented_body(
    client: httpx.AsyncClient, token: str, changes: dict[str, str | None], keys: set[str], message: str
) -> None:
    body = (await client.get(INQUIRIES, params=params(INQUIRY_WINDOW, changes), headers=bearer(token))).json()
    assert (set(body), body["message"]) == (keys, message)


# ---- data, paging, filters, formats ------------------------------------------------------------------


async def test_pages_through_450_inquiries_200_at_a_time(
    client: httpx.AsyncClient, token: str, sandbox: NaverSandbox
) -> None:
    ids = [
        sandbox.add_customer_inquiry(title="배송", content=f"문의 {n}", registered_at=kst(2, 10) + timedelta(minutes=n))
        for n in range(450)
    ]
    pages = [
        (
            await client.get(INQUIRIES, params=INQUIRY_WINDOW | {"page": str(n), "size": "200"}, headers=bearer(token))
        ).json()
        for n in (1, 2, 3, 4)
    ]
    seen = [row["inquiryNo"] for page in pages for row in page["content"]]
    assert [len(p["content"]) for p in pages] == [200, 200, 50, 0]
    assert [(p["number"], p["last"], p["first"]) for p in pages] == [
        (0, False, True),
        (1, False, False),
        (2, True, False),
        (3, True, False),
    ]
    assert {(p["totalPages"], p["totalElements"]) for p in pages} == {(3, 450)}
    assert (set(pages[0]), seen) == (SPRING_KEYS, list(reversed(ids)))  # newest first, no gaps, no repeats


async def test_pages_through_250_questions_100_at_a_time(
    client: httpx.AsyncClient, token: str, sandbox: NaverSandbox
) -> None:
    ids = [
        sandbox.add_product_question(question=f"질문 {n}", created_at=kst(2, 10) + timedelta(minutes=n))
        for n in range(250)
    ]
    pages = [
        (await client.get(QNAS, params=QNA_WINDOW | {"page": str(n)}, headers=bearer(token))).json() for n in (1, 2, 3)
    ]
    seen = [row["questionId"] for page in pages for row in page["contents"]]
    assert [(len(p["contents"]), p["page"], p["size"], p["last"]) for p in pages] == [
        (100, 1, 100, False),
        (100, 2, 100, False),
        (50, 3, 100, True),
    ]
    assert ({(p["totalPages"], p["totalElements"]) for p in pages}, seen) == ({(3, 250)}, list(reversed(ids)))


@pytest.mark.parametrize(("answered", "questions", "inquiries"), [(None, 5, 5), ("true", 3, 2), ("false", 2, 3)])
async def test_filters_by_answered(
    client: httpx.AsyncClient,
    token: str,
    sandbox: NaverSandbox,
    answered: str | None,
    questions: int,
    inquiries: int,
) -> None:
    [sandbox.add_product_question(question="문의", created_at=kst(2, 10), answered=n < 3) for n in range(5)]
    [sandbox.add_customer_inquiry(title="t", content="c", registered_at=kst(2, 10), answered=n < 2) for n in range(5)]
    status = {} if answered is None else {"answered": answered}
    q = (await client.get(QNAS, params=QNA_WINDOW | status, headers=bearer(token))).json()
    c = (await client.get(INQUIRIES, params=INQUIRY_WINDOW | status, headers=bearer(token))).json()
    assert (q["totalElements"], c["totalElements"]) == (questions, inquiries)


async def test_date_ranges_are_instants_for_questions_and_korean_dates_for_inquiries(
    client: httpx.AsyncClient, token: str, sandbox: NaverSandbox
) -> None:
    inside_q = sandbox.add_product_question(question="끝", created_at=kst(7, 23, 59))
    sandbox.add_product_question(question="밖", created_at=kst(8, 0, 0))
    inside_c = sandbox.add_customer_inquiry(title="t", content="자정 전", registered_at=kst(7, 23, 30))  # 14:30 UTC
    sandbox.add_customer_inquiry(title="t", content="자정 후", registered_at=kst(8, 0, 30))  # still the 7th in UTC
    q = (await client.get(QNAS, params=QNA_WINDOW, headers=bearer(token))).json()["contents"]
    c = (await client.get(INQUIRIES, params=INQUIRY_WINDOW, headers=bearer(token))).json()["content"]
    assert ([r["questionId"] for r in q], [r["inquiryNo"] for r in c]) == ([inside_q], [inside_c])


@pytest.mark.parametrize(
    ("style", "created", "answered"),
    [
        (NaverDateTimeStyle.OFFSET_MILLIS, "2025-01-02T10:05:00.000+09:00", "2025-01-02T11:05:00.000+09:00"),
        (NaverDateTimeStyle.UTC_MILLIS, "2025-01-02T01:05:00.000Z", "2025-01-02T02:05:00.000Z"),
        (NaverDateTimeStyle.OFFSET_SECONDS, "2025-01-02T10:05:00+09:00", "2025-01-02T11:05:00+09:00"),
    ],
)
async def test_rows_are_shaped_like_the_documented_samples(
    clock: FakeClock, style: NaverDateTimeStyle, created: str, answered: str
) -> None:
    sandbox = NaverSandbox(client_id=CLIENT_ID, client_secret=SECRET, now=clock.now, datetime_style=style)
    sandbox.add_product_question(question="정품인가요?", created_at=kst(2, 10, 5), masked_writer_id="seoy****")
    sandbox.add_customer_inquiry(
        title="교환", content="교환 가능?", registered_at=kst(2, 10, 5), product_order_ids=["11", "12"], answered=True
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(sandbox.handler), base_url=BASE_URL) as http:
        token = await issue(http, clock)
        q = (await http.get(QNAS, params=QNA_WINDOW, headers=bearer(token))).json()["contents"][0]
        c = (await http.get(INQUIRIES, params=INQUIRY_WINDOW, headers=bearer(token))).json()["content"][0]
    assert (set(q), q["createDate"], q["answered"], q["answer"], q["maskedWriterId"]) == (
        QNA_KEYS,
        created,
        False,
        None,
        "seoy****",
    )
    assert (set(c), c["inquiryRegistrationDateTime"], c["answerRegistrationDateTime"], c["answered"]) == (
        INQUIRY_KEYS,
        created,
        answered,
        True,
    )
    assert (c["customerName"], c["customerId"], c["productOrderIdList"]) == ("김민수", "minsu0312", "11,12")


def test_seed_random_is_deterministic(clock: FakeClock) -> None:
    def rows(seed: int) -> list[dict[str, Any]]:
        sandbox = NaverSandbox(client_id=CLIENT_ID, client_secret=SECRET, now=clock.now)
        sandbox.seed_random(40, start=START, end=START + timedelta(days=5), rng=random.Random(seed))
        questions, _ = sandbox.question_rows(
            start=START, end=START + timedelta(days=6), answered=None, style=NaverDateTimeStyle.OFFSET_MILLIS
        )
        inquiries, _ = sandbox.inquiry_rows(
            start=kst(1, 0).date(), end=kst(7, 0).date(), answered=None, style=NaverDateTimeStyle.OFFSET_MILLIS
        )
        return questions + inquiries

    assert (rows(7) == rows(7), len(rows(7)), rows(7) != rows(8)) == (True, 40, True)


# ---- answers -----------------------------------------------------------------------------------------


async def test_product_answer_creates_then_updates(
    client: httpx.AsyncClient, token: str, sandbox: NaverSandbox
) -> None:
    question = sandbox.add_product_question(question="재입고 되나요?", created_at=kst(1, 8))
    created = await client.put(
        f"{QNAS}/{question}", json={"commentContent": "다음 주 입고됩니다."}, headers=bearer(token)
    )
    updated = await client.put(f"{QNAS}/{question}", json={"commentContent": "19일 입고됩니다."}, headers=bearer(token))
    rows = (await client.get(QNAS, params=QNA_WINDOW | {"answered": "true"}, headers=bearer(token))).json()["contents"]
    assert (created.status_code, created.content, updated.status_code) == (204, b"", 204)
    assert [(r["questionId"], r["answer"], r["answered"]) for r in rows] == [(question, "19일 입고됩니다.", True)]


@pytest.mark.parametrize(
    ("body", "known", "status", "code"),
    [
        ({}, True, 400, "BAD_REQUEST"),
        ({"commentContent": "  "}, True, 400, "BAD_REQUEST"),
        ({"content": "답변"}, True, 400, "BAD_REQUEST"),
        ({"commentContent": "답변"}, False, 404, "NOT_FOUND"),
    ],
)
async def test_product_answer_validation(
    client: httpx.AsyncClient,
    token: str,
    sandbox: NaverSandbox,
    body: dict[str, str],
    known: bool,
    status: int,
    code: str,
) -> None:
    question = sandbox.add_product_question(question="문의", created_at=kst(1, 8))
    target = f"{QNAS}/{question if known else question + 999}"
    response = await client.put(target, json=body, headers=bearer(token))
    assert (response.status_code, response.json()["code"], sandbox.is_answered(question)) == (status, code, False)


async def test_customer_answer_once_then_already_answered(
    client: httpx.AsyncClient, token: str, sandbox: NaverSandbox
) -> None:
    inquiry = sandbox.add_customer_inquiry(title="배송", content="언제 와요?", registered_at=kst(1, 8))
    target = f"/v1/pay-merchant/inquiries/{inquiry}/answer"
    first = await client.post(
        target, json={"answerComment": "오늘 발송합니다.", "answerTemplateId": "12345"}, headers=bearer(token)
    )
    again = await client.post(target, json={"answerComment": "다시 답변"}, headers=bearer(token))
    row = (await client.get(INQUIRIES, params=INQUIRY_WINDOW, headers=bearer(token))).json()["content"][0]
    assert (first.status_code, set(first.json()), first.json()["data"]) == (
        200,
        {"code", "message", "data", "timestamp", "traceId"},
        {"inquiryNo": inquiry, "inquiryCommentNo": row["answerContentId"]},
    )
    assert (again.status_code, again.json()["code"]) == (400, "ERR-NC-101010")
    assert (row["answered"], row["answerContent"], row["answerTemplateNo"]) == (True, "오늘 발송합니다.", 12345)


@pytest.mark.parametrize(
    ("body", "known", "code"),
    [
        ({"answerContent": "필드 이름이 틀렸어요"}, True, "ERR-NC-101001"),
        ({}, True, "ERR-NC-101001"),
        ({"answerComment": "답변", "answerTemplateId": "abc"}, True, "ERR-NC-101001"),
        ({"answerComment": "답변"}, False, "ERR-NC-101004"),
    ],
)
async def test_customer_answer_validation(
    client: httpx.AsyncClient, token: str, sandbox: NaverSandbox, body: dict[str, str], known: bool, code: str
) -> None:
    inquiry = sandbox.add_customer_inquiry(title="t", content="c", registered_at=kst(1, 8))
    target = f"/v1/pay-merchant/inquiries/{inquiry if known else inquiry + 999}/answer"
    response = await client.post(target, json=body, headers=bearer(token))
    assert (response.status_code, response.json()["code"], sandbox.is_answered(inquiry)) == (400, code, False)


@pytest.mark.parametrize(("offset", "status", "text"), [(0, 200, "수정된 답변"), (1, 400, "처음 답변")])
async def test_customer_answer_edit_needs_the_latest_answer_id(
    client: httpx.AsyncClient, token: str, sandbox: NaverSandbox, offset: int, status: int, text: str
) -> None:
    inquiry = sandbox.add_customer_inquiry(title="t", content="c", registered_at=kst(1, 8))
    answer_id = sandbox.answer_customer_inquiry(inquiry, "처음 답변", kst(1, 9))
    target = f"/v1/pay-merchant/inquiries/{inquiry}/answer/{answer_id + offset}"
    response = await client.put(target, json={"answerComment": "수정된 답변"}, headers=bearer(token))
    row = (await client.get(INQUIRIES, params=INQUIRY_WINDOW, headers=bearer(token))).json()["content"][0]
    assert (response.status_code, row["answerContent"]) == (status, text)


async def test_answers_need_a_bearer_token(client: httpx.AsyncClient, sandbox: NaverSandbox) -> None:
    question = sandbox.add_product_question(question="문의", created_at=kst(1, 8))
    response = await client.put(f"{QNAS}/{question}", json={"commentContent": "답변"})
    assert (response.status_code, sandbox.is_answered(question)) == (401, False)


# ---- rate limit --------------------------------------------------------------------------------------


async def test_token_bucket_per_api_with_burst_twice_the_rate(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    burst = [await client.get(QNAS, params=QNA_WINDOW, headers=bearer(token)) for _ in range(5)]
    other_api = await client.get(INQUIRIES, params=INQUIRY_WINDOW, headers=bearer(token))
    clock.advance(0.5)
    refilled_one = await client.get(QNAS, params=QNA_WINDOW, headers=bearer(token))
    clock.advance(10)
    full = await client.get(QNAS, params=QNA_WINDOW, headers=bearer(token))
    assert [r.status_code for r in burst] == [200, 200, 200, 200, 429]
    assert [r.headers["GNCP-GW-RateLimit-Remaining"] for r in burst] == ["3", "2", "1", "0", "0"]
    assert {
        (r.headers["GNCP-GW-RateLimit-Replenish-Rate"], r.headers["GNCP-GW-RateLimit-Burst-Capacity"]) for r in burst
    } == {("2", "4")}
    assert (burst[-1].json()["code"], "Retry-After" in burst[-1].headers) == ("GW.RATE_LIMIT", False)
    assert [(r.status_code, r.headers["GNCP-GW-RateLimit-Remaining"]) for r in (other_api, refilled_one, full)] == [
        (200, "3"),
        (200, "0"),
        (200, "3"),
    ]


async def test_replenish_rate_is_configurable(clock: FakeClock) -> None:
    sandbox = NaverSandbox(client_id=CLIENT_ID, client_secret=SECRET, now=clock.now, replenish_rate_per_s=5)
    async with httpx.AsyncClient(transport=httpx.MockTransport(sandbox.handler), base_url=BASE_URL) as http:
        response = await http.post(TOKEN, data=form())
    limits = [response.headers[f"GNCP-GW-RateLimit-{k}"] for k in ("Replenish-Rate", "Burst-Capacity", "Remaining")]
    assert limits == ["5", "10", "9"]


# ---- faults ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status_arg", "status", "code", "retry_after"),
    [
        (Fault.SERVER_ERROR, None, 500, "GW.INTERNAL_SERVER_ERROR", None),
        (Fault.SERVER_ERROR, 502, 502, "GW.PROXY.03", None),
        (Fault.SERVER_ERROR, 503, 503, "GW.BLOCK.01", None),
        (Fault.SERVER_ERROR, 504, 504, "GW.TIMEOUT.01", None),
        (Fault.RATE_LIMIT, None, 429, "GW.RATE_LIMIT", "7"),
        (Fault.HTML_FORBIDDEN, None, 403, "GW.IP_NOT_ALLOWED", None),
    ],
)
async def test_gateway_faults_hit_the_next_request_only(
    client: httpx.AsyncClient,
    token: str,
    sandbox: NaverSandbox,
    fault: Fault,
    status_arg: int | None,
    status: int,
    code: str,
    retry_after: str | None,
) -> None:
    sandbox.inject(fault, status=status_arg, retry_after_s=7)
    faulty = await client.get(QNAS, params=QNA_WINDOW, headers=bearer(token))
    after = await client.get(QNAS, params=QNA_WINDOW, headers=bearer(token))
    assert (faulty.status_code, faulty.json()["code"], faulty.headers.get("Retry-After")) == (status, code, retry_after)
    assert faulty.headers["Content-Type"].startswith("application/json")
    assert (after.status_code, sandbox.pending_faults) == (200, 0)


async def test_timeout_fault_raises_read_timeout(client: httpx.AsyncClient, token: str, sandbox: NaverSandbox) -> None:
    sandbox.inject(Fault.TIMEOUT)
    with pytest.raises(httpx.ReadTimeout):
        await client.get(QNAS, params=QNA_WINDOW, headers=bearer(token))
    assert sandbox.requests[-1].status is None


async def test_malformed_body_is_a_non_json_200(client: httpx.AsyncClient, token: str, sandbox: NaverSandbox) -> None:
    sandbox.inject(Fault.MALFORMED_BODY)
    response = await client.get(INQUIRIES, params=INQUIRY_WINDOW, headers=bearer(token))
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


def row_problems(row: dict[str, Any]) -> list[str]:
    """Why a list row of either kind would not parse, in the three ways MALFORMED_ITEM breaks rows."""
    item_id = row.get("questionId", row.get("inquiryNo"))
    text = row.get("question", row.get("inquiryContent"))
    created = str(row.get("createDate", row.get("inquiryRegistrationDateTime")))
    checks = {
        "missing_id": item_id is not None,
        "wrong_types": isinstance(item_id, int | None) and isinstance(text, str) and isinstance(row["answered"], bool),
        "bad_date": created.startswith("2025-01-02"),
    }
    return [name for name, ok in checks.items() if not ok]


@pytest.mark.parametrize(
    ("path", "window", "key"), [(QNAS, QNA_WINDOW, "contents"), (INQUIRIES, INQUIRY_WINDOW, "content")]
)
async def test_malformed_item_breaks_one_row_per_page(
    client: httpx.AsyncClient, token: str, sandbox: NaverSandbox, path: str, window: dict[str, str], key: str
) -> None:
    [sandbox.add_product_question(question=f"문의 {n}", created_at=kst(2, 10, n)) for n in range(5)]
    [sandbox.add_customer_inquiry(title="t", content=f"문의 {n}", registered_at=kst(2, 10, n)) for n in range(5)]
    sandbox.inject(Fault.MALFORMED_ITEM, times=3)
    pages = [(await client.get(path, params=window, headers=bearer(token))).json()[key] for _ in range(4)]
    problems = [[row_problems(row) for row in page] for page in pages]
    assert [sum(bool(p) for p in page) for page in problems] == [1, 1, 1, 0]
    assert sorted(p[0] for page in problems for p in page if p) == ["bad_date", "missing_id", "wrong_types"]


async def test_faults_are_fifo_and_can_target_an_endpoint(
    client: httpx.AsyncClient, token: str, sandbox: NaverSandbox
) -> None:
    sandbox.inject(Fault.SERVER_ERROR, endpoint=NaverEndpoint.CUSTOMER_INQUIRIES)
    sandbox.inject(Fault.RATE_LIMIT, times=2)
    targets = ((QNAS, QNA_WINDOW), (INQUIRIES, INQUIRY_WINDOW), (QNAS, QNA_WINDOW), (QNAS, QNA_WINDOW))
    statuses = [(await client.get(path, params=p, headers=bearer(token))).status_code for path, p in targets]
    assert statuses == [429, 500, 429, 200]


async def test_ip_not_in_the_allowed_list_is_refused_everywhere(
    client: httpx.AsyncClient, token: str, sandbox: NaverSandbox
) -> None:
    sandbox.ip_allowed = False
    responses = [
        await client.post(TOKEN, data=form()),
        await client.get(QNAS, params=QNA_WINDOW, headers=bearer(token)),
        await client.get(INQUIRIES, params=INQUIRY_WINDOW, headers=bearer(token)),
    ]
    assert {(r.status_code, r.json()["code"], r.json()["message"]) for r in responses} == {
        (403, "GW.IP_NOT_ALLOWED", "호출이 허용되지 않은 IP입니다.")
    }


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "https://api.commerce.naver.com/v1/contents/qnas", 200),  # no /external prefix: same API
        ("GET", f"{BASE_URL}/v1/contents/qna", 404),
        ("DELETE", f"{BASE_URL}/v1/contents/qnas", 404),
        ("GET", f"{BASE_URL}/v2/pay-user/inquiries", 404),
    ],
)
async def test_routes(client: httpx.AsyncClient, token: str, method: str, url: str, status: int) -> None:
    response = await client.request(method, url, params=QNA_WINDOW, headers=bearer(token))
    assert (response.status_code, response.json().get("code")) == (status, None if status == 200 else "GW.NOT_FOUND")


# ---- over real HTTP on 127.0.0.1 ---------------------------------------------------------------------


async def test_served_over_loopback_http(clock: FakeClock, sandbox: NaverSandbox) -> None:
    question = sandbox.add_product_question(question="배송 언제 오나요?", created_at=kst(1, 8))
    with SandboxServer(sandbox.handler) as server:
        async with httpx.AsyncClient(base_url=server.url + "/external", timeout=5.0) as http:
            token = await issue(http, clock)
            listed = await http.get(QNAS, params=QNA_WINDOW, headers=bearer(token))
            answered = await http.put(f"{QNAS}/{question}", json={"commentContent": "내일 도착"}, headers=bearer(token))
            query_string = await http.post(TOKEN, params=form())
    assert (listed.status_code, listed.json()["contents"][0]["questionId"]) == (200, question)
    assert (answered.status_code, sandbox.is_answered(question), query_string.status_code) == (204, True, 429)


# ---- demo generator ----------------------------------------------------------------------------------


def test_generator_adds_and_answers_over_time(clock: FakeClock, sandbox: NaverSandbox) -> None:
    generator = NaverInquiryGenerator(sandbox, rng=random.Random(3), arrivals_per_h=30.0, pii_share=0.5)
    first = generator.tick(START)
    arrivals = generator.tick(START + timedelta(hours=2))
    later = generator.tick(START + timedelta(hours=4))
    inquiries, _ = sandbox.inquiry_rows(
        start=kst(1, 0).date(), end=kst(1, 0).date(), answered=None, style=NaverDateTimeStyle.OFFSET_MILLIS
    )
    questions, _ = sandbox.question_rows(
        start=START, end=START + timedelta(hours=4), answered=None, style=NaverDateTimeStyle.OFFSET_MILLIS
    )
    assert (first.added, first.answered) == ((), ())
    assert (len(arrivals.added) > 20, bool(later.answered), all(sandbox.is_answered(i) for i in later.answered)) == (
        True,
        True,
        True,
    )
    assert (bool(inquiries), bool(questions)) == (True, True)
    assert all(r["customerName"] and r["customerId"] for r in inquiries)
    assert any("010-" in r["question"] for r in questions)
    assert set(generator.open_ids) <= {r["questionId"] for r in questions} | {r["inquiryNo"] for r in inquiries}
