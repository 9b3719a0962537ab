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
- Answers (§2.4, §2.6, §8) pass the same gateway, token and bucket as the lists. 상품 문의: `PUT /v1/contents/qnas/{id}`
  {commentContent} creates or replaces the answer -> 204 [official]; blank -> 400 BAD_REQUEST, unknown -> 404
  [assumed]. 고객 문의: `POST .../inquiries/{no}/answer` {answerComment, answerTemplateId?} answers once -> 200 with
  data{inquiryNo, inquiryCommentNo}; a second POST -> 400 ERR-NC-101010; `PUT .../answer/{answerContentId}` edits
  the latest answer (another id -> ERR-NC-101005 [assumed]); no field -> ERR-NC-101001, unknown -> ERR-NC-101004
  [codes official]. No length limit is documented, so none is enforced.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

import httpx

from connectors.sandbox.faults import Fault, FaultEntry
from connectors.sandbox.handling import Accepted, Refused, Route, Router, SandboxHandler, json_response
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
from connectors.sandbox.query import ParamProblem

QNA_PAGE_MAX = 100
INQUIRY_PAGE_MIN, INQUIRY_PAGE_MAX = 10, 200
INQUIRY_MAX_SPAN_DAYS = 365
PAGE_NUMBER_MAX = 1_000_000


class NaverEndpoint(StrEnum):
    """The Naver API operations the sandbox serves; faults can target one, and each has its own bucket."""

    TOKEN = "token"
    PRODUCT_QNAS = "product_qnas"
    PRODUCT_QNA_ANSWER = "product_qna_answer"
    CUSTOMER_INQUIRIES = "customer_inquiries"
    CUSTOMER_INQUIRY_ANSWER = "customer_inquiry_answer"
    CUSTOMER_INQUIRY_ANSWER_EDIT = "customer_inquiry_answer_edit"


_ROUTER = Router(
    [
        ("POST", r"/v1/oauth2/token", NaverEndpoint.TOKEN),
        ("GET", r"/v1/contents/qnas", NaverEndpoint.PRODUCT_QNAS),
        ("PUT", r"/v1/contents/qnas/(?P<id>[0-9]{1,18})", NaverEndpoint.PRODUCT_QNA_ANSWER),
        ("GET", r"/v1/pay-user/inquiries", NaverEndpoint.CUSTOMER_INQUIRIES),
        ("POST", r"/v1/pay-merchant/inquiries/(?P<id>[0-9]{1,18})/answer", NaverEndpoint.CUSTOMER_INQUIRY_ANSWER),
        (
            "PUT",
            r"/v1/pay-merchant/inquiries/(?P<id>[0-9]{1,18})/answer/(?P<answer>[0-9]{1,18})",
            NaverEndpoint.CUSTOMER_INQUIRY_ANSWER_EDIT,
        ),
    ]
)


