"""The Naver sandbox's state: seeded 상품 문의 and 고객 문의, what the seller does to them, and the list queries.

Rows are rendered as the documented samples show them (marketplaces.md §2.4, §2.5): Q&A rows with `createDate`,
`answered` and only a masked writer id; 고객 문의 rows with unmasked `customerName`/`customerId`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from operator import attrgetter
from typing import Any

from connectors.sandbox.faults import Malformation
from connectors.sandbox.query import Page
from connectors.sandbox.stores import EVERY_ROW, SandboxStore, newest_first, on_korean_dates, require_aware
from core.models import KST

ALREADY_ANSWERED = "이미 답변이 등록된 문의입니다."
# (id, date-time, text) fields of a Q&A row and of a 고객 문의 row, for breaking rows on purpose.
_QNA_FIELDS = ("questionId", "createDate", "question")
_INQUIRY_FIELDS = ("inquiryNo", "inquiryRegistrationDateTime", "inquiryContent")


class NaverDateTimeStyle(StrEnum):
    """How date-times appear in list rows; the official samples show the first two."""

    OFFSET_MILLIS = "offset_millis"  # 2025-02-03T22:36:42.008+09:00: yyyy-MM-dd'T'HH:mm:ss.SSSXXX in KST
    UTC_MILLIS = "utc_millis"  # 2024-07-29T15:51:28.071Z: the same pattern printed in UTC (XXX gives "Z")
    OFFSET_SECONDS = "offset_seconds"  # 2025-02-03T22:36:42+09:00: no fraction (seen from some Jackson setups)


def format_datetime(value: datetime, style: NaverDateTimeStyle) -> str:
    """`value` in the chosen response style."""
    if style is NaverDateTimeStyle.UTC_MILLIS:
        return value.astimezone(UTC).isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"
    local = value.astimezone(KST)
    if style is NaverDateTimeStyle.OFFSET_SECONDS:
        return local.isoformat(timespec="seconds")
    return local.isoformat(timespec="milliseconds")


@dataclass(slots=True)
class ProductQuestion:
    """A seeded public product question (상품 문의)."""

    question_id: int
    question: str
    created_at: datetime
    product_id: int
    product_name: str
    masked_writer_id: str
    answer: str | None = None
    answered_at: datetime | None = None

    @property
    def answered(self) -> bool:
        """Whether the seller has answered."""
        return self.answer is not None

    def row(self, style: NaverDateTimeStyle) -> dict[str, Any]:
        """The `contents[]` row of the Q&A list."""
        return {
            "createDate": format_datetime(self.created_at, style),
            "question": self.question,
            "answer": self.answer,
            "answered": self.answered,
            "productId": self.product_id,
            "productName": self.product_name,
            "maskedWriterId": self.masked_writer_id,
            "questionId": self.question_id,
        }


@dataclass(frozen=True, slots=True)
class CustomerAnswer:
    """One seller answer to a 고객 문의; the list shows the latest."""

    answer_content_id: int
    content: str
    at: datetime
    template_no: int | None


@dataclass(slots=True)
class CustomerInquiry:
    """A seeded buyer's 1:1 inquiry about an order (고객 문의, 네이버페이)."""

    inquiry_no: int
    category: str
    title: str
    content: str
    registered_at: datetime
    order_id: str
    product_no: str
    product_order_ids: tuple[str, ...]
    product_name: str
    product_order_option: str
    customer_id: str
    customer_name: str
    answers: list[CustomerAnswer] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        """Whether the seller has answered."""
        return bool(self.answers)

    def row(self, style: NaverDateTimeStyle) -> dict[str, Any]:
        """The `content[]` row of the 고객 문의 list, shaped like the documented sample."""
        latest = self.answers[-1] if self.answers else None
        return {
            "inquiryNo": self.inquiry_no,
            "category": self.category,
            "title": self.title,
            "inquiryContent": self.content,
            "inquiryRegistrationDateTime": format_datetime(self.registered_at, style),
            "answerContentId": None if latest is None else latest.answer_content_id,
            "answerContent": None if latest is None else latest.content,
            "answerTemplateNo": None if latest is None else latest.template_no,
            "answerRegistrationDateTime": None if latest is None else format_datetime(latest.at, style),
            "answered": self.answered,
            "orderId": self.order_id,
            "productNo": self.product_no,
            "productOrderIdList": ",".join(self.product_order_ids),
            "productName": self.product_name,
            "productOrderOption": self.product_order_option,
            "customerId": self.customer_id,
            "customerName": self.customer_name,
        }


