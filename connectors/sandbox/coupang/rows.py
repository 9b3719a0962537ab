"""The Coupang sandbox's seeded data and how it is rendered into rows shaped like the documented samples."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from connectors.sandbox.faults import Malformation
from core.models import KST


class DateTimeFormat(StrEnum):
    """How date-times appear in responses."""

    NAIVE_KST = "naive_kst"  # "2025-01-15 08:00:00", Korean wall time without an offset (v4 samples)
    OFFSET = "offset"  # "2025-01-15T08:00:00+09:00" (one public v5 fixture; UNCONFIRMED)


class CodeStyle(StrEnum):
    """Whether the envelope's `code` is "200" or 200: official samples show both."""

    STRING = "string"
    NUMBER = "number"


class CallCenterStatus(StrEnum):
    """Where a call-center inquiry stands, from the seller's side."""

    REQUEST_ANSWER = "requestAnswer"  # a CS agent asked the seller to answer (NO_ANSWER)
    ANSWERED = "answered"  # the seller answered (ANSWER)
    TRANSFER = "transfer"  # Coupang closed it and passed it on for confirmation only (TRANSFER)


def format_datetime(value: datetime, style: DateTimeFormat) -> str:
    """`value` as Korean time in the chosen response format."""
    local = value.astimezone(KST)
    if style is DateTimeFormat.NAIVE_KST:
        return local.strftime("%Y-%m-%d %H:%M:%S")
    return local.isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class ProductComment:
    """A seller's answer to a product inquiry (one `commentDtoList` entry)."""

    comment_id: int
    content: str
    at: datetime


@dataclass(slots=True)
class ProductInquiry:
    """A seeded product Q&A question."""

    inquiry_id: int
    content: str
    inquiry_at: datetime
    product_id: int
    vendor_item_id: int
    seller_product_id: int
    seller_item_id: int
    order_ids: tuple[int, ...] | None
    comments: list[ProductComment] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        """Answered means at least one comment: the API has no status field."""
        return bool(self.comments)

    def row(self, style: DateTimeFormat) -> dict[str, Any]:
        """The `data.content[]` row of the product-inquiry list."""
        return {
            "inquiryId": self.inquiry_id,
            "productId": self.product_id,
            "vendorItemId": self.vendor_item_id,
            "content": self.content,
            "inquiryAt": format_datetime(self.inquiry_at, style),
            "orderIds": None if self.order_ids is None else list(self.order_ids),
            "buyerEmail": "",  # emptied by Coupang since 2024-08
            "commentDtoList": [
                {
                    "inquiryCommentId": comment.comment_id,
                    "inquiryId": self.inquiry_id,
                    "content": comment.content,
                    "inquiryCommentAt": format_datetime(comment.at, style),
                }
                for comment in self.comments
            ],
            "sellerProductId": self.seller_product_id,
            "sellerItemId": self.seller_item_id,
        }


@dataclass(slots=True)
class CallCenterReply:
    """One entry of a call-center inquiry's `replies`: a CS agent's transfer note or the seller's answer."""

    answer_id: int
    content: str
    at: datetime
    answer_type: str  # "csAgent" | "vendor"
    receptionist_name: str
    receptionist: str
    partner_transfer_status: str | None  # "none" | "requestAnswer" | "answered" | None (seller's own reply)
    need_answer: bool
    parent_answer_id: int = 0

    def row(self, style: DateTimeFormat) -> dict[str, Any]:
        """The `replies[]` entry."""
        return {
            "receptionistName": self.receptionist_name,
            "receptionist": self.receptionist,
            "replyAt": format_datetime(self.at, style),
            "content": self.content,
            "answerId": self.answer_id,
            "parentAnswerId": self.parent_answer_id,
            "partnerTransferStatus": self.partner_transfer_status,
            "partnerTransferCompleteReason": "NONE",
            "answerType": self.answer_type,
            "needAnswer": self.need_answer,
        }


@dataclass(slots=True)
class CallCenterInquiry:
    """A seeded call-center (쿠팡 고객센터) inquiry."""

    inquiry_id: int
    content: str
    inquiry_at: datetime
    item_name: str
    vendor_item_ids: tuple[int, ...]
    buyer_phone: str  # already masked, as the API returns it
    order_id: int
    order_date: datetime
    receipt_category: str
    status: CallCenterStatus
    replies: list[CallCenterReply]
    answered_at: datetime | None = None
    sale_started_at: date = date(2024, 1, 1)
    sale_ended_at: date = date(2099, 12, 30)

    @property
    def request_reply(self) -> CallCenterReply | None:
        """The CS agent's reply that is waiting for the seller, if any."""
        waiting = [r for r in self.replies if r.partner_transfer_status == "requestAnswer" and r.need_answer]
        return waiting[0] if waiting else None

    @property
    def inquiry_status(self) -> str:
        """ "progress" while the seller may still act, "complete" once Coupang closed it."""
        return "complete" if self.status is CallCenterStatus.TRANSFER else "progress"

    @property
    def counseling_status(self) -> str:
        """`csPartnerCounselingStatus`; transferred rows show "none" (a value seen in samples; UNCONFIRMED)."""
        return "none" if self.status is CallCenterStatus.TRANSFER else self.status.value

    def row(self, style: DateTimeFormat) -> dict[str, Any]:
        """The `data.content[]` row of the call-center list, shaped like the official sample."""
        return {
            "inquiryId": self.inquiry_id,
            "csPartnerCounselingStatus": self.counseling_status,
            "inquiryStatus": self.inquiry_status,
            "vendorItemId": list(self.vendor_item_ids),
            "itemName": self.item_name,
            "content": self.content,
            "answeredAt": None if self.answered_at is None else format_datetime(self.answered_at, style),
            "replies": [reply.row(style) for reply in self.replies],
            "inquiryAt": format_datetime(self.inquiry_at, style),
            "buyerEmail": "",
            "buyerPhone": self.buyer_phone,
            "orderId": self.order_id,
            "orderDate": format_datetime(self.order_date, style),
            "receiptCategory": self.receipt_category,
            "saleStartedAt": self.sale_started_at.isoformat(),
            "saleEndedAt": self.sale_ended_at.isoformat(),
        }


def malformed(row: dict[str, Any], how: Malformation) -> dict[str, Any]:
    """A copy of `row` broken in the way `how` names; works on both list kinds."""
    broken = dict(row)
    if how is Malformation.MISSING_ID:
        del broken["inquiryId"]
    elif how is Malformation.WRONG_TYPES:
        broken["inquiryId"] = f"#{row['inquiryId']}"
        broken["inquiryAt"] = 1736899200000
        broken["content"] = {"text": row["content"]}
        for list_key in ("commentDtoList", "replies", "vendorItemId"):
            if list_key in broken:
                broken[list_key] = "none"
    else:
        broken["inquiryAt"] = "2025-02-30 25:61:00"
    return broken
