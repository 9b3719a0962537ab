"""Pure normalization of Naver list pages and their rows (상품 문의 `contents[]`, 고객 문의 `content[]`).

Error messages name the field and what was expected, never the value: rows carry buyer text and names.
`customerName` becomes `Inquiry.buyer` (raw, for the store only; everything downstream masks it); `customerId`
is not kept at all: nothing needs it, and an id is one more piece of personal data to leak.
Times are ISO 8601 as Naver sends them ("+09:00" or "Z", with or without milliseconds); they are documented with
an offset, and a bare one can only be the Korean wall time every other Naver time is in.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.base import MalformedItem, Unavailable
from connectors.polling import Page
from connectors.rows import (
    RowParser,
    category_by_words,
    is_int,
    kst_date_time,
    mapping,
    numeric_id,
    optional,
    optional_str,
    parse_row,
    required,
    text,
)
from core.models import Category, Inquiry, Marketplace, StreamKind

# The six documented 고객 문의 types, and 취소 in case it ever appears. A label goes by the first of these words it
# contains, so longer ones ("상품 문의", "교환/반품") map too; 반품 comes first as it qualifies the others.
CATEGORIES = {
    "반품": Category.RETURN,
    "교환": Category.EXCHANGE,
    "환불": Category.REFUND,
    "취소": Category.CANCEL,
    "배송": Category.DELIVERY,
    "상품": Category.PRODUCT,
    "기타": Category.OTHER,
}
_ID_FIELDS = {StreamKind.PRODUCT_QNA: "questionId", StreamKind.CUSTOMER_INQUIRY: "inquiryNo"}


def row_id(raw: object, stream: StreamKind) -> str:
    """The marketplace id of a list row of `stream` (questionId / inquiryNo), as a string."""
    field = _ID_FIELDS[stream]
    return numeric_id(required(mapping(raw, "row"), field), field)


def to_inquiry(raw: object, account_id: str, stream: StreamKind) -> Inquiry:
    """Normalize one list row of `stream`; raises MalformedItem naming the first bad field."""
    return parse_row(Marketplace.NAVER, _PARSERS, raw, account_id, stream)


def parse_page(data: object, rows_key: str) -> Page:
    """One list response: `contents` (Q&A) or `content` (Spring page), with whatever ends the walk."""
    if not isinstance(data, Mapping):
        raise Unavailable("naver: page is not an object")
    rows = data.get(rows_key)
    if rows is None or rows == []:
        return Page([], last=True)
    if not isinstance(rows, list):
        raise Unavailable(f"naver: page {rows_key} is not a list")
    total_pages, last, elements = data.get("totalPages"), data.get("last"), data.get("totalElements")
    if not is_int(total_pages) and not isinstance(last, bool):
        raise Unavailable("naver: page has neither totalPages nor last")
    # Spring's `number` is 0-based and not relied on: our own page counter ends the walk.
    return Page(
        rows,
        total_elements=elements if is_int(elements) else None,
        total_pages=total_pages if is_int(total_pages) else None,
        last=last is True,
    )


def category_of(value: str | None) -> Category:
    """Map a 고객 문의 `category` (상품, 배송, 반품, 교환, 환불, 기타) to a Category; unknown ones are OTHER."""
    return category_by_words(value, CATEGORIES.items())


def _product_qna(row: Mapping[str, object], account_id: str) -> Inquiry:
    # Public Q&A: only a masked writer id, no order and no buyer name. The list gives no answer time.
    return Inquiry(
        account_id=account_id,
        marketplace=Marketplace.NAVER,
        stream=StreamKind.PRODUCT_QNA,
        external_id=row_id(row, StreamKind.PRODUCT_QNA),
        received_at=kst_date_time(required(row, "createDate"), "createDate"),
        body=text(required(row, "question"), "question"),
        category=Category.PRODUCT,
        product_name=optional_str(row.get("productName"), "productName"),
        answered=_bool(required(row, "answered"), "answered"),
    )


def _customer_inquiry(row: Mapping[str, object], account_id: str) -> Inquiry:
    answered = _bool(required(row, "answered"), "answered")
    answered_at = optional(kst_date_time, row.get("answerRegistrationDateTime"), "answerRegistrationDateTime")
    return Inquiry(
        account_id=account_id,
        marketplace=Marketplace.NAVER,
        stream=StreamKind.CUSTOMER_INQUIRY,
        external_id=row_id(row, StreamKind.CUSTOMER_INQUIRY),
        received_at=kst_date_time(required(row, "inquiryRegistrationDateTime"), "inquiryRegistrationDateTime"),
        body=text(required(row, "inquiryContent"), "inquiryContent"),
        category=category_of(optional_str(row.get("category"), "category")),
        title=optional_str(row.get("title"), "title"),
        product_name=optional_str(row.get("productName"), "productName"),
        # Documented as required, but a row without one still needs an answer: keep the inquiry, lose the field.
        order_id=optional(numeric_id, row.get("orderId"), "orderId"),
        buyer=optional_str(row.get("customerName"), "customerName"),
        answered=answered,
        answered_at=answered_at if answered else None,
        answer_ref=_answer_content_id(row) if answered else None,
    )


_PARSERS: dict[StreamKind, RowParser] = {
    StreamKind.PRODUCT_QNA: _product_qna,
    StreamKind.CUSTOMER_INQUIRY: _customer_inquiry,
}


def _answer_content_id(row: Mapping[str, object]) -> str | None:
    """The answer's number, which an edit (PUT .../answer/{answerContentId}) names; a missing or odd one is None.

    Only an edit needs it, so a bad one costs that edit, never the inquiry's alert.
    """
    try:
        return optional(numeric_id, row.get("answerContentId") or None, "answerContentId")
    except MalformedItem:
        return None


def _bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise MalformedItem(f"{field}: expected true or false")
    return value
