"""A strict fake of Coupang's seller API for inquiries, built from the documentation (marketplaces.md §1).

`CoupangSandbox.handler` turns an `httpx.Request` into an `httpx.Response`: use it through
`httpx.MockTransport(sandbox.handler)` or serve it with `SandboxServer`. It verifies, it does not trust:
the CEA signature over the exact wire bytes, the vendor, every documented parameter limit.

Responses it chooses (source in brackets; "assumed" = no source showed it):
- 401 {"code": "ERROR", "message": <gateway text>, "transactionId": <uuid>}: missing header "Request is not
  authorized.", bad header "HMAC format is invalid.", unknown key "Unknown error occurred, ...", stale
  signed-date "Specified signature is expired.", wrong signature "Invalid signature." [Coupang's guide for
  the same api-gateway gives these bodies; 401 is official for expired/invalid, assumed for the others].
- 403 same gateway shape when the path's vendorId is not this key's vendor [assumed].
- 403 text/html Akamai "Access Denied" page (fault HTML_FORBIDDEN) [official: burst blocks look like this].
- 429 same gateway shape, no Retry-After, above `rate_limit_per_s` in any 1-second window [429 official;
  body and headers assumed]; fault RATE_LIMIT adds `Retry-After: <seconds>`.
- 400/415 {"code": <status>, "message": ..., "data": null} for parameter and body errors [code as HTTP status
  per the call-center doc; the JSON-escaping and call-center "can't be answer" texts are official, the rest
  assumed]; 404 gateway shape for unknown paths [assumed]; 5xx {"code": <status>, "message", "data": null}.

Answers (marketplaces.md §1.5, §1.7, §8): both reply endpoints are signed like the lists (the body is not signed)
and take `content`, `vendorId` and `replyBy`, which must be the account's WING login ID (`wing_login_id`); wrong ->
400 "The value of replyBy [..] is incorrect." [official]. A raw control character in a JSON string -> 400
"Could not read JSON: Illegal unquoted character ((CTRL-CHAR, code N))" [official]. A call-center reply also
needs `parentAnswerId` = the answerId of the agent's reply awaiting the seller, and is accepted only while that
reply requests an answer: otherwise, and for a second answer, 400 "The inquiry can't be answer. ..." [official].
The 2-1000 character limit of call-center replies is third-party only (UNCONFIRMED) and is not enforced; neither
is any limit on product answers (none documented). A product inquiry takes one answer through the API
("하나의 고객문의(inquiryId)에 답변할 수 있습니다", marketplaces.md §8): a second with the same text gets 400
"동일한 답변이 존재합니다." [3P wording, UNCONFIRMED], one with another text 400 "이미 답변이 등록된 문의입니다."
[wording assumed]. (A seller's later comments in WING, `answer_product_inquiry`, are still added.)
"""

from __future__ import annotations

import itertools
import math
import random
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from http import HTTPStatus
from typing import Any, TypeVar

import httpx

from connectors.sandbox.coupang import params as qp
from connectors.sandbox.coupang.auth import AuthRejected, verify_request
from connectors.sandbox.coupang.generator import InquiryGenerator
from connectors.sandbox.coupang.rows import CallCenterStatus, CodeStyle, DateTimeFormat, malformed
from connectors.sandbox.coupang.store import CANNOT_ANSWER, CoupangInquiryStore
from connectors.sandbox.faults import Fault, FaultEntry
from connectors.sandbox.handling import Accepted, Route, Router, SandboxHandler, access_denied, json_response
from connectors.sandbox.query import Page, ParamProblem

InquiryT = TypeVar("InquiryT")

