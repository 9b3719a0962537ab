"""The 11st sandbox accepts answers exactly as documented (marketplaces.md §3.1, §3.3, §3.4, §8).

Bodies are built here as EUC-KR bytes and responses read with the stdlib only, independently of the connector.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import httpx
import pytest

from connectors.sandbox import ElevenstEndpoint, ElevenstSandbox, Fault
from core.models import KST
from tests.connectors.test_sandbox_elevenst import ALIMI, API_KEY, NOW, QNA
from tests.fakes import FakeClock

BASE_URL = "https://api.11st.co.kr"
QNA_ANSWER = "/rest/prodqnaservices/prodqnaanswer"
ALIMI_ANSWER = "/rest/alimi/alimianswer"
PROLOG = '<?xml version="1.0" encoding="euc-kr" standalone="yes"?>'
NS = "{http://skt.tmall.business.openapi.spring.service.client.domain/}"
EUC_KR = "text/xml; charset=euc-kr"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def sandbox(clock: FakeClock) -> ElevenstSandbox:
    return ElevenstSandbox(api_key=API_KEY, now=clock.now)


def put(
    sandbox: ElevenstSandbox, path: str, body: bytes, *, content_type: str = EUC_KR, key: str = API_KEY
) -> httpx.Response:
    headers = {"openapikey": key, "Content-Type": content_type}
    return sandbox.handler(httpx.Request("PUT", BASE_URL + path, content=body, headers=headers))


def qna_body(answer: str) -> bytes:
    return f"{PROLOG}<ProductQna><answerCont>{answer}</answerCont></ProductQna>".encode("euc_kr")


def alimi_body(seq: int | str, answer: str | None = None, confirm: str = "Y") -> bytes:
    answer_field = "" if answer is None else f"<answerCtnt>{answer}</answerCtnt>"
    inner = f"<confirmYn>{confirm}</confirmYn><emerNtceSeq>{seq}</emerNtceSeq>{answer_field}"
    return f"{PROLOG}<request>{inner}</request>".encode("euc_kr")


def fields(response: httpx.Response) -> dict[str, str]:
    """The children of the response's root element, namespace dropped, decoded from its EUC-KR bytes."""
    root = ET.fromstring(response.content.decode("cp949"))
    return {child.tag.removeprefix(NS): child.text or "" for child in root}


def listed(sandbox: ElevenstSandbox, path: str) -> list[dict[str, str]]:
    response = sandbox.handler(httpx.Request("GET", BASE_URL + path, headers={"openapikey": API_KEY}))
    root = ET.fromstring(response.content.decode("cp949"))
    return [{c.tag: c.text or "" for c in row} for row in root if not row.tag.startswith(NS + "result")]


# ---- 상품 Q&A ----------------------------------------------------------------------------------------------


def test_qna_answer_in_euc_kr_is_stored_and_listed(sandbox: ElevenstSandbox, clock: FakeClock) -> None:
    qna = sandbox.add_product_qna(content="재입고?", created_at=NOW, prd_no=777)
    clock.advance(3600)
    response = put(sandbox, f"{QNA_ANSWER}/{qna}/777", qna_body("다음 주 입고 예정입니다 &#46624;"))
    (row,) = listed(sandbox, f"{QNA}/20250115/20250115/01")
    assert response.status_code == 200
    assert fields(response) == {
        "brdInfoNo": str(qna),
        "productNo": "777",
        "message": "답변이 등록되었습니다.",
        "resultCode": "200",
    }
    assert (row["answerYn"], row["answerCont"], row["answerDt"]) == ("Y", "다음 주 입고 예정입니다 똠", "2025/01/15")
    assert listed(sandbox, f"{QNA}/20250115/20250115/02") == []
    assert [(r.item_id, r.text, r.accepted) for r in sandbox.answers] == [
        (str(qna), "다음 주 입고 예정입니다 똠", True)
    ]


def test_qna_second_answer_replaces_the_first(sandbox: ElevenstSandbox) -> None:
    qna = sandbox.add_product_qna(content="재입고?", created_at=NOW, prd_no=777)
    responses = [put(sandbox, f"{QNA_ANSWER}/{qna}/777", qna_body(text)) for text in ("첫 답변", "고친 답변")]
    assert [fields(r)["resultCode"] for r in responses] == ["200", "200"]
    assert listed(sandbox, f"{QNA}/20250115/20250115/01")[0]["answerCont"] == "고친 답변"
    assert sandbox.accepted_answers(qna, ElevenstEndpoint.QNA_ANSWER) == 2


