"""Crash soak of several instances: three `inqd run` on one PostgreSQL share eight accounts on the four marketplaces'
sandboxes; a random one is SIGKILLed K times and restarted, while inquiries arrive. Nothing may be lost or doubled,
no account may be polled by two instances at once, and a dead instance's accounts are taken over in time.

Run `python -m bench.soak_instances [--inquiries 120] [--kills 6] [--seed 1] [--duration S] [--keep DIR]`; the
CI variant is tests/test_soak_instances.py. Exit code 0 when every invariant holds, 1 otherwise.

One run, all on 127.0.0.x and in a temporary directory:
- a throwaway PostgreSQL cluster (tests/postgres_server.py: initdb from the system packages, a free port);
- two accounts on each marketplace (coupang, naver, elevenst, esm), one sandbox object each, with one inquiry
  already there; each instance reaches an account through a `SandboxServer` of its own on its own loopback
  address (127.0.0.1, .2, .3), all wrapping the account's sandbox with one `OverlapCounter`, which tells the
  instances' requests apart;
- the three instances (bench/soak.py's DaemonRunner), each in a directory of its own with its own sink file, on
  the same database (INQD_DATABASE_URL), lease_seconds 18;
- once every account has been polled, feeder threads add N inquiries at seeded moments (each to a seeded account)
  while the main thread SIGKILLs a seeded instance at K moments, one per equal slice of the run, and restarts it
  at once;
- then every inquiry must be stored, every push delivered, none pending and every killed instance's accounts
  polled again; the instances stop on SIGTERM.

Invariants: every inquiry stored exactly once; every inquiry added after the first polls pushed (new_inquiry) at
least once; at most one duplicate per kill and none without one (a copy counts against a kill when the instance
killed there wrote the copy before it and the later copy was written after the kill); no request for an account
while another instance had one in flight; every killed instance's accounts polled again within two lease periods
of the kill (the takeover time, printed per account); a clean exit of every instance on SIGTERM.

The accounts and the instances' configs are in bench/soak_shops.py, the counts, the report and how duplicates are
charged to kills in bench/soak_result.py.

Speed: an outbox row a killed instance had claimed comes back when the dispatcher's lease (120 s) runs out, so a
kill inside a delivery costs up to that long at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import psycopg

from bench._proc import load_average
from bench.soak import EXIT_S, LEASE_S, NEW_INQUIRY, DaemonRunner, Feeder, make_plan, read_sink, run_from_cli
from bench.soak_result import INSTANCES, InstancesSoakResult, Kill, Takeover, charge_copies
from bench.soak_shops import MARKETPLACES, Shop, make_shop, write_config
from connectors.sandbox import SandboxServer
from tests.postgres_server import running_server

HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
FIRST_POLL_S = 60.0  # from the start to every account polled once
CATCH_UP_S = 60.0  # after the last arrival (extended over outbox leases a kill left behind)
CHECK_EVERY_S = 0.2
DESCRIPTION = (
    "Crash soak of three instances on one PostgreSQL: SIGKILL one at random; nothing lost, doubled or overlapped."
)


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of `sql` from the shared database; none while the first instance has not migrated it yet."""
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            return list(conn.execute(sql))
    except psycopg.errors.UndefinedTable:
        return []


