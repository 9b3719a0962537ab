"""What a queued notification carries besides its kind and inquiry: one frozen record per kind of message.

The store turns a record into JSON once when it writes the outbox row and back once when it reads the row; the
dispatcher, routing and the renderer only ever see the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from core.answers import AnswerOutcome
from core.models import ClockKind, Marketplace, Priority, StreamKind


@dataclass(frozen=True, slots=True)
class NewInquiryPayload:
    """A new open inquiry: the row's inquiry id says which, and the store holds the rest."""


@dataclass(frozen=True, slots=True)
class AnsweredPayload:
    """An answered inquiry whose notification a channel can take off the phone (the row's inquiry id)."""


@dataclass(frozen=True, slots=True)
class StreamBackfill:
    """What the first poll of one stream brought: how many inquiries, and how many of them are open."""

    stream: StreamKind
    open: int
    total: int


@dataclass(frozen=True, slots=True)
class BackfillSummaryPayload:
    """The one summary of an account's first connection: what the first poll of each of its streams brought."""

    account_id: str
    marketplace: Marketplace
    streams: tuple[StreamBackfill, ...]

    @property
    def open(self) -> int:
        """Open inquiries over every stream listed."""
        return sum(stream.open for stream in self.streams)

    @property
    def total(self) -> int:
        """Inquiries over every stream listed."""
        return sum(stream.total for stream in self.streams)


@dataclass(frozen=True, slots=True)
class SlaAlertPayload:
    """A warning, breach, repeat or evening warning about one deadline, or a promised call-back coming or missed.

    The row's kind says which alert it is; `key` is the plan's stable key of the alert.
    """

    key: str
    clock: ClockKind
    due_at: datetime  # when the plan wanted it sent
    deadline: datetime  # the deadline (or promised time) it is about
    late: bool = False  # it fired well after `due_at`: the daemon was down
    quiet_from: datetime | None = None  # evening warning: when the quiet period the deadline falls in begins
    note: str = ""  # promise alerts: what the seller noted with the promise


@dataclass(frozen=True, slots=True)
class DigestPayload:
    """The summary at the end of a quiet period, due when it ends."""

    quiet_until: datetime


@dataclass(frozen=True, slots=True)
class SystemPayload:
    """An operator alert (connection, credentials, key expiry), stored as finished text free of secrets."""

    title: str
    body: str
    priority: Priority = Priority.HIGH
    tags: tuple[str, ...] = ("warning",)
    click_url: str | None = None


@dataclass(frozen=True, slots=True)
class AnswerNotSentPayload:
    """An approved answer that will not be sent (the row's inquiry id says to what): why, in the marketplace's words."""

    answer_id: int
    outcome: AnswerOutcome  # ALREADY_ANSWERED (the other answer is kept), NOT_ANSWERABLE or REFUSED
    message: str = ""  # the marketplace's own words, scrubbed of secrets by the connector


@dataclass(frozen=True, slots=True)
class WeeklyReportPayload:
    """The weekly answer-time message: which week, its summary lines, and whether the chart goes with it.

    The chart itself is not stored: it is drawn from the store when the message is rendered for sending, so the
    outbox stays small and a channel that shows no pictures costs no drawing.
    """

    week: date  # the Monday of the reported week: the last full week (Monday to Sunday) before the send day
    lines: tuple[str, ...]  # the summary, finished text with no buyer data
    chart: bool = True


OutboxPayload = (
    NewInquiryPayload
    | AnsweredPayload
    | BackfillSummaryPayload
    | SlaAlertPayload
    | DigestPayload
    | SystemPayload
    | AnswerNotSentPayload
    | WeeklyReportPayload
)
