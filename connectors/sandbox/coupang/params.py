"""Request parsing for the Coupang sandbox: query parameters and JSON bodies, validated as the docs state.

Field checks raise ParamProblem (from connectors.sandbox.query), which the API answers with `refusal`; the others
raise Refused carrying the 4xx response. Business errors use the envelope of the inquiry APIs,
{"code": <status>, "message": <text>, "data": null}: the docs give `code` as the HTTP status ("eg: 400,401") and
describe the message; `data: null` and the message wording are assumptions.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import httpx

from connectors.sandbox import query
from connectors.sandbox.handling import Refused, json_response
from connectors.sandbox.query import Page, ParamProblem, Shape, single

_DATE = Shape(
    re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
    date.fromisoformat,
    "must be in yyyy-MM-dd format: {raw}",
    "is not a valid date: {raw}",
)
_INT_RE = re.compile(r"[0-9]{1,9}")
_CTRL_CHAR_HINT = "has to be escaped using backslash to be included in string value"


def business_error(status: int, message: str) -> httpx.Response:
    """An error in the inquiry APIs' own envelope."""
    return json_response(status, {"code": status, "message": message, "data": None})


def bad_request(message: str) -> Refused:
    """A 400 ready to raise."""
    return Refused(business_error(400, message))


def refusal(problem: ParamProblem) -> Refused:
    """The 400 for one bad field: "<name> <what is wrong>"."""
    return bad_request(f"{problem.name} {problem.message}")


def required(params: httpx.QueryParams, name: str) -> str:
    """The value of a mandatory query parameter."""
    return query.required(params, name, missing="is required")


def date_param(params: httpx.QueryParams, name: str) -> date:
    """A mandatory `yyyy-MM-dd` query parameter (zero-padded, a real calendar date)."""
    return _DATE.read(name, required(params, name))


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
        raise ParamProblem("inquiryEndAt", "must not be before inquiryStartAt")
    if (end - start).days > max_days:
        raise bad_request(f"inquiryEndAt - inquiryStartAt must be {max_days} days or less")
    return start, end


def int_param(params: httpx.QueryParams, name: str, *, default: int, maximum: int | None = None) -> int:
    """An optional positive integer query parameter, at most `maximum`."""
    raw = single(params, name)
    if raw is None:
        return default
    if _INT_RE.fullmatch(raw) is None or int(raw) < 1:
        raise ParamProblem(name, f"must be a positive integer: {raw}")
    value = int(raw)
    if maximum is not None and value > maximum:
        raise ParamProblem(name, f"must be less than or equal to {maximum}")
    return value


def page(params: httpx.QueryParams, *, max_size: int) -> Page:
    """pageNum (default 1) and pageSize (default 10, at most `max_size`)."""
    return Page(int_param(params, "pageNum", default=1), int_param(params, "pageSize", default=10, maximum=max_size))


def optional_id(params: httpx.QueryParams, name: str) -> int | None:
    """An optional numeric id filter (vendorItemId, orderId)."""
    raw = single(params, name)
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit():
        raise ParamProblem(name, f"must be a number: {raw}")
    return int(raw)


def json_body(request: httpx.Request) -> dict[str, Any]:
    """The request's JSON object, refused as Jackson would refuse it (raw control characters included)."""
    content_type = request.headers.get("Content-Type", "")
    if not content_type.lower().startswith("application/json"):
        raise Refused(business_error(415, f"Content type '{content_type}' not supported"))
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
        raise ParamProblem(name, "is required")
    if not isinstance(value, str):
        raise ParamProblem(name, "must be a string")
    return value


def body_id(body: dict[str, Any], name: str, *, required_field: bool) -> int | None:
    """A numeric id field; the docs type it Number while their sample sends a string, so both are taken."""
    value = body.get(name)
    if value is None or value == "":
        if required_field:
            raise bad_request(f"The {name} is required.")
        return None
    if isinstance(value, bool):
        raise ParamProblem(name, "must be a number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    raise ParamProblem(name, "must be a number")
