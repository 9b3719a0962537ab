"""Scale benchmark: one daemon process polling 1,000 Coupang accounts x 2 streams every 60 s.

Run `python -m bench.scale [--accounts 1000] [--minutes 5] [--interval 60] [--spread 0] [--backlog 5]
[--arrivals-per-h 1] [--jitter 0] [--seed 8] [--py-spy] [--memprobe [--memprobe-every 5] [--memprobe-frames 10]]
[--keep] [--backend postgres --instances N]`. Targets (issue 19): CPU within 10 % of one core and RSS within
100 MiB, a VmRSS slope under 1 MiB an hour after warm-up in a run of 30 minutes or more (VmRSS is printed every 10
minutes of a long window); p99 poll slip is reported (no number was set for it).

How: a separate process (multiprocessing, spawn) holds one `CoupangSandbox` per account and serves them all on
127.0.0.1 through one aiohttp server (asyncio, HTTP/1.1 keep-alive), dispatching each request by the vendorId in
its path; so every account has its own vendor, keys, rate limit and request budget, and the sandbox's CPU is not
the daemon's. (`SandboxServer` is the stdlib's thread-per-connection HTTP/1.0 server: when ~2,000 polls arrive
at once it runs ~800 request threads and slows the daemon's polls down.) Each sandbox holds `--backlog`
inquiries of the last 3 days, and an `InquiryGenerator` adds about `--arrivals-per-h` new ones per account and
hour (and answers some), so polls find real work. The daemon is the real process (`python -m aggregator run
--config FILE --log-format json`) with a generated config: 1,000 [[accounts]], their keys in a secrets_dir
(`<id>.access_key`, `<id>.secret_key`), poll_jitter 0 (an exact schedule), quiet hours off, a file sink.

The daemon spreads its streams' first polls over the interval (20 a second, aggregator.poller.first_poll_delays),
and with one interval they keep that spacing. `--spread S` gives the accounts
intervals evenly spread over interval +- S/2 instead, so they drift apart while each schedule stays exact.

Warm-up: the build, every stream's first poll (a backfill), then every stream's second poll (the wave that
still carries the first one's backlog); then `--settle` seconds, then the window of `--minutes`. Measured over
the window, from /proc: the daemon's CPU (utime + stime of /proc/<pid>/stat) as a share of one core and per
poll started in it, VmRSS (sampled every 5 s; the largest is reported) and VmHWM (the peak since start).
Poll slip, from the sandbox's request log (nothing in the daemon is changed): a poll of a stream is its
every-status pass's page 1 and everything up to the next one; the daemon sleeps the interval after a poll
ends, so a poll's scheduled start is the previous poll's last request + the interval, and slip = its first
request - that. So measured, slip includes the previous poll's last response, its store transaction and health
check, the event loop's lateness, the next poll's cursor read, and any wait for the account's request budget
(2 req/s shared by its two streams; polls right after the other stream's request are counted apart). The
"polled" log lines (polls that found something) give the part up to the store's commit.

`--backend postgres --instances N` (issue 20) runs the same accounts over N daemons sharing one throwaway
PostgreSQL cluster instead, and prints each one's CPU, RSS and accounts, the server's CPU and the requests per
account per minute (bench/scale_instances.py).

`--memprobe` runs the daemon under bench._memprobe and probes it at the window's start and every `--memprobe-every`
minutes: VmRSS by kind, glibc's malloc figures, SQLite's allocator, pymalloc's arenas, the gc objects by type, and
(with `--memprobe-frames` > 0) tracemalloc's growth by line and traceback, traced from the window's start. Use
`--memprobe-frames 0` for a run whose RSS and CPU should stay comparable: tracemalloc's tables are in the RSS and it
about doubles the daemon's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import weakref
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs

import httpx
from aiohttp import web

from bench import _memprobe, floor
from bench._proc import (
    DaemonProcess,
    ProcSample,
    Window,
    count_levels,
    cpu_seconds,
    daemon_env,
    machine_line,
    mib,
    percentile,
    slope_per_hour,
    starts_poll,
    status_kib,
    toml_str,
    verdict,
    window,
)
from connectors.sandbox import CoupangSandbox, InquiryGenerator

CPU_TARGET = 0.10
RSS_TARGET_MIB = 100.0  # issue 19 (was 150 MB in issue 8)
RSS_SLOPE_TARGET_MIB_H = 1.0  # after warm-up, over a run of an hour
SLOPE_SETTLE_S = 600.0  # a long window's first 10 minutes are left out of its RSS slope
START_TIMEOUT_S = 600.0
WARMUP_TIMEOUT_S = 900.0
RSS_SAMPLE_S = 5.0
GRACE_S = 15.0
TICK_S = 2.0
BACKFILL_DAYS = 3
MAX_REQUESTS_PER_S = 2.0  # the shipped default for Coupang
FIRST_POLL_REQUESTS = 3  # every-status pass (1 window, 1 page) + unanswered pass (2 windows of 7 dates)
_ROOT = Path(__file__).resolve().parent.parent
_VENDOR_IN_PATH = re.compile(r"/vendors/([^/]+)/")
_OWN_CODE = re.compile(r"[(/](?:aggregator|connectors|policies)/(?!cli\.py|__main__\.py)")
# Computed by the server from the body it writes (as in connectors.sandbox.server).
_HOP_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "date", "server"})
# One request as the sandbox logged it: (account index, stream 0 product / 1 call center, every-status pass,
# page number, time.time(), HTTP status or None for a timeout)
# (account, stream, every-status?, page, at, status, window's first date)
Record = tuple[int, int, bool, int, float, int | None, str]


vendor_id = floor.vendor_id
keys = floor.keys


def account_id(index: int) -> str:
    """The inqd account id of account `index`."""
    return f"shop-{index:04d}"


def interval_of(index: int, args: argparse.Namespace) -> float:
    """Account `index`'s poll interval: `--interval`, or with `--spread` evenly spread over interval +- spread/2."""
    return floor.interval_of(index, args.accounts, args.interval, args.spread)