@pytest.mark.parametrize(
    ("path_offset", "prd_no", "body", "content_type"),
    [
        (1, "777", qna_body("답변"), EUC_KR),
        (0, "778", qna_body("답변"), EUC_KR),
        (0, "777", f"{PROLOG}<ProductQna></ProductQna>".encode(), EUC_KR),
        (0, "777", qna_body("  "), EUC_KR),
        (0, "777", f"{PROLOG}<ProductQnA><answerCont>답변</answerCont></ProductQnA>".encode("euc_kr"), EUC_KR),
        (0, "777", b"<ProductQna><answerCont>", EUC_KR),
        (0, "777", "<ProductQna><answerCont>답변</answerCont></ProductQna>".encode(), EUC_KR),
        (0, "777", qna_body("답변").replace(b"euc-kr", b"utf-8"), "text/xml"),
    ],
    ids=[
        "unknown-post",
        "other-product",
        "no-answerCont",
        "blank",
        "wrong-root",
        "not-xml",
        "utf-8-bytes-labelled-euc-kr",
        "euc-kr-bytes-declared-utf-8",
    ],
)
def test_qna_refusals_are_result_code_500(
    sandbox: ElevenstSandbox, path_offset: int, prd_no: str, body: bytes, content_type: str
) -> None:
    qna = sandbox.add_product_qna(content="재입고?", created_at=NOW, prd_no=777)
    response = put(sandbox, f"{QNA_ANSWER}/{qna + path_offset}/{prd_no}", body, content_type=content_type)
    assert (response.status_code, fields(response)["resultCode"]) == (200, "500")
    assert (sandbox.is_answered(qna), sandbox.accepted_answers(qna)) == (False, 0)
    assert [r.accepted for r in sandbox.answers] == [False]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ('<?xml version="1.0" encoding="UTF-8"?><ProductQna><answerCont>답변</answerCont></ProductQna>', EUC_KR),
        ("<ProductQna><answerCont>답변</answerCont></ProductQna>", "text/xml; charset=UTF-8"),
    ],
    ids=["declared-in-xml", "declared-in-content-type"],
)
def test_qna_utf_8_is_read_when_declared(sandbox: ElevenstSandbox, body: str, content_type: str) -> None:
    qna = sandbox.add_product_qna(content="재입고?", created_at=NOW, prd_no=777)
    response = put(sandbox, f"{QNA_ANSWER}/{qna}/777", body.encode(), content_type=content_type)
    assert (fields(response)["resultCode"], sandbox.qnas[qna].answer) == ("200", "답변")


@pytest.mark.parametrize("key", ["", "wrong-key"])
def test_answers_need_the_openapikey(sandbox: ElevenstSandbox, key: str) -> None:
    qna = sandbox.add_product_qna(content="재입고?", created_at=NOW, prd_no=777)
    alimi = sandbox.add_alimi(content="회신 바랍니다", created_at=NOW, reply_deadline=None)
    responses = [
        put(sandbox, f"{QNA_ANSWER}/{qna}/777", qna_body("답변"), key=key),
        put(sandbox, ALIMI_ANSWER, alimi_body(alimi, "답변"), key=key),
    ]
    assert [r.status_code for r in responses] == [401, 401]
    assert (sandbox.is_answered(qna), sandbox.is_answered(alimi), sandbox.answers) == (False, False, [])


# ---- 긴급알리미 ---------------------------------------------------------------------------------------------


def test_alimi_reply_once_then_minus_10005(sandbox: ElevenstSandbox) -> None:
    alimi = sandbox.add_alimi(content="회신 바랍니다", created_at=NOW, reply_deadline=NOW + timedelta(hours=24))
    first = put(sandbox, ALIMI_ANSWER, alimi_body(alimi, "오늘 발송합니다"))
    second = put(sandbox, ALIMI_ANSWER, alimi_body(alimi, "다시 보냅니다"))
    (row,) = listed(sandbox, f"{ALIMI}/20250115/20250115/03")
    assert fields(first) == {
        "emerNtceSeq": str(alimi),
        "ordNo": "202601010000001",
        "result_code": "200",
        "result_text": "답변이 등록되었습니다.",
    }
    assert (fields(second)["result_code"], fields(second)["result_text"]) == ("-10005", "이미 처리된 알리미입니다.")
    assert (row["emerNtceCrntCd"], row["emerReplyList"]) == ("03", "")
    assert [r.accepted for r in sandbox.answers] == [True, False]
    assert sandbox.accepted_answers(alimi) == 1


def test_alimi_reply_is_listed_with_its_text(sandbox: ElevenstSandbox) -> None:
    alimi = sandbox.add_alimi(content="회신 바랍니다", created_at=NOW, reply_deadline=None)
    put(sandbox, ALIMI_ANSWER, alimi_body(alimi, "오늘 발송합니다"))
    response = sandbox.handler(
        httpx.Request("GET", f"{BASE_URL}{ALIMI}/20250115/20250115", headers={"openapikey": API_KEY})
    )
    assert "<emerReplyCtnt>오늘 발송합니다</emerReplyCtnt>" in response.content.decode("cp949")


def test_notice_is_confirmed_once_with_result_100(sandbox: ElevenstSandbox) -> None:
    notice = sandbox.add_alimi(content="공지", created_at=NOW, reply_deadline=None, type_code="02")
    first = put(sandbox, ALIMI_ANSWER, alimi_body(notice))
    second = put(sandbox, ALIMI_ANSWER, alimi_body(notice))
    assert [fields(r)["result_code"] for r in (first, second)] == ["100", "-10005"]
    assert sandbox.is_answered(notice)


