"""Korean notification text. Pure: data in, a `Message` out, buyer data always masked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from core.answers import AnswerOutcome, Finding
from core.models import KST, ClockKind, Inquiry, Marketplace, Message, MessageKind, Priority
from core.payloads import (
    AnswerNotSentPayload,
    BackfillSummaryPayload,
    SlaAlertPayload,
    SystemPayload,
    WeeklyReportPayload,
)
from core.redact import excerpt, mask_pii

EXCERPT_CHARS = 120
_WEEKDAYS = "월화수목금토일"
SELLER_CENTER_URLS = {
    Marketplace.COUPANG: "https://wing.coupang.com/",
    Marketplace.NAVER: "https://sell.smartstore.naver.com/",
    Marketplace.ELEVENST: "https://soffice.11st.co.kr/",
    Marketplace.ESM: "https://www.esmplus.com/",
}


def inquiry_group_key(row_id: int) -> str:
    """The group of every message about one inquiry: one notification on the phone, updated and then cleared."""
    return f"inq-{row_id}"


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


def duration_text(delta: timedelta) -> str:
    """`24시간`, `3시간 30분`, `45분`, `3일` (whole days from 72 h on)."""
    minutes = int(delta.total_seconds() // 60)
    hours, mins = divmod(minutes, 60)
    if hours >= 72 and hours % 24 == 0 and not mins:
        return f"{hours // 24}일"
    if hours and mins:
        return f"{hours}시간 {mins}분"
    return f"{hours}시간" if hours else f"{mins}분"


def _buyer_names(inquiry: Inquiry | None) -> tuple[str, ...]:
    """The buyer's name as the marketplace gave it (maybe masked by it: 김*수), for the masker to find first."""
    return (inquiry.buyer,) if inquiry is not None and inquiry.buyer else ()


def masked_excerpt(text: str | None, limit: int, inquiry: Inquiry | None = None) -> str:
    """`text` with buyer data masked (the inquiry's buyer name wherever it appears), then cut to `limit` characters.

    Every piece of marketplace or seller-typed text in a message goes through here: masking runs on the whole text
    before the cut, so a name or number cut in half at the edge is still recognised.
    """
    if not text:
        return ""
    return excerpt(mask_pii(text, known_names=_buyer_names(inquiry)), limit)


def safe_excerpt(inquiry: Inquiry, limit: int = EXCERPT_CHARS) -> str:
    """The inquiry's text, masked and cut to a phone-sized line."""
    return masked_excerpt(inquiry.body, limit, inquiry)


def new_inquiry(inquiry: Inquiry, *, row_id: int, deadline: datetime | None = None) -> Message:
    """A push for one new open inquiry; `deadline` is its marketplace deadline."""
    lines = []
    about = _about(inquiry, 40)
    if about:
        lines.append(about)
    if inquiry.title:
        lines.append(masked_excerpt(inquiry.title, 60, inquiry))
    lines.append(f"“{safe_excerpt(inquiry)}”")
    when = f"접수 {kst_stamp(inquiry.received_at)}"
    if deadline is not None:
        when += f" · 마감 {kst_stamp(deadline)}"
    lines.append(when)
    return Message(
        kind=MessageKind.NEW_INQUIRY,
        title=f"[{inquiry.shop}] 새 {inquiry.stream.label}",
        body="\n".join(lines),
        priority=Priority.DEFAULT,
        tags=("speech_balloon", inquiry.marketplace.value),
        click_url=SELLER_CENTER_URLS[inquiry.marketplace],
        group_key=inquiry_group_key(row_id),
        inquiry_id=row_id,
        deadline=deadline,
    )


_NOT_SENT = {
    AnswerOutcome.ALREADY_ANSWERED: (
        "이미 답변된 문의",
        "이미 답변이 있어 inqd의 답변은 보내지 않았습니다. 마켓의 답변을 그대로 둡니다.",
    ),
    AnswerOutcome.NOT_ANSWERABLE: (
        "답변할 수 없음",
        "마켓이 이 문의에 더 이상 답변을 받지 않습니다. 판매자센터에서 확인해 주세요.",
    ),
    AnswerOutcome.REFUSED: ("답변 거절됨", "마켓이 답변을 거절했습니다. 내용을 고쳐 다시 보내 주세요."),
}


