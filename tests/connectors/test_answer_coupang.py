"""Coupang answers: the two documented reply requests, and every documented reply mapped to one outcome.

HTTP is faked at the edge with respx (marketplaces.md §1.5, §1.7, §8); time with FakeClock. No network.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from connectors.coupang.auth import cea_signature
from connectors.coupang.connector import REPLY_BY_MISSING, CoupangConnector
from connectors.coupang.rows import to_inquiry
from core.answers import AnswerOutcome, AnswerRequest
from core.http import make_client
from core.models import Inquiry, Marketplace, StreamKind
from tests.conftest import START
from tests.fakes import FakeClock

BASE_URL = "https://api-gateway.coupang.com"
VENDOR_ID = "A00012345"
ACCESS_KEY = "ak-coupang-7Hq2"
SECRET_KEY = "sk-coupang-9Zx4"
REPLY_BY = "myshop_cs"
ANSWERS = f"/v2/providers/openapi/apis/api/v4/vendors/{VENDOR_ID}"
PRODUCT_REPLY = f"{ANSWERS}/onlineInquiries/846/replies"
CALL_CENTER_REPLY = f"{ANSWERS}/callCenterInquiries/1007837444/replies"
TEXT = "안녕하세요, 고객님.\n내일 출고됩니다.\n감사합니다."
OK = {"code": "200", "message": "OK"}

Factory = Callable[..., CoupangConnector]


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """respx over Coupang's base URL: every request must match a route."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False, assert_all_mocked=True) as mock:
        yield mock


@pytest.fixture
async def connector(clock: FakeClock) -> AsyncIterator[Factory]:
    made: list[CoupangConnector] = []

    def factory(reply_by: str | None = REPLY_BY) -> CoupangConnector:
        made.append(
            CoupangConnector(
                account_id="shop",
                vendor_id=VENDOR_ID,
                access_key=SecretStr(ACCESS_KEY),
                secret_key=SecretStr(SECRET_KEY),
                client=make_client(base_url=BASE_URL),
                clock=clock,
                reply_by=reply_by,
            )
        )
        return made[-1]

    yield factory
    for made_one in made:
        await made_one.aclose()


def inquiry(stream: StreamKind, external_id: str, answer_ref: str | None = None) -> Inquiry:
    return Inquiry(
        account_id="shop",
        marketplace=Marketplace.COUPANG,
        stream=stream,
        external_id=external_id,
        received_at=START - timedelta(hours=1),
        body="언제 오나요?",
        answer_ref=answer_ref,
    )


PRODUCT = inquiry(StreamKind.PRODUCT_QNA, "846")
CALL_CENTER = inquiry(StreamKind.CALL_CENTER, "1007837444", answer_ref="1023208324")


async def test_product_answer_is_the_documented_signed_post(router: respx.MockRouter, connector: Factory) -> None:
    route = router.post(PRODUCT_REPLY).respond(200, json=OK)

    result = await connector().answer(AnswerRequest(PRODUCT, TEXT))

    assert result.outcome is AnswerOutcome.ACCEPTED
    request = route.calls.last.request
    assert json.loads(request.content) == {"content": TEXT, "vendorId": VENDOR_ID, "replyBy": REPLY_BY}
    # Line breaks travel as JSON escapes: a raw control character is Coupang's 400 CTRL-CHAR.
    assert b"\n" not in request.content and b"\\n" in request.content
    assert request.headers["Content-Type"] == "application/json;charset=UTF-8"
    authorization = request.headers["Authorization"]
    signed_date = authorization.split("signed-date=")[1].split(",")[0]
    signature = cea_signature(SECRET_KEY, signed_date, "POST", PRODUCT_REPLY, "")
    assert authorization == (
        f"CEA algorithm=HmacSHA256, access-key={ACCESS_KEY}, signed-date={signed_date}, signature={signature}"
    )


async def test_call_center_answer_names_the_reply_that_asked_for_it(
    router: respx.MockRouter, connector: Factory
) -> None:
    route = router.post(CALL_CENTER_REPLY).respond(200, json={"code": 200, "message": "OK"})

    result = await connector().answer(AnswerRequest(CALL_CENTER, TEXT))

    assert result.outcome is AnswerOutcome.ACCEPTED
    assert json.loads(route.calls.last.request.content) == {
        "vendorId": VENDOR_ID,
        "inquiryId": "1007837444",
        "content": TEXT,
        "replyBy": REPLY_BY,
        "parentAnswerId": "1023208324",
    }


