"""The 11st sandbox itself: openapikey check, GET without Content-Type, window limits and result codes, EUC-KR
bytes on the wire, answers, maintenance, faults and the arrival generator.

Responses are read here with the stdlib only (bytes and `xml.etree`), independently of the connector's decoder.
"""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import httpx
import pytest

from connectors.sandbox import ElevenstEndpoint, ElevenstInquiryGenerator, ElevenstSandbox, ElevenstWire, Fault
from core.models import KST
from tests.fakes import FakeClock

API_KEY = "sandbox-11st-key"
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=KST)
QNA = "/rest/prodqnaservices/prodqnalist"
ALIMI = "/rest/alimi/getalimilist"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def sandbox(clock: FakeClock) -> ElevenstSandbox:
    return ElevenstSandbox(api_key=API_KEY, now=clock.now)


def call(sandbox: ElevenstSandbox, path: str, *, method: str = "GET", **headers: str) -> httpx.Response:
    with httpx.Client(base_url="https://api.11st.co.kr", transport=httpx.MockTransport(sandbox.handler)) as client:
        return client.request(method, path, headers={"openapikey": API_KEY, **headers})


def put(sandbox: ElevenstSandbox, path: str, body: str) -> httpx.Response:
    transport = httpx.MockTransport(sandbox.handler)
    with httpx.Client(base_url="https://api.11st.co.kr", transport=transport) as client:
        headers = {"openapikey": API_KEY, "Content-Type": "text/xml; charset=euc-kr"}
        return client.put(path, content=body.encode("euc_kr"), headers=headers)


def code_and_text(response: httpx.Response) -> tuple[str | None, str | None]:
    root = ET.fromstring(response.content.decode("cp949"))  # our own sandbox's bytes
    ns = "{http://skt.tmall.business.openapi.spring.service.client.domain/}"
    return root.findtext(f"{ns}result_code"), root.findtext(f"{ns}result_text")


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"openapikey": "wrong"}, 401), ({"openapikey": ""}, 401), ({"Content-Type": "text/xml"}, 415)],
)
def test_key_and_content_type_are_checked(sandbox: ElevenstSandbox, headers: dict[str, str], status: int) -> None:
    assert call(sandbox, f"{QNA}/20250110/20250115/00", **headers).status_code == status
    assert [r.status for r in sandbox.requests] == [status]


@pytest.mark.parametrize(
    ("path", "code", "text"),
    [
        (f"{QNA}/20250108/20250115/00", "500", "최대 조회기간은 7일 입니다."),
        (f"{QNA}/20250109/20250115/03", "500", "답변상태 코드가 올바르지 않습니다."),
        (f"{QNA}/2025010/20250115/00", "500", "조회기간이 올바르지 않습니다."),
        (f"{ALIMI}/20241216/20250115", "-10004", "최대 조회기간은 30일 입니다."),
        (f"{ALIMI}/2024xx16/20250115", "-10001", "조회 시작일을 확인해 주세요."),
        (f"{ALIMI}/20241217/2025011", "-10002", "조회 종료일을 확인해 주세요."),
        (f"{ALIMI}/20241217/20250115/07", "-10003", "처리상태 코드가 올바르지 않습니다."),
        (f"{ALIMI}/20250115/20250114", "-1", "조회 종료일이 시작일보다 빠릅니다."),
        (f"{ALIMI}/20241217/20250115", "0", "조회된 데이터가 없습니다."),
    ],
)
def test_window_limits_and_result_codes(sandbox: ElevenstSandbox, path: str, code: str, text: str) -> None:
    response = call(sandbox, path)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml;charset=EUC-KR"
    assert code_and_text(response) == (code, text)


def test_seven_and_thirty_dates_are_allowed(sandbox: ElevenstSandbox) -> None:
    qna = call(sandbox, f"{QNA}/20250109/20250115/00")
    alimi = call(sandbox, f"{ALIMI}/20241217/20250115/01")
    assert (qna.status_code, code_and_text(qna)) == (200, (None, None))
    assert code_and_text(alimi)[0] == "0"


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (ElevenstWire.NCR, f"&#{ord('똠')};".encode() + "방각하 ".encode("euc_kr") + f"&#{ord('햏')};".encode()),
        (ElevenstWire.CP949, "똠방각하 햏".encode("cp949")),
    ],
)
def test_characters_outside_ks_x_1001_on_the_wire(clock: FakeClock, wire: ElevenstWire, expected: bytes) -> None:
    sandbox = ElevenstSandbox(api_key=API_KEY, now=clock.now, wire=wire)
    sandbox.add_product_qna(content="똠방각하 햏", created_at=NOW)
    body = call(sandbox, f"{QNA}/20250115/20250115/02").content
    assert expected in body
    assert b'encoding="EUC-KR"' in body


