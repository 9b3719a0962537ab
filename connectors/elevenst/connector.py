"""11st (11번가 Seller OpenAPI, EUC-KR XML): product Q&A and 긴급알리미 of one seller API key.

Product Q&A (`prodqnalist`, windows of at most 7 dates, no paging). A quick poll (connectors/polling.py) asks for
answerStatus 02 (unanswered) over the last 7 dates, one request: its rows are the new questions and the open
snapshot of those dates. A sweep (hourly, and the first poll) makes two passes over KST calendar dates:
1. answerStatus 00 (all) over [last sweep's date - overlap, today], at least the last 7 dates after the first poll
   (which reads the backfill, and takes in the open rows of the 7 dates from pass 2): new and changed
   questions, those answered before inqd saw them (with `answerDt`, a date only, whose midnight replaces a quick
   poll's time: the marketplace's own, if coarser);
2. answerStatus 02 (unanswered) over [today - recheck, today]: the ids still open, so the store closes the rest.
Detection bounds: a question received in the last 7 dates shows up, and is seen answered, within one poll interval;
one answered before any poll saw it open, or received before the last 7 dates, within a sweep period plus a poll
interval; one older than the recheck range is not rechecked.
긴급알리미 (`getalimilist`, windows of at most 30 dates, no paging) has one listing per poll, quick or sweep: its
status filter takes one of the three open statuses at a time, so one unfiltered request over the recheck range
(30 dates at most) is the cheapest; a sweep reaches back to [last sweep's date - overlap] as well. Its rows in
01/02/04 (미확인, 답변대기, 재답변요청) are the open snapshot, and each row's `emerReplyDt` (회신기한) becomes the
inquiry's `deadline_at`; every change within the recheck range (30 dates at most) is seen within one poll interval.
A quiet poll (recheck 13 days): product Q&A 1 request (a sweep 3), 긴급알리미 1 request.
Answers are EUC-KR XML PUTs (connectors/elevenst/answers.py), their result codes mapped here, at the edge.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import ClassVar, Unpack
from xml.etree.ElementTree import Element

import httpx
import structlog
from pydantic import SecretStr

from connectors.base import AuthFailed, ConnectorError, ErrorBody, HttpEdge, Unavailable, answer_by_words
from connectors.elevenst.answers import (
    ACCEPTED_CODES,
    BUSINESS_WORDS,
    NOTICE_CONFIRMED,
    NOTICE_CONFIRMED_CODE,
    RESULT_CODE_FIELDS,
    RESULT_OUTCOMES,
    RESULT_TEXT_FIELDS,
    alimi_answer,
    qna_answer,
)
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
from connectors.polling import DateWindow, Listing, Page, PollTally, start_poll
from connectors.polling_connector import PollDefaults, PollingConnector, PollOptions
from core.answers import AnswerLimit, AnswerOutcome, AnswerRequest, AnswerResult
from core.clock import Clock
from core.models import Cursor, Marketplace, PollResult, StreamKind

__all__ = ["ElevenstConnector"]

log = structlog.get_logger(__name__)

QNA_WINDOW_DATES = 7  # "최대 조회기간은 7일 입니다."; 7 dates inclusive is safe either way
ALIMI_WINDOW_DATES = 30  # result_code -10004 above 30 days
QNA_ALL, QNA_UNANSWERED = "00", "02"
MAINTENANCE_CODE = "-1000"  # Friday early-morning maintenance
MAINTENANCE_RETRY_AFTER_S = 1800.0
# Result codes that mean success: 0 = no rows (긴급알리미), 200 = OK; UNCONFIRMED whether lists ever send 200.
_OK_CODES = frozenset({"", "0", "200"})
_AUTH_WORDS = re.compile(r"openapikey|api\s*key|인증|권한|아이피|\bip\b|등록되지\s*않은", re.IGNORECASE)


class ElevenstConnector(PollingConnector):
    """Polls one 11st seller API key; every request of every stream shares one request budget."""

    DEFAULTS: ClassVar[PollDefaults] = PollDefaults(
        (StreamKind.PRODUCT_QNA, StreamKind.URGENT), max_requests_per_s=1.0, recheck_days=13
    )
    marketplace: ClassVar[Marketplace] = Marketplace.ELEVENST
    # 긴급알리미 answers once (-10005). A Q&A answer is "probably editable" (UNCONFIRMED): counted as once-only, so
    # an answer whose fate is unknown waits for a poll rather than risk a second one.
    ONCE_ONLY: ClassVar[frozenset[StreamKind]] = frozenset({StreamKind.PRODUCT_QNA, StreamKind.URGENT})
    ANSWER_LIMITS: ClassVar[Mapping[StreamKind, AnswerLimit]] = {}  # none documented
    _edge: ElevenstEdge

    def __init__(
        self,
        *,
        account_id: str,
        api_key: SecretStr,
        client: httpx.AsyncClient,
        clock: Clock,
        **options: Unpack[PollOptions],
    ) -> None:
        key = api_key.get_secret_value()
        if not key:
            raise ValueError("api_key must not be empty")
        rate_per_s = self._configure(account_id, options)
        self._api_key = api_key
        self._edge = ElevenstEdge(account_id, client=client, clock=clock, rate_per_s=rate_per_s, secrets=(key,))

    def __repr__(self) -> str:
        return f"ElevenstConnector(account_id={self.account_id!r})"

    async def poll(self, stream: StreamKind, cursor: Cursor | None, *, now: datetime) -> PollResult:
        """A quick poll (open Q&A of the last 7 dates; 긴급알리미 of the recheck range) or a sweep (new/changed since
        the last, and the ids still open in the recheck range)."""
        tally = start_poll(self, stream, cursor, now, self._lookback)
        if stream is StreamKind.PRODUCT_QNA:
            passes = tally.passes(QNA_WINDOW_DATES)
            first, open_first = passes.changed_first, passes.open_first
            changed = None if first is None else await self._read_qna(QNA_ALL, first, tally)
            still_open = await self._read_qna(QNA_UNANSWERED, open_first, tally)
            inquiries = tally.take_in(changed, still_open, passes, lambda raw: qna_to_inquiry(raw, self.account_id))
            return tally.result(inquiries, tally.open_snapshot(still_open, qna_id, open_first, now), now)
        first, open_first, _ = tally.passes(ALIMI_WINDOW_DATES)
        start = open_first if first is None else min(first, open_first)
        listing = await self._read_alimi(start, tally)
        inquiries = tally.normalize(listing.rows, lambda raw: alimi_to_inquiry(raw, self.account_id))
        still_open = Listing([raw for raw in listing.rows if alimi_is_open(raw)], listing.steady)
        return tally.result(inquiries, tally.open_snapshot(still_open, alimi_id, start, now), now)

    async def answer(self, request: AnswerRequest) -> AnswerResult:
        """PUT the answer to a product Q&A (its prdNo from answer_ref) or to a 긴급알리미, as EUC-KR XML."""
        inquiry = request.inquiry
        if inquiry.stream is StreamKind.URGENT:
            path, body = alimi_answer(inquiry.external_id, request.text)
        elif inquiry.answer_ref:
            path, body = qna_answer(inquiry.external_id, inquiry.answer_ref, request.text)
        else:
            return AnswerResult(
                AnswerOutcome.NOT_ANSWERABLE,
                "상품번호(prdNo)를 몰라 답변할 수 없습니다: 11번가 셀러오피스에서 답변해 주세요",
            )
        headers = {
            "openapikey": self._api_key.get_secret_value(),
            "Content-Type": "text/xml; charset=euc-kr",
            "Accept": "application/xml",
        }
        return await self._edge.answer_exchange(
            path, lambda: self._edge.send("PUT", path, content=body, headers=headers), self._edge.read_answer
        )

    async def _read_qna(self, status: str, first: date, tally: PollTally) -> Listing:
        """Every product Q&A row of `status` created from `first` to today; one request per window, no paging."""
        return await self._read(
            lambda s, e: f"/rest/prodqnaservices/prodqnalist/{s}/{e}/{status}", QNA_ROW, QNA_WINDOW_DATES, first, tally
        )

    async def _read_alimi(self, first: date, tally: PollTally) -> Listing:
        """Every 긴급알리미 row (all statuses) created from `first` to today."""
        return await self._read(
            lambda s, e: f"/rest/alimi/getalimilist/{s}/{e}", ALIMI_ROW, ALIMI_WINDOW_DATES, first, tally
        )

    async def _read(
        self, path_of: Callable[[str, str], str], row_name: str, max_days: int, first: date, tally: PollTally
    ) -> Listing:
        async def read_window(window: DateWindow, page_num: int) -> Page:
            root = await self._get(path_of(f"{window.start:%Y%m%d}", f"{window.end:%Y%m%d}"), tally)
            return Page(rows(root, row_name), last=True)

        return await tally.walk(first, read_window, max_days=max_days, max_pages=1)

    async def _get(self, path: str, tally: PollTally) -> Element:
        """One GET through the budget; the parsed page, or the ConnectorError it means."""
        # No Content-Type on a GET: prodqnaservices answers 415 to one.
        headers = {"openapikey": self._api_key.get_secret_value(), "Accept": "application/xml"}
        response = await self._edge.send("GET", path, count=tally, headers=headers)
        self._edge.raise_for_status(response, path)
        try:
            root = parse(response.content)
        except ValueError as err:
            raise self._edge.undecodable(response, path, "XML") from err
        code = find_text(root, "result_code") or ""
        if code == MAINTENANCE_CODE:
            raise self._edge.maintenance(path)
        if code not in _OK_CODES:
            message = self._edge.scrub(find_text(root, "result_text") or "")
            if _AUTH_WORDS.search(message):
                raise AuthFailed(f"elevenst: result_code {code}: {message}")
            # -1, -10001..-10004, 500: our request no longer fits the API (a connector bug or an API change).
            log.error("elevenst.request_rejected", account_id=self.account_id, path=path, code=code, message=message)
            raise Unavailable(f"elevenst: result_code {code}: {message}")
        return root


class ElevenstEdge(HttpEdge):
    """11st's HTTP edge: XML error bodies, the openapikey refused, and the weekly maintenance."""

    marketplace = Marketplace.ELEVENST

    def read_error(self, response: httpx.Response) -> ErrorBody:
        """The server's result_text, or the body as it came; 11st error bodies carry no code of their own."""
        try:
            text = find_text(parse(response.content), "result_text")
        except ValueError:
            text = None
        return ErrorBody(None, text if text is not None else response.content.decode("cp949", errors="replace"))

    def refusal(self, response: httpx.Response, path: str, body: ErrorBody) -> ConnectorError | None:
        """11st's own refusals: the openapikey refused, and the weekly maintenance (which may come as a 5xx)."""
        status = response.status_code
        if status in (401, 403):
            return AuthFailed(f"elevenst: {status} openapikey refused: {body.message}")
        if status != 429 and _result_code(response) == MAINTENANCE_CODE:
            return self.maintenance(path)
        return None

    def read_answer(self, response: httpx.Response) -> AnswerResult | None:
        """An answer PUT's result code (ClientMessage or alimiResult); HTTP refusals and outages go on."""
        status = response.status_code
        try:
            root = parse(response.content)
        except ValueError:
            root = None
        code = _first_text(root, RESULT_CODE_FIELDS)
        message = self.scrub(_first_text(root, RESULT_TEXT_FIELDS) or "")
        if not 200 <= status < 300 and code != MAINTENANCE_CODE and code not in RESULT_OUTCOMES:
            return None  # an HTTP refusal or outage: the shared reading
        if code == MAINTENANCE_CODE:
            return self.retry_later(self.maintenance(response.url.path), maybe_delivered=False)
        if code in ACCEPTED_CODES:
            return AnswerResult(AnswerOutcome.ACCEPTED, NOTICE_CONFIRMED if code == NOTICE_CONFIRMED_CODE else "")
        if code is None:
            # A 2xx without a result code: whether the answer was taken is unknown until a poll shows it.
            return AnswerResult(AnswerOutcome.RETRY_LATER, "elevenst: reply not understood", maybe_delivered=True)
        if _AUTH_WORDS.search(message):
            return AnswerResult(AnswerOutcome.RETRY_LATER, f"elevenst: result_code {code}: {message}")
        if code in RESULT_OUTCOMES:
            return AnswerResult(RESULT_OUTCOMES[code], f"{code}: {message}")
        return answer_by_words(f"{code}: {message}", BUSINESS_WORDS)

    def maintenance(self, path: str) -> Unavailable:
        """The Unavailable of the weekly maintenance (result_code -1000), logged at info."""
        # Expected weekly; the poller logs the outage transition once, so this stays at info.
        log.info("elevenst.maintenance", account_id=self.account_id, path=path)
        return Unavailable("elevenst: system maintenance (-1000)", retry_after_s=MAINTENANCE_RETRY_AFTER_S)


def _first_text(root: Element | None, names: tuple[str, ...]) -> str | None:
    """The text of the first of `names` present under `root`."""
    found = (find_text(root, name) for name in names) if root is not None else ()
    return next((text for text in found if text is not None), None)


def _result_code(response: httpx.Response) -> str | None:
    try:
        return find_text(parse(response.content), "result_code")
    except ValueError:
        return None
