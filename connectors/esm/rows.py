"""Pure normalization of ESM (G마켓/옥션) list responses and rows: 게시판 문의 and 긴급알리미.

Field-name casing is UNCONFIRMED: the official partial list mixes `MessageNo`, `QnaType`, `SellerId`,
`InformStatus`, `ReAsking` with `token`, `contractType`, `resultCode`; third-party code reads all-camelCase
(`messageNo`, `informStatus`, ...). Every key is therefore looked up case-insensitively.
Error messages name the field and what was expected, never the value: rows carry buyer text.
Times are "yyyy-MM-dd HH:mm:ss" or ISO 8601; one without an offset is Korean wall time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypedDict

from connectors.base import MalformedItem, Unavailable
from connectors.rows import (
    CATEGORY_WORDS,
    category_by_words,
    is_int,
    kst_date_time,
    mapping,
    numeric_id,
    optional,
    optional_str,
    text,
)
from core.models import Category, Inquiry, Marketplace, StreamKind

GMARKET, AUCTION = "G마켓", "옥션"
# external_id prefixes: 옥션 and G마켓 were separate systems and their MessageNo series may overlap.
SITE_PREFIX = {AUCTION: "A", GMARKET: "G"}
# qnaType: version (a) 1 옥션 일반, 2 옥션 비밀글, 3 전체 (G마켓 only 3); version (b) 1 옥션 게시판, 2 옥션 쪽지,
# 3 G마켓 게시판. Both agree that 1 and 2 are 옥션; 3 is G마켓 in (b) and "G마켓 and maybe all" in (a).
AUCTION_QNA_TYPES = (1, 2)
GMARKET_QNA_TYPES = (3,)

_CATEGORY_WORDS = (*CATEGORY_WORDS, ("성능", Category.PRODUCT), ("사이즈", Category.PRODUCT))  # 옥션 상품(성능/사이즈)
# 긴급알리미 row fields are not in any source read (UNCONFIRMED): accept the likely names, first present wins.
_URGENT_ID = ("EmerMessageNo",)
_URGENT_BODY = ("Contents", "Content", "Comments", "Details", "Message")
_URGENT_TIME = ("RegDate", "ReceiveDate", "InsDate", "CreateDate", "RegistDate")
_URGENT_STATUS = ("Status", "InformStatus", "EmerStatus", "ProcessStatus")
# The buyer's name: no source read names the field (UNCONFIRMED); ESM+ order APIs say BuyerName. Kept raw for the
# store and given to the masker, which then hides it (and ESM's own masked form, 홍*동) in the row's free text.
_BUYER_NAME = ("BuyerName", "BuyerNm", "CustName", "CustomerName", "MemberName", "MemberNm", "OrdererName")
_ROW_LIST_KEYS = ("data", "list", "items", "result", "qnalist", "emergencyinformlist")


@dataclass(frozen=True, slots=True)
class Sellers:
    """The seller ids of one ESM+ master account; either may be absent."""

    gmarket: str | None
    auction: str | None

    def site_of(self, seller_id: str | None, qna_type: int | None) -> str | None:
        """The site a row belongs to: by its SellerId when that names one site, else by its qnaType."""
        matches = [site for site, sid in ((GMARKET, self.gmarket), (AUCTION, self.auction)) if sid and sid == seller_id]
        if len(matches) == 1:
            return matches[0]
        if qna_type in AUCTION_QNA_TYPES:
            return AUCTION
        if qna_type in GMARKET_QNA_TYPES:
            return GMARKET
        configured = [site for site, sid in ((GMARKET, self.gmarket), (AUCTION, self.auction)) if sid]
        return configured[0] if len(configured) == 1 else None


def folded(raw: object) -> dict[str, object]:
    """A row with lower-cased keys, so `MessageNo`, `messageNo` and `messageno` read alike."""
    return {str(key).lower(): value for key, value in mapping(raw, "row").items()}


def _get(row: Mapping[str, object], *names: str) -> object:
    return next((row[n.lower()] for n in names if row.get(n.lower()) is not None), None)


def _required(row: Mapping[str, object], *names: str) -> object:
    value = _get(row, *names)
    if value is None:
        raise MalformedItem(f"{names[0]}: missing")
    return value


def rows_of(data: object, what: str) -> list[object]:
    """The rows of a list response: a top-level array, or an object wrapping one (shape UNCONFIRMED).

    An object whose resultCode is neither 0 nor "success" is a refusal: Unavailable with its message.
    """
    if isinstance(data, list):
        return data
    if not isinstance(data, Mapping):
        raise Unavailable(f"esm {what}: response is neither an array nor an object")
    body = {str(k).lower(): v for k, v in data.items()}
    code = body.get("resultcode")
    if code is not None and str(code).strip().lower() not in ("0", "success", "00"):
        message = body.get("message")
        raise Unavailable(f"esm {what}: resultCode {code}: {message if isinstance(message, str) else ''}")
    for key in _ROW_LIST_KEYS:
        value = body.get(key)
        if isinstance(value, list):
            return value
        if isinstance(value, Mapping):
            # A wrapper inside the wrapper ({"Data": {"List": [...]}}).
            return rows_of(value, what)
    if code is not None and all(body.get(key) is None for key in _ROW_LIST_KEYS):
        return []  # success with nothing listed
    raise Unavailable(f"esm {what}: response has no list of rows")


def board_row_id(raw: object, sellers: Sellers, requested_qna_type: int) -> str:
    """`<A|G>:<MessageNo>` of a bulletin-board row; raises MalformedItem if it cannot be named."""
    row = folded(raw)
    number = numeric_id(_required(row, "MessageNo"), "MessageNo")
    return f"{SITE_PREFIX[_board_site(row, sellers, requested_qna_type)]}:{number}"


def urgent_row_id(raw: object) -> str:
    """`EmerMessageNo` of a 긴급알리미 row: one list for the master account, so no site prefix."""
    return numeric_id(_required(folded(raw), *_URGENT_ID), "EmerMessageNo")


def category_of(contract_type: str | None) -> Category:
    """Map a `contractType` (상품/배송/반품/환불/교환/취소/안전거래/기타, 옥션 상품(성능/사이즈)) to a Category."""
    return category_by_words(contract_type, _CATEGORY_WORDS)


def is_done(value: object, field: str) -> bool:
    """Whether an InformStatus/Status means answered: 처리완료 or status code 3; anything else known is open."""
    if isinstance(value, bool):
        raise MalformedItem(f"{field}: expected a status")
    if is_int(value) or (isinstance(value, str) and value.strip().isdecimal()):
        return int(value) == 3
    if isinstance(value, str) and value.strip():
        # 미처리, 처리중, 중복문의 stay open; the 미처리 snapshot closes whatever the seller settled otherwise.
        return "완료" in value
    raise MalformedItem(f"{field}: expected a status")


def board_inquiry(raw: object, account_id: str, sellers: Sellers, requested_qna_type: int) -> Inquiry:
    """Normalize one bulletin-board row; raises MalformedItem naming the first bad field."""
    row = folded(raw)
    number = numeric_id(_required(row, "MessageNo"), "MessageNo")
    site = _board_site(row, sellers, requested_qna_type)
    answered = is_done(_required(row, "InformStatus"), "InformStatus")
    answered_at = optional(kst_date_time, _get(row, "AnswerDate"), "AnswerDate")
    return Inquiry(
        account_id=account_id,
        marketplace=Marketplace.ESM,
        stream=StreamKind.PRODUCT_QNA,
        external_id=f"{SITE_PREFIX[site]}:{number}",
        received_at=kst_date_time(_required(row, "ReceiveDate"), "ReceiveDate"),
        body=text(_required(row, "Details", "Contents"), "Details"),
        category=category_of(optional_str(_get(row, "contractType"), "contractType")),
        **_order_fields(row),
        answered=answered,
        answered_at=answered_at if answered else None,
        site=site,
        # Kept even when missing: the alert matters more than the later answer (which then needs the web UI).
        answer_ref=optional_str(_get(row, "token"), "token"),
    )


def urgent_inquiry(raw: object, account_id: str, sellers: Sellers) -> Inquiry:
    """Normalize one 긴급알리미 row; raises MalformedItem naming the first bad field."""
    row = folded(raw)
    answered = is_done(_required(row, *_URGENT_STATUS), "Status")
    answered_at = optional(kst_date_time, _get(row, "AnswerDate", "ReplyDate"), "AnswerDate")
    seller_id = optional_str(_get(row, "SellerId"), "SellerId")
    site_type = optional_str(_str_or_none(_get(row, "SiteType", "Site")), "SiteType")
    site = {"A": AUCTION, "G": GMARKET}.get((site_type or "").strip().upper()[:1]) or sellers.site_of(seller_id, None)
    return Inquiry(
        account_id=account_id,
        marketplace=Marketplace.ESM,
        stream=StreamKind.URGENT,
        external_id=urgent_row_id(row),
        received_at=kst_date_time(_required(row, *_URGENT_TIME), "RegDate"),
        body=text(_required(row, *_URGENT_BODY), "Contents"),
        category=category_of(optional_str(_get(row, "contractType", "EmerType", "Category"), "EmerType")),
        **_order_fields(row),
        answered=answered,
        answered_at=answered_at if answered else None,
        site=site,
        answer_ref=optional_str(_get(row, "token"), "token"),  # only G마켓 items carry one
    )


def _board_site(row: Mapping[str, object], sellers: Sellers, requested_qna_type: int) -> str:
    seller_id = optional_str(_str_or_none(_get(row, "SellerId")), "SellerId")
    qna_type = _get(row, "QnaType")
    row_type = int(qna_type) if is_int(qna_type) or (isinstance(qna_type, str) and qna_type.isdecimal()) else None
    site = sellers.site_of(seller_id, row_type if row_type is not None else requested_qna_type)
    if site is None:
        raise MalformedItem("SellerId: names no configured site")
    return site


class _OrderFields(TypedDict):
    title: str | None
    product_name: str | None
    order_id: str | None
    buyer: str | None


def _order_fields(row: Mapping[str, object]) -> _OrderFields:
    """What board and 긴급알리미 rows say alike about the order: title, goods, order number and buyer."""
    buyer = _get(row, *_BUYER_NAME)
    return _OrderFields(
        title=optional_str(_get(row, "Title"), "Title"),
        product_name=optional_str(_get(row, "GoodsName", "ItemName"), "GoodsName"),
        order_id=optional(numeric_id, _get(row, "OrderNo", "PayNo"), "OrderNo"),
        # A guessed name field of another type never costs the row.
        buyer=optional_str(buyer, "BuyerName") if isinstance(buyer, str) else None,
    )


def _str_or_none(value: object) -> object:
    return str(value) if is_int(value) else value
