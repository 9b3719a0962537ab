"""`inqd migrate --from sqlite:PATH`: move an existing SQLite queue into the PostgreSQL database of the config.

Refused in one line (exit 2), with nothing written, when the config's database is not PostgreSQL, when it already
holds inquiries (two queues are never merged), or when a daemon runs on it or on the SQLite file. The SQLite file
is only read (brought to the current schema first, as any inqd start would); the copy itself is the store's
(Store.copy_into).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aggregator.cli.stops import Stops
from aggregator.cli.words import Words
from aggregator.instance_lock import AlreadyRunning, InstanceLock
from aggregator.settings import Settings
from aggregator.store import DatabaseUnreachable, Store, TargetNotEmpty, is_postgres_url

EXIT_REFUSED = 2
_SOURCE_SCHEME = "sqlite:"


def add_migrate_parser(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Register `inqd migrate` on the subcommand parsers."""
    parser = sub.add_parser(
        "migrate", help="move a SQLite queue into the config's PostgreSQL database (database_url)", parents=parents
    )
    parser.add_argument("--config", "-c", type=Path, required=True, help="path to the TOML config file")
    parser.add_argument(
        "--from", dest="source", required=True, metavar="sqlite:PATH", help="the SQLite file to move (left as it is)"
    )


def run_migrate(args: argparse.Namespace, settings: Settings, words: Words, stops: Stops) -> int:
    """`inqd migrate`: the rows moved per table, or one line saying why nothing was."""
    source = str(args.source)
    if not source.startswith(_SOURCE_SCHEME) or len(source) == len(_SOURCE_SCHEME):
        return _refuse(words("migrate_source_form"))
    path = Path(source.removeprefix(_SOURCE_SCHEME)).expanduser()
    if not path.is_file():  # Store.open would create an empty one
        return _refuse(words("migrate_no_source", path=path))
    target = settings.database_location()
    if not is_postgres_url(target):
        return _refuse(words("migrate_target_not_postgres", target=settings.database_label))
    try:
        source_lock = InstanceLock.acquire(path)  # the SQLite daemon's own lock: its queue stays still meanwhile
    except AlreadyRunning:
        return _refuse(words("migrate_source_busy", path=path))
    try:
        counts = stops.run(_copy(path, str(target)))
    except DatabaseUnreachable as err:
        return _refuse(words("migrate_unreachable", error=err))
    except TargetNotEmpty:
        return _refuse(words("migrate_target_not_empty", target=settings.database_label))
    finally:
        source_lock.release()
    if counts is None:
        return _refuse(words("migrate_target_busy", target=settings.database_label))
    print(words("migrate_done", source=path, target=settings.database_label))
    print("\n".join(words("migrate_table", table=table, count=count) for table, count in counts.items()))
    return 0


def _refuse(line: str) -> int:
    print(line, file=sys.stderr)
    return EXIT_REFUSED


async def _copy(path: Path, url: str) -> dict[str, int] | None:
    """The rows copied per table; None when a daemon holds the target. Raises DatabaseUnreachable (PostgreSQL
    cannot be reached) and TargetNotEmpty."""
    await Store.schema_versions(url)  # reaching the server first: its refusal is then one line, not a traceback
    source = await Store.open(path)
    try:
        target = await Store.open(url)
        try:
            # Held for the copy: no daemon starts on the target half-way through it.
            if not await target.hold_database(alone=True):
                return None
            return await source.copy_into(target)
        finally:
            await target.aclose()
    finally:
        await source.aclose()
