"""The Coupang sandbox itself: signature checks, documented limits, paging, answers, faults, rate limit, HTTP.

Requests are signed by `cea()` below, written from marketplaces.md §1.2 independently of the sandbox's
verifier and pinned to the document's worked example.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from connectors.sandbox import (
    CallCenterStatus,
    CodeStyle,
    CoupangSandbox,
    DateTimeFormat,
    Endpoint,
    Fault,
    InquiryGenerator,
    SandboxServer,
)
from core.models import KST
from tests.fakes import FakeClock

VENDOR, ACCESS, SECRET = "A00012345", "test-access", "test-secret"
START = datetime(2025, 1, 1, tzinfo=UTC)  # signed-date 250101T000000Z; 09:00 on 2025-01-01 in Korea
BASE_URL = "https://api-gateway.coupang.com"
API = "/v2/providers/openapi/apis/api"
DOC_QUERY = (
    f"vendorId={VENDOR}&answeredType=NOANSWER&inquiryStartAt=2025-01-01&inquiryEndAt=2025-01-07&pageNum=1&pageSize=50"
)
DOC_TARGET = f"{API}/v5/vendors/{VENDOR}/onlineInquiries?{DOC_QUERY}"
DOC_SIGNATURE = "1d130517c59be3b69b1b2dd91f2e63a4a0bf09bd94e59c5aad35c37f2debded2"
DOC_AUTHORIZATION = (
    f"CEA algorithm=HmacSHA256, access-key=test-access, signed-date=250101T000000Z, signature={DOC_SIGNATURE}"
)
PRODUCT_ROW_KEYS = {
    "inquiryId", "productId", "vendorItemId", "content", "inquiryAt", "orderIds", "buyerEmail",
    "commentDtoList", "sellerProductId", "sellerItemId",
}  # fmt: skip
CALL_ROW_KEYS = {
    "inquiryId", "csPartnerCounselingStatus", "inquiryStatus", "vendorItemId", "itemName", "content",
    "answeredAt", "replies", "inquiryAt", "buyerEmail", "buyerPhone", "orderId", "orderDate",
    "receiptCategory", "saleStartedAt", "saleEndedAt",
}  # fmt: skip


def cea(
    method: str, target: str, *, at: datetime = START, secret: str = SECRET, key: str = ACCESS, sep: str = ", "
) -> str:
    """Authorization header per the spec: HMAC-SHA256 hex over signed-date + METHOD + path + raw query."""
    signed_date = at.astimezone(UTC).strftime("%y%m%dT%H%M%SZ")
    path, _, query = target.partition("?")
    message = f"{signed_date}{method}{path}{query}".encode()
    signature = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    fields = ["CEA algorithm=HmacSHA256", f"access-key={key}", f"signed-date={signed_date}", f"signature={signature}"]
    return sep.join(fields)


def list_target(kind: str = "onlineInquiries", version: str = "v5", **overrides: str | None) -> str:
    """A list URL with the documented parameters; an override of None drops that parameter."""
    return list_target_with(kind, overrides, version)


def list_target_with(kind: str, overrides: Mapping[str, str | None], version: str = "v5") -> str:
    """`list_target` with the overrides as a mapping."""
    status = {"answeredType": "ALL"} if kind == "onlineInquiries" else {"partnerCounselingStatus": "NONE"}
    params = {"vendorId": VENDOR, **status, "inquiryStartAt": "2025-01-01", "inquiryEndAt": "2025-01-07"}
    query = "&".join(f"{k}={v}" for k, v in {**params, **overrides}.items() if v is not None)
    return f"{API}/{version}/vendors/{VENDOR}/{kind}?{query}"


def reply_target(kind: str, inquiry_id: int, version: str = "v4") -> str:
    """The documented reply path."""
    return f"{API}/{version}/vendors/{VENDOR}/{kind}/{inquiry_id}/replies"


def kst(day: int, hour: int, minute: int = 0) -> datetime:
    """A Korean wall time in January 2025."""
    return datetime(2025, 1, day, hour, minute, tzinfo=KST)


@pytest.fixture
def clock() -> FakeClock:
    """Fake time, starting at the worked example's signed-date."""
    return FakeClock(START)


@pytest.fixture
def sandbox(clock: FakeClock) -> CoupangSandbox:
    """A sandbox for the worked example's vendor and keys, on the fake clock."""
    return CoupangSandbox(vendor_id=VENDOR, access_key=ACCESS, secret_key=SECRET, now=clock.now)


