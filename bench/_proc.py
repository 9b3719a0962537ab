"""Shared helpers of the process benchmarks (detection, scale, idle): the real daemon as a subprocess, /proc readers.

The daemon runs as `python -m aggregator run --config FILE --log-format json`, its stdout and stderr going to
files (never an undrained pipe), with a scrubbed environment (no systemd socket, no INQD_* from the caller) plus
the secrets the benchmark passes. /proc readers (Linux) give its CPU time, memory and context switches: the CPU
time and memory of the whole process, the context switches summed over its threads (the process's own
`voluntary_ctxt_switches` counts only the main thread).
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
STOP_TIMEOUT_S = 30.0
# Variables that would change what the daemon does or where it reports: systemd's, and any inqd setting.
_DROPPED_ENV = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID")


# ---- /proc readers ---------------------------------------------------------------------------------------


def _stat_fields(path: Path) -> list[str]:
    """The fields of a /proc stat file after the command name (which may contain spaces and parentheses)."""
    text = path.read_text(encoding="ascii", errors="replace")
    return text[text.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the whole process (every thread, dead ones included), from /proc/<pid>/stat."""
    fields = _stat_fields(Path(f"/proc/{pid}/stat"))
    # After the name: state(0) ... utime is field 14 of the full line, i.e. index 11 here; stime index 12.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kib(pid: int) -> dict[str, int]:
    """The kB lines of /proc/<pid>/status (VmRSS, VmHWM, RssAnon, RssFile, ...) in KiB, and Threads."""
    found: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            parts = value.split()
            if (len(parts) == 2 and parts[1] == "kB") or key == "Threads":
                found[key] = int(parts[0])
    return found


@dataclass(frozen=True, slots=True)
class ThreadSample:
    """One thread's CPU seconds and context switches so far."""

    tid: int
    cpu_s: float
    voluntary: int
    involuntary: int

    @property
    def switches(self) -> int:
        """Voluntary + involuntary context switches."""
        return self.voluntary + self.involuntary


def thread_samples(pid: int) -> dict[int, ThreadSample]:
    """Every live thread of `pid`: CPU seconds and context switches (threads may vanish while being read)."""
    samples: dict[int, ThreadSample] = {}
    task_dir = Path(f"/proc/{pid}/task")
    for entry in task_dir.iterdir():
        try:
            fields = _stat_fields(entry / "stat")
            counts: dict[str, int] = {}
            with open(entry / "status", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    key, _, value = line.partition(":")
                    if key in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"):
                        counts[key] = int(value)
        except (FileNotFoundError, ProcessLookupError):
            continue
        tid = int(entry.name)
        samples[tid] = ThreadSample(
            tid=tid,
            cpu_s=(int(fields[11]) + int(fields[12])) / CLK_TCK,
            voluntary=counts.get("voluntary_ctxt_switches", 0),
            involuntary=counts.get("nonvoluntary_ctxt_switches", 0),
        )
    return samples


@dataclass(frozen=True, slots=True)
class ProcSample:
    """The daemon at one moment: wall time, CPU, memory and its threads."""

    at: float  # time.monotonic()
    cpu_s: float
    rss_kib: int
    hwm_kib: int
    threads: dict[int, ThreadSample]

    @classmethod
    def read(cls, pid: int) -> ProcSample:
        """Sample `pid` now."""
        at = time.monotonic()
        status = status_kib(pid)
        return cls(at, cpu_seconds(pid), status.get("VmRSS", 0), status.get("VmHWM", 0), thread_samples(pid))


@dataclass(frozen=True, slots=True)
class ThreadDelta:
    """What one thread did between two samples (a thread born in between counts from zero)."""

    tid: int
    label: str
    cpu_s: float
    voluntary: int
    involuntary: int


@dataclass(frozen=True, slots=True)
class Window:
    """The difference between two samples of one process."""

    seconds: float
    cpu_s: float
    threads: list[ThreadDelta]

    @property
    def cpu_share(self) -> float:
        """CPU seconds per wall second: the share of one core."""
        return self.cpu_s / self.seconds if self.seconds > 0 else 0.0

    @property
    def switches(self) -> int:
        """Context switches of every thread seen at the end (voluntary + involuntary)."""
        return sum(t.voluntary + t.involuntary for t in self.threads)

    def per_minute(self, count: float) -> float:
        """`count` over this window, scaled to one minute."""
        return count * 60.0 / self.seconds if self.seconds > 0 else 0.0


def window(pid: int, start: ProcSample, end: ProcSample) -> Window:
    """CPU and per-thread switches from `start` to `end`; the main thread is labelled, the rest by tid."""
    deltas = []
    for tid, last in sorted(end.threads.items()):
        first = start.threads.get(tid, ThreadSample(tid, 0.0, 0, 0))
        label = "main (event loop)" if tid == pid else f"thread {tid}"
        deltas.append(
            ThreadDelta(
                tid,
                label,
                last.cpu_s - first.cpu_s,
                last.voluntary - first.voluntary,
                last.involuntary - first.involuntary,
            )
        )
    return Window(end.at - start.at, end.cpu_s - start.cpu_s, deltas)


# ---- figures -----------------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of `values` (share 0..1); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def slope_per_hour(samples: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of (seconds, value) samples, per hour; 0.0 for fewer than two distinct times."""
    if len(samples) < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / len(samples)
    mean_v = sum(v for _, v in samples) / len(samples)
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if spread == 0:
        return 0.0
    return 3600 * sum((t - mean_t) * (v - mean_v) for t, v in samples) / spread


def starts_poll(previous: tuple[bool, str] | None, every: bool, first_date: str) -> bool:
    """Whether a page-1 request starts a new poll of its stream, given the stream's previous page-1 request
    (every-status?, its window's first date), None for the first. A sweep starts at the every-status pass's page 1;
    a quick poll is the unanswered-only pass alone, so its page 1 starts a poll unless it follows the every-status
    pass or an earlier window of its own pass (a pass's windows go oldest first; a quick poll asks the same window
    every time)."""
    if every:
        return previous is None or not previous[0]
    return previous is None or (not previous[0] and first_date <= previous[1])


def mib(kib: int) -> float:
    """KiB to MiB."""
    return kib / 1024


def verdict(met: bool) -> str:
    """PASS or MISS."""
    return "PASS" if met else "MISS"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages now."""
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


# Taken when a benchmark imports this module, i.e. as it starts: reports are printed at the end, and the load
# then includes the benchmark's own work (they used to print that as "at start").
LOAD_AT_START = load_average()


def machine_line() -> str:
    """Python, CPU count and OS, and the load average when the benchmark started and now, for a report's header."""
    return (
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}; "
        f"load average before {LOAD_AT_START}, after {load_average()}"
    )


