"""Crash soak, CI size: the real daemon SIGKILLed 3 times while 30 inquiries arrive loses and doubles nothing.

The long runs are `make soak` (bench/soak.py). Here the kills fall at seeded moments spread over the run; none
waits for a delivery on purpose, since a kill inside a delivery costs the dispatcher's 120 s lease at the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import charge_duplicates, make_plan, run_soak


def test_three_kills_lose_no_inquiry_and_double_none(tmp_path: Path) -> None:
    result = run_soak(30, 3, seed=3, duration_s=9.0, send_kill_share=0.0, workdir=tmp_path)
    print(result.report())
    assert result.failures == (), result.report() + "\n" + (tmp_path / "daemon.log").read_text(encoding="utf-8")
    assert result.kills == result.restarts == 3
    assert result.stored_once == result.produced == 30 + 3
    assert result.delivered == result.expected_pushes == 30


def test_the_plan_is_seeded_and_spreads_the_kills() -> None:
    plan = make_plan(30, 3, seed=3, duration_s=9.0, send_kill_share=0.5)
    assert plan == make_plan(30, 3, seed=3, duration_s=9.0, send_kill_share=0.5)
    assert len(plan.arrivals_s) == 30
    assert all(0.0 <= at <= 9.0 for at in plan.arrivals_s)
    assert [int(at // 3.0) for at in plan.kills_s] == [0, 1, 2]  # one kill in each third of the run


@pytest.mark.parametrize(
    ("copies", "per_kill", "unexplained"),
    [
        ([[0], [1], [2]], (0, 0), 0),  # every push once
        ([[0, 1], [1, 2]], (1, 1), 0),  # each kill re-sent the one row in flight
        ([[0, 2]], (1, 0), 0),  # the lease ran out only after the next daemon was killed too
        ([[0, 1, 2]], (1, 1), 0),  # killed in flight again after re-sending
        ([[1, 1]], (0, 0), 1),  # the same daemon sent twice: no kill explains it
        ([[2, 2]], (0, 0), 1),  # the last daemon (never killed) sent twice
    ],
)
def test_duplicates_are_charged_to_the_kill_of_the_daemon_that_sent_first(
    copies: list[list[int]], per_kill: tuple[int, ...], unexplained: int
) -> None:
    assert charge_duplicates(copies, kills=2) == (per_kill, unexplained)