@pytest.fixture
async def client(sandbox: CoupangSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client wired to the sandbox through MockTransport."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(sandbox.handler), base_url=BASE_URL) as http:
        yield http


async def get(client: httpx.AsyncClient, clock: FakeClock, target: str) -> httpx.Response:
    """A correctly signed GET, signed at the fake clock's time."""
    return await client.get(target, headers={"Authorization": cea("GET", target, at=clock.now())})


async def post(client: httpx.AsyncClient, clock: FakeClock, target: str, body: dict[str, Any]) -> httpx.Response:
    """A correctly signed POST with a JSON body."""
    return await client.post(target, json=body, headers={"Authorization": cea("POST", target, at=clock.now())})


def seeded_rows(sandbox: CoupangSandbox, *, last_day: int) -> list[dict[str, Any]]:
    """Every row of both kinds received from 2025-01-01 to 2025-01-`last_day` (KST), read without HTTP."""
    start, end = START.date(), START.date().replace(day=last_day)
    products, _ = sandbox.product_rows(
        start=start, end=end, answered=None, vendor_item_id=None, style=DateTimeFormat.OFFSET
    )
    calls, _ = sandbox.call_center_rows(
        start=start, end=end, status=None, vendor_item_id=None, order_id=None, style=DateTimeFormat.OFFSET
    )
    return products + calls


def row_problems(row: dict[str, Any]) -> list[str]:
    """Why a list row would not parse, in the three ways MALFORMED_ITEM breaks rows."""
    checks = {
        "missing_id": "inquiryId" in row,
        "wrong_types": isinstance(row.get("inquiryId", 0), int) and isinstance(row["content"], str),
        "bad_date": isinstance(row["inquiryAt"], str) and _parses(row["inquiryAt"]),
    }
    return [name for name, ok in checks.items() if not ok]


def _parses(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


# ---- signing and authentication ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "target", "signature"),
    [
        ("GET", DOC_TARGET, DOC_SIGNATURE),
        (
            "POST",
            reply_target("onlineInquiries", 846),
            "89c16f02f47cdc557fbb814477a2130cee53bd116a8fb3f00a0668b62f7ab938",
        ),
    ],
)
def test_test_signer_reproduces_the_documented_vectors(method: str, target: str, signature: str) -> None:
    assert cea(method, target).endswith(f"signature={signature}")


async def test_accepts_the_documented_request_and_header(client: httpx.AsyncClient) -> None:
    response = await client.get(DOC_TARGET, headers={"Authorization": DOC_AUTHORIZATION})
    assert response.status_code == 200
    assert response.json()["data"]["pagination"]["totalElements"] == 0


REORDERED = DOC_TARGET.replace("answeredType=NOANSWER&inquiryStartAt", "inquiryStartAt").replace(
    "pageSize=50", "pageSize=50&answeredType=NOANSWER"
)
REENCODED = DOC_TARGET.replace("inquiryStartAt=2025-01-01", "inquiryStartAt=2025%2D01%2D01")


@pytest.mark.parametrize(
    ("sent", "authorization", "message"),
    [
        (DOC_TARGET, DOC_AUTHORIZATION[:-1] + "3", "Invalid signature."),
        (REORDERED, DOC_AUTHORIZATION, "Invalid signature."),
        (REENCODED, DOC_AUTHORIZATION, "Invalid signature."),
        (DOC_TARGET, cea("GET", DOC_TARGET, secret="other-secret"), "Invalid signature."),
        (DOC_TARGET, cea("POST", DOC_TARGET), "Invalid signature."),
        (DOC_TARGET, DOC_AUTHORIZATION.replace(DOC_SIGNATURE, DOC_SIGNATURE.upper()), "Invalid signature."),
        (DOC_TARGET, cea("GET", DOC_TARGET, key="other-access"), "Unknown error occurred"),
        (DOC_TARGET, cea("GET", DOC_TARGET, at=START - timedelta(seconds=301)), "Specified signature is expired."),
        (DOC_TARGET, cea("GET", DOC_TARGET, at=START + timedelta(seconds=301)), "Specified signature is expired."),
        (DOC_TARGET, DOC_AUTHORIZATION.replace("HmacSHA256", "HmacSHA1"), "HMAC format is invalid."),
        (DOC_TARGET, DOC_AUTHORIZATION.replace("250101T000000Z", "2025-01-01T00:00:00Z"), "HMAC format is invalid."),
        (DOC_TARGET, DOC_AUTHORIZATION.replace(", ", ";"), "HMAC format is invalid."),
        (DOC_TARGET, DOC_AUTHORIZATION.removeprefix("CEA "), "HMAC format is invalid."),
        (DOC_TARGET, "", "Request is not authorized."),
    ],
    ids=[
        "tampered-signature", "reordered-query", "re-encoded-query", "wrong-secret", "wrong-method",
        "uppercase-hex", "unknown-access-key", "stale-signed-date", "future-signed-date", "other-algorithm",
        "iso-signed-date", "bad-separator", "no-scheme", "no-header",
    ],
)  # fmt: skip
async def test_rejects_bad_authentication(
    client: httpx.AsyncClient, sent: str, authorization: str, message: str
) -> None:
    response = await client.get(sent, headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.json()["code"] == "ERROR"
    assert response.json()["message"].startswith(message)


@pytest.mark.parametrize(
    "authorization",
    [
        cea("GET", DOC_TARGET, sep=","),
        cea("GET", DOC_TARGET, at=START - timedelta(seconds=300)),
        cea("GET", DOC_TARGET, at=START + timedelta(seconds=300)),
    ],
    ids=["comma-without-space", "300s-old", "300s-ahead"],
)
async def test_accepts_documented_header_variants(client: httpx.AsyncClient, authorization: str) -> None:
    response = await client.get(DOC_TARGET, headers={"Authorization": authorization})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("target", "status"),
    [
        (list_target().replace(f"vendors/{VENDOR}", "vendors/A99999999"), 403),
        (list_target(vendorId="A99999999"), 400),
        (list_target(vendorId=None), 400),
        (f"{API}/v5/vendors/{VENDOR}/unknownThing", 404),
        (f"{API}/v3/vendors/{VENDOR}/onlineInquiries?vendorId={VENDOR}", 404),
    ],
    ids=["path-vendor-of-another-seller", "query-vendor-mismatch", "query-vendor-missing", "unknown-path", "v3"],
)
async def test_checks_vendor_and_path(client: httpx.AsyncClient, clock: FakeClock, target: str, status: int) -> None:
    response = await get(client, clock, target)
    assert response.status_code == status


# ---- list parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "overrides", "status"),
    [
        ("onlineInquiries", {}, 200),
        ("onlineInquiries", {"inquiryEndAt": "2025-01-08"}, 200),  # end - start == 7 days: the doc's limit
        ("onlineInquiries", {"inquiryEndAt": "2025-01-09"}, 400),
        ("onlineInquiries", {"inquiryStartAt": "2025-01-07", "inquiryEndAt": "2025-01-07"}, 200),
        ("onlineInquiries", {"inquiryStartAt": "2025-01-07", "inquiryEndAt": "2025-01-06"}, 400),
        ("onlineInquiries", {"inquiryStartAt": "2025/01/01"}, 400),
        ("onlineInquiries", {"inquiryStartAt": "2025-1-1"}, 400),
        ("onlineInquiries", {"inquiryEndAt": "2025-02-30"}, 400),
        ("onlineInquiries", {"inquiryStartAt": None}, 400),
        ("onlineInquiries", {"answeredType": None}, 400),
        ("onlineInquiries", {"answeredType": "UNANSWERED"}, 400),
        ("onlineInquiries", {"pageSize": "50"}, 200),
        ("onlineInquiries", {"pageSize": "51"}, 400),
        ("onlineInquiries", {"pageSize": "0"}, 400),
        ("onlineInquiries", {"pageNum": "0"}, 400),
        ("onlineInquiries", {"pageNum": "one"}, 400),
        ("callCenterInquiries", {}, 200),
        ("callCenterInquiries", {"pageSize": "30"}, 200),
        ("callCenterInquiries", {"pageSize": "31"}, 400),
        ("callCenterInquiries", {"inquiryEndAt": "2025-01-09"}, 400),
        ("callCenterInquiries", {"partnerCounselingStatus": None}, 400),
        ("callCenterInquiries", {"partnerCounselingStatus": "requestAnswer"}, 400),
        ("callCenterInquiries", {"partnerCounselingStatus": "NO_ANSWER"}, 200),
    ],
)
async def test_enforces_documented_list_parameters(
    client: httpx.AsyncClient, clock: FakeClock, kind: str, overrides: dict[str, str | None], status: int
) -> None:
    response = await get(client, clock, list_target_with(kind, overrides))
    assert response.status_code == status
    assert response.json()["code"] in (200, "200", 400)


