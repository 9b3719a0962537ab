"""ESM Trading API (G마켓 / 옥션): 게시판 문의 (bulletin board) and 긴급알리미 of one ESM+ master account.

No paging is documented: one POST returns a whole window of at most 7 dates. A quick poll (connectors/polling.py)
of a stream asks for status 2 (미처리) over the last 7 dates: one request per list it reads (below). Its rows are
the new inquiries and the open snapshot of those dates. A sweep (hourly, and the first poll) makes two passes over
KST dates, in windows of at most 7 dates:
1. status 1 (전체) over [last sweep's date - overlap, today], at least the last 7 dates after the first poll
   (which reads the backfill, and takes in the open rows of the 7 dates from pass 2): new and changed inquiries,
   those answered before inqd saw them (with `AnswerDate` where a row has one, which replaces a quick poll's time);
2. status 2 (미처리) over [today - recheck, today]: the ids still open, so the store can close the rest.
Detection bounds: an inquiry received in the last 7 dates shows up, and is seen answered, within one poll interval;
one answered before any poll saw it open, or received before the last 7 dates, within a sweep period plus a poll
interval; one older than the recheck range is not rechecked.
`endDate` is sent as the window's last date + 1: the doc says so "to include today", and claim APIs were seen
reading EndDate as 00:00 of that day. The bulletin board is asked once per qnaType that applies: 옥션 1 and 2,
G마켓 3 (see esm_rows for the two documented versions of qnaType): the API takes one qnaType per request, so a
quick poll of the board costs one request per qnaType (3 with both sites), 긴급알리미 one. Every request goes
through one budget.
Answers: connectors/esm/answers.py builds them; EsmEdge.read_answer maps ESM's replies.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import ClassVar, Unpack

import httpx
import jwt
import structlog
from pydantic import SecretStr

from connectors.base import ConnectorError, ErrorBody, HttpEdge, Unavailable, json_error_text
from connectors.esm.answers import answer_call, reply_outcome
from connectors.esm.rows import (
    AUCTION_QNA_TYPES,
    GMARKET_QNA_TYPES,
    Sellers,
    board_inquiry,
    board_row_id,
    rows_of,
    urgent_inquiry,
    urgent_row_id,
)
from connectors.polling import DateWindow, Listing, Page, PollTally, start_poll
from connectors.polling_connector import PollDefaults, PollingConnector, PollOptions
from core.answers import AnswerLimit, AnswerOutcome, AnswerRequest, AnswerResult
from core.clock import Clock
from core.http import json_object
from core.models import Cursor, Inquiry, Marketplace, PollResult, StreamKind

__all__ = ["AUDIENCE", "BOARD_PATH", "URGENT_PATH", "EsmConnector"]

log = structlog.get_logger(__name__)

BOARD_PATH = "/item/v1/communications/customer/bulletin-board"
URGENT_PATH = "/assist/v1/Selling/GetEmergencyInformList"
AUDIENCE = "sa.esmplus.com"
SUBJECT = "sell"
MAX_WINDOW_DATES = 7  # "7 days"; sent as startDate .. last date + 1
STATUS_ALL, STATUS_OPEN = 1, 2  # 1 전체, 2 미처리 (both lists)
TYPE_RECEIVED = 1  # `type`: by received date, the only option; omitting it is a 500
TOKEN_LIFETIME_S = 300
_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class EsmConnector(PollingConnector):
    """Polls one ESM+ master account holding a G마켓 and/or an 옥션 seller id; one budget for every request."""

    DEFAULTS: ClassVar[PollDefaults] = PollDefaults(
        (StreamKind.PRODUCT_QNA, StreamKind.URGENT), max_requests_per_s=0.2, recheck_days=6
    )
    marketplace: ClassVar[Marketplace] = Marketplace.ESM
    # 긴급알리미: error 100 once completed. 게시판: whether a second answer after 처리완료 is taken is UNCONFIRMED, and
    # a second POST may add a second reply on a public board: an unknown outcome waits for a poll on both.
    ONCE_ONLY: ClassVar[frozenset[StreamKind]] = frozenset({StreamKind.PRODUCT_QNA, StreamKind.URGENT})
    ANSWER_LIMITS: ClassVar[Mapping[StreamKind, AnswerLimit]] = {
        # "comments ≤ 1000 bytes" is third-party (UNCONFIRMED) and names no encoding: UTF-8, where Hangul takes 3
        # bytes, is the stricter reading.
        StreamKind.PRODUCT_QNA: AnswerLimit(1000, unit="utf-8", documented=False),
    }
    _edge: EsmEdge

    def __init__(
        self,
        *,
        account_id: str,
        master_id: str,
        secret_key: SecretStr,
        gmarket_seller_id: str | None,
        auction_seller_id: str | None,
        client: httpx.AsyncClient,
        clock: Clock,
        issuer: str = "inqd",
        **options: Unpack[PollOptions],
    ) -> None:
        if not master_id.strip():
            raise ValueError("master_id must be the ESM+ master ID")
        if not (gmarket_seller_id or auction_seller_id):
            raise ValueError("at least one of gmarket_seller_id and auction_seller_id is needed")
        for seller_id in (gmarket_seller_id, auction_seller_id):
            if seller_id is not None and (not seller_id.strip() or "," in seller_id or ":" in seller_id):
                raise ValueError("seller ids must be non-empty and contain no ',' or ':'")
        rate_per_s = self._configure(account_id, options)
        secret = secret_key.get_secret_value()
        if not secret:
            raise ValueError("secret_key must not be empty")
        self._master_id = master_id
        self._secret = secret_key
        self._sellers = Sellers(gmarket=gmarket_seller_id or None, auction=auction_seller_id or None)
        self._issuer = issuer
        self._clock = clock
        self._edge = EsmEdge(account_id, client=client, clock=clock, rate_per_s=rate_per_s, secrets=(secret,))
        # qnaTypes to ask: 옥션 1 and 2, G마켓 3. Under the doc version where 3 means "all", 3 may repeat 옥션
        # rows: they carry 옥션's SellerId, get the same external_id and PollTally keeps the first.
        self.qna_types: tuple[int, ...] = (AUCTION_QNA_TYPES if self._sellers.auction else ()) + (
            GMARKET_QNA_TYPES if self._sellers.gmarket else ()
        )

    def __repr__(self) -> str:
        return (
            f"EsmConnector(account_id={self.account_id!r}, master_id={self._master_id!r}, "
            f"gmarket={self._sellers.gmarket!r}, auction={self._sellers.auction!r})"
        )

    @property
    def ssi(self) -> str:
        """The `ssi` claim: "A:<옥션 id>,G:<G마켓 id>", either part left out when not configured."""
        parts = [f"{tag}:{sid}" for tag, sid in (("A", self._sellers.auction), ("G", self._sellers.gmarket)) if sid]
        return ",".join(parts)

    def bearer_token(self) -> str:
        """A fresh HS256 JWT: header kid = master ID; iss/sub/aud/ssi as the ESM guide and public clients send.

        `iat`/`exp` are optional per the public clients; a short life limits what a leaked token is worth.
        """
        now = int(self._clock.now().timestamp())
        payload = {
            "iss": self._issuer,  # "your domain"; appears not to be validated (UNCONFIRMED)
            "sub": SUBJECT,
            "aud": AUDIENCE,
            "ssi": self.ssi,
            "iat": now,
            "exp": now + TOKEN_LIFETIME_S,
        }
        # ESM issues the secret; its length is theirs to choose (UNCONFIRMED), so PyJWT's "shorter than 32 bytes"
        # warning would only repeat on every request. It is silenced here, for this call only.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
            return jwt.encode(
                payload, self._secret.get_secret_value(), algorithm="HS256", headers={"kid": self._master_id}
            )

    async def poll(self, stream: StreamKind, cursor: Cursor | None, *, now: datetime) -> PollResult:
        """A quick poll (the open inquiries of the last 7 dates) or a sweep (new/changed since the last, and the ids
        still open in the recheck range)."""
        tally = start_poll(self, stream, cursor, now, self._lookback)
        passes = tally.passes(MAX_WINDOW_DATES)
        # Rows are kept as (qnaType asked, row): a row's site may depend on which list it came from.
        kinds: tuple[int | None, ...] = self.qna_types if stream is StreamKind.PRODUCT_QNA else (None,)
        changed, still_open = Listing(), Listing()
        if passes.changed_first is not None:
            for kind in kinds:
                changed.rows += await self._read_range(kind, STATUS_ALL, passes.changed_first, tally)
        for kind in kinds:
            still_open.rows += await self._read_range(kind, STATUS_OPEN, passes.open_first, tally)
        to_inquiry, row_id = self._normalizers(stream)
        inquiries = tally.take_in(None if passes.changed_first is None else changed, still_open, passes, to_inquiry)
        snapshot = tally.open_snapshot(still_open, row_id, passes.open_first, now)
        return tally.result(inquiries, snapshot, now)

    async def answer(self, request: AnswerRequest) -> AnswerResult:
        """POST the answer to a 게시판 문의 (with its list token) or a 긴급알리미; answerStatus 2 when `final`."""
        call = answer_call(request)
        if isinstance(call, AnswerResult):
            return call
        path, body = call
        stream = request.inquiry.stream

        async def send() -> httpx.Response:
            headers = {**_HEADERS, "Authorization": f"Bearer {self.bearer_token()}"}
            return await self._edge.send("POST", path, payload=body, headers=headers)

        return await self._edge.answer_exchange(path, send, lambda response: self._edge.read_answer(stream, response))

    def _normalizers(self, stream: StreamKind) -> tuple[Callable[[object], Inquiry], Callable[[object], str]]:
        sellers, account = self._sellers, self.account_id

        def unpack(tagged: object) -> tuple[int, object]:
            assert isinstance(tagged, tuple)  # _read_range tags every row
            return tagged[0], tagged[1]

        if stream is StreamKind.PRODUCT_QNA:
            return (
                lambda t: board_inquiry(unpack(t)[1], account, sellers, unpack(t)[0]),
                lambda t: board_row_id(unpack(t)[1], sellers, unpack(t)[0]),
            )
        return (
            lambda t: urgent_inquiry(unpack(t)[1], account, sellers),
            lambda t: urgent_row_id(unpack(t)[1]),
        )

    async def _read_range(self, qna_type: int | None, status: int, first: date, tally: PollTally) -> list[object]:
        """Every row of `status` received from `first` to today (one request per window), tagged with `qna_type`."""
        if qna_type is None:
            path, what = URGENT_PATH, "긴급알리미"
        else:
            path, what = BOARD_PATH, f"bulletin-board qnaType {qna_type}"

        async def read_window(window: DateWindow, page_num: int) -> Page:
            body: dict[str, object] = {
                "status": status,
                "type": TYPE_RECEIVED,
                "startDate": window.start.isoformat(),
                "endDate": (window.end + timedelta(days=1)).isoformat(),
            }
            if qna_type is not None:
                body = {"qnaType": qna_type, **body}
            rows = rows_of(await self._post(path, body, tally), what)
            return Page([(qna_type or 0, raw) for raw in rows], last=True)

        return (await tally.walk(first, read_window, max_days=MAX_WINDOW_DATES, max_pages=1)).rows

    async def _post(self, path: str, body: dict[str, object], tally: PollTally) -> object:
        """One authorized POST through the budget; returns the decoded JSON or raises a ConnectorError."""
        headers = {**_HEADERS, "Authorization": f"Bearer {self.bearer_token()}"}
        response = await self._edge.send("POST", path, count=tally, content=json.dumps(body), headers=headers)
        data = self._edge.json_body(response, path)
        try:
            rows_of(data, path)
        except Unavailable as err:
            message = self._edge.scrub(str(err))
            log.warning("esm.error_result", account_id=self.account_id, path=path, error=message)
            raise Unavailable(message) from err
        return data


class EsmEdge(HttpEdge):
    """ESM's HTTP edge: error bodies carry their message in one of three places, and a 5xx keeps it."""

    marketplace = Marketplace.ESM

    def read_error(self, response: httpx.Response) -> ErrorBody:
        """The server's message (`status.message`, `message`, `Message`); ESM error bodies carry no code we read.

        401 {"status":{"message":"The user does not have right access to the api","status_code":401}}: a wrong
        secret, master ID, seller ids or caller IP; all need the seller.
        """
        return ErrorBody(None, json_error_text(response, _message_of))

    def refusal(self, response: httpx.Response, path: str, body: ErrorBody) -> ConnectorError | None:
        """A server error keeps ESM's message, which names what it could not take (omitting `type` is a 500)."""
        if response.status_code >= 500:
            return Unavailable(
                f"esm: server error {response.status_code}: {body.message}", retry_after_s=self.retry_after_s(response)
            )
        return None

    def read_answer(self, stream: StreamKind, response: httpx.Response) -> AnswerResult | None:
        """ESM's answer reply: its messageNo or resultCode; credentials, throttles and outages go on."""
        status = response.status_code
        if status in (401, 403, 429) or status >= 500:
            return None
        found = reply_outcome(stream, json_object(response))
        if found is None:
            if 200 <= status < 300:
                # Not a documented reply: whether the answer was taken is unknown until a poll shows it.
                return AnswerResult(AnswerOutcome.RETRY_LATER, "esm: reply not understood", maybe_delivered=True)
            return None
        outcome, message = found
        return AnswerResult(outcome, self.scrub(message))


def _message_of(body: Mapping[str, object]) -> str | None:
    inner = body.get("status")
    for holder in (inner if isinstance(inner, Mapping) else {}, body):
        for key in ("message", "Message"):
            value = holder.get(key)
            if isinstance(value, str):
                return value
    return None
