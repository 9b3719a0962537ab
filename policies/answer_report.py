"""The answer-time report's shape: what one inquiry contributes, and the figures per marketplace, stream and week.

Marketplaces grade sellers on answering (Coupang: the share of inquiries answered within 24 hours over 30 days;
Naver's 굿서비스 score: an inquiry response rate; G마켓: 고객 문의 응답 성실도 — ../shared/feature-anchors.md). The
report counts the same things from the queue inqd keeps, so a seller sees them without four seller centres.

Counting rules (the computation lives beside these types and is a pure function of the facts, the policies and
`now`):
- An inquiry belongs to the week (Monday 00:00 to Monday 00:00 in the seller's zone) and the 30-day window in
  which it was *received*.
- The 24-hour share is answered-within-24h over the *decided* inquiries: those answered, plus those still open
  whose 24 hours have passed. One still inside its first 24 hours is *pending* and counted in neither.
- Answer times are the first answer's: the marketplace's own time where its API gives one, else the poll that
  first saw the inquiry answered. An inquiry that was already answered when inqd first saw it, with no time from
  the marketplace, has no known answer time: it counts as answered (and within 24 h only if the poll that saw
  it was within 24 h of receipt) but not in the medians.
- A week before any account of the marketplace was first polled, from which inqd holds no inquiry (the first
  poll reads back its lookback window, so a week shortly before it usually has some), is *not covered*: shown as
  "no data", never 0 %.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from core.models import Marketplace, StreamKind


class AnswerTimeSource(StrEnum):
    """Where an answer time comes from."""

    MARKETPLACE = "marketplace"  # the API's own field (Coupang inquiryCommentAt, Naver answerRegistrationDateTime…)
    POLL = "poll"  # the poll that first saw the inquiry answered (an upper bound: at most one interval late)
    UNKNOWN = "unknown"  # answered before inqd first saw it, and the API gives no time


@dataclass(frozen=True, slots=True)
class InquiryFacts:
    """One inquiry as the report counts it (read from the store)."""

    id: int
    account_id: str
    marketplace: Marketplace
    stream: StreamKind
    received_at: datetime
    first_seen_at: datetime
    answered_at: datetime | None  # the first answer; None while open (or when unknown, see the source)
    answer_time_source: AnswerTimeSource | None  # None while open
    deadline_at: datetime | None = None  # the marketplace's own deadline, when its API gives one
    answered_by_inqd: bool = False  # an answer sent through inqd was confirmed for it
    promise_at: datetime | None = None  # a promised call-back or answer date the seller recorded
    promise_kept_at: datetime | None = None  # when it was marked handled (kept if not after promise_at)


@dataclass(frozen=True, slots=True)
class Figures:
    """The counts and times of one set of inquiries (one marketplace or stream, one week or 30 days)."""

    received: int = 0
    answered: int = 0
    pending: int = 0  # open and still inside their first 24 hours: in neither side of the share
    answered_within_24h: int = 0
    open_past_24h: int = 0
    marketplace_breaches: int = 0  # answered after, or still open past, the marketplace deadline
    own_breaches: int = 0  # the same for the seller's own target (0 where no target is set)
    median_answer_s: float | None = None  # wall clock, received -> first answer
    p90_answer_s: float | None = None
    median_work_s: float | None = None  # the same counted in work hours only
    p90_work_s: float | None = None
    promises_kept: int = 0
    promises_broken: int = 0
    answered_from_inqd: int = 0
    answered_elsewhere: int = 0
    times_from_marketplace: int = 0  # answer times by source (AnswerTimeSource)
    times_from_poll: int = 0
    times_unknown: int = 0
    # The chart's distribution: answered within 1 h, 1-6 h, 6-24 h, after 24 h (or time unknown), still open.
    buckets: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)

    @property
    def decided(self) -> int:
        """The denominator of the 24-hour share: answered, or open with their 24 hours gone."""
        return self.answered + self.open_past_24h

    @property
    def share_24h(self) -> float | None:
        """Answered within 24 hours over decided; None when nothing is decided yet."""
        return self.answered_within_24h / self.decided if self.decided else None


@dataclass(frozen=True, slots=True)
class WeekFigures:
    """One week (Monday to Sunday in the seller's zone) of one marketplace or stream."""

    week_start: date  # the Monday
    figures: Figures
    covered: bool = True  # False: no account of it was polled yet that week ("no data", not 0 %)
    closed_days: tuple[str, ...] = ()  # names of the week's closed days (추석, a vacation), for the reader


@dataclass(frozen=True, slots=True)
class Forecast:
    """Where a marketplace's 30-day 24-hour share is heading, against a threshold whose source is known."""

    threshold: float  # e.g. 0.90
    current: float  # the share now
    projected: float  # the share if the inquiries open now pass their 24 hours unanswered
    open_at_risk: int  # those inquiries
    source: str  # where the threshold comes from, in words (and that it is unconfirmed, when it is)

    @property
    def falls_below(self) -> bool:
        """Whether the share would cross the threshold from above."""
        return self.current >= self.threshold > self.projected


@dataclass(frozen=True, slots=True)
class MarketplaceReport:
    """One marketplace: its weeks (oldest first), the last 30 days, the same per stream, and its forecast."""

    marketplace: Marketplace
    weeks: tuple[WeekFigures, ...]
    last_30_days: Figures
    streams: dict[StreamKind, Figures] = field(default_factory=dict)  # last 30 days per stream
    stream_weeks: dict[StreamKind, tuple[WeekFigures, ...]] = field(default_factory=dict)
    forecast: Forecast | None = None


@dataclass(frozen=True, slots=True)
class AnswerReport:
    """The whole report at `generated_at`: one entry per marketplace with an account."""

    generated_at: datetime
    weeks: int
    marketplaces: tuple[MarketplaceReport, ...]