# ---- the sandbox process ----------------------------------------------------------------------------------


def sandbox_main(conn: Connection, accounts: int, backlog: int, arrivals_per_h: float, seed: int) -> None:
    """The child process: serve every account's sandbox, tick the generators, answer the parent's commands."""
    asyncio.run(_serve(conn, accounts, backlog, arrivals_per_h, seed))


async def _serve(conn: Connection, accounts: int, backlog: int, arrivals_per_h: float, seed: int) -> None:
    now = datetime.now(UTC)
    sandboxes: list[CoupangSandbox] = []
    generators: list[InquiryGenerator] = []
    for index in range(accounts):
        access, secret = keys(index)
        sandbox = CoupangSandbox(
            vendor_id=vendor_id(index), access_key=access, secret_key=secret, now=lambda: datetime.now(UTC)
        )
        generator = InquiryGenerator(sandbox, rng=random.Random(seed * 1_000_003 + index), arrivals_per_h=1.0)
        generator.seed(backlog, start=now - timedelta(days=BACKFILL_DAYS), end=now)
        generator.arrivals_per_h = arrivals_per_h
        generator.tick(now)  # the first tick only starts the clock
        sandboxes.append(sandbox)
        generators.append(generator)
    by_vendor = {sandbox.vendor_id: sandbox for sandbox in sandboxes}
    port = 0
    # Connections the poller opened: a transport not seen before is a new TCP connection (weakly held, so a
    # closed one is forgotten and its id never mistaken for a later one's); time.time() of its first request.
    seen: weakref.WeakSet[object] = weakref.WeakSet()
    opened: list[float] = []

    async def handle(request: web.Request) -> web.Response:
        if request.transport is not None and request.transport not in seen:
            seen.add(request.transport)
            opened.append(time.time())
        match = _VENDOR_IN_PATH.search(request.path)
        sandbox = by_vendor.get(match[1]) if match else None
        if sandbox is None:
            return web.json_response({"code": "ERROR", "message": "unknown vendor"}, status=404)
        # The target byte for byte, as SandboxServer passes it on: the signature covers path and query as sent.
        url = httpx.URL(scheme="http", host="127.0.0.1", port=port, raw_path=request.raw_path.encode("latin-1"))
        forwarded = httpx.Request(
            request.method, url, headers=list(request.headers.items()), content=await request.read()
        )
        response = sandbox.handler(forwarded)
        headers = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_HEADERS}
        return web.Response(status=response.status_code, body=response.content, headers=headers)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
    await site.start()
    port = int(runner.addresses[0][1])
    commands: asyncio.Queue[object] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    loop.add_reader(conn.fileno(), lambda: commands.put_nowait(conn.recv()))
    conn.send(f"http://127.0.0.1:{port}")
    try:
        next_tick = time.monotonic() + TICK_S
        while True:
            try:
                command = await asyncio.wait_for(commands.get(), timeout=max(0.0, next_tick - time.monotonic()))
            except TimeoutError:
                command = None
            if command == "stop":
                break
            if isinstance(command, tuple) and command[0] == "progress":
                conn.send(_progress(sandboxes, int(command[1]), float(command[2])))
            elif isinstance(command, tuple) and command[0] == "connections":
                conn.send(sum(1 for at in opened if command[1] <= at <= command[2]))
            elif isinstance(command, tuple) and command[0] == "dump":
                conn.send(_dump(sandboxes, float(command[1])))
            if time.monotonic() >= next_tick:
                next_tick += TICK_S
                if arrivals_per_h > 0:
                    tick_at = datetime.now(UTC)
                    for generator in generators:
                        generator.tick(tick_at)
    finally:
        loop.remove_reader(conn.fileno())
        await runner.cleanup()


def _progress(sandboxes: Sequence[CoupangSandbox], requests: int, since: float) -> tuple[int, int]:
    """(streams that have made at least `requests` requests since `since`, time.time(); requests so far)."""
    done = total = 0
    for sandbox in sandboxes:
        paths = [r.path for r in list(sandbox.requests) if r.at.timestamp() >= since]
        total += len(paths)
        product = sum(1 for p in paths if p.endswith("/onlineInquiries"))
        done += (product >= requests) + (len(paths) - product >= requests)
    return done, total


def _dump(sandboxes: Sequence[CoupangSandbox], since: float) -> list[Record]:
    records: list[Record] = []
    for index, sandbox in enumerate(sandboxes):
        for req in list(sandbox.requests):
            if req.at.timestamp() < since:
                continue
            params = parse_qs(req.query)
            stream = 0 if req.path.endswith("/onlineInquiries") else 1
            every = params.get("answeredType", params.get("partnerCounselingStatus", [""]))[0] in ("ALL", "NONE")
            page = int(params.get("pageNum", ["1"])[0])
            first_date = params.get("inquiryStartAt", [""])[0]
            records.append((index, stream, every, page, req.at.timestamp(), req.status, first_date))
    return records


