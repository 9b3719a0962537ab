"""The request plumbing every sandbox handler shares: lock, clock, request log, routing, faults and JSON replies.

A sandbox is its marketplace's store (the data, which owns the lock) plus `SandboxHandler`: the handler routes a
request, asks `_fault_for` whether a queued fault answers it instead, and otherwise answers as the marketplace
would. Any step may raise `Refused` with the finished error response; `handler` sends it and logs the request.
Answer requests run through `_answering`, which records each one in `answers` (accepted or refused); an
ACCEPTED_THEN_* fault lets the answer be stored and then loses its response, as a dropped connection would.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Generic, TypeVar

import httpx

from connectors.sandbox.faults import (
    ANSWER_FAULTS,
    GATEWAY_FAULTS,
    Fault,
    FaultEntry,
    FaultQueue,
    Malformation,
    akamai_access_denied_html,
    truncated,
)

JSON_CONTENT_TYPE = "application/json;charset=UTF-8"

EndpointT = TypeVar("EndpointT", bound=StrEnum)
RowT = TypeVar("RowT")
ResultT = TypeVar("ResultT")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the sandbox received, for asserting a connector's request pattern."""

    at: datetime
    method: str
    path: str
    query: str
    status: int | None  # None: the sandbox answered with a timeout


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """One answer request that reached the marketplace's answer logic (past the gateway and the auth check)."""

    at: datetime
    endpoint: str
    item_id: str | None  # the inquiry's id as the request named it; None when it could not be read
    text: str | None  # the stored answer (None when refused)
    accepted: bool
    refusal: str | None = None  # the marketplace's error response, "<status> <body>", when refused


@dataclass(frozen=True, slots=True)
class Accepted(Generic[ResultT]):
    """What an accepted answer stored (`item_id`, `text`) and what the sandbox answers with (`result`)."""

    item_id: str
    text: str
    result: ResultT


class Refused(Exception):
    """The sandbox answers early with `response`: a refused request or a gateway fault."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass(frozen=True, slots=True)
class Route(Generic[EndpointT]):
    """The endpoint a request is for and the named parts of its path (only those present)."""

    endpoint: EndpointT
    path_params: dict[str, str]


class Router(Generic[EndpointT]):
    """A table of (method, path pattern, endpoint); the first row whose pattern matches the whole path wins."""

    def __init__(self, routes: Iterable[tuple[str, str, EndpointT]]) -> None:
        self._routes = [(method, re.compile(pattern), endpoint) for method, pattern, endpoint in routes]

    def match(self, method: str, path: str) -> Route[EndpointT] | None:
        """The route of a `method` request to `path`, or None when the marketplace has no such API."""
        for route_method, pattern, endpoint in self._routes:
            found = pattern.fullmatch(path)
            if found is not None and method == route_method:
                return Route(endpoint, {k: v for k, v in found.groupdict().items() if v is not None})
        return None


def json_response(
    status: int, payload: object, headers: dict[str, str] | None = None, *, content_type: str = JSON_CONTENT_TYPE
) -> httpx.Response:
    """`payload` as UTF-8 JSON (Korean text unescaped, as the marketplaces send it)."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return httpx.Response(status, content=body, headers={"Content-Type": content_type, **(headers or {})})


def cut_short(response: httpx.Response) -> httpx.Response:
    """A 200 with `response`'s headers and only half its body, as when a proxy drops the connection mid-response."""
    headers = [(name, value) for name, value in response.headers.multi_items() if name.lower() != "content-length"]
    return httpx.Response(200, content=truncated(response.content), headers=headers)


