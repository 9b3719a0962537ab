"""The answer-time report in words (Korean; English with --lang en): `inqd report`'s text and the weekly message's
three-line summary. The figures come from policies/answer_report_figures.py; nothing is counted here."""

from __future__ import annotations

from datetime import date, timedelta

from aggregator.cli.words import Words
from aggregator.language import Texts
from core.models import Marketplace, StreamKind
from policies.answer_report import AnswerReport, Figures, Forecast, MarketplaceReport, WeekFigures

_TEXTS = Texts(
    {
        "head": (
            "답변 시간 리포트 — {at} 기준, 최근 {weeks}주와 30일",
            "Answer-time report — as of {at}, the last {weeks} weeks and 30 days",
        ),
        "no_accounts": ("계정이 없습니다: 셀 것이 없습니다", "no accounts: nothing to count"),
        "last_30": (
            "  최근 30일: 받은 문의 {received}건, 24시간 안 답변 {share} "
            "({within}/{decided}건, 아직 24시간 전 {pending}건)",
            "  last 30 days: {received} received, answered within 24 h {share} ({within}/{decided}, "
            "{pending} still inside 24 h)",
        ),
        "times": (
            "    첫 답변까지 중앙값 {median} / p90 {p90} (업무시간으로 중앙값 {work_median} / p90 {work_p90})",
            "    time to first answer: median {median} / p90 {p90} "
            "(in work hours: median {work_median} / p90 {work_p90})",
        ),
        "breaches": (
            "    마감 넘김: 마켓 마감 {marketplace}건, 내 목표 {own}건 · 24시간 넘게 열린 문의 {open_past}건",
            "    breaches: marketplace deadline {marketplace}, own target {own} · open past 24 h: {open_past}",
        ),
        "promises_answers": (
            "    약속 지킴 {kept}건 / 못 지킴 {broken}건 · inqd에서 보낸 답변 {inqd}건, 다른 곳에서 {elsewhere}건",
            "    promises kept {kept} / broken {broken} · answers sent from inqd {inqd}, elsewhere {elsewhere}",
        ),
        "sources": (
            "    답변 시각: 마켓 기록 {marketplace}건, 폴링 시각 {poll}건{unknown}",
            "    answer times: marketplace's record {marketplace}, poll time {poll}{unknown}",
        ),
        "sources_unknown": (
            ", 모름 {count}건 (처음 볼 때 이미 답변됨)",
            ", unknown {count} (answered before inqd saw it)",
        ),
        "stream": (
            "  {stream}: 받은 {received}건, 24시간 안 {share}, 중앙값 {median}, p90 {p90}",
            "  {stream}: {received} received, within 24 h {share}, median {median}, p90 {p90}",
        ),
        "weeks_head": ("  주별 (월요일부터):", "  by week (from Monday):"),
        "week": (
            "    {start}  받은 {received:>3}건  24시간 안 {share:>6}  중앙값 {median:>9}  p90 {p90:>9}  "
            "24시간 넘게 열림 {open_past}건{closed}",
            "    {start}  received {received:>3}  within 24 h {share:>6}  median {median:>11}  p90 {p90:>11}  "
            "open past 24 h {open_past}{closed}",
        ),
        "week_closed": ("  쉰 날: {names}", "  closed: {names}"),
        "week_no_data": ("    {start}  {no_data}{closed}", "    {start}  {no_data}{closed}"),
        "no_data": ("데이터 없음 (계정 연결 전)", "no data (before the account)"),
        "falls": (
            "  이대로면 {shop} 30일 24시간 답변율이 {threshold} 아래로 내려갑니다 (지금 {current}; "
            "열린 {open}건이 24시간을 넘기면 {projected}) — 기준: {source}",
            "  At this pace {shop}'s 30-day 24-hour share falls below {threshold} (now {current}; "
            "{projected} if the {open} open ones pass 24 h) — threshold: {source}",
        ),
        "below": (
            "  {shop} 30일 24시간 답변율 {current}: 기준 {threshold}보다 낮습니다 — 기준: {source}",
            "  {shop}'s 30-day 24-hour share {current} is below {threshold} — threshold: {source}",
        ),
        "above": (
            "  {shop} 30일 24시간 답변율 {current}: 기준 {threshold} 위 (열린 {open}건이 24시간을 넘겨도 {projected}) "
            "— 기준: {source}",
            "  {shop}'s 30-day 24-hour share {current}: above {threshold} ({projected} even if the {open} open ones "
            "pass 24 h) — threshold: {source}",
        ),
        "unknown_threshold": (
            "  기준 미확인: {shop}의 답변율 기준은 공개된 것을 찾지 못했습니다 ([report]에 내 목표를 적을 수 있습니다)",
            "  threshold unconfirmed: no published rule found for {shop} (set your own target under [report])",
        ),
        "source_coupang_2016": (
            "쿠팡 판매자 평점 최소 90% (2016년 기사; 95%라는 말은 확인 안 됨)",
            "Coupang's seller rating minimum of 90% (2016 news; the 95% some quote is unconfirmed)",
        ),
        "source_seller": ("판매자가 정한 목표 (마켓 공식 기준 아님)", "your own target (not the marketplace's rule)"),
        "summary_line": (
            "{shop}: 지난주 {received}건, 24시간 안 {share}, 중앙값 {median} · 30일 {share_30}",
            "{shop}: last week {received}, within 24 h {share}, median {median} · 30 days {share_30}",
        ),
        "summary_no_data": ("{shop}: 지난주 데이터 없음", "{shop}: no data last week"),
        "summary_more": ("그 밖에: {rest}", "also: {rest}"),
        "dash": ("–", "–"),
        "under_minute": ("1분 미만", "under 1 min"),
    }
)


