"""ESM Trading API (G마켓 / 옥션): 게시판 문의 (bulletin board) and 긴급알리미 of one ESM+ master account.

One poll of a stream makes two passes over KST calendar dates, each in windows of at most 7 dates, no paging
(none is documented: one POST returns the whole window):
1. status 1 (전체) over [cursor date - overlap, today]: new and changed inquiries;
2. status 2 (미처리) over [today - recheck, today]: the ids still open, so the store can close the rest.
`endDate` is sent as the window's last date + 1: the doc says so "to include today", and claim APIs were seen
reading EndDate as 00:00 of that day. The bulletin board is asked once per qnaType that applies: 옥션 1 and 2,
G마켓 3 (see esm_rows for the two documented versions of qnaType). Every request goes through one budget.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import ClassVar

import httpx
import jwt
import structlog
from pydantic import SecretStr

from connectors.base import AuthFailed, Listing, PollTally, RateLimited, RequestBudget, Unavailable, date_windows
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
from core.clock import Clock
from core.http import parse_retry_after
from core.models import KST, Cursor, Inquiry, Marketplace, PollResult, StreamKind

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
DEFAULT_RETRY_AFTER_S = 60.0
ERROR_TEXT_LIMIT = 200
_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class EsmConnector:
    """Polls one ESM+ master account holding a G마켓 and/or an 옥션 seller id; one budget for every request."""

    marketplace: ClassVar[Marketplace] = Marketplace.ESM

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
        streams: Sequence[StreamKind] = (StreamKind.PRODUCT_QNA, StreamKind.URGENT),
        max_requests_per_s: float = 0.2,
        backfill_days: int = 3,
        overlap_days: int = 1,
        recheck_days: int = 6,
        issuer: str = "inqd",
    ) -> None:
        if not master_id.strip():
            raise ValueError("master_id must be the ESM+ master ID")
        if not (gmarket_seller_id or auction_seller_id):
            raise ValueError("at least one of gmarket_seller_id and auction_seller_id is needed")
        for seller_id in (gmarket_seller_id, auction_seller_id):
            if seller_id is not None and (not seller_id.strip() or "," in seller_id or ":" in seller_id):
                raise ValueError("seller ids must be non-empty and contain no ',' or ':'")
        known = {StreamKind.PRODUCT_QNA, StreamKind.URGENT}
        if not streams or len(set(streams)) != len(streams) or not set(streams) <= known:
            raise ValueError("streams must be distinct and among product_qna, urgent")
        if min(backfill_days, overlap_days, recheck_days) < 0:
            raise ValueError("backfill_days, overlap_days and recheck_days must not be negative")
        if not secret_key.get_secret_value():
            raise ValueError("secret_key must not be empty")
        self.account_id = account_id
        self.streams = tuple(streams)
        self._master_id = master_id
        self._secret = secret_key
        self._sellers = Sellers(gmarket=gmarket_seller_id or None, auction=auction_seller_id or None)
        self._issuer = issuer
        self._client = client
        self._clock = clock
        self._budget = RequestBudget(max_requests_per_s, clock)
        self._backfill = timedelta(days=backfill_days)
        self._overlap = timedelta(days=overlap_days)
        self._recheck = timedelta(days=recheck_days)
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

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def poll(self, stream: StreamKind, cursor: Cursor | None, *, now: datetime) -> PollResult:
        """Read new/changed inquiries since `cursor` and the ids still open in the recheck range."""
        if stream not in self.streams:
            raise ValueError(f"stream {stream} is not enabled for this connector")
        if now.tzinfo is None:
            raise ValueError("poll needs a timezone-aware `now`")
        tally = PollTally("esm", self.account_id, stream)
        today = now.astimezone(KST).date()
        first = tally.first_date(cursor, now, backfill=self._backfill, overlap=self._overlap)
        recheck_first = today - self._recheck
        # Rows are kept as (qnaType asked, row): a row's site may depend on which list it came from.
        kinds: tuple[int | None, ...] = self.qna_types if stream is StreamKind.PRODUCT_QNA else (None,)
        changed, still_open = Listing(), Listing()
        for kind in kinds:
            changed.rows += await self._read_range(kind, STATUS_ALL, first, today, tally)
        for kind in kinds:
            still_open.rows += await self._read_range(kind, STATUS_OPEN, recheck_first, today, tally)
        to_inquiry, row_id = self._normalizers(stream)
        inquiries = tally.normalize(changed.rows, to_inquiry)
        snapshot = tally.open_snapshot(still_open, row_id, recheck_first, now)
        return tally.result(inquiries, snapshot, now)

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

    async def _read_range(
        self, qna_type: int | None, status: int, first: date, last: date, tally: PollTally
    ) -> list[object]:
        """Every row of `status` received on [first, last] (one request per window), tagged with `qna_type`."""
        rows: list[object] = []
        for window in date_windows(first, last, max_days=MAX_WINDOW_DATES):
            body: dict[str, object] = {
                "status": status,
                "type": TYPE_RECEIVED,
                "startDate": window.start.isoformat(),
                "endDate": (window.end + timedelta(days=1)).isoformat(),
            }
            if qna_type is None:
                path, what = URGENT_PATH, "긴급알리미"
            else:
                path, what = BOARD_PATH, f"bulletin-board qnaType {qna_type}"
                body = {"qnaType": qna_type, **body}
            rows += [(qna_type or 0, raw) for raw in rows_of(await self._post(path, body, tally), what)]
        return rows

    async def _post(self, path: str, body: dict[str, object], tally: PollTally) -> object:
        """One authorized POST through the budget; returns the decoded JSON or raises a ConnectorError."""
        await self._budget.acquire()
        tally.requests += 1
        headers = {**_HEADERS, "Authorization": f"Bearer {self.bearer_token()}"}
        try:
            response = await self._client.post(path, content=json.dumps(body), headers=headers)
        except httpx.RequestError as err:
            raise Unavailable(f"esm request failed: {type(err).__name__}") from err
        self._raise_for_status(response, path)
        try:
            data = json.loads(response.content)
        except (ValueError, RecursionError) as err:
            log.warning(
                "esm.undecodable_page",
                account_id=self.account_id,
                path=path,
                content_type=response.headers.get("Content-Type"),
                length=len(response.content),
            )
            raise Unavailable(f"esm: {response.status_code} response is not JSON") from err
        try:
            rows_of(data, path)
        except Unavailable as err:
            log.warning("esm.error_result", account_id=self.account_id, path=path, error=self._scrub(str(err)))
            raise Unavailable(self._scrub(str(err))) from err
        return data

    def _raise_for_status(self, response: httpx.Response, path: str) -> None:
        """Translate every non-2xx status into our error tree; the poller owns retries and their logging."""
        status = response.status_code
        if 200 <= status < 300:
            return
        asked_s = parse_retry_after(response.headers.get("Retry-After"), now=self._clock.now())
        if status == 429:
            retry_after_s = DEFAULT_RETRY_AFTER_S if asked_s is None else asked_s
            self._budget.push_back(retry_after_s)
            raise RateLimited("esm: 429 Too Many Requests", retry_after_s=retry_after_s)
        message = self._error_text(response)
        if status in (401, 403):
            # 401 {"status":{"message":"The user does not have right access to the api","status_code":401}}:
            # wrong secret, master ID, seller ids or caller IP. All need the seller.
            raise AuthFailed(f"esm: {status} credentials refused: {message}")
        if status >= 500:
            raise Unavailable(f"esm: server error {status}: {message}", retry_after_s=asked_s)
        log.error("esm.request_rejected", account_id=self.account_id, status=status, path=path, message=message)
        raise Unavailable(f"esm: {status} request rejected: {message}")

    def _error_text(self, response: httpx.Response) -> str:
        """The server's message (`status.message`, `message`, `Message`), without secrets and cut short."""
        try:
            body = json.loads(response.content)
        except (ValueError, RecursionError):
            return self._scrub(response.text)
        if isinstance(body, dict):
            inner = body.get("status")
            for holder in (inner if isinstance(inner, dict) else {}, body):
                for key in ("message", "Message"):
                    if isinstance(holder.get(key), str):
                        return self._scrub(holder[key])
        return self._scrub(json.dumps(body, ensure_ascii=False))

    def _scrub(self, text: str) -> str:
        text = text.replace(self._secret.get_secret_value(), "***")
        return " ".join(text.split())[:ERROR_TEXT_LIMIT]