class NaverSandbox(NaverInquiryStore, SandboxHandler[NaverEndpoint]):
    """Fake Naver Commerce API for 상품 문의 and 고객 문의: token, lists, answers, limits, faults. Thread-safe.

    The seeding API (add_*/answer_*/is_answered) comes from NaverInquiryStore.
    """

    list_endpoints = frozenset({NaverEndpoint.PRODUCT_QNAS, NaverEndpoint.CUSTOMER_INQUIRIES})
    answer_endpoints = frozenset(
        {
            NaverEndpoint.PRODUCT_QNA_ANSWER,
            NaverEndpoint.CUSTOMER_INQUIRY_ANSWER,
            NaverEndpoint.CUSTOMER_INQUIRY_ANSWER_EDIT,
        }
    )

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
        self.qna_max_window_days = qna_max_window_days
        self.datetime_style = datetime_style
        self.ip_allowed = True  # False: every call gets 403 GW.IP_NOT_ALLOWED, as after an IP change
        self._traces = itertools.count(1)
        self._start_handling(now)

    @property
    def tokens_minted(self) -> int:
        """How many distinct access tokens the sandbox has issued."""
        with self._lock:
            return self._issuer.minted

    def revoke_tokens(self) -> None:
        """Invalidate every issued token early: the next call with one gets 401 GW.AUTHN."""
        with self._lock:
            self._issuer.revoke_all()

    def seed_random(self, count: int, *, start: datetime, end: datetime, rng: random.Random) -> list[int]:
        """Seed `count` believable questions and inquiries received in [start, end); returns their ids."""
        return NaverInquiryGenerator(self, rng=rng).seed(count, start=start, end=end)

    def _handle(self, request: httpx.Request, now: datetime) -> httpx.Response:
        # Paths match with or without the /external prefix.
        route = _ROUTER.match(request.method, request.url.path.removeprefix("/external"))
        fault = self._fault_for(None if route is None else route.endpoint, request, now)
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
        # An API's own refusal has passed the gateway, so it carries the limit headers like any answer.
        try:
            if route.endpoint is NaverEndpoint.TOKEN:
                response = self._token(form, now)
            else:
                response = self._api(request, route, now, fault)
        except Refused as refused:
            response = refused.response
        response.headers.update({**limits, **self.limits.quota_headers(now)})
        return response

    def _token(self, form: dict[str, str], now: datetime) -> httpx.Response:
        try:
            token = self._issuer.issue(form, now)
        except TokenRefused as err:
            return qp.token_error(err.status, err.message, now=now, invalid=err.fields)
        expires_in = math.floor((token.expires_at - now).total_seconds())
        return json_response(200, {"access_token": token.value, "expires_in": expires_in, "token_type": "Bearer"})

    def _api(
        self, request: httpx.Request, route: Route[NaverEndpoint], now: datetime, fault: FaultEntry | None
    ) -> httpx.Response:
        trace_id = self._trace_id(now)
        if route.endpoint is NaverEndpoint.PRODUCT_QNAS:
            payload = self._list_questions(request.url.params, now, trace_id)
            self._break_middle_row(fault, payload["contents"], malformed)
        elif route.endpoint is NaverEndpoint.CUSTOMER_INQUIRIES:
            payload = self._list_inquiries(request.url.params, now, trace_id)
            self._break_middle_row(fault, payload["content"], malformed)
        else:
            return self._answer(request, route, now, trace_id)
        return self._as_sent(fault, json_response(200, payload, {qp.TRACE_HEADER: trace_id}))

    def _list_questions(self, params: httpx.QueryParams, now: datetime, trace_id: str) -> dict[str, Any]:
        try:
            start, end = qp.offset_datetime(params, "fromDate"), qp.offset_datetime(params, "toDate")
            answered = qp.boolean(params, "answered")
            page = qp.page(params, default_size=QNA_PAGE_MAX)
            if page.number < 1:
                raise ParamProblem("page", "must be greater than or equal to 1")
            if not 1 <= page.size <= QNA_PAGE_MAX:
                raise ParamProblem("size", f"must be between 1 and {QNA_PAGE_MAX}")
            if end < start:
                raise ParamProblem("toDate", "must not be before fromDate")
            if self.qna_max_window_days is not None and end - start > timedelta(days=self.qna_max_window_days):
                raise ParamProblem("toDate", f"must be within {self.qna_max_window_days} days of fromDate")
        except ParamProblem as problem:
            raise qp.contents_error(
                400, "BAD_REQUEST", "잘못된 요청입니다.", now=now, trace_id=trace_id, invalid=problem
            ) from problem
        rows, total = self.question_rows(
            start=start, end=end, answered=answered, style=self.datetime_style, page=page.rows()
        )
        total_pages = math.ceil(total / page.size)
        return {
            "contents": rows,
            "page": page.number,
            "size": page.size,
            "totalElements": total,
            "totalPages": total_pages,
            "sort": {"sorted": True, "fields": [{"name": "createDate", "direction": "desc"}]},
            "first": page.number == 1,
            "last": page.number >= total_pages,
        }

    def _list_inquiries(self, params: httpx.QueryParams, now: datetime, trace_id: str) -> dict[str, Any]:
        try:
            start, end = qp.local_date(params, "startSearchDate"), qp.local_date(params, "endSearchDate")
            answered = qp.boolean(params, "answered")
            page = qp.page(params, default_size=INQUIRY_PAGE_MIN)
        except ParamProblem as problem:
            raise qp.pay_user_error("4001", now=now, trace_id=trace_id, invalid=problem) from problem
        checks = (
            (start > end, "4002"),
            ((end - start).days > INQUIRY_MAX_SPAN_DAYS, "4003"),
            (page.number < 1, "4004"),
            (page.number > PAGE_NUMBER_MAX, "4005"),
            (page.size < INQUIRY_PAGE_MIN, "4006"),
            (page.size > INQUIRY_PAGE_MAX, "4007"),
        )
        failed = next((code for broken, code in checks if broken), None)
        if failed is not None:
            raise qp.pay_user_error(failed, now=now, trace_id=trace_id)
        rows, total = self.inquiry_rows(
            start=start, end=end, answered=answered, style=self.datetime_style, page=page.rows()
        )
        return spring_page(rows, total, page)

    def _answer(
        self, request: httpx.Request, route: Route[NaverEndpoint], now: datetime, trace_id: str
    ) -> httpx.Response:
        raw_id = route.path_params["id"]  # every answer route captures it
        body = qp.json_body(request) or {}
        if route.endpoint is NaverEndpoint.PRODUCT_QNA_ANSWER:
            accept = partial(self._answer_question, int(raw_id), body, now, trace_id)
            self._answering(route.endpoint, now, accept, item_id=raw_id)
            return httpx.Response(204, headers={qp.TRACE_HEADER: trace_id})
        edit_of = route.path_params.get("answer")  # only the edit route names the answer
        answer = partial(self._answer_inquiry, int(raw_id), body, edit_of, now, trace_id)
        comment_no = self._answering(route.endpoint, now, answer, item_id=raw_id)
        payload = {
            "code": "SUCCESS",
            "message": "요청이 성공적으로 처리되었습니다.",
            "data": {"inquiryNo": int(raw_id), "inquiryCommentNo": comment_no},
            "timestamp": qp.kst_timestamp(now),
            "traceId": trace_id,
        }
        return json_response(200, payload, {qp.TRACE_HEADER: trace_id})

    def _answer_question(self, question_id: int, body: dict[str, Any], now: datetime, trace_id: str) -> Accepted[None]:
        """PUT /v1/contents/qnas/{questionId}: create or replace the answer (no length limit is documented)."""
        content = body.get("commentContent")
        if not isinstance(content, str) or not content.strip():
            problem = ParamProblem("commentContent", "must not be blank")
            raise qp.contents_error(
                400, "BAD_REQUEST", "잘못된 요청입니다.", now=now, trace_id=trace_id, invalid=problem
            )
        if self.product_question(question_id) is None:
            raise qp.contents_error(404, "NOT_FOUND", "상품 문의를 찾을 수 없습니다.", now=now, trace_id=trace_id)
        self.answer_product_question(question_id, content, now)
        return Accepted(str(question_id), content, None)

    def _answer_inquiry(
        self, inquiry_no: int, body: dict[str, Any], edit_of: str | None, now: datetime, trace_id: str
    ) -> Accepted[int]:
        """POST the first answer to a 고객 문의 (ERR-NC-101010 after that), or PUT an edit of `edit_of`."""
        comment, template = body.get("answerComment"), body.get("answerTemplateId")
        # The documented field is answerComment; `answerContent` (seen in public code) is malformed here too.
        if not isinstance(comment, str) or not comment.strip() or not _optional_number(template):
            raise qp.pay_merchant_error("ERR-NC-101001", now=now, trace_id=trace_id)
        if self.customer_inquiry(inquiry_no) is None:
            raise qp.pay_merchant_error("ERR-NC-101004", now=now, trace_id=trace_id)
        if edit_of is not None:
            try:
                self.edit_customer_answer(inquiry_no, int(edit_of), comment, now)
            except KeyError as err:
                raise qp.pay_merchant_error("ERR-NC-101005", now=now, trace_id=trace_id) from err
            return Accepted(str(inquiry_no), comment, int(edit_of))
        try:
            comment_no = self.answer_customer_inquiry(
                inquiry_no, comment, now, template_no=None if template is None else int(template)
            )
        except ValueError as err:
            if str(err) != ALREADY_ANSWERED:
                raise
            raise qp.pay_merchant_error("ERR-NC-101010", now=now, trace_id=trace_id) from err
        return Accepted(str(inquiry_no), comment, comment_no)

    def _gateway_fault(self, fault: FaultEntry, request: httpx.Request, now: datetime) -> httpx.Response:
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
