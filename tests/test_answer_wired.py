"""`inqd answer` wired to the daemon on a fake clock: a template filled for the inquiry, checked with the one check
the daemon's surfaces use too, approved, posted by the real Coupang connector into the sandbox and confirmed by the
next poll; its promised date an inqd promise, which still reminds after the answer is confirmed (until kept or
withdrawn); a blocking finding refused; a warning needing the second yes."""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from aggregator import control_service as controls
from aggregator.answering.check import answer_check
from aggregator.cli.answer_command import answer_from_terminal
from aggregator.cli.main import _parser
from aggregator.cli.reports import explain_lines
from aggregator.cli.words import Words
from aggregator.daemon import Daemon
from aggregator.settings import Settings
from aggregator.store.answers import AnswerState
from connectors.sandbox import CoupangSandbox
from core.models import KST
from tests.conftest import SHOP_ACCOUNT, MakeSettings
from tests.fakes import FakeClock

ACCOUNT = {**SHOP_ACCOUNT, "reply_by": "wing-seller"}
TEMPLATES = """
# the seller's own
[[templates]]
name = "출고 약속"
category = "상품"
title = "출고 안내"
body = "안녕하세요, {쇼핑몰}입니다. 주문하신 상품은 {약속일:+2영업일}까지 출고해 드리겠습니다. 감사합니다."
"""


@pytest.fixture
def sandbox(clock: FakeClock) -> CoupangSandbox:
    """The Coupang sandbox (WING login `wing-seller`) with one open product question."""
    box = CoupangSandbox(
        vendor_id="A00012345", access_key="ak", secret_key="sk", wing_login_id="wing-seller", now=clock.now
    )
    box.add_product_inquiry(content="언제 출고되나요?", inquiry_at=clock.now() - timedelta(hours=2))
    return box


@pytest.fixture
def settings(make_settings: MakeSettings, tmp_path: Path) -> Settings:
    """The account answering as `wing-seller`, a shop name and the seller's templates file."""
    (tmp_path / "templates.toml").write_text(TEMPLATES, encoding="utf-8")
    return make_settings(account=ACCOUNT, templates_file=tmp_path / "templates.toml", shop_name="바른생활")


@pytest.fixture
async def daemon(settings: Settings, clock: FakeClock, sandbox: CoupangSandbox) -> AsyncIterator[Daemon]:
    """The daemon on the sandbox, after its first poll."""
    transport = httpx.MockTransport(sandbox.handler)
    built = await Daemon.build(settings, clock=clock, transport_for=lambda _: transport, rng=random.Random(1))
    await built.run_once()
    yield built
    await built.aclose()


class Answers:
    """The seller's y/N answers, in order; running out means no."""

    def __init__(self, *answers: str) -> None:
        self.asked: list[str] = []
        self._answers: Iterator[str] = iter(answers)

    def __call__(self, question: str) -> str:
        self.asked.append(question)
        return next(self._answers, "n")


async def _answer(settings: Settings, clock: FakeClock, ask: Answers, *argv: str) -> int:
    args: argparse.Namespace = _parser().parse_args(["answer", "1", *argv, "--config", "unused.toml"])
    return await answer_from_terminal(args, settings, check=None, ask=ask, clock=clock)


