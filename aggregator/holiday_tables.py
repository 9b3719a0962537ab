"""The daemon's public holidays: computed by the `holidays` package in a short-lived process, kept in a small file.

Importing `holidays` loads every country it knows (about 300 modules) and keeps ~14 MiB in the daemon for good
(bench.idle, 2026-12-07: 5.9 MiB the import, 8.0 MiB the first Korean year). So `inqd run` asks a child
interpreter for the years it will need once, keeps the answer next to the database (keyed by the package's
version, so an upgrade recomputes it), and hands the dates to policies.calendar. The dates are the package's own:
nothing here knows a holiday rule. A year outside those is still computed in the daemon when asked for
(correct, only heavier); so is every year when the child or the file fails, after a warning.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import structlog

import policies
from core.files import write_private
from policies.calendar import seed_public_holidays

log = structlog.get_logger("inqd.holidays")

COUNTRY = "KR"  # the only country the settings offer ([calendar] holidays = "KR" | "none")
_CHILD_TIMEOUT_S = 60.0
# The child prints {year: {"YYYY-MM-DD": name}} for the country and years in its arguments.
_CHILD = (
    "import json, sys\n"
    "from policies.calendar import library_holidays\n"
    "country, years = sys.argv[1], sys.argv[2:]\n"
    "tables = {y: {d.isoformat(): n for d, n in library_holidays(country, int(y)).items()} for y in years}\n"
    "print(json.dumps(tables, ensure_ascii=False))\n"
)

Tables = dict[int, dict[date, str]]


def years_around(today: date) -> list[int]:
    """The years a daemon started today looks at: last year (reports, overdue inquiries) to the year after next."""
    return list(range(today.year - 1, today.year + 3))


def cache_name(country: str) -> str:
    """The file's name: the package's version in it, so that an upgrade of `holidays` recomputes the dates."""
    return f"holidays-{country}-{importlib.metadata.version('holidays')}.json"


def _decode(text: str) -> Tables:
    raw = json.loads(text)
    return {int(year): {date.fromisoformat(day): str(name) for day, name in days.items()} for year, days in raw.items()}


def _encode(tables: Mapping[int, Mapping[date, str]]) -> str:
    return json.dumps(
        {str(year): {day.isoformat(): name for day, name in days.items()} for year, days in sorted(tables.items())},
        ensure_ascii=False,
        indent=1,
    )


def computed_in_child(country: str, years: Sequence[int]) -> Tables:
    """`country`'s holidays for `years`, as policies.calendar.library_holidays computes them, in another process."""
    # The child must find our packages wherever this process found them (an installed wheel or a checkout).
    here = str(Path(policies.__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])))
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, country, *map(str, years)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=_CHILD_TIMEOUT_S,
        check=True,
    )
    return _decode(done.stdout)


def holiday_tables(directory: Path, country: str, years: Sequence[int]) -> Tables:
    """The years' holidays from the file in `directory`; the ones it lacks computed in a child and written back."""
    path = directory / cache_name(country)
    try:
        kept = _decode(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        kept = {}
    except (OSError, ValueError) as err:  # unreadable or damaged: compute it again
        log.warning("holiday_file_unreadable", path=str(path), error=str(err))
        kept = {}
    missing = [year for year in years if year not in kept]
    if missing:
        kept |= computed_in_child(country, missing)
        try:
            write_private(directory, path.name, _encode(kept), 0o644)
        except OSError as err:  # the dates are in hand; the next start computes them again
            log.warning("holiday_file_not_written", path=str(path), error=str(err))
    return {year: kept[year] for year in years}


def seed_daemon_holidays(directory: Path, today: date) -> None:
    """Hand policies.calendar the Korean holidays of the years around `today`, so the daemon never imports them."""
    try:
        tables = holiday_tables(directory, COUNTRY, years_around(today))
    except (OSError, ValueError, subprocess.SubprocessError) as err:
        log.warning("holiday_child_failed", error=str(err))
        return
    seed_public_holidays(COUNTRY, tables)
