"""Idle benchmark: the daemon's memory, CPU and wake-ups when there is nothing to do.

Run `python -m bench.idle [--seconds 60] [--warmup 60]`. Targets ("Prove it", item 4): RSS within 60 MB, and
no busy wake-ups (judged here: with no accounts, awake in at most 20 one-second slots a minute; its periodic
tasks explain about 8).

How: the real daemon as a subprocess (`python -m aggregator run --config FILE --log-format json`), the shipped
defaults except a file sink (console off) and the admin port (0: any free one), in three scenarios, one after
the other:
- one account: a Coupang account with both streams at the default 60 s interval, polling a `CoupangSandbox`
  served by this process on 127.0.0.1 that holds three answered inquiries and gets nothing new;
- one account over HTTPS: the same account through a loopback TLS front (bench/_tls.py), as every real marketplace
  is HTTPS: the daemon trusts certifi's bundle plus the front's throwaway certificate (SSL_CERT_FILE) and verifies
  it, so it holds as many CA certificates as in production, and its connections carry TLS state;
- no accounts: the same config without the account (the dispatcher, the SLA timer, the controls check and
  the admin server still run);
- no accounts, admin API used once: the same, but right after the start this process asks /healthz and /metrics
  once, as a health probe or a scraper would: the admin server listens from the start but imports aiohttp and
  builds its application only on its first connection (aggregator/admin.py), so this is its cost;
- no accounts, web inbox opened: the same, but right after the start this process opens the inbox's pages once
  (`/`, `/status`, `/hours` and their static files), as a seller would, so the pages are imported and their
  templates compiled: the inbox's real cost, not only its imports;
- no accounts, web inbox off: the same with `[admin] web = false` (only /healthz and /metrics are served).
The web inbox is on in all but the last (the shipped default); in the first two nobody asks the admin server
anything, so neither aiohttp nor the inbox is imported (the pages mount on their first request). The idle target
is judged on those two; the others are printed beside them.
Each run reads VmRSS right after the start (admin_listening), waits `--warmup` seconds after the start (the
first poll, a backfill, is in there), reads VmRSS and VmHWM from /proc/<pid>/status ("RSS after start-up"),
then measures `--seconds`: CPU from /proc/<pid>/stat
(utime + stime), and voluntary and involuntary context switches of every thread from
/proc/<pid>/task/<tid>/status, read once a second. A voluntary switch is a thread blocking, so it follows a
wake-up: the one-second slots in which any thread switched are the daemon's distinct wake-up moments ("awake
s"). The switch counts themselves are larger: one timer tick wakes the event loop, each aiosqlite call wakes
its worker thread and usually the loop again, and GIL hand-offs between the two count too. Involuntary switches
are preemptions (the machine's load) and are shown apart.

The daemon's own periodic work when idle: the controls check every 10 s (one query), the dispatcher's idle
check every 30 s, the SLA timer's idle check every 300 s, the answer sender's idle check every 2 s (one read),
and, with the account, each stream's poll every 60 s (3 requests paced at 2 req/s, then one store transaction
and the connection-health check).

Last, a fresh interpreter imports what `inqd run` imports, step by step, builds a daemon with no accounts and
makes 20 httpx clients (one per account in the daemon), printing VmRSS after each step: where the memory goes.
Then what `inqd run` leaves out until used, or altogether: the connectors of marketplaces without an account,
aiohttp (on the admin server's first connection), the web inbox (on its first page), the `holidays` package (the
daemon is handed its dates by a short-lived process: aggregator/holiday_tables.py).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import httpx

from bench._proc import (
    DaemonProcess,
    ProcSample,
    Window,
    count_levels,
    daemon_env,
    machine_line,
    mib,
    starts_poll,
    thread_samples,
    toml_str,
    verdict,
    window,
)
from bench._tls import TlsFront
from connectors.sandbox import CoupangSandbox, RecordedRequest, SandboxServer

ACCOUNT = "idle-shop"
ONE_ACCOUNT = "one account, nothing new"
# The same behind bench/_tls.py's HTTPS front, as every real marketplace is (certifi's bundle + the front's cert).
ONE_ACCOUNT_HTTPS = "one account over HTTPS"
ADMIN_USED = "no accounts, admin API used"
WEB_OPENED = "no accounts, web opened"
WEB_OFF = "no accounts, web off"
WEB_PAGES = ("/", "/status", "/hours")
VENDOR, ACCESS, SECRET = "A00077002", "idle-access-key", "idle-secret-key"
START_TIMEOUT_S = 60.0
RSS_TARGET_MIB = 60.0
AWAKE_TARGET_PER_MIN = 20.0  # "no busy wake-ups": the brief's rule of thumb, in wake-up moments a minute
WAKE_SLOT_S = 1.0
# The daemon's periodic timers (aggregator.daemon.CONTROLS_CHECK_S, the Dispatcher's and AlertTimer's idle_check_s):
# name -> (ticks per minute, aiosqlite calls per tick, counted on an empty store: controls_version 3; claim_due 5 +
# next_due_at 3; the timer's candidate query + next_alert_at, about 8). Each call is one more event-loop wake-up.
PERIODIC_PER_MIN = {
    "controls check (10 s)": (6.0, 3),
    "dispatcher idle check (30 s)": (2.0, 8),
    "SLA timer idle check (300 s)": (0.2, 8),
    # aggregator.answering.sender: looks for approved answers whose poke was lost (next_answer_due, a read).
    "answer sender idle check (2 s)": (30.0, 1),
}


@dataclass(frozen=True, slots=True)
class Run:
    """One scenario's figures."""

    name: str
    rss_start_kib: int  # VmRSS right after the start (the admin server listening)
    rss_kib: int  # VmRSS after the warm-up
    hwm_kib: int  # VmHWM after the warm-up
    rss_end_kib: int
    hwm_end_kib: int
    threads: int
    window: Window
    awake_s: int  # one-second slots of the window in which some thread woke up
    polls: int  # stream polls the sandbox saw in the window (`stream_polls`)
    requests: int  # sandbox requests in the window
    requests_run: int  # sandbox requests from the start to the stop (the first polls come during the warm-up)
    warnings: dict[str, int]
    exit_code: int | None


