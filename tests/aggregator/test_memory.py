"""The trim finds glibc's malloc_trim on Linux and is harmless to call again; the running daemon trims on a
schedule until it stops."""

from __future__ import annotations

import asyncio
import platform
from datetime import UTC, datetime

import pytest

from aggregator.memory import release_free_memory, release_free_memory_every
from tests.fakes import FakeClock


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_release_free_memory_trims_with_glibc() -> None:
    assert release_free_memory() is True
    assert release_free_memory() is True


async def test_the_daemon_trims_every_interval_until_it_stops() -> None:
    clock = FakeClock(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    stop = asyncio.Event()
    trimmed_at: list[float] = []

    def release() -> bool:
        trimmed_at.append(clock.monotonic())
        if len(trimmed_at) == 3:
            stop.set()
        return True

    await asyncio.wait_for(release_free_memory_every(clock, stop, every_s=300.0, release=release), timeout=5)

    assert [at - 1000.0 for at in trimmed_at] == [300.0, 600.0, 900.0]  # never at once: start-up trims by itself


async def test_no_trimming_where_the_c_library_cannot() -> None:
    clock = FakeClock(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    calls: list[float] = []

    def release() -> bool:
        calls.append(clock.monotonic())
        return False  # not glibc

    await asyncio.wait_for(release_free_memory_every(clock, asyncio.Event(), every_s=60.0, release=release), timeout=5)

    assert len(calls) == 1


async def test_a_stop_during_the_wait_ends_it_without_a_trim() -> None:
    clock = FakeClock(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    stop = asyncio.Event()
    stop.set()

    await asyncio.wait_for(release_free_memory_every(clock, stop, release=lambda: pytest.fail("trimmed")), timeout=5)