# ---- polls and slip from the request log ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Poll:
    """One poll of one stream as the sandbox saw it."""

    account: int
    stream: int
    start: float
    end: float
    requests: int


def polls_of(records: Sequence[Record]) -> dict[tuple[int, int], list[Poll]]:
    """Every stream's polls, in order, split where `starts_poll` says a poll begins."""
    by_stream: dict[tuple[int, int], list[Record]] = {}
    for record in sorted(records, key=lambda r: r[4]):
        by_stream.setdefault((record[0], record[1]), []).append(record)
    polls: dict[tuple[int, int], list[Poll]] = {}
    for (account, stream), reqs in by_stream.items():
        found: list[Poll] = []
        start = end = 0.0
        count = 0
        previous: tuple[bool, str] | None = None  # (every-status?, window) of the last page-1 request
        for _, _, every, page, at, _, first_date in reqs:
            if page == 1:
                starts = starts_poll(previous, every, first_date)
                if starts and count:
                    found.append(Poll(account, stream, start, end, count))
                if starts:
                    start, count = at, 0
                previous = (every, first_date)
            end, count = at, count + 1
        if count:
            found.append(Poll(account, stream, start, end, count))
        polls[(account, stream)] = found
    return polls


@dataclass(slots=True)
class Slips:
    """Poll timing inside the window."""

    slips: list[float] = field(default_factory=list)  # first request - (previous poll's last request + delay)
    second: list[float] = field(default_factory=list)  # the same for every stream's 2nd poll, whenever it came
    budget_held: list[float] = field(default_factory=list)  # slips of polls right after the other stream's request
    periods: list[float] = field(default_factory=list)  # start - previous start - delay
    durations: list[float] = field(default_factory=list)  # first to last request
    sizes: list[float] = field(default_factory=list)  # requests per poll
    streams_without_poll: int = 0


def slips(records: Sequence[Record], *, start: float, end: float, delays: Sequence[float]) -> Slips:
    """Slip of every poll that started inside [start, end] and had a predecessor; `delays`: each account's sleep."""
    polls = polls_of(records)
    request_times: dict[tuple[int, int], list[float]] = {}
    for account, stream, _, _, at, _, _ in records:
        request_times.setdefault((account, stream), []).append(at)
    held_window = 1.0 / MAX_REQUESTS_PER_S + 0.05
    result = Slips()
    for account, delay in enumerate(delays):
        for stream in (0, 1):
            seq = polls.get((account, stream), [])
            if len(seq) > 1:
                result.second.append(seq[1].start - seq[0].end - delay)
            inside = [(k, p) for k, p in enumerate(seq) if k > 0 and start <= p.start <= end]
            if not inside:
                result.streams_without_poll += 1
            other = request_times.get((account, 1 - stream), [])
            for k, poll in inside:
                previous = seq[k - 1]
                slip = poll.start - previous.end - delay
                result.slips.append(slip)
                result.periods.append(poll.start - previous.start - delay)
                result.durations.append(poll.end - poll.start)
                result.sizes.append(float(poll.requests))
                if any(poll.start - held_window <= t < poll.start for t in other):
                    result.budget_held.append(slip)
    return result


def record_lags(
    records: Sequence[Record], events: Sequence[Mapping[str, Any]], start: float, end: float
) -> list[float]:
    """For every "polled" log line (a poll that found something) of a poll that ended in [start, end]: seconds
    from that poll's last request to the line.

    The line is logged once `record_poll` has committed, so this is the wait for the response, the parsing and
    the store transaction (its wait for the write lock included).
    """
    ends: dict[tuple[int, int], list[float]] = {}
    for key, polls in polls_of(records).items():
        ends[key] = [p.end for p in polls]
    lags = []
    for event in events:
        if event.get("event") != "polled" or not str(event.get("account", "")).startswith("shop-"):
            continue
        key = (int(str(event["account"])[5:]), 0 if event.get("stream") == "product_qna" else 1)
        logged = datetime.fromisoformat(str(event["timestamp"])).timestamp()  # naive local time, as structlog writes
        before = [end for end in ends.get(key, []) if end <= logged]
        if before and start <= before[-1] <= end:
            lags.append(logged - before[-1])
    return lags


# ---- the run ---------------------------------------------------------------------------------------------


def write_config(directory: Path, url: str, args: argparse.Namespace) -> Path:
    """The daemon's TOML with `--accounts` Coupang accounts, and their keys as files in a secrets_dir."""
    secrets = directory / "secrets"
    secrets.mkdir(mode=0o700)
    parts = [
        f"db_path = {toml_str(directory / 'inqd.db')}",
        f"secrets_dir = {toml_str(secrets)}",
        f"poll_jitter = {args.jitter}",
        "quiet_hours = []",
        "",
        "[admin]",
        "port = 0",
        "",
        "[[notifiers]]",
        'type = "sink"',
        "console = false",
        f"file = {toml_str(directory / 'sink.jsonl')}",
    ]
    for index in range(args.accounts):
        access, secret = keys(index)
        (secrets / f"{account_id(index)}.access_key").write_text(access, encoding="ascii")
        (secrets / f"{account_id(index)}.secret_key").write_text(secret, encoding="ascii")
        parts += [
            "",
            "[[accounts]]",
            'marketplace = "coupang"',
            f'id = "{account_id(index)}"',
            f'vendor_id = "{vendor_id(index)}"',
            f"base_url = {toml_str(url)}",
            f"poll_interval_s = {interval_of(index, args)}",
            f"backfill_days = {BACKFILL_DAYS}",
            f"max_requests_per_s = {MAX_REQUESTS_PER_S}",
        ]
    path = directory / "inqd.toml"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True, slots=True)
