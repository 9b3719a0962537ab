"""Ingest benchmark: N sandbox inquiries through the Coupang connector and the store, beside raw sqlite3.

Run `python -m bench.ingest [--count 10000] [--repeat 3] [--postgres-url URL]` (`make bench`). Every stage
writes a fresh database in a temporary directory with the store's PRAGMAs (WAL, synchronous=FULL) and one
transaction; figures are medians of `--repeat` runs timed with `time.perf_counter`. Deterministic: seeded rng,
fixed clock.

Stages:
- raw sqlite3: stdlib `executemany` of the same 16-column `inquiries` rows the store writes, rows prebuilt,
  into a schema made by `Store.open` — the ceiling.
- aiosqlite executemany: the same rows and statement through aiosqlite, to separate the thread hop from
  the store's own work.
- store only: `Store.record_poll` of the connector's PollResult (N new inquiries, open snapshot, one
  outbox row per open inquiry), as the daemon records a poll; again with notify_new=False (one summary
  row), as the daemon records its first, backfilling poll.
- store re-poll: the same PollResult again (N known, unchanged rows), what every overlapping poll does.
- with --postgres-url: the store-only stages again on PostgreSQL (fresh databases on that server), beside
  SQLite's; with --postgres, on a throwaway cluster started for the run (the test suite's, tests/postgres_server.py:
  fsync off, so not durable as SQLite's synchronous=FULL is).
- end-to-end: one backfilling `CoupangConnector.poll` against a seeded `CoupangSandbox` over
  `httpx.MockTransport`, then `record_poll`; connector and store timed separately, and the sandbox's own
  handler time is reported apart, since the fake server is not inqd's cost.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import platform
import pstats
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiosqlite
import httpx
from pydantic import SecretStr

from aggregator.store import INQUIRY_COLUMNS, Store, db_time, inquiry_row
from bench._proc import LOAD_AT_START, load_average
from connectors.coupang.connector import CoupangConnector
from connectors.sandbox import CoupangSandbox, InquiryGenerator
from core.http import make_client
from core.models import Inquiry, PollResult, StreamKind

if TYPE_CHECKING:
    from tests.postgres_server import PostgresServer

ACCOUNT = "bench-shop"
VENDOR, ACCESS, SECRET = "A00012345", "bench-access", "bench-secret"
BASE_URL = "https://api-gateway.coupang.com"
NOW = datetime(2025, 1, 15, 3, 0, tzinfo=UTC)  # 12:00 KST
BACKFILL_DAYS = 7
STREAM = StreamKind.PRODUCT_QNA
CHANNELS = ("sink",)
MAX_REQUESTS_PER_S = 5.0
SANDBOX_RATE_LIMIT_PER_S = 1000  # per second of the sandbox's now(); the connector stays at 5
COLUMNS = f"{INQUIRY_COLUMNS}, first_seen_at, updated_at"  # exactly what the store inserts
INSERT = f"INSERT INTO inquiries ({COLUMNS}) VALUES ({', '.join('?' * (COLUMNS.count(',') + 1))})"


class InstantClock:
    """A Clock whose `sleep` advances time at once, so the connector's request budget costs no wall time."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._mono = 1000.0

    def now(self) -> datetime:
        """The current fake time."""
        return self._now

    def monotonic(self) -> float:
        """Fake monotonic seconds."""
        return self._mono

    async def sleep(self, seconds: float) -> None:
        """Advance time by `seconds` and yield to the loop once."""
        seconds = max(0.0, seconds)
        self._now += timedelta(seconds=seconds)
        self._mono += seconds
        await asyncio.sleep(0)


class TimedHandler:
    """Wraps the sandbox handler and adds up the wall time spent inside it."""

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self._handler = handler
        self.seconds = 0.0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        """Answer through the sandbox, timing it."""
        start = time.perf_counter()
        try:
            return self._handler(request)
        finally:
            self.seconds += time.perf_counter() - start


@dataclass(frozen=True, slots=True)
class EndToEnd:
    """One end-to-end run: what the poll returned and where the time went."""

    result: PollResult
    poll_s: float
    sandbox_s: float
    store_s: float


@dataclass(frozen=True, slots=True)
class StoreRun:
    """One store-only run: first record of N new rows, then the same poll again."""

    new_s: float
    repoll_s: float