async def test_repeated_parameter_is_refused(client: httpx.AsyncClient, clock: FakeClock) -> None:
    response = await get(client, clock, list_target() + "&answeredType=NOANSWER")
    assert (response.status_code, response.json()["data"]) == (400, None)


# ---- data, paging, filters, formats ------------------------------------------------------------------


async def test_pages_through_120_items_50_at_a_time(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: CoupangSandbox
) -> None:
    ids = [
        sandbox.add_product_inquiry(content=f"질문 {i}", inquiry_at=START + timedelta(minutes=i)) for i in range(120)
    ]
    pages = [
        (await get(client, clock, list_target(pageNum=str(n), pageSize="50"))).json()["data"] for n in (1, 2, 3, 4)
    ]
    seen = [row["inquiryId"] for page in pages for row in page["content"]]
    assert [len(page["content"]) for page in pages] == [50, 50, 20, 0]
    assert {(p["pagination"]["totalPages"], p["pagination"]["totalElements"]) for p in pages} == {(3, 120)}
    assert [page["pagination"]["currentPage"] for page in pages] == [1, 2, 3, 4]
    assert seen == list(reversed(ids))  # newest first, no gaps, no repeats


@pytest.mark.parametrize(("answered_type", "expected"), [("ALL", 5), ("ANSWERED", 3), ("NOANSWER", 2)])
async def test_filters_by_answered_state(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: CoupangSandbox, answered_type: str, expected: int
) -> None:
    [sandbox.add_product_inquiry(content="문의", inquiry_at=kst(2, 10), answered=i < 3) for i in range(5)]
    data = (await get(client, clock, list_target(answeredType=answered_type))).json()["data"]
    assert data["pagination"]["totalElements"] == expected


