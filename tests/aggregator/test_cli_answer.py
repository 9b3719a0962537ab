"""`inqd answer` from the terminal: write (-m / -e), the check's findings, the y/N, --status, --cancel, and the
answer's life in `inqd explain`."""

from __future__ import annotations

import asyncio
import io
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.cli.answer_command import question_comment, run_answer, without_comments
from aggregator.cli.main import _parser, main
from aggregator.settings import load_settings
from aggregator.store import Store, StoredInquiry
from aggregator.store.answers import AnswerState
from core.answers import Finding
from core.models import Inquiry, PollResult
from tests.conftest import make_inquiry

TEXT = "안녕하세요. 오늘 오후에 출고됩니다. 감사합니다."


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config whose database holds one open inquiry (#1), with a phone number in the question."""

    async def seed() -> None:
        store = await Store.open(tmp_path / "inqd.db")
        now = datetime.now(UTC)
        row = make_inquiry(
            "a", received_at=now - timedelta(hours=1), body="배송 언제 오나요?\n010-1234-5678로 연락 주세요"
        )
        await store.record_poll(
            "shop", row.stream, PollResult(inquiries=(row,), cursor={}), now=now, channels=(), notify_new=False
        )
        await store.aclose()

    asyncio.run(seed())
    monkeypatch.setenv("INQD_SHOP__ACCESS_KEY", "ak")
    monkeypatch.setenv("INQD_SHOP__SECRET_KEY", "sk")
    path = tmp_path / "inqd.toml"
    path.write_text(
        f'db_path = "{tmp_path / "inqd.db"}"\n[[accounts]]\nid = "shop"\nmarketplace = "coupang"\n'
        'vendor_id = "A00012345"\n',
        encoding="utf-8",
    )
    return path


def _states(config: Path) -> list[AnswerState]:
    async def read() -> list[AnswerState]:
        store = await Store.open(config.parent / "inqd.db")
        try:
            return [a.state for a in await store.answers_for(1)]
        finally:
            await store.aclose()

    return asyncio.run(read())


def test_answer_with_yes_is_approved_and_explained(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["answer", "1", "-m", TEXT, "--yes", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert TEXT in out and "승인했습니다 (답변 #1)" in out
    assert _states(config) == [AnswerState.APPROVED]
    assert main(["answer", "1", "--status", "--config", str(config)]) == 0
    assert "답변 #1  승인됨" in capsys.readouterr().out
    assert main(["explain", "1", "--config", str(config)]) == 0
    explained = capsys.readouterr().out
    assert "— 답변 —" in explained
    assert "답변 #1 초안 저장" in explained
    assert "답변 #1 승인 (터미널, terminal:" in explained


def test_the_seller_is_asked_first(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    assert main(["answer", "1", "-m", TEXT, "--config", str(config)]) == 1
    assert "보내지 않았습니다" in capsys.readouterr().err
    assert _states(config) == [AnswerState.DRAFT]
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    assert main(["answer", "1", "-m", TEXT, "--config", str(config)]) == 0
    assert _states(config) == [AnswerState.APPROVED]  # the same draft, rewritten and approved


def test_no_terminal_to_ask_means_no(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert main(["answer", "1", "-m", TEXT, "--config", str(config)]) == 1
    assert _states(config) == [AnswerState.DRAFT]


def test_cancel_and_bad_input(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["answer", "1", "--config", str(config)]) == 2
    assert main(["answer", "9", "-m", TEXT, "--config", str(config)]) == 1
    assert main(["answer", "1", "--cancel", "--config", str(config)]) == 1  # nothing to cancel yet
    assert main(["answer", "1", "-m", TEXT, "--yes", "--config", str(config)]) == 0
    assert main(["answer", "1", "-m", "또 하나", "--yes", "--config", str(config)]) == 1
    assert "이미 답변 #1" in capsys.readouterr().err
    assert main(["answer", "1", "--cancel", "--config", str(config)]) == 0
    assert _states(config) == [AnswerState.CANCELLED]


WARN = Finding("blaming", "warn", "고객 탓으로 읽힐 수 있습니다", ("고객님 과실",))
BLOCK = Finding("phone_number", "block", "전화번호가 있습니다", ("010-1234-5678",))


def _run(config: Path, *argv: str, finding: Finding) -> int:
    args = _parser().parse_args(["answer", "1", *argv, "--config", str(config)])
    return run_answer(args, load_settings(config), check=lambda inquiry, text: [finding], ask=lambda _: "y")


def test_warnings_need_accept_warnings_with_yes(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(config, "-m", "고객님 과실로 보입니다", "--yes", finding=WARN) == 1
    captured = capsys.readouterr()
    assert "[경고] 고객 탓으로 읽힐 수 있습니다 (고객님 과실)" in captured.out
    assert "--accept-warnings" in captured.err
    assert _states(config) == [AnswerState.DRAFT]
    assert _run(config, "-m", "고객님 과실로 보입니다", "--yes", "--accept-warnings", finding=WARN) == 0
    assert _states(config) == [AnswerState.APPROVED]


def test_a_blocking_finding_stops_it_even_with_yes(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(config, "-m", "010-1234-5678로 전화 주세요", "--yes", "--accept-warnings", finding=BLOCK) == 1
    assert "[막음] 전화번호가 있습니다 (010-1234-5678)" in capsys.readouterr().out
    assert _states(config) == [AnswerState.DRAFT]


def test_edit_opens_the_editor_with_the_question_quoted(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import sys, pathlib\n"
        "p = pathlib.Path(sys.argv[1])\n"
        "old = p.read_text(encoding='utf-8')\n"
        "assert '# > 배송 언제 오나요?' in old and '1234-5678' not in old, old\n"
        f"p.write_text({TEXT!r} + old, encoding='utf-8')\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("VISUAL", f"{sys.executable} {editor}")
    assert main(["answer", "1", "-e", "--yes", "--config", str(config)]) == 0
    assert _states(config) == [AnswerState.APPROVED]


def test_comments_are_not_part_of_the_answer() -> None:
    inquiry: Inquiry = make_inquiry("a", body="사이즈 문의")
    template = question_comment(StoredInquiry(3, inquiry, inquiry.received_at))
    assert "# > 사이즈 문의" in template
    assert without_comments(template) == ""
    assert without_comments("내일 출고됩니다.\n" + template) == "내일 출고됩니다."