class Results:
    """Everything the report prints."""

    build_s: float  # spawn -> daemon_started, wall
    build_cpu_s: float
    first_wave_s: float  # daemon_started -> every stream's first poll seen, wall
    first_wave_cpu_s: float
    second_wave_s: float  # -> every stream's second poll seen
    second_wave_cpu_s: float
    window: Window
    rss_max_kib: int
    rss_end_kib: int
    rss_samples: list[tuple[float, float]]  # (seconds into the window, VmRSS MiB), every RSS_SAMPLE_S
    hwm_kib: int
    open_fds: int  # at the end of the window: mostly kept-alive connections, one or two per account
    connections_opened: int  # new TCP connections the sandbox accepted from the daemon in the window
    sandbox_cpu_share: float
    floor: FloorRun | None
    timing: Slips
    statuses: dict[str, int]
    warnings: dict[str, int]
    recorded: list[float]  # last request of a poll -> its "polled" log line
    sink_lines: int
    exit_code: int | None
    profile: str
    memprobe: list[str]  # bench._memprobe's report, when --memprobe


def _ask(conn: Connection, command: object, timeout_s: float) -> object:
    conn.send(command)
    if not conn.poll(timeout_s):
        raise RuntimeError(f"the sandbox process did not answer {command!r}")
    return conn.recv()


class Watched(Protocol):
    """A process (or processes) being warmed up: alive, and its output's tail for an error message."""

    def alive(self) -> bool:
        """Whether it still runs."""
        ...

    def log_tail(self) -> str:
        """The end of its output."""
        ...


def _wait_for_polls(
    conn: Connection, poller: Watched, accounts: int, requests: int, deadline: float, since: float = 0.0
) -> float:
    """Wait (bounded by `deadline`, monotonic) until every stream has made `requests` requests since `since`
    (time.time()); returns when."""
    while True:
        progress = _ask(conn, ("progress", requests, since), 60.0)
        done = int(progress[0]) if isinstance(progress, tuple) else 0
        if done >= 2 * accounts:
            return time.monotonic()
        if time.monotonic() > deadline or not poller.alive():
            raise RuntimeError(f"{done} of {2 * accounts} streams made {requests} requests\n{poller.log_tail()}")
        time.sleep(1.0)


class Poller:
    """The floor (bench.floor) as a process, its output in a file."""

    def __init__(self, url: str, args: argparse.Namespace, directory: Path) -> None:
        self.out = directory / "floor.out"
        command = [sys.executable, "-m", "bench.floor", "--url", url, "--accounts", str(args.accounts)]
        command += ["--interval", str(args.interval), "--spread", str(args.spread)]
        command += ["--rate", str(MAX_REQUESTS_PER_S), "--connections", str(args.floor_connections)]
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=daemon_env(), cwd=_ROOT
            )
        self.pid = self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")[-3000:]

    def stop(self) -> dict[str, int]:
        """SIGTERM, wait; the counts it printed."""
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        lines = self.log_tail().strip().splitlines()
        with contextlib.suppress(ValueError, IndexError):
            counts = json.loads(lines[-1])
            return {str(k): int(v) for k, v in counts.items()}
        return {}


@dataclass(frozen=True, slots=True)
class Measured:
    """A poller process over the window: CPU, memory, and what the sandbox saw of it."""

    window: Window
    rss_max_kib: int
    hwm_kib: int
    connections_opened: int  # new TCP connections the sandbox accepted in the window
    open_fds: int  # at the end of the window
    sandbox_cpu_share: float
    records: list[Record]  # the sandbox's requests since the warm-up began
    wall_start: float
    wall_end: float

    def polls(self) -> int:
        """Polls started in the window."""
        return sum(
            1 for ps in polls_of(self.records).values() for p in ps if self.wall_start <= p.start <= self.wall_end
        )

    def requests(self) -> int:
        """Requests in the window."""
        return sum(1 for r in self.records if self.wall_start <= r[4] <= self.wall_end)


def measure(
    conn: Connection, pids: tuple[int, int], minutes: float, alive: Callable[[], bool], since: float
) -> Measured:
    """Sample the poller (pids[0]) and the sandbox over a window of `minutes`; then the sandbox's connections and
    requests of the window."""
    pid, sandbox_pid = pids
    first = ProcSample.read(pid)
    sandbox_cpu_first = cpu_seconds(sandbox_pid)
    wall_start = time.time()
    rss_max = first.rss_kib
    until = first.at + minutes * 60
    while time.monotonic() < until:
        time.sleep(min(RSS_SAMPLE_S, max(0.0, until - time.monotonic())))
        if not alive():
            raise RuntimeError(f"the poller (pid {pid}) exited in the window")
        rss_max = max(rss_max, status_kib(pid).get("VmRSS", 0))
    last = ProcSample.read(pid)
    open_fds = len(os.listdir(f"/proc/{pid}/fd"))
    sandbox_share = (cpu_seconds(sandbox_pid) - sandbox_cpu_first) / (last.at - first.at)
    wall_end = time.time()
    time.sleep(GRACE_S)  # polls that started in the window finish before the request log is read
    opened = _ask(conn, ("connections", wall_start, wall_end), 60.0)
    dumped = _ask(conn, ("dump", since), 120.0)
    return Measured(
        window=window(pid, first, last),
        rss_max_kib=max(rss_max, last.rss_kib),
        hwm_kib=last.hwm_kib,
        connections_opened=int(opened) if isinstance(opened, int) else -1,
        open_fds=open_fds,
        sandbox_cpu_share=sandbox_share,
        records=dumped if isinstance(dumped, list) else [],
        wall_start=wall_start,
        wall_end=wall_end,
    )


