"""Changing the seller's config file from a program (`inqd init`, the web page's hours): edited in place with tomlkit
so the seller's comments stay, validated by `load_settings` exactly as `inqd check` reads it, and only then put in
place atomically, the previous file kept as `<config>.bak`. A refused file changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import tomlkit
from tomlkit.exceptions import TOMLKitError

from aggregator.language import Lang
from aggregator.settings.file import NotUtf8, config_text
from aggregator.settings.loading import ConfigError, load_settings
from aggregator.settings.root import Settings
from core.files import write_private

_WEEKDAY_NAMES = "월화수목금토일"
CHECK_SUFFIX = ".check"  # the candidate beside the config while load_settings reads it


def replace_config(path: Path, text: str, *, lang: Lang = "en", check_suffix: str = CHECK_SUFFIX) -> Settings:
    """Put `text` in place of the config at `path` if load_settings accepts it; returns what it loaded.

    The candidate is written beside the file (same directory, so its relative paths mean the same) and read as
    `inqd check` reads a config; a refused one raises ConfigError (its lines name `path`) and changes nothing.
    The old file is kept as `<path>.bak`, with its mode. Raises OSError when the directory cannot be written.
    """
    existing = path.is_file()
    mode = path.stat().st_mode & 0o777 if existing else 0o644
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(path.name + check_suffix)
    write_private(path.parent, candidate.name, text, 0o600)
    try:
        settings = load_settings(candidate, lang=lang)
    except ConfigError as err:
        candidate.unlink(missing_ok=True)
        raise ConfigError([line.replace(str(candidate), str(path)) for line in err.problems]) from None
    except BaseException:
        candidate.unlink(missing_ok=True)
        raise
    if existing:
        write_private(path.parent, path.name + ".bak", path.read_text(encoding="utf-8"), mode)
    os.chmod(candidate, mode)
    os.replace(candidate, path)
    return settings


def set_hours(path: Path, quiet: Sequence[str], work: Sequence[str], *, lang: Lang = "ko") -> Settings:
    """Write `quiet_hours` and `work_hours` into the config at `path`, keeping everything else and its comments.

    Raises ConfigError (one line per problem) when the file cannot be read as TOML or the result is refused.
    """
    try:
        document = tomlkit.parse(config_text(path))
    except (TOMLKitError, NotUtf8, OSError) as err:
        raise ConfigError([f"{path}: {err}"]) from err
    document["quiet_hours"] = list(quiet)
    document["work_hours"] = list(work)
    try:
        return replace_config(path, tomlkit.dumps(document), lang=lang)
    except OSError as err:
        raise ConfigError([f"{path}: {err.strerror}"]) from err


Ranges = tuple[tuple[int, int], ...]  # (start_min, end_min) in one day; an end below the start runs over midnight


def clock_text(minute: int) -> str:
    """`HH:MM` of minutes after midnight; 1440 is `24:00`."""
    return f"{minute // 60:02d}:{minute % 60:02d}"


def range_text(ranges: Ranges) -> str:
    """`22:00-09:00, 12:00-13:00`, the way parse_hours reads times."""
    return ", ".join(f"{clock_text(start)}-{clock_text(end)}" for start, end in ranges)


def _days_text(days: list[int]) -> str:
    """Weekday numbers as the hours strings name them: `월-금` for a run of three or more, else `토,일`."""
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{_WEEKDAY_NAMES[run[0]]}-{_WEEKDAY_NAMES[run[-1]]}")
        else:
            parts += [_WEEKDAY_NAMES[day] for day in run]
    return ",".join(parts)


def week_hours(week: Sequence[Ranges]) -> list[str]:
    """Seven days' ranges (Monday first) as hours strings, days with the same ranges grouped:
    `["월-금 22:00-09:00", "토,일 00:00-24:00"]`; one string without days when all seven agree."""
    if len(week) != 7:
        raise ValueError("a week has seven days")
    groups: dict[Ranges, list[int]] = {}
    for day, ranges in enumerate(week):
        if ranges:
            groups.setdefault(tuple(sorted(ranges)), []).append(day)
    if len(groups) == 1 and len(next(iter(groups.values()))) == 7:
        return [range_text(next(iter(groups)))]
    return [f"{_days_text(days)} {range_text(ranges)}" for ranges, days in groups.items()]
