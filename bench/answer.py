"""Answer latency: from the seller's approval to the answer request leaving inqd, p50/p99, target p99 <= 0.2 s.

Run `python -m bench.answer [--answers 200] [--polled-answers 30] [--paths daemon,poke,poll]` (`make bench-answer`).
Exit code 0 when every measured path but `poll` meets the target.

Against a CoupangSandbox served on 127.0.0.1 (SandboxServer, a thread of this process), one account with both
streams at the account's default poll interval and request budget, N product questions seeded before the start.
Per answer, one at a time with a random pause (0.5-1.0 s, above the budget's spacing) after the previous one arrived:
- start: the answer's `approved_at` in the store, written in the transaction that commits `approved` (so the time
  the commit itself takes is counted);
- end: the sandbox's receipt of the answer request (`AnswerRecord.at`, read when its handler starts, before it
  checks or stores anything: the marketplace's own processing is excluded; the HTTP parsing of the stdlib server
  in front of it is not, so the figure is an upper bound). Both are this machine's wall clock.

Three paths of an approval:
- daemon: the daemon in this process, approved through its own AnswerService (Telegram, web inbox): the approval
  wakes the sender at once;
- poke: the daemon as a subprocess with its admin API on 127.0.0.1 (with a token); approved here by the real
  `inqd answer ID -m TEXT --yes` code (another process than the daemon's), which pokes the daemon after the commit;
- poll: as poke, with the admin API disabled: the sender finds the approval at its idle store check (~2 s).
An answer can also wait for a slot of the account's request budget when a poll's request just went out; such
answers are counted apart (the budget spaces requests to the marketplace's limit on purpose).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import io
import os
import random
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.cli.main import main as inqd_main
from aggregator.daemon import Daemon
from aggregator.logs import configure_logging
from aggregator.settings import CoupangAccount, load_settings
from bench._proc import DaemonProcess, daemon_env, machine_line, percentile, toml_str, verdict, wait_until
from bench.soak import query
from connectors.sandbox import CoupangSandbox, SandboxServer
from core.clock import SystemClock

ACCOUNT, VENDOR, WING = "shop", "A00012345", "bench-wing"
KEYS = {f"INQD_{ACCOUNT.upper()}__ACCESS_KEY": "bench-access", f"INQD_{ACCOUNT.upper()}__SECRET_KEY": "bench-secret"}
ADMIN_TOKEN = "bench-admin-token"
TARGET_S = 0.2
ARRIVAL_WAIT_S = 10.0  # an answer not at the sandbox this long after its approval is a failure
STARTUP_S = 30.0
SETTLE_S = 1.0  # after the first polls of both streams
TEXT = "안녕하세요, 고객님. 문의하신 상품은 오늘 출고됩니다. 감사합니다. ({n})"
PATH_TITLES = {
    "daemon": "the daemon's own service (woken at once)",
    "poke": "inqd answer, another process, poked",
    "poll": "inqd answer, another process, polled",
}
BUDGET_PER_S = float(CoupangAccount.model_fields["max_requests_per_s"].default)


@dataclass(frozen=True, slots=True)
class Sample:
    """One answer: approval to arrival, and whether a poll's request went out just before it (a budget wait)."""

    latency_s: float
    behind_poll: bool


@dataclass(frozen=True, slots=True)
class PathResult:
    """The samples of one path."""

    path: str
    samples: tuple[Sample, ...]

    def line(self) -> str:
        """One row of the report."""
        lat = [s.latency_s for s in self.samples]
        clear = [s.latency_s for s in self.samples if not s.behind_poll]
        p99 = percentile(lat, 0.99)
        target = "-" if self.path == "poll" else f"{'met' if p99 <= TARGET_S else 'missed'}"
        return (
            f"{PATH_TITLES[self.path]:<42} {len(lat):>5} {percentile(lat, 0.5) * 1e3:>8.1f} {p99 * 1e3:>8.1f} "
            f"{max(lat, default=0.0) * 1e3:>8.1f} {sum(s.behind_poll for s in self.samples):>6} "
            f"{percentile(clear, 0.99) * 1e3:>10.1f}  {target}"
        )

    @property
    def met(self) -> bool:
        """Whether the p99 meets the target."""
        return percentile([s.latency_s for s in self.samples], 0.99) <= TARGET_S


