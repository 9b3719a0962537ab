"""Outbox payloads as JSON: written once when the store queues a row, read once when it hands the row out.

One JSON object per record, keyed by field; times are ISO 8601 with their offset. Rows of the previous shapes
are rewritten by migrations: v8 (an alert's many-meaning `label`, a backfill summary without its marketplace) and
v9 (a backfill summary of one stream becomes a summary listing its streams).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from core.answers import AnswerOutcome
from core.models import ALERT_KINDS, ClockKind, Marketplace, MessageKind, Priority, StreamKind
from core.payloads import (
    AnsweredPayload,
    AnswerNotSentPayload,
    BackfillSummaryPayload,
    DigestPayload,
    NewInquiryPayload,
    OutboxPayload,
    SlaAlertPayload,
    StreamBackfill,
    SystemPayload,
    WeeklyReportPayload,
)


class PayloadError(ValueError):
    """A row's JSON does not fit the record of its kind (written by hand, or by a bug)."""


def payload_json(kind: MessageKind, payload: OutboxPayload) -> str:
    """The JSON text stored for `payload`; a record that is not the one of `kind` is a TypeError."""
    if not isinstance(payload, _TYPES[kind]):
        raise TypeError(f"a {kind.value} message carries {_TYPES[kind].__name__}, not {type(payload).__name__}")
    return json.dumps(_fields(payload), ensure_ascii=False, sort_keys=True)


def read_payload(kind: MessageKind, text: str) -> OutboxPayload:
    """The record stored as `text` in a row of `kind`; PayloadError when it does not fit."""
    try:
        return _READERS[kind](json.loads(text))
    except (ValueError, KeyError, TypeError) as err:
        raise PayloadError(f"{kind.value} payload: {type(err).__name__}: {err}") from err


def _fields(payload: OutboxPayload) -> dict[str, Any]:
    match payload:
        case SlaAlertPayload():
            return {
                "key": payload.key,
                "clock": payload.clock.value,
                "due_at": payload.due_at.isoformat(),
                "deadline": payload.deadline.isoformat(),
                "late": payload.late,
                "quiet_from": None if payload.quiet_from is None else payload.quiet_from.isoformat(),
                "note": payload.note,
            }
        case BackfillSummaryPayload():
            return {
                "account_id": payload.account_id,
                "marketplace": payload.marketplace.value,
                "streams": [{"stream": s.stream.value, "open": s.open, "total": s.total} for s in payload.streams],
            }
        case SystemPayload():
            return {
                "title": payload.title,
                "body": payload.body,
                "priority": int(payload.priority),
                "tags": list(payload.tags),
                "click": payload.click_url,
            }
        case DigestPayload():
            return {"quiet_until": payload.quiet_until.isoformat()}
        case AnswerNotSentPayload():
            return {"answer_id": payload.answer_id, "outcome": payload.outcome.value, "message": payload.message}
        case WeeklyReportPayload():
            return {"week": payload.week.isoformat(), "lines": list(payload.lines), "chart": payload.chart}
        case NewInquiryPayload() | AnsweredPayload():
            return {}


def _time(value: Any) -> datetime:
    at = datetime.fromisoformat(value)
    if at.tzinfo is None:
        raise ValueError(f"naive time {value!r}")
    return at


def _sla_alert(data: dict[str, Any]) -> SlaAlertPayload:
    return SlaAlertPayload(
        key=str(data["key"]),
        clock=ClockKind(data["clock"]),
        due_at=_time(data["due_at"]),
        deadline=_time(data["deadline"]),
        late=bool(data["late"]),
        quiet_from=None if data["quiet_from"] is None else _time(data["quiet_from"]),
        note=str(data["note"]),
    )


def _backfill_summary(data: dict[str, Any]) -> BackfillSummaryPayload:
    streams = tuple(StreamBackfill(StreamKind(s["stream"]), int(s["open"]), int(s["total"])) for s in data["streams"])
    return BackfillSummaryPayload(str(data["account_id"]), Marketplace(data["marketplace"]), streams)


def _system(data: dict[str, Any]) -> SystemPayload:
    click = data["click"]
    tags = tuple(str(tag) for tag in data["tags"])
    priority = Priority(int(data["priority"]))
    return SystemPayload(str(data["title"]), str(data["body"]), priority, tags, None if click is None else str(click))


def _digest(data: dict[str, Any]) -> DigestPayload:
    return DigestPayload(quiet_until=_time(data["quiet_until"]))


def _answer_not_sent(data: dict[str, Any]) -> AnswerNotSentPayload:
    return AnswerNotSentPayload(int(data["answer_id"]), AnswerOutcome(data["outcome"]), str(data["message"]))


def _weekly_report(data: dict[str, Any]) -> WeeklyReportPayload:
    lines = data["lines"]
    if not isinstance(lines, list):
        raise TypeError("lines is not a list")
    return WeeklyReportPayload(
        date.fromisoformat(data["week"]), tuple(str(line) for line in lines), bool(data["chart"])
    )


_READERS: dict[MessageKind, Callable[[dict[str, Any]], OutboxPayload]] = {
    MessageKind.NEW_INQUIRY: lambda _: NewInquiryPayload(),
    MessageKind.ANSWERED: lambda _: AnsweredPayload(),
    MessageKind.BACKFILL_SUMMARY: _backfill_summary,
    MessageKind.DIGEST: _digest,
    MessageKind.SYSTEM: _system,
    MessageKind.ANSWER_NOT_SENT: _answer_not_sent,
    MessageKind.WEEKLY_REPORT: _weekly_report,
    **dict.fromkeys(ALERT_KINDS, _sla_alert),
}
_TYPES: dict[MessageKind, type[OutboxPayload]] = {
    MessageKind.NEW_INQUIRY: NewInquiryPayload,
    MessageKind.ANSWERED: AnsweredPayload,
    MessageKind.BACKFILL_SUMMARY: BackfillSummaryPayload,
    MessageKind.DIGEST: DigestPayload,
    MessageKind.SYSTEM: SystemPayload,
    MessageKind.ANSWER_NOT_SENT: AnswerNotSentPayload,
    MessageKind.WEEKLY_REPORT: WeeklyReportPayload,
    **dict.fromkeys(ALERT_KINDS, SlaAlertPayload),
}