def write_config(directory: Path, url: str | None, *, web: bool = True) -> Path:
    """The daemon's TOML: shipped defaults, a file sink, admin on any port (the web inbox on unless `web` is
    False); one account when `url` is given."""
    account = (
        f"""
[[accounts]]
marketplace = "coupang"
id = "{ACCOUNT}"
vendor_id = "{VENDOR}"
base_url = {toml_str(url)}
"""
        if url
        else ""
    )
    path = directory / "inqd.toml"
    path.write_text(
        f"""db_path = {toml_str(directory / "inqd.db")}

[admin]
port = 0
web = {"true" if web else "false"}
{account}
[[notifiers]]
type = "sink"
console = false
file = {toml_str(directory / "sink.jsonl")}
""",
        encoding="utf-8",
    )
    return path


def awake_seconds(pid: int, start: ProcSample, seconds: float) -> int:
    """Watch `pid` for `seconds` in one-second slots; how many slots had a voluntary switch in any thread.

    A thread that blocks has woken up since the slot before: a count of distinct wake-up moments, which does not
    grow with the number of store calls or GIL hand-offs one timer tick causes.
    """
    voluntary = sum(t.voluntary for t in start.threads.values())
    awake = 0
    slot_end = time.monotonic()
    deadline = slot_end + seconds
    while slot_end < deadline:
        slot_end = min(deadline, slot_end + WAKE_SLOT_S)
        time.sleep(max(0.0, slot_end - time.monotonic()))
        now = sum(t.voluntary for t in thread_samples(pid).values())
        awake += now > voluntary
        voluntary = now
    return awake