def answer_not_sent(inquiry: Inquiry, *, row_id: int, payload: AnswerNotSentPayload) -> Message:
    """An approved answer that did not go out: answered elsewhere, no longer answerable, or refused."""
    what, lead = _NOT_SENT.get(payload.outcome, _NOT_SENT[AnswerOutcome.REFUSED])
    lines = [lead]
    if payload.message:  # the marketplace's words may quote the buyer: masked like every excerpt
        lines.append(f"마켓 메시지: {excerpt(mask_pii(payload.message), 120)}")
    lines.append(f"“{safe_excerpt(inquiry, 80)}”")
    if payload.outcome is AnswerOutcome.REFUSED:
        lines.append(f"다시 쓰기: inqd answer {row_id}")
    return Message(
        kind=MessageKind.ANSWER_NOT_SENT,
        title=f"[{inquiry.shop}] {inquiry.stream.label}: {what}",
        body="\n".join(lines),
        priority=Priority.DEFAULT if payload.outcome is AnswerOutcome.ALREADY_ANSWERED else Priority.HIGH,
        tags=("speech_balloon" if payload.outcome is AnswerOutcome.ALREADY_ANSWERED else "warning",),
        click_url=SELLER_CENTER_URLS[inquiry.marketplace],
        group_key=inquiry_group_key(row_id),
        inquiry_id=row_id,
    )


def answer_preview(inquiry: Inquiry, *, row_id: int, text: str, findings: Sequence[Finding]) -> str:
    """The phone's preview of an answer before it is sent: the question, the answer, what the check found."""
    names = _buyer_names(inquiry)
    shown = mask_pii(text, known_names=names)  # the phone's copy only: the answer itself goes out as written
    lines = [f"[{inquiry.shop}] {inquiry.stream.label} #{row_id} 답변 미리보기", f"문의: “{safe_excerpt(inquiry, 80)}”"]
    lines += ["", shown, ""]
    if shown != text:
        lines.append("(구매자 정보로 보이는 부분은 휴대폰에서 가려 보입니다)")
    marks = {"block": "⛔", "warn": "⚠️"}
    lines += [f"{marks[f.severity]} {mask_pii(f.message, known_names=names)}" for f in findings] or [
        "✔️ 검사: 문제 없음"
    ]
    if any(f.blocking for f in findings):
        lines.append("고쳐야 보낼 수 있습니다: [수정]")
    elif findings:
        lines.append("경고를 읽고 그래도 보내려면 [⚠️ 그래도 보내기]")
    return "\n".join(lines)


def backfill_summary(summary: BackfillSummaryPayload) -> Message:
    """The one message about an account's first connection, instead of one push per old inquiry."""
    streams = "·".join(s.stream.label for s in summary.streams)
    lines = [f"{summary.account_id}: 최근 문의 {summary.total}건을 불러왔습니다. 미답변 {summary.open}건."]
    if len(summary.streams) > 1:
        lines += [f"· {s.stream.label} {s.total}건, 미답변 {s.open}건" for s in summary.streams]
    lines.append("지금부터 새 문의만 알려 드립니다. 목록: inqd queue")
    return Message(
        kind=MessageKind.BACKFILL_SUMMARY,
        title=f"[{summary.marketplace.label}] {streams} 연결됨",
        body="\n".join(lines),
        priority=Priority.DEFAULT if summary.open else Priority.LOW,
        tags=("inbox_tray",),
        click_url=SELLER_CENTER_URLS[summary.marketplace],
    )


def system(payload: SystemPayload) -> Message:
    """An operator alert (connection or auth trouble): its text was made here, secrets and buyer data left out."""
    return Message(MessageKind.SYSTEM, payload.title, payload.body, payload.priority, payload.tags, payload.click_url)


