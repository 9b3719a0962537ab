"""Crash soak: the real daemon is SIGKILLed K times while N inquiries arrive; nothing may be lost or doubled.

Run `python -m bench.soak --inquiries N --kills K [--seed S] [--poll-interval 0.5]`; the CI
variant is tests/test_soak.py. Exit code 0 when every invariant holds, 1 otherwise.

One run, all on 127.0.0.1 and in a temporary directory:
- a CoupangSandbox served by SandboxServer in a thread of this process, seeded with a small backlog;
- the daemon as a subprocess (`python -m aggregator run --config inqd.toml`, keys in the environment, no
  quiet hours, a JSON-lines sink file), its output going to a log file (a full pipe would block it);
- once the first daemon has recorded its first (backfilling) poll, a feeder thread adds N inquiries at
  seeded moments over `duration_s`, while the main thread SIGKILLs the daemon at K seeded moments, one per
  equal slice of the run, and restarts it at once. A share of the kills waits for the next line in the sink
  and kills within microseconds of it: between "the channel took it" and "marked sent", the window that
  makes at-least-once delivery send a message twice;
- then the last daemon catches up (every inquiry stored, every push delivered, no push pending) and stops
  on SIGTERM; the database is read with sqlite3, read-only, the sink file line by line.

Invariants: every inquiry stored exactly once; every inquiry added after the first poll delivered as a
new_inquiry at least once (the backlog gets one backfill summary instead); at most one duplicate per kill,
none without a kill; a clean exit on SIGTERM.

A duplicate is charged to the kill of the daemon that wrote the previous copy: it sent, died before
marking the row sent, and a later daemon sent the row again.

Speed: a row a killed daemon had claimed comes back only when its lease (`Dispatcher` lease_s, 120 s; the
config does not expose it) runs out, so a kill inside a delivery costs up to that long at the end; and every
poll re-reads the day's inquiries at the connector's request budget (at most 5 requests/s for Coupang).
"""

from __future__ import annotations

import argparse
import bisect
import inspect
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import IO, Any, Protocol

from aggregator.dispatcher import Dispatcher
from connectors.sandbox import CoupangSandbox, InquiryGenerator, SandboxServer
from connectors.sandbox.arrivals import ArrivalGenerator

ACCOUNT = "shop"
STREAM = "product_qna"
VENDOR, ACCESS_KEY, SECRET_KEY = "A00012345", "soak-access", "soak-secret"
NEW_INQUIRY = "new_inquiry"
# The lease the daemon's dispatcher claims outbox rows with (the daemon keeps the default).
LEASE_S = float(inspect.signature(Dispatcher).parameters["lease_s"].default)
FIRST_POLL_S = 30.0  # from the first start to its first recorded poll
EXIT_S = 30.0  # from SIGKILL or SIGTERM to the exit
CATCH_UP_S = 30.0  # after the last arrival, beyond any lease a killed daemon left behind
SEND_WAIT_S = 5.0  # a kill "after the next delivery" waits this long for one, then kills anyway
CHECK_EVERY_S = 0.05  # how often the database and sink are looked at while waiting
LOG_TAIL_CHARS = 3000
DESCRIPTION = "Crash soak: SIGKILL the daemon at random moments while inquiries arrive; nothing lost or doubled."


@dataclass(frozen=True, slots=True)
class SoakPlan:
    """When inquiries arrive and when the daemon is killed, in seconds from the start of the live phase."""

    arrivals_s: tuple[float, ...]
    kills_s: tuple[float, ...]
    after_send: tuple[bool, ...]  # per kill: wait for the next delivery, then kill


