"""The real `inqd` process in tests: start it, read its output as it comes (no sleeping), finish it.

Every wait is bounded by DEADLINE_S.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from pathlib import Path

DEADLINE_S = 60.0


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`python -m aggregator ARGS`, stdout and stderr on one unbuffered pipe."""
    # Unbuffered bytes: select() must see exactly what readline() has not consumed yet.
    return subprocess.Popen(
        [sys.executable, "-m", "aggregator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        bufsize=0,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )


def finish(proc: subprocess.Popen[bytes], seen: list[str]) -> str:
    """Wait for the process to exit; return all of its output."""
    assert proc.stdout is not None
    rest = proc.stdout.read().decode("utf-8", "replace")
    proc.wait(timeout=DEADLINE_S)
    return "".join(seen) + rest


def read_until(proc: subprocess.Popen[bytes], wanted: str, seen: list[str]) -> None:
    """Read the process's output line by line until `wanted` appears (bounded by DEADLINE_S)."""
    assert proc.stdout is not None
    if any(wanted in line for line in seen):
        return
    deadline = time.monotonic() + DEADLINE_S
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            line = proc.stdout.readline().decode("utf-8", "replace")
            if not line:
                break
            seen.append(line)
            if wanted in line:
                return
    proc.kill()
    raise AssertionError(f"{wanted!r} not seen; output was:\n{''.join(seen)}")


def coupang_config(directory: Path, url: str) -> Path:
    """An `inqd.toml` in `directory` (made if missing): one Coupang account ("shop") on the sandbox at `url`, polled
    every 0.5 s, no quiet hours, and a sink notifier writing `sink.jsonl` there."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "inqd.toml"
    path.write_text(
        f"""
db_path = "{directory / "inqd.db"}"
# No quiet hours: these tests read pushes as they happen, whatever the wall clock says (they run at any hour).
quiet_hours = []

[[accounts]]
marketplace = "coupang"
id = "shop"
vendor_id = "A00012345"
base_url = "{url}"
poll_interval_s = 0.5
max_requests_per_s = 5
streams = ["product_qna"]

[[notifiers]]
type = "sink"
file = "{directory / "sink.jsonl"}"
""",
        encoding="utf-8",
    )
    return path


def read_until_in_any(procs: list[subprocess.Popen[bytes]], wanted: str, seen: list[list[str]]) -> int:
    """Read several processes' output as it comes until `wanted` appears in one (bounded by DEADLINE_S); returns
    that process's index. `seen[i]` collects process i's lines."""
    for index, lines in enumerate(seen):
        if any(wanted in line for line in lines):
            return index
    deadline = time.monotonic() + DEADLINE_S
    with selectors.DefaultSelector() as selector:
        for index, proc in enumerate(procs):
            assert proc.stdout is not None
            selector.register(proc.stdout, selectors.EVENT_READ, index)
        while time.monotonic() < deadline and selector.get_map():
            for key, _ in selector.select(timeout=deadline - time.monotonic()):
                index = key.data
                line = procs[index].stdout.readline().decode("utf-8", "replace")  # type: ignore[union-attr]
                if not line:
                    selector.unregister(key.fileobj)
                    continue
                seen[index].append(line)
                if wanted in line:
                    return index
    for proc in procs:
        proc.kill()
    raise AssertionError(f"{wanted!r} not seen; output was:\n" + "\n-----\n".join("".join(s) for s in seen))
