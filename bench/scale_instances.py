"""`bench.scale --backend postgres --instances N`: the scale benchmark's accounts over N `inqd run` processes that
share one PostgreSQL (a throwaway cluster, tests/postgres_server.py), as an agency's machines would.

Everything else is bench.scale's: the sandbox process serving every account (one `CoupangSandbox` each, its own
keys and budget), the generated config (every instance gets all the accounts; the account leases decide who polls
which), the warm-up (every stream's first and second poll, by whichever instance) and `--settle`. Over the window of
`--minutes`, from /proc: each instance's CPU as a share of one core, its largest VmRSS and its VmHWM, and the
accounts it holds (from its leases_claimed / _released / _lost log lines); the PostgreSQL server's CPU (every
process in pg_stat_activity: the instances' backends and the server's own workers); from the sandbox's request
log: requests and polls per account per minute. (Which instance polled an account is not told apart here: all
share one sandbox address. bench.soak_instances checks that no account is polled by two at once.)
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench._proc import DaemonProcess, ProcSample, cpu_seconds, daemon_env, machine_line, mib, status_kib, window
from bench.scale import (
    FIRST_POLL_REQUESTS,
    GRACE_S,
    RSS_SAMPLE_S,
    START_TIMEOUT_S,
    WARMUP_TIMEOUT_S,
    Record,
    _ask,
    _wait_for_polls,
    polls_of,
    sandbox_process,
    write_config,
)
from tests.postgres_server import running_server


@dataclass
class Fleet:
    """The instances being measured: alive while all are, and their logs' tails."""

    daemons: list[DaemonProcess]

    def alive(self) -> bool:
        """Whether every instance still runs."""
        return all(daemon.alive() for daemon in self.daemons)

    def log_tail(self) -> str:
        """The instances' logs' tails."""
        return "\n".join(daemon.log_tail(10) for daemon in self.daemons)

    def held(self) -> list[int]:
        """How many accounts each instance holds now, from its leases_claimed / _released / _lost log lines."""
        counts = []
        for daemon in self.daemons:
            daemon.read_events()
            held: set[str] = set()
            for event in daemon.events:
                if event.get("event") == "leases_claimed":
                    held |= set(event.get("accounts", ()))
                elif event.get("event") in ("leases_released", "leases_lost"):
                    held -= set(event.get("accounts", ()))
            counts.append(len(held))
        return counts


def _server_cpu(url: str) -> dict[int, float]:
    """CPU seconds of every PostgreSQL process pg_stat_activity lists (backends and the server's workers)."""
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [int(row[0]) for row in conn.execute("SELECT pid FROM pg_stat_activity")]
    found = {}
    for pid in pids:
        try:
            found[pid] = cpu_seconds(pid)
        except (FileNotFoundError, ProcessLookupError):  # a backend that ended meanwhile
            continue
    return found


def _start(stack: ExitStack, args: argparse.Namespace, directory: Path, sandbox_url: str, url: str) -> Fleet:
    daemons = []
    for index in range(args.instances):
        own = directory / f"instance{index + 1}"
        own.mkdir()
        daemon = DaemonProcess(write_config(own, sandbox_url, args), own, env=daemon_env({"INQD_DATABASE_URL": url}))
        stack.callback(daemon.stop)
        daemon.start()
        daemons.append(daemon)
    for daemon in daemons:
        daemon.wait_for_event("daemon_started", timeout_s=START_TIMEOUT_S)
    return Fleet(daemons)


