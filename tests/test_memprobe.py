"""bench._memprobe: the probe files a signal writes, the launcher that installs it, and the growth report."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from bench import _memprobe

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads /proc (Linux)")


class Grown:
    """What the test makes grow between probes (a gc-tracked type of its own, so it can be told apart)."""


def test_each_probe_writes_a_file_and_the_report_names_what_grew(tmp_path: Path) -> None:
    probe = _memprobe._Probe(tmp_path, frames=4)
    try:
        probe(signal.SIGUSR1, None)  # starts tracemalloc: what is allocated from here on is traced
        kept = [Grown() for _ in range(2_000)]
        probe(signal.SIGUSR1, None)
        kept += [Grown() for _ in range(5_000)]
        probe(signal.SIGUSR1, None)
    finally:
        tracemalloc.stop()

    figures = [json.loads((tmp_path / f"probe-{n}.json").read_text(encoding="utf-8")) for n in range(3)]
    assert figures[0]["traced"] < figures[1]["traced"] < figures[2]["traced"]
    assert all(f["status"]["VmRSS"] > 0 for f in figures)
    assert not (tmp_path / "snapshot-0.bin").exists()  # the first signal only starts tracing
    assert (tmp_path / "snapshot-1.bin").is_file() and (tmp_path / "snapshot-2.bin").is_file()
    lines = _memprobe.report(tmp_path)
    assert f"{__name__}.Grown +7,000" in next(line for line in lines if line.startswith("gc objects that grew"))
    # snapshot-1 -> snapshot-2: the second list comprehension's 5,000 objects are the largest growth by line.
    by_line = lines[lines.index(next(line for line in lines if line.startswith("tracemalloc"))) + 1].split()
    assert by_line[-1].startswith(__file__ + ":") and int(by_line[2].replace(",", "")) >= 5_000
    assert len(kept) == 7_000


def test_the_launcher_runs_the_module_with_its_arguments_under_the_probe(tmp_path: Path) -> None:
    (tmp_path / "signals_itself.py").write_text(
        "import os, signal, sys\nos.kill(os.getpid(), signal.SIGUSR1)\nprint(sys.argv[1:])\n", encoding="utf-8"
    )
    probes = tmp_path / "probes"
    probes.mkdir()
    root = Path(_memprobe.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(tmp_path)])}
    args = [sys.executable, *_memprobe.launcher_args(probes, 0), "-m", "signals_itself", "run", "--flag"]
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, check=False)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['run', '--flag']"
    figures = json.loads((probes / "probe-0.json").read_text(encoding="utf-8"))
    assert figures["traced"] == 0 and figures["status"]["VmRSS"] > 0  # FRAMES 0: no tracemalloc
    assert not list(probes.glob("snapshot-*"))