def percent(share: float | None, words: Words) -> str:
    """A share as the report writes it (`96.1%`), a dash where there is none."""
    return _TEXTS(words.lang, "dash") if share is None else f"{share * 100:.1f}%"


def span(seconds: float | None, words: Words) -> str:
    """A time to answer as the report writes it (`2시간 5분`, `1분 미만`), a dash where there is none."""
    if seconds is None:
        return _TEXTS(words.lang, "dash")
    if seconds < 60:
        return _TEXTS(words.lang, "under_minute")
    return words.age(timedelta(seconds=seconds))


def shop_name(marketplace: Marketplace, words: Words) -> str:
    """The marketplace as the seller calls it."""
    return words.shop(marketplace.label)


def figures_lines(f: Figures, words: Words) -> list[str]:
    """A set of inquiries' figures: received and the 24-hour share, times to answer, breaches, promises and
    answers (where the answer times came from is `sources_line`)."""

    def say(key: str, **values: object) -> str:
        return _TEXTS(words.lang, key, **values)

    return [
        say(
            "last_30",
            received=f.received,
            share=percent(f.share_24h, words),
            within=f.answered_within_24h,
            decided=f.decided,
            pending=f.pending,
        ),
        say(
            "times",
            median=span(f.median_answer_s, words),
            p90=span(f.p90_answer_s, words),
            work_median=span(f.median_work_s, words),
            work_p90=span(f.p90_work_s, words),
        ),
        say("breaches", marketplace=f.marketplace_breaches, own=f.own_breaches, open_past=f.open_past_24h),
        say(
            "promises_answers",
            kept=f.promises_kept,
            broken=f.promises_broken,
            inqd=f.answered_from_inqd,
            elsewhere=f.answered_elsewhere,
        ),
    ]


def sources_line(f: Figures, words: Words) -> str:
    """Where the answer times came from: the marketplace's record, the poll that saw the answer, unknown."""
    unknown = _TEXTS(words.lang, "sources_unknown", count=f.times_unknown) if f.times_unknown else ""
    return _TEXTS(words.lang, "sources", marketplace=f.times_from_marketplace, poll=f.times_from_poll, unknown=unknown)


def stream_line(stream: StreamKind, f: Figures, words: Words) -> str:
    """One stream's last 30 days in a line."""
    return _TEXTS(
        words.lang,
        "stream",
        stream=words.stream(stream),
        received=f.received,
        share=percent(f.share_24h, words),
        median=span(f.median_answer_s, words),
        p90=span(f.p90_answer_s, words),
    )


def no_data_text(words: Words) -> str:
    """What a week before the marketplace's first account was polled shows instead of figures."""
    return _TEXTS(words.lang, "no_data")


def heading(report: AnswerReport, words: Words) -> str:
    """The report's first line: when, and over how many weeks."""
    return _TEXTS(words.lang, "head", at=words.stamp(report.generated_at), weeks=report.weeks)


