"""Korean notification text. Pure: data in, a `Message` out, buyer data always masked."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from aggregator.models import KST, Inquiry, Marketplace, Message, MessageKind, Priority, StreamKind
from aggregator.redact import excerpt, mask_pii

EXCERPT_CHARS = 120
_WEEKDAYS = "월화수목금토일"
SELLER_CENTER_URLS = {
    Marketplace.COUPANG: "https://wing.coupang.com/",
    Marketplace.NAVER: "https://sell.smartstore.naver.com/",
    Marketplace.ELEVENST: "https://soffice.11st.co.kr/",
    Marketplace.ESM: "https://www.esmplus.com/",
}


def kst_stamp(at: datetime) -> str:
    """`11/24(화) 14:03` in KST, as a seller reads it."""
    local = at.astimezone(KST)
    return f"{local:%m/%d}({_WEEKDAYS[local.weekday()]}) {local:%H:%M}"


def age_text(delta: timedelta) -> str:
    """`3시간 5분`, `2일 4시간`, `방금`."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "방금"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}일 {hours}시간" if hours else f"{days}일"
    if hours:
        return f"{hours}시간 {mins}분" if mins else f"{hours}시간"
    return f"{mins}분"


def safe_excerpt(inquiry: Inquiry, limit: int = EXCERPT_CHARS) -> str:
    """The inquiry's text, masked and cut to a phone-sized line."""
    known = [inquiry.buyer] if inquiry.buyer else []
    return excerpt(mask_pii(inquiry.body, known_names=known), limit)


def new_inquiry(inquiry: Inquiry, *, row_id: int) -> Message:
    """A push for one new open inquiry."""
    lines = []
    about = " · ".join(
        part for part in (inquiry.product_name and excerpt(inquiry.product_name, 40), inquiry.category.value) if part
    )
    if about:
        lines.append(about)
    if inquiry.title:
        lines.append(excerpt(mask_pii(inquiry.title), 60))
    lines.append(f"“{safe_excerpt(inquiry)}”")
    when = f"접수 {kst_stamp(inquiry.received_at)}"
    if inquiry.deadline_at is not None:
        when += f" · 마감 {kst_stamp(inquiry.deadline_at)}"
    lines.append(when)
    return Message(
        kind=MessageKind.NEW_INQUIRY,
        title=f"[{inquiry.marketplace.label}] 새 {inquiry.stream.label}",
        body="\n".join(lines),
        priority=Priority.DEFAULT,
        tags=("speech_balloon", inquiry.marketplace.value),
        click_url=SELLER_CENTER_URLS[inquiry.marketplace],
        group_key=f"inq-{row_id}",
    )


def backfill_summary(payload: Mapping[str, Any], *, marketplace: Marketplace) -> Message:
    """The one message sent after the first poll of a stream, instead of one push per old inquiry."""
    stream = StreamKind(payload["stream"])
    total, still_open = int(payload["total"]), int(payload["open"])
    return Message(
        kind=MessageKind.BACKFILL_SUMMARY,
        title=f"[{marketplace.label}] {stream.label} 연결됨",
        body=(
            f"{payload['account_id']}: 최근 문의 {total}건을 불러왔습니다. 미답변 {still_open}건.\n"
            "지금부터 새 문의만 알려 드립니다. 목록: inqd queue"
        ),
        priority=Priority.DEFAULT if still_open else Priority.LOW,
        tags=("inbox_tray",),
        click_url=SELLER_CENTER_URLS[marketplace],
    )


def system(payload: Mapping[str, Any]) -> Message:
    """An operator alert (connection or auth trouble); its text is already free of secrets."""
    return Message(
        kind=MessageKind.SYSTEM,
        title=str(payload["title"]),
        body=str(payload["body"]),
        priority=Priority.HIGH,
        tags=("warning",),
    )