@dataclass(frozen=True, slots=True)
class FloorRun:
    """The floor's window and the counts it printed."""

    measured: Measured
    counts: dict[str, int]


def measure_floor(conn: Connection, url: str, sandbox_pid: int, args: argparse.Namespace, directory: Path) -> FloorRun:
    """Run the floor against the same sandbox (the daemon stopped), warm it up as the daemon was, measure."""
    since = time.time()
    poller = Poller(url, args, directory)
    try:
        started = time.monotonic()
        first_at = _wait_for_polls(conn, poller, args.accounts, FIRST_POLL_REQUESTS, started + WARMUP_TIMEOUT_S, since)
        _wait_for_polls(conn, poller, args.accounts, 2 * FIRST_POLL_REQUESTS, first_at + WARMUP_TIMEOUT_S, since)
        time.sleep(args.settle)
        measured = measure(conn, (poller.pid, sandbox_pid), args.minutes, poller.alive, since)
    finally:
        counts = poller.stop()
    return FloorRun(measured, counts)


@contextlib.contextmanager
def sandbox_process(args: argparse.Namespace) -> Iterator[tuple[Connection, str, int]]:
    """The sandbox process serving `--accounts` accounts: (the pipe to it, its URL, its pid); stopped on exit."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    sandbox_proc = context.Process(
        target=sandbox_main,
        args=(theirs, args.accounts, args.backlog, args.arrivals_per_h, args.seed),
        name="inqd-bench-sandbox",
        daemon=True,
    )
    try:
        sandbox_proc.start()
        if not ours.poll(START_TIMEOUT_S):
            raise RuntimeError("the sandbox process did not start")
        url = str(ours.recv())
        assert sandbox_proc.pid is not None
        yield ours, url, sandbox_proc.pid
    finally:
        if sandbox_proc.is_alive():
            with contextlib.suppress(OSError):  # a sandbox that died has closed its end
                ours.send("stop")
            sandbox_proc.join(30)
        if sandbox_proc.is_alive():
            sandbox_proc.kill()
            sandbox_proc.join(10)
        ours.close()


def run(args: argparse.Namespace, directory: Path) -> Results:
    """Start the sandbox process and the daemon, warm up, measure; everything is stopped on the way out."""
    with sandbox_process(args) as (ours, url, sandbox_pid):
        return _run_daemon(args, directory, ours, url, sandbox_pid)


def _run_daemon(args: argparse.Namespace, directory: Path, ours: Connection, url: str, sandbox_pid: int) -> Results:
    daemon: DaemonProcess | None = None
    profiler: subprocess.Popen[bytes] | None = None
    try:
        probes = directory / "memprobe"
        launcher = _memprobe.launcher_args(probes, args.memprobe_frames) if args.memprobe else []
        if args.memprobe:
            probes.mkdir()
        daemon = DaemonProcess(write_config(directory, url, args), directory, env=daemon_env(), launcher=launcher)
        daemon.start()
        daemon.wait_for_event("daemon_started", timeout_s=START_TIMEOUT_S)
        built_at, build_cpu = time.monotonic(), cpu_seconds(daemon.pid)
        # Warm-up: every stream's first poll (the backfill wave), then its second (the wave that still carries the
        # first one's backlog of store writes, plans and backfill summaries).
        first_at = _wait_for_polls(ours, daemon, args.accounts, FIRST_POLL_REQUESTS, built_at + WARMUP_TIMEOUT_S)
        first_cpu = cpu_seconds(daemon.pid)
        second_at = _wait_for_polls(ours, daemon, args.accounts, 2 * FIRST_POLL_REQUESTS, first_at + WARMUP_TIMEOUT_S)
        second_cpu = cpu_seconds(daemon.pid)
        time.sleep(args.settle)
        if args.py_spy:
            profiler = _start_py_spy(daemon.pid, directory / "py-spy.txt", args.minutes * 60)
        # Memory probes (--memprobe): the first at the window's start (tracemalloc starts there), then every few
        # minutes and at the end; the daemon numbers them by the signals it got, so a late one still counts.
        probed, probed_at = 0, 0.0
        if args.memprobe:
            _memprobe.probe(daemon.pid, probes, probed)
            probed += 1
        first = ProcSample.read(daemon.pid)
        sandbox_cpu_first = cpu_seconds(sandbox_pid)
        wall_start = time.time()
        rss_max = first.rss_kib
        rss_samples = [(0.0, mib(first.rss_kib))]
        until = first.at + args.minutes * 60
        while time.monotonic() < until:
            time.sleep(min(RSS_SAMPLE_S, max(0.0, until - time.monotonic())))
            if not daemon.alive():
                raise RuntimeError(f"the daemon exited:\n{daemon.log_tail()}")
            rss = status_kib(daemon.pid).get("VmRSS", 0)
            rss_max = max(rss_max, rss)
            rss_samples.append((time.monotonic() - first.at, mib(rss)))
            if args.minutes >= 10 and len(rss_samples) % round(600 / RSS_SAMPLE_S) == 0:
                print(f"{rss_samples[-1][0] / 60:5.1f} min: VmRSS {rss_samples[-1][1]:.1f} MiB", flush=True)
            if args.memprobe and rss_samples[-1][0] >= probed * args.memprobe_every * 60:
                _memprobe.probe(daemon.pid, probes, probed)
                probed, probed_at = probed + 1, rss_samples[-1][0]
        if args.memprobe and rss_samples[-1][0] - probed_at > 30:
            _memprobe.probe(daemon.pid, probes, probed)
        last = ProcSample.read(daemon.pid)
        open_fds = len(os.listdir(f"/proc/{daemon.pid}/fd"))
        sandbox_share = (cpu_seconds(sandbox_pid) - sandbox_cpu_first) / (last.at - first.at)
        wall_end = time.time()
        profile = _finish_py_spy(profiler, directory / "py-spy.txt") if profiler else ""
        profiler = None
        time.sleep(GRACE_S)  # polls that started in the window finish before the request log is read
        dumped = _ask(ours, ("dump", 0.0), 120.0)
        records: list[Record] = dumped if isinstance(dumped, list) else []
        opened = _ask(ours, ("connections", wall_start, wall_end), 60.0)
        daemon.stop()  # the floor runs alone: the two do not share the 2 cores
        floor_run = measure_floor(ours, url, sandbox_pid, args, directory) if args.floor else None
    finally:
        if profiler is not None and profiler.poll() is None:
            profiler.kill()
            profiler.wait()
        exit_code = daemon.stop() if daemon is not None else None
        if daemon is not None:
            daemon.read_events()
    if args.keep:
        with open(directory / "requests.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(record) + "\n" for record in records)
    inside = [r for r in records if wall_start <= r[4] <= wall_end]
    statuses = Counter(str(r[5]) for r in inside)
    sink = directory / "sink.jsonl"
    return Results(
        build_s=built_at - daemon.started_at,
        build_cpu_s=build_cpu,
        first_wave_s=first_at - built_at,
        first_wave_cpu_s=first_cpu - build_cpu,
        second_wave_s=second_at - first_at,
        second_wave_cpu_s=second_cpu - first_cpu,
        window=window(daemon.pid, first, last),
        rss_max_kib=max(rss_max, last.rss_kib),
        rss_end_kib=last.rss_kib,
        rss_samples=rss_samples,
        hwm_kib=last.hwm_kib,
        open_fds=open_fds,
        connections_opened=int(opened) if isinstance(opened, int) else -1,
        sandbox_cpu_share=sandbox_share,
        floor=floor_run,
        timing=slips(
            records,
            start=wall_start,
            end=wall_end,
            delays=[interval_of(i, args) * (1 + args.jitter) for i in range(args.accounts)],
        ),
        recorded=record_lags(records, daemon.events, wall_start, wall_end),
        statuses=dict(statuses),
        warnings=count_levels(daemon.events),
        sink_lines=sum(1 for _ in sink.open(encoding="utf-8")) if sink.is_file() else 0,
        exit_code=exit_code,
        profile=profile,
        memprobe=_memprobe.report(probes) if args.memprobe else [],
    )


# ---- py-spy (optional) -----------------------------------------------------------------------------------


def _start_py_spy(pid: int, out: Path, seconds: float) -> subprocess.Popen[bytes]:
    """`py-spy record` of the daemon for the window (raw collapsed stacks, idle frames left out)."""
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(exe).is_file():
        raise RuntimeError("--py-spy needs py-spy (pip install py-spy)")
    args = [exe, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "50"]
    args += ["--format", "raw", "--nonblocking", "--output", str(out)]
    with open(out.with_suffix(".log"), "wb") as log:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _finish_py_spy(profiler: subprocess.Popen[bytes], out: Path, top: int = 20) -> str:
    """Wait for py-spy, then the functions with the most samples: on the stack (inclusive) and on top (self)."""
    try:
        profiler.wait(timeout=120)
    except subprocess.TimeoutExpired:
        profiler.kill()
        profiler.wait()
    if not out.is_file():
        log = out.with_suffix(".log")
        return "py-spy wrote nothing: " + (log.read_text(errors="replace")[-500:] if log.is_file() else "")
    inclusive: Counter[str] = Counter()  # inqd's own functions, and the SQLite worker thread
    leaf: Counter[str] = Counter()
    total = 0
    for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaf[_frame(frames[-1])] += count
        own = {_frame(f) for f in frames if _OWN_CODE.search(f)}
        if any("_connection_worker_thread" in f for f in frames):
            own.add("[aiosqlite worker thread: SQLite itself]")
        for name in own:
            inclusive[name] += count
    if not total:
        return "py-spy: no samples"
    lines = [f"py-spy: {total} samples at 50 Hz in the window (idle excluded); inqd's functions, inclusive:"]
    lines += [f"  {n / total:7.1%}  {name}" for name, n in inclusive.most_common(top)]
    lines.append("top of the stack (self):")
    lines += [f"  {n / total:7.1%}  {name}" for name, n in leaf.most_common(top)]
    return "\n".join(lines)


def _frame(frame: str) -> str:
    """`function (path/to/file.py:123)` -> `function (file.py)`, so a function's lines count together."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rpartition(":")[0] or where.rstrip(")")
    parts = Path(path).parts
    return f"{name} ({'/'.join(parts[-2:])})"


