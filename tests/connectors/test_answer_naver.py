"""Naver answers: 상품 문의 PUT, 고객 문의 POST (and the PUT edit), their documented replies, and the templates.

HTTP is faked at the edge with respx (marketplaces.md §2.4, §2.6, §2.7, §8); time with FakeClock. No network.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from connectors.naver.connector import NaverConnector
from connectors.naver.rows import to_inquiry
from core.answers import AnswerOutcome, AnswerRequest
from core.http import make_client
from core.models import Inquiry, Marketplace, StreamKind
from tests.conftest import START
from tests.fakes import FakeClock

BASE_URL = "https://api.commerce.naver.com/external"
CLIENT_ID = "aBcDeFgHiJkLmNoPqRsTuV"
CLIENT_SECRET = "$2a$04$abcdefghijklmnopqrstuu"
TOKEN = "naver-access-token-4Kp8"
TEXT = "안녕하세요, 고객님.\n오늘 출고됩니다."
QNA_PUT = "/v1/contents/qnas/24680"
INQUIRY_POST = "/v1/pay-merchant/inquiries/13579/answer"
INQUIRY_EDIT = "/v1/pay-merchant/inquiries/13579/answer/777"
TEMPLATES = "/v1/contents/qnas/templates"


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """respx over Naver's base URL, with the token endpoint answering."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False, assert_all_mocked=True) as mock:
        mock.post("/v1/oauth2/token").respond(
            200, json={"access_token": TOKEN, "expires_in": 10800, "token_type": "Bearer"}
        )
        yield mock


@pytest.fixture
async def naver(clock: FakeClock) -> AsyncIterator[NaverConnector]:
    connector = NaverConnector(
        account_id="shop",
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
        client=make_client(base_url=BASE_URL),
        clock=clock,
    )
    yield connector
    await connector.aclose()


def inquiry(stream: StreamKind, external_id: str, *, answered: bool = False, ref: str | None = None) -> Inquiry:
    return Inquiry(
        account_id="shop",
        marketplace=Marketplace.NAVER,
        stream=stream,
        external_id=external_id,
        received_at=START - timedelta(hours=1),
        body="언제 오나요?",
        answered=answered,
        answered_at=START if answered else None,
        answer_ref=ref,
    )


QNA = inquiry(StreamKind.PRODUCT_QNA, "24680")
OPEN_INQUIRY = inquiry(StreamKind.CUSTOMER_INQUIRY, "13579")
ANSWERED_INQUIRY = inquiry(StreamKind.CUSTOMER_INQUIRY, "13579", answered=True, ref="777")
ANSWER_OK = {
    "code": "SUCCESS",
    "message": "성공",
    "data": {"inquiryNo": 13579, "inquiryCommentNo": 1},
    "timestamp": "2022-09-15T14:00:15.600+09:00",
    "traceId": "t",
}


def error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "timestamp": "2022-09-16T16:33:14.300+09:00", "traceId": "44c1"}


async def test_product_qna_answer_is_a_put_of_comment_content(router: respx.MockRouter, naver: NaverConnector) -> None:
    route = router.put(QNA_PUT).respond(204)

    result = await naver.answer(AnswerRequest(QNA, TEXT))

    assert result.outcome is AnswerOutcome.ACCEPTED
    request = route.calls.last.request
    assert json.loads(request.content) == {"commentContent": TEXT}
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"


async def test_customer_inquiry_answer_posts_answer_comment(router: respx.MockRouter, naver: NaverConnector) -> None:
    route = router.post(INQUIRY_POST).respond(200, json=ANSWER_OK)

    result = await naver.answer(AnswerRequest(OPEN_INQUIRY, TEXT))

    assert result.outcome is AnswerOutcome.ACCEPTED
    # The documented field is answerComment; some public code sends answerContent, which Naver ignores.
    assert json.loads(route.calls.last.request.content) == {"answerComment": TEXT}
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_an_answered_inquiry_with_its_answer_number_is_edited_by_put(
    router: respx.MockRouter, naver: NaverConnector
) -> None:
    post = router.post(INQUIRY_POST).respond(200, json=ANSWER_OK)
    edit = router.put(INQUIRY_EDIT).respond(200, json=ANSWER_OK)

    result = await naver.answer(AnswerRequest(ANSWERED_INQUIRY, TEXT))

    assert result.outcome is AnswerOutcome.ACCEPTED
    assert json.loads(edit.calls.last.request.content) == {"answerComment": TEXT}
    assert not post.calls