async def test_date_window_is_korean_calendar_dates(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: CoupangSandbox
) -> None:
    inside = sandbox.add_product_inquiry(content="자정 전", inquiry_at=kst(7, 23, 30))  # 14:30 UTC on the 7th
    sandbox.add_product_inquiry(content="자정 후", inquiry_at=kst(8, 0, 30))  # still the 7th in UTC
    sandbox.add_product_inquiry(content="하루 전", inquiry_at=kst(1, 8, 59) - timedelta(days=1))
    rows = (await get(client, clock, list_target())).json()["data"]["content"]
    assert [row["inquiryId"] for row in rows] == [inside]


@pytest.mark.parametrize(
    ("version", "datetime_format", "code_style", "inquiry_at", "code"),
    [
        ("v4", None, None, "2025-01-02 10:05:00", "200"),
        ("v5", None, None, "2025-01-02T10:05:00+09:00", "200"),
        ("v4", DateTimeFormat.OFFSET, CodeStyle.NUMBER, "2025-01-02T10:05:00+09:00", 200),
        ("v5", DateTimeFormat.NAIVE_KST, CodeStyle.STRING, "2025-01-02 10:05:00", "200"),
    ],
)
async def test_datetime_format_and_code_type(
    clock: FakeClock,
    version: str,
    datetime_format: DateTimeFormat | None,
    code_style: CodeStyle | None,
    inquiry_at: str,
    code: str | int,
) -> None:
    sandbox = CoupangSandbox(
        vendor_id=VENDOR, access_key=ACCESS, secret_key=SECRET, now=clock.now,
        datetime_format=datetime_format, code_style=code_style,
    )  # fmt: skip
    sandbox.add_product_inquiry(content="문의", inquiry_at=kst(2, 10, 5), order_ids=[16000009476673])
    async with httpx.AsyncClient(transport=httpx.MockTransport(sandbox.handler), base_url=BASE_URL) as client:
        body = (await get(client, clock, list_target(version=version))).json()
    row = body["data"]["content"][0]
    assert (body["code"], body["message"], row["inquiryAt"]) == (code, "OK", inquiry_at)
    assert set(row) == PRODUCT_ROW_KEYS
    assert (row["orderIds"], row["buyerEmail"], row["commentDtoList"]) == ([16000009476673], "", [])


