"""Detection-latency benchmark: a Coupang sandbox creates an inquiry, how long until the sink file has its push.

Run `python -m bench.detection [--count 100] [--interval 1] [--seed 8] [--jitter 0] [--max-rps 5]
[--recheck-days 13]`. Target ("Prove it", item 4): p99 at most the poll interval + 0.2 s.

How: the real daemon runs as a subprocess (`python -m aggregator run --config FILE --log-format json`) with one
Coupang account (product Q&A only) polling a `CoupangSandbox` that this process serves on 127.0.0.1
(`SandboxServer`); quiet hours off; one sink channel writing a JSON-lines file. After the first (backfill) poll
has sent its summary, the benchmark adds `--count` product inquiries, one after each seeded random gap of
0.3-1.5 s, so arrivals fall at every phase of the poll cycle. An inquiry's start is `time.time()` when
`add_product_inquiry` has returned (it is visible to the next request from then on); its end is `time.time()`
when its push (found by a unique token in its text) is read from the sink file, which this process watches
with a 5 ms `os.stat` loop (the sink's own "at" has whole seconds only). The seller answers each inquiry as soon
as its push is seen, so the unanswered-only pass stays one page, as in a shop that works its queue.

The sandbox's request log splits the latency: visible -> the first request of the poll that returned it (waiting
for the poll; a quick poll is one unanswered-only request, a sweep starts with the every-status pass), and that
request -> the sink line (the rest of that poll, the store, the dispatcher, the sink, the 5 ms watch). Coupang
is queried by KST calendar dates (`inquiryStartAt`/`inquiryEndAt` are yyyy-MM-dd), so an inquiry made in the same
second as a poll is never outside its window: there is no granularity miss.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

from bench._proc import (
    DaemonProcess,
    count_levels,
    daemon_env,
    machine_line,
    percentile,
    starts_poll,
    toml_str,
    verdict,
)
from connectors.sandbox import CoupangSandbox, RecordedRequest, SandboxServer

ACCOUNT = "det-shop"
VENDOR, ACCESS, SECRET = "A00077001", "det-access-key", "det-secret-key"
WATCH_STEP_S = 0.005
GAP_RANGE_S = (0.3, 1.5)
START_TIMEOUT_S = 60.0
TARGET_MARGIN_S = 0.2
BACKLOG = 3


@dataclass(slots=True)
class Arrival:
    """One inquiry made by the benchmark and when the sink showed it."""

    token: str
    inquiry_id: int
    visible_at: float  # time.time() after the sandbox added it
    seen_at: float | None = None  # time.time() when its sink line was read
    picked_at: float | None = None  # time.time() of the request of the poll that returned it

    @property
    def latency_s(self) -> float | None:
        """Visible -> sink line."""
        return None if self.seen_at is None else self.seen_at - self.visible_at


@dataclass(frozen=True, slots=True)
class Poll:
    """One poll of the product stream as the sandbox saw it."""

    start: float
    end: float
    requests: int


@dataclass(frozen=True, slots=True)
class Results:
    """Everything the report prints."""

    arrivals: list[Arrival]
    polls: list[Poll]
    warnings: dict[str, int]
    exit_code: int | None


def write_config(directory: Path, url: str, args: argparse.Namespace) -> Path:
    """The daemon's TOML: one loopback Coupang account, no quiet hours, a file sink."""
    path = directory / "inqd.toml"
    path.write_text(
        f"""db_path = {toml_str(directory / "inqd.db")}
poll_jitter = {args.jitter}
quiet_hours = []

[admin]
port = 0

[[accounts]]
marketplace = "coupang"
id = "{ACCOUNT}"
vendor_id = "{VENDOR}"
base_url = {toml_str(url)}
poll_interval_s = {args.interval}
max_requests_per_s = {args.max_rps}
recheck_days = {args.recheck_days}
streams = ["product_qna"]

[[notifiers]]
type = "sink"
console = false
file = {toml_str(directory / "sink.jsonl")}
""",
        encoding="utf-8",
    )
    return path


