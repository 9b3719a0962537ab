"""Frozen domain types shared by every layer: stdlib only, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any
from zoneinfo import ZoneInfo

KST = ZoneInfo("Asia/Seoul")


class Marketplace(StrEnum):
    """A marketplace inqd can poll."""

    COUPANG = "coupang"
    NAVER = "naver"
    ELEVENST = "elevenst"
    ESM = "esm"

    @property
    def label(self) -> str:
        """The name sellers say (쿠팡, 스마트스토어, ...)."""
        return _MARKETPLACE_LABELS[self]


_MARKETPLACE_LABELS = {
    Marketplace.COUPANG: "쿠팡",
    Marketplace.NAVER: "스마트스토어",
    Marketplace.ELEVENST: "11번가",
    Marketplace.ESM: "G마켓/옥션",
}


def shop_label(marketplace: Marketplace, site: str | None) -> str:
    """What sellers call the shop an inquiry came from: the site (G마켓, 옥션) where there is one."""
    return site or marketplace.label


class StreamKind(StrEnum):
    """One inquiry channel of an account, polled on its own."""

    PRODUCT_QNA = "product_qna"  # Coupang onlineInquiries, Naver qnas, 11st prodqna, ESM bulletin board
    CALL_CENTER = "call_center"  # Coupang callCenterInquiries
    CUSTOMER_INQUIRY = "customer_inquiry"  # Naver pay-user inquiries
    URGENT = "urgent"  # 11st / ESM 긴급알리미

    @property
    def label(self) -> str:
        """Korean name of the stream as sellers know it."""
        return _STREAM_LABELS[self]


_STREAM_LABELS = {
    StreamKind.PRODUCT_QNA: "상품문의",
    StreamKind.CALL_CENTER: "고객센터 문의",
    StreamKind.CUSTOMER_INQUIRY: "고객문의",
    StreamKind.URGENT: "긴급알리미",
}


class Category(StrEnum):
    """Normalized inquiry category."""

    PRODUCT = "상품"
    DELIVERY = "배송"
    RETURN = "반품"
    EXCHANGE = "교환"
    REFUND = "환불"
    CANCEL = "취소"
    OTHER = "기타"


@dataclass(frozen=True, slots=True)
class InquiryKey:
    """Identity of an inquiry: re-reading the same key is an update, never a new inquiry."""

    account_id: str
    stream: StreamKind
    external_id: str


@dataclass(frozen=True, slots=True)
class Inquiry:
    """One customer question, normalized and marketplace-neutral.

    `buyer` is raw personal data: it is stored, and masked in everything that leaves the machine.
    Every datetime is timezone-aware.
    """

    account_id: str
    marketplace: Marketplace
    stream: StreamKind
    external_id: str
    received_at: datetime
    body: str
    category: Category = Category.OTHER
    title: str | None = None
    product_name: str | None = None
    order_id: str | None = None
    buyer: str | None = None
    answered: bool = False
    answered_at: datetime | None = None
    deadline_at: datetime | None = None  # the marketplace's own per-item deadline, where the API gives one
    site: str | None = None  # the name sellers use where one API serves several shops: "G마켓" / "옥션" (ESM)
    answer_ref: str | None = None  # what the marketplace needs to answer this item later (ESM token, 11st prdNo)

    def __post_init__(self) -> None:
        for name in ("received_at", "answered_at", "deadline_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"Inquiry.{name} must be timezone-aware")

    @property
    def shop(self) -> str:
        """What sellers call where this came from: 쿠팡, 스마트스토어, 11번가, G마켓 or 옥션."""
        return shop_label(self.marketplace, self.site)

    @property
    def key(self) -> InquiryKey:
        """The identity used for idempotent upserts."""
        return InquiryKey(self.account_id, self.stream, self.external_id)


# A connector's position in a stream. Opaque to everyone but the connector; JSON-able so the store
# can save it in the same transaction as the inquiries it produced.
Cursor = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class OpenSnapshot:
    """Every still-unanswered item of a stream received in [received_from, received_to).

    Lets a connector report answers cheaply: asking the marketplace for unanswered items only, the store
    marks as answered each open inquiry of that stream and range whose id is not in `open_external_ids`.
    A connector returns one only after it has read every page of that range.
    """

    received_from: datetime
    received_to: datetime
    open_external_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll of one stream produced."""

    inquiries: tuple[Inquiry, ...]
    cursor: Cursor
    skipped: int = 0  # malformed items: logged and counted, never fatal
    requests: int = 0  # HTTP requests this poll made, for metrics and budget checks
    open_snapshot: OpenSnapshot | None = None


