"""A quiet `inqd run` keeps out of memory what it does not use: aiohttp (the admin server) until the first request,
the web inbox until a page is asked for, a marketplace's connector until an account of it is configured, and never
the plotting library, the init wizard or the `holidays` package (its dates come from a short-lived process)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from aggregator.cli.main import _command_of, _parser
from aggregator.holiday_tables import cache_name
from policies.calendar import library_holidays
from tests.processes import finish, read_until

# Run the real `inqd run`; SIGUSR1 prints the loaded modules that this test watches (one JSON line).
_SCRIPT = """
import json, signal, sys
WATCHED = ("jinja2", "matplotlib", "holidays", "aggregator.web", "aggregator.init", "aggregator.report.chart",
           "connectors.coupang", "connectors.naver", "connectors.elevenst", "connectors.esm", "tomlkit",
           "aggregator.wiring.phone", "aiohttp", "aggregator.admin_app")
def show(_signum, _frame):
    loaded = sorted({w for w in WATCHED for m in list(sys.modules) if m == w or m.startswith(w + ".")})
    print("loaded-modules " + json.dumps(loaded), flush=True)
signal.signal(signal.SIGUSR1, show)
from aggregator.cli.entry import main
sys.exit(main(["run", "--config", sys.argv[1], "--log-format", "json"]))
"""
NEVER = {"matplotlib", "holidays", "aggregator.init"}
# No account configured: no marketplace's connector (nor its libraries) is imported.
NO_CONNECTOR = {"connectors.coupang", "connectors.naver", "connectors.elevenst", "connectors.esm"}
# The admin server listens from the start, but its aiohttp application is built on the first connection.
ADMIN = {"aiohttp", "aggregator.admin_app"}
WEB = {"jinja2", "aggregator.web"}
# Pages may use these (the report draws with chart.py, matplotlib only in a child process; the hours page edits
# the config with tomlkit); the Telegram pollers come with a Telegram channel.
UNTIL_USED = {"aggregator.report.chart", "tomlkit", "aggregator.wiring.phone"}


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "inqd.toml"
    config.write_text(
        f"""db_path = {json.dumps(str(tmp_path / "inqd.db"))}

[admin]
port = 0
web = true

[[notifiers]]
type = "sink"
console = false
file = {json.dumps(str(tmp_path / "sink.jsonl"))}
""",
        encoding="utf-8",
    )
    return config


def _loaded(proc: subprocess.Popen[bytes], seen: list[str]) -> set[str]:
    proc.send_signal(signal.SIGUSR1)
    read_until(proc, "loaded-modules ", seen)
    line = next(line for line in reversed(seen) if line.startswith("loaded-modules "))
    seen.clear()  # the next read looks for a new line
    return set(json.loads(line.removeprefix("loaded-modules ")))


def _port(seen: list[str]) -> int:
    event = next(json.loads(line) for line in seen if '"admin_listening"' in line)
    return int(event["port"])


def test_a_quiet_daemon_loads_aiohttp_on_its_first_request_the_web_inbox_on_its_first_page_and_never_the_rest(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, str(_config(tmp_path))],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        bufsize=0,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    procs.append(proc)
    seen: list[str] = []
    read_until(proc, "admin_listening", seen)
    port = _port(seen)

    assert _loaded(proc, seen) & (NEVER | ADMIN | WEB | UNTIL_USED | NO_CONNECTOR) == set()

    # The first connection after the lazy start is served: it waited in the backlog until aiohttp took the socket.
    health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    loaded = _loaded(proc, seen)
    assert loaded >= ADMIN
    assert loaded & (NEVER | WEB | UNTIL_USED | NO_CONNECTOR) == set()

    inbox = httpx.get(f"http://127.0.0.1:{port}/", timeout=30)
    assert inbox.status_code == 200
    assert "text/html" in inbox.headers["Content-Type"]
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=30).status_code == 200
    assert httpx.get(f"http://127.0.0.1:{port}/no-such-page", timeout=30).status_code == 404

    loaded = _loaded(proc, seen)
    assert loaded >= WEB
    assert loaded & (NEVER | NO_CONNECTOR) == set()

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0, finish(proc, seen)
    # The dates the daemon was handed are the package's own, year by year.
    kept = json.loads((tmp_path / cache_name("KR")).read_text(encoding="utf-8"))
    for year, days in kept.items():
        assert days == {day.isoformat(): name for day, name in library_holidays("KR", int(year)).items()}


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--config", "inqd.toml", "--log-format", "json"],
        ["--lang", "en", "status", "--config", "inqd.toml"],
        ["answer", "3", "-m", "run", "--config", "inqd.toml"],
        ["snooze", "3", "2h", "--config", "inqd.toml", "--lang", "en"],
        ["report", "--config", "inqd.toml", "--weeks", "4"],
        ["init", "--config", "inqd.toml"],
    ],
)
def test_a_command_parses_the_same_with_only_its_own_parser_built(argv: list[str]) -> None:
    assert _parser(_command_of(argv)).parse_args(argv) == _parser().parse_args(argv)