def weekly_report(payload: WeeklyReportPayload, *, image: bytes | None) -> Message:
    """The weekly answer-time message: its summary lines, with the chart where one was drawn.

    Quiet (low priority): it is read when the seller looks, and rings nothing on the first morning after quiet hours.
    """
    last = payload.week + timedelta(days=6)
    week = f"{payload.week:%-m/%-d}({_WEEKDAYS[payload.week.weekday()]})~{last:%-m/%-d}({_WEEKDAYS[last.weekday()]})"
    return Message(
        kind=MessageKind.WEEKLY_REPORT,
        title=f"[inqd] 지난주 답변 리포트 {week}",
        body="\n".join(payload.lines) or "지난주에 받은 문의가 없습니다.",
        priority=Priority.LOW,
        tags=("bar_chart",),
        group_key=f"weekly-{payload.week.isoformat()}",
        image=image,
        image_name=f"inqd-weekly-{payload.week.isoformat()}.png" if image else "",
    )


def _about(inquiry: Inquiry, product_chars: int) -> str:
    # A product name is the seller's catalogue text, but an option can carry an engraving or a recipient's name.
    parts = [masked_excerpt(inquiry.product_name, product_chars, inquiry), inquiry.category.value]
    return " · ".join(p for p in parts if p)


def left_text(deadline: datetime, now: datetime) -> str:
    """`2시간 남음` / `30분 지남` / `지금`, rounded to the minute."""
    # Rounded to the minute: an alert sent a few seconds after its time still says "2시간 남음", not "1시간 59분".
    delta = timedelta(minutes=round((deadline - now).total_seconds() / 60))
    if delta > timedelta(0):
        return f"{age_text(delta)} 남음"
    return f"{age_text(-delta)} 지남" if delta < timedelta(0) else "지금"


def _sla_heading(
    kind: MessageKind, alert: SlaAlertPayload, inquiry: Inquiry, now: datetime
) -> tuple[str, str, Priority]:
    """Title, first line and priority of an SLA or promise alert."""
    where = f"[{inquiry.shop}] {inquiry.stream.label}"
    deadline = alert.deadline
    own = alert.clock is ClockKind.OWN
    clock_name = "목표 답변 시간" if own else "답변 마감"
    note = masked_excerpt(alert.note, 60, inquiry)  # the seller's promise note may quote the buyer
    memo = f" 메모: {note}" if note else ""
    if kind is MessageKind.PROMISE_REMINDER:
        title = f"{where}: 약속한 {deadline.astimezone(KST):%H:%M} 연락 {left_text(deadline, now)}"
        return title, "고객에게 약속한 시간이 다가옵니다." + memo, Priority.HIGH
    if kind is MessageKind.PROMISE_MISSED:
        title = f"{where}: 약속한 {deadline.astimezone(KST):%H:%M} 연락이 지났습니다"
        if inquiry.answered:  # a date promised in the answer: inqd cannot see whether it was kept
            return title, "답변에서 약속한 시간이 되었습니다. 약속대로 했는지 확인해 주세요." + memo, Priority.MAX
        return title, "약속한 시간이 지났는데 아직 미답변입니다. 지금 연락해 주세요." + memo, Priority.MAX
    if kind is MessageKind.EVENING_WARNING:
        assert alert.quiet_from is not None  # every evening warning names when quiet hours begin
        quiet_from = alert.quiet_from.astimezone(KST)
        title = f"{where}: {quiet_from:%H:%M} 전에 답하세요 (마감 {deadline.astimezone(KST):%H:%M})"
        return title, "조용한 시간 중에 마감됩니다. 쉬기 전에 답해 주세요.", Priority.HIGH
    if kind is MessageKind.SLA_WARNING:
        lead = "업무시간 기준 목표입니다." if own else "마감 전에 답해 주세요."
        return f"{where}: {clock_name} {left_text(deadline, now)}", lead, Priority.HIGH
    if kind is MessageKind.SLA_BREACH:
        lead = "목표 시간을 넘겼습니다." if own else "마켓 답변 기한을 넘겼습니다. 판매자 점수에 반영될 수 있습니다."
        return f"{where}: {clock_name} 지남", lead, Priority.MAX
    title = f"{where}: 아직 미답변 ({clock_name} {left_text(deadline, now)})"
    return title, "마감이 지났지만 아직 답변이 없습니다.", Priority.HIGH


