"""The Coupang sandbox's state: seeded inquiries and what buyers, CS agents and the seller in WING do to them."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from connectors.sandbox.coupang.rows import (
    CallCenterInquiry,
    CallCenterReply,
    CallCenterStatus,
    DateTimeFormat,
    ProductComment,
    ProductInquiry,
)
from core.models import KST

CANNOT_ANSWER = (
    "The inquiry can't be answer. It can do only inquiryStatus:progress, partnerTransferStatus:requestAnswer"
)


_ALL = slice(None)  # every match: the default page of the row queries


class CoupangInquiryStore:
    """Seeded product and call-center inquiries, their answers, and the queries the list APIs run. Thread-safe."""

    def __init__(self, *, vendor_name: str) -> None:
        self.vendor_name = vendor_name
        self._lock = threading.RLock()
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
        _require_aware(inquiry_at)
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
        _require_aware(at)
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
        _require_aware(inquiry_at)
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
        _require_aware(at)
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
        page: slice = _ALL,
    ) -> tuple[list[dict[str, Any]], int]:
        """Rows received on Korean dates start..end (inclusive), newest first as the official sample orders them.

        Returns the rows of `page` (all by default) and the total number of matches; only the page is formatted,
        so paging through N items costs O(N) per page, not O(N) formatting per page.
        """
        with self._lock:
            matches = [
                item
                for item in self._products.values()
                if start <= item.inquiry_at.astimezone(KST).date() <= end
                and answered in (None, item.answered)
                and vendor_item_id in (None, item.vendor_item_id)
            ]
            matches.sort(key=lambda item: (item.inquiry_at, item.inquiry_id), reverse=True)
            return [item.row(style) for item in matches[page]], len(matches)

    def call_center_rows(
        self,
        *,
        start: date,
        end: date,
        status: CallCenterStatus | None,
        vendor_item_id: int | None,
        order_id: int | None,
        style: DateTimeFormat,
        page: slice = _ALL,
    ) -> tuple[list[dict[str, Any]], int]:
        """Call-center rows received on Korean dates start..end (inclusive), newest first; (page rows, total)."""
        with self._lock:
            matches = [
                item
                for item in self._calls.values()
                if start <= item.inquiry_at.astimezone(KST).date() <= end
                and status in (None, item.status)
                and (vendor_item_id is None or vendor_item_id in item.vendor_item_ids)
                and order_id in (None, item.order_id)
            ]
            matches.sort(key=lambda item: (item.inquiry_at, item.inquiry_id), reverse=True)
            return [item.row(style) for item in matches[page]], len(matches)


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None:
        raise ValueError("seeded datetimes must be timezone-aware")
