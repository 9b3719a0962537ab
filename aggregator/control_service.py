"""The seller's controls as one service for every front end (terminal, Telegram buttons, ntfy buttons): parse the
time the seller typed, record the control in the store, and answer in Korean — including what the seller must
know (a snooze that runs past the marketplace deadline, a promise inside quiet hours, deadlines in a vacation)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aggregator.render import kst_stamp, left_text, safe_excerpt
from aggregator.store import Store, StoredInquiry
from core.models import Marketplace
from policies import Policies
from policies.control_effects import snooze_passes_deadline
from policies.sla import deadlines

_DURATION = re.compile(r"^(?:(\d+)\s*(?:d|일))?\s*(?:(\d+)\s*(?:h|시간))?\s*(?:(\d+)\s*(?:m|분))?$")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
PHONE_ACTIONS = {"handled": None, "snooze1h": timedelta(hours=1), "snooze3h": timedelta(hours=3)}

# What each marketplace's own settings can do for an absence. Menu names are not in our sources, so the hints
# say what to look for rather than where it is.
_ABSENCE_HINTS = {
    Marketplace.COUPANG: "쿠팡의 24시간 답변 기한은 휴일에도 멈추지 않습니다: 떠나기 전에 답하고, WING의 휴무·휴가 "
    "설정이 있으면 켜 두세요.",
    Marketplace.NAVER: "스마트스토어센터의 휴무일·휴가 설정을 켜 두면 고객에게 늦은 답변이 안내됩니다.",
    Marketplace.ELEVENST: "11번가 셀러오피스의 휴가(휴무) 설정을 확인하세요. 긴급알리미는 건마다 회신 기한이 있습니다.",
    Marketplace.ESM: "ESM+의 휴가·휴무 설정을 확인하세요 (G마켓·옥션 함께 적용).",
}


class ControlError(ValueError):
    """A control the seller asked for cannot be done; the message says why, in Korean."""


class ControlRefused(ControlError):
    """The input was fine but the inquiry cannot take the control (no such inquiry, already answered)."""


def parse_until(text: str, *, now: datetime, zone: ZoneInfo) -> datetime:
    """A time the seller typed: a duration from now (`2h`, `90m`, `1h30m`, `2시간`), a clock time (`18:00`,
    today or else tomorrow) or a full local time (`2026-11-24 18:00`)."""
    text = text.strip()
    duration = _DURATION.match(text)
    if text and duration and any(duration.groups()):
        days, hours, minutes = (int(g or 0) for g in duration.groups())
        delta = timedelta(days=days, hours=hours, minutes=minutes)
        if delta <= timedelta(0):
            raise ControlError(f"{text!r}: 0보다 긴 시간을 주세요")
        return now + delta
    clock = _CLOCK.match(text)
    if clock:
        hour, minute = int(clock.group(1)), int(clock.group(2))
        if hour > 23 or minute > 59:
            raise ControlError(f"{text!r}은(는) 시각이 아닙니다 (HH:MM)")
        local = now.astimezone(zone)
        at = datetime.combine(local.date(), time(hour, minute), tzinfo=zone)
        return at if at > now else at + timedelta(days=1)
    try:
        at = datetime.fromisoformat(text.replace(" ", "T"))
    except ValueError:
        raise ControlError(f"{text!r}: 2h, 90m, 18:00 또는 2026-11-24 18:00 처럼 주세요") from None
    return at if at.tzinfo else at.replace(tzinfo=zone)


def parse_days(text: str) -> tuple[date, date]:
    """`2026-12-24..2026-12-27` or a single `2026-12-24`."""
    first_text, sep, last_text = text.strip().partition("..")
    try:
        first = date.fromisoformat(first_text.strip())
        last = date.fromisoformat(last_text.strip()) if sep else first
    except ValueError:
        raise ControlError(f"{text!r}: 2026-12-24..2026-12-27 처럼 주세요") from None
    if last < first:
        raise ControlError(f"{text!r}: 끝나는 날이 시작하는 날보다 앞입니다")
    return first, last


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a control did, as lines for the terminal (the first one is the short phone reply)."""

    lines: tuple[str, ...]

    @property
    def reply(self) -> str:
        """The short answer a phone button shows."""
        return self.lines[0]


async def _open(store: Store, inquiry_id: int) -> StoredInquiry:
    stored = await store.get_inquiry(inquiry_id)
    if stored is None:
        raise ControlRefused(f"#{inquiry_id} 문의가 없습니다 (inqd queue로 번호를 확인하세요)")
    if stored.inquiry.answered:
        raise ControlRefused(f"#{inquiry_id}은(는) 이미 답변되었습니다")
    return stored


async def snooze(
    store: Store, policies: Policies, inquiry_id: int, until: datetime, *, now: datetime, actor: str
) -> Outcome:
    """Postpone one inquiry's warnings and repeats; says so when the marketplace deadline passes meanwhile."""
    if until <= now:
        raise ControlError("미룰 시각이 이미 지났습니다")
    stored = await _open(store, inquiry_id)
    await store.snooze(inquiry_id, until, now=now, actor=actor)
    deadline = deadlines(stored.inquiry, policies.sla, policies.work).marketplace
    lines = [f"#{inquiry_id} 알림을 {kst_stamp(until)}까지 미뤘습니다"]
    if snooze_passes_deadline(until, deadline):
        lines.append(
            f"주의: 마켓 답변 마감 {kst_stamp(deadline)}({left_text(deadline, now)})이 그 전에 지납니다. "
            "마감 초과 알림은 미루지 않고 그대로 보냅니다."
        )
    return Outcome(tuple(lines))