async def test_without_reply_by_nothing_is_sent_and_the_message_says_what_to_set(
    router: respx.MockRouter, connector: Factory
) -> None:
    result = await connector(reply_by=None).answer(AnswerRequest(PRODUCT, TEXT))

    assert (result.outcome, result.message) == (AnswerOutcome.REFUSED, REPLY_BY_MISSING)
    assert "reply_by" in result.message
    assert not router.calls


async def test_a_call_center_row_nobody_asked_an_answer_for_is_not_answerable(
    router: respx.MockRouter, connector: Factory
) -> None:
    transfer = inquiry(StreamKind.CALL_CENTER, "1007837444", answer_ref=None)

    result = await connector().answer(AnswerRequest(transfer, TEXT))

    assert result.outcome is AnswerOutcome.NOT_ANSWERABLE
    assert not router.calls


@pytest.mark.parametrize(
    ("target", "path", "status", "body", "outcome"),
    [
        (PRODUCT, PRODUCT_REPLY, 400, {"code": 400, "message": "동일한 답변이 존재합니다."}, "already_answered"),
        (
            PRODUCT,
            PRODUCT_REPLY,
            400,
            {"code": 400, "message": "삭제된 상품문의에는 더 이상 답변할 수 없습니다."},
            "not_answerable",
        ),
        (PRODUCT, PRODUCT_REPLY, 400, {"code": 400, "message": "내용을 입력하세요."}, "refused"),
        (PRODUCT, PRODUCT_REPLY, 400, {"code": 400, "message": "value of replyBy (nobody) is incorrect"}, "refused"),
        (
            PRODUCT,
            PRODUCT_REPLY,
            400,
            {"code": 400, "message": "Could not read JSON: Illegal unquoted character (CTRL-CHAR, code 10)"},
            "refused",
        ),
        (
            CALL_CENTER,
            CALL_CENTER_REPLY,
            400,
            {
                "code": 400,
                "message": "The inquiry can't be answer. It can do only inquiryStatus:progress, "
                "partnerTransferStatus:requestAnswer",
            },
            "not_answerable",
        ),
        (
            CALL_CENTER,
            CALL_CENTER_REPLY,
            400,
            {"code": 400, "message": "상담이 종료된 문의입니다 - 522"},
            "not_answerable",
        ),
        (CALL_CENTER, CALL_CENTER_REPLY, 400, {"code": 400, "message": "The parentAnswerId is required."}, "refused"),
        (CALL_CENTER, CALL_CENTER_REPLY, 400, {"code": 400, "message": "userId가 올바르지 않습니다 - 520"}, "refused"),
        (
            CALL_CENTER,
            CALL_CENTER_REPLY,
            200,
            {"code": 400, "message": "이미 답변이 등록된 문의입니다."},
            "already_answered",
        ),
    ],
)
async def test_documented_refusals_map_to_one_outcome_with_coupangs_words(
    router: respx.MockRouter,
    connector: Factory,
    target: Inquiry,
    path: str,
    status: int,
    body: dict[str, Any],
    outcome: str,
) -> None:
    router.post(path).respond(status, json=body)

    result = await connector().answer(AnswerRequest(target, TEXT))

    assert result.outcome == outcome
    assert body["message"] in result.message


@pytest.mark.parametrize(
    ("status", "kwargs", "maybe_delivered"),
    [
        (429, {"headers": {"Retry-After": "30"}}, False),
        (403, {"text": "<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD></HTML>"}, False),
        (401, {"json": {"code": 401, "message": "Invalid signature"}}, False),
        (500, {"json": {"code": 500, "message": "Internal Server Error"}}, True),
        (503, {"text": "Service Unavailable"}, True),
    ],
)
async def test_throttles_blocks_and_outages_are_retried_later(
    router: respx.MockRouter, connector: Factory, status: int, kwargs: dict[str, Any], maybe_delivered: bool
) -> None:
    router.post(PRODUCT_REPLY).respond(status, **kwargs)

    result = await connector().answer(AnswerRequest(PRODUCT, TEXT))

    assert (result.outcome, result.maybe_delivered) == (AnswerOutcome.RETRY_LATER, maybe_delivered)
    if status == 429:
        assert result.retry_after_s == 30


