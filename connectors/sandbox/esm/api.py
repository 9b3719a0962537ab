"""A strict fake of the ESM Trading API (G마켓 / 옥션) for 게시판 문의 and 긴급알리미 (marketplaces.md §4).

`EsmSandbox.handler` turns an `httpx.Request` into an `httpx.Response` (use it through `httpx.MockTransport`
or `SandboxServer`). It verifies, it does not trust: the Bearer JWT is checked with PyJWT against the sandbox's
own expectations from the doc, independently of the connector.

Rules and choices where the docs are silent ("assumed" = no source showed it):
- Auth: HS256 signed with the secret; header kid == master ID; aud == "sa.esmplus.com"; sub == "sell"; `ssi`
  "A:<옥션 id>,G:<G마켓 id>" (either part optional) naming only seeded seller ids; `exp`, when present, in the
  future (`iat`/`exp` optional; `iss` required to be present, its value not checked [UNCONFIRMED upstream]).
  Anything else: 401 {"status":{"message":"The user does not have right access to the api","status_code":401}}.
  Lists only show the sites `ssi` names.
- Body: `type` missing -> 500 "Error getting value from 'Type'" [3P]; `type` != 1, bad qnaType/status, bad dates
  or too long a window -> 200 {"resultCode":1000,"message":...} [shape of the answer API's failure; assumed here].
- Window: endDate is exclusive (read as 00:00 of that day [3P, claim APIs]): rows received on
  [startDate, endDate) are listed, and endDate - startDate must be 0..7 days, i.e. at most 7 dates. A connector
  sending "last date + 1" for 7-date windows fits exactly; one sending 8 dates is refused.
- qnaType follows doc version (b) by default: 1 옥션 게시판, 2 옥션 쪽지, 3 G마켓 게시판; `qna_type_3_is_all`
  switches to version (a), where 3 lists every site's rows.
- Rows: a top-level array (3P) by default, or {"resultCode":0,"message":null,"data":[...]} with
  `wrapped=True`. Casing `EsmCasing.OFFICIAL` uses the official partial list's exact spellings (MessageNo, QnaType,
  SellerId, InformStatus, ReAsking, but token and contractType) and PascalCase for the rest; `EsmCasing.CAMEL`
  uses the third-party all-camelCase list. Newest first [assumed].
- 긴급알리미 rows (field names UNCONFIRMED upstream, assumed): {"ResultCode":0,"Message":"성공","Data":[{EmerMessageNo,
  SellerId, SiteType "A"/"G", Title, Contents, RegDate, Status, AnswerDate, OrderNo, token (G마켓 only)}]}.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

import httpx
import jwt

from connectors.sandbox.arrivals import ArrivalGenerator
from connectors.sandbox.faults import (
    GATEWAY_FAULTS,
    Fault,
    FaultEntry,
    FaultQueue,
    akamai_access_denied_html,
    truncated,
)
from connectors.sandbox.handling import SandboxHandler
from core.models import KST

GMARKET, AUCTION = "G마켓", "옥션"
AUDIENCE = "sa.esmplus.com"
NO_RIGHT = {"status": {"message": "The user does not have right access to the api", "status_code": 401}}
MAX_WINDOW_DAYS = 7
COMMENTS_MAX_BYTES = 1000
_BOARD = "/item/v1/communications/customer/bulletin-board"
_ROUTES = {
    _BOARD: "bulletin_board",
    _BOARD + "/qna": "bulletin_board_answer",
    "/assist/v1/Selling/GetEmergencyInformList": "emergency_list",
    "/assist/v1/Selling/AddEmergencyInformReply": "emergency_answer",
}


class EsmEndpoint(StrEnum):
    """The ESM operations the sandbox serves; faults can target one."""

    BULLETIN_BOARD = "bulletin_board"
    BULLETIN_BOARD_ANSWER = "bulletin_board_answer"
    EMERGENCY_LIST = "emergency_list"
    EMERGENCY_ANSWER = "emergency_answer"


class EsmCasing(StrEnum):
    """How bulletin-board row keys are spelled."""

    OFFICIAL = "official"  # the official partial list's spellings (mostly PascalCase)
    CAMEL = "camel"  # the third-party list: all camelCase


_LIST_ENDPOINTS = frozenset({EsmEndpoint.BULLETIN_BOARD, EsmEndpoint.EMERGENCY_LIST})
_OFFICIAL_KEYS = {"token": "token", "contractType": "contractType"}


class _Refused(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass(slots=True)
class EsmItem:
    """One seeded 게시판 문의 (urgent=False) or 긴급알리미 (urgent=True)."""

    key: int
    site: str
    urgent: bool
    message_no: int
    qna_type: int
    title: str
    details: str
    received_at: datetime
    token: str | None
    contract_type: str
    order_no: str | None
    answer: str | None = None
    answered_at: datetime | None = None

    @property
    def answered(self) -> bool:
        return self.answered_at is not None


def _json(status: int, payload: object, headers: dict[str, str] | None = None) -> httpx.Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return httpx.Response(
        status, content=body, headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})}
    )


def _fail(message: str) -> _Refused:
    return _Refused(_json(200, {"resultCode": 1000, "message": message}))


class EsmSandbox(SandboxHandler[EsmEndpoint]):
    """Fake ESM Trading API: JWT auth, bulletin board and 긴급알리미 lists and answers, window rules, faults."""

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
        self._lock = threading.RLock()
        self.master_id = master_id
        self._secret = secret_key
        self.sellers = {site: sid for site, sid in ((GMARKET, gmarket_seller_id), (AUCTION, auction_seller_id)) if sid}
        self._now = now
        self.casing = casing
        self.wrapped = wrapped
        self.qna_type_3_is_all = qna_type_3_is_all
        self.requests = []
        self._faults = FaultQueue()
        self._items: dict[int, EsmItem] = {}
        self._keys = itertools.count(1)
        self._numbers = itertools.count(3_578_000)
        self.auth_failures = 0

    # -- seeding ---------------------------------------------------------------------------------------------

    def add_question(
        self,
        *,
        site: str,
        title: str,
        details: str,
        received_at: datetime,
        qna_type: int | None = None,
        contract_type: str = "상품",
        order_no: str | None = None,
        message_no: int | None = None,
    ) -> int:
        """Seed a 게시판 문의 on `site` (G마켓 or 옥션); returns its sandbox key."""
        return self._add(site, False, title, details, received_at, qna_type, contract_type, order_no, message_no)

    def add_urgent(
        self, *, site: str, title: str, contents: str, received_at: datetime, order_no: str | None = None
    ) -> int:
        """Seed a 긴급알리미 from ESM's CS about `site`; returns its sandbox key."""
        return self._add(site, True, title, contents, received_at, None, "기타", order_no, None)

    def _add(
        self,
        site: str,
        urgent: bool,
        title: str,
        details: str,
        received_at: datetime,
        qna_type: int | None,
        contract_type: str,
        order_no: str | None,
        message_no: int | None,
    ) -> int:
        if site not in (GMARKET, AUCTION):
            raise ValueError("site must be G마켓 or 옥션")
        if received_at.tzinfo is None:
            raise ValueError("received_at must be aware")
        with self._lock:
            key = next(self._keys)
            number = next(self._numbers) if message_no is None else message_no
            kind = qna_type if qna_type is not None else (3 if site == GMARKET else 1)
            token = None if urgent and site == AUCTION else f"tok-{key:04d}-{number}"
            self._items[key] = EsmItem(
                key, site, urgent, number, kind, title, details, received_at, token, contract_type, order_no
            )
            return key

    def item(self, key: int) -> EsmItem:
        with self._lock:
            return self._items[key]

    def is_answered(self, key: int) -> bool:
        with self._lock:
            return self._items[key].answered

    def answer(self, key: int, text: str, at: datetime) -> None:
        """Answer as the seller would in ESM+ (not through the API)."""
        with self._lock:
            item = self._items[key]
            item.answer, item.answered_at = text, at

    def seed_random(self, count: int, *, start: datetime, end: datetime, rng: random.Random) -> list[int]:
        """Seed `count` believable inquiries received in [start, end); returns their keys."""
        return EsmInquiryGenerator(self, rng=rng).seed(count, start=start, end=end)

    # -- handling --------------------------------------------------------------------------------------------

    def _handle(self, request: httpx.Request, now: datetime) -> httpx.Response:
        name = _ROUTES.get(request.url.path.rstrip("/")) if request.method == "POST" else None
        endpoint = None if name is None else EsmEndpoint(name)
        fault = self._faults.peek(endpoint, is_list=endpoint in _LIST_ENDPOINTS)
        if fault is not None and fault.fault in GATEWAY_FAULTS:
            self._faults.consume(fault)
            return self._gateway_fault(fault, request)
        if endpoint is None:
            return _json(404, {"status": {"message": "Not Found", "status_code": 404}})
        try:
            sites = self._authorize(request.headers.get("Authorization"), now)
            body = _body(request)
            if endpoint is EsmEndpoint.BULLETIN_BOARD:
                return self._list(body, sites, now, fault, urgent=False)
            if endpoint is EsmEndpoint.EMERGENCY_LIST:
                return self._list(body, sites, now, fault, urgent=True)
            if endpoint is EsmEndpoint.BULLETIN_BOARD_ANSWER:
                return self._answer_board(body, sites, now)
            return self._answer_urgent(body, sites, now)
        except _Refused as refused:
            return refused.response

    def _authorize(self, header: str | None, now: datetime) -> set[str]:
        """The sites the JWT may see; _Refused with the documented 401 otherwise."""
        refused = _Refused(_json(401, NO_RIGHT))
        if header is None or not header.startswith("Bearer "):
            self.auth_failures += 1
            raise refused
        token = header.removeprefix("Bearer ").strip()
        try:
            if jwt.get_unverified_header(token).get("kid") != self.master_id:
                raise jwt.InvalidTokenError("kid")
            with warnings.catch_warnings():  # a short secret is ESM's choice, not an error here
                warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
                claims = jwt.decode(
                    token,
                    self._secret,
                    algorithms=["HS256"],
                    audience=AUDIENCE,
                    # Times are checked against the sandbox's own clock below, not the host's.
                    options={"require": ["iss", "sub", "aud", "ssi"], "verify_exp": False, "verify_iat": False},
                )
            sites = _ssi_sites(claims.get("ssi"), self.sellers)
            exp = claims.get("exp")
            if claims.get("sub") != "sell" or (
                exp is not None and (not isinstance(exp, int) or exp <= now.timestamp())
            ):
                raise jwt.InvalidTokenError("sub/exp")
        except jwt.PyJWTError as err:
            self.auth_failures += 1
            raise refused from err
        return sites

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
        lo, hi = datetime.combine(start, datetime.min.time(), KST), datetime.combine(end, datetime.min.time(), KST)
        wanted = self._site_filter(body, sites, urgent)
        items = sorted(
            (
                i
                for i in self._items.values()
                if i.urgent == urgent
                and wanted(i)
                and lo <= i.received_at < hi
                and i.received_at <= now
                and _status_matches(i, status)
            ),
            key=lambda i: i.received_at,
            reverse=True,
        )
        rows = [self._urgent_row(i) if urgent else self._board_row(i) for i in items]
        if fault is not None and fault.fault is Fault.MALFORMED_ITEM and rows:
            self._faults.consume(fault)
            broken = rows[len(rows) // 2]
            broken.pop(next(k for k in broken if k.lower() in ("messageno", "emermessageno")))
        if urgent:
            payload: object = {"ResultCode": 0, "Message": "성공", "Data": rows}
        else:
            payload = {"resultCode": 0, "message": None, "data": rows} if self.wrapped else rows
        response = _json(200, payload)
        if fault is not None and fault.fault is Fault.MALFORMED_BODY:
            self._faults.consume(fault)
            return httpx.Response(200, content=truncated(response.content), headers=response.headers)
        return response

    def _site_filter(self, body: dict[str, Any], sites: set[str], urgent: bool) -> Callable[[EsmItem], bool]:
        if urgent:
            return lambda i: i.site in sites
        qna_type = body.get("qnaType")
        if qna_type not in (1, 2, 3):
            raise _fail("qnaType 값이 올바르지 않습니다.")
        if qna_type == 3 and self.qna_type_3_is_all:
            return lambda i: i.site in sites
        return lambda i: i.site in sites and i.qna_type == qna_type

    def _board_row(self, item: EsmItem) -> dict[str, Any]:
        row = {
            "MessageNo": str(item.message_no),
            "QnaType": item.qna_type,
            "SellerId": self.sellers[item.site],
            "GoodsNo": str(1_000_000 + item.key),
            "SiteGoodsNo": str(2_000_000 + item.key),
            "OrderNo": item.order_no,
            "PayNo": None,
            "InformStatus": "처리완료" if item.answered else "미처리",
            "ReceiveDate": item.received_at.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S"),
            "AnswerDate": None
            if item.answered_at is None
            else item.answered_at.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S"),
            "contractType": item.contract_type,
            "Title": item.title,
            "Details": item.details,
            "token": item.token,
            "ReAsking": False,
        }
        if self.casing is EsmCasing.CAMEL:
            return {k[0].lower() + k[1:]: v for k, v in row.items()}
        return row

    def _urgent_row(self, item: EsmItem) -> dict[str, Any]:
        row: dict[str, Any] = {
            "EmerMessageNo": str(item.message_no),
            "SellerId": self.sellers[item.site],
            "SiteType": "G" if item.site == GMARKET else "A",
            "Title": item.title,
            "Contents": item.details,
            "RegDate": item.received_at.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S"),
            "Status": "처리완료" if item.answered else "미처리",
            "OrderNo": item.order_no,
        }
        if item.token is not None:
            row["token"] = item.token
        return row

    def _answer_board(self, body: dict[str, Any], sites: set[str], now: datetime) -> httpx.Response:
        item = self._find(body.get("messageNo"), sites, urgent=False)
        if item is None or body.get("token") != item.token:
            raise _fail("문의 정보가 일치하지 않습니다. (token/판매자 불일치 또는 삭제된 문의)")
        comments = body.get("comments")
        if body.get("answerStatus") not in (1, 2) or not isinstance(comments, str) or not comments.strip():
            raise _fail("answerStatus/comments 값이 올바르지 않습니다.")
        if len(comments.encode("utf-8")) > COMMENTS_MAX_BYTES:
            raise _fail(f"comments는 {COMMENTS_MAX_BYTES}byte 이하여야 합니다.")
        if body["answerStatus"] == 2:
            item.answer, item.answered_at = comments, now
        return _json(200, {"messageNo": str(item.message_no)})

    def _answer_urgent(self, body: dict[str, Any], sites: set[str], now: datetime) -> httpx.Response:
        item = self._find(body.get("emerMessageNo"), sites, urgent=True)
        if item is None:
            return _json(200, {"ResultCode": 2141, "Message": "긴급알리미 번호가 올바르지 않습니다.", "Data": None})
        if item.site == GMARKET and body.get("token") != item.token:
            return _json(200, {"ResultCode": 2141, "Message": "token이 일치하지 않습니다.", "Data": None})
        if body.get("answerStatus") not in (1, 2):
            return _json(200, {"ResultCode": 20, "Message": "answerStatus 값이 올바르지 않습니다.", "Data": None})
        if item.answered:
            return _json(200, {"ResultCode": 100, "Message": "이미 처리완료된 건입니다.", "Data": None})
        if body["answerStatus"] == 2:
            item.answer, item.answered_at = str(body.get("comments") or ""), now
        return _json(200, {"ResultCode": 0, "Message": "성공", "Data": {"EmerMessageNo": item.message_no}})

    def _find(self, number: object, sites: set[str], *, urgent: bool) -> EsmItem | None:
        if not isinstance(number, (str, int)) or not str(number).isdigit():
            return None
        return next(
            (i for i in self._items.values() if i.urgent == urgent and i.site in sites and i.message_no == int(number)),
            None,
        )

    def _gateway_fault(self, fault: FaultEntry, request: httpx.Request) -> httpx.Response:
        if fault.fault is Fault.TIMEOUT:
            raise httpx.ReadTimeout("sandbox: injected timeout", request=request)
        if fault.fault is Fault.RATE_LIMIT:
            return _json(
                429,
                {"status": {"message": "Too Many Requests", "status_code": 429}},
                {"Retry-After": str(fault.retry_after_s)},
            )
        if fault.fault is Fault.HTML_FORBIDDEN:
            html = akamai_access_denied_html(str(request.url), "18.sbx")
            return httpx.Response(403, content=html, headers={"Content-Type": "text/html"})
        return _json(fault.status, {"Message": "An error has occurred."})


def _ssi_sites(ssi: object, sellers: dict[str, str]) -> set[str]:
    """The sites an `ssi` claim names; every part must be "A:<id>" or "G:<id>" of a seeded seller."""
    if not isinstance(ssi, str) or not ssi.strip():
        raise jwt.InvalidTokenError("ssi")
    sites: set[str] = set()
    for part in ssi.split(","):
        tag, _, seller_id = part.strip().partition(":")
        site = {"A": AUCTION, "G": GMARKET}.get(tag)
        if site is None or sellers.get(site) != seller_id or site in sites:
            raise jwt.InvalidTokenError("ssi")
        sites.add(site)
    return sites


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


PRODUCTS = ("국내산 햇사과 5kg", "여성 린넨 셔츠", "캠핑 LED 랜턴", "유아 실리콘 식판", "남성 데일리 슬랙스")
QUESTIONS = (
    ("배송", "배송 문의", "언제 발송되나요? 주문한 지 {days}일 됐어요."),
    ("교환", "교환 문의", "사이즈가 작아서 교환하고 싶어요."),
    ("반품", "반품 문의", "상품에 흠집이 있어 반품 원합니다."),
    ("상품", "상품 문의", "{product} 재입고 예정 있나요?"),
)
URGENT = ("고객 불만 접수", "구매자가 {days}일째 미발송 건으로 고객센터에 문의했습니다. 확인 부탁드립니다.")
SELLER_ANSWERS = ("안녕하세요 고객님, 확인 후 처리해 드렸습니다.", "안녕하세요 고객님, 내일 발송 예정입니다.")


class EsmInquiryGenerator(ArrivalGenerator):
    """Adds G마켓/옥션 questions (and now and then a 긴급알리미) to an EsmSandbox, and answers some of them."""

    def __init__(
        self,
        sandbox: EsmSandbox,
        *,
        rng: random.Random,
        arrivals_per_h: float = 8.0,
        urgent_share: float = 0.1,
        answer_share: float = 0.6,
        mean_answer_delay_s: float = 1800.0,
        min_answer_age_s: float = 120.0,
        pii_share: float = 0.3,
    ) -> None:
        super().__init__(
            rng=rng,
            is_answered=sandbox.is_answered,
            seller_answers=SELLER_ANSWERS,
            arrivals_per_h=arrivals_per_h,
            answer_share=answer_share,
            mean_answer_delay_s=mean_answer_delay_s,
            min_answer_age_s=min_answer_age_s,
            pii_share=pii_share,
        )
        self._sandbox = sandbox
        self.urgent_share = urgent_share

    def _add(self, at: datetime) -> int:
        rng = self._rng
        site = rng.choice(sorted(self._sandbox.sellers))
        days = rng.randint(2, 6)
        phone = (
            f" 연락처 010-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}" if rng.random() < self.pii_share else ""
        )
        if rng.random() < self.urgent_share:
            title, text = URGENT
            key = self._sandbox.add_urgent(site=site, title=title, contents=text.format(days=days), received_at=at)
        else:
            contract, title, text = rng.choice(QUESTIONS)
            key = self._sandbox.add_question(
                site=site,
                title=title,
                details=text.format(days=days, product=rng.choice(PRODUCTS)) + phone,
                received_at=at,
                qna_type=3 if site == GMARKET else rng.choice((1, 2)),
                contract_type=contract,
            )
        return self._track(key, at, rng.random() < self.answer_share, partial(self._sandbox.answer, key))