def test_answers_move_items_out_of_the_open_lists(sandbox: ElevenstSandbox) -> None:
    qna = sandbox.add_product_qna(content="재입고?", created_at=NOW, prd_no=777)
    reply = sandbox.add_alimi(content="회신 바랍니다", created_at=NOW, reply_deadline=NOW + timedelta(hours=24))
    notice = sandbox.add_alimi(content="공지", created_at=NOW, reply_deadline=None, type_code="02")
    answered_qna = put(
        sandbox,
        f"/rest/prodqnaservices/prodqnaanswer/{qna}/777",
        '<?xml version="1.0" encoding="euc-kr" standalone="yes"?>'
        "<ProductQna><answerCont>다음 주 입고</answerCont></ProductQna>",
    )
    replied = put(
        sandbox,
        "/rest/alimi/alimianswer",
        f"<request><confirmYn>Y</confirmYn><emerNtceSeq>{reply}</emerNtceSeq>"
        "<answerCtnt>오늘 발송</answerCtnt></request>",
    )
    confirmed = put(
        sandbox,
        "/rest/alimi/alimianswer",
        f"<request><confirmYn>Y</confirmYn><emerNtceSeq>{notice}</emerNtceSeq></request>",
    )
    assert [r.status_code for r in (answered_qna, replied, confirmed)] == [200, 200, 200]
    assert [b"<result_code>200" in replied.content, b"<result_code>100" in confirmed.content] == [True, True]
    assert [sandbox.is_answered(i) for i in (qna, reply, notice)] == [True, True, True]
    assert sandbox.qnas[qna].answer == "다음 주 입고"
    assert b"<brdInfoNo>" not in call(sandbox, f"{QNA}/20250115/20250115/02").content
    sandbox.set_alimi_status(reply, "04")
    assert b"<emerNtceSeq>" in call(sandbox, f"{ALIMI}/20250115/20250115/04").content


@pytest.mark.parametrize("path", [f"{QNA}/20250115/20250115/00", f"{ALIMI}/20250115/20250115"])
def test_maintenance_switch_answers_minus_1000(sandbox: ElevenstSandbox, path: str) -> None:
    sandbox.maintenance = True
    assert code_and_text(call(sandbox, path)) == ("-1000", "시스템 점검 중입니다.")


@pytest.mark.parametrize(
    ("fault", "status"),
    [(Fault.SERVER_ERROR, 500), (Fault.RATE_LIMIT, 429), (Fault.HTML_FORBIDDEN, 403), (Fault.MALFORMED_BODY, 200)],
)
def test_faults_are_served_once(sandbox: ElevenstSandbox, fault: Fault, status: int) -> None:
    sandbox.inject(fault, endpoint=ElevenstEndpoint.ALIMI_LIST)
    assert call(sandbox, f"{QNA}/20250115/20250115/00").status_code == 200  # another endpoint: untouched
    assert call(sandbox, f"{ALIMI}/20250115/20250115").status_code == status
    assert call(sandbox, f"{ALIMI}/20250115/20250115").status_code == 200
    assert sandbox.pending_faults == 0


def test_timeout_fault_raises(sandbox: ElevenstSandbox) -> None:
    sandbox.inject(Fault.TIMEOUT)
    with pytest.raises(httpx.ReadTimeout):
        call(sandbox, f"{ALIMI}/20250115/20250115")
    assert [r.status for r in sandbox.requests] == [None]


def test_generator_is_deterministic_and_answers_some(clock: FakeClock) -> None:
    runs = []
    for _ in range(2):
        sandbox = ElevenstSandbox(api_key=API_KEY, now=clock.now)
        generator = ElevenstInquiryGenerator(sandbox, rng=random.Random(7), urgent_share=0.5)
        seeded = generator.seed(40, start=NOW - timedelta(days=3), end=NOW)
        generator.tick(NOW)
        report = generator.tick(NOW + timedelta(hours=6))
        runs.append((seeded, report, len(sandbox.qnas), len(sandbox.alimis)))
    assert runs[0] == runs[1]
    seeded, report, qnas, alimis = runs[0]
    assert (len(seeded), qnas > 0, alimis > 0, len(report.added) > 0) == (40, True, True, True)
    assert all(a.reply_deadline is not None for a in sandbox.alimis.values())
    assert sum(sandbox.is_answered(i) for i in seeded) > 0
