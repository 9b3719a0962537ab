"""Pure normalization of Naver list pages and their rows (상품 문의 `contents[]`, 고객 문의 `content[]`).

Error messages name the field and what was expected, never the value: rows carry buyer text and names.
`customerName` becomes `Inquiry.buyer` (raw, for the store only; everything downstream masks it); `customerId`
is not kept at all: nothing needs it, and an id is one more piece of personal data to leak.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from connectors.base import MalformedItem, Unavailable
from connectors.polling import Page
from connectors.rows import category_by_words, date_time, is_int, mapping, numeric_id, optional_str, required, storable
from core.models import KST, Category, Inquiry, Marketplace, StreamKind

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
    try:
        parse = _PARSERS[stream]
    except KeyError as err:
        raise ValueError(f"naver has no {stream} stream") from err
    return parse(mapping(raw, "row"), account_id)


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
        received_at=_datetime(required(row, "createDate"), "createDate"),
        body=_text(required(row, "question"), "question"),
        category=Category.PRODUCT,
        product_name=optional_str(row.get("productName"), "productName"),
        answered=_bool(required(row, "answered"), "answered"),
    )


def _customer_inquiry(row: Mapping[str, object], account_id: str) -> Inquiry:
    answered = _bool(required(row, "answered"), "answered")
    answered_at = _optional_datetime(row.get("answerRegistrationDateTime"), "answerRegistrationDateTime")
    order_id = row.get("orderId")
    return Inquiry(
        account_id=account_id,
        marketplace=Marketplace.NAVER,
        stream=StreamKind.CUSTOMER_INQUIRY,
        external_id=row_id(row, StreamKind.CUSTOMER_INQUIRY),
        received_at=_datetime(required(row, "inquiryRegistrationDateTime"), "inquiryRegistrationDateTime"),
        body=_text(required(row, "inquiryContent"), "inquiryContent"),
        category=category_of(optional_str(row.get("category"), "category")),
        title=optional_str(row.get("title"), "title"),
        product_name=optional_str(row.get("productName"), "productName"),
        # Documented as required, but a row without one still needs an answer: keep the inquiry, lose the field.
        order_id=None if order_id is None or order_id == "" else numeric_id(order_id, "orderId"),
        buyer=optional_str(row.get("customerName"), "customerName"),
        answered=answered,
        answered_at=answered_at if answered else None,
    )


_PARSERS: dict[StreamKind, Callable[[Mapping[str, object], str], Inquiry]] = {
    StreamKind.PRODUCT_QNA: _product_qna,
    StreamKind.CUSTOMER_INQUIRY: _customer_inquiry,
}


def _bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise MalformedItem(f"{field}: expected true or false")
    return value


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise MalformedItem(f"{field}: expected a string")
    return storable(value.replace("\r\n", "\n").strip())


def _datetime(value: object, field: str) -> datetime:
    """ISO 8601 as Naver sends it: "+09:00" or "Z", with or without milliseconds."""
    # Documented with an offset; a bare one can only be the Korean wall time every other Naver time is in.
    return date_time(value, field).astimezone(KST)


def _optional_datetime(value: object, field: str) -> datetime | None:
    return None if value is None or value == "" else _datetime(value, field)
