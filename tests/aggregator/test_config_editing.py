"""Editing the seller's config from a program: comments kept, checked like `inqd check`, a `.bak` left, a refused
file untouched; and the week's ranges written as the hours strings the config takes."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.settings import ConfigError, Settings, load_settings
from aggregator.settings.editing import set_hours, week_hours
from aggregator.web.hours_view import current_hours

CONFIG = """# my shop's inqd
db_path = "{db}"
# nights off, and Sundays
quiet_hours = ["night", "closed-days"]  # changed on the web page too

[[notifiers]]
type = "sink"  # the test channel
file = "{sink}"
"""

NIGHT = (1320, 540)
DAY = (0, 1440)
WORK = (600, 1140)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "inqd.toml"
    path.write_text(CONFIG.format(db=tmp_path / "inqd.db", sink=tmp_path / "sink.jsonl"), encoding="utf-8")
    return path


def test_set_hours_keeps_comments_and_leaves_a_backup(config: Path) -> None:
    before = config.read_text(encoding="utf-8")
    settings = set_hours(config, ["월-금 22:00-09:00", "토,일 00:00-24:00", "closed-days"], ["월-금 10:00-19:00"])
    after = config.read_text(encoding="utf-8")
    assert settings.quiet_hours == ("월-금 22:00-09:00", "토,일 00:00-24:00", "closed-days")
    assert load_settings(config).work_hours == ("월-금 10:00-19:00",)
    for comment in ("# my shop's inqd", "# nights off, and Sundays", "# the test channel"):
        assert comment in after
    assert config.with_name("inqd.toml.bak").read_text(encoding="utf-8") == before
    assert not config.with_name("inqd.toml.check").exists()


@pytest.mark.parametrize(
    ("quiet", "problem"),
    [
        (["월-금 25:00-09:00"], "quiet_hours"),
        (["holidays-only"], "quiet_hours"),
    ],
)
def test_a_refused_file_changes_nothing(config: Path, quiet: list[str], problem: str) -> None:
    before = config.read_bytes()
    with pytest.raises(ConfigError) as refused:
        set_hours(config, quiet, [])
    assert any(line.startswith(problem) for line in refused.value.problems)
    assert all(".check" not in line for line in refused.value.problems)
    assert config.read_bytes() == before
    assert sorted(p.name for p in config.parent.iterdir()) == ["inqd.toml"]


def test_a_file_that_is_not_toml_is_refused(config: Path) -> None:
    config.write_text("quiet_hours = [", encoding="utf-8")
    with pytest.raises(ConfigError):
        set_hours(config, [], [])
    assert config.read_text(encoding="utf-8") == "quiet_hours = ["


@pytest.mark.parametrize(
    ("week", "written"),
    [
        ([(NIGHT,)] * 7, ["22:00-09:00"]),
        ([(NIGHT,)] * 5 + [(DAY,)] * 2, ["월-금 22:00-09:00", "토,일 00:00-24:00"]),
        ([(WORK, NIGHT)] + [()] * 6, ["월 10:00-19:00, 22:00-09:00"]),
        ([(WORK,), (), (WORK,), (WORK,), (WORK,), (), ()], ["월,수-금 10:00-19:00"]),
        ([()] * 7, []),
    ],
)
def test_week_hours_group_equal_days(week: list[tuple[tuple[int, int], ...]], written: list[str]) -> None:
    assert week_hours(week) == written


@pytest.mark.parametrize(
    ("quiet", "work"),
    [
        (("night", "closed-days"), ("cs-hours",)),
        (("월-금 22-9", "토,일 00:00-24:00", "closed-days"), ("월-금 10-19", "토 10-12")),
        (("fri 18:00-02:00", "sat 11-13"), ()),
        ((), ()),
    ],
)
def test_the_grid_writes_back_the_same_hours(quiet: tuple[str, ...], work: tuple[str, ...]) -> None:
    shown = current_hours(Settings(quiet_hours=quiet, work_hours=work))
    quiet_items, work_items = shown.items()
    again = current_hours(Settings(quiet_hours=quiet_items, work_hours=work_items))
    assert again == shown
    assert ("closed-days" in quiet_items) == ("closed-days" in quiet)
