"""ESM answers: 게시판 (with the list's token, answerStatus 1 or 2) and 긴급알리미, and their documented replies.

HTTP is faked at the edge with respx (marketplaces.md §4.3, §4.4, §8); time with FakeClock. No network.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import jwt
import pytest
import respx
from pydantic import SecretStr

from connectors.esm.connector import AUDIENCE, EsmConnector
from core.answers import AnswerOutcome, AnswerRequest
from core.http import make_client
from core.models import Inquiry, Marketplace, StreamKind
from tests.conftest import START
from tests.fakes import FakeClock

BASE_URL = "https://sa2.esmplus.com"
SECRET = "esm-secret-key-with-enough-length-8Tn3"
MASTER_ID = "mastershop"
BOARD = "/item/v1/communications/customer/bulletin-board/qna"
URGENT = "/assist/v1/Selling/AddEmergencyInformReply"
TEXT = "안녕하세요, 고객님.\n오늘 출고됩니다."


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """respx over ESM's base URL."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False, assert_all_mocked=True) as mock:
        yield mock


@pytest.fixture
async def esm(clock: FakeClock) -> AsyncIterator[EsmConnector]:
    connector = EsmConnector(
        account_id="shop",
        master_id=MASTER_ID,
        secret_key=SecretStr(SECRET),
        gmarket_seller_id="gseller",
        auction_seller_id="aseller",
        client=make_client(base_url=BASE_URL),
        clock=clock,
    )
    yield connector
    await connector.aclose()


def inquiry(stream: StreamKind, external_id: str, site: str, token: str | None, title: str | None = None) -> Inquiry:
    return Inquiry(
        account_id="shop",
        marketplace=Marketplace.ESM,
        stream=stream,
        external_id=external_id,
        received_at=START - timedelta(hours=1),
        body="언제 오나요?",
        title=title,
        site=site,
        answer_ref=token,
    )


BOARD_ITEM = inquiry(StreamKind.PRODUCT_QNA, "G:3578427", "G마켓", "tok-123", title="배송 문의")
URGENT_GMARKET = inquiry(StreamKind.URGENT, "991", "G마켓", "tok-991")
URGENT_AUCTION = inquiry(StreamKind.URGENT, "992", "옥션", None)


def sent(route: respx.Route) -> Any:
    return json.loads(route.calls.last.request.content)


@pytest.mark.parametrize(("final", "status"), [(True, 2), (False, 1)])
async def test_board_answer_is_the_documented_post_with_the_lists_token(
    router: respx.MockRouter, esm: EsmConnector, final: bool, status: int
) -> None:
    route = router.post(BOARD).respond(200, json={"messageNo": "3578427"})

    result = await esm.answer(AnswerRequest(BOARD_ITEM, TEXT, final=final))

    assert result.outcome is AnswerOutcome.ACCEPTED
    assert sent(route) == {
        "messageNo": "3578427",
        "token": "tok-123",
        "answerStatus": status,
        "title": "Re: 배송 문의",
        "comments": TEXT,
    }
    bearer = route.calls.last.request.headers["Authorization"].removeprefix("Bearer ")
    # Signed at the fake clock's time: only the signature and the claims are checked, not the wall-clock expiry.
    claims = jwt.decode(bearer, SECRET, algorithms=["HS256"], audience=AUDIENCE, options={"verify_exp": False})
    assert jwt.get_unverified_header(bearer)["kid"] == MASTER_ID
    assert claims["ssi"] == "A:aseller,G:gseller"


async def test_urgent_answer_carries_the_token_for_gmarket_only(router: respx.MockRouter, esm: EsmConnector) -> None:
    route = router.post(URGENT).respond(200, json={"ResultCode": 0, "Message": "성공", "Data": {"EmerMessageNo": 991}})

    gmarket = await esm.answer(AnswerRequest(URGENT_GMARKET, TEXT))
    gmarket_body = sent(route)
    auction = await esm.answer(AnswerRequest(URGENT_AUCTION, TEXT))

    assert (gmarket.outcome, auction.outcome) == (AnswerOutcome.ACCEPTED, AnswerOutcome.ACCEPTED)
    assert gmarket_body == {"emerMessageNo": "991", "comments": TEXT, "answerStatus": 2, "token": "tok-991"}
    assert sent(route) == {"emerMessageNo": "992", "comments": TEXT, "answerStatus": 2}


