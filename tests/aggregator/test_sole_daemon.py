"""Until every part of the work is claimed through the database, one daemon runs on a PostgreSQL database: a second
one, on another machine (its own directory, so the file lock next to db_path does not see the first), refuses to
start with one line, and starts once the first is gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.daemon import Daemon
from aggregator.instance_lock import AlreadyRunning
from aggregator.leases import LeaseKeeper
from aggregator.settings import Settings
from tests.fakes import FakeClock
from tests.postgres_server import PostgresServer


async def test_a_second_daemon_on_one_postgres_refuses_to_start(
    tmp_path: Path, clock: FakeClock, postgres_server: PostgresServer
) -> None:
    url = postgres_server.new_database()
    machines = [tmp_path / "a", tmp_path / "b"]
    settings = [Settings(db_path=where / "inqd.db", database_url=url, quiet_hours=()) for where in machines]
    first = await Daemon.build(settings[0], clock=clock)
    assert isinstance(first.keeper, LeaseKeeper)
    assert first.keeper.is_leader  # its first tick ran at build
    with pytest.raises(AlreadyRunning) as refused:
        await Daemon.build(settings[1], clock=clock)
    await first.aclose()
    second = await Daemon.build(settings[1], clock=clock)  # the lock went with the first's connection
    assert second.keeper.is_leader  # the first gave the leadership back as it closed: no wait for expiry
    await second.aclose()
    text = str(refused.value)
    assert text.startswith("another inqd is already running on the database postgresql://")
    assert "\n" not in text
