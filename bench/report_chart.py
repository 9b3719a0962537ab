"""Report chart benchmark: what drawing the weekly picture costs, in time and in the process's memory.

Run `python -m bench.report_chart [--repeat 5]`. Figures (issue 17; no target was set, these are for the reader):
- the PNG for the phone, 4 marketplaces x 12 weeks (`report_png`): the first draw in a process and then the
  median and max of `--repeat` more, with its size against the 300 KB budget; one marketplace's SVG likewise;
- the RSS a process pays for matplotlib: VmRSS after our report modules, after a PNG drawn apart (`drawn_apart`,
  how the daemon draws: a spawned child), after importing matplotlib's figure and Agg canvas, and after the first
  PNG drawn in place (fonts loaded, caches filled);
- the same with matplotlib's font cache cold (a fresh MPLCONFIGDIR: what a first start, or a service whose home
  is not writable — systemd ProtectHome= — pays every time).

How: each scenario runs in a fresh interpreter (`python -m bench.report_chart --child`), which measures itself
(time.perf_counter, /proc/self/status) and prints JSON; this process prints the table. Nothing touches the network.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._proc import status_kib
from core.models import KST, Marketplace
from policies.answer_report import AnswerReport, Figures, Forecast, MarketplaceReport, WeekFigures

ROOT = Path(__file__).parents[1]


def sample_report() -> AnswerReport:
    """4 marketplaces x 12 weeks: the first not covered, one empty, 추석 in one, a threshold on the first."""

    def week(n: int, seed: int) -> WeekFigures:
        start = date(2026, 7, 20) + timedelta(weeks=n)
        if n == 0:
            return WeekFigures(start, Figures(), covered=False)
        buckets = (0, 0, 0, 0, 0) if n == 3 else ((n * seed) % 9 + 4, n % 4 + 1, 2, (n + seed) % 3, n % 2)
        answered = sum(buckets[:4])
        figures = Figures(received=sum(buckets), answered=answered, answered_within_24h=sum(buckets[:3]),
                          pending=buckets[4], buckets=buckets)  # fmt: skip
        return WeekFigures(start, figures, closed_days=("추석",) if start == date(2026, 9, 21) else ())

    forecast = Forecast(0.90, 0.93, 0.88, 3, "2016년 뉴스 (95%는 미확인)")
    reports = tuple(
        MarketplaceReport(
            mp, tuple(week(n, k + 2) for n in range(12)), Figures(), forecast=forecast if k == 0 else None
        )
        for k, mp in enumerate(Marketplace)
    )
    return AnswerReport(datetime(2026, 10, 12, 9, tzinfo=KST), 12, reports)


def child(repeat: int) -> dict[str, Any]:
    """Measured in this fresh interpreter: imports, first and later draws (CPU seconds), RSS after each step."""
    rss: dict[str, int] = {"start": status_kib(os.getpid())["VmRSS"]}
    from aggregator.report import chart as report_chart

    report = sample_report()
    rss["report modules"] = status_kib(os.getpid())["VmRSS"]
    began = time.perf_counter()  # wall clock: the work is the child's
    asyncio.run(report_chart.drawn_apart(report_chart.report_png, report))
    apart_s = time.perf_counter() - began
    rss["after a PNG drawn apart"] = status_kib(os.getpid())["VmRSS"]
    began = time.process_time()  # CPU from here on: the machine may be shared, CPU time is what drawing costs
    import matplotlib.backends.backend_agg
    import matplotlib.figure  # noqa: F401  (what the first chart imports)

    import_s = time.process_time() - began
    rss["matplotlib imported"] = status_kib(os.getpid())["VmRSS"]
    first_png_s = _cpu(lambda: report_chart.report_png(report))
    rss["after the first PNG"] = status_kib(os.getpid())["VmRSS"]
    png_s = [_cpu(lambda: report_chart.report_png(report)) for _ in range(repeat)]
    svg_s = [_cpu(lambda: report_chart.marketplace_svg(report.marketplaces[0])) for _ in range(repeat)]
    rss["after the draws"] = status_kib(os.getpid())["VmRSS"]
    png, svg = report_chart.report_png(report), report_chart.marketplace_svg(report.marketplaces[0])
    times = {"apart_s": apart_s, "import_s": import_s, "first_png_s": first_png_s, "png_s": png_s, "svg_s": svg_s}
    return times | {"rss_kib": rss, "png_bytes": len(png), "svg_bytes": len(svg), "font": report_chart.korean_font()}


def _cpu(work: Callable[[], bytes]) -> float:
    began = time.process_time()
    work()
    return time.process_time() - began


def run_child(repeat: int, config_dir: str | None) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items() if key != "MPLCONFIGDIR"}
    if config_dir:
        env["MPLCONFIGDIR"] = config_dir
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "bench.report_chart", "--child", "--repeat", str(repeat)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=True)  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def report(warm: dict[str, Any], cold: dict[str, Any]) -> str:
    rss = warm["rss_kib"]
    lines = [
        f"font: {warm['font']}",
        f"CPU time. PNG 4 marketplaces x 12 weeks: first {_ms(warm['first_png_s'])}, then median "
        f"{_ms(statistics.median(warm['png_s']))}, max {_ms(max(warm['png_s']))}; "
        f"{warm['png_bytes'] / 1000:.0f} KB (budget 300 KB)",
        f"SVG one marketplace: median {_ms(statistics.median(warm['svg_s']))}, max {_ms(max(warm['svg_s']))}; "
        f"{warm['svg_bytes'] / 1000:.0f} KB",
        f"PNG drawn apart (drawn_apart: a spawned interpreter), wall clock: {_ms(warm['apart_s'])}",
        f"import matplotlib (figure + Agg): {_ms(warm['import_s'])} with its font cache, "
        f"{_ms(cold['import_s'])} cold (fresh MPLCONFIGDIR: the font list is built)",
        "VmRSS (MiB): " + ", ".join(f"{step} {kib / 1024:.1f}" for step, kib in rss.items()),
        f"matplotlib's cost: +{(rss['matplotlib imported'] - rss['report modules']) / 1024:.1f} MiB imported, "
        f"+{(rss['after the draws'] - rss['report modules']) / 1024:.1f} MiB after drawing",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.repeat)))
        return
    warm = run_child(args.repeat, None)
    with tempfile.TemporaryDirectory() as fresh:
        cold = run_child(1, fresh)
    print(report(warm, cold))


if __name__ == "__main__":
    main()