@pytest.mark.parametrize(
    ("error", "maybe_delivered"),
    [(httpx.ConnectError, False), (httpx.ConnectTimeout, False), (httpx.ReadTimeout, True), (httpx.ReadError, True)],
)
async def test_a_transport_error_is_retried_and_says_whether_the_answer_may_have_left(
    router: respx.MockRouter, connector: Factory, error: type[httpx.TransportError], maybe_delivered: bool
) -> None:
    router.post(PRODUCT_REPLY).mock(side_effect=error)

    result = await connector().answer(AnswerRequest(PRODUCT, TEXT))

    assert (result.outcome, result.maybe_delivered) == (AnswerOutcome.RETRY_LATER, maybe_delivered)


async def test_a_success_page_that_is_not_the_envelope_is_an_unknown_outcome(
    router: respx.MockRouter, connector: Factory
) -> None:
    router.post(PRODUCT_REPLY).respond(200, text="<html>proxy</html>")

    result = await connector().answer(AnswerRequest(PRODUCT, TEXT))

    assert (result.outcome, result.maybe_delivered) == (AnswerOutcome.RETRY_LATER, True)


async def test_no_secret_reaches_an_answer_message(router: respx.MockRouter, connector: Factory) -> None:
    echo = f"bad request: access-key={ACCESS_KEY} secret={SECRET_KEY}"
    router.post(PRODUCT_REPLY).respond(400, json={"code": 400, "message": echo})

    result = await connector().answer(AnswerRequest(PRODUCT, TEXT))

    assert result.outcome is AnswerOutcome.REFUSED
    assert ACCESS_KEY not in result.message and SECRET_KEY not in result.message


def test_once_only_streams_and_the_third_party_length_limit() -> None:
    assert {StreamKind.PRODUCT_QNA, StreamKind.CALL_CENTER} == CoupangConnector.ONCE_ONLY
    limit = CoupangConnector.ANSWER_LIMITS[StreamKind.CALL_CENTER]
    assert (limit.min_length, limit.max_length, limit.documented) == (2, 1000, False)
    assert StreamKind.PRODUCT_QNA not in CoupangConnector.ANSWER_LIMITS


def call_center_row(replies: list[dict[str, Any]], status: str = "requestAnswer") -> dict[str, Any]:
    return {
        "inquiryId": 1007837444,
        "csPartnerCounselingStatus": status,
        "inquiryStatus": "progress",
        "content": "상담이력",
        "inquiryAt": "2025-01-08 16:43:42",
        "replies": replies,
    }


def reply(
    answer_id: int, at: str, transfer: str | None, *, need: bool = False, kind: str = "csAgent"
) -> dict[str, Any]:
    return {
        "answerId": answer_id,
        "replyAt": at,
        "content": "[판매자이관] 확인 부탁드립니다",
        "partnerTransferStatus": transfer,
        "answerType": kind,
        "needAnswer": need,
        "parentAnswerId": 0,
    }


@pytest.mark.parametrize(
    ("replies", "status", "expected"),
    [
        ([reply(1023208324, "2025-01-08 16:44:27", "requestAnswer", need=True)], "requestAnswer", "1023208324"),
        (
            [
                reply(1, "2025-01-08 16:44:27", "requestAnswer", need=True),
                reply(2, "2025-01-08 17:00:00", "none"),
                reply(3, "2025-01-08 18:00:00", "requestAnswer", need=True),
            ],
            "requestAnswer",
            "3",
        ),
        # The row asks but no reply says so yet: the latest agent reply is the best guess.
        ([reply(7, "2025-01-08 16:44:27", "none")], "requestAnswer", "7"),
        # TRANSFER and answered rows take no answer text.
        ([reply(8, "2025-01-08 16:44:27", "answered")], "answered", None),
    ],
)
def test_call_center_rows_carry_the_parent_answer_id(
    replies: list[dict[str, Any]], status: str, expected: str | None
) -> None:
    parsed = to_inquiry(call_center_row(replies, status), "shop", StreamKind.CALL_CENTER)

    assert parsed.answer_ref == expected
