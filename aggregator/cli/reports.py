"""Text for the terminal commands `inqd schedule` and `inqd explain`: what the policies will do, and why they did."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from aggregator.answering.service import STATE_NAMES
from aggregator.render import duration_text, kst_stamp, left_text, masked_excerpt, safe_excerpt
from aggregator.store import Event, Store, StoredInquiry
from aggregator.store.answers import AnswerRecord, AnswerState
from core.models import KST, MessageKind
from core.redact import excerpt, mask_pii
from policies import Policies
from policies.control_effects import apply_controls
from policies.sla import deadlines, plan_alerts

_WEEKDAYS = "월화수목금토일"
_MESSAGE_NAMES = {
    MessageKind.NEW_INQUIRY.value: "새 문의",
    MessageKind.BACKFILL_SUMMARY.value: "연결 요약",
    MessageKind.SLA_WARNING.value: "마감 경고",
    MessageKind.SLA_BREACH.value: "마감 지남",
    MessageKind.SLA_REPEAT.value: "미답변 반복 알림",
    MessageKind.EVENING_WARNING.value: "저녁 경고",
    MessageKind.DIGEST.value: "요약",
    MessageKind.SYSTEM.value: "시스템 알림",
    MessageKind.ANSWERED.value: "휴대폰 알림 지우기",
    MessageKind.PROMISE_REMINDER.value: "약속 시간 알림",
    MessageKind.PROMISE_MISSED.value: "약속 시간 지남",
}
_REASONS = {
    "send_now": "바로 보냄",
    "breakthrough": "조용한 시간이지만 마감이 그 전에 지나서 보냄",
    "drop_answered": "이미 답변되어 보내지 않음",
    "drop_missing": "문의가 없어 보내지 않음",
    "drop_handled": "처리함으로 표시되어 보내지 않음",
    "channel cannot clear": "이 채널은 알림을 지울 수 없음",
    "server cannot clear": "ntfy 서버가 알림 지우기를 지원하지 않음 (2.16 이상 필요)",
    "hold_quiet": "조용한 시간이라 보류",
}


def _ranges(spans: list[tuple[datetime, datetime]], day_start: datetime) -> str:
    parts = []
    for start, end in spans:
        end_text = "24:00" if end - day_start >= timedelta(days=1) else f"{end.astimezone(KST):%H:%M}"
        parts.append(f"{start.astimezone(KST):%H:%M}–{end_text}")
    return ", ".join(parts)


def schedule_lines(policies: Policies, start: date, days: int) -> list[str]:
    """One line per day: quiet and work windows, holidays named, e.g. `10/06 (월) 추석 — 종일 조용`."""
    lines = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        day_start = datetime.combine(day, time(0), tzinfo=policies.zone)
        day_end = day_start + timedelta(days=1)
        quiet = policies.quiet.spans(day_start, day_end)
        work = policies.work.spans(day_start, day_end)
        name = policies.calendar.holiday_name(day)
        head = f"{day:%m/%d} ({_WEEKDAYS[day.weekday()]})" + (f" {name}" if name else "")
        whole_day_quiet = len(quiet) == 1 and quiet[0][0] <= day_start and quiet[0][1] >= day_end
        if whole_day_quiet:
            lines.append(f"{head} — 종일 조용")
            continue
        parts = []
        if quiet:
            parts.append(f"조용 {_ranges(quiet, day_start)}")
        parts.append(f"업무 {_ranges(work, day_start)}" if work else "업무 없음")
        lines.append(f"{head} — " + " · ".join(parts))
    return lines


def queue_entries(rows: Sequence[StoredInquiry], policies: Policies, *, now: datetime) -> list[dict[str, Any]]:
    """Open inquiries by marketplace deadline, with time left; excerpts masked. Also the `--json` shape."""
    entries = []
    for row in rows:
        inq = row.inquiry
        clocks = deadlines(inq, policies.sla, policies.work)
        entries.append(
            {
                "id": row.id,
                "account": inq.account_id,
                "marketplace": inq.marketplace.value,
                "marketplace_label": inq.shop,
                "stream": inq.stream.value,
                "stream_label": inq.stream.label,
                "external_id": inq.external_id,
                "received_at": inq.received_at.isoformat(),
                "received_kst": kst_stamp(inq.received_at),
                "age_s": int((now - inq.received_at).total_seconds()),
                "deadline_at": clocks.marketplace.isoformat(),
                "deadline_kst": kst_stamp(clocks.marketplace),
                "own_target_at": clocks.own.isoformat() if clocks.own else None,
                "left_s": int((clocks.marketplace - now).total_seconds()),
                "left": left_text(clocks.marketplace, now),
                "excerpt": safe_excerpt(inq, 200),
                "promise_at": row.controls.promise_at.isoformat() if row.controls.promise_at else None,
                "promise_kst": kst_stamp(row.controls.promise_at) if row.controls.promise_at else None,
                "snoozed_until": (
                    row.controls.snoozed_until.isoformat()
                    if row.controls.snoozed_until and row.controls.snoozed_until > now
                    else None
                ),
                "handled": row.controls.handled_at is not None,
            }
        )
    return sorted(entries, key=lambda e: (e["deadline_at"], e["id"]))


_ACTORS = {"terminal": "터미널", "telegram": "텔레그램 버튼", "ntfy": "ntfy 버튼", "admin": "관리 API"}


def _stamp(value: object) -> str:
    return kst_stamp(datetime.fromisoformat(value)) if isinstance(value, str) else "?"


@dataclass(frozen=True, slots=True)
class _EventWords:
    """The parts of an event that its line of `inqd explain` names."""

    detail: dict[str, Any]
    message: str  # the message kind, in words
    channel: object
    reason: str  # the routing reason, in words
    by: str  # " (who, actor)" for a control the seller set, else ""
    stored: StoredInquiry  # whose timeline this is: its buyer's name is masked in the seller's notes

    @classmethod
    def of(cls, event: Event, stored: StoredInquiry) -> _EventWords:
        """The words of `event`."""
        detail: dict[str, Any] = event.detail
        message = str(detail.get("message") or detail.get("alert") or "")
        reason = str(detail.get("reason") or "")
        actor = str(detail.get("actor", ""))
        who = _ACTORS.get(actor.split(":")[0], actor)
        return cls(
            detail=detail,
            message=_MESSAGE_NAMES.get(message, str(detail.get("message", ""))),
            channel=detail.get("channel"),
            reason=_REASONS.get(reason, reason),
            by=f" ({who}, {detail.get('actor')})" if detail.get("actor") else "",
            stored=stored,
        )

    def note(self, key: str, text: str) -> str:
        """`text` (with `{}` for the value) when the detail holds `key`, else ""."""
        return text.format(self.detail[key]) if self.detail.get(key) else ""


_EVENT_TEXTS: dict[str, Callable[[_EventWords], str]] = {
    "seen": lambda w: "받음",
    "answered": lambda w: "답변 확인 (판매자센터에서 답변됨)",
    "reopened": lambda w: "다시 미답변 (재문의)",
    "alert_queued": lambda w: (
        f"알림 예정 시각 도달: {w.detail.get('key')}" + w.note("late", " · inqd가 꺼져 있던 동안 지난 알림")
    ),
    "notified": lambda w: f"{w.message} → {w.channel}: {w.reason or '보냄'}" + w.note("note", " — {}"),
    "held": lambda w: f"{w.message} → {w.channel}: {w.reason} ({w.detail.get('until', '')} 요약으로)",
    "digested": lambda w: f"조용한 시간 요약에 포함 → {w.channel}",
    "dropped": lambda w: f"{w.message} → {w.channel}: {w.reason}",
    "snoozed": lambda w: f"알림 미룸 → {_stamp(w.detail.get('until'))}까지{w.by}",
    "unsnoozed": lambda w: f"미루기 끝냄{w.by}",
    "handled": lambda w: f"처리함으로 표시: 마켓에 답변이 보일 때까지 알림 없음{w.by}",
    "promised": lambda w: f"{_stamp(w.detail.get('at'))} 연락 약속{_promise_note(w.detail, w.stored)}{w.by}",
    "promise_withdrawn": lambda w: f"약속 취소{w.by}",
    "delivery_failed": lambda w: f"{w.message} → {w.channel}: 보내지 못함 ({w.detail.get('note')})",
    "answer": lambda w: _answer_event(w),
}

_ANSWER_STATES: dict[str, str] = {state.value: name for state, name in STATE_NAMES.items()}

# What each step of an answer's life says in `inqd explain` (the `state` of its `answer` event).
_ANSWER_EVENTS: dict[str, Callable[[_EventWords], str]] = {
    "draft": lambda w: "초안 저장",
    "approved": lambda w: f"승인{w.by}",
    "sending": lambda w: f"보내는 중 ({w.detail.get('attempt', 1)}번째 시도)",
    "sent": lambda w: "보냄: 마켓이 받음",
    "confirmed": lambda w: "확인됨: 마켓에 답변이 보임",
    "retry": lambda w: f"마켓이 나중에 다시 보내라고 함: {_stamp(w.detail.get('retry_at'))}에 다시 보냄",
    "uncertain": lambda w: "결과 모름: 한 번만 받는 문의라 다음 조회에서 미답변이 확인되면 다시 보냄",
    "still_open": lambda w: "조회 결과 아직 미답변: 다시 보냄",
    "already_answered": lambda w: "보내지 않음: 이미 답변된 문의 (마켓의 답변을 그대로 둠)",
    "not_answerable": lambda w: "보내지 않음: 더 이상 답변할 수 없는 문의",
    "refused": lambda w: "마켓이 거절함",
    "cancelled": lambda w: f"취소{w.by}",
    "recovered": lambda w: f"inqd 재시작: 보내던 중이던 답변 → {_ANSWER_STATES.get(str(w.detail.get('to')), '')}",
}


def _answer_event(words: _EventWords) -> str:
    step = _ANSWER_EVENTS.get(str(words.detail.get("state")))
    text = step(words) if step else str(words.detail.get("state"))
    return f"답변 #{words.detail.get('answer_id')} {text}" + words.note("message", " — 마켓: {}")


def answer_lines(answers: Sequence[AnswerRecord], *, now: datetime) -> list[str]:
    """Each answer written for an inquiry: its state, who approved it, attempts and the marketplace's last words."""
    lines = []
    for answer in answers:
        facts = [STATE_NAMES[answer.state]]
        if answer.approved_at:
            facts.append(f"승인 {kst_stamp(answer.approved_at)} ({answer.approved_by})")
        if answer.attempts:
            facts.append(f"시도 {answer.attempts}회")
        if answer.sent_at:
            facts.append(f"보냄 {kst_stamp(answer.sent_at)}")
        if answer.state is AnswerState.APPROVED and answer.next_attempt_at and answer.next_attempt_at > now:
            facts.append(f"다음 시도 {kst_stamp(answer.next_attempt_at)}")
        lines.append(f"답변 #{answer.id}  " + " · ".join(facts))
        lines.append(f"          “{excerpt(mask_pii(answer.text), 80)}”")
        if answer.message:
            lines.append(f"          마켓: {excerpt(mask_pii(answer.message), 120)}")
    return lines