async def snooze_all(store: Store, policies: Policies, until: datetime, *, now: datetime, actor: str) -> Outcome:
    """Postpone every open inquiry's warnings and repeats (a meeting); names deadlines passing meanwhile."""
    if until <= now:
        raise ControlError("미룰 시각이 이미 지났습니다")
    count = await store.snooze_all(until, now=now, actor=actor)
    lines = [f"미답변 {count}건의 알림을 {kst_stamp(until)}까지 미뤘습니다"]
    passing = [
        (deadline, row)
        for row in await store.open_inquiries()
        if snooze_passes_deadline(until, deadline := deadlines(row.inquiry, policies.sla, policies.work).marketplace)
    ]
    if passing:
        lines.append(f"주의: {len(passing)}건은 그 사이 마켓 마감이 지납니다 (마감 초과 알림은 그대로 보냅니다):")
        lines += [f"  #{row.id} {row.inquiry.shop} 마감 {kst_stamp(deadline)}" for deadline, row in sorted(passing)]
    return Outcome(tuple(lines))


async def mark_handled(store: Store, inquiry_id: int, *, now: datetime, actor: str) -> Outcome:
    """Stop one inquiry's alerts until the marketplace shows it answered; on an answered inquiry whose answer
    promised a date: the promise is kept, its reminder and escalation stop."""
    stored = await store.get_inquiry(inquiry_id)
    if stored is not None and stored.inquiry.answered and stored.controls.promise_by_answer:
        await store.mark_handled(inquiry_id, now=now, actor=actor)
        return Outcome((f"#{inquiry_id} 답변에서 한 약속을 지킨 것으로 표시했습니다. 약속 알림을 멈춥니다.",))
    await _open(store, inquiry_id)
    await store.mark_handled(inquiry_id, now=now, actor=actor)
    return Outcome((f"#{inquiry_id} 처리함으로 표시했습니다. 마켓에 답변이 보이면 자동으로 닫힙니다.",))


async def promise(
    store: Store,
    policies: Policies,
    inquiry_id: int,
    at: datetime,
    note: str,
    *,
    now: datetime,
    actor: str,
    by_answer: bool = False,
) -> Outcome:
    """Record a promised time: a reminder before it, an escalation if it passes while still open (`by_answer`: a
    date promised in an answer, whose reminder and escalation also come after the inquiry is answered)."""
    if at <= now:
        raise ControlError("약속 시각이 이미 지났습니다")
    stored = await _open(store, inquiry_id)
    await store.promise(inquiry_id, at, note, now=now, actor=actor, by_answer=by_answer)
    remind = at - policies.controls.promise_reminder
    lines = [f"#{inquiry_id} {kst_stamp(at)} 연락 약속을 기록했습니다. {kst_stamp(max(remind, now))}에 알려 드립니다."]
    if policies.quiet.contains(remind) or policies.quiet.contains(at):
        lines.append("주의: 조용한 시간에 걸려 알림이 그 시간이 끝날 때까지 보류됩니다.")
    deadline = deadlines(stored.inquiry, policies.sla, policies.work).marketplace
    if at > deadline:
        lines.append(f"주의: 약속 시각이 마켓 답변 마감 {kst_stamp(deadline)}보다 늦습니다.")
    return Outcome(tuple(lines))


async def apply_phone_action(
    store: Store, policies: Policies, action: str, inquiry_id: int, *, now: datetime, actor: str
) -> str:
    """A button tapped on the phone (처리함 / 1시간 뒤 / 3시간 뒤): the short reply the phone shows."""
    if action not in PHONE_ACTIONS:
        raise ControlError(f"알 수 없는 동작: {action}")
    try:
        delay = PHONE_ACTIONS[action]
        if delay is None:
            return (await mark_handled(store, inquiry_id, now=now, actor=actor)).reply
        outcome = await snooze(store, policies, inquiry_id, now + delay, now=now, actor=actor)
    except ControlError as err:
        return str(err)
    return " ".join(outcome.lines)


async def vacation_forecast(
    store: Store, policies: Policies, first: date, last: date, marketplaces: Sequence[Marketplace]
) -> list[str]:
    """Before an absence: open inquiries whose marketplace deadline falls inside it, and what to turn on."""
    start = datetime.combine(first, time(0), tzinfo=policies.zone)
    end = datetime.combine(last + timedelta(days=1), time(0), tzinfo=policies.zone)
    inside = sorted(
        (deadline, row)
        for row in await store.open_inquiries()
        if start <= (deadline := deadlines(row.inquiry, policies.sla, policies.work).marketplace) < end
    )
    lines = [f"휴가 {first:%m/%d}–{last:%m/%d} 동안 마켓 마감이 오는 미답변 문의: {len(inside)}건"]
    for deadline, row in inside:
        inq = row.inquiry
        lines.append(
            f"  #{row.id} [{inq.shop}] {inq.stream.label} 마감 {kst_stamp(deadline)} “{safe_excerpt(inq, 40)}”"
        )
    if inside:
        lines.append("  떠나기 전에 답해 두면 판매자 점수를 지킬 수 있습니다.")
    affected = sorted({row.inquiry.marketplace for _, row in inside} | set(marketplaces), key=lambda m: m.value)
    if affected:
        lines.append("마켓별 휴가 설정:")
        lines += [f"  {m.label}: {_ABSENCE_HINTS[m]}" for m in affected]
    return lines
