"""Reading the config as a seller writes it: any editor's UTF-8 (with a BOM too), hours in the form `inqd init`
takes, and no secret demanded by a command that does not use it.
"""

from __future__ import annotations

import asyncio
import codecs
from pathlib import Path

import pytest

from aggregator.cli.main import main
from aggregator.store import Store
from core.models import PollResult, StreamKind
from tests.conftest import START, make_inquiry

ACCOUNT = '[[accounts]]\nid = "shop"\nmarketplace = "coupang"\nvendor_id = "A00012345"\n'
# Every command that reads the config, with the arguments it needs besides --config.
READERS = [["check"], ["run"], ["schedule"], ["queue"], ["status"], ["explain", "1"], ["test-notify"]]
FROM_DAY = ["--from", "2025-10-02", "--days", "1"]  # a Thursday without a holiday


def _seeded_db(path: Path) -> Path:
    async def seed() -> None:
        store = await Store.open(path)
        result = PollResult(inquiries=(make_inquiry("1"),), cursor={})
        await store.record_poll("shop", StreamKind.PRODUCT_QNA, result, now=START, channels=(), notify_new=False)
        await store.aclose()

    asyncio.run(seed())
    return path


def _config(tmp_path: Path, text: str, *, encoding: str = "utf-8", bom: bool = False) -> Path:
    path = tmp_path / "inqd.toml"
    body = f'db_path = "{tmp_path / "inqd.db"}"\n# 조용한 시간은 밤 10시부터\n{text}'
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + body.encode(encoding))
    return path


@pytest.mark.parametrize("command", READERS, ids=lambda c: c[0])
def test_a_config_in_cp949_is_one_korean_line_saying_how_to_convert_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    config = _config(tmp_path, 'quiet_hours = ["night"]\n', encoding="cp949")
    assert main([*command, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"inqd: 설정 오류: {config}: 설정 파일은 UTF-8이어야 합니다 (cp949로 저장된 것 같습니다). 변환: "
        f"iconv -f cp949 -t utf-8 {config} > {tmp_path / 'inqd.utf8.toml'} "
        "(메모장: 다른 이름으로 저장 → 인코딩 UTF-8)\n"
    )


def test_a_config_in_cp949_in_english(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, "", encoding="cp949")
    assert main(["--lang", "en", "schedule", "--config", str(config)]) == 2
    assert capsys.readouterr().err.startswith(f"inqd: config error: {config}: the config file must be UTF-8")


@pytest.mark.parametrize("command", [["check"], ["schedule"], ["queue"], ["status"], ["explain", "1"]], ids=str)
def test_a_config_with_a_utf8_bom_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    _seeded_db(tmp_path / "inqd.db")
    config = _config(tmp_path, 'quiet_hours = ["night"]\n', bom=True)
    assert main([*command, "--config", str(config)]) == 0
    assert capsys.readouterr().err == ""


# Hours as `inqd init` takes them, anywhere: (config lines, the schedule of Thursday 2025-10-02).
GOOD_HOURS = [
    ('quiet_hours = "22-9"\n', "조용 00:00–09:00, 22:00–24:00 · 업무 13:00–18:00"),
    ('quiet_hours = ["22:00-09:00"]\n', "조용 00:00–09:00, 22:00–24:00 · 업무 13:00–18:00"),
    ('quiet_hours = ["closed-days", "23시-7시"]\n', "조용 00:00–07:00, 23:00–24:00 · 업무 13:00–18:00"),
    ('quiet_hours = ["night", "월-금 12-13"]\n', "조용 00:00–09:00, 12:00–13:00, 22:00–24:00 · 업무 13:00–18:00"),
    ('quiet_hours = "none"\nwork_hours = "월-금 10-19"\n', "업무 10:00–19:00"),
    ('quiet_hours = []\nwork_hours = ["cs-hours", "목 9:30-11"]\n', "업무 09:30–11:00, 13:00–18:00"),
    ('quiet_hours = "없음"\nwork_hours = "mon-fri 13:00-18:00, 19-20"\n', "업무 13:00–18:00, 19:00–20:00"),
    ('quiet_hours = "토,일 0-24"\nwork_hours = "fri 9-17"\n', "업무 없음"),
    (
        'quiet_hours = ["lunch", "22-9"]\n[[time_intervals]]\nname = "lunch"\n'
        'time_intervals = [{ times = ["12:00-13:00"] }]\n',
        "조용 00:00–09:00, 12:00–13:00, 22:00–24:00 · 업무 13:00–18:00",
    ),
]


@pytest.mark.parametrize(("text", "thursday"), GOOD_HOURS)
def test_hours_written_as_init_takes_them_are_accepted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, thursday: str
) -> None:
    config = _config(tmp_path, text)
    assert main(["schedule", "--config", str(config), *FROM_DAY]) == 0
    assert capsys.readouterr().out.splitlines()[1] == f"10/02 (목) — {thursday}"


# (command, its exit code: status says 3 as the account's streams have not been polled lately)
SECRET_FREE = [
    (["schedule"], 0),
    (["queue"], 0),
    (["status"], 3),
    (["explain", "1"], 0),
    (["snooze", "1", "2h"], 0),
    (["vacation", "list"], 0),
]


@pytest.mark.parametrize(("command", "code"), SECRET_FREE, ids=[c[0] for c, _ in SECRET_FREE])
def test_a_command_that_uses_no_secret_does_not_ask_for_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], code: int
) -> None:
    _seeded_db(tmp_path / "inqd.db")
    config = _config(tmp_path, ACCOUNT + '[[notifiers]]\ntype = "telegram"\nname = "t"\nchat_id = "12345"\n')
    assert main([*command, "--config", str(config)]) == code
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("command", [["check"], ["run"], ["test-notify"]], ids=lambda c: c[0])
def test_the_commands_that_use_secrets_still_ask_for_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    config = _config(tmp_path, ACCOUNT)
    assert main([*command, "--config", str(config)]) == 2
    assert "INQD_SHOP__SECRET_KEY" in capsys.readouterr().err