@dataclass
class Fleet:
    """The running instances on one database: their runners (one per name in INSTANCES), sinks and shops."""

    url: str
    runners: list[DaemonRunner]
    sinks: list[Path]
    shops: list[Shop]

    def check_running(self) -> None:
        """An AssertionError with the log's tail when an instance has exited on its own."""
        for runner in self.runners:
            runner.running()

    def held(self, instance: str, at: float) -> list[str]:
        """The accounts whose last request before `at` came from `instance`: those it was polling."""
        return [
            shop.account
            for shop in self.shops
            if (last := shop.counter.last_before(at)) is not None and last.instance == instance
        ]

    def stored(self) -> list[tuple[int, str, int]]:
        """(row id, account, the marketplace's number of the inquiry) of every stored inquiry."""
        rows = _rows(self.url, "SELECT id, account_id, external_id FROM inquiries")
        return [(int(row_id), str(account), int(re.findall(r"\d+", str(ext))[-1])) for row_id, account, ext in rows]

    def pushed(self) -> set[tuple[str, int]]:
        """The inquiries (account, number) some instance pushed as new at least once."""
        ids = {row_id: (account, number) for row_id, account, number in self.stored()}
        lines = [line for sink in self.sinks for line in read_sink(sink)[0] if line.kind == NEW_INQUIRY]
        return {ids[line.row_id] for line in lines if line.row_id in ids}


def _wait_first_polls(fleet: Fleet) -> None:
    """Until every account has a cursor (its first poll recorded): later arrivals are new, not backfilled."""
    deadline = time.monotonic() + FIRST_POLL_S
    accounts = {shop.account for shop in fleet.shops}
    while time.monotonic() < deadline:
        fleet.check_running()
        if {str(row[0]) for row in _rows(fleet.url, "SELECT DISTINCT account_id FROM cursors")} >= accounts:
            return
        time.sleep(CHECK_EVERY_S)
    raise AssertionError(f"not every account was polled within {FIRST_POLL_S:g} s\n{fleet.runners[0].log_tail()}")


_PENDING = f"SELECT COUNT(*), MAX(lease_until) FROM outbox WHERE kind = '{NEW_INQUIRY}' AND state = 'pending'"


def _catch_up(
    fleet: Fleet, kills: Sequence[Kill], produced: set[tuple[str, int]], expected: set[tuple[str, int]]
) -> tuple[bool, str]:
    """Until every inquiry is stored, every push delivered and none pending, and every killed instance's accounts
    polled again; extended over outbox leases a kill left behind."""
    counters = {shop.account: shop.counter for shop in fleet.shops}
    started = time.monotonic()
    deadline, limit = started + CATCH_UP_S, started + CATCH_UP_S + LEASE_S
    lacking = ""
    while time.monotonic() < deadline:
        fleet.check_running()
        missing = produced - {(account, number) for _, account, number in fleet.stored()}
        undelivered = expected - fleet.pushed()
        pending, lease = _rows(fleet.url, _PENDING)[0]
        untaken = [account for k in kills for account in k.held if counters[account].first_after(k.at) is None]
        if not (missing or undelivered or pending or untaken):
            return True, ""
        lacking = f"{len(missing)} not stored, {len(undelivered)} not delivered, {pending} pending, untaken {untaken}"
        if lease is not None:
            left_s = (datetime.fromisoformat(str(lease).replace("Z", "+00:00")) - datetime.now(UTC)).total_seconds()
            deadline = min(limit, max(deadline, time.monotonic() + left_s + CATCH_UP_S))
        time.sleep(CHECK_EVERY_S)
    return False, lacking


def _copies(fleet: Fleet, kills: Sequence[Kill]) -> dict[tuple[str, int], list[tuple[int, int]]]:
    """Every pushed inquiry's copies in the sinks as (epoch, daemon) (see `charge_copies`)."""
    ids = {row_id: (account, number) for row_id, account, number in fleet.stored()}
    copies: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    for index, sink in enumerate(fleet.sinks):
        own = [k for k, kill in enumerate(kills) if kill.instance == index]  # the kills of this instance, in order
        for line in read_sink(sink)[0]:
            if line.kind != NEW_INQUIRY or line.row_id not in ids:
                continue
            epoch = sum(1 for kill in kills if kill.sink_sizes[index] <= line.offset)
            generation = sum(1 for k in own if kills[k].sink_sizes[index] <= line.offset)
            daemon = own[generation] if generation < len(own) else len(kills) + index
            copies[ids[line.row_id]].append((epoch, daemon))
    return copies