PRODUCT_PAGE_MAX = 50
CALL_CENTER_PAGE_MAX = 30  # 2019 official spec; the current doc was not seen to change it
MAX_WINDOW_DAYS = 7
PRODUCT_ANSWERED = "이미 답변이 등록된 문의입니다."  # a second API answer to a product inquiry [assumed]
_ANSWERED_FILTERS: dict[str, bool | None] = {"ALL": None, "ANSWERED": True, "NOANSWER": False}
# The values marketplaces.md and the later spec revision give; one revision of the 2019 spec copy listed
# "none, requestAnswer, answered" instead. Only these are accepted, so a connector sending the other set fails.
_COUNSELING_FILTERS: dict[str, CallCenterStatus | None] = {
    "NONE": None,
    "ANSWER": CallCenterStatus.ANSWERED,
    "NO_ANSWER": CallCenterStatus.REQUEST_ANSWER,
    "TRANSFER": CallCenterStatus.TRANSFER,
}


class Endpoint(StrEnum):
    """The Coupang API operations the sandbox serves; faults can target one."""

    PRODUCT_INQUIRIES = "product_inquiries"
    CALL_CENTER_INQUIRIES = "call_center_inquiries"
    PRODUCT_REPLY = "product_reply"
    CALL_CENTER_REPLY = "call_center_reply"


_LISTS = "/v2/providers/openapi/apis/api/(?P<version>v4|v5)/vendors/(?P<vendor>[^/]+)"
_REPLIES = "/v2/providers/openapi/apis/api/v4/vendors/(?P<vendor>[^/]+)"
_ROUTER = Router(
    [
        ("GET", _LISTS + "/onlineInquiries", Endpoint.PRODUCT_INQUIRIES),
        ("GET", _LISTS + "/callCenterInquiries", Endpoint.CALL_CENTER_INQUIRIES),
        ("POST", _REPLIES + "/onlineInquiries/(?P<id>[0-9]{1,18})/replies", Endpoint.PRODUCT_REPLY),
        ("POST", _REPLIES + "/callCenterInquiries/(?P<id>[0-9]{1,18})/replies", Endpoint.CALL_CENTER_REPLY),
    ]
)