async def test_a_board_inquiry_without_its_token_is_not_sent(router: respx.MockRouter, esm: EsmConnector) -> None:
    untokened = inquiry(StreamKind.PRODUCT_QNA, "A:1", "옥션", None)

    result = await esm.answer(AnswerRequest(untokened, TEXT))

    assert result.outcome is AnswerOutcome.NOT_ANSWERABLE
    assert not router.calls


@pytest.mark.parametrize(
    ("target", "path", "status", "body", "outcome"),
    [
        (BOARD_ITEM, BOARD, 200, {"resultCode": 1000, "message": "토큰과 판매자 정보가 일치하지 않습니다."}, "refused"),
        (BOARD_ITEM, BOARD, 200, {"resultCode": 1000, "message": "구매자가 삭제한 문의입니다."}, "not_answerable"),
        (BOARD_ITEM, BOARD, 400, {"resultCode": 1000, "message": "이미 처리완료된 문의입니다."}, "already_answered"),
        (URGENT_GMARKET, URGENT, 200, {"ResultCode": 100, "Message": "이미 처리 완료된 건입니다."}, "already_answered"),
        (
            URGENT_GMARKET,
            URGENT,
            200,
            {"ResultCode": 2141, "Message": "긴급알리미 번호가 올바르지 않습니다."},
            "not_answerable",
        ),
        (URGENT_GMARKET, URGENT, 200, {"ResultCode": 20, "Message": "answerStatus 값이 올바르지 않습니다."}, "refused"),
    ],
)
async def test_documented_failures_map_to_one_outcome_with_esms_words(
    router: respx.MockRouter,
    esm: EsmConnector,
    target: Inquiry,
    path: str,
    status: int,
    body: dict[str, Any],
    outcome: str,
) -> None:
    router.post(path).respond(status, json=body)

    result = await esm.answer(AnswerRequest(target, TEXT))

    assert result.outcome == outcome
    message = body.get("message") or body["Message"]
    assert message in result.message


@pytest.mark.parametrize(
    ("response", "maybe_delivered"),
    [
        (httpx.Response(500, json={"message": "Error getting value from 'Type'"}), True),
        (httpx.Response(429, text="slow down"), False),
        (
            httpx.Response(
                401, json={"status": {"message": "The user does not have right access to the api", "status_code": 401}}
            ),
            False,
        ),
        (httpx.Response(200, text="<html>maintenance</html>"), True),
    ],
)
async def test_outages_throttles_and_unknown_replies_are_retried_later(
    router: respx.MockRouter, esm: EsmConnector, response: httpx.Response, maybe_delivered: bool
) -> None:
    router.post(BOARD).mock(return_value=response)

    result = await esm.answer(AnswerRequest(BOARD_ITEM, TEXT))

    assert (result.outcome, result.maybe_delivered) == (AnswerOutcome.RETRY_LATER, maybe_delivered)


@pytest.mark.parametrize(("error", "maybe_delivered"), [(httpx.ConnectError, False), (httpx.ReadTimeout, True)])
async def test_transport_errors_say_whether_the_answer_may_have_left(
    router: respx.MockRouter, esm: EsmConnector, error: type[httpx.TransportError], maybe_delivered: bool
) -> None:
    router.post(URGENT).mock(side_effect=error)

    result = await esm.answer(AnswerRequest(URGENT_GMARKET, TEXT))

    assert (result.outcome, result.maybe_delivered) == (AnswerOutcome.RETRY_LATER, maybe_delivered)


async def test_no_secret_reaches_an_answer_message(router: respx.MockRouter, esm: EsmConnector) -> None:
    router.post(BOARD).respond(200, json={"resultCode": 1000, "message": f"invalid key {SECRET}"})

    result = await esm.answer(AnswerRequest(BOARD_ITEM, TEXT))

    assert result.outcome is AnswerOutcome.REFUSED
    assert SECRET not in result.message


def test_both_streams_count_as_once_only_and_the_board_limit_is_third_party() -> None:
    assert {StreamKind.PRODUCT_QNA, StreamKind.URGENT} == EsmConnector.ONCE_ONLY
    limit = EsmConnector.ANSWER_LIMITS[StreamKind.PRODUCT_QNA]
    assert (limit.max_length, limit.unit, limit.documented) == (1000, "utf-8", False)
    assert StreamKind.URGENT not in EsmConnector.ANSWER_LIMITS
