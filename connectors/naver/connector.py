"""Naver Smart Store (커머스API): product Q&A (상품 문의) and customer inquiries (고객 문의) of one application.

A quick poll (connectors/polling.py) of a stream asks for the unanswered only (`answered=false`) over the dates one
request may ask about: 상품 문의 the last 7 dates (its maximum window is UNCONFIRMED), 고객 문의 the whole recheck
range (365 days allowed). One request while the open inquiries fit one page (100 / 200); its rows are the new
inquiries and the open snapshot of those dates. A sweep (hourly, and the first poll) makes two passes over KST
dates, in windows of at most 7 dates, all pages:
1. every item over [last sweep's date - overlap, today], at least the quick window after the first poll
   (which reads the backfill, and takes in the open rows of the quick window from pass 2): new and changed inquiries,
   those answered before inqd saw them (고객 문의 with `answerRegistrationDateTime`, which replaces a quick poll's
   time; 상품 문의 rows carry no answer time);
2. unanswered-only over [today - recheck, today]: the ids still open, so the store can close the rest.
Detection bounds: an inquiry received in the quick window shows up, and is seen answered, within one poll
interval; one answered before any poll saw it open, or (상품 문의) received before the last 7 dates, within a sweep
period plus a poll interval; one older than the recheck range is not rechecked.
Every request, the token request included, goes through one RequestBudget, which slows down to the rate the
gateway advertises (GNCP-GW-RateLimit-Replenish-Rate) whenever that is below the configured maximum.
Answers and the seller's answer templates go through the same token and budget (connectors/naver/answers.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, ClassVar, Unpack

import httpx
import structlog
from pydantic import SecretStr

from connectors.base import (
    AuthFailed,
    ConnectorError,
    ErrorBody,
    HttpEdge,
    RateLimited,
    RequestCount,
    Unavailable,
    json_error_text,
)
from connectors.naver.answers import ANSWER_CODES, TEMPLATES_PATH, answer_call, templates_of
from connectors.naver.auth import TOKEN_PATH, NaverTokenSource
from connectors.naver.rows import parse_page, row_id
from connectors.naver.rows import to_inquiry as _to_inquiry
from connectors.polling import DateWindow, Listing, Page, PollTally, start_poll
from connectors.polling_connector import PollDefaults, PollingConnector, PollOptions
from core.answers import AnswerLimit, AnswerRequest, AnswerResult
from core.clock import Clock
from core.models import KST, Cursor, Marketplace, PollResult, StreamKind

__all__ = ["NaverConnector"]

log = structlog.get_logger(__name__)

# 고객 문의 allows 365 days, but the Q&A list's maximum window is UNCONFIRMED: 7 dates is the widest any Korean
# marketplace was seen to need, and both streams walk the same windows so their request counts stay alike.
MAX_WINDOW_DATES = 7
INQUIRY_MAX_DATES = 365  # 고객 문의: error 4003 above 365 days
# A window of more pages is halved: 고객 문의 (dates only) down to one date, read to its last page within the
# documented page maximum (1,000,000, error 4005, §2.5); 상품 문의 (date-times) down to one second.
MAX_PAGES_PER_WINDOW = 500
INQUIRY_LAST_PAGE = 1_000_000
QNA_FINEST_WINDOW = timedelta(seconds=1)
DEFAULT_RATE_LIMIT_RETRY_S = 1.0  # a token bucket refills within a second at any documented rate
BLOCK_RETRY_AFTER_S = 60.0  # GW.BLOCK: circuit open or maintenance; retrying within seconds only adds load
# GW.QUOTA_LIMIT: wait out one quota period. SECONDS and ROUND are documented, HOURS was seen in the 2026
# enforcement; ROUND is a data-solution subscription round of unknown length, so an hour.
QUOTA_PERIOD_S = {"SECONDS": 1.0, "MINUTES": 60.0, "HOURS": 3600.0, "DAYS": 86400.0, "ROUND": 3600.0}
DEFAULT_QUOTA_RETRY_S = 3600.0
EMPTY_BUCKET_WAIT_S = 1.0
RATE_HEADER = "GNCP-GW-RateLimit-Replenish-Rate"
REMAINING_HEADER = "GNCP-GW-RateLimit-Remaining"
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


@dataclass(frozen=True, slots=True)
class _StreamSpec:
    """One Naver list endpoint: its path, page size, rows key and how a date window becomes parameters."""

    path: str
    page_size: int
    rows_key: str
    date_times: bool  # fromDate/toDate as ISO date-times (Q&A) or startSearchDate/endSearchDate as dates
    one_request_dates: int  # the widest window one request may ask about: a quick poll's


_SPECS = {
    StreamKind.PRODUCT_QNA: _StreamSpec("/v1/contents/qnas", 100, "contents", True, MAX_WINDOW_DATES),
    StreamKind.CUSTOMER_INQUIRY: _StreamSpec("/v1/pay-user/inquiries", 200, "content", False, INQUIRY_MAX_DATES),
}


class NaverConnector(PollingConnector):
    """Polls one Naver Commerce API application (the seller's own store, type=SELF); one budget, one token."""

    DEFAULTS: ClassVar[PollDefaults] = PollDefaults(
        (StreamKind.PRODUCT_QNA, StreamKind.CUSTOMER_INQUIRY), max_requests_per_s=1.0, recheck_days=13
    )
    marketplace: ClassVar[Marketplace] = Marketplace.NAVER
    # 고객 문의 takes one POST (a change is a PUT edit); 상품 문의's PUT creates or updates, so a repeat is harmless.
    ONCE_ONLY: ClassVar[frozenset[StreamKind]] = frozenset({StreamKind.CUSTOMER_INQUIRY})
    ANSWER_LIMITS: ClassVar[Mapping[StreamKind, AnswerLimit]] = {}  # Naver documents none
    _edge: NaverEdge

    def __init__(
        self,
        *,
        account_id: str,
        client_id: str,
        client_secret: SecretStr,
        client: httpx.AsyncClient,
        clock: Clock,
        **options: Unpack[PollOptions],
    ) -> None:
        if not _CLIENT_ID.fullmatch(client_id):
            raise ValueError("client_id must be the application ID: letters, digits, '_' or '-'")
        rate_per_s = self._configure(account_id, options)
        self._client_id = client_id
        self._tokens = NaverTokenSource(client_id=client_id, client_secret=client_secret, clock=clock)
        # The secret, and (through `hide`) the last signs and tokens seen, never reach an error text or log line.
        self._edge = NaverEdge(
            account_id,
            client=client,
            clock=clock,
            rate_per_s=rate_per_s,
            secrets=(client_secret.get_secret_value(),),
        )

    def __repr__(self) -> str:
        return f"NaverConnector(account_id={self.account_id!r}, client_id={self._client_id!r})"

    @property
    def token_requests(self) -> int:
        """How many tokens this connector has been issued so far."""
        return self._tokens.issued

    async def poll(self, stream: StreamKind, cursor: Cursor | None, *, now: datetime) -> PollResult:
        """A quick poll (the open inquiries of one request's window) or a sweep (new/changed since the last, and the
        ids still open in the recheck range)."""
        tally = start_poll(self, stream, cursor, now, self._lookback)
        spec = _SPECS[stream]
        passes = tally.passes(spec.one_request_dates)
        changed = None
        if passes.changed_first is None:
            still_open = await self._read_range(spec, False, passes.open_first, now, tally, spec.one_request_dates)
        else:
            changed = await self._read_range(spec, None, passes.changed_first, now, tally)
            still_open = await self._read_range(spec, False, passes.open_first, now, tally)
        inquiries = tally.take_in(changed, still_open, passes, lambda raw: _to_inquiry(raw, self.account_id, stream))
        snapshot = tally.open_snapshot(still_open, lambda raw: row_id(raw, stream), passes.open_first, now)
        return tally.result(inquiries, snapshot, now)

    async def _read_range(
        self,
        spec: _StreamSpec,
        answered: bool | None,
        first: date,
        now: datetime,
        tally: PollTally,
        max_days: int = MAX_WINDOW_DATES,
    ) -> Listing:
        """Every row (`answered` None) or every unanswered row received from `first` to today, in windows of at most
        `max_days` dates, all pages."""

        async def read_page(window: DateWindow, page_num: int) -> Page:
            params = _params(spec, window, now, answered, page_num)
            if params is None:
                return Page([])  # a part of today after the poll time: nothing was received there yet
            return parse_page(await self._get(spec.path, params, tally), spec.rows_key)

        if spec.date_times:
            return await tally.walk(
                first, read_page, max_days=max_days, max_pages=MAX_PAGES_PER_WINDOW, finest=QNA_FINEST_WINDOW
            )
        return await tally.walk(
            first,
            read_page,
            max_days=max_days,
            max_pages=MAX_PAGES_PER_WINDOW,
            last_page_number=INQUIRY_LAST_PAGE,
        )

    async def answer(self, request: AnswerRequest) -> AnswerResult:
        """Put a 상품 문의 answer (create or update), or post a 고객 문의 answer (an edit when it is answered).

        A 고객 문의 inqd already saw answered, with its answerContentId, is edited by PUT: the seller approved a new
        text for an answered inquiry. One that looked open but is answered meanwhile (ERR-NC-101010) is
        ALREADY_ANSWERED: the other answer stays, and the seller is told.
        """
        inquiry = request.inquiry
        edit_id = inquiry.answer_ref if inquiry.answered else None
        method, path, body = answer_call(inquiry.stream, inquiry.external_id, edit_id, request.text)
        count = _Requests()
        try:
            await self._tokens.token(partial(self._issue_token, count))
        except ConnectorError as err:
            return self._edge.retry_later(err, maybe_delivered=False)  # no token: the answer never left
        return await self._edge.answer_exchange(
            path, lambda: self._authorized(count, method, path, payload=body), self._edge.read_answer
        )

    async def answer_templates(self) -> list[tuple[str, str, str]]:
        """The seller's own 상품 문의 answer templates: (questionType, subject, content); raises ConnectorError."""
        response = await self._authorized(_Requests(), "GET", TEMPLATES_PATH)
        return templates_of(self._edge.json_body(response, TEMPLATES_PATH))

    async def _get(self, path: str, params: httpx.QueryParams, tally: PollTally) -> object:
        """One authorized GET; returns the JSON body or raises a ConnectorError."""
        return self._edge.json_body(await self._authorized(tally, "GET", path, params=params), path)

    async def _authorized(self, count: RequestCount, method: str, path: str, **request: Any) -> httpx.Response:
        """One request with the bearer token; re-issues the token and sends again once on 401 GW.AUTHN."""
        issue = partial(self._issue_token, count)
        token = await self._tokens.token(issue)
        response = await self._send(count, method, path, token=token, **request)
        if response.status_code == 401 and _error_code(response) == "GW.AUTHN":
            # The documented fallback: the token expired early or was replaced. One new token, one more try;
            # a second refusal is an AuthFailed (an answer's RETRY_LATER), never a loop. The gateway refused the
            # first request before any API saw it, so sending an answer again cannot post it twice.
            log.info("naver.token_refused", account_id=self.account_id, path=path)
            self._tokens.invalidate(token)
            token = await self._tokens.token(issue)
            response = await self._send(count, method, path, token=token, **request)
        return response

    async def _issue_token(self, tally: RequestCount, form: Mapping[str, str]) -> object:
        """POST the token form as an x-www-form-urlencoded body (nothing in the query string)."""
        self._edge.hide(form["client_secret_sign"])
        response = await self._send(tally, "POST", TOKEN_PATH, form=form)
        if response.status_code in (400, 401, 403):
            message = self._edge.error_body(response).message
            raise AuthFailed(f"naver: {response.status_code} token request refused: {message}")
        payload = self._edge.json_body(response, TOKEN_PATH)
        if isinstance(payload, Mapping) and isinstance(payload.get("access_token"), str):
            self._edge.hide(payload["access_token"])
        return payload

    async def _send(
        self,
        tally: RequestCount,
        method: str,
        path: str,
        *,
        params: httpx.QueryParams | None = None,
        form: Mapping[str, str] | None = None,
        payload: object = None,
        token: str | None = None,
    ) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if payload is not None:
            headers["Content-Type"] = "application/json"
        return await self._edge.send(
            method, path, count=tally, params=params, form=form, payload=payload, headers=headers
        )


class NaverEdge(HttpEdge):
    """Naver's HTTP edge: the gateway's error codes, its rate-limit headers, and its waits after a 429."""

    marketplace = Marketplace.NAVER

    def __init__(self, account_id: str, **edge: Any) -> None:
        super().__init__(account_id, **edge)
        self._min_interval_s = self.budget.interval_s
        self._advertised: dict[str, float] = {}  # path -> the gateway's replenish rate for that API
        self._throttled_until_s = float("-inf")  # after a 429: no request before this (monotonic)

    async def send(self, method: str, path: str, **request: Any) -> httpx.Response:
        """`HttpEdge.send`, paced by the gateway's rate headers; fails fast while a 429's wait lasts."""
        wait_s = self._throttled_until_s - self._clock.monotonic()
        if wait_s > 0:
            # Still inside a 429's wait (maybe one the other stream got): fail fast rather than hold the poll,
            # and with it a graceful shutdown, in a sleep of up to an hour.
            raise RateLimited("naver: still waiting out a 429", retry_after_s=wait_s)
        response = await super().send(method, path, **request)
        self._observe_rate_limit(path, response)
        return response

    def read_error(self, response: httpx.Response) -> ErrorBody:
        """The gateway's or API's `code`, and its message with the invalid inputs it names."""
        return ErrorBody(_error_code(response), json_error_text(response, _message_of))

    def refusal(self, response: httpx.Response, path: str, body: ErrorBody) -> ConnectorError | None:
        """The gateway's own refusals: a quota spent, a rate exceeded (both hold every stream), a circuit open.

        401 (the token refused even fresh), 403 GW.IP_NOT_ALLOWED (this host's IP is not in the application's
        list) and 403 FORBIDDEN (the application lacks the API group) are left to the shared mapping: AuthFailed,
        as all need the seller.
        """
        status, code = response.status_code, body.code
        asked_s = self.retry_after_s(response)
        if status == 429 and code == "GW.QUOTA_LIMIT":
            period = response.headers.get("GNCP-GW-Quota-Period", "").strip().upper()
            retry_after_s = max(asked_s or 0.0, QUOTA_PERIOD_S.get(period, DEFAULT_QUOTA_RETRY_S))
            self._throttle(retry_after_s)
            return RateLimited(
                f"naver: 429 GW.QUOTA_LIMIT, quota per {period or 'unknown period'}: {body.message}",
                retry_after_s=retry_after_s,
            )
        if status == 429:
            rate = self._advertised.get(path)
            retry_after_s = asked_s if asked_s is not None else (1.0 / rate if rate else DEFAULT_RATE_LIMIT_RETRY_S)
            self._throttle(retry_after_s)
            return RateLimited(f"naver: 429 {code or 'Too Many Requests'}", retry_after_s=retry_after_s)
        if status == 503 and (code or "").startswith("GW.BLOCK"):
            return Unavailable(
                f"naver: 503 {code}: {body.message}", retry_after_s=max(asked_s or 0.0, BLOCK_RETRY_AFTER_S)
            )
        return None

    def read_answer(self, response: httpx.Response) -> AnswerResult | None:
        """The answer endpoints' documented codes that name an outcome (already answered, gone); others go on."""
        status = response.status_code
        if status >= 500 or status in (401, 429):
            return None
        body = self.error_body(response)
        outcome = ANSWER_CODES.get(body.code or "")
        return None if outcome is None else AnswerResult(outcome, f"{body.code}: {body.message}")

    def _observe_rate_limit(self, path: str, response: httpx.Response) -> None:
        """Never exceed the replenish rate the gateway advertises, nor go on when it says none are left."""
        rate = _positive_number(response.headers.get(RATE_HEADER))
        if rate is not None:
            self._advertised[path] = rate
            # Limits are per API; one budget paced for the slowest one seen keeps every API under its own.
            interval_s = max(self._min_interval_s, *(1.0 / r for r in self._advertised.values()))
            if interval_s != self.budget.interval_s:
                log.info("naver.rate_adjusted", account_id=self.account_id, per_s=round(1.0 / interval_s, 3))
                self.budget.interval_s = interval_s
            # The slot after the one just used was reserved at the old pace; move it to the new one.
            self.budget.push_back(self.last_sent_s + interval_s - self._clock.monotonic())
        if _positive_number(response.headers.get(REMAINING_HEADER), allow_zero=True) == 0:
            # The bucket is empty (someone else shares the application, or a burst was spent): bursting
            # "borrows from the next second", so give it that second before the next call.
            self.budget.push_back(max(self.budget.interval_s, EMPTY_BUCKET_WAIT_S))

    def _throttle(self, seconds: float) -> None:
        self._throttled_until_s = max(self._throttled_until_s, self._clock.monotonic() + seconds)


@dataclass(slots=True)
class _Requests:
    """The request count of a call outside a poll (an answer, the templates)."""

    requests: int = 0


def _params(
    spec: _StreamSpec, window: DateWindow, now: datetime, answered: bool | None, page: int
) -> httpx.QueryParams | None:
    """The documented query of one page: dates (KST), the answered filter if any, page from 1, the largest size.

    None for a part of a day that starts after `now`: there is nothing to ask about it.
    """
    if spec.date_times:
        start = datetime.combine(window.start, window.since, KST)
        # Never ask about the future: toDate ends today's window at the poll time.
        end = min(datetime.combine(window.end, window.until, KST), now.astimezone(KST))
        if end < start:
            return None
        dates = [
            ("fromDate", start.isoformat(timespec="milliseconds")),
            ("toDate", end.isoformat(timespec="milliseconds")),
        ]
    else:
        dates = [("startSearchDate", window.start.isoformat()), ("endSearchDate", window.end.isoformat())]
    status = [] if answered is None else [("answered", "true" if answered else "false")]
    return httpx.QueryParams([*dates, *status, ("page", str(page)), ("size", str(spec.page_size))])


def _message_of(body: Mapping[str, object]) -> str:
    parts = [str(body.get("message") or "")]
    inputs = body.get("invalidInputs")
    if isinstance(inputs, list):
        parts += [f"{i.get('name')}: {i.get('message')}" for i in inputs if isinstance(i, Mapping)]
    return "; ".join(p for p in parts if p)


def _error_code(response: httpx.Response) -> str | None:
    """The `code` of a JSON error body (gateway "GW.*", API "BAD_REQUEST", "4001", ...), if any."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        return None
    code = body.get("code") if isinstance(body, Mapping) else None
    return None if code is None else str(code)


def _positive_number(value: str | None, *, allow_zero: bool = False) -> float | None:
    try:
        number = float((value or "").strip())
    except ValueError:
        return None
    ok = number >= 0 if allow_zero else number > 0
    return number if ok and number < float("inf") else None