async def test_a_template_answer_is_sent_confirmed_and_its_date_promised(
    daemon: Daemon, settings: Settings, clock: FakeClock, sandbox: CoupangSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    ask = Answers("y")
    assert await _answer(settings, clock, ask, "-t", "출고 약속") == 0
    out = capsys.readouterr().out
    assert "안녕하세요, 바른생활입니다." in out and "11월 26일(목)까지 출고해 드리겠습니다" in out
    assert "템플릿 '출고 약속'" in out and "약속: 11/26(목) 18:00까지" in out
    assert "연락 약속을 기록했습니다" in out
    assert len(ask.asked) == 1  # no warning: one yes

    await daemon.run_once()  # the sender posts it through the real connector
    [stored] = await daemon.store.open_inquiries()
    assert sandbox.is_answered(int(stored.inquiry.external_id))
    assert stored.controls.promise_at is not None
    assert stored.controls.promise_at.astimezone(settings.zone).date().isoformat() == "2026-11-26"
    clock.advance(60)
    await daemon.run_once()  # the next poll sees it answered
    answers = await daemon.answers().status(1)
    assert [a.state for a in answers] == [AnswerState.CONFIRMED]
    assert answers[0].approved_by is not None and answers[0].approved_by.startswith("terminal:")
    lines = await explain_lines(daemon.store, daemon.policies, 1, now=clock.now(), words=Words("ko"))
    assert lines is not None
    explained = "\n".join(lines)
    assert "연락 약속 “답변 #1에서 약속한 날 11월 26일(목)”" in explained
    assert "답변 #1 확인됨: 마켓에 답변이 보임" in explained


async def test_a_blocking_finding_is_refused_and_nothing_is_sent(
    daemon: Daemon, settings: Settings, clock: FakeClock, sandbox: CoupangSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "010-9876-5432로 전화 주세요"
    assert await _answer(settings, clock, Answers("y", "y"), "-m", text, "--yes", "--accept-warnings") == 1
    assert "[막음] 마켓 밖 연락처·메신저: ‘010-9876-5432’" in capsys.readouterr().out
    await daemon.run_once()
    assert [a.state for a in await daemon.answers().status(1)] == [AnswerState.DRAFT]
    assert not sandbox.is_answered(int((await daemon.store.open_inquiries())[0].inquiry.external_id))
    # the daemon's surfaces run the very same check
    stored = (await daemon.store.open_inquiries())[0]
    draft = await daemon.answers().draft(1, text)
    assert draft.findings == answer_check(settings)(stored.inquiry, text)
    assert draft.blocked


async def test_a_warning_needs_the_second_yes(
    daemon: Daemon, settings: Settings, clock: FakeClock, sandbox: CoupangSandbox, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "상세페이지에 분명히 적혀 있습니다. 내일 출고됩니다."
    first = Answers("y", "n")
    assert await _answer(settings, clock, first, "-m", text) == 1
    assert len(first.asked) == 2 and "경고" in first.asked[1]
    assert "[경고] 탓하거나 따지는 말: ‘상세페이지에 분명히’" in capsys.readouterr().out
    assert [a.state for a in await daemon.answers().status(1)] == [AnswerState.DRAFT]
    assert await _answer(settings, clock, Answers("y", "y"), "-m", text) == 0
    await daemon.run_once()
    assert [a.state for a in await daemon.answers().status(1)] == [AnswerState.SENT]
    [stored] = await daemon.store.open_inquiries()
    assert sandbox.is_answered(int(stored.inquiry.external_id))


def _sent_after(tmp_path: Path, after: datetime) -> list[tuple[str, datetime]]:
    """(kind, at) of every message the sink got after `after`."""
    path = tmp_path / "sink.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
    return [(r["kind"], at) for r in rows if (at := datetime.fromisoformat(r["at"])) > after]


async def _run_until(daemon: Daemon, clock: FakeClock, until: datetime, *, step_s: int) -> None:
    while clock.now() < until:
        clock.advance(step_s)
        await daemon.run_once()


async def _answered_with_a_promise(daemon: Daemon, settings: Settings, clock: FakeClock) -> datetime:
    """Answer #1 with the template promising "+2영업일", post it and let the next poll confirm it: the promise."""
    assert await _answer(settings, clock, Answers("y"), "-t", "출고 약속") == 0
    await daemon.run_once()  # posted
    clock.advance(60)
    await daemon.run_once()  # the next poll sees it answered
    assert [a.state for a in await daemon.answers().status(1)] == [AnswerState.CONFIRMED]
    stored = await daemon.store.get_inquiry(1)
    assert stored is not None and stored.inquiry.answered and stored.controls.promise_by_answer
    assert stored.controls.promise_at is not None
    return stored.controls.promise_at


async def test_the_promise_an_answer_made_reminds_after_the_answer_is_confirmed(
    daemon: Daemon, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    promised = await _answered_with_a_promise(daemon, settings, clock)
    answered_at = clock.now()
    assert promised == datetime(2026, 11, 26, 18, 0, tzinfo=KST)
    lines = await explain_lines(daemon.store, daemon.policies, 1, now=clock.now(), words=Words("ko"))
    assert lines is not None
    assert [line.split("  ", 1)[1] for line in lines[-2:]] == [
        "약속(11/26(목) 18:00) 전 알림",
        "답변에서 약속한 시각(11/26(목) 18:00)",
    ]

    await _run_until(daemon, clock, promised - timedelta(hours=1), step_s=1800)
    await _run_until(daemon, clock, promised + timedelta(hours=2), step_s=60)
    await _run_until(daemon, clock, promised + timedelta(days=3), step_s=3600)
    sent = _sent_after(tmp_path, answered_at)
    [reminded] = [at for kind, at in sent if kind == "promise_reminder"]  # exactly once
    assert promised - timedelta(minutes=30) <= reminded < promised - timedelta(minutes=29)  # within a 1-min step
    [escalated] = [at for kind, at in sent if kind == "promise_missed"]
    assert promised <= escalated < promised + timedelta(minutes=1)
    assert [kind for kind, _ in sent if kind not in ("promise_reminder", "promise_missed", "answered")] == []
    assert await daemon.store.next_alert_at() is None  # nothing left to plan


@pytest.mark.parametrize("stop", ["handled", "withdrawn"])
async def test_a_kept_or_withdrawn_answer_promise_stops_its_alerts(
    daemon: Daemon, settings: Settings, clock: FakeClock, tmp_path: Path, stop: str
) -> None:
    promised = await _answered_with_a_promise(daemon, settings, clock)
    stopped_at = clock.now()
    if stop == "handled":  # `inqd handled 1` or 처리함 on the phone: the promise is kept
        outcome = await controls.mark_handled(daemon.store, 1, now=clock.now(), actor="terminal:t")
        assert "약속을 지킨 것으로 표시했습니다" in outcome.reply
    else:  # `inqd promise 1 --cancel`
        assert await daemon.store.promise(1, None, "", now=clock.now(), actor="terminal:t") is not None
    await _run_until(daemon, clock, promised + timedelta(hours=1), step_s=1800)
    assert _sent_after(tmp_path, stopped_at) == []
