"""Request parsing and error bodies for the Naver sandbox, one shape per family as the docs give them.

- Gateway (every API): {code: "GW.*", message, timestamp (KST ISO-8601), traceId} + header GNCP-GW-Trace-ID,
  messages verbatim from the trouble-shooting table [official].
- 상품 문의 (contents): {code: BAD_REQUEST|NOT_FOUND|..., message, invalidInputs[{name,type,message}], timestamp,
  traceId} [official shape; messages assumed].
- 고객 문의 (pay-user): {code: "4001".."5001", message, traceId, timestamp, invalidInputs[{name,message}]}, messages
  verbatim from the error table [official].
- 고객 문의 answer (pay-merchant): {code: "ERR-NC-1010xx", message, timestamp, traceId} [codes official; messages
  assumed]; success {code, message, data{inquiryNo, inquiryCommentNo}, timestamp, traceId} [shape official,
  `code` value "SUCCESS" assumed].
- Token: {code, message, timestamp, invalidInputs[{name,type,message}], data} [official shape; `code` value
  "BAD_REQUEST" assumed; "<field> 항목이 유효하지 않습니다." is the wording third-party notes quote].
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

import httpx

from connectors.sandbox import query
from connectors.sandbox.handling import Refused, json_response
from connectors.sandbox.query import Page, ParamProblem, Shape, single
from core.models import KST

TRACE_HEADER = "GNCP-GW-Trace-ID"

GATEWAY_MESSAGES = {
    "GW.AUTHN": "요청을 보낼 권한이 없습니다.",
    "GW.IP_NOT_ALLOWED": "호출이 허용되지 않은 IP입니다.",
    "GW.NOT_FOUND": "요청하신 리소스를 찾을 수 없습니다.",
    "GW.RATE_LIMIT": "요청이 많아 서비스를 일시적으로 사용할 수 없습니다.",
    "GW.QUOTA_LIMIT": "할당된 시간당 요청량을 초과하였습니다.",
    "GW.PROXY.03": "작업 중 오류가 발생하였습니다.",
    "GW.INTERNAL_SERVER_ERROR": "작업 중 오류가 발생하였습니다.",
    "GW.BLOCK.01": "서비스를 일시적으로 사용할 수 없습니다.",
    "GW.BLOCK.02": "서비스를 일시적으로 사용할 수 없습니다.",
    "GW.TIMEOUT.01": "요청 대기 시간이 초과되었습니다.",
}
# The status a SERVER_ERROR fault asks for -> the gateway code Naver documents for it (502 is not in the table;
# GW.PROXY.03, "connection lost while waiting for the service", is the closest).
SERVER_ERROR_CODES = {500: "GW.INTERNAL_SERVER_ERROR", 502: "GW.PROXY.03", 503: "GW.BLOCK.01", 504: "GW.TIMEOUT.01"}
PAY_USER_MESSAGES = {
    "4001": "API 명세에 맞지 않는 입력 값입니다.",
    "4002": "조회 시작일이 조회 종료일 이후 날짜일 수 없습니다.",
    "4003": "스마트스토어/가맹점의 경우 최대 365일만 조회 가능합니다.",
    "4004": "페이지 번호가 1보다 작을 수 없습니다.",
    "4005": "페이지 번호가 1000000보다 클 수 없습니다.",
    "4006": "페이지 크기가 10보다 작을 수 없습니다.",
    "4007": "페이지 크기가 200보다 클 수 없습니다.",
}
PAY_MERCHANT_MESSAGES = {
    "ERR-NC-101001": "요청 형식이 올바르지 않습니다.",
    "ERR-NC-101004": "존재하지 않거나 삭제된 문의입니다.",
    "ERR-NC-101005": "유효하지 않은 문의입니다.",
    "ERR-NC-101010": "이미 답변이 등록된 문의입니다.",
}

_LOCAL_DATE = Shape(
    re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"), date.fromisoformat, "must be in yyyy-MM-dd format", "is not a valid date"
)
# ISO 8601 date-time with a mandatory offset, as Spring binds an OffsetDateTime (a '+' decoded to ' ' fails here).
_OFFSET_DATETIME = Shape(
    re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:[0-9]{2})"),
    datetime.fromisoformat,
    "must be an ISO-8601 date-time with an offset",
    "is not a valid date-time",
)
_MISSING = "must not be null"
_INT_RE = re.compile(r"-?[0-9]{1,10}")


def kst_timestamp(now: datetime) -> str:
    """An error body's `timestamp`: KST ISO-8601 with milliseconds."""
    return now.astimezone(KST).isoformat(timespec="milliseconds")


