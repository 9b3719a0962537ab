"""Answer kill soak, CI size: the real daemon SIGKILLed 3 times while 10 answers are approved through `inqd answer`
(Coupang 상품문의 and 고객센터 문의, 11번가 긴급알리미) posts each exactly once, and each ends confirmed.
Approvals are made through the store from the test process (then the same poke as `inqd answer`); the long run
starts an `inqd answer` process per answer.

The long run is `make soak-answers` (bench/answer_soak.py). Two of the three kills wait for an answer request to
reach a sandbox and kill within microseconds of it.
"""

from __future__ import annotations

from pathlib import Path

from bench.answer_soak import run_answer_soak


def test_three_kills_post_every_approved_answer_once_and_confirm_it(tmp_path: Path) -> None:
    result = run_answer_soak(
        10, 3, seed=2, duration_s=6.0, answer_kill_share=0.67, approve_via="store", workdir=tmp_path
    )
    print(result.report())
    assert result.failures == (), result.report() + "\n" + (tmp_path / "daemon.log").read_text(encoding="utf-8")[-4000:]
    assert result.kills == result.restarts == 3
    assert result.duplicates == 0
    assert result.accepted_once == result.confirmed == result.answers == 10
