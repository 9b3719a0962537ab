"""Text for the terminal commands `inqd schedule` and `inqd explain`: what the policies will do, and why they did."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from aggregator.answering.service import STATE_NAMES
from aggregator.cli.words import Words
from aggregator.render import masked_excerpt, safe_excerpt
from aggregator.store import Event, Store, StoredInquiry
from aggregator.store.answers import AnswerRecord, AnswerState
from core.models import KST
from core.redact import excerpt, mask_pii
from policies import Policies
from policies.control_effects import apply_controls
from policies.sla import deadlines, plan_alerts


def _ranges(spans: list[tuple[datetime, datetime]], day_start: datetime) -> str:
    parts = []
    for start, end in spans:
        end_text = "24:00" if end - day_start >= timedelta(days=1) else f"{end.astimezone(KST):%H:%M}"
        parts.append(f"{start.astimezone(KST):%H:%M}–{end_text}")
    return ", ".join(parts)


def schedule_lines(policies: Policies, start: date, days: int, words: Words) -> list[str]:
    """One line per day: quiet and work windows, holidays named, e.g. `10/06 (월) 추석 — 종일 조용`."""
    lines = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        day_start = datetime.combine(day, time(0), tzinfo=policies.zone)
        day_end = day_start + timedelta(days=1)
        quiet = policies.quiet.spans(day_start, day_end)
        work = policies.work.spans(day_start, day_end)
        name = policies.calendar.holiday_name(day)
        head = f"{day:%m/%d} ({words.weekday(day_start)})" + (f" {name}" if name else "")
        whole_day_quiet = len(quiet) == 1 and quiet[0][0] <= day_start and quiet[0][1] >= day_end
        if whole_day_quiet:
            lines.append(words("schedule_all_quiet", day=head))
            continue
        parts = []
        if quiet:
            parts.append(words("schedule_quiet", ranges=_ranges(quiet, day_start)))
        parts.append(words("schedule_work", ranges=_ranges(work, day_start)) if work else words("schedule_no_work"))
        lines.append(f"{head} — " + " · ".join(parts))
    return lines


def queue_entries(
    rows: Sequence[StoredInquiry], policies: Policies, *, now: datetime, words: Words
) -> list[dict[str, Any]]:
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
                "marketplace_label": words.shop(inq.shop),
                "stream": inq.stream.value,
                "stream_label": words.stream(inq.stream),
                "external_id": inq.external_id,
                "received_at": inq.received_at.isoformat(),
                "received_kst": words.stamp(inq.received_at),
                "age_s": int((now - inq.received_at).total_seconds()),
                "deadline_at": clocks.marketplace.isoformat(),
                "deadline_kst": words.stamp(clocks.marketplace),
                "own_target_at": clocks.own.isoformat() if clocks.own else None,
                "left_s": int((clocks.marketplace - now).total_seconds()),
                "left": words.left(clocks.marketplace, now),
                "excerpt": safe_excerpt(inq, 200),
                "promise_at": row.controls.promise_at.isoformat() if row.controls.promise_at else None,
                "promise_kst": words.stamp(row.controls.promise_at) if row.controls.promise_at else None,
                "snoozed_until": (
                    row.controls.snoozed_until.isoformat()
                    if row.controls.snoozed_until and row.controls.snoozed_until > now
                    else None
                ),
                "handled": row.controls.handled_at is not None,
            }
        )
    return sorted(entries, key=lambda e: (e["deadline_at"], e["id"]))


@dataclass(frozen=True, slots=True)
class _EventWords:
    """The parts of an event that its line of `inqd explain` names, in the run's words."""

    words: Words
    detail: dict[str, Any]
    message: str  # the message kind, in words
    channel: object
    reason: str  # the routing reason, in words
    by: str  # " (who, actor)" for a control the seller set, else ""
    stored: StoredInquiry  # whose timeline this is: its buyer's name is masked in the seller's notes

    @classmethod
    def of(cls, event: Event, words: Words, stored: StoredInquiry) -> _EventWords:
        """The words of `event`."""
        detail: dict[str, Any] = event.detail
        message = str(detail.get("message") or detail.get("alert") or "")
        actor = str(detail.get("actor", ""))
        by = words("explain_by", who=words.name("actor", actor.split(":")[0]), actor=actor) if actor else ""
        return cls(
            words=words,
            detail=detail,
            message=words.name("message", message) if message else str(detail.get("message", "")),
            channel=detail.get("channel"),
            reason=words.name("reason", str(detail.get("reason") or "")),
            by=by,
            stored=stored,
        )

    def stamp(self, key: str) -> str:
        """The time the detail holds under `key`, in words ("?" if none)."""
        value = self.detail.get(key)
        return self.words.stamp(datetime.fromisoformat(value)) if isinstance(value, str) else "?"

    def note(self, text: str) -> str:
        """`text` (with `{}` for the note) when the detail holds a note, else ""."""
        return text.format(self.detail["note"]) if self.detail.get("note") else ""