class SinkWatcher:
    """Reads the sink's JSON lines as they are appended."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._offset = 0
        self._tail = b""

    def new_records(self) -> list[dict[str, object]]:
        """Records appended since the last call (a cheap stat when nothing changed)."""
        try:
            size = os.stat(self._path).st_size
        except FileNotFoundError:
            return []
        if size <= self._offset:
            return []
        with open(self._path, "rb") as fh:
            fh.seek(self._offset)
            chunk = fh.read()
        self._offset += len(chunk)
        *lines, self._tail = (self._tail + chunk).split(b"\n")
        records = []
        for line in lines:
            record = json.loads(line)
            if isinstance(record, dict):
                records.append(record)
        return records


def product_polls(requests: Sequence[RecordedRequest]) -> list[Poll]:
    """Group the product-listing requests into polls, split where `starts_poll` says a poll begins."""
    polls: list[Poll] = []
    start = end = 0.0
    count = 0
    previous: tuple[bool, str] | None = None  # (every-status?, window start) of the last page-1 request
    for req in requests:
        if "onlineInquiries" not in req.path:
            continue
        params = parse_qs(req.query)
        every = params.get("answeredType") == ["ALL"]
        window_start = params.get("inquiryStartAt", [""])[0]
        at = req.at.timestamp()
        if params.get("pageNum") == ["1"]:
            starts = starts_poll(previous, every, window_start)
            if starts and count:
                polls.append(Poll(start, end, count))
            if starts:
                start, count = at, 0
            previous = (every, window_start)
        end = at
        count += 1
    if count:
        polls.append(Poll(start, end, count))
    return polls


def first_request_after(polls: Sequence[Poll], at: float) -> float | None:
    """The first request of the first poll that starts after `at` (the poll that can see an item)."""
    return next((poll.start for poll in polls if poll.start > at), None)


def run(args: argparse.Namespace) -> Results:
    """Start sandbox and daemon, make the inquiries, watch the sink; everything is stopped on the way out."""
    rng = random.Random(args.seed)
    gaps = [rng.uniform(*GAP_RANGE_S) for _ in range(args.count)]
    sandbox = CoupangSandbox(vendor_id=VENDOR, access_key=ACCESS, secret_key=SECRET, now=lambda: datetime.now(UTC))
    now = datetime.now(UTC)
    for n in range(BACKLOG):  # an answered history for the backfill, so the store is not empty
        sandbox.add_product_inquiry(content=f"지난 문의 {n}", inquiry_at=now - timedelta(hours=n + 2), answered=True)
    env = daemon_env({"INQD_DET_SHOP__ACCESS_KEY": ACCESS, "INQD_DET_SHOP__SECRET_KEY": SECRET})
    arrivals: dict[str, Arrival] = {}
    with tempfile.TemporaryDirectory(prefix="inqd-bench-detection-") as tmp, SandboxServer(sandbox.handler) as server:
        directory = Path(tmp)
        daemon = DaemonProcess(write_config(directory, server.url, args), directory, env=env)
        watcher = SinkWatcher(directory / "sink.jsonl")
        try:
            daemon.start()
            daemon.wait_for_event("daemon_started", timeout_s=START_TIMEOUT_S)
            deadline = time.monotonic() + START_TIMEOUT_S
            while not any(r.get("kind") == "backfill_summary" for r in watcher.new_records()):
                if time.monotonic() > deadline or not daemon.alive():
                    raise RuntimeError(f"no backfill summary in the sink:\n{daemon.log_tail()}")
                time.sleep(0.05)
            made = 0
            next_at = time.time() + gaps[0]
            give_up_at: float | None = None
            while True:
                for record in watcher.new_records():
                    seen = time.time()
                    body = str(record.get("body", ""))
                    if record.get("kind") != "new_inquiry":
                        continue
                    for token, arrival in arrivals.items():
                        if arrival.seen_at is None and token in body:
                            arrival.seen_at = seen
                            sandbox.answer_product_inquiry(arrival.inquiry_id, f"답변 {token}", datetime.now(UTC))
                if made < args.count and time.time() >= next_at:
                    token = f"DET{made:04d}"
                    inquiry_id = sandbox.add_product_inquiry(
                        content=f"{token} 배송 문의드립니다", inquiry_at=datetime.now(UTC)
                    )
                    arrivals[token] = Arrival(token, inquiry_id, time.time())
                    made += 1
                    next_at = time.time() + (gaps[made] if made < args.count else 0.0)
                    if made == args.count:
                        give_up_at = time.monotonic() + 10 * args.interval + 10.0
                if made == args.count and all(a.seen_at is not None for a in arrivals.values()):
                    break
                if give_up_at is not None and time.monotonic() > give_up_at:
                    break
                if not daemon.alive():
                    raise RuntimeError(f"the daemon exited:\n{daemon.log_tail()}")
                time.sleep(WATCH_STEP_S)
        finally:
            exit_code = daemon.stop()
            daemon.read_events()
    every_poll = product_polls(list(sandbox.requests))
    for arrival in arrivals.values():
        arrival.picked_at = first_request_after(every_poll, arrival.visible_at)
    first = min((a.visible_at for a in arrivals.values()), default=0.0)
    polls = [p for p in every_poll if p.start >= first - 2 * args.interval]
    return Results(list(arrivals.values()), polls, count_levels(daemon.events), exit_code)


def _row(label: str, values: Sequence[float]) -> str:
    if not values:
        return f"{label:<44}{0:6d}"
    return (
        f"{label:<44}{len(values):6d}{percentile(values, 0.5):8.3f}{percentile(values, 0.9):8.3f}"
        f"{percentile(values, 0.99):8.3f}{max(values):8.3f}"
    )


def report(r: Results, args: argparse.Namespace) -> str:
    """The printed table."""
    seen = [a for a in r.arrivals if a.seen_at is not None]
    latencies = [a.latency_s for a in seen if a.latency_s is not None]
    waits = [a.picked_at - a.visible_at for a in seen if a.picked_at is not None]
    rests = [a.seen_at - a.picked_at for a in seen if a.picked_at is not None and a.seen_at is not None]
    ends = {p.start: p.end for p in r.polls}
    after_end = [a.seen_at - ends[a.picked_at] for a in seen if a.picked_at in ends and a.seen_at is not None]
    cycles = [b.start - a.start for a, b in zip(r.polls, r.polls[1:], strict=False)]
    durations = [p.end - p.start for p in r.polls]
    sizes = [float(p.requests) for p in r.polls]
    in_flight = sum(1 for a in r.arrivals if any(p.start < a.visible_at <= p.end for p in r.polls))
    target = args.interval + TARGET_MARGIN_S
    p99 = percentile(latencies, 0.99)
    lines = [
        f"inqd detection-latency benchmark: {len(r.arrivals)} inquiries, poll interval {args.interval:g} s, "
        f"jitter {args.jitter:g}, max {args.max_rps:g} req/s, recheck {args.recheck_days} days",
        machine_line(),
        f"gaps seeded uniform {GAP_RANGE_S[0]:g}-{GAP_RANGE_S[1]:g} s (seed {args.seed}); sink watched every "
        f"{WATCH_STEP_S * 1000:g} ms; product Q&A stream only",
        "",
        f"{'':<44}{'count':>6}{'p50 s':>8}{'p90 s':>8}{'p99 s':>8}{'max s':>8}",
        _row("sandbox visible -> sink line (detection)", latencies),
        _row("  visible -> first request of its poll", waits),
        _row("  that request -> sink line", rests),
        _row("    last request of that poll -> sink line", after_end),
        _row("poll cycle, start to start", cycles),
        _row("poll duration, first to last request", durations),
        _row("requests per poll", sizes),
        "",
        f"arrivals during a poll in flight (seen by the next one): {in_flight} of {len(r.arrivals)}",
        f"not seen in the sink: {len(r.arrivals) - len(seen)}; daemon warnings/errors: "
        + (", ".join(f"{k} x{v}" for k, v in sorted(r.warnings.items())) or "none")
        + f"; exit code {r.exit_code}",
        f"target detection p99 <= interval + {TARGET_MARGIN_S:g} s = {target:.3f} s: "
        f"{verdict(len(seen) == len(r.arrivals) and p99 <= target)} (p99 {p99:.3f} s)",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, run the benchmark, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.detection", description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100, help="inquiries to make (default 100)")
    parser.add_argument("--interval", type=float, default=1.0, help="poll_interval_s (default 1)")
    parser.add_argument("--seed", type=int, default=8, help="rng seed of the gaps (default 8)")
    parser.add_argument("--jitter", type=float, default=0.0, help="poll_jitter (default 0; the shipped one is 0.1)")
    parser.add_argument("--max-rps", type=float, default=5.0, help="max_requests_per_s (default 5, the maximum)")
    parser.add_argument("--recheck-days", type=int, default=13, help="recheck_days (default 13, the shipped one)")
    args = parser.parse_args(argv)
    if args.count < 1 or args.interval <= 0 or not 0 <= args.jitter <= 0.5:
        parser.error("need --count >= 1, --interval > 0 and 0 <= --jitter <= 0.5")
    print(report(run(args), args))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