def free_port() -> int:
    """A loopback port free right now (for the daemon's admin API)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(workdir: Path, base_url: str, *, admin_port: int | None) -> Path:
    """One Coupang account on the sandbox, both streams, its default interval and budget; admin on `admin_port`."""
    admin = f"port = {admin_port}" if admin_port is not None else "enabled = false"
    path = workdir / "inqd.toml"
    path.write_text(
        f"db_path = {toml_str(workdir / 'inqd.db')}\nquiet_hours = []\n\n[admin]\n{admin}\n\n"
        f'[[accounts]]\nmarketplace = "coupang"\nid = "{ACCOUNT}"\nvendor_id = "{VENDOR}"\n'
        f'reply_by = "{WING}"\nbase_url = {toml_str(base_url)}\n\n'
        f'[[notifiers]]\ntype = "sink"\nconsole = false\nfile = {toml_str(workdir / "sink.jsonl")}\n',
        encoding="utf-8",
    )
    return path


def seed(sandbox: CoupangSandbox, count: int) -> list[int]:
    """`count` open product questions received over the last hour."""
    now = datetime.now(UTC)
    return [
        sandbox.add_product_inquiry(content=f"언제 출고되나요? ({n})", inquiry_at=now - timedelta(minutes=60 - n % 50))
        for n in range(count)
    ]


def stored_ids(db_path: Path) -> dict[str, int]:
    """Marketplace id -> store id of the account's inquiries."""
    rows = query(db_path, "SELECT external_id, id FROM inquiries WHERE account_id = ?", (ACCOUNT,))
    return {str(external): int(str(row_id)) for external, row_id in rows}


def approved_at(db_path: Path, inquiry_id: int) -> datetime:
    """When the inquiry's answer was approved, as the store wrote it."""
    [(at,)] = query(db_path, "SELECT approved_at FROM answers WHERE inquiry_id = ?", (inquiry_id,))
    return datetime.fromisoformat(str(at))


def _sample(sandbox: CoupangSandbox, before: int, start: datetime) -> Sample:
    """The answer that arrived after the first `before`, against its approval time."""
    record = sandbox.answers[before]
    slot = timedelta(seconds=1.05 / BUDGET_PER_S)  # one budget slot, and a little for the timing of the threads
    behind = any(r.method == "GET" and timedelta(0) <= record.at - r.at <= slot for r in sandbox.requests)
    return Sample((record.at - start).total_seconds(), behind)


def settled(db_path: Path, count: int) -> bool:
    """The seeded questions are stored and both streams have finished their first poll."""
    streams = query(db_path, "SELECT COUNT(*) FROM cursors WHERE account_id = ?", (ACCOUNT,))
    return len(stored_ids(db_path)) >= count and bool(streams) and int(str(streams[0][0])) >= 2


def _arrived(sandbox: CoupangSandbox, before: int) -> bool:
    return len(sandbox.answers) > before


async def measure_in_daemon(sandbox: CoupangSandbox, config: Path, count: int, rng: random.Random) -> list[Sample]:
    """The daemon in this loop; each answer drafted and approved through `Daemon.answers()`."""
    settings = load_settings(config)
    configure_logging(level="WARNING")  # the daemon shares this terminal: its warnings only
    daemon = await Daemon.build(settings, clock=SystemClock())
    runner = asyncio.create_task(daemon.run())
    samples: list[Sample] = []
    try:
        deadline = time.monotonic() + STARTUP_S
        while not settled(settings.db_path, count):
            if time.monotonic() > deadline or runner.done():
                raise RuntimeError("the daemon did not store the seeded questions in time")
            await asyncio.sleep(0.05)
        await asyncio.sleep(SETTLE_S)
        ids = sorted(stored_ids(settings.db_path).values())
        service = daemon.answers()
        for n, inquiry_id in enumerate(ids[:count]):
            before = len(sandbox.answers)
            draft = await service.draft(inquiry_id, TEXT.format(n=n))
            approved = await service.approve(draft.answer.id, "bench")
            deadline = time.monotonic() + ARRIVAL_WAIT_S
            while not _arrived(sandbox, before):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"answer {n} did not reach the sandbox in {ARRIVAL_WAIT_S:g} s")
                await asyncio.sleep(0.0005)
            assert approved.approved_at is not None
            samples.append(_sample(sandbox, before, approved.approved_at))
            await asyncio.sleep(rng.uniform(0.5, 1.0))
    finally:
        daemon.request_stop("bench done")
        await runner
        await daemon.aclose()
    return samples


