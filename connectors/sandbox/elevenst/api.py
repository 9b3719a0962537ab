"""A strict fake of 11st's (11번가) seller OpenAPI for product Q&A and 긴급알리미 (marketplaces.md §3).

`ElevenstSandbox.handler` turns an `httpx.Request` into an `httpx.Response`: use it through
`httpx.MockTransport(sandbox.handler)` or serve it with `SandboxServer`. Every body is EUC-KR bytes
(`Content-Type: text/xml;charset=EUC-KR`); characters outside KS X 1001 go out as numeric character references
(`wire=ElevenstWire.NCR`, default) or as cp949 extension bytes (`wire=ElevenstWire.CP949`).

Responses it chooses (source in brackets; "assumed" = no source showed it):
- 401 `<ns2:result><ns2:result_code>-999</..><ns2:result_text>openapikey ...</..>` for a missing or unknown
  `openapikey` header [header official; status, code and text assumed].
- 415 for a GET that carries a Content-Type header [3P-CODE: prodqnaservices rejects it; body assumed].
- 200 `result_code` -1000 "시스템 점검 중입니다." on every endpoint while `maintenance` is on [code official].
- product Q&A: 200 `result_code` 500 "최대 조회기간은 7일 입니다." above 7 dates, 500 for bad dates/status
  [official]; an empty result is `<ns2:productQnas/>` [official].
- 긴급알리미: 200 `result_code` 0 no rows, -1 end before start, -10001/-10002 bad start/end date, -10003 bad status,
  -10004 above 30 dates "최대 조회기간은 30일 입니다." [codes official; texts assumed].
- answers (§3.3, §3.4, §8), with the same `openapikey` check as the lists; the body is XML in the charset its XML
  declaration names, else the Content-Type's, else EUC-KR (elevenst/bodies.py); bytes that are not that charset or
  not XML are refused as a business error.
  `PUT /rest/prodqnaservices/prodqnaanswer/{brdInfoNo}/{prdNo}` `<ProductQna><answerCont>` -> `<ns2:ClientMessage>`
  {brdInfoNo, productNo, message, resultCode 200}; errors resultCode 500 (unknown post, missing answerCont, wrong
  root) [official]; a second PUT replaces the answer (UNCONFIRMED upstream: "answerDt = the date of the update").
  `PUT /rest/alimi/alimianswer` `<request><confirmYn>Y</confirmYn><emerNtceSeq/><answerCtnt/></request>` ->
  `<ns2:alimiResult>` {emerNtceSeq, ordNo, result_code, result_text}: 200 reply accepted, 100 notice confirmed;
  -10000 no such message, -10004 reply-type message without answerCtnt, -10005 "이미 처리된 알리미입니다." once
  answered or closed (03, 05, 06; a 04 재답변요청 takes one more answer) [codes official]; confirmYn other than Y
  or a body that cannot be read -> -1 [assumed]. No answer length limit is documented, so none is enforced.
- faults (shared FaultQueue): 5xx with an HTML page, 429 with Retry-After, 403 HTML, timeouts, one row with a bad
  `createDt`, a truncated body.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum
from functools import partial
from http import HTTPStatus
from xml.sax.saxutils import escape

import httpx

from connectors.sandbox.elevenst.bodies import BodyUnreadable, xml_fields
from connectors.sandbox.elevenst.store import (
    ALIMI_DONE,
    ALIMI_STATUSES,
    ElevenstStore,
    ElevenstWire,
    document,
    euc_kr_bytes,
    result,
)
from connectors.sandbox.faults import Fault, FaultEntry
from connectors.sandbox.handling import Accepted, Refused, Route, Router, SandboxHandler, access_denied

CONTENT_TYPE = "text/xml;charset=EUC-KR"
QNA_MAX_DATES = 7
ALIMI_MAX_DATES = 30
ALIMI_ALREADY_DONE = "이미 처리된 알리미입니다."


class ElevenstEndpoint(StrEnum):
    """The 11st API operations the sandbox serves; faults can target one."""

    QNA_LIST = "qna_list"
    QNA_ANSWER = "qna_answer"
    ALIMI_LIST = "alimi_list"
    ALIMI_ANSWER = "alimi_answer"


_DATES = "/(?P<start>[^/]*)/(?P<end>[^/]*)"  # yyyyMMdd each, checked by the handler
_IDS = "/(?P<id>[0-9]{1,18})/(?P<prd>[0-9]{1,18})"
_ROUTER = Router(
    [
        ("GET", "/rest/prodqnaservices/prodqnalist" + _DATES + "/(?P<status>[^/]*)", ElevenstEndpoint.QNA_LIST),
        (
            "GET",
            "/rest/alimi/getalimilist" + _DATES + "(?:/(?P<status>[^/]*)(?:/(?P<order>[^/]*))?)?",
            ElevenstEndpoint.ALIMI_LIST,
        ),
        ("PUT", "/rest/prodqnaservices/prodqnaanswer" + _IDS, ElevenstEndpoint.QNA_ANSWER),
        ("PUT", "/rest/alimi/alimianswer", ElevenstEndpoint.ALIMI_ANSWER),
    ]
)


class ElevenstSandbox(ElevenstStore, SandboxHandler[ElevenstEndpoint]):
    """Fake 11st seller API: product Q&A and 긴급알리미 lists and answers, maintenance, faults. Thread-safe.

    The seeding API (add_*/answer_*/set_alimi_status/is_answered) comes from ElevenstStore.
    """

    list_endpoints = frozenset({ElevenstEndpoint.QNA_LIST, ElevenstEndpoint.ALIMI_LIST})
    answer_endpoints = frozenset({ElevenstEndpoint.QNA_ANSWER, ElevenstEndpoint.ALIMI_ANSWER})

    def __init__(self, *, api_key: str, now: Callable[[], datetime], wire: ElevenstWire = ElevenstWire.NCR) -> None:
        super().__init__()
        self._api_key = api_key
        self.wire = wire
        self.maintenance = False  # True: every call answers result_code -1000, as in Friday early-morning upkeep
        self._references = itertools.count(1)
        self._start_handling(now)

    def _handle(self, request: httpx.Request, now: datetime) -> httpx.Response:
        route = _ROUTER.match(request.method, request.url.path)
        fault = self._fault_for(None if route is None else route.endpoint, request, now)
        if request.headers.get("openapikey") != self._api_key:
            return self._xml(401, result("result", "-999", "openapikey가 유효하지 않거나 등록되지 않은 IP입니다."))
        if request.method == "GET" and "content-type" in request.headers:
            return httpx.Response(415, content=b"Unsupported Media Type", headers={"Content-Type": "text/plain"})
        if self.maintenance:
            return self._xml(200, result("result", "-1000", "시스템 점검 중입니다."))
        if route is None:
            return self._xml(
                404, result("result", "404", f"{request.method} {request.url.path} 은(는) 없는 API입니다.")
            )
        body = self._dispatch(route, request, now)
        # A bad date in the first row: the rest of the page still parses.
        if self._uses(fault, Fault.MALFORMED_ITEM, applies="<createDt>" in body):
            body = body.replace("<createDt>", "<createDt>x", 1)
        return self._as_sent(fault, self._xml(200, body))

    def _dispatch(self, route: Route[ElevenstEndpoint], request: httpx.Request, now: datetime) -> str:
        path = route.path_params
        if route.endpoint is ElevenstEndpoint.QNA_LIST:
            return self._list_qna(path["start"], path["end"], path["status"])
        if route.endpoint is ElevenstEndpoint.ALIMI_LIST:
            return self._list_alimi(path["start"], path["end"], path.get("status"), path.get("order"))
        if route.endpoint is ElevenstEndpoint.QNA_ANSWER:
            answer_qna = partial(self._answer_qna, int(path["id"]), int(path["prd"]), request, now)
            return self._answering(route.endpoint, now, answer_qna, item_id=path["id"])
        return self._answering(route.endpoint, now, partial(self._answer_alimi, request, now))

    def _list_qna(self, raw_start: str, raw_end: str, status: str) -> str:
        start, end = _day(raw_start), _day(raw_end)
        if start is None or end is None or end < start:
            raise self._business("productQnas", "500", "조회기간이 올바르지 않습니다.")
        if (end - start).days + 1 > QNA_MAX_DATES:
            raise self._business("productQnas", "500", "최대 조회기간은 7일 입니다.")
        if status not in ("00", "01", "02"):
            raise self._business("productQnas", "500", "답변상태 코드가 올바르지 않습니다.")
        return document("productQnas", "".join(self.qna_rows(start, end, status)))

    def _list_alimi(self, raw_start: str, raw_end: str, status: str | None, order_no: str | None) -> str:
        start, end = _day(raw_start), _day(raw_end)
        if start is None:
            raise self._business("alimi", "-10001", "조회 시작일을 확인해 주세요.")
        if end is None:
            raise self._business("alimi", "-10002", "조회 종료일을 확인해 주세요.")
        if end < start:
            raise self._business("alimi", "-1", "조회 종료일이 시작일보다 빠릅니다.")
        if (end - start).days + 1 > ALIMI_MAX_DATES:
            raise self._business("alimi", "-10004", "최대 조회기간은 30일 입니다.")
        if status is not None and status not in ALIMI_STATUSES:
            raise self._business("alimi", "-10003", "처리상태 코드가 올바르지 않습니다.")
        found = self.alimi_rows(start, end, status, order_no or None)
        if not found:
            return result("alimi", "0", "조회된 데이터가 없습니다.")
        return document("alimi", "".join(found))

    def _answer_qna(self, brd_info_no: int, prd_no: int, request: httpx.Request, now: datetime) -> Accepted[str]:
        ids = f"<brdInfoNo>{brd_info_no}</brdInfoNo><productNo>{prd_no}</productNo>"

        def refused(message: str) -> Refused:
            body = f"{ids}<message>{escape(message)}</message><resultCode>500</resultCode>"
            return Refused(self._xml(200, document("ClientMessage", body)))

        try:
            answer = xml_fields(request, root="ProductQna").get("answerCont", "")
        except BodyUnreadable as err:
            raise refused(err.message) from err
        qna = self.qnas.get(brd_info_no)
        if qna is None or qna.prd_no != prd_no:
            raise refused("해당 상품문의가 없습니다.")
        if not answer.strip():
            raise refused("답변 내용을 입력하세요.")
        self.answer_product_qna(brd_info_no, answer, now)
        body = f"{ids}<message>답변이 등록되었습니다.</message><resultCode>200</resultCode>"
        return Accepted(str(brd_info_no), answer, document("ClientMessage", body))

    def _answer_alimi(self, request: httpx.Request, now: datetime) -> Accepted[str]:
        try:
            fields = xml_fields(request, root="request")
        except BodyUnreadable as err:
            raise self._alimi_result("", None, "-1", err.message) from err
        raw_seq, answer = fields.get("emerNtceSeq", ""), fields.get("answerCtnt", "")
        alimi = self.alimis.get(int(raw_seq)) if raw_seq.isascii() and raw_seq.isdigit() else None
        if alimi is None:
            raise self._alimi_result(raw_seq, None, "-10000", "해당 긴급알리미가 없습니다.")
        if fields.get("confirmYn") != "Y":
            raise self._alimi_result(raw_seq, alimi.order_no, "-1", "확인여부(confirmYn)는 Y만 가능합니다.")
        if alimi.status in ALIMI_DONE:
            raise self._alimi_result(raw_seq, alimi.order_no, "-10005", ALIMI_ALREADY_DONE)
        if alimi.type_code == "01" and not answer.strip():
            raise self._alimi_result(raw_seq, alimi.order_no, "-10004", "답변 내용을 입력하세요.")
        self.answer_alimi(alimi.seq, answer, now)
        code, text = ("200", "답변이 등록되었습니다.") if alimi.type_code == "01" else ("100", "확인 처리되었습니다.")
        return Accepted(raw_seq, answer, _alimi_document(raw_seq, alimi.order_no, code, text))

    def _alimi_result(self, seq: str, order_no: str | None, code: str, text: str) -> Refused:
        return Refused(self._xml(200, _alimi_document(seq, order_no, code, text)))

    def _business(self, root: str, code: str, text: str) -> Refused:
        return Refused(self._xml(200, result(root, code, text)))

    def _xml(self, status: int, text: str) -> httpx.Response:
        return httpx.Response(status, content=euc_kr_bytes(text, self.wire), headers={"Content-Type": CONTENT_TYPE})

    def _gateway_fault(self, fault: FaultEntry, request: httpx.Request, now: datetime) -> httpx.Response:
        if fault.fault is Fault.RATE_LIMIT:
            headers = {"Retry-After": str(fault.retry_after_s), "Content-Type": "text/plain"}
            return httpx.Response(429, content=b"Too Many Requests", headers=headers)
        if fault.fault is Fault.HTML_FORBIDDEN:
            return access_denied(request, f"11.{next(self._references):08d}")
        phrase = HTTPStatus(fault.status).phrase
        page = f"<html><body><h1>{fault.status} {phrase}</h1></body></html>".encode("ascii")
        return httpx.Response(fault.status, content=page, headers={"Content-Type": "text/html"})


def _day(value: str) -> date | None:
    if not (len(value) == 8 and value.isascii() and value.isdigit()):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def _alimi_document(seq: str, order_no: str | None, code: str, text: str) -> str:
    """The `alimiResult` answer to a 긴급알리미 reply, success or not."""
    fields = f"<emerNtceSeq>{escape(seq)}</emerNtceSeq><ordNo>{order_no or ''}</ordNo>"
    return document("alimiResult", f"{fields}<result_code>{code}</result_code><result_text>{text}</result_text>")
