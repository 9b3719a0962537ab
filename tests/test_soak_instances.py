"""Crash soak of instances, CI size: three `inqd run` on one PostgreSQL and eight accounts on the four marketplaces'
sandboxes; one instance SIGKILLed and restarted while 8 inquiries arrive. The long run is
`python -m bench.soak_instances` (bench/soak_instances.py), which waits on real time as benchmarks may.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak_instances import run_instances_soak
from bench.soak_result import charge_copies
from tests.postgres_server import require_binaries


def test_one_kill_of_three_instances_loses_doubles_and_overlaps_nothing(tmp_path: Path) -> None:
    require_binaries()
    result = run_instances_soak(8, 1, seed=2, duration_s=8.0, workdir=tmp_path)
    print(result.report())
    assert result.failures == (), result.report()
    assert result.stored_once == result.produced == 8 + 8
    assert len(result.takeovers) >= 1
    assert all(t.seconds is not None and t.seconds <= 36 for t in result.takeovers)


@pytest.mark.parametrize(
    ("copies", "per_kill", "unexplained"),
    [
        ([[(0, 2)], [(1, 3)]], (0, 0), 0),  # every push once
        ([[(0, 0), (1, 2)]], (1, 0), 0),  # kill 0 ended the instance that sent it; the survivor sent it again
        ([[(0, 0), (1, 1)], [(1, 1), (2, 3)]], (1, 1), 0),  # each kill re-sent the row it had in flight
        ([[(0, 0), (0, 2)]], (0, 0), 1),  # sent again before the kill: two instances had the row at once
        ([[(1, 2), (1, 3)]], (0, 0), 1),  # two instances never killed both sent it
        ([[(0, 1), (0, 1)]], (0, 0), 1),  # one instance sent it twice
    ],
)
def test_a_duplicate_counts_against_a_kill_only_when_sent_again_after_it(
    copies: list[list[tuple[int, int]]], per_kill: tuple[int, ...], unexplained: int
) -> None:
    assert charge_copies(copies, 2) == (per_kill, unexplained)
