"""Pure normalization of Coupang inquiry list rows (product Q&A, call center) into `Inquiry`.

Error messages name the field and what was expected, never the value: rows carry buyer text.
Times come in both forms Coupang uses: v4 naive "yyyy-MM-dd HH:mm:ss" and v5 ISO 8601 with an offset.
UNCONFIRMED: no doc states the zone of naive v4 times; every sample reads as Korean local time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from connectors.rows import (
    CATEGORY_WORDS,
    RowParser,
    category_by_words,
    date_time,
    list_field,
    mapping,
    numeric_id,
    optional,
    optional_str,
    parse_row,
    required,
    text,
)
from core.models import Category, Inquiry, Marketplace, StreamKind

# Coupang sends no buyer name field; its CS agent writes the name into the transfer note
# ("◼고객명/연락처: <<홍길동/010-1234-5678>>"). That name is the row's buyer: known to the masker, it is caught
# wherever the buyer or the agent repeats it, labelled or not.
_NOTE_BUYER = re.compile(
    r"(?:고객명|고객\s?성함|성함|주문자명?|구매자명?|문의자)(?:\s*/\s*(?:연락처|전화번호|휴대폰))?\s*[:：]\s*<*\s*"
    r"(?P<name>[^/<>\n:]{2,20}?)\s*님?\s*(?=[/>\n),]|$)"
)
_NAME = re.compile(r"[가-힣*]{2,6}(?: [가-힣*]{1,6})?|[A-Za-z][A-Za-z.'-]*(?: [A-Za-z][A-Za-z.'-]*){0,2}")
# What agents write in the name slot when there is no name to give.
_NOT_A_NAME = frozenset({"대상", "아님", "없음", "미기재", "비공개", "해당없음", "확인불가", "익명", "고객", "본인"})


def buyer_in_notes(texts: Iterable[str]) -> str | None:
    """The buyer's name as the first CS-agent note that gives one writes it, or None."""
    for note in texts:
        for match in _NOTE_BUYER.finditer(note):
            name = match["name"].strip()
            if _NAME.fullmatch(name) and not _NOT_A_NAME.intersection(name.split()):
                return name
    return None


def row_id(raw: object) -> str:
    """`inquiryId` of a list row, as a string."""
    return numeric_id(required(mapping(raw, "row"), "inquiryId"), "inquiryId")


def to_inquiry(raw: object, account_id: str, stream: StreamKind) -> Inquiry:
    """Normalize one list row of `stream`; raises MalformedItem naming the first bad field."""
    return parse_row(Marketplace.COUPANG, _PARSERS, raw, account_id, stream)


def category_of(receipt_category: str | None) -> Category:
    """Map a call-center `receiptCategory` path (e.g. "배송문의>배송불량>...") to a Category."""
    return category_by_words(receipt_category, CATEGORY_WORDS)


def _product_qna(row: Mapping[str, object], account_id: str) -> Inquiry:
    # Product Q&A rows have no status field: an answer exists exactly when a comment does.
    comments = [mapping(c, "commentDtoList[]") for c in list_field(row, "commentDtoList")]
    answered_times = [date_time(required(c, "inquiryCommentAt"), "commentDtoList[].inquiryCommentAt") for c in comments]
    order_ids = list_field(row, "orderIds")
    return Inquiry(
        account_id=account_id,
        marketplace=Marketplace.COUPANG,
        stream=StreamKind.PRODUCT_QNA,
        external_id=row_id(row),
        received_at=date_time(required(row, "inquiryAt"), "inquiryAt"),
        body=text(required(row, "content"), "content", html_escaped=True),
        category=Category.PRODUCT,
        order_id=numeric_id(order_ids[0], "orderIds[0]") if order_ids else None,
        answered=bool(comments),
        answered_at=min(answered_times, default=None),  # the first answer: what the seller score counts
    )


