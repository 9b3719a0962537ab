"""Giving freed memory back to the system: glibc's malloc_trim, once the daemon has started and then every few
minutes while it runs.

Start-up (imports, validating the settings, opening the store, planning timers) leaves free blocks in the C
heap that glibc keeps for later; a daemon that then idles never needs most of them. bench.idle, 2026-12-07, an
idle daemon 5 s after start: VmRSS 64.3 MiB before the trim, 63.3 MiB after, still 63.3 MiB 5 s later (gc.collect()
first changed nothing; MALLOC_ARENA_MAX=1 changed nothing; PYTHONMALLOC=malloc made it 1.4 MiB larger).

While polling, glibc's heap creeps: `bench.scale --accounts 1000 --memprobe --memprobe-frames 0` (2026-12-07) saw
VmRSS rise 1.0 MiB in 5 minutes with malloc's bytes in use flat (+0.02 MiB), pymalloc's arenas, SQLite's
allocator and the Python objects flat too: all of it free memory that glibc held in the middle of its heaps, which
only malloc_trim gives back (glibc returns the top of a heap by itself, not free pages below a block in use).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache

from core.clock import Clock, sleep_or_wake

# How often the running daemon trims: a trim took 8 ms returning ~100 MiB of fragments, 0.1 ms with little to return
# (measured alone); the creep it undoes was up to 0.2 MiB a minute at 1,000 accounts (issue 19: < 1 MiB an hour).
RELEASE_EVERY_S = 300.0


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim with
        return None
    return trim


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system (glibc); False where the C library has no malloc_trim."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


async def release_free_memory_every(
    clock: Clock,
    stop: asyncio.Event,
    *,
    every_s: float = RELEASE_EVERY_S,
    release: Callable[[], bool] = release_free_memory,
) -> None:
    """Trim every `every_s` until `stop`; returns at once where there is nothing to trim with (not glibc)."""
    while not stop.is_set():
        await sleep_or_wake(clock, every_s, stop)
        if stop.is_set() or not release():
            return