def make_plan(inquiries: int, kills: int, *, seed: int, duration_s: float, send_kill_share: float = 0.0) -> SoakPlan:
    """A seeded plan: arrivals uniform over the run, one kill in each of `kills` equal slices (not at their edges)."""
    if inquiries < 1 or kills < 0 or duration_s <= 0 or not 0.0 <= send_kill_share <= 1.0:
        raise ValueError("need inquiries >= 1, kills >= 0, duration_s > 0 and 0 <= send_kill_share <= 1")
    rng = random.Random(f"soak-plan:{seed}")
    arrivals = sorted(rng.uniform(0.0, duration_s) for _ in range(inquiries))
    slice_s = duration_s / kills if kills else duration_s
    kill_at = [slice_s * (k + rng.uniform(0.1, 0.9)) for k in range(kills)]
    after_send = [rng.random() < send_kill_share for _ in range(kills)]
    return SoakPlan(tuple(arrivals), tuple(kill_at), tuple(after_send))


@dataclass(frozen=True, slots=True)
class SoakResult:
    """The counts of one soak run; `failures` names every invariant that did not hold."""

    seed: int
    produced: int  # inquiries added to the sandbox, backlog included
    backlog: int  # of which existed before the first poll (one backfill summary, no pushes)
    stored: int  # rows in the store for the account
    stored_once: int  # produced inquiries with exactly one row
    missing: int  # produced inquiries with no row
    foreign: int  # rows for inquiries nobody produced
    expected_pushes: int  # inquiries added after the first poll
    delivered: int  # of which reached the sink as new_inquiry at least once
    push_lines: int  # new_inquiry lines in the sink
    duplicates: int  # push lines beyond the first for an inquiry
    duplicates_per_kill: tuple[int, ...]
    unexplained_duplicates: int  # a copy sent again by the same daemon, or after no kill
    unexpected_pushes: int  # new_inquiry lines for backlog or unknown inquiries
    outbox_doubles: int  # inquiries with more than one new_inquiry outbox row
    torn_lines: int  # sink lines that are not whole JSON
    kills: int
    kills_after_send: int  # kills made within microseconds of a sink write
    restarts: int
    stranded_leases: int  # outbox rows a killed daemon had claimed and not finished
    caught_up: bool
    waited_for: str  # what the catch-up still lacked when it gave up ("" when caught up)
    catch_up_s: float
    exit_code: int | None  # of the last daemon, stopped with SIGTERM
    wall_s: float

    @property
    def failures(self) -> tuple[str, ...]:
        """One line per invariant that did not hold; empty when the run passed."""
        checks = (
            (self.missing == 0, f"{self.missing} inquiries never stored"),
            (
                self.stored_once == self.produced,
                f"{self.produced - self.stored_once} inquiries not stored exactly once",
            ),
            (self.foreign == 0, f"{self.foreign} stored inquiries nobody produced"),
            (self.delivered == self.expected_pushes, f"{self.expected_pushes - self.delivered} pushes never delivered"),
            (
                max(self.duplicates_per_kill, default=0) <= 1,
                f"a kill caused {max(self.duplicates_per_kill)} duplicates",
            ),
            (self.unexplained_duplicates == 0, f"{self.unexplained_duplicates} duplicates not caused by a kill"),
            (self.unexpected_pushes == 0, f"{self.unexpected_pushes} pushes for backfilled or unknown inquiries"),
            (self.outbox_doubles == 0, f"{self.outbox_doubles} inquiries with two new_inquiry outbox rows"),
            (self.torn_lines == 0, f"{self.torn_lines} torn sink lines"),
            (self.restarts == self.kills, f"{self.kills} kills but {self.restarts} restarts"),
            (self.caught_up, f"the last daemon did not catch up in time: {self.waited_for}"),
            (self.exit_code == 0, f"the last daemon exited with {self.exit_code} on SIGTERM"),
        )
        return tuple(message for ok, message in checks if not ok)

    def report(self) -> str:
        """The counts as printed lines."""
        per_kill = " ".join(str(n) for n in self.duplicates_per_kill) or "-"
        rows = (
            ("inquiries produced", f"{self.produced} ({self.backlog} before the first poll)"),
            ("stored", str(self.stored)),
            ("stored exactly once", str(self.stored_once)),
            ("missing / foreign", f"{self.missing} / {self.foreign}"),
            ("expected new_inquiry pushes", str(self.expected_pushes)),
            ("delivered at least once", str(self.delivered)),
            ("push lines in the sink", str(self.push_lines)),
            ("duplicates", f"{self.duplicates} (max per kill {max(self.duplicates_per_kill, default=0)})"),
            ("duplicates per kill", per_kill),
            ("unexplained duplicates", str(self.unexplained_duplicates)),
            ("unexpected pushes", str(self.unexpected_pushes)),
            ("outbox doubles / torn lines", f"{self.outbox_doubles} / {self.torn_lines}"),
            ("kills / after a delivery", f"{self.kills} / {self.kills_after_send}"),
            ("restarts", str(self.restarts)),
            ("leases left by kills", str(self.stranded_leases)),
            ("catch-up", f"{self.catch_up_s:.1f} s" + ("" if self.caught_up else f" (gave up: {self.waited_for})")),
            ("last exit code", str(self.exit_code)),
            ("wall time", f"{self.wall_s:.1f} s"),
        )
        width = max(len(name) for name, _ in rows)
        lines = [f"crash soak, seed {self.seed}"]
        lines += [f"  {name:<{width}}  {value}" for name, value in rows]
        failures = self.failures
        lines.append("result: OK" if not failures else "result: FAILED")
        lines += [f"  - {failure}" for failure in failures]
        return "\n".join(lines)