def gateway_error(
    status: int, code: str, *, now: datetime, trace_id: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    """A gateway error (GW.*), which every Commerce API can return."""
    body = {"code": code, "message": GATEWAY_MESSAGES[code], "timestamp": kst_timestamp(now), "traceId": trace_id}
    return json_response(status, body, {TRACE_HEADER: trace_id, **(headers or {})})


def contents_error(
    status: int, code: str, message: str, *, now: datetime, trace_id: str, invalid: ParamProblem | None = None
) -> Refused:
    """An error of the 상품 문의 APIs, ready to raise."""
    inputs = [] if invalid is None else [{"name": invalid.name, "type": "Invalid", "message": invalid.message}]
    body = {
        "code": code,
        "message": message,
        "invalidInputs": inputs,
        "timestamp": kst_timestamp(now),
        "traceId": trace_id,
    }
    return Refused(json_response(status, body, {TRACE_HEADER: trace_id}))


def pay_user_error(code: str, *, now: datetime, trace_id: str, invalid: ParamProblem | None = None) -> Refused:
    """A 4001..4007 error of `GET /v1/pay-user/inquiries`, ready to raise."""
    body: dict[str, Any] = {
        "code": code,
        "message": PAY_USER_MESSAGES[code],
        "traceId": trace_id,
        "timestamp": kst_timestamp(now),
    }
    if invalid is not None:
        body["invalidInputs"] = [{"name": invalid.name, "message": invalid.message}]
    return Refused(json_response(400, body, {TRACE_HEADER: trace_id}))


def pay_merchant_error(code: str, *, now: datetime, trace_id: str) -> Refused:
    """A 400 of the 고객 문의 answer APIs, ready to raise."""
    body = {"code": code, "message": PAY_MERCHANT_MESSAGES[code], "timestamp": kst_timestamp(now), "traceId": trace_id}
    return Refused(json_response(400, body, {TRACE_HEADER: trace_id}))


def token_error(status: int, message: str, *, now: datetime, invalid: list[str] | None = None) -> httpx.Response:
    """An error of `POST /v1/oauth2/token`: `invalid` names the refused fields."""
    inputs = [
        {"name": name, "type": "Invalid", "message": f"{name} 항목이 유효하지 않습니다."} for name in invalid or []
    ]
    code = "BAD_REQUEST" if status == 400 else "FORBIDDEN"
    body = {"code": code, "message": message, "timestamp": kst_timestamp(now), "invalidInputs": inputs, "data": None}
    return json_response(status, body)


def offset_datetime(params: httpx.QueryParams, name: str) -> datetime:
    """A mandatory ISO 8601 date-time with an offset or Z (`2020-07-25T10:10:10.100Z`, `...+09:00`)."""
    return _OFFSET_DATETIME.read(name, query.required(params, name, missing=_MISSING))


def local_date(params: httpx.QueryParams, name: str) -> date:
    """A mandatory `yyyy-MM-dd` parameter (zero-padded, a real calendar date)."""
    return _LOCAL_DATE.read(name, query.required(params, name, missing=_MISSING))


def integer(params: httpx.QueryParams, name: str, *, default: int) -> int:
    """An optional integer parameter (range checks are each API's own)."""
    raw = single(params, name)
    if raw is None:
        return default
    if _INT_RE.fullmatch(raw) is None:
        raise ParamProblem(name, "must be an integer")
    return int(raw)


def page(params: httpx.QueryParams, *, default_size: int) -> Page:
    """`page` (default 1) and `size`; the range checks are each API's own."""
    return Page(integer(params, "page", default=1), integer(params, "size", default=default_size))


def boolean(params: httpx.QueryParams, name: str) -> bool | None:
    """An optional `true`/`false` parameter."""
    raw = single(params, name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise ParamProblem(name, "must be true or false")
    return raw == "true"


def json_body(request: httpx.Request) -> dict[str, Any] | None:
    """The request's JSON object, or None when it is not JSON (each API answers that its own way)."""
    if not request.headers.get("Content-Type", "").lower().startswith("application/json"):
        return None
    try:
        body = json.loads(request.content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return body if isinstance(body, dict) else None
