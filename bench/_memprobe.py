"""A memory probe for the process benchmarks: what grows inside the daemon (`bench.scale --memprobe`).

`python -m bench._memprobe DIR FRAMES -m aggregator run ...` runs the daemon as `python -m aggregator run ...` would,
with one SIGUSR1 handler installed first; nothing in the daemon's code changes. Each SIGUSR1 writes DIR/probe-N.json
(N counts from 0): VmRSS and its parts (RssAnon, RssFile, RssShmem of /proc/self/status), glibc's mallinfo2 and its
count of malloc heaps (malloc_info), SQLite's own allocator counter (sqlite3_memory_used of the libsqlite3 the
sqlite3 module uses), pymalloc's allocated blocks, and the gc-tracked objects by type. With FRAMES > 0 the first
signal starts tracemalloc (FRAMES frames a traceback) and every later one also dumps a snapshot to
DIR/snapshot-N.bin: only what was allocated after the first signal is traced, so the difference between two
snapshots is the Python memory that grew between them. tracemalloc costs CPU and its own tables are in the RSS, so a
probed run's slope is not the plain run's.

The benchmark's side: `launcher_args` (what goes before `-m aggregator`), `probe` (signal and wait for the file)
and `report` (a table over the probes, the object types and tracebacks that grew most).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import json
import os
import re
import runpy
import signal
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

_MALLINFO_FIELDS = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks")
_TYPES_KEPT = 300  # gc object types written per probe (the most numerous)


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (*_MALLINFO_FIELDS, "keepcost")]


# ---- inside the daemon ---------------------------------------------------------------------------------


def _kib_lines(path: str) -> dict[str, int]:
    """The kB lines of a /proc file (VmRSS, RssAnon, RssFile, ... of /proc/self/status), in KiB."""
    found: dict[str, int] = {}
    with open(path, encoding="ascii") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            parts = value.split()
            if len(parts) == 2 and parts[1] == "kB":
                found[key] = int(parts[0])
    return found


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, loaded once (each load would leave new ctypes types behind, growing what is measured)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    if hasattr(libc, "mallinfo2"):
        libc.mallinfo2.restype = _Mallinfo2
        libc.fopen.restype = ctypes.c_void_p
        libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
        libc.fclose.argtypes = [ctypes.c_void_p]
    return libc


@functools.cache
def _sqlite_lib() -> ctypes.CDLL | None:
    """The libsqlite3 the sqlite3 module uses, loaded once."""
    import sqlite3  # noqa: F401  (loads the libsqlite3 the daemon uses, if it is not loaded yet)

    name = ctypes.util.find_library("sqlite3")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    lib.sqlite3_memory_highwater.restype = ctypes.c_int64
    lib.sqlite3_memory_highwater.argtypes = [ctypes.c_int]
    return lib


def _malloc_figures() -> dict[str, int]:
    """glibc's mallinfo2 (bytes, every arena summed) and the number of heaps malloc_info lists; {} elsewhere."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallinfo2"):
        return {}
    info = libc.mallinfo2()
    figures = {name: int(getattr(info, name)) for name in _MALLINFO_FIELDS}
    with tempfile.NamedTemporaryFile(suffix=".xml") as out:
        stream = libc.fopen(out.name.encode(), b"w")
        if stream:
            libc.malloc_info(0, stream)
            libc.fclose(stream)
            xml = Path(out.name).read_text(encoding="ascii", errors="replace")
            figures["heaps"] = len(re.findall(r"<heap nr=", xml))
    return figures


def _sqlite_figures() -> dict[str, int]:
    """SQLite's allocator: bytes in use and the high-water mark (every connection of the process)."""
    lib = _sqlite_lib()
    if lib is None:
        return {}
    return {"used": int(lib.sqlite3_memory_used()), "highwater": int(lib.sqlite3_memory_highwater(0))}