def write_config(workdir: Path, *, base_url: str, poll_interval_s: float) -> Path:
    """The daemon's config: one Coupang account on the sandbox, a sink file, no quiet hours, no admin port."""
    path = workdir / "inqd.toml"
    path.write_text(
        f"""\
db_path = {json.dumps(str(workdir / "inqd.db"))}
quiet_hours = []

[admin]
enabled = false

[[accounts]]
marketplace = "coupang"
id = "{ACCOUNT}"
vendor_id = "{VENDOR}"
base_url = {json.dumps(base_url)}
poll_interval_s = {poll_interval_s}
max_requests_per_s = 5
streams = ["{STREAM}"]

[[notifiers]]
type = "sink"
console = false
file = {json.dumps(str(workdir / "sink.jsonl"))}
""",
        encoding="utf-8",
    )
    return path


class DaemonRunner:
    """Starts, kills and stops successive daemons on one config; output goes to one log file."""

    def __init__(self, config: Path, log_path: Path, secrets: Mapping[str, str] | None = None) -> None:
        self._config = config
        self._log_path = log_path
        default_secrets = {
            f"INQD_{ACCOUNT.upper()}__ACCESS_KEY": ACCESS_KEY,
            f"INQD_{ACCOUNT.upper()}__SECRET_KEY": SECRET_KEY,
        }
        self._env = {**os.environ, "PYTHONUNBUFFERED": "1", **(default_secrets if secrets is None else secrets)}
        self._proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start the next daemon."""
        assert self._proc is None or self._proc.poll() is not None, "a daemon is still running"
        with self._log_path.open("ab") as log:
            log.write(f"\n===== soak: daemon start {self.starts} =====\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "aggregator", "run", "--config", str(self._config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._config.parent,
                env=self._env,
            )
        self.starts += 1

    def running(self) -> subprocess.Popen[bytes]:
        """The current daemon; an AssertionError with its log when it has exited on its own."""
        proc = self._proc
        assert proc is not None, "no daemon was started"
        code = proc.poll()
        if code is not None:
            raise AssertionError(f"daemon {self.starts - 1} exited on its own with {code}\n{self.log_tail()}")
        return proc

    def kill(self) -> None:
        """SIGKILL the current daemon and wait for it to be gone."""
        proc = self.running()
        proc.send_signal(signal.SIGKILL)
        try:
            proc.wait(timeout=EXIT_S)
        except subprocess.TimeoutExpired as err:
            raise AssertionError(f"daemon {self.starts - 1} still running {EXIT_S:g} s after SIGKILL") from err

    def terminate(self) -> int:
        """SIGTERM the current daemon; its exit code."""
        proc = self.running()
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=EXIT_S)
        except subprocess.TimeoutExpired as err:
            raise AssertionError(
                f"daemon {self.starts - 1} did not exit within {EXIT_S:g} s of SIGTERM\n{self.log_tail()}"
            ) from err

    def close(self) -> None:
        """Kill whatever still runs (any failure path)."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=EXIT_S)

    def log_tail(self) -> str:
        """The end of the daemons' output, for failure messages."""
        try:
            text = self._log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return "(no daemon output)"
        return "daemon output (tail):\n" + text[-LOG_TAIL_CHARS:]


