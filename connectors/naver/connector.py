"""Naver Smart Store (커머스API): product Q&A (상품 문의) and customer inquiries (고객 문의) of one application.

One poll of a stream makes two passes over KST calendar dates, each in windows of at most 7 dates, all pages:
1. every item over [cursor date - overlap, today]: new and changed inquiries;
2. unanswered-only (`answered=false`) over [today - recheck, today]: the ids still open, so the store can close
   the rest.
Every request, the token request included, goes through one RequestBudget, which slows down to the rate the
gateway advertises (GNCP-GW-RateLimit-Replenish-Rate) whenever that is below the configured maximum.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import ClassVar

import httpx
import structlog
from pydantic import SecretStr

from connectors.base import (
    AuthFailed,
    DateWindow,
    Listing,
    PollTally,
    RateLimited,
    RequestBudget,
    Unavailable,
    date_windows,
)
from connectors.naver.auth import TOKEN_PATH, NaverTokenSource
from connectors.naver.rows import parse_page, row_id
from connectors.naver.rows import to_inquiry as _to_inquiry
from core.clock import Clock
from core.http import parse_retry_after
from core.models import KST, Cursor, Marketplace, PollResult, StreamKind

__all__ = ["NaverConnector"]

log = structlog.get_logger(__name__)

# 고객 문의 allows 365 days, but the Q&A list's maximum window is UNCONFIRMED: 7 dates is the widest any Korean
# marketplace was seen to need, and both streams walk the same windows so their request counts stay alike.
MAX_WINDOW_DATES = 7
MAX_PAGES_PER_WINDOW = 500  # only a server that keeps growing totalPages gets here
DEFAULT_RATE_LIMIT_RETRY_S = 1.0  # a token bucket refills within a second at any documented rate
BLOCK_RETRY_AFTER_S = 60.0  # GW.BLOCK: circuit open or maintenance; retrying within seconds only adds load
# GW.QUOTA_LIMIT: wait out one quota period. SECONDS and ROUND are documented, HOURS was seen in the 2026
# enforcement; ROUND is a data-solution subscription round of unknown length, so an hour.
QUOTA_PERIOD_S = {"SECONDS": 1.0, "MINUTES": 60.0, "HOURS": 3600.0, "DAYS": 86400.0, "ROUND": 3600.0}
DEFAULT_QUOTA_RETRY_S = 3600.0
ERROR_TEXT_LIMIT = 200
EMPTY_BUCKET_WAIT_S = 1.0
RATE_HEADER = "GNCP-GW-RateLimit-Replenish-Rate"
REMAINING_HEADER = "GNCP-GW-RateLimit-Remaining"
_CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
_END_OF_DAY = time(23, 59, 59, 999_000)


@dataclass(frozen=True, slots=True)
class _StreamSpec:
    """One Naver list endpoint: its path, page size, rows key and how a date window becomes parameters."""

    path: str
    page_size: int
    rows_key: str
    date_times: bool  # fromDate/toDate as ISO date-times (Q&A) or startSearchDate/endSearchDate as dates


_SPECS = {
    StreamKind.PRODUCT_QNA: _StreamSpec("/v1/contents/qnas", 100, "contents", date_times=True),
    StreamKind.CUSTOMER_INQUIRY: _StreamSpec("/v1/pay-user/inquiries", 200, "content", date_times=False),
}


class NaverConnector:
    """Polls one Naver Commerce API application (the seller's own store, type=SELF); one budget, one token."""

    marketplace: ClassVar[Marketplace] = Marketplace.NAVER

    def __init__(
        self,
        *,
        account_id: str,
        client_id: str,
        client_secret: SecretStr,
        client: httpx.AsyncClient,
        clock: Clock,
        streams: Sequence[StreamKind] = (StreamKind.PRODUCT_QNA, StreamKind.CUSTOMER_INQUIRY),
        max_requests_per_s: float = 1.0,
        backfill_days: int = 3,
        overlap_days: int = 1,
        recheck_days: int = 13,
    ) -> None:
        if not _CLIENT_ID.fullmatch(client_id):
            raise ValueError("client_id must be the application ID: letters, digits, '_' or '-'")
        if not streams or len(set(streams)) != len(streams) or not set(streams) <= _SPECS.keys():
            raise ValueError("streams must be distinct and among product_qna, customer_inquiry")
        if min(backfill_days, overlap_days, recheck_days) < 0:
            raise ValueError("backfill_days, overlap_days and recheck_days must not be negative")
        self.account_id = account_id
        self.streams = tuple(streams)
        self._client_id = client_id
        self._client = client
        self._clock = clock
        self._tokens = NaverTokenSource(client_id=client_id, client_secret=client_secret, clock=clock)
        self._budget = RequestBudget(max_requests_per_s, clock)
        self._min_interval_s = self._budget.interval_s
        self._advertised: dict[str, float] = {}  # path -> the gateway's replenish rate for that API
        self._last_sent_s = float("-inf")
        self._throttled_until_s = float("-inf")  # after a 429: no request before this (monotonic)
        # Values no error text or log line may show: the secret, and the last signs and tokens seen.
        self._secret = client_secret.get_secret_value()
        self._sensitive: deque[str] = deque(maxlen=8)
        self._backfill = timedelta(days=backfill_days)
        self._overlap = timedelta(days=overlap_days)
        self._recheck = timedelta(days=recheck_days)

    def __repr__(self) -> str:
        return f"NaverConnector(account_id={self.account_id!r}, client_id={self._client_id!r})"

    @property
    def token_requests(self) -> int:
        """How many tokens this connector has been issued so far."""
        return self._tokens.issued

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def poll(self, stream: StreamKind, cursor: Cursor | None, *, now: datetime) -> PollResult:
        """Read new/changed inquiries since `cursor` and the ids still open in the recheck range."""
        if stream not in self.streams:
            raise ValueError(f"stream {stream} is not enabled for this connector")
        if now.tzinfo is None:
            raise ValueError("poll needs a timezone-aware `now`")
        spec = _SPECS[stream]
        tally = PollTally("naver", self.account_id, stream)
        today = now.astimezone(KST).date()
        first = tally.first_date(cursor, now, backfill=self._backfill, overlap=self._overlap)
        changed = await self._read_range(spec, None, first, today, now, tally)
        recheck_first = today - self._recheck
        still_open = await self._read_range(spec, False, recheck_first, today, now, tally)
        inquiries = tally.normalize(changed.rows, lambda raw: _to_inquiry(raw, self.account_id, stream))
        snapshot = tally.open_snapshot(still_open, lambda raw: row_id(raw, stream), recheck_first, now)
        return tally.result(inquiries, snapshot, now)

    async def _read_range(
        self, spec: _StreamSpec, answered: bool | None, first: date, last: date, now: datetime, tally: PollTally
    ) -> Listing:
        """Every row (`answered` None) or every unanswered row received on [first, last], all windows and pages."""
        listing = Listing()
        for window in date_windows(first, last, max_days=MAX_WINDOW_DATES):
            totals: set[int | None] = set()
            for page_num in range(1, MAX_PAGES_PER_WINDOW + 1):
                params = _params(spec, window, now, answered, page_num)
                page = parse_page(await self._get(spec.path, params, tally), spec.rows_key)
                listing.rows.extend(page.rows)
                if not page.rows:
                    # Running dry before the last page means rows left the listing while we walked it.
                    listing.steady = listing.steady and page_num == 1
                    break
                totals.add(page.total_elements)
                # Our own page counter also ends the walk; Spring's `number` is 0-based and not relied on.
                if page.last or (page.total_pages is not None and page_num >= page.total_pages):
                    break
            else:
                raise Unavailable(f"naver {spec.path}: more than {MAX_PAGES_PER_WINDOW} pages")
            # A total that moved between pages shifted rows across page borders: one may have been missed.
            listing.steady = listing.steady and len(totals) <= 1
        return listing

    async def _get(self, path: str, params: httpx.QueryParams, tally: PollTally) -> object:
        """One authorized GET; re-issues the token and retries once on 401 GW.AUTHN. Returns the JSON body."""
        issue = partial(self._issue_token, tally)
        token = await self._tokens.token(issue)
        response = await self._send(tally, "GET", path, params=params, token=token)
        if response.status_code == 401 and _error_code(response) == "GW.AUTHN":
            # The documented fallback: the token expired early or was replaced. One new token, one more try;
            # a second refusal is an AuthFailed below, never a loop.
            log.info("naver.token_refused", account_id=self.account_id, path=path)
            self._tokens.invalidate(token)
            token = await self._tokens.token(issue)
            response = await self._send(tally, "GET", path, params=params, token=token)
        self._raise_for_status(response, path)
        return self._json(response, path)

    async def _issue_token(self, tally: PollTally, form: Mapping[str, str]) -> object:
        """POST the token form as an x-www-form-urlencoded body (nothing in the query string)."""
        self._sensitive.append(form["client_secret_sign"])
        response = await self._send(tally, "POST", TOKEN_PATH, form=form)
        if response.status_code in (400, 401, 403):
            raise AuthFailed(f"naver: {response.status_code} token request refused: {self._error_text(response)}")
        self._raise_for_status(response, TOKEN_PATH)
        payload = self._json(response, TOKEN_PATH)
        if isinstance(payload, Mapping) and isinstance(payload.get("access_token"), str):
            self._sensitive.append(payload["access_token"])
        return payload

    async def _send(
        self,
        tally: PollTally,
        method: str,
        path: str,
        *,
        params: httpx.QueryParams | None = None,
        form: Mapping[str, str] | None = None,
        token: str | None = None,
    ) -> httpx.Response:
        wait_s = self._throttled_until_s - self._clock.monotonic()
        if wait_s > 0:
            # Still inside a 429's wait (maybe one the other stream got): fail fast rather than hold the poll,
            # and with it a graceful shutdown, in a sleep of up to an hour.
            raise RateLimited("naver: still waiting out a 429", retry_after_s=wait_s)
        await self._budget.acquire()
        self._last_sent_s = self._clock.monotonic()
        tally.requests += 1
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = await self._client.request(
                method, path, params=params, data=None if form is None else dict(form), headers=headers
            )
        except httpx.RequestError as err:
            raise Unavailable(f"naver request failed: {type(err).__name__}") from err
        self._observe_rate_limit(path, response)
        return response

    def _observe_rate_limit(self, path: str, response: httpx.Response) -> None:
        """Never exceed the replenish rate the gateway advertises, nor go on when it says none are left."""
        rate = _positive_number(response.headers.get(RATE_HEADER))
        if rate is not None:
            self._advertised[path] = rate
            # Limits are per API; one budget paced for the slowest one seen keeps every API under its own.
            interval_s = max(self._min_interval_s, *(1.0 / r for r in self._advertised.values()))
            if interval_s != self._budget.interval_s:
                log.info("naver.rate_adjusted", account_id=self.account_id, per_s=round(1.0 / interval_s, 3))
                self._budget.interval_s = interval_s
            # The slot after the one just used was reserved at the old pace; move it to the new one.
            self._budget.push_back(self._last_sent_s + interval_s - self._clock.monotonic())
        if _positive_number(response.headers.get(REMAINING_HEADER), allow_zero=True) == 0:
            # The bucket is empty (someone else shares the application, or a burst was spent): bursting
            # "borrows from the next second", so give it that second before the next call.
            self._budget.push_back(max(self._budget.interval_s, EMPTY_BUCKET_WAIT_S))

    def _json(self, response: httpx.Response, path: str) -> object:
        try:
            return json.loads(response.content)
        except (ValueError, RecursionError) as err:
            log.warning(
                "naver.undecodable_page",
                account_id=self.account_id,
                path=path,
                content_type=response.headers.get("Content-Type"),
                length=len(response.content),
            )
            raise Unavailable(f"naver: {response.status_code} response is not JSON") from err

    def _raise_for_status(self, response: httpx.Response, path: str) -> None:
        """Translate every non-2xx status into our error tree; the poller owns retries and their logging."""
        status = response.status_code
        if 200 <= status < 300:
            return
        code = _error_code(response)
        asked_s = parse_retry_after(response.headers.get("Retry-After"), now=self._clock.now())
        message = self._error_text(response)
        if status == 429 and code == "GW.QUOTA_LIMIT":
            period = response.headers.get("GNCP-GW-Quota-Period", "").strip().upper()
            retry_after_s = max(asked_s or 0.0, QUOTA_PERIOD_S.get(period, DEFAULT_QUOTA_RETRY_S))
            self._throttle(retry_after_s)
            raise RateLimited(
                f"naver: 429 GW.QUOTA_LIMIT, quota per {period or 'unknown period'}: {message}",
                retry_after_s=retry_after_s,
            )
        if status == 429:
            rate = self._advertised.get(path)
            retry_after_s = asked_s if asked_s is not None else (1.0 / rate if rate else DEFAULT_RATE_LIMIT_RETRY_S)
            self._throttle(retry_after_s)
            raise RateLimited(f"naver: 429 {code or 'Too Many Requests'}", retry_after_s=retry_after_s)
        if status in (401, 403):
            # 401: the token is refused even fresh; 403 GW.IP_NOT_ALLOWED: this host's IP is not in the
            # application's list; 403 FORBIDDEN: the application lacks the API group. All need the seller.
            raise AuthFailed(f"naver: {status} {code or 'refused'}: {message}")
        if status == 503 and (code or "").startswith("GW.BLOCK"):
            raise Unavailable(f"naver: 503 {code}: {message}", retry_after_s=max(asked_s or 0.0, BLOCK_RETRY_AFTER_S))
        if status >= 500:
            raise Unavailable(f"naver: server error {status} {code or ''}".rstrip(), retry_after_s=asked_s)
        # Our request no longer fits the API: a connector bug or an API change, worth an error line.
        log.error(
            "naver.request_rejected", account_id=self.account_id, status=status, path=path, code=code, message=message
        )
        raise Unavailable(f"naver: {status} request rejected: {code or ''}: {message}")

    def _throttle(self, seconds: float) -> None:
        self._throttled_until_s = max(self._throttled_until_s, self._clock.monotonic() + seconds)

    def _error_text(self, response: httpx.Response) -> str:
        """The server's message and invalid inputs, without secrets and cut short; errors may echo the request."""
        try:
            body = json.loads(response.content)
        except (ValueError, RecursionError):
            return self._scrub(response.text)
        if not isinstance(body, Mapping):
            return self._scrub(json.dumps(body, ensure_ascii=False))
        parts = [str(body.get("message") or "")]
        inputs = body.get("invalidInputs")
        if isinstance(inputs, list):
            parts += [f"{i.get('name')}: {i.get('message')}" for i in inputs if isinstance(i, Mapping)]
        return self._scrub("; ".join(p for p in parts if p))

    def _scrub(self, text: str) -> str:
        for secret in (self._secret, *self._sensitive):
            text = text.replace(secret, "***")
        return " ".join(text.split())[:ERROR_TEXT_LIMIT]


def _params(
    spec: _StreamSpec, window: DateWindow, now: datetime, answered: bool | None, page: int
) -> httpx.QueryParams:
    """The documented query of one page: dates (KST), the answered filter if any, page from 1, the largest size."""
    if spec.date_times:
        start = datetime.combine(window.start, time(), KST)
        # Never ask about the future: toDate ends today's window at the poll time.
        end = min(datetime.combine(window.end, _END_OF_DAY, KST), now.astimezone(KST))
        dates = [
            ("fromDate", start.isoformat(timespec="milliseconds")),
            ("toDate", end.isoformat(timespec="milliseconds")),
        ]
    else:
        dates = [("startSearchDate", window.start.isoformat()), ("endSearchDate", window.end.isoformat())]
    status = [] if answered is None else [("answered", "true" if answered else "false")]
    return httpx.QueryParams([*dates, *status, ("page", str(page)), ("size", str(spec.page_size))])


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