async def test_call_center_rows_are_shaped_like_the_doc_sample(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: CoupangSandbox
) -> None:
    note = "[판매자이관]\n◼고객명/연락처: <<김민수/010-1234-8801>>\n◼문의내용: 배송 언제 오나요?"
    sandbox.add_call_center_inquiry(inquiry_at=kst(3, 16, 43), agent_note=note, item_name="유기농 현미 10kg")
    body = (await get(client, clock, list_target("callCenterInquiries", version="v4"))).json()
    row = body["data"]["content"][0]
    reply = row["replies"][0]
    assert body["code"] == 200  # the call-center sample's numeric code
    assert set(row) == CALL_ROW_KEYS
    assert (row["csPartnerCounselingStatus"], row["inquiryStatus"], row["answeredAt"]) == (
        "requestAnswer",
        "progress",
        None,
    )
    assert (row["buyerEmail"], row["buyerPhone"], row["vendorItemId"]) == ("", "010-****-8801", [3285906659])
    assert (reply["answerType"], reply["partnerTransferStatus"], reply["needAnswer"]) == (
        "csAgent",
        "requestAnswer",
        True,
    )
    assert "김민수/010-1234-8801" in reply["content"]


@pytest.mark.parametrize(
    ("status_filter", "expected"),
    [("NONE", 3), ("NO_ANSWER", 1), ("ANSWER", 1), ("TRANSFER", 1)],
)
async def test_filters_call_center_by_counseling_status(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: CoupangSandbox, status_filter: str, expected: int
) -> None:
    [
        sandbox.add_call_center_inquiry(inquiry_at=kst(2, 9), agent_note="이관", item_name="텀블러", status=status)
        for status in CallCenterStatus
    ]
    target = list_target("callCenterInquiries", partnerCounselingStatus=status_filter)
    assert (await get(client, clock, target)).json()["data"]["pagination"]["totalElements"] == expected


def test_seed_random_is_deterministic(clock: FakeClock) -> None:
    def rows(seed: int) -> list[dict[str, Any]]:
        sandbox = CoupangSandbox(vendor_id=VENDOR, access_key=ACCESS, secret_key=SECRET, now=clock.now)
        sandbox.seed_random(40, start=START, end=START + timedelta(days=5), rng=random.Random(seed))
        return seeded_rows(sandbox, last_day=7)

    assert rows(7) == rows(7)
    assert len(rows(7)) == 40
    assert rows(7) != rows(8)


# ---- answers -----------------------------------------------------------------------------------------


def product_reply(**overrides: str | None) -> dict[str, Any]:
    """The documented product-answer body; an override of None drops that field."""
    body = {"content": "안녕하세요\n19일 입고 예정입니다.", "vendorId": VENDOR, "replyBy": "sandbox-wing", **overrides}
    return {k: v for k, v in body.items() if v is not None}


async def test_product_reply_marks_the_inquiry_answered(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: CoupangSandbox
) -> None:
    inquiry_id = sandbox.add_product_inquiry(content="재입고 언제 되나요?", inquiry_at=kst(2, 10))
    clock.advance(3600)
    response = await post(client, clock, reply_target("onlineInquiries", inquiry_id), product_reply())
    open_rows = (await get(client, clock, list_target(answeredType="NOANSWER"))).json()["data"]["content"]
    answered = (await get(client, clock, list_target(answeredType="ANSWERED", version="v4"))).json()["data"]["content"]
    assert response.json() == {"code": "200", "message": "OK"}
    assert (open_rows, [row["inquiryId"] for row in answered]) == ([], [inquiry_id])
    assert answered[0]["commentDtoList"][0]["content"] == "안녕하세요\n19일 입고 예정입니다."
    assert answered[0]["commentDtoList"][0]["inquiryCommentAt"] == "2025-01-01 10:00:00"  # clock time, KST


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (product_reply(content=None), 400, "content is required"),
        (product_reply(vendorId=None), 400, "vendorId is required"),
        (product_reply(replyBy=None), 400, "replyBy is required"),
        (product_reply(replyBy="someone-else"), 400, "The value of replyBy [someone-else] is incorrect."),
        (product_reply(vendorId="A99999999"), 400, "vendorId in the body does not match the path"),
        (product_reply(content="   "), 400, "내용을 입력하세요."),
    ],
    ids=["no-content", "no-vendor", "no-reply-by", "unknown-reply-by", "other-vendor", "blank-content"],
)
async def test_product_reply_validation(
    client: httpx.AsyncClient,
    clock: FakeClock,
    sandbox: CoupangSandbox,
    body: dict[str, Any],
    status: int,
    message: str,
) -> None:
    inquiry_id = sandbox.add_product_inquiry(content="문의", inquiry_at=kst(2, 10))
    response = await post(client, clock, reply_target("onlineInquiries", inquiry_id), body)
    assert (response.status_code, response.json()["message"]) == (status, message)
    assert sandbox.is_answered(inquiry_id) is False