def _pymalloc_figures() -> dict[str, int]:
    """pymalloc's arenas and bytes from sys._debugmallocstats (which prints to the C stderr: caught on the way)."""
    saved = os.dup(2)
    with tempfile.TemporaryFile() as out:
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode("ascii", "replace")
    figures = {}
    for name, value in re.findall(
        r"^# (arenas allocated current|bytes in allocated blocks|bytes in available "
        r"blocks|bytes lost to pool headers|bytes lost to quantization|bytes lost to "
        r"arena alignment)\s*=\s*([\d,]+)$",
        text,
        re.MULTILINE,
    ):
        figures[name] = int(value.replace(",", ""))
    return figures


def _object_types() -> dict[str, int]:
    """gc-tracked objects by type (module.qualname), the most numerous."""
    counts = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())
    return dict(counts.most_common(_TYPES_KEPT))


class _Probe:
    """The SIGUSR1 handler: one probe file per signal."""

    def __init__(self, directory: Path, frames: int) -> None:
        self.directory = directory
        self.frames = frames
        self.count = 0

    def __call__(self, signum: int, frame: object) -> None:
        started = time.monotonic()
        if self.frames > 0 and not tracemalloc.is_tracing():
            tracemalloc.start(self.frames)
        elif tracemalloc.is_tracing():
            tracemalloc.take_snapshot().dump(str(self.directory / f"snapshot-{self.count}.bin"))
        figures: dict[str, Any] = {
            "at": time.time(),
            "status": _kib_lines("/proc/self/status"),
            "malloc": _malloc_figures(),
            "sqlite": _sqlite_figures(),
            "pymalloc_blocks": sys.getallocatedblocks(),
            "pymalloc": _pymalloc_figures(),
            "traced": tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0,
            "tracemalloc_overhead": tracemalloc.get_tracemalloc_memory() if tracemalloc.is_tracing() else 0,
            "types": _object_types(),
        }
        figures["probe_s"] = time.monotonic() - started
        final = self.directory / f"probe-{self.count}.json"
        temporary = final.with_suffix(".tmp")
        temporary.write_text(json.dumps(figures), encoding="utf-8")
        temporary.rename(final)  # the benchmark waits for this name: the file is whole once it appears
        self.count += 1


def main(argv: Sequence[str]) -> None:
    """`DIR FRAMES -m MODULE ARGS...`: install the probe, then run MODULE as `python -m` would."""
    directory, frames, flag, module, *rest = argv
    if flag != "-m":
        raise SystemExit("usage: python -m bench._memprobe DIR FRAMES -m MODULE [ARGS...]")
    signal.signal(signal.SIGUSR1, _Probe(Path(directory), int(frames)))
    sys.argv = [module, *rest]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


# ---- the benchmark's side ------------------------------------------------------------------------------


def launcher_args(directory: Path, frames: int) -> list[str]:
    """The interpreter arguments that run the daemon under the probe (they go before `-m aggregator`)."""
    return ["-m", "bench._memprobe", str(directory), str(frames)]


def probe(pid: int, directory: Path, index: int, *, timeout_s: float = 120.0) -> bool:
    """Signal the daemon for probe `index` and wait (bounded) for its file; whether it came."""
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (directory / f"probe-{index}.json").is_file():
            return True
        time.sleep(0.2)
    return False


def _mib(value: float) -> str:
    return f"{value / 1048576:.2f}"


