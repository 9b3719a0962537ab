"""11st answers: the EUC-KR XML PUTs of 상품 Q&A and 긴급알리미, and their documented result codes.

HTTP is faked at the edge with respx (marketplaces.md §3.3, §3.4, §8); time with FakeClock. No network.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import httpx
import pytest
import respx
from pydantic import SecretStr

from connectors.elevenst.connector import ElevenstConnector
from connectors.elevenst.rows import parse
from core.answers import AnswerOutcome, AnswerRequest
from core.http import make_client
from core.models import Inquiry, Marketplace, StreamKind
from tests.conftest import START
from tests.fakes import FakeClock

BASE_URL = "https://api.11st.co.kr"
API_KEY = "elevenst-key-5Rw1"
QNA_PUT = "/rest/prodqnaservices/prodqnaanswer/20100119/1234567"
ALIMI_PUT = "/rest/alimi/alimianswer"
TEXT = "안녕하세요 & 감사합니다 <3\n똠방각하 😀 내일 출고됩니다."


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """respx over 11st's base URL."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False, assert_all_mocked=True) as mock:
        yield mock


@pytest.fixture
async def elevenst(clock: FakeClock) -> AsyncIterator[ElevenstConnector]:
    connector = ElevenstConnector(
        account_id="shop", api_key=SecretStr(API_KEY), client=make_client(base_url=BASE_URL), clock=clock
    )
    yield connector
    await connector.aclose()


def inquiry(stream: StreamKind, external_id: str, answer_ref: str | None) -> Inquiry:
    return Inquiry(
        account_id="shop",
        marketplace=Marketplace.ELEVENST,
        stream=stream,
        external_id=external_id,
        received_at=START - timedelta(hours=1),
        body="언제 오나요?",
        answer_ref=answer_ref,
    )


QNA = inquiry(StreamKind.PRODUCT_QNA, "20100119", "1234567")
ALIMI = inquiry(StreamKind.URGENT, "5590777", "5590777")


def client_message(code: str, message: str = "") -> httpx.Response:
    xml = (
        '<?xml version="1.0" encoding="euc-kr" standalone="yes"?><ClientMessage><brdInfoNo>20100119</brdInfoNo>'
        f"<productNo>1234567</productNo><message>{message}</message><resultCode>{code}</resultCode></ClientMessage>"
    )
    return httpx.Response(200, content=xml.encode("euc-kr"), headers={"Content-Type": "text/xml;charset=euc-kr"})


def alimi_result(code: str, text: str = "") -> httpx.Response:
    xml = (
        '<?xml version="1.0" encoding="euc-kr" standalone="yes"?><ns2:alimiResult xmlns:ns2="http://skt.tmall">'
        f"<emerNtceSeq>5590777</emerNtceSeq><ordNo>201912345</ordNo><result_code>{code}</result_code>"
        f"<result_text>{text}</result_text></ns2:alimiResult>"
    )
    return httpx.Response(200, content=xml.encode("euc-kr"), headers={"Content-Type": "text/xml;charset=euc-kr"})


async def test_qna_answer_is_an_euc_kr_xml_put_that_loses_no_character(
    router: respx.MockRouter, elevenst: ElevenstConnector
) -> None:
    route = router.put(QNA_PUT).mock(return_value=client_message("200", "성공"))

    result = await elevenst.answer(AnswerRequest(QNA, TEXT))

    assert result.outcome is AnswerOutcome.ACCEPTED
    request = route.calls.last.request
    assert request.headers["openapikey"] == API_KEY
    assert request.headers["Content-Type"] == "text/xml; charset=euc-kr"
    assert request.content.startswith(b'<?xml version="1.0" encoding="euc-kr" standalone="yes"?><ProductQna>')
    request.content.decode("euc-kr")  # strictly EUC-KR: what it lacks travels as character references
    assert b"&#46624;" in request.content  # 똠
    root = parse(request.content)
    assert (root.tag, [child.tag for child in root], root.findtext("answerCont")) == (
        "ProductQna",
        ["answerCont"],
        TEXT,
    )


async def test_alimi_answer_confirms_and_carries_the_text(
    router: respx.MockRouter, elevenst: ElevenstConnector
) -> None:
    route = router.put(ALIMI_PUT).mock(return_value=alimi_result("200", "답변 등록"))

    result = await elevenst.answer(AnswerRequest(ALIMI, TEXT))

    assert result.outcome is AnswerOutcome.ACCEPTED
    request = route.calls.last.request
    assert request.headers["openapikey"] == API_KEY
    root = parse(request.content)
    assert root.tag == "request"
    assert [(child.tag, child.text) for child in root] == [
        ("confirmYn", "Y"),
        ("emerNtceSeq", "5590777"),
        ("answerCtnt", TEXT),
    ]


