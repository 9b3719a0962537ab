"""A strict fake of the ESM Trading API (G마켓 / 옥션) for 게시판 문의 and 긴급알리미 (marketplaces.md §4).

`EsmSandbox.handler` turns an `httpx.Request` into an `httpx.Response` (use it through `httpx.MockTransport`
or `SandboxServer`). It verifies, it does not trust: the Bearer JWT is checked (esm/auth.py) against the
sandbox's own expectations from the doc, independently of the connector.

Rules and choices where the docs are silent ("assumed" = no source showed it):
- Auth: anything esm/auth.py refuses gets 401 {"status":{"message":"The user does not have right access to the
  api","status_code":401}}. Lists only show the sites `ssi` names.
- Body: `type` missing -> 500 "Error getting value from 'Type'" [3P]; `type` != 1, bad qnaType/status, bad dates
  or too long a window -> 200 {"resultCode":1000,"message":...} [shape of the answer API's failure; assumed here].
- Window: endDate is exclusive (read as 00:00 of that day [3P, claim APIs]): rows received on
  [startDate, endDate) are listed, and endDate - startDate must be 0..7 days, i.e. at most 7 dates. A connector
  sending "last date + 1" for 7-date windows fits exactly; one sending 8 dates is refused.
- qnaType follows doc version (b) by default: 1 옥션 게시판, 2 옥션 쪽지, 3 G마켓 게시판; `qna_type_3_is_all`
  switches to version (a), where 3 lists every site's rows.
- Rows (esm/store.py): a top-level array (3P) by default, or {"resultCode":0,"message":null,"data":[...]} with
  `wrapped=True`; 긴급알리미 lists are {"ResultCode":0,"Message":"성공","Data":[...]}. Newest first [assumed].
- Answers (§4.3, §4.4, §8) pass the same JWT check. 게시판: {messageNo, token, answerStatus, title, comments}, all
  required; success {"messageNo": ...}; every failure {"resultCode":1000,"message"} [official shape], e.g. a token
  that is not the one the list gave for that messageNo [official]. answerStatus 2 처리완료 closes the inquiry (the
  next list shows it 처리완료 with AnswerDate); 1 처리중 stores the text and leaves it open. A second answer after 2
  is accepted (UNCONFIRMED upstream). The "comments <= 1000 bytes" limit is third-party only and not enforced.
  긴급알리미: {emerMessageNo, comments, answerStatus, token (G마켓 only)}; success {"ResultCode":0,"Message":"성공",
  "Data":{"EmerMessageNo":...}}; 2141 unknown number or G마켓 token mismatch, 20 bad answerStatus, 100 once
  completed [codes official]; blank comments -> 2141-shaped result with code 10 [code assumed].
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

import httpx

from connectors.sandbox.esm.auth import JwtRejected, verified_sites
from connectors.sandbox.esm.generator import EsmInquiryGenerator
from connectors.sandbox.esm.store import GMARKET, EsmCasing, EsmItem, EsmStore
from connectors.sandbox.faults import Fault, FaultEntry
from connectors.sandbox.handling import Accepted, Refused, Router, SandboxHandler, access_denied, json_response
from core.models import KST

NO_RIGHT = {"status": {"message": "The user does not have right access to the api", "status_code": 401}}
MAX_WINDOW_DAYS = 7
CONTENT_TYPE = "application/json; charset=utf-8"
_BOARD = "/item/v1/communications/customer/bulletin-board"


class EsmEndpoint(StrEnum):
    """The ESM operations the sandbox serves; faults can target one."""

    BULLETIN_BOARD = "bulletin_board"
    BULLETIN_BOARD_ANSWER = "bulletin_board_answer"
    EMERGENCY_LIST = "emergency_list"
    EMERGENCY_ANSWER = "emergency_answer"


# Every operation is a POST; a trailing slash is forgiven.
_ROUTER = Router(
    ("POST", re.escape(path) + "/*", endpoint)
    for path, endpoint in (
        (_BOARD, EsmEndpoint.BULLETIN_BOARD),
        (_BOARD + "/qna", EsmEndpoint.BULLETIN_BOARD_ANSWER),
        ("/assist/v1/Selling/GetEmergencyInformList", EsmEndpoint.EMERGENCY_LIST),
        ("/assist/v1/Selling/AddEmergencyInformReply", EsmEndpoint.EMERGENCY_ANSWER),
    )
)


def _json(status: int, payload: object, headers: dict[str, str] | None = None) -> httpx.Response:
    return json_response(status, payload, headers, content_type=CONTENT_TYPE)


def _fail(message: str) -> Refused:
    return Refused(_json(200, {"resultCode": 1000, "message": message}))


class EsmSandbox(EsmStore, SandboxHandler[EsmEndpoint]):
    """Fake ESM Trading API: JWT auth, bulletin board and 긴급알리미 lists and answers, window rules, faults.

    The seeding API (add_*/answer/is_answered/item) comes from EsmStore.
    """

    list_endpoints = frozenset({EsmEndpoint.BULLETIN_BOARD, EsmEndpoint.EMERGENCY_LIST})
    answer_endpoints = frozenset({EsmEndpoint.BULLETIN_BOARD_ANSWER, EsmEndpoint.EMERGENCY_ANSWER})

    def __init__(
        self,
        *,
        master_id: str,
        secret_key: str,
        gmarket_seller_id: str | None,
        auction_seller_id: str | None,
        now: Callable[[], datetime],
        casing: EsmCasing = EsmCasing.OFFICIAL,
        wrapped: bool = False,
        qna_type_3_is_all: bool = False,
    ) -> None:
        super().__init__(gmarket_seller_id=gmarket_seller_id, auction_seller_id=auction_seller_id)
        self.master_id = master_id
        self._secret = secret_key
        self.casing = casing
        self.wrapped = wrapped
        self.qna_type_3_is_all = qna_type_3_is_all
        self.auth_failures = 0
        self._start_handling(now)

    def seed_random(self, count: int, *, start: datetime, end: datetime, rng: random.Random) -> list[int]:
        """Seed `count` believable inquiries received in [start, end); returns their keys."""
        return EsmInquiryGenerator(self, rng=rng).seed(count, start=start, end=end)

    def _handle(self, request: httpx.Request, now: datetime) -> httpx.Response:
        route = _ROUTER.match(request.method, request.url.path)
        fault = self._fault_for(None if route is None else route.endpoint, request, now)
        if route is None:
            return _json(404, {"status": {"message": "Not Found", "status_code": 404}})
        try:
            sites = verified_sites(
                request.headers.get("Authorization"),
                master_id=self.master_id,
                secret=self._secret,
                sellers=self.sellers,
                now=now,
            )
        except JwtRejected as err:
            self.auth_failures += 1
            raise Refused(_json(401, NO_RIGHT)) from err
        body = _body(request)
        if route.endpoint is EsmEndpoint.BULLETIN_BOARD:
            return self._list(body, sites, now, fault, urgent=False)
        if route.endpoint is EsmEndpoint.EMERGENCY_LIST:
            return self._list(body, sites, now, fault, urgent=True)
        if route.endpoint is EsmEndpoint.BULLETIN_BOARD_ANSWER:
            answer_board = partial(self._answer_board, body, sites, now)
            return self._answering(route.endpoint, now, answer_board, item_id=_number(body.get("messageNo")))
        answer_urgent = partial(self._answer_urgent, body, sites, now)
        return self._answering(route.endpoint, now, answer_urgent, item_id=_number(body.get("emerMessageNo")))

    def _list(
        self, body: dict[str, Any], sites: set[str], now: datetime, fault: FaultEntry | None, *, urgent: bool
    ) -> httpx.Response:
        if "type" not in body and "Type" not in body:
            return _json(
                500, {"Message": "An error has occurred.", "ExceptionMessage": "Error getting value from 'Type'"}
            )
        if body.get("type", body.get("Type")) != 1:
            raise _fail("type은 1(접수일)만 가능합니다.")
        status = body.get("status")
        if not isinstance(status, int) or status not in ((1, 2, 3) if urgent else (1, 2, 3, 4, 5)):
            raise _fail("status 값이 올바르지 않습니다.")
        start, end = _date(body, "startDate"), _date(body, "endDate")
        if not timedelta(0) <= end - start <= timedelta(days=MAX_WINDOW_DAYS):
            raise _fail(f"조회 기간은 최대 {MAX_WINDOW_DAYS}일입니다.")
        on_site = self._site_filter(body, sites, urgent)
        rows = self.rows(
            urgent=urgent,
            start=datetime.combine(start, datetime.min.time(), KST),
            end=datetime.combine(end, datetime.min.time(), KST),
            now=now,
            wanted=lambda i: on_site(i) and _status_matches(i, status),
            casing=self.casing,
        )
        self._break_middle_row(fault, rows, _without_number)
        if urgent:
            payload: object = {"ResultCode": 0, "Message": "성공", "Data": rows}
        else:
            payload = {"resultCode": 0, "message": None, "data": rows} if self.wrapped else rows
        return self._as_sent(fault, _json(200, payload))

    def _site_filter(self, body: dict[str, Any], sites: set[str], urgent: bool) -> Callable[[EsmItem], bool]:
        if urgent:
            return lambda i: i.site in sites
        qna_type = body.get("qnaType")
        if qna_type not in (1, 2, 3):
            raise _fail("qnaType 값이 올바르지 않습니다.")
        if qna_type == 3 and self.qna_type_3_is_all:
            return lambda i: i.site in sites
        return lambda i: i.site in sites and i.qna_type == qna_type

    def _answer_board(self, body: dict[str, Any], sites: set[str], now: datetime) -> Accepted[httpx.Response]:
        item = self.find(body.get("messageNo"), sites, urgent=False)
        if item is None or body.get("token") != item.token:
            raise _fail("문의 정보가 일치하지 않습니다. (token/판매자 불일치 또는 삭제된 문의)")
        title, comments, status = body.get("title"), body.get("comments"), body.get("answerStatus")
        if status not in (1, 2) or isinstance(status, bool):
            raise _fail("answerStatus 값이 올바르지 않습니다. (1 처리중, 2 처리완료)")
        if not isinstance(title, str) or not title.strip():
            raise _fail("title 값이 없습니다.")
        if not isinstance(comments, str) or not comments.strip():
            raise _fail("comments 값이 없습니다.")
        self.answer(item.key, comments, now, completed=status == 2)
        number = str(item.message_no)
        return Accepted(number, comments, _json(200, {"messageNo": number}))

    def _answer_urgent(self, body: dict[str, Any], sites: set[str], now: datetime) -> Accepted[httpx.Response]:
        item = self.find(body.get("emerMessageNo"), sites, urgent=True)
        if item is None:
            raise _urgent_refusal(2141, "긴급알리미 번호가 올바르지 않습니다.")
        if item.site == GMARKET and body.get("token") != item.token:
            raise _urgent_refusal(2141, "token이 일치하지 않습니다.")
        status, comments = body.get("answerStatus"), body.get("comments")
        if status not in (1, 2) or isinstance(status, bool):
            raise _urgent_refusal(20, "answerStatus 값이 올바르지 않습니다.")
        if item.answered:
            raise _urgent_refusal(100, "이미 처리완료된 건입니다.")
        if not isinstance(comments, str) or not comments.strip():
            raise _urgent_refusal(10, "comments 값이 없습니다.")
        self.answer(item.key, comments, now, completed=status == 2)
        response = _urgent_result(0, "성공", {"EmerMessageNo": item.message_no})
        return Accepted(str(item.message_no), comments, response)

    def _gateway_fault(self, fault: FaultEntry, request: httpx.Request, now: datetime) -> httpx.Response:
        if fault.fault is Fault.RATE_LIMIT:
            too_many = {"status": {"message": "Too Many Requests", "status_code": 429}}
            return _json(429, too_many, {"Retry-After": str(fault.retry_after_s)})
        if fault.fault is Fault.HTML_FORBIDDEN:
            return access_denied(request, "18.sbx")
        return _json(fault.status, {"Message": "An error has occurred."})


def _urgent_result(code: int, message: str, data: object = None) -> httpx.Response:
    return _json(200, {"ResultCode": code, "Message": message, "Data": data})


def _urgent_refusal(code: int, message: str) -> Refused:
    return Refused(_urgent_result(code, message))


def _number(value: object) -> str | None:
    """A message number as the request sent it (string or number), for the record of a refused answer."""
    return str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None


def _without_number(row: dict[str, Any], _how: object) -> dict[str, Any]:
    """A list row without its message number (MessageNo, messageNo or EmerMessageNo), however MALFORMED_ITEM asks."""
    return {k: v for k, v in row.items() if k.lower() not in ("messageno", "emermessageno")}


def _body(request: httpx.Request) -> dict[str, Any]:
    try:
        body = json.loads(request.content or b"{}")
    except ValueError as err:
        raise _fail("요청 본문이 JSON이 아닙니다.") from err
    if not isinstance(body, dict):
        raise _fail("요청 본문이 객체가 아닙니다.")
    return body


def _date(body: dict[str, Any], field: str) -> date:
    value = body.get(field)
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise _fail(f"{field} 형식이 올바르지 않습니다. (yyyy-MM-dd)")
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise _fail(f"{field} 형식이 올바르지 않습니다. (yyyy-MM-dd)") from err


def _status_matches(item: EsmItem, status: int) -> bool:
    # 1 전체, 2 미처리, 3 처리완료; 4 처리중 / 5 중복문의 are G마켓 states the sandbox never produces.
    return status == 1 or (status == 2 and not item.answered) or (status == 3 and item.answered)
