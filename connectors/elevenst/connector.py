"""11st (11번가 Seller OpenAPI, EUC-KR XML): product Q&A and 긴급알리미 of one seller API key.

Product Q&A (`prodqnalist`, windows of at most 7 dates, no paging), two passes over KST calendar dates:
1. answerStatus 00 (all) over [cursor date - overlap, today]: new and changed questions;
2. answerStatus 02 (unanswered) over [today - recheck, today]: the ids still open, so the store closes the rest.
긴급알리미 (`getalimilist`, windows of at most 30 dates, no paging): one pass, all statuses, over
[min(cursor date - overlap, today - recheck), today]; its rows in 01/02/04 (미확인, 답변대기, 재답변요청) are the
open snapshot, and each row's `emerReplyDt` (회신기한) becomes the inquiry's `deadline_at`.
A typical poll (cursor from minutes ago, recheck 13 days): product Q&A 3 requests, 긴급알리미 1 request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import ClassVar
from xml.etree.ElementTree import Element

import httpx
import structlog
from pydantic import SecretStr

from connectors.base import AuthFailed, Listing, PollTally, RateLimited, RequestBudget, Unavailable, date_windows
from connectors.elevenst.rows import (
    ALIMI_ROW,
    QNA_ROW,
    alimi_id,
    alimi_is_open,
    alimi_to_inquiry,
    find_text,
    parse,
    qna_id,
    qna_to_inquiry,
    rows,
)
from core.clock import Clock
from core.http import parse_retry_after
from core.models import KST, Cursor, Marketplace, PollResult, StreamKind

__all__ = ["ElevenstConnector"]

log = structlog.get_logger(__name__)

QNA_WINDOW_DATES = 7  # "최대 조회기간은 7일 입니다."; 7 dates inclusive is safe either way
ALIMI_WINDOW_DATES = 30  # result_code -10004 above 30 days
QNA_ALL, QNA_UNANSWERED = "00", "02"
MAINTENANCE_CODE = "-1000"  # Friday early-morning maintenance
MAINTENANCE_RETRY_AFTER_S = 1800.0
DEFAULT_RETRY_AFTER_S = 60.0
ERROR_TEXT_LIMIT = 200
# Result codes that mean success: 0 = no rows (긴급알리미), 200 = OK; UNCONFIRMED whether lists ever send 200.
_OK_CODES = frozenset({"", "0", "200"})
_AUTH_WORDS = re.compile(r"openapikey|api\s*key|인증|권한|아이피|\bip\b|등록되지\s*않은", re.IGNORECASE)


class ElevenstConnector:
    """Polls one 11st seller API key; every request of every stream shares one request budget."""

    marketplace: ClassVar[Marketplace] = Marketplace.ELEVENST

    def __init__(
        self,
        *,
        account_id: str,
        api_key: SecretStr,
        client: httpx.AsyncClient,
        clock: Clock,
        streams: Sequence[StreamKind] = (StreamKind.PRODUCT_QNA, StreamKind.URGENT),
        max_requests_per_s: float = 1.0,
        backfill_days: int = 3,
        overlap_days: int = 1,
        recheck_days: int = 13,
    ) -> None:
        if not api_key.get_secret_value():
            raise ValueError("api_key must not be empty")
        if not streams or len(set(streams)) != len(streams):
            raise ValueError("streams must be distinct and among product_qna, urgent")
        if not set(streams) <= {StreamKind.PRODUCT_QNA, StreamKind.URGENT}:
            raise ValueError("streams must be distinct and among product_qna, urgent")
        if min(backfill_days, overlap_days, recheck_days) < 0:
            raise ValueError("backfill_days, overlap_days and recheck_days must not be negative")
        self.account_id = account_id
        self.streams = tuple(streams)
        self._api_key = api_key
        self._client = client
        self._clock = clock
        self._budget = RequestBudget(max_requests_per_s, clock)
        self._backfill = timedelta(days=backfill_days)
        self._overlap = timedelta(days=overlap_days)
        self._recheck = timedelta(days=recheck_days)

    def __repr__(self) -> str:
        return f"ElevenstConnector(account_id={self.account_id!r})"

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def poll(self, stream: StreamKind, cursor: Cursor | None, *, now: datetime) -> PollResult:
        """Read new/changed items since `cursor` and the ids still open in the recheck range."""
        if stream not in self.streams:
            raise ValueError(f"stream {stream} is not enabled for this connector")
        if now.tzinfo is None:
            raise ValueError("poll needs a timezone-aware `now`")
        tally = PollTally("elevenst", self.account_id, stream)
        today = now.astimezone(KST).date()
        first = tally.first_date(cursor, now, backfill=self._backfill, overlap=self._overlap)
        recheck_first = today - self._recheck
        if stream is StreamKind.PRODUCT_QNA:
            changed = await self._read_qna(QNA_ALL, first, today, tally)
            still_open = await self._read_qna(QNA_UNANSWERED, recheck_first, today, tally)
            inquiries = tally.normalize(changed.rows, lambda raw: qna_to_inquiry(raw, self.account_id))
            return tally.result(inquiries, tally.open_snapshot(still_open, qna_id, recheck_first, now), now)
        start = min(first, recheck_first)
        listing = await self._read_alimi(start, today, tally)
        inquiries = tally.normalize(listing.rows, lambda raw: alimi_to_inquiry(raw, self.account_id))
        still_open = Listing([raw for raw in listing.rows if alimi_is_open(raw)], listing.steady)
        return tally.result(inquiries, tally.open_snapshot(still_open, alimi_id, start, now), now)

    async def _read_qna(self, status: str, first: date, last: date, tally: PollTally) -> Listing:
        """Every product Q&A row of `status` created on [first, last]; one request per window, no paging."""
        return await self._read(
            lambda s, e: f"/rest/prodqnaservices/prodqnalist/{s}/{e}/{status}",
            QNA_ROW,
            QNA_WINDOW_DATES,
            first,
            last,
            tally,
        )

    async def _read_alimi(self, first: date, last: date, tally: PollTally) -> Listing:
        """Every 긴급알리미 row (all statuses) created on [first, last]."""
        return await self._read(
            lambda s, e: f"/rest/alimi/getalimilist/{s}/{e}", ALIMI_ROW, ALIMI_WINDOW_DATES, first, last, tally
        )

    async def _read(
        self,
        path_of: Callable[[str, str], str],
        row_name: str,
        max_days: int,
        first: date,
        last: date,
        tally: PollTally,
    ) -> Listing:
        listing = Listing()
        for window in date_windows(first, last, max_days=max_days):
            root = await self._get(path_of(f"{window.start:%Y%m%d}", f"{window.end:%Y%m%d}"), tally)
            listing.rows.extend(rows(root, row_name))
        return listing

    async def _get(self, path: str, tally: PollTally) -> Element:
        """One GET through the budget; the parsed page, or the ConnectorError it means."""
        await self._budget.acquire()
        tally.requests += 1
        # No Content-Type on a GET: prodqnaservices answers 415 to one.
        headers = {"openapikey": self._api_key.get_secret_value(), "Accept": "application/xml"}
        try:
            response = await self._client.get(path, headers=headers)
        except httpx.RequestError as err:
            raise Unavailable(f"elevenst request failed: {type(err).__name__}") from err
        return self._unwrap(response, path)

    def _unwrap(self, response: httpx.Response, path: str) -> Element:
        status = response.status_code
        endpoint = path.split("/")[2] if path.count("/") > 2 else path
        if status in (401, 403):
            raise AuthFailed(f"elevenst: {status} openapikey refused: {self._message(response)}")
        if status == 429:
            asked_s = parse_retry_after(response.headers.get("Retry-After"), now=self._clock.now())
            retry_after_s = DEFAULT_RETRY_AFTER_S if asked_s is None else asked_s
            self._budget.push_back(retry_after_s)
            raise RateLimited("elevenst: 429 Too Many Requests", retry_after_s=retry_after_s)
        try:
            root: Element | None = parse(response.content)
        except ValueError:
            root = None
        code = "" if root is None else (find_text(root, "result_code") or "")
        if code == MAINTENANCE_CODE:
            # Expected weekly; the poller logs the outage transition once, so this stays at info.
            log.info("elevenst.maintenance", account_id=self.account_id, endpoint=endpoint)
            raise Unavailable("elevenst: system maintenance (-1000)", retry_after_s=MAINTENANCE_RETRY_AFTER_S)
        if status >= 500:
            asked_s = parse_retry_after(response.headers.get("Retry-After"), now=self._clock.now())
            raise Unavailable(f"elevenst: server error {status}", retry_after_s=asked_s)
        if not 200 <= status < 300:
            message = self._message(response)
            log.error("elevenst.request_rejected", account_id=self.account_id, status=status, endpoint=endpoint)
            raise Unavailable(f"elevenst: {status} request rejected: {message}")
        if root is None:
            log.warning(
                "elevenst.undecodable_page",
                account_id=self.account_id,
                endpoint=endpoint,
                content_type=response.headers.get("Content-Type"),
                length=len(response.content),
            )
            raise Unavailable(f"elevenst: {status} response is not XML")
        if code not in _OK_CODES:
            message = self._scrub(find_text(root, "result_text") or "")
            if _AUTH_WORDS.search(message):
                raise AuthFailed(f"elevenst: result_code {code}: {message}")
            # -1, -10001..-10004, 500: our request no longer fits the API (a connector bug or an API change).
            log.error(
                "elevenst.request_rejected", account_id=self.account_id, endpoint=endpoint, code=code, message=message
            )
            raise Unavailable(f"elevenst: result_code {code}: {message}")
        return root

    def _message(self, response: httpx.Response) -> str:
        """The server's result_text (or body), without our key and cut short: error bodies may echo the request."""
        try:
            text = find_text(parse(response.content), "result_text")
        except ValueError:
            text = None
        return self._scrub(text if text is not None else response.content.decode("cp949", errors="replace"))

    def _scrub(self, text: str) -> str:
        text = text.replace(self._api_key.get_secret_value(), "***")
        return " ".join(text.split())[:ERROR_TEXT_LIMIT]
