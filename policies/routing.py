"""Routing: whether a queued message goes out now, and why. Pure: state and `now` in, a decision out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from aggregator.models import Inquiry, MessageKind


class Reason(StrEnum):
    """Why a message was sent, held or dropped."""

    SEND_NOW = "send_now"
    DROP_ANSWERED = "drop_answered"
    DROP_MISSING = "drop_missing"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a pending message, with the reason recorded in the event log."""

    reason: Reason
    at: datetime | None = None

    @property
    def send(self) -> bool:
        """True when the message should be delivered now."""
        return self.reason is Reason.SEND_NOW


def decide(kind: MessageKind, inquiry: Inquiry | None, *, needs_inquiry: bool, now: datetime) -> Decision:
    """Decide one message. A message about an inquiry answered meanwhile is dropped, never sent late."""
    if needs_inquiry and inquiry is None:
        return Decision(Reason.DROP_MISSING, now)
    if kind is MessageKind.NEW_INQUIRY and inquiry is not None and inquiry.answered:
        return Decision(Reason.DROP_ANSWERED, now)
    return Decision(Reason.SEND_NOW, now)
