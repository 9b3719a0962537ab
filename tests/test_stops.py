"""A real `inqd` process stopped at any moment of its start-up and run, and piped into a reader that leaves early.

Every stop is clean: exit 0 for SIGTERM, 130 for Ctrl-C / SIGINT, no traceback, and within a bound (the database
thread must never keep the process alive). The moments are picked from the process itself: right after spawn,
once inqd's own signal handling is in place (/proc tells), after its first line, after daemon_started, and
while it polls; and for the admin server (aiohttp built on its first connection): before any request, after one,
and while a first connection that sent nothing is open. The admin port is free again after the stop.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from aggregator.store import Store
from connectors.sandbox import CoupangSandbox, SandboxServer
from core.models import PollResult, StreamKind
from tests.conftest import START, make_inquiry
from tests.processes import DEADLINE_S, finish, read_until, start

STOP_BOUND_S = 30.0
EXPECTED = {signal.SIGINT: 130, signal.SIGTERM: 0}
PROC = Path("/proc")


def _catches(pid: int, sig: signal.Signals) -> bool:
    """True once the process has a handler for `sig` (the SigCgt mask of /proc/PID/status)."""
    status = (PROC / str(pid) / "status").read_text(encoding="ascii")
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) >> (sig - 1) & 1)


def _wait_for_handlers(proc: subprocess.Popen[bytes]) -> None:
    """Wait (bounded) until inqd's own code has taken SIGTERM over: the interpreter itself never does."""
    deadline = time.monotonic() + DEADLINE_S
    while not _catches(proc.pid, signal.SIGTERM):
        assert proc.poll() is None, "exited before handling signals"
        assert time.monotonic() < deadline, "no SIGTERM handler within the deadline"
        time.sleep(0.001)  # polling a condition, not waiting for time to pass


@pytest.fixture
def coupang() -> Iterator[str]:
    """A Coupang sandbox with a backlog, on 127.0.0.1; yields its URL."""
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=lambda: datetime.now(UTC))
    for n in range(3):
        sandbox.add_product_inquiry(content=f"문의 {n}", inquiry_at=datetime.now(UTC) - timedelta(hours=n + 1))
    with SandboxServer(sandbox.handler) as server:
        yield server.url


def _command(kind: str, tmp_path: Path, url: str) -> list[str]:
    if kind == "demo":
        return ["demo", "--poll-interval", "0.5", "--data-dir", str(tmp_path)]
    config = tmp_path / "inqd.toml"
    config.write_text(
        f'db_path = "{tmp_path / "inqd.db"}"\nquiet_hours = []\n[admin]\nenabled = false\n'
        f'[[accounts]]\nmarketplace = "coupang"\nid = "shop"\nvendor_id = "A00012345"\nbase_url = "{url}"\n'
        'poll_interval_s = 0.5\nstreams = ["product_qna"]\n'
        f'[[notifiers]]\ntype = "sink"\nconsole = false\nfile = "{tmp_path / "sink.jsonl"}"\n',
        encoding="utf-8",
    )
    return ["run", "--config", str(config)]


# (command, moment, signal): "spawn" is at once; "handlers" once inqd's signal handling is in place; otherwise
# once the output shows that text ("" is the first line of any kind).
MOMENTS = [
    ("demo", "spawn", signal.SIGTERM),
    ("demo", "handlers", signal.SIGINT),
    ("demo", "", signal.SIGINT),
    ("demo", "", signal.SIGTERM),
    ("demo", "daemon_started", signal.SIGINT),
    ("demo", "polled", signal.SIGTERM),
    ("run", "spawn", signal.SIGTERM),
    ("run", "handlers", signal.SIGINT),
    ("run", "handlers", signal.SIGTERM),
    ("run", "daemon_started", signal.SIGTERM),
    ("run", "polled", signal.SIGINT),
]