class Feeder(threading.Thread):
    """Adds one generated inquiry to the sandbox at each planned moment; stops early when told to."""

    def __init__(self, generator: ArrivalGenerator[Any], arrivals_s: Sequence[float], start: float) -> None:
        super().__init__(name="soak-feeder", daemon=True)
        self._generator = generator
        self._arrivals_s = arrivals_s
        self._start = start
        self.stop = threading.Event()
        self.added: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        """Feed until every planned inquiry is added or `stop` is set."""
        try:
            for offset in self._arrivals_s:
                if self.stop.wait(max(0.0, self._start + offset - time.monotonic())):
                    return
                now = datetime.now(UTC)
                # Received up to a second ago: a marketplace's timestamp trails its list a little.
                self.added += self._generator.seed(1, start=now - timedelta(seconds=1), end=now)
        except BaseException as err:  # noqa: BLE001 - handed to the main thread, which raises it
            self.error = err


@contextmanager
def _read_only(db_path: Path) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(f"{db_path.as_uri()}?mode=ro", uri=True, timeout=5.0)
    try:
        yield db
    finally:
        db.close()


def query(db_path: Path, sql: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
    """Rows of `sql` from the daemon's database; no rows while it does not exist yet."""
    if not db_path.exists():
        return []
    try:
        with _read_only(db_path) as db:
            return list(db.execute(sql, params))
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):  # the first daemon has not migrated yet
            return []
        raise


@dataclass(frozen=True, slots=True)
class _SinkLine:
    offset: int
    kind: str
    row_id: int | None


def read_sink(path: Path) -> tuple[list[_SinkLine], int]:
    """Whole lines of the sink file with their byte offsets, and the number of lines that are not JSON."""
    if not path.exists():
        return [], 0
    lines: list[_SinkLine] = []
    torn = 0
    offset = 0
    for raw in path.read_bytes().splitlines(keepends=True):
        start, offset = offset, offset + len(raw)
        if not raw.endswith(b"\n"):
            break  # being written right now
        try:
            record = json.loads(raw)
        except ValueError:
            torn += 1
            continue
        group = str(record.get("group") or "")
        row_id = int(group[4:]) if group.startswith("inq-") and group[4:].isdigit() else None
        lines.append(_SinkLine(start, str(record["kind"]), row_id))
    return lines, torn


def _stored_ids(db_path: Path) -> dict[int, int]:
    """Store row id -> marketplace inquiry id, for the soak's account."""
    rows = query(db_path, "SELECT id, external_id FROM inquiries WHERE account_id = ?", (ACCOUNT,))
    return {int(str(row_id)): int(str(external)) for row_id, external in rows}


def _pushed(db_path: Path, sink: Path) -> set[int]:
    ids = _stored_ids(db_path)
    lines, _ = read_sink(sink)
    return {ids[line.row_id] for line in lines if line.kind == NEW_INQUIRY and line.row_id in ids}


def _pending_pushes(db_path: Path) -> tuple[int, datetime | None]:
    """How many new_inquiry rows are still pending, and the latest lease among them."""
    rows = query(
        db_path,
        "SELECT COUNT(*), MAX(lease_until) FROM outbox WHERE kind = ? AND state = 'pending'",
        (NEW_INQUIRY,),
    )
    count, lease = rows[0] if rows else (0, None)
    until = datetime.fromisoformat(str(lease).replace("Z", "+00:00")) if lease is not None else None
    return int(str(count)), until