def raw_rows(inquiries: Sequence[Inquiry], now: datetime) -> list[tuple[Any, ...]]:
    """The column values the store inserts for each inquiry (the store's own row function)."""
    now_s = db_time(now)
    return [(*inquiry_row(inq), now_s, now_s) for inq in inquiries]


def seeded_sandbox(count: int, clock: InstantClock, seed: int) -> CoupangSandbox:
    """A sandbox holding `count` product inquiries received over the backfill window, some answered."""
    sandbox = CoupangSandbox(
        vendor_id=VENDOR,
        access_key=ACCESS,
        secret_key=SECRET,
        now=clock.now,
        rate_limit_per_s=SANDBOX_RATE_LIMIT_PER_S,
    )
    generator = InquiryGenerator(sandbox, rng=random.Random(seed), call_center_share=0.0)
    generator.seed(count, start=NOW - timedelta(days=BACKFILL_DAYS), end=NOW)
    return sandbox


async def run_end_to_end(count: int, seed: int, directory: Path) -> EndToEnd:
    """Backfill poll of a seeded sandbox, then `record_poll` into a fresh store; both timed."""
    clock = InstantClock(NOW)
    sandbox = seeded_sandbox(count, clock, seed)
    handler = TimedHandler(sandbox.handler)
    connector = CoupangConnector(
        account_id=ACCOUNT,
        vendor_id=VENDOR,
        access_key=SecretStr(ACCESS),
        secret_key=SecretStr(SECRET),
        client=make_client(base_url=BASE_URL, transport=httpx.MockTransport(handler)),
        clock=clock,
        streams=(STREAM,),
        max_requests_per_s=MAX_REQUESTS_PER_S,
        backfill_days=BACKFILL_DAYS,
    )
    store = await Store.open(directory / "end_to_end.db")
    try:
        start = time.perf_counter()
        result = await connector.poll(STREAM, None, now=clock.now())
        polled = time.perf_counter()
        outcome = await store.record_poll(ACCOUNT, STREAM, result, now=clock.now(), channels=CHANNELS, notify_new=True)
        stored = time.perf_counter()
    finally:
        await store.aclose()
        await connector.aclose()
    if len(result.inquiries) != count or len(outcome.new_ids) != count or result.skipped:
        raise RuntimeError(f"expected {count} new inquiries, got {len(outcome.new_ids)} (skipped {result.skipped})")
    return EndToEnd(result, polled - start, handler.seconds, stored - polled)


async def run_store(
    result: PollResult, location: Path | str, *, notify_new: bool = True, profile: cProfile.Profile | None = None
) -> StoreRun:
    """`record_poll` of `result` into a fresh store at `location` (all new), then again (all known, unchanged)."""
    store = await Store.open(location)
    try:
        if profile is not None:
            profile.enable()
        start = time.perf_counter()
        first = await store.record_poll(ACCOUNT, STREAM, result, now=NOW, channels=CHANNELS, notify_new=notify_new)
        recorded = time.perf_counter()
        if profile is not None:
            profile.disable()
        again = await store.record_poll(ACCOUNT, STREAM, result, now=NOW, channels=CHANNELS, notify_new=notify_new)
        repolled = time.perf_counter()
    finally:
        await store.aclose()
    if len(first.new_ids) != len(result.inquiries) or again.new_ids or again.updated or again.answered_ids:
        raise RuntimeError("store run did not insert every row once and leave them unchanged on re-poll")
    return StoreRun(recorded - start, repolled - recorded)


async def _schema(path: Path) -> None:
    """Create the store's schema at `path` (untimed), so the baselines write the very same table."""
    store = await Store.open(path)
    await store.aclose()


async def run_raw(rows: list[tuple[Any, ...]], directory: Path) -> float:
    """Seconds for stdlib sqlite3 `executemany` of `rows` in one transaction (WAL, synchronous=FULL)."""
    path = directory / "raw.db"
    await _schema(path)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        start = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, rows)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        (written,) = conn.execute("SELECT COUNT(*) FROM inquiries").fetchone()
    finally:
        conn.close()
    if written != len(rows):
        raise RuntimeError(f"raw baseline wrote {written} rows, expected {len(rows)}")
    return elapsed


