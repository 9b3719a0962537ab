"""The start-up trim finds glibc's malloc_trim on Linux and is harmless to call again."""

from __future__ import annotations

import platform

import pytest

from aggregator.memory import release_free_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_release_free_memory_trims_with_glibc() -> None:
    assert release_free_memory() is True
    assert release_free_memory() is True