@pytest.mark.parametrize(
    ("target", "path", "response", "outcome", "maybe_delivered"),
    [
        (ALIMI, ALIMI_PUT, alimi_result("100", "공지 확인"), "accepted", False),
        (ALIMI, ALIMI_PUT, alimi_result("-10005", "이미 처리된 알리미입니다"), "already_answered", False),
        (ALIMI, ALIMI_PUT, alimi_result("-10000", "존재하지 않는 알리미입니다"), "not_answerable", False),
        (ALIMI, ALIMI_PUT, alimi_result("-10004", "답변내용을 입력하세요"), "refused", False),
        (ALIMI, ALIMI_PUT, alimi_result("-1", "업무 오류"), "refused", False),
        (ALIMI, ALIMI_PUT, alimi_result("-1000", "시스템 점검중"), "retry_later", False),
        (QNA, QNA_PUT, client_message("500", "답변 등록에 실패했습니다"), "refused", False),
        (QNA, QNA_PUT, client_message("500", "삭제된 게시글입니다"), "not_answerable", False),
        (QNA, QNA_PUT, client_message("-1000", "시스템 점검중"), "retry_later", False),
        (QNA, QNA_PUT, client_message("500", "등록되지 않은 IP입니다"), "retry_later", False),
        (QNA, QNA_PUT, httpx.Response(200, content=b"<html>proxy</html>"), "retry_later", True),
        (QNA, QNA_PUT, httpx.Response(502, text="Bad Gateway"), "retry_later", True),
        (QNA, QNA_PUT, httpx.Response(401, text="openapikey"), "retry_later", False),
    ],
)
async def test_result_codes_map_to_one_outcome(
    router: respx.MockRouter,
    elevenst: ElevenstConnector,
    target: Inquiry,
    path: str,
    response: httpx.Response,
    outcome: str,
    maybe_delivered: bool,
) -> None:
    router.put(path).mock(return_value=response)

    result = await elevenst.answer(AnswerRequest(target, TEXT))

    assert (result.outcome, result.maybe_delivered) == (outcome, maybe_delivered)


async def test_refusals_keep_11sts_words(router: respx.MockRouter, elevenst: ElevenstConnector) -> None:
    router.put(ALIMI_PUT).mock(return_value=alimi_result("-10005", "이미 처리된 알리미입니다"))

    result = await elevenst.answer(AnswerRequest(ALIMI, TEXT))

    assert "이미 처리된 알리미입니다" in result.message


async def test_a_qna_without_its_product_number_is_not_sent(
    router: respx.MockRouter, elevenst: ElevenstConnector
) -> None:
    result = await elevenst.answer(AnswerRequest(inquiry(StreamKind.PRODUCT_QNA, "20100119", None), TEXT))

    assert result.outcome is AnswerOutcome.NOT_ANSWERABLE
    assert not router.calls


@pytest.mark.parametrize(("error", "maybe_delivered"), [(httpx.ConnectError, False), (httpx.ReadTimeout, True)])
async def test_transport_errors_say_whether_the_answer_may_have_left(
    router: respx.MockRouter, elevenst: ElevenstConnector, error: type[httpx.TransportError], maybe_delivered: bool
) -> None:
    router.put(ALIMI_PUT).mock(side_effect=error)

    result = await elevenst.answer(AnswerRequest(ALIMI, TEXT))

    assert (result.outcome, result.maybe_delivered) == (AnswerOutcome.RETRY_LATER, maybe_delivered)


async def test_no_key_reaches_an_answer_message(router: respx.MockRouter, elevenst: ElevenstConnector) -> None:
    router.put(QNA_PUT).mock(return_value=client_message("500", f"잘못된 요청 {API_KEY}"))

    result = await elevenst.answer(AnswerRequest(QNA, TEXT))

    assert result.outcome is AnswerOutcome.REFUSED
    assert API_KEY not in result.message


def test_both_streams_count_as_once_only_and_no_limit_is_documented() -> None:
    assert {StreamKind.PRODUCT_QNA, StreamKind.URGENT} == ElevenstConnector.ONCE_ONLY
    assert not ElevenstConnector.ANSWER_LIMITS