def week_line(week: WeekFigures, words: Words) -> str:
    """One weekly row: its Monday, the counts and times, the days it was closed."""
    names = ", ".join(week.closed_days)
    closed = _TEXTS(words.lang, "week_closed", names=names) if names else ""
    start = f"{week.week_start:%m/%d}"
    if not week.covered:
        return _TEXTS(words.lang, "week_no_data", start=start, no_data=no_data_text(words), closed=closed)
    f = week.figures
    return _TEXTS(
        words.lang,
        "week",
        start=start,
        received=f.received,
        share=percent(f.share_24h, words),
        median=span(f.median_answer_s, words),
        p90=span(f.p90_answer_s, words),
        open_past=f.open_past_24h,
        closed=closed,
    )


def forecast_line(entry: MarketplaceReport, words: Words) -> str:
    """Where the 30-day 24-hour share is heading against a known threshold, or that the threshold is unknown."""
    shop = shop_name(entry.marketplace, words)
    forecast: Forecast | None = entry.forecast
    if forecast is None:
        return _TEXTS(words.lang, "unknown_threshold", shop=shop)
    source_key = f"source_{forecast.source}"
    values = {
        "shop": shop,
        "threshold": f"{forecast.threshold * 100:g}%",
        "current": percent(forecast.current, words),
        "projected": percent(forecast.projected, words),
        "open": forecast.open_at_risk,
        "source": _TEXTS(words.lang, source_key) if source_key in _TEXTS else forecast.source,
    }
    if forecast.falls_below:
        return _TEXTS(words.lang, "falls", **values)
    return _TEXTS(words.lang, "below" if forecast.current < forecast.threshold else "above", **values)


def _marketplace_lines(entry: MarketplaceReport, words: Words) -> list[str]:
    f = entry.last_30_days
    lines = [shop_name(entry.marketplace, words), *figures_lines(f, words), sources_line(f, words)]
    lines += [stream_line(stream, figures, words) for stream, figures in entry.streams.items()]
    lines.append(_TEXTS(words.lang, "weeks_head"))
    lines += [week_line(week, words) for week in reversed(entry.weeks)]  # the newest first: what is read first
    lines.append(forecast_line(entry, words))
    return lines


def report_lines(report: AnswerReport, words: Words) -> list[str]:
    """The whole report: a heading, then per marketplace its 30 days, streams, weeks and forecast."""
    lines = [heading(report, words)]
    if not report.marketplaces:
        return [*lines, _TEXTS(words.lang, "no_accounts")]
    for entry in report.marketplaces:
        lines += ["", *_marketplace_lines(entry, words)]
    return lines


def summary_lines(report: AnswerReport, words: Words | None = None, *, week: date | None = None) -> list[str]:
    """At most three lines for the weekly phone message: a line per marketplace for `week` (its Monday; default the
    last complete week), the busiest first, the fourth on joined into the third; a forecast that warns takes the last
    line."""
    words = words or Words("ko")

    def reported(entry: MarketplaceReport) -> WeekFigures:
        return next((w for w in entry.weeks if w.week_start == week), None) or _last_week(entry)

    ranked = sorted(report.marketplaces, key=lambda e: -reported(e).figures.received)
    lines = [_summary_line(entry, reported(entry), words) for entry in ranked]
    if len(lines) > 3:
        rest = (
            f"{shop_name(e.marketplace, words)} {percent(reported(e).figures.share_24h, words)}" for e in ranked[2:]
        )
        lines = [*lines[:2], _TEXTS(words.lang, "summary_more", rest=", ".join(rest))]
    warnings = [forecast_line(e, words).strip() for e in ranked if e.forecast is not None and e.forecast.falls_below]
    return [*lines[:2], warnings[0]] if warnings else lines


def _last_week(entry: MarketplaceReport) -> WeekFigures:
    """The last complete week (the one before the week holding the report's time; that one with a single week)."""
    return entry.weeks[-2] if len(entry.weeks) >= 2 else entry.weeks[-1]


def _summary_line(entry: MarketplaceReport, week: WeekFigures, words: Words) -> str:
    shop = shop_name(entry.marketplace, words)
    if not week.covered:
        return _TEXTS(words.lang, "summary_no_data", shop=shop)
    f = week.figures
    return _TEXTS(
        words.lang,
        "summary_line",
        shop=shop,
        received=f.received,
        share=percent(f.share_24h, words),
        median=span(f.median_answer_s, words),
        share_30=percent(entry.last_30_days.share_24h, words),
    )