class CoupangSandbox(CoupangInquiryStore, SandboxHandler[Endpoint]):
    """Fake Coupang seller API for 상품문의 and 고객센터 문의: list, answer, faults, rate limit. Thread-safe.

    The seeding API (add_*/answer_*/is_answered) comes from CoupangInquiryStore.
    """

    list_endpoints = frozenset({Endpoint.PRODUCT_INQUIRIES, Endpoint.CALL_CENTER_INQUIRIES})
    answer_endpoints = frozenset({Endpoint.PRODUCT_REPLY, Endpoint.CALL_CENTER_REPLY})

    def __init__(
        self,
        *,
        vendor_id: str,
        access_key: str,
        secret_key: str,
        now: Callable[[], datetime],
        max_skew_s: float = 300.0,
        rate_limit_per_s: int = 10,
        datetime_format: DateTimeFormat | None = None,
        code_style: CodeStyle | None = None,
        wing_login_id: str = "sandbox-wing",
        vendor_name: str = "샌드박스몰",
    ) -> None:
        super().__init__(vendor_name=vendor_name)
        self.vendor_id = vendor_id
        self.access_key = access_key
        self._secret_key = secret_key
        self.max_skew_s = max_skew_s
        self.rate_limit_per_s = rate_limit_per_s
        self.datetime_format = datetime_format  # None: v4 naive KST, v5 with offset
        self.code_style = code_style  # None: as each endpoint's official sample shows it
        self.wing_login_id = wing_login_id  # the only `replyBy` the answer endpoints accept
        self._window: deque[datetime] = deque()
        self._transactions = itertools.count(1)
        self._start_handling(now)

    def _handle(self, request: httpx.Request, now: datetime) -> httpx.Response:
        route = _ROUTER.match(request.method, request.url.path)
        self._window.append(now)
        while self._window and self._window[0] <= now - timedelta(seconds=1):
            self._window.popleft()
        fault = self._fault_for(None if route is None else route.endpoint, request, now)
        # Coupang counts every call per vendor; refused calls keep the caller blocked, as at a real gateway.
        if len(self._window) > self.rate_limit_per_s:
            return self._gateway_error(429, "Too Many Requests")
        try:
            verify_request(
                request, access_key=self.access_key, secret_key=self._secret_key, now=now, max_skew_s=self.max_skew_s
            )
        except AuthRejected as err:
            return self._gateway_error(401, err.message)
        if route is None:
            return self._gateway_error(404, f"No API matches {request.method} {request.url.path}")
        vendor_id = route.path_params["vendor"]
        if vendor_id != self.vendor_id:
            return self._gateway_error(403, f"vendorId {vendor_id} does not belong to this access key")
        try:
            payload = self._dispatch(request, route, now)
        except ParamProblem as problem:
            raise qp.refusal(problem) from problem
        if route.endpoint in self.list_endpoints:
            self._break_middle_row(fault, payload["data"]["content"], malformed)
        return self._as_sent(fault, json_response(200, payload))

    def _dispatch(self, request: httpx.Request, route: Route[Endpoint], now: datetime) -> dict[str, Any]:
        version = route.path_params.get("version", "v4")
        if route.endpoint is Endpoint.PRODUCT_INQUIRIES:
            return self._list_products(request.url.params, version)
        if route.endpoint is Endpoint.CALL_CENTER_INQUIRIES:
            return self._list_calls(request.url.params, version)
        raw_id = route.path_params["id"]  # both reply routes capture it
        reply = self._reply_product if route.endpoint is Endpoint.PRODUCT_REPLY else self._reply_call

        def accept() -> Accepted[None]:
            try:
                content = reply(qp.json_body(request), int(raw_id), now)
            except ParamProblem as problem:
                raise qp.refusal(problem) from problem
            return Accepted(raw_id, content, None)

        self._answering(route.endpoint, now, accept, item_id=raw_id)
        return {"code": self._code(CodeStyle.STRING), "message": "OK"}

    def _list_products(self, params: httpx.QueryParams, version: str) -> dict[str, Any]:
        self._check_query_vendor(params)
        answered_type = qp.required(params, "answeredType")
        if answered_type not in _ANSWERED_FILTERS:
            raise qp.bad_request(f"answeredType must be one of {', '.join(_ANSWERED_FILTERS)}: {answered_type}")
        start, end = qp.date_window(params, max_days=MAX_WINDOW_DAYS)
        vendor_item_id = qp.optional_id(params, "vendorItemId")
        page = qp.page(params, max_size=PRODUCT_PAGE_MAX)
        answered = _ANSWERED_FILTERS[answered_type]
        style = self._style(version)
        rows, total = self.product_rows(
            start=start, end=end, answered=answered, vendor_item_id=vendor_item_id, style=style, page=page.rows()
        )
        return self._page(rows, total, page, CodeStyle.STRING)

    def _list_calls(self, params: httpx.QueryParams, version: str) -> dict[str, Any]:
        self._check_query_vendor(params)
        raw_status = qp.required(params, "partnerCounselingStatus")
        if raw_status not in _COUNSELING_FILTERS:
            raise qp.bad_request(
                f"partnerCounselingStatus must be one of {', '.join(_COUNSELING_FILTERS)}: {raw_status}"
            )
        wanted = _COUNSELING_FILTERS[raw_status]
        start, end = qp.date_window(params, max_days=MAX_WINDOW_DAYS)
        vendor_item_id = qp.optional_id(params, "vendorItemId")
        order_id = qp.optional_id(params, "orderId")
        page = qp.page(params, max_size=CALL_CENTER_PAGE_MAX)
        style = self._style(version)
        rows, total = self.call_center_rows(
            start=start,
            end=end,
            status=wanted,
            vendor_item_id=vendor_item_id,
            order_id=order_id,
            style=style,
            page=page.rows(),
        )
        return self._page(rows, total, page, CodeStyle.NUMBER)

    def _page(self, rows: list[dict[str, Any]], total: int, page: Page, sample_code: CodeStyle) -> dict[str, Any]:
        pagination = {
            "currentPage": page.number,
            "totalPages": math.ceil(total / page.size),
            "totalElements": total,
            "countPerPage": page.size,
        }
        data = {"content": rows, "pagination": pagination}
        return {"code": self._code(sample_code), "message": "OK", "data": data}

    def _reply_product(self, body: dict[str, Any], inquiry_id: int, now: datetime) -> str:
        content, _ = self._reply_fields(body)
        inquiry = _known(inquiry_id, self.product_inquiry(inquiry_id))
        if not content.strip():
            raise qp.bad_request("내용을 입력하세요.")
        if inquiry.comments:
            same = any(comment.content == content for comment in inquiry.comments)
            raise qp.bad_request("동일한 답변이 존재합니다." if same else PRODUCT_ANSWERED)
        self.answer_product_inquiry(inquiry_id, content, now)
        return content

    def _reply_call(self, body: dict[str, Any], inquiry_id: int, now: datetime) -> str:
        content, reply_by = self._reply_fields(body)
        parent_answer_id = qp.body_id(body, "parentAnswerId", required_field=True)
        if qp.body_id(body, "inquiryId", required_field=False) not in (None, inquiry_id):
            raise qp.bad_request("inquiryId in the body does not match the path")
        inquiry = _known(inquiry_id, self.call_center_inquiry(inquiry_id))
        waiting = inquiry.request_reply
        if inquiry.inquiry_status != "progress" or waiting is None:
            raise qp.bad_request(CANNOT_ANSWER)
        if parent_answer_id != waiting.answer_id:
            raise qp.bad_request(f"parentAnswerId {parent_answer_id} is not the answerId awaiting an answer")
        self.answer_call_center_inquiry(inquiry_id, content, now, reply_by=reply_by)
        return content

    def _check_query_vendor(self, params: httpx.QueryParams) -> None:
        if qp.required(params, "vendorId") != self.vendor_id:
            raise qp.bad_request("vendorId in the query does not match the path")

    def _reply_fields(self, body: dict[str, Any]) -> tuple[str, str]:
        """The content and replyBy of an answer, once vendorId and replyBy are this vendor's."""
        content = qp.body_str(body, "content")
        if qp.body_str(body, "vendorId") != self.vendor_id:
            raise qp.bad_request("vendorId in the body does not match the path")
        reply_by = qp.body_str(body, "replyBy")
        if reply_by != self.wing_login_id:
            raise qp.bad_request(f"The value of replyBy [{reply_by}] is incorrect.")
        return content, reply_by

    def _style(self, version: str) -> DateTimeFormat:
        if self.datetime_format is not None:
            return self.datetime_format
        return DateTimeFormat.NAIVE_KST if version == "v4" else DateTimeFormat.OFFSET

    def _code(self, sample: CodeStyle) -> str | int:
        style = self.code_style or sample
        return "200" if style is CodeStyle.STRING else 200

    def _gateway_error(self, status: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
        body = {"code": "ERROR", "message": message, "transactionId": self._transaction_id()}
        return json_response(status, body, headers)

    def _gateway_fault(self, fault: FaultEntry, request: httpx.Request, now: datetime) -> httpx.Response:
        if fault.fault is Fault.RATE_LIMIT:
            return self._gateway_error(429, "Too Many Requests", {"Retry-After": str(fault.retry_after_s)})
        if fault.fault is Fault.HTML_FORBIDDEN:
            return access_denied(request, f"18.{self._transaction_id()[-8:]}", {"Server": "AkamaiGHost"})
        return qp.business_error(fault.status, HTTPStatus(fault.status).phrase)

    def _transaction_id(self) -> str:
        return str(uuid.UUID(int=next(self._transactions)))

    def seed_random(self, count: int, *, start: datetime, end: datetime, rng: random.Random) -> list[int]:
        """Seed `count` believable inquiries received in [start, end); returns their ids."""
        return InquiryGenerator(self, rng=rng).seed(count, start=start, end=end)


def _known(inquiry_id: int, inquiry: InquiryT | None) -> InquiryT:
    if inquiry is None:
        raise qp.bad_request(f"inquiryId {inquiry_id} does not exist")
    return inquiry