def wait_until(predicate: Callable[[], bool], *, timeout_s: float, step_s: float = 0.1) -> bool:
    """Poll `predicate` every `step_s` until it holds (True) or `timeout_s` passes (False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step_s)


# ---- the daemon as a subprocess -------------------------------------------------------------------------


def daemon_env(secrets: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without systemd's variables or the caller's INQD_* settings, plus `secrets`."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV and not k.startswith("INQD_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(secrets or {})
    return env


class DaemonProcess:
    """`python -m aggregator run --config FILE --log-format json` with output in files; stopped on exit, always."""

    def __init__(
        self,
        config: Path,
        directory: Path,
        *,
        env: Mapping[str, str] | None = None,
        log_level: str = "INFO",
        launcher: Sequence[str] = (),
    ) -> None:
        self.config = config
        self._launcher = list(launcher)  # interpreter arguments before `-m aggregator` (bench._memprobe's)
        self.log_path = directory / "daemon.log"  # stderr: the JSON log lines
        self.out_path = directory / "daemon.out"  # stdout: nothing expected (sink console off)
        self._env = dict(env or daemon_env())
        self._log_level = log_level
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0
        self._log_tail = b""
        self.events: list[dict[str, Any]] = []
        self.started_at = 0.0  # time.monotonic() at spawn

    @property
    def pid(self) -> int:
        """The pid of the started process."""
        if self._proc is None:
            raise RuntimeError("the daemon is not running")
        return self._proc.pid

    def start(self) -> None:
        """Spawn the daemon."""
        args = [sys.executable, *self._launcher, "-m", "aggregator", "run", "--config", str(self.config)]
        args += ["--log-format", "json", "--log-level", self._log_level]
        with open(self.out_path, "wb") as out, open(self.log_path, "wb") as err:
            self._proc = subprocess.Popen(args, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=self._env)
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        """Whether the daemon is still running."""
        return self._proc is not None and self._proc.poll() is None

    def read_events(self) -> list[dict[str, Any]]:
        """Parse the log lines written since the last call; returns them (also appended to `events`)."""
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(self._log_offset)
                chunk = fh.read()
        except FileNotFoundError:
            return []
        self._log_offset += len(chunk)
        data = self._log_tail + chunk
        *lines, self._log_tail = data.split(b"\n")
        fresh: list[dict[str, Any]] = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                event = {"event": "unparsed", "line": line.decode("utf-8", "replace")[:300], "level": "error"}
            if isinstance(event, dict):
                fresh.append(event)
        self.events.extend(fresh)
        return fresh

    def wait_for_event(self, name: str, *, timeout_s: float) -> dict[str, Any]:
        """Wait for the first log event `name` (bounded); raises with the log's tail when it does not come."""
        found: list[dict[str, Any]] = [e for e in self.events if e.get("event") == name]

        def seen() -> bool:
            found.extend(e for e in self.read_events() if e.get("event") == name)
            if not found and not self.alive():
                raise RuntimeError(f"the daemon exited before {name!r}:\n{self.log_tail()}")
            return bool(found)

        if not wait_until(seen, timeout_s=timeout_s, step_s=0.05):
            raise RuntimeError(f"no {name!r} from the daemon within {timeout_s:g} s:\n{self.log_tail()}")
        return found[0]

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of the daemon's stderr and stdout, for error messages."""
        parts = []
        for path in (self.log_path, self.out_path):
            if path.is_file():
                text = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path.name} ---\n" + "\n".join(text))
        return "\n".join(parts)

    def stop(self) -> int | None:
        """SIGTERM, wait (bounded), then SIGKILL; returns the exit code (None if it was never started)."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT_S)
        return proc.returncode

    def __enter__(self) -> DaemonProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def count_levels(events: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """How many log lines of level warning or above each event name has."""
    counts: dict[str, int] = {}
    for event in events:
        if str(event.get("level", "")).lower() in ("warning", "error", "critical", "exception"):
            name = str(event.get("event"))
            counts[name] = counts.get(name, 0) + 1
    return counts


def toml_str(value: str | Path) -> str:
    """A TOML basic string."""
    return json.dumps(str(value), ensure_ascii=False)