@dataclass(frozen=True, slots=True)
class InquiryControls:
    """What the seller decided about one inquiry: snoozed, handled, or a promised call-back time."""

    snoozed_until: datetime | None = None
    handled_at: datetime | None = None  # alerts stop until the marketplace shows it answered
    promise_at: datetime | None = None
    promise_note: str = ""
    # A date promised IN an answer (a template's {약속일:...}): answering does not keep it, so its reminder
    # outlives the answer. A call-back promise (`inqd promise`) is kept by answering.
    promise_by_answer: bool = False

    @property
    def any(self) -> bool:
        """True when the seller set anything."""
        return bool(self.snoozed_until or self.handled_at or self.promise_at)


class MessageKind(StrEnum):
    """What a notification is about; drives priority and routing."""

    NEW_INQUIRY = "new_inquiry"
    BACKFILL_SUMMARY = "backfill_summary"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    SLA_REPEAT = "sla_repeat"
    EVENING_WARNING = "evening_warning"
    DIGEST = "digest"
    SYSTEM = "system"
    PROMISE_REMINDER = "promise_reminder"  # the seller promised a call-back time: it is near
    PROMISE_MISSED = "promise_missed"  # the promised time passed with the inquiry still open
    # Not a message to read: the inquiry was answered, so a channel that can (ntfy >= 2.16) clears the
    # notification it showed for it. Routed automatically, never listed in a channel's `kinds`.
    ANSWERED = "answered"
    # An answer the seller approved did not go out: answered elsewhere already, no longer answerable, or refused
    # by the marketplace (its words in the payload).
    ANSWER_NOT_SENT = "answer_not_sent"
    # Once a week, at the first morning after quiet hours on the report day: how answering went last week (three
    # lines and, where the channel can show one, the chart). Waits out quiet hours as its own message.
    WEEKLY_REPORT = "weekly_report"


# The SLA timer's alerts about one inquiry's deadline or promised call-back.
ALERT_KINDS: frozenset[MessageKind] = frozenset(
    {
        MessageKind.SLA_WARNING,
        MessageKind.SLA_BREACH,
        MessageKind.SLA_REPEAT,
        MessageKind.EVENING_WARNING,
        MessageKind.PROMISE_REMINDER,
        MessageKind.PROMISE_MISSED,
    }
)
# Kinds about one inquiry: dropped once it is answered or handled, and what an `answered` clear takes away.
INQUIRY_KINDS: frozenset[MessageKind] = ALERT_KINDS | {MessageKind.NEW_INQUIRY}


class ClockKind(StrEnum):
    """Which deadline an SLA alert is about."""

    MARKETPLACE = "marketplace"
    OWN = "own"
    PROMISE = "promise"  # a call-back time the seller promised (policies/control_effects.py)


class Priority(IntEnum):
    """Urgency on the ntfy 1..5 scale."""

    MIN = 1
    LOW = 2
    DEFAULT = 3
    HIGH = 4
    MAX = 5


@dataclass(frozen=True, slots=True)
class Message:
    """A rendered notification, ready for any channel. Contains no unmasked personal data."""

    kind: MessageKind
    title: str
    body: str
    priority: Priority = Priority.DEFAULT
    tags: tuple[str, ...] = ()
    click_url: str | None = None
    group_key: str | None = None  # one inquiry = one group; channels that can update in place use it
    inquiry_id: int | None = None  # the store row it is about: phone actions (처리함, 미루기) name the inquiry by it
    # A picture shown with the text where the channel can (Telegram sendPhoto, an ntfy attachment); the others
    # send the text alone. Drawn when the message is rendered for sending, never stored in the outbox.
    image: bytes | None = field(default=None, repr=False)
    image_name: str = ""
    # The inquiry's deadline on a new-inquiry message: a channel with little room (KakaoTalk's 200-character
    # preview) says the time left ("23시간 남음") where the others print the stamp in the body.
    deadline: datetime | None = None
