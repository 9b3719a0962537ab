"""Several daemons share one PostgreSQL database (each on its own machine: its own directory, so the file lock next
to db_path does not see the others); `inqd migrate` needs it alone: it is refused while a daemon runs, and a daemon
is refused, with one line, while it copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.daemon import Daemon
from aggregator.instance_lock import AlreadyRunning
from aggregator.leases import LeaseKeeper
from aggregator.settings import Settings
from aggregator.store import Store
from tests.fakes import FakeClock
from tests.postgres_server import PostgresServer


async def test_two_daemons_share_one_postgres_and_a_migration_needs_it_alone(
    tmp_path: Path, clock: FakeClock, postgres_server: PostgresServer
) -> None:
    url = postgres_server.new_database()
    settings = [
        Settings(db_path=tmp_path / name / "inqd.db", database_url=url, quiet_hours=()) for name in ("a", "b", "c")
    ]
    first = await Daemon.build(settings[0], clock=clock)
    second = await Daemon.build(settings[1], clock=clock)
    assert isinstance(first.keeper, LeaseKeeper) and isinstance(second.keeper, LeaseKeeper)
    assert first.keeper.instance_id != second.keeper.instance_id
    assert [first.keeper.is_leader, second.keeper.is_leader] == [True, False]  # the first tick ran at build
    migration = await Store.open(url)
    try:
        assert not await migration.hold_database(alone=True)  # daemons run: no copy under them
        await first.aclose()
        assert not await migration.hold_database(alone=True)
        await second.aclose()
        assert await migration.hold_database(alone=True)
        with pytest.raises(AlreadyRunning) as refused:
            await Daemon.build(settings[2], clock=clock)
    finally:
        await migration.aclose()
    third = await Daemon.build(settings[2], clock=clock)  # the copy is over: its lock went with its connection
    assert isinstance(third.keeper, LeaseKeeper) and third.keeper.is_leader  # the others gave leadership back
    await third.aclose()
    text = str(refused.value)
    assert text.startswith("inqd migrate is copying into the database postgresql://")
    assert "\n" not in text