# ---- report ----------------------------------------------------------------------------------------------


def _row(label: str, values: Sequence[float]) -> str:
    if not values:
        return f"{label:<48}{0:7d}"
    return (
        f"{label:<48}{len(values):7,d}{percentile(values, 0.5):8.3f}{percentile(values, 0.99):8.3f}{max(values):8.3f}"
    )


def report(r: Results, args: argparse.Namespace) -> str:
    """The printed table."""
    w = r.window
    t = r.timing
    main_thread = [d for d in w.threads if d.label.startswith("main")]
    loop_cpu = main_thread[0].cpu_s if main_thread else 0.0
    p99 = percentile(t.slips, 0.99)
    per_poll_ms = 1000 * w.cpu_s / len(t.slips) if t.slips else 0.0
    projected = per_poll_ms / 1000 * 2 * args.accounts / args.interval
    lines = [
        f"inqd scale benchmark: {args.accounts:,} Coupang accounts x 2 streams, every {args.interval:g} s, "
        f"jitter {args.jitter:g}"
        + (f", intervals spread over +-{args.spread / 2:g} s" if args.spread else "")
        + f", one daemon process; window {w.seconds:.0f} s",
        machine_line(),
        f"sandbox: its own process, {args.backlog} inquiries per account to begin with, "
        f"{args.arrivals_per_h:g} new per account and hour; the daemon's budget {MAX_REQUESTS_PER_S:g} req/s "
        "per account",
        "",
        f"start-up: spawn -> daemon_started {r.build_s:.1f} s ({r.build_cpu_s:.1f} s CPU); every stream's first poll "
        f"{r.first_wave_s:.1f} s more ({r.first_wave_cpu_s:.1f} s CPU); its second {r.second_wave_s:.1f} s later "
        f"({r.second_wave_cpu_s:.1f} s CPU)",
        f"window: daemon CPU {w.cpu_s:.2f} s = {w.cpu_share:.1%} of one core (event-loop thread {loop_cpu:.2f} s, "
        f"{len(w.threads)} threads); sandbox process {r.sandbox_cpu_share:.1%} of one core",
        f"CPU per stream poll: {per_poll_ms:.2f} ms (window CPU / {len(t.slips):,} polls started in it); at "
        f"{2 * args.accounts:,} polls per {args.interval:g} s that is {projected:.1%} of one core",
        f"memory (MiB): VmRSS largest in window {mib(r.rss_max_kib):.1f}, at the end {mib(r.rss_end_kib):.1f}; "
        f"VmHWM (peak since start) {mib(r.hwm_kib):.1f}; open file descriptors {r.open_fds:,}",
        f"connections: {r.connections_opened:,} new TCP connections accepted by the sandbox in the window "
        f"({w.per_minute(r.connections_opened):,.0f} a minute) for {sum(r.statuses.values()):,} requests",
        "",
        f"{'poll timing in the window (s)':<48}{'count':>7}{'p50':>8}{'p99':>8}{'max':>8}",
        _row("slip: first request - (previous last + interval)", t.slips),
        _row("  of which right after the other stream's request", t.budget_held),
        _row("period: start - previous start - interval", t.periods),
        _row("poll duration, first to last request", t.durations),
        _row("requests per poll", t.sizes),
        _row("last request -> 'polled' log line (store committed)", r.recorded),
        _row("warm-up: slip of every stream's 2nd poll", t.second),
        f"streams with no poll in the window: {t.streams_without_poll}",
        "",
        "sandbox answers in the window: " + ", ".join(f"{k} x{v}" for k, v in sorted(r.statuses.items())),
        "daemon warnings/errors: " + (", ".join(f"{k} x{v}" for k, v in sorted(r.warnings.items())) or "none"),
        f"sink lines (backfill summaries, new inquiries, alerts): {r.sink_lines}; daemon exit code {r.exit_code}",
        "",
        f"target CPU <= {CPU_TARGET:.0%} of one core: {verdict(w.cpu_share <= CPU_TARGET)} ({w.cpu_share:.1%})",
        f"target RSS <= {RSS_TARGET_MIB:g} MiB: {verdict(mib(r.rss_max_kib) <= RSS_TARGET_MIB)} "
        f"(largest VmRSS {mib(r.rss_max_kib):.1f} MiB)",
        f"p99 poll slip: {p99:.3f} s (no target number set)",
        *rss_lines(r.rss_samples),
    ]
    if r.floor is not None:
        lines += ["", *floor_lines(r, args, len(t.slips))]
    if r.profile:
        lines += ["", r.profile]
    if r.memprobe:
        lines += ["", *r.memprobe]
    return "\n".join(lines)