def sla_alert(
    inquiry: Inquiry,
    *,
    row_id: int,
    kind: MessageKind,
    payload: SlaAlertPayload,
    now: datetime,
    breakthrough: bool = False,
) -> Message:
    """A warning, breach, repeat or evening warning about one inquiry's deadline, or a promised call-back."""
    title, lead, priority = _sla_heading(kind, payload, inquiry, now)
    lines = [lead]
    if breakthrough:
        lines.insert(0, "조용한 시간이지만 마감이 그 전에 지나서 알려 드립니다.")
    if payload.late:
        lines.insert(0, "(inqd가 꺼져 있던 동안 지난 알림입니다)")
    about = _about(inquiry, 30)
    if about:
        lines.append(about)
    lines.append(f"“{safe_excerpt(inquiry, 80)}”")
    promise = kind in (MessageKind.PROMISE_REMINDER, MessageKind.PROMISE_MISSED)
    lines.append(
        f"접수 {kst_stamp(inquiry.received_at)} · {'약속' if promise else '마감'} {kst_stamp(payload.deadline)}"
    )
    urgent = kind in (MessageKind.SLA_BREACH, MessageKind.PROMISE_MISSED)
    return Message(
        kind=kind,
        title=title,
        body="\n".join(lines),
        priority=priority,
        tags=("rotating_light" if urgent else "alarm_clock", inquiry.marketplace.value),
        click_url=SELLER_CENTER_URLS[inquiry.marketplace],
        group_key=inquiry_group_key(row_id),
        inquiry_id=row_id,
    )


DIGEST_LINES = 8


def digest(
    entries: Sequence[tuple[datetime, Inquiry]],
    *,
    held_new: int,
    held_other: int,
    breakthroughs: Sequence[datetime],
    quiet_from: datetime,
    now: datetime,
) -> Message:
    """The one message at the end of quiet hours: what is still open, by deadline, and any breakthroughs."""
    lines = [
        f"조용한 시간({kst_stamp(quiet_from)}~{now.astimezone(KST):%H:%M}) 동안 새 문의 {held_new}건"
        + (f", 알림 {held_other}건" if held_other else "")
        + "을 보류했습니다."
    ]
    if entries:
        lines.append(f"미답변 {len(entries)}건 (마감 순):")
    for deadline, inq in entries[:DIGEST_LINES]:
        lines.append(
            f"• {inq.shop} {inq.stream.label} · 마감 {kst_stamp(deadline)} ({left_text(deadline, now)})"
            f" “{safe_excerpt(inq, 40)}”"
        )
    if len(entries) > DIGEST_LINES:
        lines.append(f"외 {len(entries) - DIGEST_LINES}건: inqd queue")
    for at in breakthroughs:
        lines.append(f"밤사이 긴급 알림 {kst_stamp(at)}: 마감이 조용한 시간 안에 지나서 보냈습니다.")
    title = f"[inqd] 조용한 시간 요약: 미답변 {len(entries)}건" if entries else "[inqd] 조용한 시간 요약: 미답변 없음"
    return Message(
        kind=MessageKind.DIGEST,
        title=title,
        body="\n".join(lines),
        priority=Priority.DEFAULT,
        tags=("sunrise",),
    )


def system_payload(message: Message) -> SystemPayload:
    """What an operator alert stores in the outbox: its finished text, priority, tags and link."""
    return SystemPayload(message.title, message.body, message.priority, message.tags, message.click_url)


def channel_test_messages(channel: str, *, now: datetime) -> tuple[Message, ...]:
    """What `inqd test-notify` sends: a normal test and one at maximum priority (does it ring through DND?)."""
    return (
        Message(
            kind=MessageKind.SYSTEM,
            title="[inqd 테스트] 알림 시험",
            body=f"{kst_stamp(now)} inqd가 보낸 시험 알림입니다. 이 알림이 보이면 '{channel}' 채널이 작동합니다.",
            priority=Priority.DEFAULT,
            tags=("test_tube",),
            group_key="inqd-test",
        ),
        Message(
            kind=MessageKind.SYSTEM,
            title="[inqd 테스트] 최고 우선순위",
            body=(
                "마감이 지났을 때 오는 알림과 같은 최고 우선순위입니다. 방해 금지 모드에서도 울리는지 확인하세요.\n"
                "ntfy 앱: 설정 → 알림 → 'Max priority' 채널 → '방해 금지 무시'를 켜세요."
            ),
            priority=Priority.MAX,
            tags=("test_tube", "rotating_light"),
            group_key="inqd-test-max",
        ),
    )