def _leased_now(db_path: Path) -> set[int]:
    """Outbox rows claimed and not finished whose lease has not run out: after a kill, the dead daemons'."""
    now = datetime.now(UTC).isoformat(timespec="microseconds")[:-6] + "Z"  # the store's fixed-width UTC text
    rows = query(db_path, "SELECT id FROM outbox WHERE state = 'pending' AND lease_until > ?", (now,))
    return {int(str(row[0])) for row in rows}


def _wait_first_poll(daemons: DaemonRunner, db_path: Path) -> None:
    deadline = time.monotonic() + FIRST_POLL_S
    while time.monotonic() < deadline:
        daemons.running()
        if query(db_path, "SELECT 1 FROM cursors WHERE account_id = ? AND stream = ?", (ACCOUNT, STREAM)):
            return
        time.sleep(CHECK_EVERY_S)
    raise AssertionError(f"the first daemon recorded no poll within {FIRST_POLL_S:g} s\n{daemons.log_tail()}")


def _kill_after_next_delivery(daemons: DaemonRunner, sink: Path) -> bool:
    """SIGKILL right after the sink file next grows; True when it did within SEND_WAIT_S (else killed anyway)."""
    size = sink.stat().st_size if sink.exists() else 0
    deadline = time.monotonic() + SEND_WAIT_S
    grew = False
    # A spin, not a sleep: the window between the sink write and "marked sent" lasts a few milliseconds.
    while time.monotonic() < deadline:
        try:
            grew = os.stat(sink).st_size > size
        except FileNotFoundError:
            grew = False
        if grew:
            break
    daemons.kill()
    return grew


def _catch_up(
    daemons: DaemonRunner, db_path: Path, sink: Path, produced: set[int], expected: set[int]
) -> tuple[bool, str]:
    """Wait until every inquiry is stored, every push delivered and none pending; extends over leases."""
    started = time.monotonic()
    limit = started + LEASE_S + CATCH_UP_S
    deadline = started + CATCH_UP_S
    lacking = ""
    while time.monotonic() < deadline:
        daemons.running()
        missing = produced - set(_stored_ids(db_path).values())
        undelivered = expected - _pushed(db_path, sink)
        pending, lease_until = _pending_pushes(db_path)
        if not (missing or undelivered or pending):
            return True, ""
        lacking = f"{len(missing)} not stored, {len(undelivered)} not delivered, {pending} pushes pending"
        if lease_until is not None:
            lacking += f" (lease until {lease_until.isoformat(timespec='seconds')})"
            lease_left_s = (lease_until - datetime.now(UTC)).total_seconds()
            deadline = min(limit, max(deadline, time.monotonic() + lease_left_s + CATCH_UP_S))
        time.sleep(CHECK_EVERY_S)
    return False, lacking


def charge_duplicates(copies: Sequence[Sequence[int]], *, kills: int) -> tuple[tuple[int, ...], int]:
    """Duplicates per kill, and those no kill explains, from which daemon wrote each copy of each push.

    Daemon i is the one kill i ended. Each copy after the first is charged to the kill of the daemon that wrote
    the copy before it (that daemon sent, then died before marking the row sent); a copy written by the same
    daemon again, or after a daemon that was never killed, is unexplained.
    """
    per_kill = [0] * kills
    unexplained = 0
    for daemons in copies:
        for previous, current in pairwise(daemons):
            if previous < current and previous < kills:
                per_kill[previous] += 1
            else:
                unexplained += 1
    return tuple(per_kill), unexplained