@pytest.mark.parametrize(("kind", "moment", "sig"), MOMENTS, ids=lambda v: getattr(v, "name", v) or "first-line")
def test_a_signal_at_any_moment_is_a_clean_stop(
    tmp_path: Path, coupang: str, procs: list[subprocess.Popen[bytes]], kind: str, moment: str, sig: signal.Signals
) -> None:
    proc = start(_command(kind, tmp_path, coupang), {"INQD_SHOP__ACCESS_KEY": "ak", "INQD_SHOP__SECRET_KEY": "sk"})
    procs.append(proc)
    seen: list[str] = []
    if moment == "handlers":
        _wait_for_handlers(proc)
    elif moment != "spawn":
        read_until(proc, moment, seen)
    proc.send_signal(sig)
    sent = time.monotonic()
    output = finish(proc, seen)
    took = time.monotonic() - sent
    assert "Traceback" not in output, output
    # Right after spawn the signal may come before the interpreter runs any of inqd: it then dies of it, quietly.
    allowed = {EXPECTED[sig], -sig} if moment == "spawn" else {EXPECTED[sig]}
    assert proc.returncode in allowed, output
    assert took < STOP_BOUND_S


def _admin_config(tmp_path: Path) -> Path:
    """No accounts, the admin server on a free loopback port (the web inbox on, as shipped), a sink."""
    config = tmp_path / "inqd.toml"
    config.write_text(
        f'db_path = "{tmp_path / "inqd.db"}"\n[admin]\nport = 0\nweb = true\n'
        f'[[notifiers]]\ntype = "sink"\nconsole = false\nfile = "{tmp_path / "sink.jsonl"}"\n',
        encoding="utf-8",
    )
    return config


@pytest.mark.parametrize(
    ("moment", "sig"),
    [("before-any-request", signal.SIGINT), ("after-a-request", signal.SIGINT), ("silent-connection", signal.SIGTERM)],
)
def test_a_signal_stops_the_admin_server_cleanly_before_and_after_its_first_request(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]], moment: str, sig: signal.Signals
) -> None:
    proc = start(["run", "--config", str(_admin_config(tmp_path)), "--log-format", "json"])
    procs.append(proc)
    seen: list[str] = []
    read_until(proc, "admin_listening", seen)
    port = next(int(json.loads(line)["port"]) for line in seen if '"admin_listening"' in line)
    if moment == "after-a-request":
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=DEADLINE_S).status_code == 200
    # A client that connected and has not sent its request yet (the daemon is mid-handover or aiohttp waits on it).
    silent = (
        socket.create_connection(("127.0.0.1", port), timeout=DEADLINE_S) if moment == "silent-connection" else None
    )
    proc.send_signal(sig)
    output = finish(proc, seen)
    if silent is not None:
        silent.close()
    assert "Traceback" not in output, output
    assert proc.returncode == EXPECTED[sig], output
    socket.create_server(("127.0.0.1", port)).close()  # the port was released


@pytest.mark.parametrize(
    "args",
    [["queue", "--json", "--db", "{db}"], ["queue", "--db", "{db}"], ["schedule", "--days", "366"]],
    ids=["queue-json", "queue", "schedule"],
)
def test_a_reader_that_leaves_early_ends_inqd_quietly(tmp_path: Path, args: list[str]) -> None:
    db = tmp_path / "inqd.db"
    _seed_open_inquiries(db, 40)
    proc = subprocess.Popen(
        [sys.executable, "-m", "aggregator", *(a.format(db=db) for a in args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before inqd writes a line (`| head -0`)
    errors = proc.stderr.read().decode("utf-8", "replace")
    proc.wait(timeout=DEADLINE_S)
    proc.stderr.close()
    assert (proc.returncode, errors) == (141, "")


def _seed_open_inquiries(db: Path, count: int) -> None:
    """A database with `count` open inquiries (through the store, as the daemon writes them)."""

    async def seed() -> None:
        store = await Store.open(db)
        inquiries = tuple(make_inquiry(str(n), body=f"배송 문의 {n}번입니다") for n in range(count))
        await store.record_poll(
            "shop",
            StreamKind.PRODUCT_QNA,
            PollResult(inquiries=inquiries, cursor={}),
            now=START,
            channels=("sink",),
            notify_new=False,
        )
        await store.aclose()

    asyncio.run(seed())