def rss_lines(samples: Sequence[tuple[float, float]]) -> list[str]:
    """VmRSS over the window, every tenth of it, and its slope (least squares) in MiB an hour; in a window of 30
    minutes or more the first SLOPE_SETTLE_S are left out of the slope (warm-up) and it is held to the target."""
    if len(samples) < 2:
        return []
    step = max(1, len(samples) // 10)
    shown = ", ".join(f"{t / 60:.0f} min {v:.1f}" for t, v in samples[::step])
    length_s = samples[-1][0]
    settled = [(t, v) for t, v in samples if t >= SLOPE_SETTLE_S] if length_s >= 1800 else list(samples)
    slope = slope_per_hour(settled)
    lines = [
        f"VmRSS over the window (MiB): {shown}, end {samples[-1][1]:.1f}",
        f"VmRSS slope: {slope:+.2f} MiB an hour (least squares over {len(settled)} samples"
        + (f" after the first {SLOPE_SETTLE_S / 60:.0f} min)" if length_s >= 1800 else ", the whole window)"),
    ]
    if length_s >= 1800:
        lines.append(
            f"target RSS slope < {RSS_SLOPE_TARGET_MIB_H:g} MiB an hour after warm-up: "
            f"{verdict(slope < RSS_SLOPE_TARGET_MIB_H)} ({slope:+.2f})"
        )
    return lines


def floor_lines(r: Results, args: argparse.Namespace, inqd_polls: int) -> list[str]:
    """The floor's figures and inqd/floor; per poll and per request too, since the two may differ in requests."""
    assert r.floor is not None
    f, w = r.floor.measured, r.window
    polls, requests, inqd_requests = f.polls(), f.requests(), sum(r.statuses.values())
    cpu_ratio = w.cpu_share / f.window.cpu_share if f.window.cpu_share else float("inf")
    rss_ratio = r.rss_max_kib / f.rss_max_kib if f.rss_max_kib else float("inf")
    per_request_ratio = (w.cpu_s / max(1, inqd_requests)) / (f.window.cpu_s / max(1, requests)) if requests else 0.0
    other = ", ".join(f"{k} x{v}" for k, v in sorted(r.floor.counts.items()) if k not in ("polls", "requests", "rows"))
    return [
        f"floor (bench.floor: the same endpoints, requests and rate, CEA-signed, JSON parsed, nothing stored; one "
        f"httpx client, {args.floor_connections} pooled connections), alone after the daemon stopped, same warm-up; "
        f"window {f.window.seconds:.0f} s",
        f"  CPU {f.window.cpu_s:.2f} s = {f.window.cpu_share:.1%} of one core; "
        f"{1000 * f.window.cpu_s / max(1, polls):.2f} ms per poll; sandbox process {f.sandbox_cpu_share:.1%}",
        f"  memory (MiB): VmRSS largest {mib(f.rss_max_kib):.1f}, VmHWM {mib(f.hwm_kib):.1f}; open file descriptors "
        f"{f.open_fds:,}",
        f"  connections: {f.connections_opened:,} new in the window ({f.window.per_minute(f.connections_opened):,.0f}"
        " a minute)",
        f"  polls started in the window {polls:,} ({requests / max(1, polls):.2f} requests each); inqd "
        f"{inqd_polls:,} ({inqd_requests / max(1, inqd_polls):.2f} each); floor errors: {other or 'none'}",
        f"inqd / floor: CPU {cpu_ratio:.2f}x, per request {per_request_ratio:.2f}x (aim <= 1.5x); "
        f"RSS {rss_ratio:.2f}x (aim <= 2x)",
    ]


def run_and_report(args: argparse.Namespace, directory: Path) -> str:
    """One daemon on SQLite: run, and the report's text."""
    return report(run(args, directory), args)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the benchmark, print the table."""
    import bench.scale_instances  # imports this module: not at the top (a cycle)

    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000, help="Coupang accounts, 2 streams each (default 1000)")
    parser.add_argument("--minutes", type=float, default=5.0, help="measured window after the warm-up (default 5)")
    parser.add_argument("--interval", type=float, default=60.0, help="poll_interval_s (default 60)")
    parser.add_argument("--backlog", type=int, default=5, help="inquiries per account at start (default 5)")
    parser.add_argument("--arrivals-per-h", type=float, default=1.0, help="new inquiries per account-hour (default 1)")
    parser.add_argument("--jitter", type=float, default=0.0, help="poll_jitter (default 0: an exact schedule)")
    parser.add_argument(
        "--spread", type=float, default=0.0, help="spread the accounts' intervals over +- S/2 s (default 0: all equal)"
    )
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after the first polls (default 5)")
    parser.add_argument("--seed", type=int, default=8, help="rng seed of the sandbox data (default 8)")
    parser.add_argument("--py-spy", action="store_true", help="sample the daemon with py-spy during the window")
    parser.add_argument(
        "--no-floor", dest="floor", action="store_false", help="skip the reference poller (bench.floor) after inqd"
    )
    parser.add_argument(
        "--floor-connections", type=int, default=3, help="the floor's shared connection pool (default 3)"
    )
    parser.add_argument(
        "--memprobe",
        action="store_true",
        help="run the daemon under bench._memprobe: smaps, malloc, SQLite and gc figures, tracemalloc growth",
    )
    parser.add_argument("--memprobe-every", type=float, default=5.0, help="minutes between memory probes (default 5)")
    parser.add_argument(
        "--memprobe-frames", type=int, default=10, help="tracemalloc frames a traceback, 0: no tracemalloc (default 10)"
    )
    parser.add_argument("--dir", default=None, help="where the temporary directory goes (default: the system tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the directory (config, db, logs, requests)")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgres"), default="sqlite", help="the store (postgres: a throwaway cluster)"
    )
    parser.add_argument("--instances", type=int, default=1, help="inqd processes sharing the accounts (postgres)")
    args = parser.parse_args(argv)
    if args.instances < 1 or (args.instances > 1 and args.backend != "postgres"):
        parser.error("need --instances >= 1, and --backend postgres for more than one")
    if args.accounts < 1 or args.minutes <= 0 or not 0 <= args.spread < args.interval or not 0 <= args.jitter <= 0.5:
        parser.error("need --accounts >= 1, --minutes > 0, 0 <= --spread < --interval and 0 <= --jitter <= 0.5")
    measure = run_and_report if args.backend == "sqlite" else bench.scale_instances.run_instances
    if args.keep:
        directory = Path(tempfile.mkdtemp(prefix="inqd-bench-scale-", dir=args.dir))
        print(f"keeping the config, database, sink and daemon log in {directory}")
        print(measure(args, directory))
    else:
        with tempfile.TemporaryDirectory(prefix="inqd-bench-scale-", dir=args.dir) as tmp:
            print(measure(args, Path(tmp)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