def run_instances(args: argparse.Namespace, directory: Path) -> str:
    """Start the sandbox process, the cluster and the instances; warm up, measure; the report's text."""
    with ExitStack() as stack:
        conn, sandbox_url, sandbox_pid = stack.enter_context(sandbox_process(args))
        url = stack.enter_context(running_server()).new_database()
        fleet = _start(stack, args, directory, sandbox_url, url)
        started = time.monotonic()
        first_at = _wait_for_polls(conn, fleet, args.accounts, FIRST_POLL_REQUESTS, started + WARMUP_TIMEOUT_S)
        _wait_for_polls(conn, fleet, args.accounts, 2 * FIRST_POLL_REQUESTS, first_at + WARMUP_TIMEOUT_S)
        warm_up_s = time.monotonic() - started
        time.sleep(args.settle)
        pids = [daemon.pid for daemon in fleet.daemons]
        firsts = [ProcSample.read(pid) for pid in pids]
        server_first, sandbox_first = _server_cpu(url), cpu_seconds(sandbox_pid)
        wall_start = time.time()
        rss_max = [sample.rss_kib for sample in firsts]
        until = firsts[0].at + args.minutes * 60
        while time.monotonic() < until:
            time.sleep(min(RSS_SAMPLE_S, max(0.0, until - time.monotonic())))
            if not fleet.alive():
                raise RuntimeError(f"an instance exited in the window:\n{fleet.log_tail()}")
            rss_max = [max(kib, status_kib(pid).get("VmRSS", 0)) for kib, pid in zip(rss_max, pids, strict=True)]
        lasts = [ProcSample.read(pid) for pid in pids]
        server_last, sandbox_last = _server_cpu(url), cpu_seconds(sandbox_pid)
        wall_end = time.time()
        held = fleet.held()
        time.sleep(GRACE_S)  # polls that started in the window finish before the request log is read
        dumped = _ask(conn, ("dump", wall_start), 120.0)
        records: list[Record] = dumped if isinstance(dumped, list) else []
        seconds = lasts[0].at - firsts[0].at
        server_cpu = sum(server_last[pid] - server_first[pid] for pid in server_last.keys() & server_first.keys())
        lines = [
            f"inqd scale benchmark: {args.accounts:,} Coupang accounts x 2 streams, every {args.interval:g} s, over "
            f"{args.instances} inqd instances on one PostgreSQL; window {seconds:.0f} s (warm-up {warm_up_s:.0f} s)",
            machine_line(),
            "",
            f"{'instance':<10}{'accounts':>9}{'CPU (1 core)':>14}{'VmRSS max MiB':>15}{'VmHWM MiB':>11}",
        ]
        for n, (first, last) in enumerate(zip(firsts, lasts, strict=True)):
            share = window(pids[n], first, last).cpu_share
            lines.append(f"{n + 1:<10}{held[n]:>9,}{share:>14.1%}{mib(rss_max[n]):>15.1f}{mib(last.hwm_kib):>11.1f}")
        total_cpu = sum(window(pid, f, la).cpu_s for pid, f, la in zip(pids, firsts, lasts, strict=True))
        lines += [
            f"{'all':<10}{sum(held):>9,}{total_cpu / seconds:>14.1%}{mib(sum(rss_max)):>15.1f}",
            f"PostgreSQL server {server_cpu / seconds:.1%} of one core; sandbox process "
            f"{(sandbox_last - sandbox_first) / seconds:.1%}",
            *_request_lines(records, wall_start, wall_end, args.accounts),
        ]
        return "\n".join(lines)


def _request_lines(records: Sequence[Record], start: float, end: float, accounts: int) -> list[str]:
    """Requests and polls per account per minute in [start, end]."""
    minutes = (end - start) / 60
    inside = [r for r in records if start <= r[4] <= end]
    polls = sum(1 for ps in polls_of(records).values() for p in ps if start <= p.start <= end)
    polled = {r[0] for r in inside}
    errors = sum(1 for r in inside if r[5] != 200)
    return [
        f"requests: {len(inside):,} in the window = {len(inside) / accounts / minutes:.2f} per account per minute "
        f"({polls / accounts / minutes:.2f} polls); {len(polled):,} of {accounts:,} accounts polled; "
        f"answers other than 200: {errors}",
    ]