@dataclass(frozen=True, slots=True)
class _Reply:
    at: datetime
    text: str
    by_agent: bool
    requests_answer: bool


def _reply(raw: object) -> _Reply:
    reply = mapping(raw, "replies[]")
    return _Reply(
        at=date_time(required(reply, "replyAt"), "replies[].replyAt"),
        text=text(reply.get("content") or "", "replies[].content", html_escaped=True),
        by_agent=reply.get("answerType") == "csAgent",
        requests_answer=reply.get("partnerTransferStatus") == "requestAnswer" and reply.get("needAnswer") is True,
    )


def _call_center(row: Mapping[str, object], account_id: str) -> Inquiry:
    replies = sorted((_reply(r) for r in list_field(row, "replies")), key=lambda r: r.at)
    # Coupang's own agents handle call-center inquiries; the seller owes an answer only while an agent's
    # transfer asks for one: the row says requestAnswer, or a reply is a requestAnswer that still needs an
    # answer (covers a summary status that lags its replies). inquiryStatus "complete" overrides both:
    # Coupang has closed the case (it auto-closes after 24 h) and the API no longer accepts an answer.
    # TRANSFER rows (closed by Coupang, seller only confirms) need no answer and so count as answered.
    awaiting_seller = row.get("csPartnerCounselingStatus") == "requestAnswer" or any(r.requests_answer for r in replies)
    answered = row.get("inquiryStatus") == "complete" or not awaiting_seller
    answered_at = None
    if answered:
        answered_at = optional(date_time, row.get("answeredAt"), "answeredAt") or (replies[-1].at if replies else None)
    agent_replies = [r for r in replies if r.by_agent]
    # The agent's transfer note is where the buyer's actual request is written down.
    parts = (
        text(required(row, "content"), "content", html_escaped=True),
        agent_replies[-1].text if agent_replies else "",
    )
    order_id = row.get("orderId")
    buyer = buyer_in_notes([*(r.text for r in reversed(agent_replies)), parts[0]])
    receipt_category = optional_str(row.get("receiptCategory"), "receiptCategory")
    return Inquiry(
        account_id=account_id,
        marketplace=Marketplace.COUPANG,
        stream=StreamKind.CALL_CENTER,
        external_id=row_id(row),
        received_at=date_time(required(row, "inquiryAt"), "inquiryAt"),
        body="\n\n".join(p for p in parts if p),
        category=category_of(receipt_category),
        title=receipt_category,
        product_name=optional_str(row.get("itemName"), "itemName"),
        order_id=None if order_id is None else numeric_id(order_id, "orderId"),
        buyer=buyer,
        answered=answered,
        answered_at=answered_at,
        answer_ref=_asking_answer_id(row) if awaiting_seller else None,  # the answer's parentAnswerId
    )


def _asking_answer_id(row: Mapping[str, object]) -> str | None:
    """The answerId of the latest agent reply asking the seller to answer: what an answer names as parentAnswerId.

    A requestAnswer reply that still needs an answer comes first; when the row asks but no reply says so (a
    summary ahead of its replies), the latest agent reply is the best guess (UNCONFIRMED; a wrong one is a 400).
    """
    asking: list[tuple[bool, bool, datetime, str]] = []
    for raw in list_field(row, "replies"):
        reply = mapping(raw, "replies[]")
        answer_id = reply.get("answerId")
        requests = reply.get("partnerTransferStatus") == "requestAnswer"
        if answer_id is None or not (requests or reply.get("answerType") == "csAgent"):
            continue
        at = date_time(required(reply, "replyAt"), "replies[].replyAt")
        asking.append((requests, requests and reply.get("needAnswer") is True, at, numeric_id(answer_id, "answerId")))
    best = max(asking, default=None)
    return None if best is None else best[3]


_PARSERS: dict[StreamKind, RowParser] = {
    StreamKind.PRODUCT_QNA: _product_qna,
    StreamKind.CALL_CENTER: _call_center,
}
