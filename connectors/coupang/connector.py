"""Coupang (WING Open API): product Q&A and call-center inquiries of one vendorId.

A quick poll (connectors/polling.py) of a stream asks for the unanswered only (NOANSWER, NO_ANSWER) over the last
7 dates, the widest one request may ask about: one request while the open inquiries fit one page (50 product Q&A,
30 call-center). Its rows are the new inquiries and the open snapshot of those dates. A sweep (hourly, and the first
poll) makes two passes over KST dates, in windows of at most 7 dates, all pages:
1. every status over [last sweep's date - overlap, today], at least the last 7 dates after the first poll
   (which reads the backfill, and takes in the open rows of the 7 dates from pass 2): new and changed inquiries,
   those answered before inqd saw them (with `inquiryCommentAt` / `answeredAt`, which replace a quick poll's time);
2. unanswered-only over [today - recheck, today]: the ids still open, so the store can close the rest.
Detection bounds: an inquiry received in the last 7 dates shows up, and is seen answered, within one poll interval;
one answered before any poll saw it open, or received before the last 7 dates, within a sweep period plus a poll
interval; one older than the recheck range is not rechecked.
Answers go to the two v4 `replies` endpoints (marketplaces.md §1.5, §1.7), signed as the lists are, in the name of
`reply_by` (the WING login ID); each inquiry takes one answer.
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

from connectors.base import ConnectorError, ErrorBody, HttpEdge, Unavailable, answer_by_words, json_error_text
from connectors.coupang.auth import CoupangAuth
from connectors.coupang.rows import row_id
from connectors.coupang.rows import to_inquiry as _to_inquiry
from connectors.polling import DateWindow, Listing, Page, PollTally, start_poll
from connectors.polling_connector import PollDefaults, PollingConnector, PollOptions
from connectors.rows import is_int
from core.answers import AnswerLimit, AnswerOutcome, AnswerRequest, AnswerResult
from core.clock import Clock
from core.http import json_object
from core.models import Cursor, Marketplace, PollResult, StreamKind

__all__ = ["CoupangConnector"]

log = structlog.get_logger(__name__)

MAX_WINDOW_DATES = 7  # inquiryEndAt - inquiryStartAt <= 7 days; 7 dates inclusive is safe either way
# A window of more pages is halved, down to one date; a date is read to its last page (pageNum has no documented
# maximum, §1.4). 500 pages of 50 is 25,000 rows, a request budget's worth of minutes per window.
MAX_PAGES_PER_WINDOW = 500
BLOCKED_RETRY_AFTER_S = 600.0  # the Akamai 403 block lifts after minutes; retrying sooner prolongs it
API_VERSIONS = frozenset({"v4", "v5"})
_VENDOR_ID = re.compile(r"[A-Za-z0-9]+")
# TODO: send `X-EXTENDED-TIMEOUT: 90000` (ms) if 7-date windows time out; the doc offers it for slow calls.
_HEADERS = {"Content-Type": "application/json;charset=UTF-8"}
_AUTH_WORDS = re.compile(
    r"signature|access[\s_-]?key|secret|hmac|authori[sz]|authenticat|credential|expired|\bip\b|인증|권한|아이피",
    re.IGNORECASE,
)
ANSWER_BASE_PATH = "/v2/providers/openapi/apis/api/v4/vendors"  # the reply endpoints exist in v4 only
REPLY_BY_MISSING = (
    '쿠팡 답변에는 답변자의 WING 로그인 ID가 필요합니다: inqd 설정의 이 쿠팡 계정에 reply_by = "WING 아이디"를 '
    "넣어 주세요"
)
NO_ANSWER_REQUESTED = (
    "쿠팡 상담사가 답변을 요청한 고객센터 문의가 아닙니다(이관·확인 건이거나 요청이 끝났습니다): WING에서 확인해 주세요"
)
# Refusal wordings (§1.5, §1.7; the Korean ones are third-party quotes, UNCONFIRMED, so English and Korean forms
# are both matched). "can't be answer ... only inquiryStatus:progress, partnerTransferStatus:requestAnswer" comes
# both for a closed case (24 h passed) and for one answered already, in WING or by us: the lifecycle re-reads a
# once-only inquiry before a second try, so by then it means closed.
_ANSWER_WORDS = (
    (
        re.compile(r"동일한\s*답변|이미\s*답변|already\s+(been\s+)?(answer|repl)|duplicat|중복", re.IGNORECASE),
        AnswerOutcome.ALREADY_ANSWERED,
    ),
    (
        re.compile(r"삭제된|종료된|closed|can.?t\s+be\s+answer|cannot\s+be\s+answer|-\s*522\b", re.IGNORECASE),
        AnswerOutcome.NOT_ANSWERABLE,
    ),
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
    # "하나의 고객문의(inquiryId)에 답변할 수 있습니다"; call center: "중복해서 답변을 보내면 에러" (§8).
    ONCE_ONLY: ClassVar[frozenset[StreamKind]] = frozenset({StreamKind.PRODUCT_QNA, StreamKind.CALL_CENTER})
    ANSWER_LIMITS: ClassVar[Mapping[StreamKind, AnswerLimit]] = {
        # 2-1000 characters is a third-party guide's figure (UNCONFIRMED); product answers have no known limit.
        StreamKind.CALL_CENTER: AnswerLimit(1000, min_length=2, documented=False),
    }
    _edge: CoupangEdge

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
        reply_by: str | None = None,
        **options: Unpack[PollOptions],
    ) -> None:
        if not _VENDOR_ID.fullmatch(vendor_id):
            raise ValueError("vendor_id must be letters and digits, e.g. A00012345")
        if api_version not in API_VERSIONS:
            raise ValueError(f"api_version must be one of {sorted(API_VERSIONS)}")
        rate_per_s = self._configure(account_id, options)
        self._vendor_id = vendor_id
        self._reply_by = reply_by or None
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
        """A quick poll (the open inquiries of the last 7 dates) or a sweep (new/changed since the last, and the ids
        still open in the recheck range)."""
        tally = start_poll(self, stream, cursor, now, self._lookback)
        spec = _SPECS[stream]
        passes = tally.passes(MAX_WINDOW_DATES)
        changed = None
        if passes.changed_first is not None:
            changed = await self._read_range(spec, spec.all_status, passes.changed_first, tally)
        still_open = await self._read_range(spec, spec.open_status, passes.open_first, tally)
        inquiries = tally.take_in(changed, still_open, passes, lambda raw: _to_inquiry(raw, self.account_id, stream))
        snapshot = tally.open_snapshot(still_open, row_id, passes.open_first, now)
        return tally.result(inquiries, snapshot, now)

    async def answer(self, request: AnswerRequest) -> AnswerResult:
        """Post the answer to a product inquiry, or to a call-center inquiry while Coupang's agent asks for one."""
        inquiry = request.inquiry
        if self._reply_by is None:
            return AnswerResult(AnswerOutcome.REFUSED, REPLY_BY_MISSING)
        body: dict[str, str] = {"content": request.text, "vendorId": self._vendor_id, "replyBy": self._reply_by}
        if inquiry.stream is StreamKind.CALL_CENTER:
            # answer_ref is the answerId of the agent's reply asking for an answer; a row without one (TRANSFER:
            # a closed case the seller only confirms) takes no answer text, and confirming is WING's to do.
            if not inquiry.answer_ref:
                return AnswerResult(AnswerOutcome.NOT_ANSWERABLE, NO_ANSWER_REQUESTED)
            body = {**body, "inquiryId": inquiry.external_id, "parentAnswerId": inquiry.answer_ref}
        resource = _SPECS[inquiry.stream].resource
        path = f"{ANSWER_BASE_PATH}/{self._vendor_id}/{resource}/{inquiry.external_id}/replies"
        return await self._edge.answer_exchange(
            path, lambda: self._edge.send("POST", path, payload=body, headers=_HEADERS), self._edge.read_answer
        )

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

    def read_answer(self, response: httpx.Response) -> AnswerResult | None:
        """A reply endpoint's `{"code":"200","message":"OK"}`, or its 4xx words; throttles and outages go on."""
        status = response.status_code
        if status in (401, 403, 429) or status >= 500:
            return None
        envelope = json_object(response)
        if 200 <= status < 300 and str(envelope.get("code")) == "200":
            return AnswerResult(AnswerOutcome.ACCEPTED)
        if 200 <= status < 300 and not envelope:
            # Not the documented envelope: whether the answer was taken is unknown until a poll shows it.
            return AnswerResult(AnswerOutcome.RETRY_LATER, "coupang: reply not understood", maybe_delivered=True)
        return answer_by_words(self.error_body(response).message, _ANSWER_WORDS)


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