def _count(
    *,
    seed: int,
    db_path: Path,
    sink: Path,
    backlog: Sequence[int],
    live: Sequence[int],
    kill_offsets: Sequence[int],
    kills_after_send: int,
    restarts: int,
    stranded: int,
    caught_up: tuple[bool, str],
    catch_up_s: float,
    exit_code: int | None,
    wall_s: float,
) -> SoakResult:
    produced = set(backlog) | set(live)
    rows = query(db_path, "SELECT id, external_id FROM inquiries WHERE account_id = ?", (ACCOUNT,))
    per_external = Counter(int(str(external)) for _, external in rows)
    ids = {int(str(row_id)): int(str(external)) for row_id, external in rows}
    outbox = query(
        db_path,
        "SELECT COUNT(*) FROM (SELECT inquiry_id FROM outbox WHERE kind = ? GROUP BY inquiry_id HAVING COUNT(*) > 1)",
        (NEW_INQUIRY,),
    )
    lines, torn = read_sink(sink)
    pushes = [line for line in lines if line.kind == NEW_INQUIRY]
    # Which daemon wrote a line: daemon i wrote everything between the (i-1)-th and the i-th kill.
    copies: dict[int | None, list[int]] = defaultdict(list)
    for line in pushes:
        copies[ids.get(line.row_id) if line.row_id is not None else None].append(
            bisect.bisect_right(kill_offsets, line.offset)
        )
    per_kill, unexplained = charge_duplicates(list(copies.values()), kills=len(kill_offsets))
    expected = set(live)
    return SoakResult(
        seed=seed,
        produced=len(produced),
        backlog=len(backlog),
        stored=len(rows),
        stored_once=sum(1 for inquiry in produced if per_external[inquiry] == 1),
        missing=sum(1 for inquiry in produced if per_external[inquiry] == 0),
        foreign=sum(1 for external in per_external if external not in produced),
        expected_pushes=len(expected),
        delivered=len(expected & {key for key in copies if key is not None}),
        push_lines=len(pushes),
        duplicates=sum(len(daemons) - 1 for daemons in copies.values()),
        duplicates_per_kill=per_kill,
        unexplained_duplicates=unexplained,
        unexpected_pushes=sum(len(daemons) for key, daemons in copies.items() if key not in expected),
        outbox_doubles=int(str(outbox[0][0])) if outbox else 0,
        torn_lines=torn,
        kills=len(kill_offsets),
        kills_after_send=kills_after_send,
        restarts=restarts,
        stranded_leases=stranded,
        caught_up=caught_up[0],
        waited_for=caught_up[1],
        catch_up_s=catch_up_s,
        exit_code=exit_code,
        wall_s=wall_s,
    )