@pytest.mark.parametrize(
    ("target", "method", "path", "status", "body", "outcome"),
    [
        (
            OPEN_INQUIRY,
            "POST",
            INQUIRY_POST,
            400,
            error("ERR-NC-101010", "이미 답변이 존재합니다."),
            "already_answered",
        ),
        (
            OPEN_INQUIRY,
            "POST",
            INQUIRY_POST,
            400,
            error("ERR-NC-101004", "문의 번호 13579에 해당하는 문의가 없습니다."),
            "not_answerable",
        ),
        (
            OPEN_INQUIRY,
            "POST",
            INQUIRY_POST,
            400,
            error("ERR-NC-101005", "문의가 유효하지 않습니다."),
            "not_answerable",
        ),
        (OPEN_INQUIRY, "POST", INQUIRY_POST, 400, error("ERR-NC-101001", "정상적인 요청이 아닙니다."), "refused"),
        (OPEN_INQUIRY, "POST", INQUIRY_POST, 400, error("ERR-NC-101007", "답변 권한이 없습니다."), "refused"),
        (
            OPEN_INQUIRY,
            "POST",
            INQUIRY_POST,
            400,
            error("ERR-NC-101008", "판매자 번호가 유효하지 않습니다."),
            "refused",
        ),
        (ANSWERED_INQUIRY, "PUT", INQUIRY_EDIT, 400, error("ERR-NC-101004", "문의가 없습니다."), "not_answerable"),
        (QNA, "PUT", QNA_PUT, 404, error("NOT_FOUND", "데이터 없음"), "not_answerable"),
        (QNA, "PUT", QNA_PUT, 400, error("BAD_REQUEST", "잘못된 요청"), "refused"),
        (QNA, "PUT", QNA_PUT, 404, error("GW.NOT_FOUND", "not found"), "refused"),
    ],
)
async def test_documented_errors_map_to_one_outcome_with_navers_words(
    router: respx.MockRouter,
    naver: NaverConnector,
    target: Inquiry,
    method: str,
    path: str,
    status: int,
    body: dict[str, Any],
    outcome: str,
) -> None:
    router.route(method=method, path=path).respond(status, json=body)

    result = await naver.answer(AnswerRequest(target, TEXT))

    assert result.outcome == outcome
    assert body["code"] in result.message and body["message"] in result.message


@pytest.mark.parametrize(
    ("status", "body", "headers", "maybe_delivered"),
    [
        (500, error("ERR-NC-101006", "요청한 API가 정상적으로 수행되지 않았습니다."), {}, True),
        (504, error("GW.TIMEOUT.01", "timeout"), {}, True),
        (503, error("GW.BLOCK.02", "maintenance"), {}, True),
        (429, error("GW.RATE_LIMIT", "rate"), {"GNCP-GW-RateLimit-Replenish-Rate": "2"}, False),
        (429, error("GW.QUOTA_LIMIT", "quota"), {"GNCP-GW-Quota-Period": "HOURS"}, False),
        (403, error("GW.IP_NOT_ALLOWED", "ip"), {}, False),
    ],
)
async def test_outages_and_throttles_are_retried_later(
    router: respx.MockRouter,
    naver: NaverConnector,
    status: int,
    body: dict[str, Any],
    headers: dict[str, str],
    maybe_delivered: bool,
) -> None:
    router.post(INQUIRY_POST).respond(status, json=body, headers=headers)

    result = await naver.answer(AnswerRequest(OPEN_INQUIRY, TEXT))

    assert (result.outcome, result.maybe_delivered) == (AnswerOutcome.RETRY_LATER, maybe_delivered)


async def test_while_a_429_wait_lasts_the_answer_never_leaves(router: respx.MockRouter, naver: NaverConnector) -> None:
    route = router.post(INQUIRY_POST).respond(429, json=error("GW.QUOTA_LIMIT", "quota"))
    await naver.answer(AnswerRequest(OPEN_INQUIRY, TEXT))

    result = await naver.answer(AnswerRequest(OPEN_INQUIRY, TEXT))

    assert (result.outcome, result.maybe_delivered) == (AnswerOutcome.RETRY_LATER, False)
    assert result.retry_after_s is not None and result.retry_after_s > 0
    assert route.call_count == 1


