"""The timer's planner (one work-time walk for every own-target point, plans as tuples) plans exactly what the
planner before it did: the old one is kept here, verbatim but for its output, as the oracle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.instants import to_us
from core.models import KST, ClockKind, Inquiry, InquiryControls, Marketplace, StreamKind
from policies.alert_due import _WEIGHT, due_alerts
from policies.control_effects import ControlPolicy, apply_controls
from policies.intervals import Schedule, add_work_time
from policies.sla import (
    AlertKind,
    AlertPlanner,
    PlannedAlert,
    SlaPolicy,
    SlaRule,
    WarnPoint,
    quiet_span_start,
)
from policies.work_time import SpanTimeline, WorkTimeline, add_work_times
from tests.policies.test_intervals import DURATIONS, INSTANTS, schedules
from tests.policies.test_intervals import QUIET as NIGHT_AND_HOLIDAYS
from tests.policies.test_sla import WORK

Row = tuple[str, ClockKind, AlertKind, datetime, datetime, datetime | None, str]

# ---- the planner before the single walk (policies/sla.py at 601ce45), returning rows -------------------------


def _old_plan(inquiry: Inquiry, policy: SlaPolicy, *, work: Schedule, quiet: Schedule) -> list[Row]:
    if inquiry.answered:
        return []
    rule = policy.rule_for(inquiry.marketplace, inquiry.stream)
    deadline = inquiry.deadline_at or inquiry.received_at + (rule.deadline or policy.default_deadline)
    own = add_work_time(work, inquiry.received_at, rule.own_target) if rule.own_target else None
    alerts = _old_marketplace(inquiry, deadline, policy, quiet)
    if own is not None and rule.own_target is not None:
        alerts += _old_own(inquiry, rule.own_target, own, policy, work)
    return sorted(alerts, key=lambda a: (a[3], a[0]))


def _old_marketplace(inquiry: Inquiry, deadline: datetime, policy: SlaPolicy, quiet: Schedule) -> list[Row]:
    start = inquiry.received_at
    total = deadline - start
    alerts: list[Row] = []
    mp = ClockKind.MARKETPLACE
    for point in policy.warn_points:
        at = (
            start + total * point.elapsed_share if point.elapsed_share is not None else deadline - (point.left or total)
        )
        if start <= at < deadline:
            alerts.append((f"marketplace:warn:{point.label}", mp, AlertKind.WARNING, at, deadline, None, ""))
    alerts.append(("marketplace:breach", mp, AlertKind.BREACH, deadline, deadline, None, ""))
    if policy.repeat_every:
        for n in range(1, policy.repeat_max + 1):
            at = deadline + policy.repeat_every * n
            if not quiet.contains(at):
                alerts.append((f"marketplace:repeat:{n}", mp, AlertKind.REPEAT, at, deadline, None, ""))
    if policy.evening_lead is not None:
        quiet_from = quiet_span_start(quiet, deadline)
        if quiet_from is not None and quiet_from > start:
            at = max(start, quiet_from - policy.evening_lead)
            key = f"marketplace:evening:{quiet_from.isoformat()}"
            alerts.append((key, mp, AlertKind.EVENING, at, deadline, quiet_from, ""))
    return alerts


def _old_own(inquiry: Inquiry, target: timedelta, own: datetime, policy: SlaPolicy, work: Schedule) -> list[Row]:
    alerts: list[Row] = []
    for point in policy.warn_points:
        if point.elapsed_share is not None:
            spent = target * point.elapsed_share
        elif point.left is not None and point.left < target:
            spent = target - point.left
        else:
            continue
        at = add_work_time(work, inquiry.received_at, spent)
        alerts.append((f"own:warn:{point.label}", ClockKind.OWN, AlertKind.WARNING, at, own, None, ""))
    alerts.append(("own:breach", ClockKind.OWN, AlertKind.BREACH, own, own, None, ""))
    return alerts


def _old_due(
    plan: Sequence[PlannedAlert], fired: frozenset[str], *, now: datetime, known_since: datetime | None
) -> tuple[list[str], list[str], datetime | None]:
    pending = [a for a in plan if a.key not in fired]
    due = [a for a in pending if a.at <= now]
    unseen = [a for a in due if known_since is not None and a.at <= known_since]
    latest: dict[ClockKind, PlannedAlert] = {}
    for alert in sorted((a for a in due if a not in unseen), key=lambda a: (_WEIGHT[a.kind], a.at)):
        latest[alert.clock] = alert
    fire = sorted(latest.values(), key=lambda a: (a.at, a.key))
    future = [a.at for a in pending if a.at > now]
    return [a.key for a in fire], [a.key for a in due if a not in fire], min(future) if future else None


# ---- random inputs ----------------------------------------------------------------------------------


def _utc(row: Row) -> Row:
    """The same row with every instant in UTC (the new planner keeps the inquiry's zone for own-target points)."""
    key, clock, kind, at, deadline, quiet_from, note = row
    return key, clock, kind, at.astimezone(UTC), deadline.astimezone(UTC), quiet_from, note


WARN_POINTS = st.lists(
    st.one_of(
        st.floats(0.0, 1.5).map(lambda share: WarnPoint(f"{share:.3f}", share, None)),
        st.timedeltas(timedelta(0), timedelta(hours=30)).map(lambda left: WarnPoint(f"{left}", None, left)),
    ),
    max_size=4,
    unique_by=lambda point: point.label,
)
OPTIONAL_HOURS = st.one_of(st.none(), st.timedeltas(timedelta(0), timedelta(hours=72)))


@st.composite
def policies(draw: st.DrawFn) -> SlaPolicy:
    """An SLA policy with random warn points, repeats, evening lead, and a rule with an own target (or none)."""
    rule = SlaRule(deadline=draw(OPTIONAL_HOURS), own_target=draw(OPTIONAL_HOURS))
    return SlaPolicy(
        default_deadline=draw(st.timedeltas(timedelta(minutes=1), timedelta(hours=72))),
        rules={(Marketplace.COUPANG, StreamKind.PRODUCT_QNA): rule},
        warn_points=tuple(draw(WARN_POINTS)),
        repeat_every=draw(st.one_of(st.none(), st.timedeltas(timedelta(minutes=1), timedelta(hours=6)))),
        repeat_max=draw(st.integers(0, 4)),
        evening_lead=draw(st.one_of(st.none(), st.timedeltas(timedelta(0), timedelta(hours=3)))),
    )


@st.composite
def inquiries(draw: st.DrawFn) -> Inquiry:
    """An open inquiry received at a random instant (UTC, as the store gives it, or KST), maybe with its own
    marketplace deadline, on a stream with or without the policy's rule."""
    received = draw(INSTANTS).astimezone(draw(st.sampled_from([UTC, KST])))
    item_deadline = draw(st.one_of(st.none(), st.timedeltas(timedelta(minutes=-30), timedelta(hours=48))))
    return Inquiry(
        account_id="shop",
        marketplace=Marketplace.COUPANG,
        stream=draw(st.sampled_from([StreamKind.PRODUCT_QNA, StreamKind.CALL_CENTER])),
        external_id="1",
        received_at=received,
        body="?",
        deadline_at=None if item_deadline is None else received + item_deadline,
    )


def _plans(inquiry: Inquiry, policy: SlaPolicy, work: Schedule, quiet: Schedule) -> tuple[object, object]:
    """(old rows, new rows), or the error each raised."""
    try:
        old: object = [_utc(row) for row in _old_plan(inquiry, policy, work=work, quiet=quiet)]
    except ValueError as err:
        old = ValueError(str(err))
    try:
        planned = AlertPlanner(policy, work=work, quiet=quiet).plan(inquiry)
        new: object = [_utc((a.key, a.clock, a.kind, a.at, a.deadline, a.quiet_from, a.note)) for a in planned]
    except ValueError as err:
        new = ValueError(str(err))
    return old, new


PROPERTY = settings(max_examples=300, deadline=None)


@PROPERTY
@given(inquiry=inquiries(), policy=policies(), work=schedules(), quiet=schedules())
def test_the_planner_plans_what_the_old_one_did(
    inquiry: Inquiry, policy: SlaPolicy, work: Schedule, quiet: Schedule
) -> None:
    old, new = _plans(inquiry, policy, work, quiet)
    if isinstance(old, ValueError):  # a work schedule with no time for the target: the same refusal
        assert isinstance(new, ValueError)
        assert str(new) == str(old)
    else:
        assert new == old


@PROPERTY
@given(
    inquiry=inquiries(),
    policy=policies(),
    work=schedules(),
    quiet=schedules(),
    now_after=st.timedeltas(timedelta(hours=-1), timedelta(days=4)),
    known_after=st.one_of(st.none(), st.timedeltas(timedelta(0), timedelta(days=3))),
    fired_share=st.floats(0, 1),
    snooze=st.one_of(st.none(), st.timedeltas(timedelta(0), timedelta(days=2))),
    promise=st.one_of(st.none(), st.timedeltas(timedelta(hours=-2), timedelta(days=2))),
)
def test_the_timer_fires_what_it_did(
    inquiry: Inquiry,
    policy: SlaPolicy,
    work: Schedule,
    quiet: Schedule,
    now_after: timedelta,
    known_after: timedelta | None,
    fired_share: float,
    snooze: timedelta | None,
    promise: timedelta | None,
) -> None:
    """Through the seller's controls and `due_alerts`' fast path: the same alerts fire, are superseded, and the
    same next wake-up, at any moment, with any of them fired before."""
    start = inquiry.received_at
    try:
        planned = AlertPlanner(policy, work=work, quiet=quiet).plan(inquiry)
    except ValueError:
        return  # the refusal itself is compared above
    controls = InquiryControls(
        snoozed_until=None if snooze is None else start + snooze,
        promise_at=None if promise is None else start + promise,
    )
    now = start + now_after
    plan = apply_controls(planned, controls, ControlPolicy(), snooze_all_until=None, now=now, answered=False)
    fired = frozenset(a.key for a in plan[: round(len(plan) * fired_share)])
    known_since = None if known_after is None else start + known_after
    due = due_alerts(plan, fired, now=now, known_since=known_since)
    assert ([a.key for a in due.fire], [a.key for a in due.superseded], due.next_at) == _old_due(
        plan, fired, now=now, known_since=known_since
    )


@PROPERTY
@given(plan=schedules(), start=INSTANTS, durations=st.lists(DURATIONS, max_size=5).map(sorted))
def test_one_walk_gives_each_add_work_time(plan: Schedule, start: datetime, durations: list[timedelta]) -> None:
    try:
        expected: object = [add_work_time(plan, start, duration) for duration in durations]
    except ValueError as err:
        expected = str(err)
    try:
        found: object = add_work_times(plan, start, durations)
    except ValueError as err:
        found = str(err)
    assert found == expected


@PROPERTY
@given(
    plan=schedules(),
    starts=st.lists(INSTANTS, min_size=1, max_size=6),
    durations=st.lists(st.timedeltas(timedelta(0), timedelta(days=60)), max_size=4).map(sorted),
)
def test_the_timeline_finds_what_the_walk_does(
    plan: Schedule, starts: list[datetime], durations: list[timedelta]
) -> None:
    """One timeline asked for many starts, earlier and later than the stretch it has laid out (it re-lays it)."""
    timeline = WorkTimeline(plan)
    for start in starts:
        try:
            expected: object = add_work_times(plan, start, durations)
        except ValueError as err:
            expected = str(err)
        try:
            found: object = timeline.add(start, durations)
        except ValueError as err:
            found = str(err)
        assert found == expected


@PROPERTY
@given(plan=schedules(), instants=st.lists(INSTANTS, min_size=1, max_size=8))
def test_the_span_timeline_finds_the_start_the_walk_back_does(plan: Schedule, instants: list[datetime]) -> None:
    """One timeline asked for many instants, before and after the stretch it has laid out (evening warnings)."""
    timeline = SpanTimeline(plan)
    for at in instants:
        expected = plan.span_start(at)
        found = timeline.span_start_us(to_us(at))
        assert found == (None if expected is None else to_us(expected))
        if found is not None and expected is not None:
            assert timeline.instant(found).isoformat() == expected.isoformat()  # the evening key's text


def test_a_quiet_night_runs_on_across_midnight_and_over_a_holiday() -> None:
    """22:00-09:00 and closed days: 03:00 belongs to the night that began at 22:00 the evening before; midday in
    추석 2026 (24-26 September) to the night before it began; midday on a plain day to no quiet period."""
    timeline = SpanTimeline(NIGHT_AND_HOLIDAYS)
    assert timeline.span_start_us(to_us(datetime(2026, 12, 8, 3, 0, tzinfo=KST))) == to_us(
        datetime(2026, 12, 7, 22, 0, tzinfo=KST)
    )
    assert timeline.span_start_us(to_us(datetime(2026, 9, 26, 12, 0, tzinfo=KST))) == to_us(
        datetime(2026, 9, 23, 22, 0, tzinfo=KST)
    )
    assert timeline.span_start_us(to_us(datetime(2026, 12, 8, 12, 0, tzinfo=KST))) is None


def test_a_target_that_uses_up_a_span_ends_at_the_span_end() -> None:
    """As add_work_time: 5 h from Mon 13:00 on 13:00-18:00 is Mon 18:00, not Tue 13:00 (also from a start at a
    span's end, which counts from the next span)."""
    monday = datetime(2026, 11, 23, 13, 0, tzinfo=KST)
    hours = [timedelta(0), timedelta(hours=5), timedelta(hours=10)]
    expected = [monday, monday + timedelta(hours=5), monday + timedelta(days=1, hours=5)]
    assert add_work_times(WORK, monday, hours) == expected
    assert WorkTimeline(WORK).add(monday, hours) == expected
    at_end = monday + timedelta(hours=5)
    tuesday = [monday + timedelta(days=1), at_end + timedelta(days=1)]
    assert [add_work_time(WORK, at_end, h) for h in hours[:2]] == WorkTimeline(WORK).add(at_end, hours[:2]) == tuesday


def test_one_walk_wants_sorted_durations_that_are_not_negative() -> None:
    with pytest.raises(ValueError, match="sorted ascending"):
        add_work_times(WORK, datetime(2026, 12, 7, tzinfo=KST), [timedelta(hours=2), timedelta(hours=1)])
    with pytest.raises(ValueError, match="must not be negative"):
        add_work_times(WORK, datetime(2026, 12, 7, tzinfo=KST), [timedelta(hours=-1)])


def _first_or_refusal(planner: AlertPlanner, inquiry: Inquiry, *, whole_plan: bool) -> object:
    """The plan's first (at, key), from the whole plan or the fast path; the ValueError if it refuses."""
    args = (inquiry.marketplace, inquiry.stream, inquiry.received_at, inquiry.deadline_at)
    try:
        if whole_plan:
            first = planner.plan_clocks(*args)[0]
            return first.at, first.key
        return planner.first_alert(*args)
    except ValueError as refusal:
        return str(refusal)


@PROPERTY
@given(inquiry=inquiries(), policy=policies(), work=schedules(), quiet=schedules())
def test_the_fast_path_finds_the_first_alert_of_the_plan(
    inquiry: Inquiry, policy: SlaPolicy, work: Schedule, quiet: Schedule
) -> None:
    planner = AlertPlanner(policy, work=work, quiet=quiet)
    fast = _first_or_refusal(planner, inquiry, whole_plan=False)
    assert fast == _first_or_refusal(planner, inquiry, whole_plan=True)


@PROPERTY
@given(
    inquiry=inquiries(),
    policy=policies(),
    work=schedules(),
    quiet=schedules(),
    picks=st.lists(st.booleans(), max_size=16),
)
def test_the_fast_path_finds_the_first_alert_not_fired_yet(
    inquiry: Inquiry, policy: SlaPolicy, work: Schedule, quiet: Schedule, picks: list[bool]
) -> None:
    planner = AlertPlanner(policy, work=work, quiet=quiet)
    args = (inquiry.marketplace, inquiry.stream, inquiry.received_at, inquiry.deadline_at)
    try:
        plan = planner.plan_clocks(*args)
    except ValueError:
        return  # a refusal: the test above sees the fast path refuse alike
    fired = frozenset(alert.key for alert, pick in zip(plan, picks, strict=False) if pick)
    fast = planner.first_alert(*args, fired)
    if fast is not None:  # asked whether anything is due by the first alert, or just before it
        assert planner.first_alert(*args, fired, fast[0]) is None
        assert planner.first_alert(*args, fired, fast[0] - timedelta(microseconds=1)) == fast
    if fast is None:  # only the plan can tell: a repeat may come next
        repeats_first = policy.repeat_every is not None and policy.repeat_every <= timedelta(0)
        assert "marketplace:breach" in fired or repeats_first
    else:
        assert fast == next((alert.at, alert.key) for alert in plan if alert.key not in fired)