def run_soak(
    inquiries: int,
    kills: int,
    seed: int = 1,
    *,
    poll_interval_s: float = 0.5,
    duration_s: float | None = None,
    backlog: int = 3,
    send_kill_share: float = 0.0,
    workdir: Path | None = None,
) -> SoakResult:
    """Run one crash soak (see the module docstring); `workdir` is kept, a temporary one is removed."""
    started = time.monotonic()
    duration = duration_s if duration_s is not None else max(8.0, 0.15 * inquiries)
    plan = make_plan(inquiries, kills, seed=seed, duration_s=duration, send_kill_share=send_kill_share)
    sandbox = CoupangSandbox(
        vendor_id=VENDOR, access_key=ACCESS_KEY, secret_key=SECRET_KEY, now=lambda: datetime.now(UTC)
    )
    # No call-center stream and no seller answers: every inquiry added after the first poll must be pushed.
    generator = InquiryGenerator(sandbox, rng=random.Random(seed), call_center_share=0.0, answer_share=0.0)
    now = datetime.now(UTC)
    backlog_ids = generator.seed(backlog, start=now - timedelta(hours=6), end=now - timedelta(minutes=1))
    with ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="inqd-soak-")))
        db_path, sink = workdir / "inqd.db", workdir / "sink.jsonl"
        server = stack.enter_context(SandboxServer(sandbox.handler))
        daemons = DaemonRunner(
            write_config(workdir, base_url=server.url, poll_interval_s=poll_interval_s), workdir / "daemon.log"
        )
        stack.callback(daemons.close)
        daemons.start()
        _wait_first_poll(daemons, db_path)
        live_start = time.monotonic()
        feeder = Feeder(generator, plan.arrivals_s, live_start)
        stack.callback(feeder.join, EXIT_S)
        stack.callback(feeder.stop.set)
        feeder.start()
        kill_offsets: list[int] = []
        after_send = 0
        stranded: set[int] = set()
        for kill_s, wait_for_send in zip(plan.kills_s, plan.after_send, strict=True):
            time.sleep(max(0.0, live_start + kill_s - time.monotonic()))
            if wait_for_send:
                after_send += _kill_after_next_delivery(daemons, sink)
            else:
                daemons.kill()
            kill_offsets.append(sink.stat().st_size if sink.exists() else 0)
            stranded |= _leased_now(db_path)
            daemons.start()
        feeder.join(timeout=max(0.0, live_start + duration - time.monotonic()) + EXIT_S)
        if feeder.is_alive():
            raise AssertionError(f"the feeder did not add its {inquiries} inquiries in time")
        if feeder.error is not None:
            raise AssertionError("the feeder failed") from feeder.error
        catch_up_start = time.monotonic()
        caught_up = _catch_up(daemons, db_path, sink, set(backlog_ids) | set(feeder.added), set(feeder.added))
        catch_up_s = time.monotonic() - catch_up_start
        exit_code = daemons.terminate()
        result = _count(
            seed=seed,
            db_path=db_path,
            sink=sink,
            backlog=backlog_ids,
            live=feeder.added,
            kill_offsets=kill_offsets,
            kills_after_send=after_send,
            restarts=daemons.starts - 1,
            stranded=len(stranded),
            caught_up=caught_up,
            catch_up_s=catch_up_s,
            exit_code=exit_code,
            wall_s=time.monotonic() - started,
        )
    return result


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


class SoakOutcome(Protocol):
    """What a soak run returns: its failures and the report it prints."""

    @property
    def failures(self) -> Sequence[str]:
        """What did not hold (empty when every invariant did)."""
        ...

    def report(self) -> str:
        """The counts, one per line."""
        ...


def run_from_cli(name: str, keep: Path | None, run: Callable[[], SoakOutcome], out: IO[str] | None) -> int:
    """Run a soak from its command line: SIGTERM unwinds, `keep` is made, the report printed; 0 when all held."""
    stream = out or sys.stdout
    # SIGTERM (a CI timeout) unwinds like Ctrl-C, so the daemon is killed and the temporary directory removed.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    try:
        result = run()
    except AssertionError as err:
        print(f"{name} aborted: {err}", file=stream)
        return 1
    print(result.report(), file=stream)
    return 0 if not result.failures else 1


def main(argv: Sequence[str] | None = None, out: IO[str] | None = None) -> int:
    """Command-line entry: run, print the counts, 0 when every invariant holds."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=DESCRIPTION)
    parser.add_argument("--inquiries", type=int, default=200, help="inquiries added after the first poll")
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs (each followed by a restart)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--poll-interval", type=float, default=0.5, help="seconds (allowed on loopback only)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of arrivals (default 0.15 s each)")
    parser.add_argument("--backlog", type=int, default=5, help="inquiries before the first poll")
    parser.add_argument("--send-kill-share", type=float, default=0.3, help="share of kills made right after a push")
    parser.add_argument("--keep", type=Path, default=None, help="use this directory and keep it (db, sink, log)")
    args = parser.parse_args(argv)
    return run_from_cli(
        "crash soak",
        args.keep,
        lambda: run_soak(
            args.inquiries,
            args.kills,
            args.seed,
            poll_interval_s=args.poll_interval,
            duration_s=args.duration,
            backlog=args.backlog,
            send_kill_share=args.send_kill_share,
            workdir=args.keep,
        ),
        out,
    )


if __name__ == "__main__":
    sys.exit(main())
