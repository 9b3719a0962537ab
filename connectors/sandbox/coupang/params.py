"""Request parsing for the Coupang sandbox: query parameters and JSON bodies, validated as the docs state.

Each check raises ApiError carrying the 4xx response the sandbox returns. Business errors use the envelope
of the inquiry APIs, {"code": <status>, "message": <text>, "data": null}: the docs give `code` as the HTTP
status ("eg: 400,401") and describe the message; `data: null` and the message wording are assumptions.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import httpx

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"

_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INT_RE = re.compile(r"[0-9]{1,9}")
_CTRL_CHAR_HINT = "has to be escaped using backslash to be included in string value"


class ApiError(Exception):
    """Validation failed; `response` is what the sandbox answers."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    """A JSON response with the Content-Type Coupang uses."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return httpx.Response(status, content=body, headers={"Content-Type": JSON_CONTENT_TYPE, **(headers or {})})


def business_error(status: int, message: str) -> httpx.Response:
    """An error in the inquiry APIs' own envelope."""
    return json_response(status, {"code": status, "message": message, "data": None})


def bad_request(message: str) -> ApiError:
    """A 400 ready to raise."""
    return ApiError(business_error(400, message))


def single(params: httpx.QueryParams, name: str) -> str | None:
    """The one value of optional query parameter `name`; empty counts as absent, repeats are refused."""
    values = params.get_list(name)
    if len(values) > 1:
        raise bad_request(f"{name} must be given only once")
    if not values or values[0] == "":
        return None
    return values[0]


def required(params: httpx.QueryParams, name: str) -> str:
    """The value of a mandatory query parameter."""
    value = single(params, name)
    if value is None:
        raise bad_request(f"{name} is required")
    return value


def date_param(params: httpx.QueryParams, name: str) -> date:
    """A mandatory `yyyy-MM-dd` query parameter (zero-padded, a real calendar date)."""
    raw = required(params, name)
    if _DATE_RE.fullmatch(raw) is None:
        raise bad_request(f"{name} must be in yyyy-MM-dd format: {raw}")
    try:
        return date.fromisoformat(raw)
    except ValueError as err:
        raise bad_request(f"{name} is not a valid date: {raw}") from err


def date_window(params: httpx.QueryParams, *, max_days: int) -> tuple[date, date]:
    """inquiryStartAt..inquiryEndAt, both inclusive, checked against the documented limit.

    The docs say "inquiryEndAt - inquiryStartAt <= 7 days" without saying whether both ends count
    (UNCONFIRMED). The sandbox takes the text literally: a difference of up to `max_days` days passes
    (01-01..01-08), a larger one is refused. Connectors should stay at 7 calendar dates inclusive (a
    difference of 6), which passes under either reading. An older call-center doc also forbade start ==
    end; the current one does not, so a one-day window is accepted.
    """
    start = date_param(params, "inquiryStartAt")
    end = date_param(params, "inquiryEndAt")
    if end < start:
        raise bad_request("inquiryEndAt must not be before inquiryStartAt")
    if (end - start).days > max_days:
        raise bad_request(f"inquiryEndAt - inquiryStartAt must be {max_days} days or less")
    return start, end


def int_param(params: httpx.QueryParams, name: str, *, default: int, maximum: int | None = None) -> int:
    """An optional positive integer query parameter, at most `maximum`."""
    raw = single(params, name)
    if raw is None:
        return default
    if _INT_RE.fullmatch(raw) is None or int(raw) < 1:
        raise bad_request(f"{name} must be a positive integer: {raw}")
    value = int(raw)
    if maximum is not None and value > maximum:
        raise bad_request(f"{name} must be less than or equal to {maximum}")
    return value


def optional_id(params: httpx.QueryParams, name: str) -> int | None:
    """An optional numeric id filter (vendorItemId, orderId)."""
    raw = single(params, name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise bad_request(f"{name} must be a number: {raw}")
    return int(raw)


def json_body(request: httpx.Request) -> dict[str, Any]:
    """The request's JSON object, refused as Jackson would refuse it (raw control characters included)."""
    content_type = request.headers.get("Content-Type", "")
    if not content_type.lower().startswith("application/json"):
        raise ApiError(business_error(415, f"Content type '{content_type}' not supported"))
    try:
        text = request.content.decode("utf-8")
        body = json.loads(text)
    except UnicodeDecodeError as err:
        raise bad_request("Could not read JSON: Invalid UTF-8") from err
    except json.JSONDecodeError as err:
        if err.msg.startswith("Invalid control character"):
            code = ord(err.doc[err.pos])
            message = f"Could not read JSON: Illegal unquoted character ((CTRL-CHAR, code {code})): {_CTRL_CHAR_HINT}"
            raise bad_request(message) from err
        raise bad_request(f"Could not read JSON: {err.msg}") from err
    if not isinstance(body, dict):
        raise bad_request("Could not read JSON: expected an object")
    return body


def body_str(body: dict[str, Any], name: str) -> str:
    """A mandatory string field of a JSON body."""
    value = body.get(name)
    if value is None or value == "":
        raise bad_request(f"{name} is required")
    if not isinstance(value, str):
        raise bad_request(f"{name} must be a string")
    return value


def body_id(body: dict[str, Any], name: str, *, required_field: bool) -> int | None:
    """A numeric id field; the docs type it Number while their sample sends a string, so both are taken."""
    value = body.get(name)
    if value is None or value == "":
        if required_field:
            raise bad_request(f"The {name} is required.")
        return None
    if isinstance(value, bool):
        raise bad_request(f"{name} must be a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise bad_request(f"{name} must be a number")