def access_denied(request: httpx.Request, reference: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """The 403 HTML page a CDN edge serves when it blocks the caller of `request`."""
    page = akamai_access_denied_html(str(request.url), reference)
    return httpx.Response(403, content=page, headers={"Content-Type": "text/html", **(headers or {})})


class SandboxHandler(Generic[EndpointT]):
    """Mixin of a sandbox: `handler` records every request and answers it through `_handle` under the lock.

    The sandbox's store sets `_lock`; the sandbox calls `_start_handling` in its own `__init__`, names the
    endpoints whose pages a MALFORMED_ITEM fault may break in `list_endpoints` and the answer endpoints (whose
    requests ACCEPTED_THEN_* faults hit) in `answer_endpoints`.
    """

    list_endpoints: ClassVar[frozenset[StrEnum]]
    answer_endpoints: ClassVar[frozenset[StrEnum]]
    _lock: threading.RLock
    _now: Callable[[], datetime]
    requests: list[RecordedRequest]
    answers: list[AnswerRecord]
    _faults: FaultQueue
    _malformations: Iterator[Malformation]
    _lost_answer: FaultEntry | None  # the ACCEPTED_THEN_* fault queued for the request being handled
    _accepted_now: bool  # whether the request being handled stored an answer

    def _start_handling(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self.requests = []
        self.answers = []
        self._faults = FaultQueue()
        self._malformations = itertools.cycle(Malformation)
        self._lost_answer, self._accepted_now = None, False

    def handler(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as the marketplace would; raises httpx.ReadTimeout for an injected TIMEOUT."""
        with self._lock:
            now = self._current_time()
            status: int | None = None
            self._lost_answer, self._accepted_now = None, False
            try:
                try:
                    response = self._handle(request, now)
                except Refused as refused:
                    response = refused.response
                response = self._lose_accepted_answer(response, request, now)
                status = response.status_code
                return response
            finally:
                raw_path, _, raw_query = request.url.raw_path.partition(b"?")
                record = RecordedRequest(
                    now, request.method, raw_path.decode("latin-1"), raw_query.decode("latin-1"), status
                )
                self.requests.append(record)

    def inject(
        self,
        fault: Fault,
        times: int = 1,
        *,
        endpoint: EndpointT | None = None,
        status: int | None = None,
        retry_after_s: int = 30,
    ) -> None:
        """Queue `fault` for the next `times` requests to `endpoint` (None: any; MALFORMED_ITEM: list pages)."""
        with self._lock:
            self._faults.push(fault, times, endpoint, status, retry_after_s)

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()

    def accepted_answers(self, item_id: str | int, endpoint: EndpointT | None = None) -> int:
        """How many answers to `item_id` (through `endpoint`, or any) the sandbox accepted and stored."""
        with self._lock:
            return sum(
                1
                for record in self.answers
                if record.accepted and record.item_id == str(item_id) and endpoint in (None, record.endpoint)
            )

    @property
    def pending_faults(self) -> int:
        """How many fault uses are still queued."""
        with self._lock:
            return len(self._faults)

    def _handle(self, request: httpx.Request, now: datetime) -> httpx.Response:
        """The response to one request received at `now`, called under the lock."""
        raise NotImplementedError

    def _gateway_fault(self, fault: FaultEntry, request: httpx.Request, now: datetime) -> httpx.Response:
        """The marketplace's own answer to a 429, 403 or 5xx gateway fault (TIMEOUT never gets here)."""
        raise NotImplementedError

    def _fault_for(self, endpoint: EndpointT | None, request: httpx.Request, now: datetime) -> FaultEntry | None:
        """The fault queued for this request (endpoint None: an unknown path).

        A gateway fault is used up here and answers at once (Refused, or httpx.ReadTimeout for TIMEOUT); the
        others come back for the handler to apply with `_uses`.
        """
        fault = self._faults.peek(
            endpoint, is_list=endpoint in self.list_endpoints, is_answer=endpoint in self.answer_endpoints
        )
        if fault is not None and fault.fault in ANSWER_FAULTS:
            self._lost_answer = fault  # used up by `handler` once the answer is stored
            return None
        if fault is None or fault.fault not in GATEWAY_FAULTS:
            return fault
        self._faults.consume(fault)
        if fault.fault is Fault.TIMEOUT:
            raise httpx.ReadTimeout("sandbox: injected timeout", request=request)
        raise Refused(self._gateway_fault(fault, request, now))

    def _answering(
        self,
        endpoint: EndpointT,
        now: datetime,
        accept: Callable[[], Accepted[ResultT]],
        *,
        item_id: str | None = None,
    ) -> ResultT:
        """Run `accept` (store the answer, or raise Refused) and record the request either way.

        `item_id` is the inquiry as the request names it, for the record of a refusal; an accepted answer names its
        own.
        """
        try:
            accepted = accept()
        except Refused as refused:
            response = refused.response
            refusal = f"{response.status_code} {response.text}"
            self.answers.append(AnswerRecord(now, endpoint, item_id, None, accepted=False, refusal=refusal))
            raise
        self.answers.append(AnswerRecord(now, endpoint, accepted.item_id, accepted.text, accepted=True))
        self._accepted_now = True
        return accepted.result

    def _lose_accepted_answer(self, response: httpx.Response, request: httpx.Request, now: datetime) -> httpx.Response:
        """`response`, unless an ACCEPTED_THEN_* fault waits for this request and it stored an answer."""
        fault = self._lost_answer
        if fault is None or not self._accepted_now:
            return response
        self._faults.consume(fault)
        if fault.fault is Fault.ACCEPTED_THEN_TIMEOUT:
            raise httpx.ReadTimeout("sandbox: injected timeout after the answer was stored", request=request)
        return self._gateway_fault(fault, request, now)  # a 5xx: not RATE_LIMIT or HTML_FORBIDDEN

    def _uses(self, fault: FaultEntry | None, kind: Fault, *, applies: bool = True) -> bool:
        """Whether `fault` is a `kind` that `applies` to this response; if so, one use of it is counted."""
        if fault is None or fault.fault is not kind or not applies:
            return False
        self._faults.consume(fault)
        return True

    def _break_middle_row(
        self, fault: FaultEntry | None, rows: list[RowT], breaker: Callable[[RowT, Malformation], RowT]
    ) -> None:
        """On a MALFORMED_ITEM fault, break the middle row of a non-empty page, each time another way."""
        if self._uses(fault, Fault.MALFORMED_ITEM, applies=bool(rows)):
            middle = len(rows) // 2
            rows[middle] = breaker(rows[middle], next(self._malformations))

    def _as_sent(self, fault: FaultEntry | None, response: httpx.Response) -> httpx.Response:
        """`response` as it reaches the client: cut short on a MALFORMED_BODY fault."""
        return cut_short(response) if self._uses(fault, Fault.MALFORMED_BODY) else response

    def _current_time(self) -> datetime:
        now = self._now()
        if now.tzinfo is None:
            raise ValueError("the sandbox's now() must return an aware datetime")
        return now
