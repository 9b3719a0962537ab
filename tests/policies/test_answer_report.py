"""The answer-time report's figures, computed by hand in each test (the arithmetic is in the comments).

Work hours Mon-Fri 09:00-18:00 KST; Coupang product Q&A has the default 24 h marketplace deadline and an own target of
4 work hours. 2026-10-12 is a Monday; 추석 2026 is 9/24-9/26 (Thu-Sat), 개천절 10/3 (Sat) with its substitute
holiday on Monday 10/5, 한글날 10/9 (Fri).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from aggregator.settings import Settings
from core.models import KST, Marketplace, StreamKind
from policies import Policies
from policies.answer_report import AnswerReport, AnswerTimeSource, Figures, InquiryFacts
from policies.answer_report_figures import Threshold, answer_report

MP, POLL, UNKNOWN = AnswerTimeSource.MARKETPLACE, AnswerTimeSource.POLL, AnswerTimeSource.UNKNOWN
COUPANG_90 = {Marketplace.COUPANG: Threshold(0.90, "coupang_2016")}


def _policies() -> Policies:
    rule = {"marketplace": "coupang", "stream": "product_qna", "own_target": "4h"}
    return Settings(work_hours=("월-금 09:00-18:00",), sla={"rules": [rule]}).policies()


def _at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=KST)


def _fact(
    n: int, received: datetime, answered: datetime | None = None, source: AnswerTimeSource | None = None, **more: object
) -> InquiryFacts:
    fact = InquiryFacts(
        id=n,
        account_id="shop-coupang",
        marketplace=Marketplace.COUPANG,
        stream=StreamKind.PRODUCT_QNA,
        received_at=received,
        first_seen_at=received + timedelta(minutes=1),
        answered_at=answered,
        answer_time_source=source,
    )
    return replace(fact, **more)  # type: ignore[arg-type]


def _report(
    facts: list[InquiryFacts],
    now: datetime,
    weeks: int,
    first: dict[Marketplace, datetime | None],
    thresholds: dict[Marketplace, Threshold] | None = None,
) -> AnswerReport:
    policies = _policies()
    return answer_report(
        facts,
        now=now,
        weeks=weeks,
        work=policies.work,
        sla=policies.sla,
        calendar=policies.calendar,
        first_polled=first,
        thresholds=COUPANG_90 if thresholds is None else thresholds,
    )


WEEK_FACTS = [
    # a: Mon 10:00 -> 12:00 from the marketplace: 2 h wall, 2 h work; own deadline 14:00 kept; sent from inqd.
    _fact(1, _at(10, 12, 10), _at(10, 12, 12), MP, answered_by_inqd=True),
    # b: Mon 17:00 -> Tue 10:00: 17 h wall, work 17-18 + 9-10 = 2 h; own deadline Tue 12:00 kept; promise Tue 18:00
    # handled Tue 10:00: kept.
    _fact(2, _at(10, 12, 17), _at(10, 13, 10), MP, promise_at=_at(10, 13, 18), promise_kept_at=_at(10, 13, 10)),
    # c: Mon 20:00 -> Wed 08:00 seen by a poll: 36 h wall (past 24 h: a marketplace breach), work = Tue 9-18 = 9 h;
    # own deadline Tue 13:00 missed.
    _fact(3, _at(10, 12, 20), _at(10, 14, 8), POLL),
    # d: Tue 09:00, open at Wed 12:00: 27 h, open past 24 h, both clocks breached; promise Tue 18:00 never handled.
    _fact(4, _at(10, 13, 9), promise_at=_at(10, 13, 18)),
    # e: Wed 06:00, open 6 h: pending (in neither side of the share); own deadline Wed 13:00 not yet; promise Thu.
    _fact(5, _at(10, 14, 6), promise_at=_at(10, 15, 18)),
    # f: Tue 08:00, already answered when first seen at 08:01, no time: answered within 24 h, no median.
    _fact(6, _at(10, 13, 8), None, UNKNOWN),
]
NOW = _at(10, 14, 12)


def test_the_figures_of_a_week_by_hand() -> None:
    report = _report(WEEK_FACTS, NOW, weeks=2, first={Marketplace.COUPANG: _at(9, 30, 9)})
    (coupang,) = report.marketplaces
    expected = Figures(
        received=6,
        answered=4,  # a b c f
        pending=1,  # e
        answered_within_24h=3,  # a b f
        open_past_24h=1,  # d
        marketplace_breaches=2,  # c d
        own_breaches=2,  # c d
        median_answer_s=17 * 3600,  # 2 h, 17 h, 36 h -> 17 h
        p90_answer_s=36 * 3600,  # rank ceil(0.9 * 3) = 3
        median_work_s=2 * 3600,  # 2 h, 2 h, 9 h
        p90_work_s=9 * 3600,
        promises_kept=1,  # b
        promises_broken=1,  # d
        answered_from_inqd=1,  # a
        answered_elsewhere=3,  # b c f
        times_from_marketplace=2,
        times_from_poll=1,
        times_unknown=1,
        buckets=(0, 1, 1, 2, 2),  # a: 1-6 h; b: 6-24 h; c and f (unknown): after 24 h; d, e: open
    )
    assert coupang.last_30_days == expected
    assert expected.share_24h == pytest.approx(3 / 5)  # decided: 4 answered + 1 open past 24 h
    assert [w.week_start for w in coupang.weeks] == [date(2026, 10, 5), date(2026, 10, 12)]
    assert coupang.weeks[1].figures == expected
    # The week before holds nothing but was covered (polled since Wed 9/30): an empty week, with its two holidays.
    assert coupang.weeks[0].figures == Figures() and coupang.weeks[0].covered
    assert coupang.weeks[0].closed_days == ("개천절 대체 휴일", "한글날")
    assert coupang.streams == {StreamKind.PRODUCT_QNA: expected}
    # 0.6 is already below 0.9: a forecast, but it does not "fall" (it is there already).
    assert coupang.forecast is not None and not coupang.forecast.falls_below


def test_a_week_crossing_chuseok_counts_no_work_time_on_the_holidays() -> None:
    # Wed 9/23 17:00 -> Mon 9/28 10:00: 4 d 17 h wall = 113 h; work = Wed 17-18 + Mon 9-10 = 2 h (Thu-Sat are 추석,
    # Sunday has no work hours). Received in the week of 9/21, whose closed days are the three of 추석.
    fact = _fact(1, _at(9, 23, 17), _at(9, 28, 10), MP)
    report = _report([fact], _at(9, 30, 12), weeks=2, first={Marketplace.COUPANG: _at(9, 1, 9)})
    chuseok, after = report.marketplaces[0].weeks
    assert chuseok.week_start == date(2026, 9, 21)
    assert len(chuseok.closed_days) == 3 and all("추석" in name for name in chuseok.closed_days)
    assert chuseok.figures.median_answer_s == 113 * 3600
    assert chuseok.figures.median_work_s == 2 * 3600
    assert chuseok.figures.answered_within_24h == 0 and chuseok.figures.marketplace_breaches == 1
    assert after.figures.received == 0 and after.closed_days == ("개천절",)


def test_an_account_added_mid_period_leaves_its_earlier_weeks_without_data() -> None:
    # Naver first polled Tue 10/13: the week of 10/5 is "no data" (not 0 %), the week of 10/12 is covered but empty.
    first = {Marketplace.COUPANG: _at(9, 1, 9), Marketplace.NAVER: _at(10, 13, 9), Marketplace.ESM: None}
    report = _report(WEEK_FACTS, NOW, weeks=2, first=first)
    by_marketplace = {entry.marketplace: entry for entry in report.marketplaces}
    assert list(by_marketplace) == [Marketplace.COUPANG, Marketplace.NAVER, Marketplace.ESM]
    naver = by_marketplace[Marketplace.NAVER]
    assert [w.covered for w in naver.weeks] == [False, True]
    assert naver.weeks[1].figures == Figures() and naver.weeks[1].figures.share_24h is None
    assert naver.forecast is None  # no known threshold, and none set
    assert [w.covered for w in by_marketplace[Marketplace.ESM].weeks] == [False, False]  # never polled


def test_the_forecast_falls_below_when_the_open_ones_would_pass_24_hours() -> None:
    # 24 answered within 2 h + 1 open past 24 h: 24/25 = 96 %; 2 open for an hour: 24/27 = 88.9 % < 90 %.
    answered = [_fact(n, _at(10, 12, 9) + timedelta(minutes=n), _at(10, 12, 11), MP) for n in range(24)]
    late = [_fact(30, _at(10, 12, 9))]
    fresh = [_fact(31, _at(10, 14, 11)), _fact(32, _at(10, 14, 11))]
    report = _report([*answered, *late, *fresh], NOW, weeks=1, first={Marketplace.COUPANG: _at(9, 1, 9)})
    forecast = report.marketplaces[0].forecast
    assert forecast is not None
    assert (forecast.current, forecast.projected, forecast.open_at_risk) == pytest.approx((24 / 25, 24 / 27, 2))
    assert forecast.falls_below and forecast.source == "coupang_2016"
    # A seller's own 95 % target replaces it, marked as theirs; 96 % -> 88.9 % falls below that too.
    own = (
        _report(
            [*answered, *late, *fresh],
            NOW,
            1,
            {Marketplace.COUPANG: _at(9, 1, 9)},
            {Marketplace.COUPANG: Threshold(0.95, "seller")},
        )
        .marketplaces[0]
        .forecast
    )
    assert own is not None and own.threshold == 0.95 and own.source == "seller" and own.falls_below


def test_only_the_window_counts_and_the_30_days_reach_past_the_weeks() -> None:
    # weeks=1 is 10/12 00:00 on, but the 30 days reach back to 9/14 12:00: 9/17 counts there, 9/13 nowhere.
    facts = [_fact(1, _at(9, 17, 10), _at(9, 17, 11), MP), _fact(2, _at(9, 13, 10), _at(9, 13, 11), MP)]
    coupang = _report(facts, NOW, weeks=1, first={Marketplace.COUPANG: _at(9, 1, 9)}).marketplaces[0]
    assert coupang.last_30_days.received == 1 and coupang.weeks[0].figures.received == 0


def test_a_week_before_the_first_poll_is_covered_by_what_its_lookback_read() -> None:
    # Coupang first polled Wed 10/14 12:00; its first poll read back a week, so WEEK_FACTS' week of 10/12 is covered
    # anyway, and the week of 10/5 holds one inquiry it read back (Fri 10/9, answered in 1 h): covered too.
    # The week of 9/28 holds nothing and ended before the first poll: no data.
    early = _fact(7, _at(10, 9, 10), _at(10, 9, 11), MP)
    report = _report([early, *WEEK_FACTS], NOW, weeks=3, first={Marketplace.COUPANG: _at(10, 14, 12)})
    coupang = report.marketplaces[0]
    assert [w.week_start.isoformat() for w in coupang.weeks] == ["2026-09-28", "2026-10-05", "2026-10-12"]
    assert [w.covered for w in coupang.weeks] == [False, True, True]
    assert (coupang.weeks[1].figures.received, coupang.weeks[1].figures.share_24h) == (1, 1.0)