class NaverInquiryStore(SandboxStore):
    """Seeded product questions and customer inquiries, their answers, and the list queries. Thread-safe."""

    def __init__(self) -> None:
        super().__init__()
        self._questions: dict[int, ProductQuestion] = {}
        self._inquiries: dict[int, CustomerInquiry] = {}
        self._question_ids = itertools.count(640_000_001)
        self._inquiry_nos = itertools.count(310_000_001)
        self._answer_ids = itertools.count(88_000_001)
        self._order_ids = itertools.count(2_025_011_500_000_001)

    def add_product_question(
        self,
        *,
        question: str,
        created_at: datetime,
        product_id: int = 8_800_000_001,
        product_name: str = "무선 블루투스 이어폰 노이즈캔슬링",
        masked_writer_id: str = "mins****",
        answered: bool = False,
        answer: str = "안녕하세요, 고객님. 문의 주셔서 감사합니다.",
        answered_at: datetime | None = None,
    ) -> int:
        """Seed a public product question (answered a while later when `answered`); returns its questionId."""
        require_aware(created_at)
        with self._lock:
            question_id = next(self._question_ids)
            item = ProductQuestion(question_id, question, created_at, product_id, product_name, masked_writer_id)
            self._questions[question_id] = item
            if answered:
                self.answer_product_question(question_id, answer, answered_at or created_at + timedelta(hours=1))
            return question_id

    def answer_product_question(self, question_id: int, content: str, at: datetime) -> None:
        """Create or replace the seller's answer, as `PUT /v1/contents/qnas/{questionId}` does."""
        require_aware(at)
        with self._lock:
            item = self._questions[question_id]
            item.answer, item.answered_at = content, at

    def add_customer_inquiry(
        self,
        *,
        title: str,
        content: str,
        registered_at: datetime,
        category: str = "배송",
        customer_name: str = "김민수",
        customer_id: str = "minsu0312",
        order_id: str | None = None,
        product_no: str = "8800000001",
        product_order_ids: Sequence[str] | None = None,
        product_name: str = "유기농 현미 10kg",
        product_order_option: str = "중량: 10kg",
        answered: bool = False,
        answer: str = "안녕하세요, 고객님. 확인 후 처리해 드리겠습니다.",
        answered_at: datetime | None = None,
    ) -> int:
        """Seed a buyer's 고객 문의 with their real name and id (as the API returns them); returns its inquiryNo."""
        require_aware(registered_at)
        with self._lock:
            inquiry_no = next(self._inquiry_nos)
            order = order_id or str(next(self._order_ids))
            orders = tuple(product_order_ids) if product_order_ids is not None else (str(int(order) + 1),)
            self._inquiries[inquiry_no] = CustomerInquiry(
                inquiry_no=inquiry_no,
                category=category,
                title=title,
                content=content,
                registered_at=registered_at,
                order_id=order,
                product_no=product_no,
                product_order_ids=orders,
                product_name=product_name,
                product_order_option=product_order_option,
                customer_id=customer_id,
                customer_name=customer_name,
            )
            if answered:
                self.answer_customer_inquiry(inquiry_no, answer, answered_at or registered_at + timedelta(hours=1))
            return inquiry_no

    def answer_customer_inquiry(
        self, inquiry_no: int, content: str, at: datetime, *, template_no: int | None = None
    ) -> int:
        """Answer once, as the seller would; raises ValueError(ALREADY_ANSWERED) after that. Returns the answer id."""
        require_aware(at)
        with self._lock:
            item = self._inquiries[inquiry_no]
            if item.answered:
                raise ValueError(ALREADY_ANSWERED)
            answer = CustomerAnswer(next(self._answer_ids), content, at, template_no)
            item.answers.append(answer)
            return answer.answer_content_id

    def edit_customer_answer(self, inquiry_no: int, answer_content_id: int, content: str, at: datetime) -> None:
        """Replace the latest answer's text; raises KeyError unless `answer_content_id` is that answer."""
        require_aware(at)
        with self._lock:
            item = self._inquiries[inquiry_no]
            if not item.answers or item.answers[-1].answer_content_id != answer_content_id:
                raise KeyError(answer_content_id)
            old = item.answers[-1]
            item.answers[-1] = CustomerAnswer(old.answer_content_id, content, at, old.template_no)

    def is_answered(self, item_id: int) -> bool:
        """Whether the product question or customer inquiry `item_id` has a seller answer."""
        with self._lock:
            if item_id in self._questions:
                return self._questions[item_id].answered
            return self._inquiries[item_id].answered

    def product_question(self, question_id: int) -> ProductQuestion | None:
        """The seeded product question `question_id`, if any."""
        with self._lock:
            return self._questions.get(question_id)

    def customer_inquiry(self, inquiry_no: int) -> CustomerInquiry | None:
        """The seeded customer inquiry `inquiry_no`, if any."""
        with self._lock:
            return self._inquiries.get(inquiry_no)

    def question_rows(
        self,
        *,
        start: datetime,
        end: datetime,
        answered: bool | None,
        style: NaverDateTimeStyle,
        page: slice = EVERY_ROW,
    ) -> tuple[list[dict[str, Any]], int]:
        """Q&A rows created in [start, end] (both inclusive), newest first; (rows of `page`, total matches)."""
        with self._lock:
            matches = (
                item
                for item in self._questions.values()
                if start <= item.created_at <= end and answered in (None, item.answered)
            )
            newest = attrgetter("created_at", "question_id")
            return newest_first(matches, key=newest, page=page, row=lambda item: item.row(style))

    def inquiry_rows(
        self, *, start: date, end: date, answered: bool | None, style: NaverDateTimeStyle, page: slice = EVERY_ROW
    ) -> tuple[list[dict[str, Any]], int]:
        """고객 문의 rows registered on Korean dates start..end (inclusive), newest first; (page rows, total)."""
        with self._lock:
            matches = (
                item
                for item in self._inquiries.values()
                if on_korean_dates(item.registered_at, start, end) and answered in (None, item.answered)
            )
            newest = attrgetter("registered_at", "inquiry_no")
            return newest_first(matches, key=newest, page=page, row=lambda item: item.row(style))


