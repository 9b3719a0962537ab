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
"""

from __future__ import annotations

import itertools
import math
import random
import re
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from http import HTTPStatus
from typing import Any

import httpx

from connectors.sandbox.coupang import params as qp
from connectors.sandbox.coupang.auth import AuthRejected, verify_request
from connectors.sandbox.coupang.generator import InquiryGenerator
from connectors.sandbox.coupang.rows import CallCenterStatus, CodeStyle, DateTimeFormat, Malformation, malformed
from connectors.sandbox.coupang.store import CANNOT_ANSWER, CoupangInquiryStore
from connectors.sandbox.faults import (
    GATEWAY_FAULTS,
    Fault,
    FaultEntry,
    FaultQueue,
    akamai_access_denied_html,
    truncated,
)
from connectors.sandbox.handling import SandboxHandler

PRODUCT_PAGE_MAX = 50
CALL_CENTER_PAGE_MAX = 30  # 2019 official spec; the current doc was not seen to change it
MAX_WINDOW_DAYS = 7
CALL_CENTER_REPLY_MIN_CHARS, CALL_CENTER_REPLY_MAX_CHARS = 2, 1000  # third-party guide, UNCONFIRMED
_ANSWERED_FILTERS: dict[str, bool | None] = {"ALL": None, "ANSWERED": True, "NOANSWER": False}
# The values marketplaces.md and the later spec revision give; one revision of the 2019 spec copy listed
# "none, requestAnswer, answered" instead. Only these are accepted, so a connector sending the other set fails.
_COUNSELING_FILTERS: dict[str, CallCenterStatus | None] = {
    "NONE": None,
    "ANSWER": CallCenterStatus.ANSWERED,
    "NO_ANSWER": CallCenterStatus.REQUEST_ANSWER,
    "TRANSFER": CallCenterStatus.TRANSFER,
}
_BASE = "/v2/providers/openapi/apis/api"
_LIST_RE = re.compile(
    rf"{_BASE}/(?P<version>v4|v5)/vendors/(?P<vendor>[^/]+)/(?P<kind>onlineInquiries|callCenterInquiries)"
)
_REPLY_RE = re.compile(
    rf"{_BASE}/v4/vendors/(?P<vendor>[^/]+)/(?P<kind>onlineInquiries|callCenterInquiries)/(?P<id>[0-9]{{1,18}})/replies"
)


class Endpoint(StrEnum):
    """The Coupang API operations the sandbox serves; faults can target one."""

    PRODUCT_INQUIRIES = "product_inquiries"
    CALL_CENTER_INQUIRIES = "call_center_inquiries"
    PRODUCT_REPLY = "product_reply"
    CALL_CENTER_REPLY = "call_center_reply"


LIST_ENDPOINTS = frozenset({Endpoint.PRODUCT_INQUIRIES, Endpoint.CALL_CENTER_INQUIRIES})


@dataclass(frozen=True, slots=True)
class _Route:
    endpoint: Endpoint
    version: str
    vendor_id: str
    inquiry_id: int | None


def _route(request: httpx.Request) -> _Route | None:
    path = request.url.path
    listing = _LIST_RE.fullmatch(path)
    if listing is not None and request.method == "GET":
        kind = Endpoint.PRODUCT_INQUIRIES if listing["kind"] == "onlineInquiries" else Endpoint.CALL_CENTER_INQUIRIES
        return _Route(kind, listing["version"], listing["vendor"], None)
    reply = _REPLY_RE.fullmatch(path)
    if reply is not None and request.method == "POST":
        kind = Endpoint.PRODUCT_REPLY if reply["kind"] == "onlineInquiries" else Endpoint.CALL_CENTER_REPLY
        return _Route(kind, "v4", reply["vendor"], int(reply["id"]))
    return None


class CoupangSandbox(CoupangInquiryStore, SandboxHandler[Endpoint]):
    """Fake Coupang seller API for 상품문의 and 고객센터 문의: list, answer, faults, rate limit. Thread-safe.

    The seeding API (add_*/answer_*/is_answered) comes from CoupangInquiryStore.
    """

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
        reply_by_ids: Iterable[str] = ("sandbox-wing",),
        vendor_name: str = "샌드박스몰",
    ) -> None:
        super().__init__(vendor_name=vendor_name)
        self.vendor_id = vendor_id
        self.access_key = access_key
        self._secret_key = secret_key
        self._now = now
        self.max_skew_s = max_skew_s
        self.rate_limit_per_s = rate_limit_per_s
        self.datetime_format = datetime_format  # None: v4 naive KST, v5 with offset
        self.code_style = code_style  # None: as each endpoint's official sample shows it
        self.reply_by_ids = frozenset(reply_by_ids)
        self.requests = []
        self._faults = FaultQueue()
        self._window: deque[datetime] = deque()
        self._malformations = itertools.cycle(Malformation)
        self._transactions = itertools.count(1)

    def _handle(self, request: httpx.Request, now: datetime) -> httpx.Response:
        return self._respond(request, _route(request), now)

    def _respond(self, request: httpx.Request, route: _Route | None, now: datetime) -> httpx.Response:
        self._window.append(now)
        while self._window and self._window[0] <= now - timedelta(seconds=1):
            self._window.popleft()
        endpoint = None if route is None else route.endpoint
        fault = self._faults.peek(endpoint, is_list=endpoint in LIST_ENDPOINTS)
        if fault is not None and fault.fault in GATEWAY_FAULTS:
            self._faults.consume(fault)
            return self._gateway_fault(fault, request)
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
        if route.vendor_id != self.vendor_id:
            return self._gateway_error(403, f"vendorId {route.vendor_id} does not belong to this access key")
        try:
            payload = self._dispatch(request, route, now)
        except qp.ApiError as err:
            return err.response
        if fault is not None and fault.fault is Fault.MALFORMED_ITEM and payload["data"]["content"]:
            self._faults.consume(fault)
            rows = payload["data"]["content"]
            rows[len(rows) // 2] = malformed(rows[len(rows) // 2], next(self._malformations))
        response = qp.json_response(200, payload)
        if fault is not None and fault.fault is Fault.MALFORMED_BODY:
            self._faults.consume(fault)
            return httpx.Response(
                200, content=truncated(response.content), headers={"Content-Type": qp.JSON_CONTENT_TYPE}
            )
        return response

    def _dispatch(self, request: httpx.Request, route: _Route, now: datetime) -> dict[str, Any]:
        if route.endpoint is Endpoint.PRODUCT_INQUIRIES:
            return self._list_products(request.url.params, route)
        if route.endpoint is Endpoint.CALL_CENTER_INQUIRIES:
            return self._list_calls(request.url.params, route)
        assert route.inquiry_id is not None  # both reply routes capture it
        if route.endpoint is Endpoint.PRODUCT_REPLY:
            self._reply_product(qp.json_body(request), route.inquiry_id, now)
        else:
            self._reply_call(qp.json_body(request), route.inquiry_id, now)
        return {"code": self._code(CodeStyle.STRING), "message": "OK"}

    def _list_products(self, params: httpx.QueryParams, route: _Route) -> dict[str, Any]:
        self._check_query_vendor(params)
        answered_type = qp.required(params, "answeredType")
        if answered_type not in _ANSWERED_FILTERS:
            raise qp.bad_request(f"answeredType must be one of {', '.join(_ANSWERED_FILTERS)}: {answered_type}")
        start, end = qp.date_window(params, max_days=MAX_WINDOW_DAYS)
        vendor_item_id = qp.optional_id(params, "vendorItemId")
        page_num = qp.int_param(params, "pageNum", default=1)
        page_size = qp.int_param(params, "pageSize", default=10, maximum=PRODUCT_PAGE_MAX)
        answered = _ANSWERED_FILTERS[answered_type]
        style = self._style(route)
        first = (page_num - 1) * page_size
        rows, total = self.product_rows(
            start=start,
            end=end,
            answered=answered,
            vendor_item_id=vendor_item_id,
            style=style,
            page=slice(first, first + page_size),
        )
        return self._page(rows, total, page_num, page_size, CodeStyle.STRING)

    def _list_calls(self, params: httpx.QueryParams, route: _Route) -> dict[str, Any]:
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
        page_num = qp.int_param(params, "pageNum", default=1)
        page_size = qp.int_param(params, "pageSize", default=10, maximum=CALL_CENTER_PAGE_MAX)
        style = self._style(route)
        first = (page_num - 1) * page_size
        rows, total = self.call_center_rows(
            start=start,
            end=end,
            status=wanted,
            vendor_item_id=vendor_item_id,
            order_id=order_id,
            style=style,
            page=slice(first, first + page_size),
        )
        return self._page(rows, total, page_num, page_size, CodeStyle.NUMBER)

    def _page(
        self, rows: list[dict[str, Any]], total: int, page_num: int, page_size: int, sample_code: CodeStyle
    ) -> dict[str, Any]:
        pagination = {
            "currentPage": page_num,
            "totalPages": math.ceil(total / page_size),
            "totalElements": total,
            "countPerPage": page_size,
        }
        data = {"content": rows, "pagination": pagination}
        return {"code": self._code(sample_code), "message": "OK", "data": data}

    def _reply_product(self, body: dict[str, Any], inquiry_id: int, now: datetime) -> None:
        content = qp.body_str(body, "content")
        self._check_body_vendor(body)
        self._check_reply_by(qp.body_str(body, "replyBy"))
        inquiry = self.product_inquiry(inquiry_id)
        if inquiry is None:
            raise qp.bad_request(f"inquiryId {inquiry_id} does not exist")
        if not content.strip():
            raise qp.bad_request("내용을 입력하세요.")
        if any(comment.content == content for comment in inquiry.comments):
            raise qp.bad_request("동일한 답변이 존재합니다.")
        self.answer_product_inquiry(inquiry_id, content, now)

    def _reply_call(self, body: dict[str, Any], inquiry_id: int, now: datetime) -> None:
        content = qp.body_str(body, "content")
        self._check_body_vendor(body)
        reply_by = qp.body_str(body, "replyBy")
        self._check_reply_by(reply_by)
        parent_answer_id = qp.body_id(body, "parentAnswerId", required_field=True)
        if qp.body_id(body, "inquiryId", required_field=False) not in (None, inquiry_id):
            raise qp.bad_request("inquiryId in the body does not match the path")
        if not CALL_CENTER_REPLY_MIN_CHARS <= len(content) <= CALL_CENTER_REPLY_MAX_CHARS:
            raise qp.bad_request(
                f"content must be {CALL_CENTER_REPLY_MIN_CHARS} to {CALL_CENTER_REPLY_MAX_CHARS} characters"
            )
        inquiry = self.call_center_inquiry(inquiry_id)
        if inquiry is None:
            raise qp.bad_request(f"inquiryId {inquiry_id} does not exist")
        waiting = inquiry.request_reply
        if inquiry.inquiry_status != "progress" or waiting is None:
            raise qp.bad_request(CANNOT_ANSWER)
        if parent_answer_id != waiting.answer_id:
            raise qp.bad_request(f"parentAnswerId {parent_answer_id} is not the answerId awaiting an answer")
        self.answer_call_center_inquiry(inquiry_id, content, now, reply_by=reply_by)

    def _check_query_vendor(self, params: httpx.QueryParams) -> None:
        if qp.required(params, "vendorId") != self.vendor_id:
            raise qp.bad_request("vendorId in the query does not match the path")

    def _check_body_vendor(self, body: dict[str, Any]) -> None:
        if qp.body_str(body, "vendorId") != self.vendor_id:
            raise qp.bad_request("vendorId in the body does not match the path")

    def _check_reply_by(self, reply_by: str) -> None:
        if reply_by not in self.reply_by_ids:
            raise qp.bad_request(f"The value of replyBy [{reply_by}] is incorrect.")

    def _style(self, route: _Route) -> DateTimeFormat:
        if self.datetime_format is not None:
            return self.datetime_format
        return DateTimeFormat.NAIVE_KST if route.version == "v4" else DateTimeFormat.OFFSET

    def _code(self, sample: CodeStyle) -> str | int:
        style = self.code_style or sample
        return "200" if style is CodeStyle.STRING else 200

    def _gateway_error(self, status: int, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
        body = {"code": "ERROR", "message": message, "transactionId": self._transaction_id()}
        return qp.json_response(status, body, headers)

    def _gateway_fault(self, fault: FaultEntry, request: httpx.Request) -> httpx.Response:
        if fault.fault is Fault.TIMEOUT:
            raise httpx.ReadTimeout("sandbox: injected timeout", request=request)
        if fault.fault is Fault.RATE_LIMIT:
            return self._gateway_error(429, "Too Many Requests", {"Retry-After": str(fault.retry_after_s)})
        if fault.fault is Fault.HTML_FORBIDDEN:
            page = akamai_access_denied_html(str(request.url), f"18.{self._transaction_id()[-8:]}")
            return httpx.Response(403, content=page, headers={"Content-Type": "text/html", "Server": "AkamaiGHost"})
        return qp.business_error(fault.status, HTTPStatus(fault.status).phrase)

    def _transaction_id(self) -> str:
        return str(uuid.UUID(int=next(self._transactions)))

    def seed_random(self, count: int, *, start: datetime, end: datetime, rng: random.Random) -> list[int]:
        """Seed `count` believable inquiries received in [start, end); returns their ids."""
        return InquiryGenerator(self, rng=rng).seed(count, start=start, end=end)
