"""Coupang (WING Open API): product Q&A and call-center inquiries of one vendorId.

One poll of a stream makes two passes over KST calendar dates, each in windows of at most 7 dates, all pages:
1. every status over [cursor date - overlap, today]: new and changed inquiries;
2. unanswered-only over [today - recheck, today]: the ids still open, so the store can close the rest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import ClassVar, NamedTuple

import httpx
import structlog
from pydantic import SecretStr

from connectors.base import (
    AuthFailed,
    Listing,
    PollTally,
    RateLimited,
    RequestBudget,
    Unavailable,
    date_windows,
)
from connectors.coupang.auth import CoupangAuth
from connectors.coupang.rows import row_id
from connectors.coupang.rows import to_inquiry as _to_inquiry
from connectors.rows import is_int
from core.clock import Clock
from core.http import parse_retry_after
from core.models import KST, Cursor, Marketplace, PollResult, StreamKind

__all__ = ["CoupangConnector"]

log = structlog.get_logger(__name__)

MAX_WINDOW_DATES = 7  # inquiryEndAt - inquiryStartAt <= 7 days; 7 dates inclusive is safe either way
MAX_PAGES_PER_WINDOW = 500  # only a server that keeps growing totalPages gets here
DEFAULT_RETRY_AFTER_S = 60.0
BLOCKED_RETRY_AFTER_S = 600.0  # the Akamai 403 block lifts after minutes; retrying sooner prolongs it
ERROR_TEXT_LIMIT = 200
API_VERSIONS = frozenset({"v4", "v5"})
_VENDOR_ID = re.compile(r"[A-Za-z0-9]+")
# TODO: send `X-EXTENDED-TIMEOUT: 90000` (ms) if 7-date windows time out; the doc offers it for slow calls.
_HEADERS = {"Content-Type": "application/json;charset=UTF-8"}
_AUTH_WORDS = re.compile(
    r"signature|access[\s_-]?key|secret|hmac|authori[sz]|authenticat|credential|expired|\bip\b|인증|권한|아이피",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _StreamSpec:
    """How one Coupang list endpoint is asked for everything / for the unanswered only."""

    resource: str
    status_param: str
    all_status: str
    open_status: str
    page_size: int


_SPECS = {
    StreamKind.PRODUCT_QNA: _StreamSpec("onlineInquiries", "answeredType", "ALL", "NOANSWER", 50),
    StreamKind.CALL_CENTER: _StreamSpec("callCenterInquiries", "partnerCounselingStatus", "NONE", "NO_ANSWER", 30),
}


class CoupangConnector:
    """Polls one Coupang vendorId; every request of every stream shares one request budget."""

    marketplace: ClassVar[Marketplace] = Marketplace.COUPANG

    def __init__(
        self,
        *,
        account_id: str,
        vendor_id: str,
        access_key: SecretStr,
        secret_key: SecretStr,
        client: httpx.AsyncClient,
        clock: Clock,
        streams: Sequence[StreamKind] = (StreamKind.PRODUCT_QNA, StreamKind.CALL_CENTER),
        max_requests_per_s: float = 2.0,
        backfill_days: int = 3,
        overlap_days: int = 1,
        recheck_days: int = 14,
        api_version: str = "v5",
    ) -> None:
        if not _VENDOR_ID.fullmatch(vendor_id):
            raise ValueError("vendor_id must be letters and digits, e.g. A00012345")
        if api_version not in API_VERSIONS:
            raise ValueError(f"api_version must be one of {sorted(API_VERSIONS)}")
        if not streams or len(set(streams)) != len(streams) or not set(streams) <= _SPECS.keys():
            raise ValueError("streams must be distinct and among product_qna, call_center")
        if min(backfill_days, overlap_days, recheck_days) < 0:
            raise ValueError("backfill_days, overlap_days and recheck_days must not be negative")
        self.account_id = account_id
        self.streams = tuple(streams)
        self._vendor_id = vendor_id
        self._secrets = tuple(s for s in (access_key.get_secret_value(), secret_key.get_secret_value()) if s)
        self._client = client
        self._clock = clock
        self._budget = RequestBudget(max_requests_per_s, clock)
        self._auth = CoupangAuth(access_key=access_key, secret_key=secret_key, now=clock.now)
        self._backfill = timedelta(days=backfill_days)
        self._overlap = timedelta(days=overlap_days)
        self._recheck = timedelta(days=recheck_days)
        self._base_path = f"/v2/providers/openapi/apis/api/{api_version}/vendors/{vendor_id}"

    def __repr__(self) -> str:
        return f"CoupangConnector(account_id={self.account_id!r}, vendor_id={self._vendor_id!r})"

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
        tally = PollTally("coupang", self.account_id, stream)
        today = now.astimezone(KST).date()
        first = tally.first_date(cursor, now, backfill=self._backfill, overlap=self._overlap)
        changed = await self._read_range(spec, spec.all_status, first, today, tally)
        recheck_first = today - self._recheck
        still_open = await self._read_range(spec, spec.open_status, recheck_first, today, tally)
        inquiries = tally.normalize(changed.rows, lambda raw: _to_inquiry(raw, self.account_id, stream))
        snapshot = tally.open_snapshot(still_open, row_id, recheck_first, now)
        return tally.result(inquiries, snapshot, now)

    async def _read_range(self, spec: _StreamSpec, status: str, first: date, last: date, tally: PollTally) -> Listing:
        """Every row of `status` received on [first, last], all windows and all pages."""
        listing = Listing()
        for window in date_windows(first, last, max_days=MAX_WINDOW_DATES):
            totals: set[int | None] = set()
            for page_num in range(1, MAX_PAGES_PER_WINDOW + 1):
                params = httpx.QueryParams(
                    [
                        ("vendorId", self._vendor_id),
                        (spec.status_param, status),
                        ("inquiryStartAt", window.start.isoformat()),
                        ("inquiryEndAt", window.end.isoformat()),
                        ("pageNum", str(page_num)),
                        ("pageSize", str(spec.page_size)),
                    ]
                )
                page = _page(await self._get(f"{self._base_path}/{spec.resource}", params, tally))
                listing.rows.extend(page.rows)
                if not page.rows:
                    # Running dry before totalPages means rows left the listing while we walked it.
                    listing.steady = listing.steady and page_num == 1
                    break
                totals.add(page.total_elements)
                # Our own page counter also ends the walk if the server echoes a stale currentPage.
                if max(page_num, page.current) >= page.total_pages:
                    break
            else:
                raise Unavailable(f"coupang {spec.resource}: more than {MAX_PAGES_PER_WINDOW} pages")
            # A total that moved between pages shifted rows across page borders: one may have been missed.
            listing.steady = listing.steady and len(totals) <= 1
        return listing

    async def _get(self, path: str, params: httpx.QueryParams, tally: PollTally) -> object:
        """One signed GET through the budget; returns the envelope's `data` or raises a ConnectorError."""
        await self._budget.acquire()
        tally.requests += 1
        try:
            response = await self._client.get(path, params=params, headers=_HEADERS, auth=self._auth)
        except httpx.RequestError as err:
            raise Unavailable(f"coupang request failed: {type(err).__name__}") from err
        return self._unwrap(response, path)

    def _unwrap(self, response: httpx.Response, path: str) -> object:
        """The envelope's `data`, or the one ConnectorError this response means."""
        self._raise_for_status(response, path)
        try:
            envelope = json.loads(response.content)
        except (ValueError, RecursionError) as err:
            log.warning(
                "coupang.undecodable_page",
                account_id=self.account_id,
                path=path,
                content_type=response.headers.get("Content-Type"),
                length=len(response.content),
            )
            raise Unavailable(f"coupang: {response.status_code} response is not JSON") from err
        if not isinstance(envelope, dict) or str(envelope.get("code")) != "200":
            code = envelope.get("code") if isinstance(envelope, dict) else None
            message = self._scrub(str(envelope.get("message"))) if isinstance(envelope, dict) else ""
            log.warning("coupang.error_envelope", account_id=self.account_id, path=path, code=code, message=message)
            raise Unavailable(f"coupang: envelope code {code}: {message}")
        return envelope.get("data")

    def _raise_for_status(self, response: httpx.Response, path: str) -> None:
        """Translate every non-2xx status into our error tree; the poller owns retries and their logging."""
        status = response.status_code
        asked_s = parse_retry_after(response.headers.get("Retry-After"), now=self._clock.now())
        if status == 429:
            retry_after_s = DEFAULT_RETRY_AFTER_S if asked_s is None else asked_s
            self._budget.push_back(retry_after_s)
            raise RateLimited("coupang: 429 Too Many Requests", retry_after_s=retry_after_s)
        if status == 403 and _is_html(response):
            retry_after_s = max(asked_s or 0.0, BLOCKED_RETRY_AFTER_S)
            self._budget.push_back(retry_after_s)  # the CDN blocks the caller: every stream of the vendor waits
            raise Unavailable("coupang: 403 Access Denied (temporary block)", retry_after_s=retry_after_s)
        if status in (401, 403):
            message = self._error_text(response)
            if status == 401 or _AUTH_WORDS.search(message):
                raise AuthFailed(f"coupang: {status} credentials refused: {message}")
            # Not recognisably about our keys: wait as for a block rather than stop the account for good.
            raise Unavailable(f"coupang: 403 {message}", retry_after_s=BLOCKED_RETRY_AFTER_S)
        if status >= 500:
            raise Unavailable(f"coupang: server error {status}", retry_after_s=asked_s)
        if not 200 <= status < 300:
            message = self._error_text(response)
            # Our request no longer fits the API: a connector bug or an API change, worth an error line.
            log.error("coupang.request_rejected", account_id=self.account_id, status=status, path=path, message=message)
            raise Unavailable(f"coupang: {status} request rejected: {message}")

    def _error_text(self, response: httpx.Response) -> str:
        """The server's message, without our keys and cut short; error bodies may echo what we sent."""
        try:
            body = json.loads(response.content)
        except (ValueError, RecursionError):
            return self._scrub(response.text)
        if isinstance(body, dict) and body.get("message") is not None:
            return self._scrub(str(body["message"]))
        return self._scrub(json.dumps(body, ensure_ascii=False))

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return " ".join(text.split())[:ERROR_TEXT_LIMIT]


class _Page(NamedTuple):
    rows: list[object]
    current: int
    total_pages: int
    total_elements: int | None


def _page(data: object) -> _Page:
    """One list response's `data`; an empty result needs no pagination."""
    if data is None:
        return _Page([], 0, 0, None)
    if not isinstance(data, Mapping):
        raise Unavailable("coupang: page data is not an object")
    content = data.get("content")
    if content is None or content == []:
        return _Page([], 0, 0, None)
    if not isinstance(content, list):
        raise Unavailable("coupang: page content is not a list")
    pagination = data.get("pagination")
    if not isinstance(pagination, Mapping):
        raise Unavailable("coupang: page has no pagination")
    current, total = pagination.get("currentPage"), pagination.get("totalPages")
    if not is_int(current) or not is_int(total):
        raise Unavailable("coupang: page has no currentPage/totalPages")
    elements = pagination.get("totalElements")
    return _Page(content, current, total, elements if is_int(elements) else None)


def _is_html(response: httpx.Response) -> bool:
    content_type = response.headers.get("Content-Type", "").lower()
    return "html" in content_type or response.content.lstrip()[:1] == b"<"