def _promise_note(detail: dict[str, Any], stored: StoredInquiry) -> str:
    # The seller's own words may quote the buyer: masked and cut like every other excerpt.
    note = masked_excerpt(str(detail.get("note") or ""), 40, stored.inquiry)
    return f" “{note}”" if note else ""


def _event_line(event: Event, stored: StoredInquiry) -> str:
    text = _EVENT_TEXTS.get(event.kind)
    if text is None:  # an event this list does not name yet: its detail is shown as stored, masked like a question
        return f"{kst_stamp(event.at)}  {event.kind} {masked_excerpt(str(event.detail), 200, stored.inquiry)}"
    return f"{kst_stamp(event.at)}  {text(_EventWords.of(event, stored))}"


def control_lines(stored: StoredInquiry, *, now: datetime) -> list[str]:
    """What the seller set on an inquiry, for `inqd explain`."""
    c = stored.controls
    lines = []
    if c.handled_at:
        lines.append(f"처리함    {kst_stamp(c.handled_at)}부터 (마켓에 답변이 보일 때까지 알림 없음)")
    if c.snoozed_until and c.snoozed_until > now:
        lines.append(f"미룸      {kst_stamp(c.snoozed_until)}까지 (마켓 마감 초과 알림은 미루지 않음)")
    if c.promise_at:
        note = f" “{masked_excerpt(c.promise_note, 40, stored.inquiry)}”" if c.promise_note else ""
        lines.append(f"약속      {kst_stamp(c.promise_at)} 연락{note}")
    return lines