def test_re_answer_request_takes_one_more_answer(sandbox: ElevenstSandbox) -> None:
    alimi = sandbox.add_alimi(content="회신 바랍니다", created_at=NOW, reply_deadline=None)
    put(sandbox, ALIMI_ANSWER, alimi_body(alimi, "오늘 발송"))
    sandbox.set_alimi_status(alimi, "04")
    again = put(sandbox, ALIMI_ANSWER, alimi_body(alimi, "송장번호 안내드립니다"))
    third = put(sandbox, ALIMI_ANSWER, alimi_body(alimi, "또 보냅니다"))
    assert [fields(r)["result_code"] for r in (again, third)] == ["200", "-10005"]
    assert sandbox.alimis[alimi].status == "05"


@pytest.mark.parametrize(
    ("status", "seq_offset", "answer", "confirm", "code"),
    [
        ("01", 1, "답변", "Y", "-10000"),
        ("01", 0, None, "Y", "-10004"),
        ("01", 0, "   ", "Y", "-10004"),
        ("06", 0, "답변", "Y", "-10005"),
        ("05", 0, "답변", "Y", "-10005"),
        ("01", 0, "답변", "N", "-1"),
    ],
    ids=["unknown", "no-answer", "blank-answer", "closed-by-11st", "re-answered", "confirm-N"],
)
def test_alimi_refusals(
    sandbox: ElevenstSandbox, status: str, seq_offset: int, answer: str | None, confirm: str, code: str
) -> None:
    alimi = sandbox.add_alimi(content="회신 바랍니다", created_at=NOW, reply_deadline=None, status=status)
    response = put(sandbox, ALIMI_ANSWER, alimi_body(alimi + seq_offset, answer, confirm))
    assert (response.status_code, fields(response)["result_code"]) == (200, code)
    assert sandbox.alimis[alimi].replies == []


def test_alimi_body_in_utf_8_labelled_euc_kr_is_refused(sandbox: ElevenstSandbox) -> None:
    alimi = sandbox.add_alimi(content="회신 바랍니다", created_at=NOW, reply_deadline=None)
    body = alimi_body(alimi, "발송").decode("euc_kr").replace("발송", "답변").encode("utf-8")
    response = put(sandbox, ALIMI_ANSWER, body)
    assert fields(response)["result_code"] == "-1"
    assert [(r.item_id, r.accepted) for r in sandbox.answers] == [(None, False)]


# ---- faults ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status"), [(Fault.SERVER_ERROR, 503), (Fault.RATE_LIMIT, 429), (Fault.TIMEOUT, None)]
)
def test_gateway_faults_hit_answers_before_anything_is_stored(
    sandbox: ElevenstSandbox, fault: Fault, status: int | None
) -> None:
    qna = sandbox.add_product_qna(content="재입고?", created_at=NOW, prd_no=777)
    sandbox.inject(fault, endpoint=ElevenstEndpoint.QNA_ANSWER, status=503 if fault is Fault.SERVER_ERROR else None)
    if status is None:
        with pytest.raises(httpx.ReadTimeout):
            put(sandbox, f"{QNA_ANSWER}/{qna}/777", qna_body("답변"))
    else:
        assert put(sandbox, f"{QNA_ANSWER}/{qna}/777", qna_body("답변")).status_code == status
    assert (sandbox.is_answered(qna), sandbox.answers) == (False, [])


def test_accepted_then_server_error_on_a_once_only_alimi(sandbox: ElevenstSandbox) -> None:
    alimi = sandbox.add_alimi(content="회신 바랍니다", created_at=NOW, reply_deadline=None)
    sandbox.inject(Fault.ACCEPTED_THEN_SERVER_ERROR, endpoint=ElevenstEndpoint.ALIMI_ANSWER)
    lost = put(sandbox, ALIMI_ANSWER, alimi_body(alimi, "오늘 발송"))
    retry = put(sandbox, ALIMI_ANSWER, alimi_body(alimi, "오늘 발송"))
    assert (lost.status_code, lost.headers["Content-Type"]) == (500, "text/html")
    assert fields(retry)["result_code"] == "-10005"
    assert (sandbox.is_answered(alimi), sandbox.accepted_answers(alimi)) == (True, 1)


def test_accepted_then_timeout_on_a_qna_answer(sandbox: ElevenstSandbox, clock: FakeClock) -> None:
    qna = sandbox.add_product_qna(content="재입고?", created_at=NOW, prd_no=777)
    sandbox.inject(Fault.ACCEPTED_THEN_TIMEOUT)
    listed(sandbox, f"{QNA}/20250115/20250115/00")  # lists leave it queued
    with pytest.raises(httpx.ReadTimeout):
        put(sandbox, f"{QNA_ANSWER}/{qna}/777", qna_body("답변"))
    assert (sandbox.qnas[qna].answer, sandbox.requests[-1].status, sandbox.pending_faults) == ("답변", None, 0)
    assert sandbox.qnas[qna].answered_at == clock.now() == datetime(2025, 1, 15, 12, 0, tzinfo=KST)