def open_web_pages(port: int) -> int:
    """Open the web inbox's pages and their static files once, as a browser would; returns the requests made."""
    made = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as browser:
        for path in WEB_PAGES:
            page = browser.get(path)
            page.raise_for_status()
            made += 1
            for asset in re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text):
                browser.get(asset).raise_for_status()
                made += 1
    return made


def use_admin_api(port: int) -> int:
    """Ask /healthz and /metrics once, as a health probe and a scraper would; returns the requests made."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0) as probe:
        for path in ("/healthz", "/metrics"):
            probe.get(path).raise_for_status()
    return 2


def measure(
    name: str,
    directory: Path,
    url: str | None,
    args: argparse.Namespace,
    *,
    web: bool = True,
    visit: Callable[[int], int] | None = None,
    env: dict[str, str] | None = None,
) -> tuple[Run, float, float]:
    """Run one scenario; returns its figures and the wall-clock bounds (time.time()) of the measured window."""
    secrets = {"INQD_IDLE_SHOP__ACCESS_KEY": ACCESS, "INQD_IDLE_SHOP__SECRET_KEY": SECRET}
    daemon = DaemonProcess(write_config(directory, url, web=web), directory, env=daemon_env({**secrets, **(env or {})}))
    try:
        daemon.start()
        listening = daemon.wait_for_event("admin_listening", timeout_s=START_TIMEOUT_S)
        daemon.wait_for_event("daemon_started", timeout_s=START_TIMEOUT_S)
        started = ProcSample.read(daemon.pid)
        if visit is not None:  # right after the start: what the first requests import stays for the window
            visit(int(listening["port"]))
        time.sleep(max(0.0, daemon.started_at + args.warmup - time.monotonic()))
        if not daemon.alive():
            raise RuntimeError(f"the daemon exited:\n{daemon.log_tail()}")
        first = ProcSample.read(daemon.pid)
        wall_start = time.time()
        active = awake_seconds(daemon.pid, first, args.seconds)
        last = ProcSample.read(daemon.pid)
        wall_end = time.time()
    finally:
        exit_code = daemon.stop()
        daemon.read_events()
    run = Run(
        name=name,
        rss_start_kib=started.rss_kib,
        rss_kib=first.rss_kib,
        hwm_kib=first.hwm_kib,
        rss_end_kib=last.rss_kib,
        hwm_end_kib=last.hwm_kib,
        threads=len(last.threads),
        window=window(daemon.pid, first, last),
        awake_s=active,
        polls=0,
        requests=0,
        requests_run=0,
        warnings=count_levels(daemon.events),
        exit_code=exit_code,
    )
    return run, wall_start, wall_end


# A fresh interpreter imports what `inqd run` imports, step by step, then builds a daemon with no accounts, then
# makes httpx clients as each account gets one (core.http.make_client); prints VmRSS (KiB) after each step.
FOOTPRINT_SCRIPT = """
import importlib, json, sys, time
def rss():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS"))
steps = [("python itself", rss())]
for name in sys.argv[2:]:
    importlib.import_module(name)
    steps.append(("import " + name, rss()))
import asyncio, pathlib
from core.clock import SystemClock
from aggregator.daemon import Daemon
from core.http import make_client
from aggregator.logs import configure_logging
from aggregator.settings import load_settings
from aggregator.holiday_tables import seed_daemon_holidays
from aggregator.memory import release_free_memory
from core.models import KST
configure_logging(level="WARNING")
settings = load_settings(pathlib.Path(sys.argv[1]))
steps.append(("load_settings (the idle config, no accounts)", rss()))
seed_daemon_holidays(settings.db_path.parent, SystemClock().now().astimezone(KST).date())
steps.append(("the holidays' dates from a short-lived process", rss()))
settings.policies()
steps.append(("settings.policies() (calendar, schedules)", rss()))
async def build():
    daemon = await Daemon.build(settings, clock=SystemClock())
    steps.append(("Daemon.build (store, dispatcher, timer start, ...)", rss()))
    release_free_memory()
    steps.append(("malloc_trim(0), as the daemon once started", rss()))
    started = time.perf_counter()
    clients = [make_client(base_url="http://127.0.0.1:9") for _ in range(20)]
    steps.append(("20 x make_client (one per account) %.1f ms each" % ((time.perf_counter() - started) * 50), rss()))
    for client in clients:
        await client.aclose()
    await daemon.aclose()