async def test_a_refused_token_is_reissued_once_and_the_answer_sent_again(
    router: respx.MockRouter, naver: NaverConnector
) -> None:
    route = router.post(INQUIRY_POST).mock(
        side_effect=[httpx.Response(401, json=error("GW.AUTHN", "expired")), httpx.Response(200, json=ANSWER_OK)]
    )

    result = await naver.answer(AnswerRequest(OPEN_INQUIRY, TEXT))

    assert result.outcome is AnswerOutcome.ACCEPTED
    assert route.call_count == 2


async def test_no_token_means_the_answer_surely_did_not_leave(router: respx.MockRouter, naver: NaverConnector) -> None:
    router.post("/v1/oauth2/token").respond(503, json=error("GW.BLOCK.01", "circuit open"))
    route = router.post(INQUIRY_POST).respond(200, json=ANSWER_OK)

    result = await naver.answer(AnswerRequest(OPEN_INQUIRY, TEXT))

    assert (result.outcome, result.maybe_delivered) == (AnswerOutcome.RETRY_LATER, False)
    assert not route.calls


@pytest.mark.parametrize(("error_type", "maybe_delivered"), [(httpx.ConnectError, False), (httpx.ReadTimeout, True)])
async def test_transport_errors_say_whether_the_answer_may_have_left(
    router: respx.MockRouter, naver: NaverConnector, error_type: type[httpx.TransportError], maybe_delivered: bool
) -> None:
    router.post(INQUIRY_POST).mock(side_effect=error_type)

    result = await naver.answer(AnswerRequest(OPEN_INQUIRY, TEXT))

    assert (result.outcome, result.maybe_delivered) == (AnswerOutcome.RETRY_LATER, maybe_delivered)


async def test_no_secret_or_token_reaches_an_answer_message(router: respx.MockRouter, naver: NaverConnector) -> None:
    router.post(INQUIRY_POST).respond(400, json=error("ERR-NC-101001", f"bad: {TOKEN} {CLIENT_SECRET}"))

    result = await naver.answer(AnswerRequest(OPEN_INQUIRY, TEXT))

    assert result.outcome is AnswerOutcome.REFUSED
    assert TOKEN not in result.message and CLIENT_SECRET not in result.message


@pytest.mark.parametrize(
    "body",
    [
        [{"questionType": "DELIVERY", "subject": "배송 지연", "content": "죄송합니다."}],
        {"contents": [{"questionType": "DELIVERY", "subject": "배송 지연", "content": "죄송합니다."}]},
        {"questionType": "DELIVERY", "subject": "배송 지연", "content": "죄송합니다."},
    ],
)
async def test_answer_templates_are_read_in_every_shape_the_doc_allows(
    router: respx.MockRouter, naver: NaverConnector, body: Any
) -> None:
    route = router.get(TEMPLATES).respond(200, json=body)

    assert await naver.answer_templates() == [("DELIVERY", "배송 지연", "죄송합니다.")]
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_once_only_is_the_customer_inquiry_post_and_no_limit_is_known() -> None:
    assert {StreamKind.CUSTOMER_INQUIRY} == NaverConnector.ONCE_ONLY
    assert not NaverConnector.ANSWER_LIMITS


@pytest.mark.parametrize(
    ("answered", "content_id", "expected"), [(True, 777, "777"), (True, 0, None), (False, None, None)]
)
def test_customer_inquiry_rows_carry_the_answer_number(
    answered: bool, content_id: int | None, expected: str | None
) -> None:
    row = {
        "inquiryNo": 13579,
        "title": "배송 문의",
        "inquiryContent": "언제 오나요?",
        "inquiryRegistrationDateTime": "2024-07-29T15:51:28.071+09:00",
        "answered": answered,
        "answerContentId": content_id,
        "orderId": "2024072912345",
        "customerName": "홍길동",
    }

    assert to_inquiry(row, "shop", StreamKind.CUSTOMER_INQUIRY).answer_ref == expected