def spring_page(rows: list[dict[str, Any]], total: int, page: Page) -> dict[str, Any]:
    """A Spring Data page; `number`/`pageNumber` are 0-based while the request's `page` is 1-based."""
    total_pages = math.ceil(total / page.size)
    sort = {"sorted": True, "unsorted": False, "empty": False}
    return {
        "content": rows,
        "totalPages": total_pages,
        "totalElements": total,
        "number": page.number - 1,
        "size": page.size,
        "numberOfElements": len(rows),
        "first": page.number == 1,
        "last": page.number >= total_pages,
        "empty": not rows,
        "pageable": {
            "pageNumber": page.number - 1,
            "pageSize": page.size,
            "offset": (page.number - 1) * page.size,
            "paged": True,
            "unpaged": False,
            "sort": sort,
        },
        "sort": sort,
    }


def malformed(row: dict[str, Any], how: Malformation) -> dict[str, Any]:
    """A copy of a Q&A or 고객 문의 list row broken in the way `how` names."""
    broken = dict(row)
    id_field, date_field, text_field = _QNA_FIELDS if "questionId" in row else _INQUIRY_FIELDS
    if how is Malformation.MISSING_ID:
        del broken[id_field]
    elif how is Malformation.WRONG_TYPES:
        broken[id_field] = f"#{row[id_field]}"
        broken["answered"] = "N"
        broken[text_field] = {"text": row[text_field]}
    else:
        broken[date_field] = "2025-02-30T25:61:00.000+09:00"
    return broken