Figures = dict[str, Any]
_COLUMNS: list[tuple[str, Callable[[Figures, float], str]]] = [
    ("min", lambda p, start: f"{(p['at'] - start) / 60:.1f}"),
    ("VmRSS", lambda p, _: _mib(1024 * p["status"].get("VmRSS", 0))),
    ("Anon", lambda p, _: _mib(1024 * p["status"].get("RssAnon", 0))),
    ("File", lambda p, _: _mib(1024 * p["status"].get("RssFile", 0))),
    ("Shmem", lambda p, _: _mib(1024 * p["status"].get("RssShmem", 0))),
    ("m.arena", lambda p, _: _mib(p["malloc"].get("arena", 0))),
    ("m.mmap", lambda p, _: _mib(p["malloc"].get("hblkhd", 0))),
    ("m.in use", lambda p, _: _mib(p["malloc"].get("uordblks", 0))),
    ("m.free", lambda p, _: _mib(p["malloc"].get("fordblks", 0))),
    ("m.heaps", lambda p, _: str(p["malloc"].get("heaps", 0))),
    ("sqlite", lambda p, _: _mib(p["sqlite"].get("used", 0))),
    ("py.arena", lambda p, _: str(p["pymalloc"].get("arenas allocated current", 0))),
    ("py.live", lambda p, _: _mib(p["pymalloc"].get("bytes in allocated blocks", 0))),
    ("gc objs", lambda p, _: f"{sum(p['types'].values()):,}"),
    ("traced", lambda p, _: _mib(p["traced"])),
    ("tm.own", lambda p, _: _mib(p["tracemalloc_overhead"])),
    ("probe s", lambda p, _: f"{p['probe_s']:.1f}"),
]


def report(directory: Path, top: int = 15) -> list[str]:
    """The probes as a table (MiB), then what grew from the first probe to the last: object types, tracebacks."""
    probes = []
    for index in range(10_000):
        path = directory / f"probe-{index}.json"
        if not path.is_file():
            break
        probes.append((index, json.loads(path.read_text(encoding="utf-8"))))
    if len(probes) < 2:
        return ["memprobe: fewer than two probes"]
    start = probes[0][1]["at"]
    lines = [
        "memprobe (MiB): VmRSS = Anon + File + Shmem (/proc/self/status); malloc: glibc's mallinfo2 over every arena "
        "(arenas, mmapped chunks, in use, free but held), its heaps; sqlite3_memory_used; pymalloc's 1 MiB arenas "
        "and the bytes in their live blocks; tracemalloc's traced bytes (allocated since the first probe) and its "
        "own tables",
        "  " + "".join(f"{name:>9}" for name, _ in _COLUMNS),
    ]
    lines += ["  " + "".join(f"{cell(p, start):>9}" for _, cell in _COLUMNS) for _, p in probes]
    first, last = probes[0][1]["types"], probes[-1][1]["types"]
    grown = Counter({name: last.get(name, 0) - first.get(name, 0) for name in set(first) | set(last)})
    lines.append(
        "gc objects that grew most, first probe -> last: "
        + ", ".join(f"{name} {count:+,d}" for name, count in grown.most_common(top) if count > 0)
    )
    lines += _traceback_growth(directory, [index for index, _ in probes], top)
    return lines


def _traceback_growth(directory: Path, indices: Sequence[int], top: int) -> list[str]:
    """tracemalloc: the tracebacks whose live memory grew most from the first snapshot to the last."""
    snapshots = [directory / f"snapshot-{i}.bin" for i in indices if (directory / f"snapshot-{i}.bin").is_file()]
    if len(snapshots) < 2:
        return []
    noise = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib.*")]
    old = tracemalloc.Snapshot.load(str(snapshots[0])).filter_traces(noise)
    new = tracemalloc.Snapshot.load(str(snapshots[-1])).filter_traces(noise)
    lines = [f"tracemalloc, {snapshots[0].name} -> {snapshots[-1].name}: live Python memory that grew most, by line:"]
    for stat in new.compare_to(old, "lineno")[:top]:
        lines.append(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+8,d} blocks  {stat.traceback[0]}")
    lines.append("and by traceback (innermost frame last):")
    for stat in new.compare_to(old, "traceback")[: top // 2]:
        lines.append(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+8,d} blocks")
        lines += [f"      {frame}" for frame in stat.traceback.format(limit=8)[::2]]
    return lines


if __name__ == "__main__":
    main(sys.argv[1:])