def _summaries(fleet: Fleet) -> dict[str, int]:
    """How many "connected" (backfill) summaries each account had, from the sinks: the body starts with its id."""
    sent = Counter(shop.account for shop in fleet.shops)  # counted from 1: subtracted below
    for sink in fleet.sinks:
        for line in sink.read_text(encoding="utf-8").splitlines() if sink.exists() else []:
            record = json.loads(line)
            if record.get("kind") == "backfill_summary":
                sent[str(record.get("body", "")).partition(":")[0]] += 1
    return {account: count - 1 for account, count in sent.items()}


def _takeovers(fleet: Fleet, kills: Sequence[Kill]) -> list[Takeover]:
    found = []
    for number, kill in enumerate(kills):
        name = INSTANCES[kill.instance]
        for shop in fleet.shops:
            if shop.account not in kill.held:
                continue
            span = shop.counter.first_after(kill.at)
            by = "" if span is None else span.instance + (" (restarted)" if span.instance == name else "")
            found.append(Takeover(number, shop.account, None if span is None else span.start - kill.at, by))
    return found


def _kill_and_restart(fleet: Fleet, instance: int) -> Kill:
    """SIGKILL one instance, note what it was polling and how long the sinks were, start it again."""
    at = time.monotonic()
    held = fleet.held(INSTANCES[instance], at)
    fleet.runners[instance].kill()
    sizes = tuple(sink.stat().st_size if sink.exists() else 0 for sink in fleet.sinks)
    fleet.runners[instance].start()
    return Kill(instance, at, held, sizes)


def _start_fleet(stack: ExitStack, workdir: Path, url: str, shops: list[Shop], poll_interval_s: float) -> Fleet:
    """One sandbox server per (account, instance) on the instance's loopback address, then the instances."""
    runners, sinks = [], []
    for name, host in zip(INSTANCES, HOSTS, strict=True):
        urls = {}
        for shop in shops:
            server = stack.enter_context(SandboxServer(shop.counter.wrap(shop.handler, name), host=host))
            urls[shop.account] = server.url
        config = write_config(workdir / name, shops, urls, poll_interval_s)
        runner = DaemonRunner(config, workdir / name / "daemon.log", {"INQD_DATABASE_URL": url})
        stack.callback(runner.close)
        runners.append(runner)
        sinks.append(workdir / name / "sink.jsonl")
    for runner in runners:
        runner.start()
    return Fleet(url, runners, sinks, shops)


def run_instances_soak(
    inquiries: int,
    kills: int,
    seed: int = 1,
    *,
    poll_interval_s: float = 1.0,
    duration_s: float | None = None,
    per_marketplace: int = 2,
    workdir: Path | None = None,
) -> InstancesSoakResult:
    """Run one soak (see the module docstring); `workdir` is kept, a temporary one is removed."""
    started, load_before = time.monotonic(), load_average()
    duration = duration_s if duration_s is not None else max(30.0, 30.0 * kills)
    plan = make_plan(inquiries, kills, seed=seed, duration_s=duration)
    rng = random.Random(f"soak-instances:{seed}")
    shops = [make_shop(m, n, random.Random(f"{seed}:{m}{n}")) for m in MARKETPLACES for n in range(per_marketplace)]
    now = datetime.now(UTC)
    backlog = {
        (s.account, s.number(i)) for s in shops for i in s.generator.seed(1, start=now - timedelta(hours=6), end=now)
    }
    arrivals: dict[str, list[float]] = defaultdict(list)
    for at in plan.arrivals_s:
        arrivals[rng.choice(shops).account].append(at)
    targets = [rng.randrange(len(INSTANCES)) for _ in plan.kills_s]
    with ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="inqd-soak-instances-")))
        url = stack.enter_context(running_server()).new_database()
        fleet = _start_fleet(stack, workdir, url, shops, poll_interval_s)
        _wait_first_polls(fleet)
        live_start = time.monotonic()
        feeders = [Feeder(s.generator, arrivals[s.account], live_start) for s in shops]
        for feeder in feeders:
            stack.callback(feeder.join, EXIT_S)
            stack.callback(feeder.stop.set)
            feeder.start()
        done: list[Kill] = []
        for kill_s, target in zip(plan.kills_s, targets, strict=True):
            time.sleep(max(0.0, live_start + kill_s - time.monotonic()))
            done.append(_kill_and_restart(fleet, target))
        for feeder in feeders:
            feeder.join(timeout=max(0.0, live_start + duration - time.monotonic()) + EXIT_S)
            if feeder.is_alive() or feeder.error is not None:
                raise AssertionError("a feeder did not add its inquiries") from feeder.error
        live = {(s.account, s.number(i)) for s, f in zip(shops, feeders, strict=True) for i in f.added}
        caught_up = _catch_up(fleet, done, backlog | live, live)
        exit_codes = tuple(runner.terminate() for runner in fleet.runners)
        return _count(fleet, done, (seed, backlog, live), caught_up, exit_codes, (started, load_before))