async def explain_lines(store: Store, policies: Policies, inquiry_id: int, *, now: datetime) -> list[str] | None:
    """An inquiry's timeline: received, both deadlines, each alert and the reason for every decision."""
    stored = await store.get_inquiry(inquiry_id)
    if stored is None:
        return None
    inq = stored.inquiry
    clocks = deadlines(inq, policies.sla, policies.work)
    rule = policies.sla.rule_for(inq.marketplace, inq.stream)
    lines = [
        f"#{stored.id} {inq.shop} {inq.stream.label} · 계정 {inq.account_id} · 마켓 번호 {inq.external_id}",
        f"“{safe_excerpt(inq, 100)}”",
        f"접수      {kst_stamp(inq.received_at)}",
        f"마켓 마감  {kst_stamp(clocks.marketplace)}"
        + (
            " (마켓이 준 기한)"
            if inq.deadline_at
            else f" (접수 + {duration_text(rule.deadline or policies.sla.default_deadline)})"
        ),
    ]
    if clocks.own is not None:
        lines.append(f"목표      {kst_stamp(clocks.own)} (업무시간 {duration_text(rule.own_target or timedelta(0))})")
    state = "미답변"
    if inq.answered:
        state = f"답변됨 {kst_stamp(inq.answered_at)}" if inq.answered_at else "답변됨"
    lines.append(f"상태      {state}")
    lines += control_lines(stored, now=now)
    answers = await store.answers_for(inquiry_id)
    if answers:
        lines.append("— 답변 —")
        lines += answer_lines(answers, now=now)
    lines.append("— 기록 —")
    lines += [_event_line(event, stored) for event in await store.events_for(inquiry_id)]
    fired = {key for key, *_ in await store.alert_log(inquiry_id)}
    plan = apply_controls(
        plan_alerts(inq, policies.sla, work=policies.work, quiet=policies.quiet),
        stored.controls,
        policies.controls,
        snooze_all_until=await store.snooze_all_until(),
        now=now,
    )
    upcoming = [a for a in plan if a.key not in fired]
    if upcoming:
        lines.append("— 예정된 알림 —")
        lines += [f"{kst_stamp(a.at)}  {a.key}" + (" (지남, 곧 처리)" if a.at <= now else "") for a in upcoming]
    return lines
