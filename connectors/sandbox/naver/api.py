"""A strict fake of the Naver Commerce API for inquiries, built from the documentation (marketplaces.md §2).

`NaverSandbox.handler` turns an `httpx.Request` into an `httpx.Response`: use it through
`httpx.MockTransport(sandbox.handler)` or serve it with `SandboxServer`. Paths match with or without the
`/external` prefix, so a client's base_url may be the server URL or the server URL + "/external".
It verifies, it does not trust: the bcrypt sign (recomputed here), the form body, the Bearer token and its
expiry, every documented parameter limit, the per-API token bucket.

Choices where the docs are silent (source in brackets; "assumed" = no source showed it):
- Token requests that are not "standard" (any query-string parameter, a non-form Content-Type, no grant_type,
  account_id without type=SELLER) get 429 GW.QUOTA_LIMIT with GNCP-GW-Quota-Period: HOURS, -Limit: 1,
  -Remaining: 0 and no token [the 2026 enforcement notices]; from then on the whole application may make one
  call per KST clock hour (the rest get the same 429) until 09:00 KST the morning after a full KST day without
  a non-standard token request ["recovers the morning after a full clean day"; the hour is assumed].
- Standard but invalid token requests: 400 {code: BAD_REQUEST, invalidInputs} for a wrong sign, unknown
  client_id, a timestamp older than 300 s or more than 60 s ahead, a bad grant_type/type; 403 for type=SELLER
  [status codes from the token doc, everything else assumed]. Tokens live 10,800 s; the same token is returned
  while >= 30 min remain [official].
- Token bucket per API, `replenish_rate_per_s` (default 2) with burst 2x; every response that passed the
  bucket carries GNCP-GW-RateLimit-Replenish-Rate/-Burst-Capacity/-Remaining; an empty bucket gives 429
  GW.RATE_LIMIT without Retry-After [official; Retry-After is not documented, the RATE_LIMIT fault adds one].
- 상품 문의 window: at most `qna_max_window_days` (default 7) between fromDate and toDate [UNCONFIRMED upstream:
  the sandbox holds connectors to the 7-day walk they promise]. Rows newest first in both lists [assumed].
- 고객 문의 page `number` is Spring's 0-based index (page=1 -> number 0) [assumed]; 4003 when end - start > 365 days.
- The forbidden fault (Fault.HTML_FORBIDDEN) is Naver's JSON 403 GW.IP_NOT_ALLOWED: Naver has no CDN HTML page.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx

from connectors.sandbox.coupang.rows import Malformation
from connectors.sandbox.faults import GATEWAY_FAULTS, Fault, FaultEntry, FaultQueue, truncated
from connectors.sandbox.handling import SandboxHandler
from connectors.sandbox.naver import params as qp
from connectors.sandbox.naver.auth import NaverTokenIssuer, NonStandardTokenRequest, TokenRefused, standard_form
from connectors.sandbox.naver.generator import NaverInquiryGenerator
from connectors.sandbox.naver.limits import GatewayLimits
from connectors.sandbox.naver.store import (
    ALREADY_ANSWERED,
    NaverDateTimeStyle,
    NaverInquiryStore,
    malformed,
    spring_page,
)

QNA_PAGE_MAX = 100
INQUIRY_PAGE_MIN, INQUIRY_PAGE_MAX = 10, 200
INQUIRY_MAX_SPAN_DAYS = 365
PAGE_NUMBER_MAX = 1_000_000
_ROUTES = (
    ("POST", re.compile(r"/v1/oauth2/token"), "token"),
    ("GET", re.compile(r"/v1/contents/qnas"), "product_qnas"),
    ("PUT", re.compile(r"/v1/contents/qnas/(?P<id>[0-9]{1,18})"), "product_qna_answer"),
    ("GET", re.compile(r"/v1/pay-user/inquiries"), "customer_inquiries"),
    ("POST", re.compile(r"/v1/pay-merchant/inquiries/(?P<id>[0-9]{1,18})/answer"), "customer_inquiry_answer"),
    (
        "PUT",
        re.compile(r"/v1/pay-merchant/inquiries/(?P<id>[0-9]{1,18})/answer/(?P<answer>[0-9]{1,18})"),
        "customer_inquiry_answer_edit",
    ),
)


class NaverEndpoint(StrEnum):
    """The Naver API operations the sandbox serves; faults can target one, and each has its own bucket."""

    TOKEN = "token"
    PRODUCT_QNAS = "product_qnas"
    PRODUCT_QNA_ANSWER = "product_qna_answer"
    CUSTOMER_INQUIRIES = "customer_inquiries"
    CUSTOMER_INQUIRY_ANSWER = "customer_inquiry_answer"
    CUSTOMER_INQUIRY_ANSWER_EDIT = "customer_inquiry_answer_edit"


LIST_ENDPOINTS = frozenset({NaverEndpoint.PRODUCT_QNAS, NaverEndpoint.CUSTOMER_INQUIRIES})


@dataclass(frozen=True, slots=True)
class _Route:
    endpoint: NaverEndpoint
    item_id: int | None
    answer_id: int | None


def _route(request: httpx.Request) -> _Route | None:
    path = request.url.path.removeprefix("/external")
    for method, pattern, name in _ROUTES:
        match = pattern.fullmatch(path)
        if match is not None and request.method == method:
            groups = match.groupdict()
            item_id, answer_id = groups.get("id"), groups.get("answer")
            return _Route(
                NaverEndpoint(name),
                None if item_id is None else int(item_id),
                None if answer_id is None else int(answer_id),
            )
    return None


class NaverSandbox(NaverInquiryStore, SandboxHandler[NaverEndpoint]):
    """Fake Naver Commerce API for 상품 문의 and 고객 문의: token, lists, answers, limits, faults. Thread-safe.

    The seeding API (add_*/answer_*/is_answered) comes from NaverInquiryStore.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        now: Callable[[], datetime],
        replenish_rate_per_s: int = 2,
        token_lifetime_s: int = 10_800,
        qna_max_window_days: int | None = 7,
        datetime_style: NaverDateTimeStyle = NaverDateTimeStyle.OFFSET_MILLIS,
    ) -> None:
        super().__init__()
        self.limits = GatewayLimits(replenish_rate_per_s=replenish_rate_per_s)
        self.client_id = client_id
        self._issuer = NaverTokenIssuer(client_id=client_id, client_secret=client_secret, lifetime_s=token_lifetime_s)
        self._now = now
        self.qna_max_window_days = qna_max_window_days
        self.datetime_style = datetime_style
        self.ip_allowed = True  # False: every call gets 403 GW.IP_NOT_ALLOWED, as after an IP change
        self.requests = []
        self._faults = FaultQueue()
        self._malformations = itertools.cycle(Malformation)
        self._traces = itertools.count(1)

    @property
    def tokens_minted(self) -> int:
        """How many distinct access tokens the sandbox has issued."""
        with self._lock:
            return self._issuer.minted

    def _handle(self, request: httpx.Request, now: datetime) -> httpx.Response:
        return self._respond(request, _route(request), now)

    def revoke_tokens(self) -> None:
        """Invalidate every issued token early: the next call with one gets 401 GW.AUTHN."""
        with self._lock:
            self._issuer.revoke_all()

    def seed_random(self, count: int, *, start: datetime, end: datetime, rng: random.Random) -> list[int]:
        """Seed `count` believable questions and inquiries received in [start, end); returns their ids."""
        return NaverInquiryGenerator(self, rng=rng).seed(count, start=start, end=end)

    def _respond(self, request: httpx.Request, route: _Route | None, now: datetime) -> httpx.Response:
        endpoint = None if route is None else route.endpoint
        fault = self._faults.peek(endpoint, is_list=endpoint in LIST_ENDPOINTS)
        if fault is not None and fault.fault in GATEWAY_FAULTS:
            self._faults.consume(fault)
            return self._gateway_fault(fault, request, now)
        if not self.ip_allowed:
            return self._gateway_error(403, "GW.IP_NOT_ALLOWED", now)
        if route is None:
            return self._gateway_error(404, "GW.NOT_FOUND", now)
        form: dict[str, str] = {}
        if route.endpoint is NaverEndpoint.TOKEN:
            try:
                form = standard_form(request)
            except NonStandardTokenRequest:
                # Refused outright, and every one of them restarts the application's penalty.
                self.limits.penalize(now)
                return self._gateway_error(429, "GW.QUOTA_LIMIT", now, self.limits.quota_headers(now))
        if not self.limits.admit(now):
            return self._gateway_error(429, "GW.QUOTA_LIMIT", now, self.limits.quota_headers(now))
        if route.endpoint is not NaverEndpoint.TOKEN and not self._issuer.is_valid(
            request.headers.get("Authorization"), now
        ):
            return self._gateway_error(401, "GW.AUTHN", now)
        remaining = self.limits.take(route.endpoint, now)
        limits = self.limits.rate_headers(remaining or 0)
        if remaining is None:
            return self._gateway_error(429, "GW.RATE_LIMIT", now, limits)
        if route.endpoint is NaverEndpoint.TOKEN:
            response = self._token(form, now)
        else:
            response = self._api(request, route, now, fault)
        response.headers.update({**limits, **self.limits.quota_headers(now)})
        return response

    def _token(self, form: dict[str, str], now: datetime) -> httpx.Response:
        try:
            token = self._issuer.issue(form, now)
        except TokenRefused as err:
            return qp.token_error(err.status, err.message, now=now, invalid=err.fields)
        expires_in = math.floor((token.expires_at - now).total_seconds())
        return qp.json_response(200, {"access_token": token.value, "expires_in": expires_in, "token_type": "Bearer"})

    def _api(self, request: httpx.Request, route: _Route, now: datetime, fault: FaultEntry | None) -> httpx.Response:
        trace_id = self._trace_id(now)
        try:
            if route.endpoint is NaverEndpoint.PRODUCT_QNAS:
                payload = self._list_questions(request.url.params, now, trace_id)
            elif route.endpoint is NaverEndpoint.CUSTOMER_INQUIRIES:
                payload = self._list_inquiries(request.url.params, now, trace_id)
            else:
                return self._answer(request, route, now, trace_id)
        except qp.ApiError as err:
            return err.response
        rows = payload["contents" if route.endpoint is NaverEndpoint.PRODUCT_QNAS else "content"]
        if fault is not None and fault.fault is Fault.MALFORMED_ITEM and rows:
            self._faults.consume(fault)
            rows[len(rows) // 2] = malformed(rows[len(rows) // 2], next(self._malformations))
        response = qp.json_response(200, payload, {qp.TRACE_HEADER: trace_id})
        if fault is not None and fault.fault is Fault.MALFORMED_BODY:
            self._faults.consume(fault)
            headers = {"Content-Type": qp.JSON_CONTENT_TYPE, qp.TRACE_HEADER: trace_id}
            return httpx.Response(200, content=truncated(response.content), headers=headers)
        return response

    def _list_questions(self, params: httpx.QueryParams, now: datetime, trace_id: str) -> dict[str, Any]:
        try:
            start, end = qp.offset_datetime(params, "fromDate"), qp.offset_datetime(params, "toDate")
            answered = qp.boolean(params, "answered")
            page, size = qp.integer(params, "page", default=1), qp.integer(params, "size", default=QNA_PAGE_MAX)
            if page < 1:
                raise qp.ParamProblem("page", "must be greater than or equal to 1")
            if not 1 <= size <= QNA_PAGE_MAX:
                raise qp.ParamProblem("size", f"must be between 1 and {QNA_PAGE_MAX}")
            if end < start:
                raise qp.ParamProblem("toDate", "must not be before fromDate")
            if self.qna_max_window_days is not None and end - start > timedelta(days=self.qna_max_window_days):
                raise qp.ParamProblem("toDate", f"must be within {self.qna_max_window_days} days of fromDate")
        except qp.ParamProblem as problem:
            raise qp.contents_error(
                400, "BAD_REQUEST", "잘못된 요청입니다.", now=now, trace_id=trace_id, invalid=problem
            ) from problem
        first = (page - 1) * size
        rows, total = self.question_rows(
            start=start, end=end, answered=answered, style=self.datetime_style, page=slice(first, first + size)
        )
        total_pages = math.ceil(total / size)
        return {
            "contents": rows,
            "page": page,
            "size": size,
            "totalElements": total,
            "totalPages": total_pages,
            "sort": {"sorted": True, "fields": [{"name": "createDate", "direction": "desc"}]},
            "first": page == 1,
            "last": page >= total_pages,
        }

    def _list_inquiries(self, params: httpx.QueryParams, now: datetime, trace_id: str) -> dict[str, Any]:
        try:
            start, end = qp.local_date(params, "startSearchDate"), qp.local_date(params, "endSearchDate")
            answered = qp.boolean(params, "answered")
            page, size = qp.integer(params, "page", default=1), qp.integer(params, "size", default=INQUIRY_PAGE_MIN)
        except qp.ParamProblem as problem:
            raise qp.pay_user_error("4001", now=now, trace_id=trace_id, invalid=problem) from problem
        checks = (
            (start > end, "4002"),
            ((end - start).days > INQUIRY_MAX_SPAN_DAYS, "4003"),
            (page < 1, "4004"),
            (page > PAGE_NUMBER_MAX, "4005"),
            (size < INQUIRY_PAGE_MIN, "4006"),
            (size > INQUIRY_PAGE_MAX, "4007"),
        )
        failed = next((code for broken, code in checks if broken), None)
        if failed is not None:
            raise qp.pay_user_error(failed, now=now, trace_id=trace_id)
        first = (page - 1) * size
        rows, total = self.inquiry_rows(
            start=start, end=end, answered=answered, style=self.datetime_style, page=slice(first, first + size)
        )
        return spring_page(rows, total, page, size)

    def _answer(self, request: httpx.Request, route: _Route, now: datetime, trace_id: str) -> httpx.Response:
        assert route.item_id is not None  # every answer route captures it
        body = qp.json_body(request) or {}
        if route.endpoint is NaverEndpoint.PRODUCT_QNA_ANSWER:
            content = body.get("commentContent")
            if not isinstance(content, str) or not content.strip():
                problem = qp.ParamProblem("commentContent", "must not be blank")
                raise qp.contents_error(
                    400, "BAD_REQUEST", "잘못된 요청입니다.", now=now, trace_id=trace_id, invalid=problem
                )
            if self.product_question(route.item_id) is None:
                raise qp.contents_error(404, "NOT_FOUND", "상품 문의를 찾을 수 없습니다.", now=now, trace_id=trace_id)
            self.answer_product_question(route.item_id, content, now)
            return httpx.Response(204, headers={qp.TRACE_HEADER: trace_id})
        comment, template = body.get("answerComment"), body.get("answerTemplateId")
        # The documented field is answerComment; `answerContent` (seen in public code) is malformed here too.
        if not isinstance(comment, str) or not comment.strip() or not _optional_number(template):
            raise qp.pay_merchant_error("ERR-NC-101001", now=now, trace_id=trace_id)
        if self.customer_inquiry(route.item_id) is None:
            raise qp.pay_merchant_error("ERR-NC-101004", now=now, trace_id=trace_id)
        if route.endpoint is NaverEndpoint.CUSTOMER_INQUIRY_ANSWER_EDIT:
            assert route.answer_id is not None  # the edit route captures it
            try:
                self.edit_customer_answer(route.item_id, route.answer_id, comment, now)
            except KeyError as err:
                raise qp.pay_merchant_error("ERR-NC-101005", now=now, trace_id=trace_id) from err
            comment_no = route.answer_id
        else:
            try:
                comment_no = self.answer_customer_inquiry(
                    route.item_id, comment, now, template_no=None if template is None else int(template)
                )
            except ValueError as err:
                if str(err) != ALREADY_ANSWERED:
                    raise
                raise qp.pay_merchant_error("ERR-NC-101010", now=now, trace_id=trace_id) from err
        data = {"inquiryNo": route.item_id, "inquiryCommentNo": comment_no}
        payload = {
            "code": "SUCCESS",
            "message": "요청이 성공적으로 처리되었습니다.",
            "data": data,
            "timestamp": qp.kst_timestamp(now),
            "traceId": trace_id,
        }
        return qp.json_response(200, payload, {qp.TRACE_HEADER: trace_id})

    def _gateway_fault(self, fault: FaultEntry, request: httpx.Request, now: datetime) -> httpx.Response:
        if fault.fault is Fault.TIMEOUT:
            raise httpx.ReadTimeout("sandbox: injected timeout", request=request)
        if fault.fault is Fault.RATE_LIMIT:
            headers = {**self.limits.rate_headers(0), "Retry-After": str(fault.retry_after_s)}
            return self._gateway_error(429, "GW.RATE_LIMIT", now, headers)
        if fault.fault is Fault.HTML_FORBIDDEN:
            return self._gateway_error(403, "GW.IP_NOT_ALLOWED", now)
        return self._gateway_error(fault.status, qp.SERVER_ERROR_CODES[fault.status], now)

    def _gateway_error(
        self, status: int, code: str, now: datetime, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return qp.gateway_error(status, code, now=now, trace_id=self._trace_id(now), headers=headers)

    def _trace_id(self, now: datetime) -> str:
        serial = next(self._traces)
        return f"sbx-{serial:06d}^{int(now.timestamp() * 1000)}^{serial}"


def _optional_number(value: object) -> bool:
    """Whether an optional id field is absent, a number, or a string of digits (the doc's sample sends "12345")."""
    if value is None:
        return True
    if isinstance(value, int) and not isinstance(value, bool):
        return True
    return isinstance(value, str) and value.isascii() and value.isdigit()
