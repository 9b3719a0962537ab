"""The answer-time report read from the store under the running settings (the CLI, the web page and the weekly
message all start here)."""

from __future__ import annotations

from datetime import date, datetime

from aggregator.settings import Settings
from aggregator.store import Store
from core.models import Marketplace
from policies.answer_report import AnswerReport
from policies.answer_report_figures import answer_report, report_since


async def read_report(store: Store, settings: Settings, *, now: datetime, weeks: int) -> AnswerReport:
    """The report at `now` from the store, under the settings' policies and `[report]` thresholds."""
    policies = settings.policies(await store.vacation_ranges())
    inputs = await store.report_inputs(report_since(now=now, weeks=weeks, zone_of=policies.work))
    first_polled: dict[Marketplace, datetime | None] = {}
    for account in settings.accounts:
        marketplace = account.marketplace_kind
        polled = inputs.first_polled.get(account.id)
        known = [at for at in (first_polled.get(marketplace), polled) if at is not None]
        first_polled[marketplace] = min(known) if known else None
    return answer_report(
        inputs.facts,
        now=now,
        weeks=weeks,
        work=policies.work,
        sla=policies.sla,
        calendar=policies.calendar,
        first_polled=first_polled,
        thresholds=settings.report.thresholds(),
    )


# The weekly message's report: twelve weeks, like `inqd report`, so the chart matches what the seller sees there.
WEEKLY_WEEKS = 12


async def weekly_summary(store: Store, settings: Settings, now: datetime, week: date) -> list[str]:
    """The weekly phone message's three lines about `week` (its Monday) per marketplace, and a warning forecast."""
    from aggregator.report.text import summary_lines

    return summary_lines(await read_report(store, settings, now=now, weeks=WEEKLY_WEEKS), week=week)


async def weekly_chart(store: Store, settings: Settings, now: datetime) -> bytes:
    """The weekly phone message's picture, drawn in a short-lived process (matplotlib never in the daemon)."""
    from aggregator.report.chart import drawn_apart, report_png

    return await drawn_apart(report_png, await read_report(store, settings, now=now, weeks=WEEKLY_WEEKS))