_ANSWER_STATES: dict[str, str] = {state.value: name for state, name in STATE_NAMES.items()}


def _answer_event(w: _EventWords) -> str:
    state = str(w.detail.get("state"))
    key = f"answer_step_{state}"
    step = (
        w.words(
            key,
            by=w.by,
            attempt=w.detail.get("attempt", 1),
            retry_at=w.stamp("retry_at"),
            to=_ANSWER_STATES.get(str(w.detail.get("to")), ""),
        )
        if key in w.words
        else state
    )
    message = w.detail.get("message")
    said = w.words("answer_said", text=masked_excerpt(str(message), 120, w.stored.inquiry)) if message else ""
    return w.words("answer_event", id=w.detail.get("answer_id"), step=step, said=said)


def answer_lines(answers: Sequence[AnswerRecord], *, now: datetime, words: Words) -> list[str]:
    """Each answer written for an inquiry: its state, who approved it, attempts and the marketplace's last words."""
    lines = []
    for answer in answers:
        facts = [STATE_NAMES[answer.state]]
        if answer.approved_at:
            facts.append(f"승인 {words.stamp(answer.approved_at)} ({answer.approved_by})")
        if answer.attempts:
            facts.append(f"시도 {answer.attempts}회")
        if answer.sent_at:
            facts.append(f"보냄 {words.stamp(answer.sent_at)}")
        if answer.state is AnswerState.APPROVED and answer.next_attempt_at and answer.next_attempt_at > now:
            facts.append(f"다음 시도 {words.stamp(answer.next_attempt_at)}")
        lines.append(f"답변 #{answer.id}  " + " · ".join(facts))
        lines.append(f"          “{excerpt(mask_pii(answer.text), 80)}”")
        if answer.message:
            lines.append(f"          마켓: {excerpt(mask_pii(answer.message), 120)}")
    return lines


def _promise_note(note: str | None, stored: StoredInquiry) -> str:
    # The seller's own words may quote the buyer: masked (with the buyer's known name) and cut like every excerpt.
    text = masked_excerpt(note or "", 40, stored.inquiry)
    return f" “{text}”" if text else ""


# What an event's line names beyond its message, channel, reason and who (by kind; the texts are in cli.explain_texts).
_EVENT_VALUES: dict[str, Callable[[_EventWords], dict[str, object]]] = {
    "alert_queued": lambda w: {
        "key": alert_words(str(w.detail.get("key") or ""), w.words),
        "late": w.words("event_late") if w.detail.get("late") else "",
    },
    "notified": lambda w: {"note": w.note(" — {}")},
    "held": lambda w: {"until": w.detail.get("until", "")},
    "snoozed": lambda w: {"until": w.stamp("until")},
    "promised": lambda w: {"at": w.stamp("at"), "note": _promise_note(w.detail.get("note"), w.stored)},
    "delivery_failed": lambda w: {"note": w.detail.get("note")},
}


def _event_line(event: Event, words: Words, stored: StoredInquiry) -> str:
    stamp = words.stamp(event.at)
    if event.kind == "answer":  # one event kind, a line per step of the answer's life
        return f"{stamp}  {_answer_event(_EventWords.of(event, words, stored))}"
    key = f"event_{event.kind}"
    if key not in words:  # an event this list does not name yet: its detail is shown as stored, masked
        return f"{stamp}  {event.kind} {masked_excerpt(str(event.detail), 200, stored.inquiry)}"
    w = _EventWords.of(event, words, stored)
    extras = _EVENT_VALUES[event.kind](w) if event.kind in _EVENT_VALUES else {}
    reason = w.reason or words("event_sent")
    return f"{stamp}  " + words(key, message=w.message, channel=w.channel, reason=reason, by=w.by, **extras)