async def run_aiosqlite(rows: list[tuple[Any, ...]], directory: Path) -> float:
    """Seconds for the same `executemany` through aiosqlite, as the store's connection runs it."""
    path = directory / "aiosqlite.db"
    await _schema(path)
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=FULL")
        start = time.perf_counter()
        await conn.execute("BEGIN IMMEDIATE")
        await conn.executemany(INSERT, rows)
        await conn.execute("COMMIT")
        return time.perf_counter() - start


@dataclass(frozen=True, slots=True)
class Measured:
    """Seconds of every stage in every run, and facts about the polled data."""

    seconds: dict[str, list[float]]
    requests: int
    open_rows: int

    def median(self, stage: str) -> float:
        """Median seconds of `stage` over the runs."""
        return statistics.median(self.seconds[stage])


async def measure(count: int, repeat: int, seed: int, base_dir: str | None) -> tuple[Measured, PollResult]:
    """Run every stage `repeat` times, each run in a fresh temporary directory."""
    runs: dict[str, list[float]] = {}
    result: PollResult | None = None
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="inqd-bench-", dir=base_dir) as tmp:
            directory = Path(tmp)
            e2e = await run_end_to_end(count, seed, directory)
            result = e2e.result
            rows = raw_rows(result.inquiries, NOW)
            raw_s = await run_raw(rows, directory)
            aiosqlite_s = await run_aiosqlite(rows, directory)
            store = await run_store(result, directory / "store_notify.db")
            summary = await run_store(result, directory / "store_summary.db", notify_new=False)
        figures = {
            "raw": raw_s,
            "aiosqlite": aiosqlite_s,
            "store_new": store.new_s,
            "store_summary": summary.new_s,
            "store_repoll": store.repoll_s,
            "e2e": e2e.poll_s + e2e.store_s,
            "poll": e2e.poll_s,
            "sandbox": e2e.sandbox_s,
            "connector_own": e2e.poll_s - e2e.sandbox_s,
            "e2e_store": e2e.store_s,
            "e2e_own": e2e.poll_s - e2e.sandbox_s + e2e.store_s,
        }
        for name, seconds in figures.items():
            runs.setdefault(name, []).append(seconds)
    assert result is not None  # repeat >= 1
    open_rows = sum(1 for inq in result.inquiries if not inq.answered)
    return Measured(runs, requests=result.requests, open_rows=open_rows), result


STAGES = (
    ("raw", "raw sqlite3 executemany (baseline)", True),
    ("aiosqlite", "aiosqlite executemany, same rows", True),
    ("store_new", "store only: record_poll, N new", True),
    ("store_summary", "  same, notify_new=False (daemon's backfill)", True),
    ("store_repoll", "store re-poll: record_poll, N known", True),
    ("e2e", "end-to-end: poll + record_poll", True),
    ("poll", "  connector poll (HTTP + parse + sandbox)", False),
    ("sandbox", "    of which sandbox handler", False),
    ("connector_own", "    connector's own (poll - sandbox)", False),
    ("e2e_store", "  store record_poll", False),
    ("e2e_own", "end-to-end without sandbox time", True),
)


def report(m: Measured, count: int, repeat: int) -> str:
    """The printed table."""
    raw_rate = count / m.median("raw")
    lines = [
        f"inqd ingest benchmark: {count:,} product inquiries ({m.open_rows:,} open), median of {repeat} run(s)",
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.machine()}; WAL, synchronous=FULL, one transaction per stage",
        f"load average before {LOAD_AT_START}, now {load_average()}",
        "",
        f"{'stage':<46}{'median s':>9}{'min s':>8}{'max s':>8}{'rows/s':>10}{'vs raw':>8}",
    ]
    for key, label, compared in STAGES:
        runs = m.seconds[key]
        rate = count / statistics.median(runs)
        ratio = f"{rate / raw_rate:.1%}" if compared else ""
        lines.append(
            f"{label:<46}{statistics.median(runs):9.3f}{min(runs):8.3f}{max(runs):8.3f}{rate:10,.0f}{ratio:>8}"
        )
    store_ratio = m.median("raw") / m.median("store_new")
    lines += [
        "",
        f"connector requests per poll: {m.requests}",
        f"ratio store-only / raw: {store_ratio:.1%}   end-to-end / raw: {m.median('raw') / m.median('e2e'):.1%}"
        f"   (without sandbox time: {m.median('raw') / m.median('e2e_own'):.1%})",
        f"target (issue 8) store-only >= 50 % of raw: {'met' if store_ratio >= 0.5 else 'NOT met'}",
    ]
    return "\n".join(lines)