@pytest.mark.parametrize(
    ("content", "content_type", "version", "status", "message"),
    [
        ('{"content":"줄\n바꿈","vendorId":"A00012345","replyBy":"sandbox-wing"}', "application/json", "v4", 400,
         "Could not read JSON: Illegal unquoted character ((CTRL-CHAR, code 10))"),
        ("content=hi", "application/x-www-form-urlencoded", "v4", 415, "Content type"),
        ('{"content":"hi"', "application/json", "v4", 400, "Could not read JSON"),
        ("{}", "application/json", "v5", 404, "No API matches"),
    ],
    ids=["raw-newline", "form-body", "broken-json", "v5-reply-path"],
)  # fmt: skip
async def test_product_reply_body_rules(
    client: httpx.AsyncClient,
    clock: FakeClock,
    sandbox: CoupangSandbox,
    content: str,
    content_type: str,
    version: str,
    status: int,
    message: str,
) -> None:
    target = reply_target(
        "onlineInquiries", sandbox.add_product_inquiry(content="문의", inquiry_at=kst(2, 10)), version
    )
    headers = {"Authorization": cea("POST", target), "Content-Type": content_type}
    response = await client.post(target, content=content.encode(), headers=headers)
    assert response.status_code == status
    assert response.json()["message"].startswith(message)


async def test_same_answer_twice_and_unknown_inquiry_are_refused(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: CoupangSandbox
) -> None:
    inquiry_id = sandbox.add_product_inquiry(content="문의", inquiry_at=kst(2, 10), answered=True, answer="감사합니다")
    duplicate = await post(
        client, clock, reply_target("onlineInquiries", inquiry_id), product_reply(content="감사합니다")
    )
    unknown = await post(client, clock, reply_target("onlineInquiries", 999), product_reply())
    assert (duplicate.status_code, duplicate.json()["message"]) == (400, "동일한 답변이 존재합니다.")
    assert unknown.status_code == 400


async def test_reply_needs_a_valid_signature_even_though_the_body_is_unsigned(
    client: httpx.AsyncClient, sandbox: CoupangSandbox
) -> None:
    inquiry_id = sandbox.add_product_inquiry(content="문의", inquiry_at=kst(2, 10))
    target = reply_target("onlineInquiries", inquiry_id)
    signed_for_other_inquiry = cea("POST", reply_target("onlineInquiries", inquiry_id + 1))
    response = await client.post(target, json=product_reply(), headers={"Authorization": signed_for_other_inquiry})
    assert (response.status_code, sandbox.is_answered(inquiry_id)) == (401, False)


def call_reply(
    inquiry_id: int, parent_answer_id: int | str | None, content: str = "확인 후 처리하겠습니다."
) -> dict[str, Any]:
    """The documented call-center answer body (the sample sends ids as strings)."""
    body = {"vendorId": VENDOR, "inquiryId": str(inquiry_id), "content": content, "replyBy": "sandbox-wing"}
    return {**body, "parentAnswerId": parent_answer_id}


async def test_call_center_reply_answers_once(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: CoupangSandbox
) -> None:
    inquiry_id = sandbox.add_call_center_inquiry(inquiry_at=kst(2, 9), agent_note="이관", item_name="의자")
    listed = (await get(client, clock, list_target("callCenterInquiries"))).json()["data"]["content"][0]
    parent = listed["replies"][0]["answerId"]
    first = await post(
        client, clock, reply_target("callCenterInquiries", inquiry_id), call_reply(inquiry_id, str(parent))
    )
    second = await post(client, clock, reply_target("callCenterInquiries", inquiry_id), call_reply(inquiry_id, parent))
    row = (await get(client, clock, list_target("callCenterInquiries", partnerCounselingStatus="ANSWER"))).json()
    answered = row["data"]["content"][0]
    assert first.json() == {"code": "200", "message": "OK"}
    assert (second.status_code, second.json()["message"]) == (
        400,
        "The inquiry can't be answer. It can do only inquiryStatus:progress, partnerTransferStatus:requestAnswer",
    )
    assert (answered["csPartnerCounselingStatus"], answered["answeredAt"]) == ("answered", "2025-01-01T09:00:00+09:00")
    assert [(r["answerType"], r["partnerTransferStatus"], r["needAnswer"]) for r in answered["replies"]] == [
        ("csAgent", "answered", False),
        ("vendor", None, False),
    ]