asyncio.run(build())
# What the run leaves out until used (the web inbox, a marketplace without accounts) or altogether (the holidays
# package, 300 country modules).
import aiohttp.web, aggregator.admin_app
steps.append(("not until the admin API's first request: aiohttp, admin_app", rss()))
import connectors.naver.connector, connectors.elevenst.connector, connectors.esm.connector
steps.append(("not without their accounts: Naver, 11st, ESM connectors", rss()))
import jinja2, aggregator.web
steps.append(("not in a quiet daemon: import jinja2, aggregator.web", rss()))
import holidays
steps.append(("not in the daemon: import holidays", rss()))
holidays.country_holidays("KR", years=2026, language="ko")
steps.append(("not in the daemon: its first Korean year (all countries load)", rss()))
print(json.dumps(steps))
"""
FOOTPRINT_MODULES = (
    "asyncio",
    "sqlite3",
    "httpx",
    "pydantic",
    "pydantic_settings",
    "structlog",
    "aiosqlite",
    "prometheus_client",
    "policies",
    "aggregator.settings",
    "aggregator.store",
    "connectors.coupang.connector",  # with the first Coupang account only (aggregator.wiring imports it then)
    "aggregator.daemon",
    "aggregator.cli.main",
)


def import_footprint(directory: Path) -> list[tuple[str, int]]:
    """VmRSS (KiB) of a fresh interpreter after each import step, the build of a daemon, and 20 httpx clients."""
    config = write_config(directory, None)
    out = directory / "footprint.json"
    with open(out, "wb") as fh, open(directory / "footprint.err", "wb") as err:
        subprocess.run(
            [sys.executable, "-c", FOOTPRINT_SCRIPT, str(config), *FOOTPRINT_MODULES],
            stdout=fh,
            stderr=err,
            env=daemon_env(),
            check=True,
            timeout=120,
        )
    last = out.read_text(encoding="utf-8").strip().splitlines()[-1]
    return [(str(name), int(kib)) for name, kib in json.loads(last)]


def _account_run(
    sandbox: CoupangSandbox,
    name: str,
    directory: Path,
    url: str,
    args: argparse.Namespace,
    env: dict[str, str] | None = None,
) -> Run:
    """One account on the sandbox at `url`, with the polls and requests the sandbox saw in the window."""
    before = len(sandbox.requests)
    one, start, end = measure(name, directory, url, args, env=env)
    requests_run = len(sandbox.requests) - before
    seen = [r for r in sandbox.requests if start <= r.at.timestamp() <= end]
    return replace(one, polls=stream_polls(seen), requests=len(seen), requests_run=requests_run)


def stream_polls(requests: Sequence[RecordedRequest]) -> int:
    """How many polls the Coupang sandbox saw: each stream's listing requests split where `starts_poll` says a poll
    begins (a quick poll is one unanswered-only page 1; a sweep starts at its every-status page 1)."""
    previous: dict[str, tuple[bool, str]] = {}  # per listing path: the last page-1 request's (every?, window)
    polls = 0
    for req in requests:
        params = parse_qs(req.query)
        if params.get("pageNum") != ["1"]:
            continue
        every = params.get("answeredType") == ["ALL"] or params.get("partnerCounselingStatus") == ["NONE"]
        window = params.get("inquiryStartAt", [""])[0]
        polls += starts_poll(previous.get(req.path), every, window)
        previous[req.path] = (every, window)
    return polls


def run_all(args: argparse.Namespace) -> tuple[list[Run], list[tuple[str, int]]]:
    """The six scenarios, each with its own temporary directory, then the import footprint."""
    sandbox = CoupangSandbox(vendor_id=VENDOR, access_key=ACCESS, secret_key=SECRET, now=lambda: datetime.now(UTC))
    now = datetime.now(UTC)
    for n in range(3):
        sandbox.add_product_inquiry(content=f"지난 문의 {n}", inquiry_at=now - timedelta(hours=n + 2), answered=True)
    runs = []
    with SandboxServer(sandbox.handler) as server:
        with tempfile.TemporaryDirectory(prefix="inqd-bench-idle-") as tmp:
            runs.append(_account_run(sandbox, ONE_ACCOUNT, Path(tmp), server.url, args))
        port = int(server.url.rsplit(":", 1)[1])
        with tempfile.TemporaryDirectory(prefix="inqd-bench-idle-") as tmp, TlsFront(port, Path(tmp)) as front:
            https = {"SSL_CERT_FILE": str(front.ca_bundle)}
            runs.append(_account_run(sandbox, ONE_ACCOUNT_HTTPS, Path(tmp), front.url, args, env=https))
    with tempfile.TemporaryDirectory(prefix="inqd-bench-idle-") as tmp:
        runs.append(measure("no accounts", Path(tmp), None, args)[0])
    with tempfile.TemporaryDirectory(prefix="inqd-bench-idle-") as tmp:
        runs.append(measure(ADMIN_USED, Path(tmp), None, args, visit=use_admin_api)[0])
    with tempfile.TemporaryDirectory(prefix="inqd-bench-idle-") as tmp:
        runs.append(measure(WEB_OPENED, Path(tmp), None, args, visit=open_web_pages)[0])
    with tempfile.TemporaryDirectory(prefix="inqd-bench-idle-") as tmp:
        runs.append(measure(WEB_OFF, Path(tmp), None, args, web=False)[0])
    with tempfile.TemporaryDirectory(prefix="inqd-bench-idle-") as tmp:
        footprint = import_footprint(Path(tmp))
    return runs, footprint


def _wakes(window: Window) -> tuple[float, float]:
    """(voluntary switches per minute of the event-loop thread, of all threads)."""
    main = sum(t.voluntary for t in window.threads if t.label.startswith("main"))
    return window.per_minute(main), window.per_minute(sum(t.voluntary for t in window.threads))


def report(runs: Sequence[Run], footprint: Sequence[tuple[str, int]], args: argparse.Namespace) -> str:
    """The printed table."""
    lines = [
        f"inqd idle benchmark: RSS {args.warmup:g} s after start, then {args.seconds:g} s measured per scenario",
        machine_line(),
        "",
        f"{'scenario':<27}{'start':>7}{'VmRSS':>7}{'VmHWM':>7}{'end':>7}{'thr.':>5}{'CPU s':>7}{'% core':>7}"
        f"{'awake s':>8}{'loop sw.':>9}{'all sw.':>8}{'preempt':>8}",
    ]
    for run in runs:
        w = run.window
        loop, total = _wakes(w)
        preempted = w.per_minute(sum(t.involuntary for t in w.threads))
        lines.append(
            f"{run.name:<27}{mib(run.rss_start_kib):7.1f}{mib(run.rss_kib):7.1f}{mib(run.hwm_kib):7.1f}{mib(run.rss_end_kib):7.1f}{run.threads:5d}"
            f"{w.cpu_s:7.2f}{w.cpu_share:7.2%}{w.per_minute(run.awake_s):8.1f}{loop:9.1f}{total:8.1f}{preempted:8.1f}"
        )
    lines += [
        "  (MiB: VmRSS right after the start, VmRSS and VmHWM after the warm-up, VmRSS at the end of the window.",
        "   The web inbox is on in all but the last; only in 'admin API used' is /healthz and /metrics asked and",
        "   only in 'web opened' are the inbox's pages requested (right after the start). Per minute:",
        "   awake s = one-second slots in which some thread woke up (distinct wake-up moments); loop sw. / all sw. =",
        "   voluntary context switches of the event-loop thread / of every thread (one per store call and GIL",
        "   hand-off too);",
        "   preempt = involuntary switches, the machine's load rather than the daemon's doing)",
        "",
    ]
    for run in runs:
        polls = (
            f"; the sandbox saw {run.polls} stream polls, {run.requests} requests ({run.requests_run} in the whole run)"
            if run.requests_run
            else ""
        )
        lines.append(f"{run.name}: per thread, per minute: voluntary / involuntary switches, CPU s{polls}")
        for t in run.window.threads:
            lines.append(
                f"  {t.label:<22}{run.window.per_minute(t.voluntary):8.1f} /{run.window.per_minute(t.involuntary):6.1f}"
                f"{t.cpu_s:8.3f}"
            )
        warnings = ", ".join(f"{k} x{v}" for k, v in sorted(run.warnings.items())) or "none"
        lines.append(f"  daemon warnings/errors: {warnings}; exit code {run.exit_code}")
    lines += ["", "memory of a fresh interpreter (VmRSS MiB, and what each step added):"]
    previous = 0
    for name, kib in footprint:
        lines.append(f"  {name:<58}{mib(kib):7.1f} {mib(kib - previous):+6.1f}")
        previous = kib
    ticks = sum(rate for rate, _ in PERIODIC_PER_MIN.values())
    calls = sum(rate * n for rate, n in PERIODIC_PER_MIN.values())
    web_on, used, opened, web_off = (
        next(r for r in runs if r.name == name) for name in ("no accounts", ADMIN_USED, WEB_OPENED, WEB_OFF)
    )
    bare = web_on.window
    bare_awake = bare.per_minute(web_on.awake_s)
    # The target is the quiet daemon's: the shipped defaults (web inbox on) with nobody opening a page.
    quiet = [r for r in runs if r.name not in (ADMIN_USED, WEB_OPENED, WEB_OFF)]
    worst = max(mib(max(r.rss_kib, r.rss_end_kib)) for r in quiet)
    lines += [
        f"web inbox (no accounts): VmRSS at the end {mib(web_on.rss_end_kib):.1f} MiB on and never opened, "
        f"{mib(opened.rss_end_kib):.1f} MiB opened once ({mib(opened.rss_end_kib - web_on.rss_end_kib):+.1f} MiB), "
        f"{mib(web_off.rss_end_kib):.1f} MiB off; the admin API (/healthz, /metrics) used once "
        f"{mib(used.rss_end_kib):.1f} MiB ({mib(used.rss_end_kib - web_on.rss_end_kib):+.1f} MiB)",
        "",
        "periodic work when idle: "
        + ", ".join(f"{name} {rate:g}/min" for name, (rate, _) in PERIODIC_PER_MIN.items())
        + f" = {ticks:g} ticks/min with about {calls:.0f} store calls; with the account also 2 stream polls/min",
        f"no accounts: awake in {bare_awake:.1f} one-second slots a minute (the ticks explain {ticks:g}); "
        f"{_wakes(bare)[1]:.1f} voluntary switches a minute",
        f"target RSS <= {RSS_TARGET_MIB:g} MB (web inbox on, not opened): {verdict(worst <= RSS_TARGET_MIB)} "
        f"(largest VmRSS {worst:.1f} MiB; with the inbox opened once {mib(opened.rss_end_kib):.1f} MiB)",
        f"target no busy wake-ups (no accounts: awake in at most {AWAKE_TARGET_PER_MIN:g} one-second slots a minute): "
        f"{verdict(bare_awake <= AWAKE_TARGET_PER_MIN)}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the scenarios, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.idle", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="measured window per scenario (default 60)")
    parser.add_argument("--warmup", type=float, default=60.0, help="seconds from start to the RSS reading (default 60)")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.warmup < 5:
        parser.error("need --seconds > 0 and --warmup >= 5")
    runs, footprint = run_all(args)
    print(report(runs, footprint, args))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