def approve_with_cli(config: Path, inquiry_id: int, text: str) -> None:
    """`inqd answer ID -m TEXT --yes`, the real command's code, in this process (not the daemon's)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = inqd_main(["answer", str(inquiry_id), "-m", text, "--yes", "--config", str(config)])
    if code != 0:
        raise RuntimeError(f"inqd answer {inquiry_id} exited {code}: {out.getvalue()}")


def measure_cross_process(
    sandbox: CoupangSandbox, config: Path, workdir: Path, count: int, rng: random.Random
) -> list[Sample]:
    """The daemon as a subprocess; each answer approved by `inqd answer` code in this process."""
    db_path = workdir / "inqd.db"
    samples: list[Sample] = []
    with DaemonProcess(config, workdir, env=daemon_env({**KEYS, "INQD_ADMIN__TOKEN": ADMIN_TOKEN})) as daemon:
        if not wait_until(lambda: settled(db_path, count), timeout_s=STARTUP_S, step_s=0.05):
            raise RuntimeError(f"the daemon did not store the seeded questions in time\n{daemon.log_tail()}")
        time.sleep(SETTLE_S)
        for n, inquiry_id in enumerate(sorted(stored_ids(db_path).values())[:count]):
            before = len(sandbox.answers)
            approve_with_cli(config, inquiry_id, TEXT.format(n=n))
            arrived = functools.partial(_arrived, sandbox, before)
            if not wait_until(arrived, timeout_s=ARRIVAL_WAIT_S, step_s=0.0005):
                raise RuntimeError(f"answer {n} did not reach the sandbox in {ARRIVAL_WAIT_S:g} s\n{daemon.log_tail()}")
            samples.append(_sample(sandbox, before, approved_at(db_path, inquiry_id)))
            time.sleep(rng.uniform(0.5, 1.0))
        if daemon.stop() != 0:
            raise RuntimeError(f"the daemon did not exit cleanly\n{daemon.log_tail()}")
    return samples


def run_path(path: str, count: int, seed_value: int) -> PathResult:
    """Measure one path on a fresh sandbox, database and daemon."""
    rng = random.Random(f"bench-answer:{path}:{seed_value}")
    sandbox = CoupangSandbox(
        vendor_id=VENDOR,
        access_key=KEYS[f"INQD_{ACCOUNT.upper()}__ACCESS_KEY"],
        secret_key=KEYS[f"INQD_{ACCOUNT.upper()}__SECRET_KEY"],
        now=lambda: datetime.now(UTC),
        wing_login_id=WING,
    )
    seed(sandbox, count)
    with tempfile.TemporaryDirectory(prefix="inqd-bench-answer-") as tmp, SandboxServer(sandbox.handler) as server:
        workdir = Path(tmp)
        config = write_config(workdir, server.url, admin_port=free_port() if path == "poke" else None)
        if path == "daemon":
            samples = asyncio.run(measure_in_daemon(sandbox, config, count, rng))
        else:
            samples = measure_cross_process(sandbox, config, workdir, count, rng)
    return PathResult(path, tuple(samples))


def report(results: Sequence[PathResult], load_before: str, wall_s: float) -> str:
    """The printed figures."""
    lines = [
        "inqd answer latency: the approval committed (approved_at) -> the answer request at the marketplace "
        "(sandbox receipt)",
        f"Coupang sandbox on 127.0.0.1, both streams polled every 60 s, request budget {BUDGET_PER_S:g}/s; "
        f"{machine_line().partition('; load average')[0]}",
        "",
        f"{'path':<42} {'count':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'behind':>6} {'p99 clear':>10}  "
        f"target p99 <= {TARGET_S * 1e3:.0f} ms",
        *(r.line() for r in results),
        "",
        f"behind = answers whose request went out one budget slot ({1 / BUDGET_PER_S:g} s) after a poll's request, "
        "i.e. waited for the slot; p99 clear = the p99 of the others",
        "measured from 1 s after the daemon's first poll of both streams (the start-up polls read days back)",
        f"load average before {load_before}, after {_load()}; wall time {wall_s:.0f} s",
    ]
    return "\n".join(lines)


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> int:
    """Command-line entry: measure, print, 0 when every path but `poll` meets the target."""
    parser = argparse.ArgumentParser(prog="python -m bench.answer", description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=200, help="answers per path (daemon, poke)")
    parser.add_argument("--polled-answers", type=int, default=30, help="answers on the polled path (~1 s each)")
    parser.add_argument("--paths", default="daemon,poke,poll", help="comma-separated: daemon, poke, poll")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    paths = [p for p in args.paths.split(",") if p]
    if unknown := set(paths) - set(PATH_TITLES):
        parser.error(f"unknown path(s): {', '.join(sorted(unknown))}")
    # The in-process daemon and `inqd answer` read the keys (and the admin token, to poke with) as the daemon does.
    os.environ.update({**KEYS, "INQD_ADMIN__TOKEN": ADMIN_TOKEN})
    load_before, started = _load(), time.monotonic()
    results = [run_path(p, args.polled_answers if p == "poll" else args.answers, args.seed) for p in paths]
    out(report(results, load_before, time.monotonic() - started))
    measured = [r for r in results if r.path != "poll"]
    out("result: " + " ".join(f"{r.path} {verdict(r.met)}" for r in measured))
    return 0 if all(r.met for r in measured) else 1


if __name__ == "__main__":
    sys.exit(main())