def _count(
    fleet: Fleet,
    kills: Sequence[Kill],
    run: tuple[int, set[tuple[str, int]], set[tuple[str, int]]],
    caught_up: tuple[bool, str],
    exit_codes: tuple[int, ...],
    started: tuple[float, str],
) -> InstancesSoakResult:
    seed, backlog, live = run
    produced = backlog | live
    per_inquiry = Counter((account, number) for _, account, number in fleet.stored())
    copies = _copies(fleet, kills)
    per_kill, unexplained = charge_copies(list(copies.values()), len(kills))
    requests: Counter[str] = Counter()
    for shop in fleet.shops:
        requests.update(shop.counter.requests)
    return InstancesSoakResult(
        seed=seed,
        produced=len(produced),
        backlog=len(backlog),
        stored_once=sum(1 for key in produced if per_inquiry[key] == 1),
        missing=sum(1 for key in produced if per_inquiry[key] == 0),
        foreign=sum(1 for key in per_inquiry if key not in produced),
        expected_pushes=len(live),
        delivered=len(live & set(copies)),
        undelivered=tuple(sorted(account for account, _ in live - set(copies))),
        summaries=_summaries(fleet),
        duplicates_per_kill=per_kill,
        unexplained_duplicates=unexplained + sum(len(c) for key, c in copies.items() if key not in live),
        overlaps={shop.account: shop.counter.overlaps for shop in fleet.shops},
        requests=dict(requests),
        takeovers=_takeovers(fleet, kills),
        kills=[INSTANCES[kill.instance] for kill in kills],
        caught_up=caught_up,
        exit_codes=exit_codes,
        wall_s=time.monotonic() - started[0],
        load=(started[1], load_average()),
    )


def main(argv: Sequence[str] | None = None, out: IO[str] | None = None) -> int:
    """Command-line entry: run, print the counts and takeover times, 0 when every invariant holds."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak_instances", description=DESCRIPTION)
    parser.add_argument("--inquiries", type=int, default=120, help="inquiries added after the first polls")
    parser.add_argument("--kills", type=int, default=6, help="SIGKILLs of a random instance, each restarted")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--poll-interval", type=float, default=1.0, help="seconds (allowed on loopback only)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of arrivals (default 30 a kill)")
    parser.add_argument("--per-marketplace", type=int, default=2, help="accounts on each of the four marketplaces")
    parser.add_argument("--keep", type=Path, default=None, help="use this directory and keep it (configs, sinks, logs)")
    args = parser.parse_args(argv)
    run: Callable[[], InstancesSoakResult] = lambda: run_instances_soak(  # noqa: E731
        args.inquiries,
        args.kills,
        args.seed,
        poll_interval_s=args.poll_interval,
        duration_s=args.duration,
        per_marketplace=args.per_marketplace,
        workdir=args.keep,
    )
    return run_from_cli("crash soak of instances", args.keep, run, out)


if __name__ == "__main__":
    sys.exit(main())
