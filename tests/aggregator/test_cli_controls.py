"""`inqd snooze / handled / promise / vacation` from the terminal: they record the control with who did it,
`inqd queue` and `inqd explain` show it, and bad input gets one line and a non-zero exit."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.cli.main import main
from aggregator.store import Store
from core.models import PollResult
from tests.conftest import make_inquiry


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config whose database holds two open inquiries that arrived an hour ago."""

    async def seed() -> None:
        store = await Store.open(tmp_path / "inqd.db")
        now = datetime.now(UTC)
        rows = (make_inquiry("a", received_at=now - timedelta(hours=1)), make_inquiry("b", received_at=now))
        await store.record_poll(
            "shop", rows[0].stream, PollResult(inquiries=rows, cursor={}), now=now, channels=(), notify_new=False
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


def test_snooze_promise_and_handled_show_in_queue_and_explain(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snooze", "1", "2h", "--config", str(config)]) == 0
    assert "#1 알림을" in capsys.readouterr().out
    assert main(["promise", "1", "3h", "교환", "안내", "--config", str(config)]) == 0
    assert "연락 약속을 기록했습니다" in capsys.readouterr().out
    assert main(["handled", "2", "--config", str(config)]) == 0
    assert main(["queue", "--config", str(config), "--json"]) == 0
    capsys.readouterr()
    assert main(["queue", "--config", str(config), "--json"]) == 0
    entries = {e["id"]: e for e in json.loads(capsys.readouterr().out)}
    assert entries[1]["promise_at"] is not None and entries[1]["snoozed_until"] is not None
    assert entries[2]["handled"] is True
    assert main(["queue", "--config", str(config)]) == 0
    table = capsys.readouterr().out
    assert "[약속 " in table and "[미룸]" in table and "[처리함]" in table
    assert main(["explain", "1", "--config", str(config)]) == 0
    explained = capsys.readouterr().out
    assert "알림 미룸 →" in explained and "(터미널, terminal:" in explained
    assert "연락 약속 “교환 안내”" in explained
    assert "약속      " in explained


def test_snooze_all_and_off(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["snooze", "--all", "1h", "--config", str(config)]) == 0
    assert "미답변 2건의 알림을" in capsys.readouterr().out
    assert main(["snooze", "--off", "--config", str(config)]) == 0
    assert "전체 미루기를 끝냈습니다" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["snooze", "99", "2h"], 1, "#99 문의가 없습니다"),
        (["snooze", "1", "soon"], 2, "'soon': 2h, 90m, 18:00"),
        (["promise", "1"], 2, "약속 시각을 주세요"),
        (["vacation", "add", "2026-12-27..2026-12-24"], 2, "끝나는 날이 시작하는 날보다 앞입니다"),
        (["vacation", "remove", "7"], 2, "7번 휴가가 없습니다"),
    ],
)
def test_bad_input_gets_one_line(
    config: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, message: str
) -> None:
    assert main([*argv, "--config", str(config)]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_vacation_add_list_remove_with_forecast(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    today = datetime.now(UTC).date()
    days = f"{today}..{today + timedelta(days=2)}"
    assert main(["vacation", "add", days, "--note", "가족 여행", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "1번 휴가" in out and "마켓 마감이 오는 미답변 문의: 2건" in out and "쿠팡:" in out
    assert main(["vacation", "list", "--config", str(config)]) == 0
    assert f"1  {days} · 가족 여행" in capsys.readouterr().out
    assert main(["schedule", "--config", str(config), "--days", "1"]) == 0
    assert "휴가 — 종일 조용" in capsys.readouterr().out
    assert main(["vacation", "remove", "1", "--config", str(config)]) == 0
    assert main(["vacation", "list", "--config", str(config)]) == 0
    assert "기록된 휴가가 없습니다" in capsys.readouterr().out
