"""The answer-time report's computation: facts, policies and `now` in, `AnswerReport` out (the counting rules are in
policies/answer_report.py's docstring, beside the types; this module is apart only for its size).

Percentiles: the median is the middle value (the mean of the two middle ones for an even count); p90 is the
nearest rank (the value at position ceil(0.9 n) in ascending order), so a reader can check both by hand.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from core.models import Inquiry, Marketplace, StreamKind
from policies.answer_report import (
    AnswerReport,
    AnswerTimeSource,
    Figures,
    Forecast,
    InquiryFacts,
    MarketplaceReport,
    WeekFigures,
)
from policies.calendar import Calendar
from policies.intervals import Schedule, work_time_between
from policies.sla import SlaPolicy, deadlines

DAY = timedelta(hours=24)
WINDOW = timedelta(days=30)  # Coupang's seller score window (../shared/feature-anchors.md)
_BUCKET_EDGES = (timedelta(hours=1), timedelta(hours=6), DAY)  # <1 h, 1-6 h, 6-24 h; then after 24 h; then open
_OPEN_BUCKET = 4


@dataclass(frozen=True, slots=True)
class Threshold:
    """A 30-day 24-hour share to stay above, and where it comes from (a code the report's text words)."""

    value: float
    source: str  # "coupang_2016": Coupang's 2016 minimum (dated news); "seller": the seller's own target


@dataclass(frozen=True, slots=True)
class _Counted:
    """What one inquiry adds to every set it belongs to (computed once, summed per week, stream and window)."""

    answered: bool
    pending: bool
    within_24h: bool
    open_past_24h: bool
    marketplace_breach: bool
    own_breach: bool
    wall_s: float | None
    work_s: float | None
    promise_kept: bool
    promise_broken: bool
    source: AnswerTimeSource | None
    by_inqd: bool
    bucket: int


def _count(fact: InquiryFacts, *, now: datetime, work: Schedule, sla: SlaPolicy) -> _Counted:
    inquiry = Inquiry(
        account_id=fact.account_id,
        marketplace=fact.marketplace,
        stream=fact.stream,
        external_id=str(fact.id),
        received_at=fact.received_at,
        body="",
        deadline_at=fact.deadline_at,
    )
    clocks = deadlines(inquiry, sla, work)
    answered = fact.answer_time_source is not None
    # The end of the wait as far as it is known: the answer, or (unknown time) the poll that saw it answered, which
    # bounds it from above; for an open one, now.
    end = now if not answered else fact.answered_at or fact.first_seen_at
    waited = end - fact.received_at
    timed = fact.answered_at is not None
    kept = fact.promise_at is not None and fact.promise_kept_at is not None and fact.promise_kept_at <= fact.promise_at
    return _Counted(
        answered=answered,
        pending=not answered and waited <= DAY,
        within_24h=answered and waited <= DAY,
        open_past_24h=not answered and waited > DAY,
        marketplace_breach=end > clocks.marketplace,
        own_breach=clocks.own is not None and end > clocks.own,
        wall_s=max(waited, timedelta(0)).total_seconds() if timed else None,
        work_s=work_time_between(work, fact.received_at, end).total_seconds() if timed else None,
        promise_kept=kept,
        promise_broken=fact.promise_at is not None
        and not kept
        and (fact.promise_kept_at is not None or now > fact.promise_at),
        source=fact.answer_time_source,
        by_inqd=fact.answered_by_inqd,
        bucket=_bucket(waited) if timed else (_OPEN_BUCKET if not answered else len(_BUCKET_EDGES)),
    )


def _bucket(waited: timedelta) -> int:
    return next((n for n, edge in enumerate(_BUCKET_EDGES) if waited < edge), len(_BUCKET_EDGES))


def _p90(values: Sequence[float]) -> float | None:
    return sorted(values)[math.ceil(0.9 * len(values)) - 1] if values else None


def _figures(counted: Iterable[_Counted]) -> Figures:
    # One pass with plain counters: every inquiry is summed into four sets (week and 30 days, marketplace and
    # stream), and a pass per figure cost the report a third of its time over a year of inquiries.
    wall: list[float] = []
    worked: list[float] = []
    n = [0] * 14
    buckets = [0] * 5
    for c in counted:
        buckets[c.bucket] += 1
        if c.wall_s is not None:
            wall.append(c.wall_s)
        if c.work_s is not None:
            worked.append(c.work_s)
        n[0] += 1
        n[1] += c.answered
        n[2] += c.pending
        n[3] += c.within_24h
        n[4] += c.open_past_24h
        n[5] += c.marketplace_breach
        n[6] += c.own_breach
        n[7] += c.promise_kept
        n[8] += c.promise_broken
        n[9] += c.answered and c.by_inqd
        n[10] += c.answered and not c.by_inqd
        n[11] += c.source is AnswerTimeSource.MARKETPLACE
        n[12] += c.source is AnswerTimeSource.POLL
        n[13] += c.source is AnswerTimeSource.UNKNOWN
    return Figures(
        received=n[0],
        answered=n[1],
        pending=n[2],
        answered_within_24h=n[3],
        open_past_24h=n[4],
        marketplace_breaches=n[5],
        own_breaches=n[6],
        median_answer_s=statistics.median(wall) if wall else None,
        p90_answer_s=_p90(wall),
        median_work_s=statistics.median(worked) if worked else None,
        p90_work_s=_p90(worked),
        promises_kept=n[7],
        promises_broken=n[8],
        answered_from_inqd=n[9],
        answered_elsewhere=n[10],
        times_from_marketplace=n[11],
        times_from_poll=n[12],
        times_unknown=n[13],
        buckets=(buckets[0], buckets[1], buckets[2], buckets[3], buckets[4]),
    )


@dataclass(frozen=True, slots=True)
class _Weeks:
    """The report's weeks: `count` Mondays in the seller's zone, the last one holding `now`."""

    first: date
    count: int
    zone_of: Schedule

    def start(self, n: int) -> datetime:
        return datetime.combine(self.first + timedelta(weeks=n), time(0), tzinfo=self.zone_of.zone)

    def index(self, at: datetime) -> int | None:
        n = (at.astimezone(self.zone_of.zone).date() - self.first).days // 7
        return n if 0 <= n < self.count else None


def report_since(*, now: datetime, weeks: int, zone_of: Schedule) -> datetime:
    """The earliest receipt the report counts: the first week's Monday, or 30 days back if that is earlier."""
    return min(_weeks_of(now, weeks, zone_of).start(0), now - WINDOW)


def _weeks_of(now: datetime, weeks: int, zone_of: Schedule) -> _Weeks:
    if weeks < 1:
        raise ValueError(f"weeks must be at least 1, got {weeks}")
    today = now.astimezone(zone_of.zone).date()
    return _Weeks(today - timedelta(days=today.weekday(), weeks=weeks - 1), weeks, zone_of)


def _closed_names(calendar: Calendar, monday: date) -> tuple[str, ...]:
    names = (name for _day, name in calendar.closed_days(monday, monday + timedelta(days=7)))
    return tuple(dict.fromkeys(names))  # once each, in date order


def _week_rows(
    counted: Sequence[tuple[InquiryFacts, _Counted]],
    span: _Weeks,
    calendar: Calendar,
    first_polled: datetime | None,
) -> tuple[WeekFigures, ...]:
    by_week: list[list[_Counted]] = [[] for _ in range(span.count)]
    for fact, one in counted:
        n = span.index(fact.received_at)
        if n is not None:
            by_week[n].append(one)
    return tuple(
        WeekFigures(
            week_start=span.start(n).date(),
            figures=_figures(rows),
            # The first poll reads back its lookback window: a week before it with inquiries in it was seen.
            covered=bool(rows) or (first_polled is not None and first_polled < span.start(n + 1)),
            closed_days=_closed_names(calendar, span.start(n).date()),
        )
        for n, rows in enumerate(by_week)
    )


def _forecast(figures: Figures, threshold: Threshold | None) -> Forecast | None:
    current = figures.share_24h
    if threshold is None or current is None:
        return None
    # The open ones still inside their 24 hours: were none of them answered in time, they join the denominator.
    projected = figures.answered_within_24h / (figures.decided + figures.pending)
    return Forecast(threshold.value, current, projected, figures.pending, threshold.source)


def answer_report(
    facts: Sequence[InquiryFacts],
    *,
    now: datetime,
    weeks: int,
    work: Schedule,
    sla: SlaPolicy,
    calendar: Calendar,
    first_polled: Mapping[Marketplace, datetime | None],
    thresholds: Mapping[Marketplace, Threshold],
) -> AnswerReport:
    """The report at `now`: one entry per marketplace in `first_polled` (those with an account; None when never
    polled), its last `weeks` weeks (Monday-start in `work`'s zone, oldest first), its last 30 days, the same
    per stream, and a forecast where `thresholds` knows one."""
    span = _weeks_of(now, weeks, work)
    since = report_since(now=now, weeks=weeks, zone_of=work)
    counted = [(f, _count(f, now=now, work=work, sla=sla)) for f in facts if since <= f.received_at <= now]
    reports = []
    for marketplace in (m for m in Marketplace if m in first_polled):
        own = [pair for pair in counted if pair[0].marketplace is marketplace]
        recent = [pair for pair in own if pair[0].received_at >= now - WINDOW]
        streams = sorted({f.stream for f, _ in own}, key=list(StreamKind).index)
        last_30 = _figures(c for _, c in recent)
        reports.append(
            MarketplaceReport(
                marketplace=marketplace,
                weeks=_week_rows(own, span, calendar, first_polled[marketplace]),
                last_30_days=last_30,
                streams={s: _figures(c for f, c in recent if f.stream is s) for s in streams},
                stream_weeks={
                    s: _week_rows([p for p in own if p[0].stream is s], span, calendar, first_polled[marketplace])
                    for s in streams
                },
                forecast=_forecast(last_30, thresholds.get(marketplace)),
            )
        )
    return AnswerReport(generated_at=now, weeks=weeks, marketplaces=tuple(reports))
