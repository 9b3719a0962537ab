"""Coupang (WING Open API): product Q&A and call-center inquiries of one vendorId.

One poll of a stream makes two passes over KST calendar dates, each in windows of at most 7 dates, all pages:
1. every status over [cursor date - overlap, today]: new and changed inquiries;
2. unanswered-only over [today - recheck, today]: the ids still open, so the store can close the rest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import ClassVar, Unpack

import httpx
import structlog
from pydantic import SecretStr

from connectors.base import ConnectorError, ErrorBody, HttpEdge, Unavailable, json_error_text
from connectors.coupang.auth import CoupangAuth
from connectors.coupang.rows import row_id
from connectors.coupang.rows import to_inquiry as _to_inquiry
from connectors.polling import DateWindow, Listing, Page, PollTally, start_poll
from connectors.polling_connector import PollDefaults, PollingConnector, PollOptions
from connectors.rows import is_int
from core.clock import Clock
from core.models import Cursor, Marketplace, PollResult, StreamKind

__all__ = ["CoupangConnector"]

log = structlog.get_logger(__name__)

MAX_WINDOW_DATES = 7  # inquiryEndAt - inquiryStartAt <= 7 days; 7 dates inclusive is safe either way
MAX_PAGES_PER_WINDOW = 500  # only a server that keeps growing totalPages gets here
BLOCKED_RETRY_AFTER_S = 600.0  # the Akamai 403 block lifts after minutes; retrying sooner prolongs it
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


class CoupangConnector(PollingConnector):
    """Polls one Coupang vendorId; every request of every stream shares one request budget."""

    DEFAULTS: ClassVar[PollDefaults] = PollDefaults(
        (StreamKind.PRODUCT_QNA, StreamKind.CALL_CENTER), max_requests_per_s=2.0, recheck_days=14
    )
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
        api_version: str = "v5",
        **options: Unpack[PollOptions],
    ) -> None:
        if not _VENDOR_ID.fullmatch(vendor_id):
            raise ValueError("vendor_id must be letters and digits, e.g. A00012345")
        if api_version not in API_VERSIONS:
            raise ValueError(f"api_version must be one of {sorted(API_VERSIONS)}")
        rate_per_s = self._configure(account_id, options)
        self._vendor_id = vendor_id
        self._edge = CoupangEdge(
            account_id,
            client=client,
            clock=clock,
            rate_per_s=rate_per_s,
            auth=CoupangAuth(access_key=access_key, secret_key=secret_key, now=clock.now),
            secrets=(access_key.get_secret_value(), secret_key.get_secret_value()),
        )
        self._base_path = f"/v2/providers/openapi/apis/api/{api_version}/vendors/{vendor_id}"

    def __repr__(self) -> str:
        return f"CoupangConnector(account_id={self.account_id!r}, vendor_id={self._vendor_id!r})"

    async def poll(self, stream: StreamKind, cursor: Cursor | None, *, now: datetime) -> PollResult:
        """Read new/changed inquiries since `cursor` and the ids still open in the recheck range."""
        tally = start_poll(self, stream, cursor, now, self._lookback)
        spec = _SPECS[stream]
        changed = await self._read_range(spec, spec.all_status, tally.first, tally)
        still_open = await self._read_range(spec, spec.open_status, tally.recheck_first, tally)
        inquiries = tally.normalize(changed.rows, lambda raw: _to_inquiry(raw, self.account_id, stream))
        snapshot = tally.open_snapshot(still_open, row_id, tally.recheck_first, now)
        return tally.result(inquiries, snapshot, now)

    async def _read_range(self, spec: _StreamSpec, status: str, first: date, tally: PollTally) -> Listing:
        """Every row of `status` received from `first` to today, all windows and all pages."""

        async def read_page(window: DateWindow, page_num: int) -> Page:
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
            return _page(await self._get(f"{self._base_path}/{spec.resource}", params, tally))

        return await tally.walk(first, read_page, max_days=MAX_WINDOW_DATES, max_pages=MAX_PAGES_PER_WINDOW)

    async def _get(self, path: str, params: httpx.QueryParams, tally: PollTally) -> object:
        """One signed GET; returns the envelope's `data` or raises a ConnectorError."""
        response = await self._edge.send("GET", path, count=tally, params=params, headers=_HEADERS)
        envelope = self._edge.json_body(response, path)
        if not isinstance(envelope, dict) or str(envelope.get("code")) != "200":
            code = envelope.get("code") if isinstance(envelope, dict) else None
            message = self._edge.scrub(str(envelope.get("message"))) if isinstance(envelope, dict) else ""
            log.warning("coupang.error_envelope", account_id=self.account_id, path=path, code=code, message=message)
            raise Unavailable(f"coupang: envelope code {code}: {message}")
        return envelope.get("data")


class CoupangEdge(HttpEdge):
    """Coupang's HTTP edge: error bodies carry a `message`, and a 403 may be the CDN's block, not our keys."""

    marketplace = Marketplace.COUPANG

    def read_error(self, response: httpx.Response) -> ErrorBody:
        """The server's `message`; Coupang error bodies carry no code of their own."""
        return ErrorBody(None, json_error_text(response, lambda body: _str_or_none(body.get("message"))))

    def refusal(self, response: httpx.Response, path: str, body: ErrorBody) -> ConnectorError | None:
        """Coupang's own 403s: the CDN's temporary block, and one not recognisably about our keys."""
        if response.status_code != 403:
            return None
        if _is_html(response):
            retry_after_s = max(self.retry_after_s(response) or 0.0, BLOCKED_RETRY_AFTER_S)
            self.budget.push_back(retry_after_s)  # the CDN blocks the caller: every stream of the vendor waits
            return Unavailable("coupang: 403 Access Denied (temporary block)", retry_after_s=retry_after_s)
        if _AUTH_WORDS.search(body.message):
            return None  # credentials refused
        # Not recognisably about our keys: wait as for a block rather than stop the account for good.
        return Unavailable(f"coupang: 403 {body.message}", retry_after_s=BLOCKED_RETRY_AFTER_S)


def _page(data: object) -> Page:
    """One list response's `data`; an empty result needs no pagination."""
    if data is None:
        return Page([])
    if not isinstance(data, Mapping):
        raise Unavailable("coupang: page data is not an object")
    content = data.get("content")
    if content is None or content == []:
        return Page([])
    if not isinstance(content, list):
        raise Unavailable("coupang: page content is not a list")
    pagination = data.get("pagination")
    if not isinstance(pagination, Mapping):
        raise Unavailable("coupang: page has no pagination")
    current, total = pagination.get("currentPage"), pagination.get("totalPages")
    if not is_int(current) or not is_int(total):
        raise Unavailable("coupang: page has no currentPage/totalPages")
    elements = pagination.get("totalElements")
    # Our own page counter also ends the walk if the server echoes a stale currentPage.
    return Page(content, elements if is_int(elements) else None, total_pages=total, last=current >= total)


def _str_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _is_html(response: httpx.Response) -> bool:
    content_type = response.headers.get("Content-Type", "").lower()
    return "html" in content_type or response.content.lstrip()[:1] == b"<"