def _fresh_postgres_database(admin_url: str, name: str) -> str:
    """A new empty database on the server of `admin_url` (dropped first if a run left it); returns its URL."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    # A URL, not a libpq "key=value" string: Store.open takes any other string for a SQLite file's path.
    return urlsplit(admin_url)._replace(path=f"/{name}").geturl()


async def measure_postgres(result: PollResult, repeat: int, admin_url: str) -> dict[str, list[float]]:
    """The store-only stages on PostgreSQL (`admin_url` may create databases): each run in fresh databases."""
    runs: dict[str, list[float]] = {"store_new": [], "store_summary": [], "store_repoll": []}
    for n in range(repeat):
        store = await run_store(result, _fresh_postgres_database(admin_url, f"inqd_bench_{n}_new"))
        summary = await run_store(
            result, _fresh_postgres_database(admin_url, f"inqd_bench_{n}_summary"), notify_new=False
        )
        runs["store_new"].append(store.new_s)
        runs["store_summary"].append(summary.new_s)
        runs["store_repoll"].append(store.repoll_s)
    return runs


def report_postgres(sqlite: Measured, postgres: dict[str, list[float]], count: int) -> str:
    """The store-only stages on both engines, side by side."""
    lines = [
        "",
        "store on PostgreSQL beside SQLite, same PollResult, one transaction per stage; "
        f"load average now {load_average()}",
        f"{'stage':<46}{'SQLite s':>9}{'PG s':>8}{'PG rows/s':>11}{'PG/SQLite':>10}",
    ]
    for key, label, _ in STAGES[2:5]:
        pg_s = statistics.median(postgres[key])
        lines.append(
            f"{label:<46}{sqlite.median(key):9.3f}{pg_s:8.3f}{count / pg_s:11,.0f}{pg_s / sqlite.median(key):10.2f}"
        )
    return "\n".join(lines)


async def profile_store(result: PollResult, base_dir: str | None, top: int) -> str:
    """cProfile of one store-only `record_poll` (event-loop thread only; SQLite runs in aiosqlite's thread)."""
    profile = cProfile.Profile()
    with tempfile.TemporaryDirectory(prefix="inqd-bench-", dir=base_dir) as tmp:
        await run_store(result, Path(tmp) / "store.db", profile=profile)
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def _throwaway_cluster(parser: argparse.ArgumentParser) -> AbstractContextManager[PostgresServer]:
    """The test suite's throwaway cluster (initdb in a temporary directory, a free loopback port; removed after)."""
    from tests import postgres_server  # the one place that knows how to start one; only --postgres needs it

    if postgres_server.binaries() is None:
        parser.error("--postgres: PostgreSQL is not installed (initdb, pg_ctl, postgres; Debian package postgresql)")
    return postgres_server.running_server()


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the benchmark, print the table (and a profile with `--profile`)."""
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="inquiries to ingest (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per stage; the median is printed (default 3)")
    parser.add_argument("--seed", type=int, default=8, help="rng seed of the sandbox data (default 8)")
    parser.add_argument("--dir", default=None, help="where the temporary databases go (default: the system tmp)")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of one store-only run")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--postgres-url",
        default=None,
        help="also run the store-only stages on PostgreSQL: a URL whose user may create databases",
    )
    where.add_argument(
        "--postgres",
        action="store_true",
        help="also run them on a throwaway PostgreSQL cluster started for the run (fsync off; needs the server)",
    )
    args = parser.parse_args(argv)
    if args.count < 1 or args.repeat < 1:
        parser.error("--count and --repeat must be at least 1")
    with ExitStack() as stack:
        postgres_url = args.postgres_url
        if args.postgres:
            postgres_url = stack.enter_context(_throwaway_cluster(parser)).url()
        measured, result = asyncio.run(measure(args.count, args.repeat, args.seed, args.dir))
        print(report(measured, args.count, args.repeat))
        if postgres_url:
            postgres = asyncio.run(measure_postgres(result, args.repeat, postgres_url))
            print(report_postgres(measured, postgres, args.count))
    if args.profile:
        print()
        print(asyncio.run(profile_store(result, args.dir, top=25)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
