"""`inqd report` from the terminal: the Korean text (English with --lang en), the figures as --json, one line and
exit 2 for a bad --weeks. The store is seeded relative to the real time, as the command reads the system clock."""

from __future__ import annotations

import asyncio
import json
import struct
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.cli.main import main
from aggregator.report.chart import PNG_DPI, PNG_WIDTH_IN, png_height_in
from aggregator.store import Store
from core.models import Marketplace, PollResult
from policies.answer_report import AnswerReport, Figures, Forecast, MarketplaceReport
from tests.conftest import make_inquiry

HOUR = timedelta(hours=1)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Coupang first polled two days ago: "a" answered 2 h after it came (the marketplace's time), "b" open for 48 h,
    "c" open for an hour (a second poll now). A Naver account never polled."""

    async def seed() -> None:
        store = await Store.open(tmp_path / "inqd.db")
        now = datetime.now(UTC)
        first = now - 48 * HOUR
        a = replace(make_inquiry("a", received_at=first - 5 * HOUR, answered=True), answered_at=first - 3 * HOUR)
        b = make_inquiry("b", received_at=first)
        for at, rows in ((first, (a, b)), (now, (make_inquiry("c", received_at=now - HOUR),))):
            await store.record_poll(
                "shop", a.stream, PollResult(inquiries=rows, cursor={}), now=at, channels=(), notify_new=False
            )
        await store.aclose()

    asyncio.run(seed())
    path = tmp_path / "inqd.toml"
    path.write_text(
        f'db_path = "{tmp_path / "inqd.db"}"\n[[accounts]]\nid = "shop"\nmarketplace = "coupang"\n'
        'vendor_id = "A00012345"\n[[accounts]]\nid = "store"\nmarketplace = "naver"\nclient_id = "abcd1234"\n',
        encoding="utf-8",
    )
    return path


def test_the_korean_report(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    # decided: a (within 24 h) + b (open past 24 h) = 2 -> 1/2 = 50.0 %; c is pending.
    assert "  최근 30일: 받은 문의 3건, 24시간 안 답변 50.0% (1/2건, 아직 24시간 전 1건)" in out
    assert "첫 답변까지 중앙값 2시간 / p90 2시간" in out
    assert "24시간 넘게 열린 문의 1건" in out
    assert "    답변 시각: 마켓 기록 1건, 폴링 시각 0건" in out
    assert "  쿠팡 30일 24시간 답변율 50.0%: 기준 90%보다 낮습니다 — 기준: 쿠팡 판매자 평점 최소 90%" in out
    assert "데이터 없음 (계정 연결 전)" in out  # the weeks before the first poll
    assert "기준 미확인: 스마트스토어의 답변율 기준은" in out


def test_the_report_in_english_and_as_json(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--config", str(config), "--lang", "en", "--weeks", "4"]) == 0
    assert "answered within 24 h 50.0% (1/2, 1 still inside 24 h)" in capsys.readouterr().out
    assert main(["report", "--config", str(config), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    coupang, naver = data["marketplaces"]
    assert (coupang["marketplace"], coupang["last_30_days"]["share_24h"], len(coupang["weeks"])) == ("coupang", 0.5, 12)
    assert coupang["forecast"]["threshold"] == 0.9 and not coupang["forecast"]["falls_below"]
    assert coupang["last_30_days"]["median_answer_s"] == 2 * 3600
    assert naver["forecast"] is None and not any(week["covered"] for week in naver["weeks"])


def test_weeks_out_of_range_is_one_line(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--config", str(config), "--weeks", "0"]) == 2
    assert capsys.readouterr().err.strip() == "inqd: --weeks는 1에서 104 사이여야 합니다"


def test_the_weekly_summary_has_at_most_three_lines_and_warns_first_about_a_falling_share() -> None:
    # The forecast case of tests/policies: 96 % now, 88.9 % if the two open ones pass 24 h (< 90 %).
    from aggregator.report.text import summary_lines
    from core.models import Marketplace
    from tests.policies.test_answer_report import MP, NOW, _at, _fact, _report

    answered = [_fact(n, _at(10, 5, 9) + timedelta(minutes=n), _at(10, 5, 11), MP) for n in range(24)]
    facts = [*answered, _fact(30, _at(10, 12, 9)), _fact(31, _at(10, 14, 11)), _fact(32, _at(10, 14, 11))]
    first = {m: _at(9, 1, 9) for m in Marketplace}
    lines = summary_lines(_report(facts, NOW, weeks=2, first=first))
    # Last week (10/5): 24 received, all within 24 h, waits 120 - n minutes for n = 0..23, i.e. 97..120: the median
    # is (108 + 109) / 2 = 108.5 min. The last line is the warning, in place of the other marketplaces.
    assert lines[0] == "쿠팡: 지난주 24건, 24시간 안 100.0%, 중앙값 1시간 48분 · 30일 96.0%"
    assert lines[2].startswith("이대로면 쿠팡 30일 24시간 답변율이 90% 아래로 내려갑니다 (지금 96.0%;")
    assert len(lines) == 3


def test_a_report_target_out_of_range_is_one_line_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "inqd.toml"
    path.write_text("[report]\ncoupang_24h_target = 1.5\n", encoding="utf-8")
    assert main(["report", "--config", str(path)]) == 2
    assert capsys.readouterr().err.strip() == "inqd: 설정 오류: report.coupang_24h_target: 1.0 이하여야 합니다"


def _png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR, the first chunk after the signature."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">I4s", data[8:16]) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_png_is_as_wide_as_the_chart_promises(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = tmp_path / "report.png"
    assert main(["report", "--config", str(config), "--png", str(picture)]) == 0
    assert "최근 30일" in capsys.readouterr().out  # the text still comes with the picture
    width, height = _png_size(picture.read_bytes())
    # Two marketplaces, a panel each; Coupang's threshold note in the header, Naver's threshold unknown (no note).
    shape = AnswerReport(
        datetime.now(UTC),
        12,
        (
            MarketplaceReport(Marketplace.COUPANG, (), Figures(), forecast=Forecast(0.9, 0.5, 0.5, 1, "coupang_2016")),
            MarketplaceReport(Marketplace.NAVER, (), Figures()),
        ),
    )
    assert width == PNG_WIDTH_IN * PNG_DPI == 1080
    assert height == pytest.approx(png_height_in(shape) * PNG_DPI, abs=1)


def test_a_png_path_that_is_a_directory_is_one_line_and_exit_2(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Not writable even for root (the tests may run as root, where a read-only directory is no obstacle).
    assert main(["report", "--config", str(config), "--png", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"inqd: PNG 파일을 쓸 수 없습니다: {tmp_path} (Is a directory)\n"
    assert captured.out == ""  # no report printed as if all went well


def test_a_png_path_in_a_missing_directory_is_one_line_and_exit_2(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no-such-dir" / "report.png"
    assert main(["report", "--config", str(config), "--png", str(target)]) == 2
    assert capsys.readouterr().err == f"inqd: PNG 파일을 쓸 수 없습니다: {target} (No such file or directory)\n"
