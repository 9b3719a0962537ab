"""Two real `inqd run` on one PostgreSQL, each in a directory of its own as on two machines: they split four accounts
two and two (no account polled by both: the sandboxes count requests in flight per account from each instance),
every new inquiry is pushed once by one of them, and when one stops, the other takes its accounts over.
No sleeping: output is read as it comes, bounded by tests/processes.py's deadline."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.sandbox import CoupangSandbox, OverlapCounter, SandboxServer
from tests.postgres_server import PostgresServer
from tests.processes import finish, read_until, read_until_in_any, start

ACCOUNTS = [f"shop{n}" for n in range(4)]
INSTANCES = ("one", "two")


def _config(directory: Path, urls: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    accounts = "".join(
        f"""
[[accounts]]
marketplace = "coupang"
id = "{account}"
vendor_id = "A0001234{n}"
base_url = "{urls[account]}"
poll_interval_s = 0.5
max_requests_per_s = 5
streams = ["product_qna"]
"""
        for n, account in enumerate(ACCOUNTS)
    )
    path = directory / "inqd.toml"
    path.write_text(
        f"""
db_path = "{directory / "inqd.db"}"
quiet_hours = []
lease_seconds = 18
{accounts}
[admin]
enabled = false

[[notifiers]]
type = "sink"
file = "{directory / "sink.jsonl"}"
""",
        encoding="utf-8",
    )
    return path


def _claimed(lines: list[str]) -> set[str]:
    """The accounts an instance's log says it claimed, minus those it says it released."""
    held: set[str] = set()
    for line in lines:
        accounts = set(re.findall(r"'(shop\d)'", line))
        if "leases_claimed" in line:
            held |= accounts
        elif "leases_released" in line:
            held -= accounts
    return held


def test_two_inqd_run_share_four_accounts_and_one_takes_over_when_the_other_stops(
    tmp_path: Path, postgres_server: PostgresServer, procs: list[subprocess.Popen[bytes]]
) -> None:
    sandboxes = {
        account: CoupangSandbox(
            vendor_id=f"A0001234{n}", access_key=f"ak{n}", secret_key=f"sk{n}", now=lambda: datetime.now(UTC)
        )
        for n, account in enumerate(ACCOUNTS)
    }
    env = {"INQD_DATABASE_URL": postgres_server.new_database()}
    for n, account in enumerate(ACCOUNTS):
        env[f"INQD_{account.upper()}__ACCESS_KEY"] = f"ak{n}"
        env[f"INQD_{account.upper()}__SECRET_KEY"] = f"sk{n}"
    counters = {account: OverlapCounter() for account in ACCOUNTS}
    # One server per (account, instance), each instance on its own loopback address: the sandbox behind an account
    # is one object, so its state is shared, and its counter tells the two instances' requests apart.
    servers = {
        (account, instance): SandboxServer(counters[account].wrap(sandboxes[account].handler, instance), host=host)
        for account in ACCOUNTS
        for instance, host in zip(INSTANCES, ("127.0.0.1", "127.0.0.2"), strict=True)
    }
    for server in servers.values():
        server.start()
    try:
        configs = [
            _config(tmp_path / instance, {account: servers[account, instance].url for account in ACCOUNTS})
            for instance in INSTANCES
        ]
        seen: list[list[str]] = [[], []]
        running = [start(["run", "--config", str(configs[0])], env)]
        procs.extend(running)
        read_until(running[0], "daemon_started", seen[0])  # alone: it claimed all four and leads
        assert _claimed(seen[0]) == set(ACCOUNTS) and any("leader_taken" in line for line in seen[0])
        running.append(start(["run", "--config", str(configs[1])], env))
        procs.append(running[1])
        read_until(running[1], "leases_claimed", seen[1])  # two given back by the first, claimed by the second
        read_until(running[0], "leases_released", seen[0])
        shares = [_claimed(lines) for lines in seen]
        assert sorted(map(len, shares)) == [2, 2] and not shares[0] & shares[1]
        for account in ACCOUNTS:
            sandboxes[account].add_product_inquiry(content=f"{account} 새 문의", inquiry_at=datetime.now(UTC))
        for account in ACCOUNTS:
            read_until_in_any(running, f"{account} 새 문의", seen)
        running[0].send_signal(signal.SIGTERM)  # leaves: gives its accounts back at once
        seen[0].append(finish(running[0], []))
        for account in sorted(shares[0]):
            sandboxes[account].add_product_inquiry(
                content=f"{account} 넘겨받은 뒤 문의", inquiry_at=datetime.now(UTC) + timedelta(seconds=1)
            )
            read_until(running[1], f"{account} 넘겨받은 뒤 문의", seen[1])
        running[1].send_signal(signal.SIGTERM)
        seen[1].append(finish(running[1], []))
    finally:
        for server in servers.values():
            server.stop()
    assert [proc.returncode for proc in running] == [0, 0]
    pushed = [
        json.loads(line)
        for instance in INSTANCES
        if (tmp_path / instance / "sink.jsonl").exists()
        for line in (tmp_path / instance / "sink.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    texts = [json.dumps(push, ensure_ascii=False) for push in pushed]
    for account in ACCOUNTS:
        assert sum(f"{account} 새 문의" in text for text in texts) == 1, account
    assert sum("넘겨받은 뒤 문의" in text for text in texts) == 2
    assert all(counter.overlaps == 0 for counter in counters.values())
    # Both instances polled: the first its two accounts until it stopped, the second all four afterwards.
    assert {account: sorted(c.requests) for account, c in counters.items() if account in shares[0]} == {
        account: ["one", "two"] for account in shares[0]
    }