@pytest.mark.parametrize(
    ("status", "parent_offset", "content", "message"),
    [
        (CallCenterStatus.REQUEST_ANSWER, 1, "확인했습니다.", "parentAnswerId"),
        (CallCenterStatus.REQUEST_ANSWER, None, "확인했습니다.", "The parentAnswerId is required."),
        (CallCenterStatus.TRANSFER, 0, "확인했습니다.", "The inquiry can't be answer."),
    ],
    ids=["wrong-parent", "no-parent", "transfer-only"],
)
async def test_call_center_reply_validation(
    client: httpx.AsyncClient,
    clock: FakeClock,
    sandbox: CoupangSandbox,
    status: CallCenterStatus,
    parent_offset: int | None,
    content: str,
    message: str,
) -> None:
    inquiry_id = sandbox.add_call_center_inquiry(
        inquiry_at=kst(2, 9), agent_note="이관", item_name="의자", status=status
    )
    row = (await get(client, clock, list_target("callCenterInquiries"))).json()["data"]["content"][0]
    parent = None if parent_offset is None else row["replies"][0]["answerId"] + parent_offset
    response = await post(
        client, clock, reply_target("callCenterInquiries", inquiry_id), call_reply(inquiry_id, parent, content)
    )
    assert response.status_code == 400
    assert response.json()["message"].startswith(message)


# ---- faults, rate limit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status_arg", "status", "content_type", "retry_after"),
    [
        (Fault.SERVER_ERROR, None, 500, "application/json", None),
        (Fault.SERVER_ERROR, 503, 503, "application/json", None),
        (Fault.RATE_LIMIT, None, 429, "application/json", "7"),
        (Fault.HTML_FORBIDDEN, None, 403, "text/html", None),
    ],
)
async def test_gateway_faults_hit_the_next_request_only(
    client: httpx.AsyncClient,
    clock: FakeClock,
    sandbox: CoupangSandbox,
    fault: Fault,
    status_arg: int | None,
    status: int,
    content_type: str,
    retry_after: str | None,
) -> None:
    sandbox.inject(fault, status=status_arg, retry_after_s=7)
    faulty = await get(client, clock, list_target())
    after = await get(client, clock, list_target())
    assert (faulty.status_code, faulty.headers.get("Retry-After")) == (status, retry_after)
    assert faulty.headers["Content-Type"].startswith(content_type)
    assert (after.status_code, sandbox.pending_faults) == (200, 0)


async def test_html_forbidden_is_an_access_denied_page(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: CoupangSandbox
) -> None:
    sandbox.inject(Fault.HTML_FORBIDDEN)
    response = await get(client, clock, list_target())
    assert "<TITLE>Access Denied</TITLE>" in response.text
    assert response.headers["Server"] == "AkamaiGHost"


async def test_timeout_fault_raises_read_timeout(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: CoupangSandbox
) -> None:
    sandbox.inject(Fault.TIMEOUT)
    with pytest.raises(httpx.ReadTimeout):
        await get(client, clock, list_target())
    assert sandbox.requests[-1].status is None


async def test_malformed_body_is_a_non_json_200(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: CoupangSandbox
) -> None:
    sandbox.inject(Fault.MALFORMED_BODY)
    response = await get(client, clock, list_target())
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()


@pytest.mark.parametrize("kind", ["onlineInquiries", "callCenterInquiries"])
async def test_malformed_item_breaks_one_row_per_page(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: CoupangSandbox, kind: str
) -> None:
    [sandbox.add_product_inquiry(content=f"문의 {i}", inquiry_at=kst(2, 10, i)) for i in range(5)]
    [sandbox.add_call_center_inquiry(inquiry_at=kst(2, 10, i), agent_note="이관", item_name="의자") for i in range(5)]
    sandbox.inject(Fault.MALFORMED_ITEM, times=3)
    pages = [(await get(client, clock, list_target(kind))).json()["data"]["content"] for _ in range(4)]
    problems = [[row_problems(row) for row in page] for page in pages]
    assert [sum(bool(p) for p in page) for page in problems] == [1, 1, 1, 0]
    assert sorted(p[0] for page in problems for p in page if p) == ["bad_date", "missing_id", "wrong_types"]
    assert [len(page) for page in pages] == [5, 5, 5, 5]


