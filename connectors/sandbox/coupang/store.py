"""The Coupang sandbox's state: seeded inquiries and what buyers, CS agents and the seller in WING do to them."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from operator import attrgetter
from typing import Any, TypeVar

from connectors.sandbox.coupang.rows import (
    CallCenterInquiry,
    CallCenterReply,
    CallCenterStatus,
    DateTimeFormat,
    ProductComment,
    ProductInquiry,
)
from connectors.sandbox.stores import EVERY_ROW, SandboxStore, newest_first, on_korean_dates, require_aware

CANNOT_ANSWER = (
    "The inquiry can't be answer. It can do only inquiryStatus:progress, partnerTransferStatus:requestAnswer"
)

InquiryT = TypeVar("InquiryT", ProductInquiry, CallCenterInquiry)
# Newest first as the official sample orders them; the later id first among equal times.
_NEWEST = attrgetter("inquiry_at", "inquiry_id")


class CoupangInquiryStore(SandboxStore):
    """Seeded product and call-center inquiries, their answers, and the queries the list APIs run. Thread-safe."""

    def __init__(self, *, vendor_name: str) -> None:
        super().__init__()
        self.vendor_name = vendor_name
        self._products: dict[int, ProductInquiry] = {}
        self._calls: dict[int, CallCenterInquiry] = {}
        self._inquiry_ids = itertools.count(1_000_000_001)
        self._answer_ids = itertools.count(2_000_000_001)

    def add_product_inquiry(
        self,
        *,
        content: str,
        inquiry_at: datetime,
        product_id: int = 7_000_000_001,
        vendor_item_id: int = 3_100_000_204,
        seller_product_id: int = 1_320_000_001,
        seller_item_id: int = 1,
        order_ids: Sequence[int] | None = None,
        answered: bool = False,
        answer: str = "안녕하세요, 고객님. 문의 주셔서 감사합니다.",
        answered_at: datetime | None = None,
    ) -> int:
        """Seed a product Q&A question (answered a while later when `answered`); returns its inquiryId."""
        require_aware(inquiry_at)
        with self._lock:
            inquiry_id = next(self._inquiry_ids)
            orders = None if order_ids is None else tuple(order_ids)
            inquiry = ProductInquiry(
                inquiry_id, content, inquiry_at, product_id, vendor_item_id, seller_product_id, seller_item_id, orders
            )
            self._products[inquiry_id] = inquiry
            if answered:
                self.answer_product_inquiry(inquiry_id, answer, answered_at or inquiry_at + timedelta(hours=1))
            return inquiry_id

    def answer_product_inquiry(self, inquiry_id: int, content: str, at: datetime) -> int:
        """Answer as the seller would in WING; returns the new inquiryCommentId."""
        require_aware(at)
        with self._lock:
            comment = ProductComment(next(self._answer_ids), content, at)
            self._products[inquiry_id].comments.append(comment)
            return comment.comment_id

    def add_call_center_inquiry(
        self,
        *,
        inquiry_at: datetime,
        agent_note: str,
        item_name: str,
        content: str = "상담이력",
        status: CallCenterStatus = CallCenterStatus.REQUEST_ANSWER,
        vendor_item_id: int = 3_285_906_659,
        order_id: int = 10_000_011_255_416,
        order_date: datetime | None = None,
        buyer_phone: str = "010-****-8801",
        receipt_category: str = "기타문의>기타>전상담사통화요청",
        answer: str = "안녕하세요, 고객님. 확인 후 처리해 드리겠습니다.",
        answered_at: datetime | None = None,
    ) -> int:
        """Seed a call-center inquiry with its CS agent's note (free text, may name the buyer); returns its id."""
        require_aware(inquiry_at)
        with self._lock:
            inquiry_id = next(self._inquiry_ids)
            transfer = status is CallCenterStatus.TRANSFER
            note = CallCenterReply(
                answer_id=next(self._answer_ids),
                content=agent_note,
                at=inquiry_at + timedelta(minutes=1),
                answer_type="csAgent",
                receptionist_name="쿠팡 고객센터",
                receptionist=str(10_000_000 + inquiry_id % 90_000),
                partner_transfer_status="none" if transfer else "requestAnswer",
                need_answer=not transfer,
            )
            self._calls[inquiry_id] = CallCenterInquiry(
                inquiry_id=inquiry_id,
                content=content,
                inquiry_at=inquiry_at,
                item_name=item_name,
                vendor_item_ids=(vendor_item_id,),
                buyer_phone=buyer_phone,
                order_id=order_id,
                order_date=order_date or inquiry_at - timedelta(days=3),
                receipt_category=receipt_category,
                status=CallCenterStatus.TRANSFER if transfer else CallCenterStatus.REQUEST_ANSWER,
                replies=[note],
            )
            if status is CallCenterStatus.ANSWERED:
                self.answer_call_center_inquiry(inquiry_id, answer, answered_at or inquiry_at + timedelta(hours=1))
            return inquiry_id

    def answer_call_center_inquiry(
        self, inquiry_id: int, content: str, at: datetime, *, reply_by: str = "sandbox-wing"
    ) -> int:
        """Answer as the seller would in WING; raises ValueError when Coupang would refuse. Returns the answerId."""
        require_aware(at)
        with self._lock:
            inquiry = self._calls[inquiry_id]
            waiting = inquiry.request_reply
            if inquiry.inquiry_status != "progress" or waiting is None:
                raise ValueError(CANNOT_ANSWER)
            waiting.partner_transfer_status, waiting.need_answer = "answered", False
            # The official sample shows parentAnswerId 0 on the seller's reply, even though the request names one.
            answer = CallCenterReply(
                next(self._answer_ids), content, at, "vendor", self.vendor_name, reply_by, None, False
            )
            inquiry.replies.append(answer)
            inquiry.status, inquiry.answered_at = CallCenterStatus.ANSWERED, at
            return answer.answer_id

    def is_answered(self, inquiry_id: int) -> bool:
        """Whether the product or call-center inquiry `inquiry_id` has a seller answer."""
        with self._lock:
            if inquiry_id in self._products:
                return self._products[inquiry_id].answered
            return self._calls[inquiry_id].status is CallCenterStatus.ANSWERED

    def product_inquiry(self, inquiry_id: int) -> ProductInquiry | None:
        """The seeded product inquiry `inquiry_id`, if any."""
        with self._lock:
            return self._products.get(inquiry_id)

    def call_center_inquiry(self, inquiry_id: int) -> CallCenterInquiry | None:
        """The seeded call-center inquiry `inquiry_id`, if any."""
        with self._lock:
            return self._calls.get(inquiry_id)

    def product_rows(
        self,
        *,
        start: date,
        end: date,
        answered: bool | None,
        vendor_item_id: int | None,
        style: DateTimeFormat,
        page: slice = EVERY_ROW,
    ) -> tuple[list[dict[str, Any]], int]:
        """Rows received on Korean dates start..end (inclusive), newest first; (rows of `page`, total matches)."""

        def wanted(item: ProductInquiry) -> bool:
            return answered in (None, item.answered) and vendor_item_id in (None, item.vendor_item_id)

        return self._rows(self._products, start, end, wanted, style, page)

    def call_center_rows(
        self,
        *,
        start: date,
        end: date,
        status: CallCenterStatus | None,
        vendor_item_id: int | None,
        order_id: int | None,
        style: DateTimeFormat,
        page: slice = EVERY_ROW,
    ) -> tuple[list[dict[str, Any]], int]:
        """Call-center rows received on Korean dates start..end (inclusive), newest first; (page rows, total)."""

        def wanted(item: CallCenterInquiry) -> bool:
            return (
                status in (None, item.status)
                and (vendor_item_id is None or vendor_item_id in item.vendor_item_ids)
                and order_id in (None, item.order_id)
            )

        return self._rows(self._calls, start, end, wanted, style, page)

    def _rows(
        self,
        inquiries: dict[int, InquiryT],
        start: date,
        end: date,
        wanted: Callable[[InquiryT], bool],
        style: DateTimeFormat,
        page: slice,
    ) -> tuple[list[dict[str, Any]], int]:
        with self._lock:
            matches = (i for i in inquiries.values() if on_korean_dates(i.inquiry_at, start, end) and wanted(i))
            return newest_first(matches, key=_NEWEST, page=page, row=lambda i: i.row(style))
