"""A throwaway PostgreSQL cluster for the tests: initdb in a temporary directory, one server on a free loopback
port for the whole session, a fresh database for each test, all removed at the end.

The binaries come from the system packages (Debian's postgresql, /usr/lib/postgresql/<version>/bin). initdb and
postgres refuse to run as root, so as root (CI) the cluster is made and run as `nobody`, in a directory it owns.
Missing binaries skip the PostgreSQL tests with the reason, unless INQD_REQUIRE_POSTGRES is set (`make test` sets
it after installing them): then they fail.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import pytest

from aggregator.store import Store

BACKENDS = ("sqlite", "postgres")

_SEARCHED = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)  # the newest version first
_USER = "inqd"
# Speed over durability: the cluster lives for one test session (fsync off is what the PostgreSQL docs advise
# for throwaway data).
_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200")


def binaries() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None when PostgreSQL is not installed."""
    for directory in _SEARCHED:
        if all((directory / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return directory
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def require_binaries() -> Path:
    """`binaries()`, or skip the test (fail it when INQD_REQUIRE_POSTGRES is set)."""
    found = binaries()
    if found is not None:
        return found
    reason = "PostgreSQL is not installed (initdb, pg_ctl, postgres; Debian package `postgresql`)"
    if os.environ.get("INQD_REQUIRE_POSTGRES"):
        pytest.fail(reason + " and INQD_REQUIRE_POSTGRES is set")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_owner(command: list[str]) -> list[str]:
    """`command` run as an unprivileged user when we are root (initdb and postgres refuse root)."""
    return ["runuser", "-u", "nobody", "--", *command] if os.geteuid() == 0 else command


class PostgresServer:
    """One running cluster; `new_database()` gives a fresh, empty database's URL."""

    def __init__(self, bin_dir: Path, root: Path) -> None:
        self._bin = bin_dir
        self._data = root / "data"
        self._sockets = root / "sockets"
        self.port = _free_port()
        self._names = itertools.count(1)

    def start(self) -> None:
        """initdb and start the server; returns once it accepts connections."""
        self._sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self._data.parent, "nobody")
            shutil.chown(self._sockets, "nobody")
        initdb = [str(self._bin / "initdb"), "-D", str(self._data), "-U", _USER, "--auth=trust", "-E", "UTF8"]
        subprocess.run(_as_owner([*initdb, "--no-sync", "--locale=C"]), check=True, capture_output=True)
        options = f"-p {self.port} -k {self._sockets} -c listen_addresses=127.0.0.1 " + " ".join(
            f"-c {setting}" for setting in _SETTINGS
        )
        log = str(self._data.parent / "server.log")
        start = [str(self._bin / "pg_ctl"), "-D", str(self._data), "-l", log, "-o", options, "-w", "start"]
        subprocess.run(_as_owner(start), check=True, capture_output=True)

    def stop(self) -> None:
        """Stop the server at once (its data is thrown away)."""
        stop = [str(self._bin / "pg_ctl"), "-D", str(self._data), "-m", "immediate", "-w", "stop"]
        subprocess.run(_as_owner(stop), check=False, capture_output=True)

    def url(self, database: str = "postgres") -> str:
        """The URL of one of the cluster's databases."""
        return f"postgresql://{_USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """Create an empty database of its own for one test; returns its URL."""
        import psycopg  # only the PostgreSQL tests need the driver

        name = f"test_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def running_server() -> Iterator[PostgresServer]:
    """A started cluster in a temporary directory, stopped and removed on exit."""
    bin_dir = require_binaries()
    with tempfile.TemporaryDirectory(prefix="inqd-pg-") as root:
        server = PostgresServer(bin_dir, Path(root))
        try:
            server.start()
            yield server
        finally:
            server.stop()


@asynccontextmanager
async def instance_stores(server: PostgresServer, count: int) -> AsyncIterator[list[Store]]:
    """`count` stores on one fresh database of `server`, as that many inqd instances would have; closed after."""
    url = server.new_database()
    opened = [await Store.open(url) for _ in range(count)]
    try:
        yield opened
    finally:
        for store in opened:
            await store.aclose()