async def test_faults_are_fifo_and_can_target_an_endpoint(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: CoupangSandbox
) -> None:
    sandbox.inject(Fault.SERVER_ERROR, endpoint=Endpoint.CALL_CENTER_INQUIRIES)
    sandbox.inject(Fault.RATE_LIMIT, times=2)
    statuses = [
        (await get(client, clock, target)).status_code
        for target in (list_target(), list_target("callCenterInquiries"), list_target(), list_target())
    ]
    assert statuses == [429, 500, 429, 200]


async def test_more_than_10_requests_in_one_second_get_429(
    client: httpx.AsyncClient, clock: FakeClock, sandbox: CoupangSandbox
) -> None:
    burst = [(await get(client, clock, list_target())).status_code for _ in range(11)]
    clock.advance(0.999)
    still_blocked = (await get(client, clock, list_target())).status_code
    clock.advance(1.0)
    recovered = (await get(client, clock, list_target())).status_code
    assert burst == [200] * 10 + [429]
    assert (still_blocked, recovered) == (429, 200)
    assert [r.at - START for r in sandbox.requests[-3:]] == [
        timedelta(0),
        timedelta(seconds=0.999),
        timedelta(seconds=1.999),
    ]
    assert {(r.method, r.path) for r in sandbox.requests} == {("GET", f"{API}/v5/vendors/{VENDOR}/onlineInquiries")}


# ---- over real HTTP on 127.0.0.1 ---------------------------------------------------------------------


async def test_served_over_loopback_http_with_the_raw_query_preserved(
    clock: FakeClock, sandbox: CoupangSandbox
) -> None:
    inquiry_id = sandbox.add_product_inquiry(content="배송 언제 오나요?", inquiry_at=kst(2, 10))
    odd_target = list_target(version="v4") + "&note=%7e%ED%95%9C"  # an ignored extra parameter, oddly encoded
    with SandboxServer(sandbox.handler) as server:
        url = server.url
        async with httpx.AsyncClient(base_url=url, timeout=5.0) as http:
            listed = await get(http, clock, odd_target)
            reencoded = await http.get(
                odd_target.replace("&note=%7e", "&note=~"), headers={"Authorization": cea("GET", odd_target)}
            )
            answered = await post(http, clock, reply_target("onlineInquiries", inquiry_id), product_reply())
    assert url.startswith("http://127.0.0.1:")
    assert (listed.status_code, listed.json()["data"]["content"][0]["inquiryId"]) == (200, inquiry_id)
    assert (reencoded.status_code, answered.status_code, sandbox.is_answered(inquiry_id)) == (401, 200, True)
    assert sandbox.requests[0].query == odd_target.partition("?")[2]


async def test_server_times_out_instead_of_answering(clock: FakeClock, sandbox: CoupangSandbox) -> None:
    sandbox.inject(Fault.TIMEOUT)
    with SandboxServer(sandbox.handler, timeout_hold_s=30.0) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=0.2) as http:
            with pytest.raises(httpx.ReadTimeout):
                await get(http, clock, list_target())
            after = await get(http, clock, list_target())
    assert after.status_code == 200


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.0.10", "localhost", "::1", "8.8.8.8"])
def test_server_refuses_non_loopback_addresses(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        SandboxServer(lambda request: httpx.Response(200), host=host)


# ---- demo generator ----------------------------------------------------------------------------------


def test_generator_adds_and_answers_over_time(clock: FakeClock, sandbox: CoupangSandbox) -> None:
    generator = InquiryGenerator(sandbox, rng=random.Random(3), arrivals_per_h=30.0, pii_share=0.5)
    first = generator.tick(START)
    arrivals = generator.tick(START + timedelta(hours=2))
    later = generator.tick(START + timedelta(hours=4))
    texts = [row["content"] for row in seeded_rows(sandbox, last_day=1)]
    assert first.added == first.answered == ()
    assert len(arrivals.added) > 20
    assert later.answered
    assert all(sandbox.is_answered(i) for i in later.answered)
    assert any("010-" in text and "입니다" in text for text in texts)


def test_server_says_nothing_when_a_client_hangs_up_but_reports_its_own_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A daemon stopping mid-poll hangs up before the response is written: no traceback on the demo's console.
    with SandboxServer(lambda request: httpx.Response(200)) as server:
        serving = server._server
        assert serving is not None
        for error in (BrokenPipeError(32, "Broken pipe"), ConnectionResetError(104, "reset"), KeyError("bug")):
            try:
                raise error
            except (ConnectionError, KeyError):
                serving.handle_error(None, ("127.0.0.1", 40798))
    err = capsys.readouterr().err
    assert err.count("Traceback") == 1 and "KeyError: 'bug'" in err
