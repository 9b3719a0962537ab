"""`inqd report`: the answer-time report (per marketplace and stream, per week and the last 30 days, a forecast where
a threshold is known) as text, as data (--json), or as a picture (--png)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from aggregator.cli.stops import Stops
from aggregator.cli.words import Words
from aggregator.report.reading import read_report
from aggregator.report.text import report_lines
from aggregator.settings import Settings
from aggregator.store import Store
from core.clock import SystemClock
from policies.answer_report import AnswerReport, Figures, Forecast, WeekFigures

EXIT_NO_DATABASE = 1
EXIT_USAGE = 2
MAX_WEEKS = 104


def add_report_parser(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Register `inqd report` on the subcommand parsers."""
    parser = sub.add_parser(
        "report", help="answer times per marketplace: weeks, the last 30 days, the 24 h share", parents=parents
    )
    parser.add_argument("--config", "-c", type=Path, required=True, help="path to the TOML config file")
    parser.add_argument("--weeks", type=int, default=12, metavar="N", help="how many weeks (default 12)")
    parser.add_argument("--json", action="store_true", help="the figures as data")
    parser.add_argument("--png", type=Path, default=None, metavar="FILE", help="write the weekly chart as a PNG")


def _figures_json(figures: Figures) -> dict[str, Any]:
    return dataclasses.asdict(figures) | {"decided": figures.decided, "share_24h": figures.share_24h}


def _weeks_json(weeks: Sequence[WeekFigures]) -> list[dict[str, Any]]:
    return [
        {
            "week_start": week.week_start.isoformat(),
            "covered": week.covered,
            "closed_days": list(week.closed_days),
            "figures": _figures_json(week.figures),
        }
        for week in weeks
    ]


def _forecast_json(forecast: Forecast | None) -> dict[str, Any] | None:
    if forecast is None:
        return None
    return dataclasses.asdict(forecast) | {"falls_below": forecast.falls_below}


def report_json(report: AnswerReport) -> dict[str, Any]:
    """The report as JSON-ready data: every figure, with the 24-hour share and its denominator spelled out."""
    return {
        "generated_at": report.generated_at.isoformat(),
        "weeks": report.weeks,
        "marketplaces": [
            {
                "marketplace": entry.marketplace.value,
                "last_30_days": _figures_json(entry.last_30_days),
                "weeks": _weeks_json(entry.weeks),
                "streams": {stream.value: _figures_json(f) for stream, f in entry.streams.items()},
                "stream_weeks": {stream.value: _weeks_json(w) for stream, w in entry.stream_weeks.items()},
                "forecast": _forecast_json(entry.forecast),
            }
            for entry in report.marketplaces
        ],
    }


async def _report(settings: Settings, *, now: datetime, weeks: int) -> AnswerReport:
    store = await Store.open(settings.database_location())
    try:
        return await read_report(store, settings, now=now, weeks=weeks)
    finally:
        await store.aclose()


def run_report(args: argparse.Namespace, settings: Settings, words: Words, stops: Stops) -> int:
    """Run `inqd report` with loaded settings: the text (or --json) on stdout, --png written to its file."""
    if not 1 <= args.weeks <= MAX_WEEKS:
        print(words("report_weeks_range", most=MAX_WEEKS), file=sys.stderr)
        return EXIT_USAGE
    if not settings.database_exists():
        print(words("no_database", path=settings.database_label), file=sys.stderr)
        return EXIT_NO_DATABASE
    report = stops.run(_report(settings, now=SystemClock().now(), weeks=args.weeks))
    if args.png is not None:
        from aggregator.report.chart import report_png  # matplotlib only when a picture is asked for

        try:
            args.png.write_bytes(report_png(report))
        except OSError as exc:
            print(words("report_png_unwritable", path=args.png, reason=exc.strerror or exc), file=sys.stderr)
            return EXIT_USAGE
    if args.json:
        print(json.dumps(report_json(report), ensure_ascii=False, indent=2))
    else:
        print("\n".join(report_lines(report, words)))
    return 0