def alert_words(key: str, words: Words, *, answered: bool = False) -> str:
    """An alert's key (`marketplace:warn:50%`, `promise:remind:<time>`, ...) in words; the key itself if unknown.

    `answered`: about an answered inquiry, whose escalation is the time its answer promised, not a missed call-back.
    """
    parts = key.split(":", 2)
    head, kind, rest = [*parts, "", ""][:3]
    if head == "promise" and kind in ("remind", "missed"):
        text = "alert_promise_due" if answered and kind == "missed" else f"alert_promise_{kind}"
        return words(text, at=_stamp_text(rest, words))
    if head not in ("marketplace", "own"):
        return key
    clock = words(f"alert_clock_{head}")
    if kind == "warn" and rest:
        return words("alert_warn_elapsed" if rest.endswith("%") else "alert_warn_left", clock=clock, point=rest)
    if kind == "breach":
        return words("alert_breach", clock=clock)
    if kind == "repeat" and rest.isdigit():
        return words("alert_repeat", clock=clock, n=rest)
    if kind == "evening":
        return words("alert_evening", at=_stamp_text(rest, words))
    return key


def _stamp_text(value: str, words: Words) -> str:
    try:
        return words.stamp(datetime.fromisoformat(value))
    except ValueError:
        return value


def control_lines(stored: StoredInquiry, *, now: datetime, words: Words) -> list[str]:
    """What the seller set on an inquiry, for `inqd explain`."""
    c = stored.controls
    lines = []
    if c.handled_at:
        lines.append(words("explain_handled", at=words.stamp(c.handled_at)))
    if c.snoozed_until and c.snoozed_until > now:
        lines.append(words("explain_snoozed", at=words.stamp(c.snoozed_until)))
    if c.promise_at:
        note = _promise_note(c.promise_note, stored)
        lines.append(words("explain_promised", at=words.stamp(c.promise_at), note=note))
    return lines


async def explain_lines(
    store: Store, policies: Policies, inquiry_id: int, *, now: datetime, words: Words
) -> list[str] | None:
    """An inquiry's timeline: received, both deadlines, each alert and the reason for every decision."""
    stored = await store.get_inquiry(inquiry_id)
    if stored is None:
        return None
    inq = stored.inquiry
    clocks = deadlines(inq, policies.sla, policies.work)
    rule = policies.sla.rule_for(inq.marketplace, inq.stream)
    why = (
        words("explain_deadline_given")
        if inq.deadline_at
        else words("explain_deadline_rule", duration=words.duration(rule.deadline or policies.sla.default_deadline))
    )
    lines = [
        words(
            "explain_head",
            id=stored.id,
            shop=words.shop(inq.shop),
            stream=words.stream(inq.stream),
            account=inq.account_id,
            external_id=inq.external_id,
        ),
        f"“{safe_excerpt(inq, 100)}”",
        words("explain_received", at=words.stamp(inq.received_at)),
        words("explain_deadline", at=words.stamp(clocks.marketplace), why=why),
    ]
    if clocks.own is not None:
        target = words.duration(rule.own_target or timedelta(0))
        lines.append(words("explain_target", at=words.stamp(clocks.own), duration=target))
    state = words("explain_open")
    if inq.answered:
        answered_at = inq.answered_at
        state = words("explain_answered_at", at=words.stamp(answered_at)) if answered_at else words("explain_answered")
    lines.append(words("explain_state", state=state))
    lines += control_lines(stored, now=now, words=words)
    answers = await store.answers_for(inquiry_id)
    if answers:
        lines.append("— 답변 —")
        lines += answer_lines(answers, now=now, words=words)
    lines.append(words("explain_history"))
    lines += [_event_line(event, words, stored) for event in await store.events_for(inquiry_id)]
    fired = {key for key, *_ in await store.alert_log(inquiry_id)}
    plan = apply_controls(
        plan_alerts(inq, policies.sla, work=policies.work, quiet=policies.quiet),
        stored.controls,
        policies.controls,
        snooze_all_until=await store.snooze_all_until(),
        now=now,
        answered=inq.answered,
    )
    upcoming = [a for a in plan if a.key not in fired]
    due = words("explain_due")
    lines += [words("explain_upcoming")] if upcoming else []
    lines += [
        f"{words.stamp(a.at)}  {alert_words(a.key, words, answered=inq.answered)}{due if a.at <= now else ''}"
        for a in upcoming
    ]
    return lines
