"""Two real `inqd run` on one PostgreSQL (each in a directory of its own, as on two machines): until every part of
the work is shared through the database, the second refuses to start with one line; once the first has stopped
(and given its leases back), it starts and polls the account. No sleeping: output is read as it comes."""

from __future__ import annotations

import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from connectors.sandbox import CoupangSandbox, SandboxServer
from tests.postgres_server import PostgresServer
from tests.processes import coupang_config, finish, read_until, start


def test_a_second_inqd_run_on_one_postgres_refuses_then_takes_over(
    tmp_path: Path, postgres_server: PostgresServer, procs: list[subprocess.Popen[bytes]]
) -> None:
    sandbox = CoupangSandbox(
        vendor_id="A00012345", access_key="pg-ak", secret_key="pg-sk", now=lambda: datetime.now(UTC)
    )
    env = {
        "INQD_SHOP__ACCESS_KEY": "pg-ak",
        "INQD_SHOP__SECRET_KEY": "pg-sk",
        "INQD_DATABASE_URL": postgres_server.new_database(),
    }
    sandbox.add_product_inquiry(content="이전 문의", inquiry_at=datetime.now(UTC) - timedelta(hours=1))
    with SandboxServer(sandbox.handler) as server:
        configs = [coupang_config(tmp_path / name, server.url) for name in ("one", "two")]
        first = start(["run", "--config", str(configs[0])], env)
        procs.append(first)
        seen: list[str] = []
        read_until(first, "상품문의 연결됨", seen)
        refused = start(["run", "--config", str(configs[1])], env)
        procs.append(refused)
        refused_output = finish(refused, [])
        first.send_signal(signal.SIGTERM)
        finish(first, seen)
        second = start(["run", "--config", str(configs[1])], env)
        procs.append(second)
        seen_after: list[str] = []
        sandbox.add_product_inquiry(content="넘겨받은 뒤 문의", inquiry_at=datetime.now(UTC))
        read_until(second, "넘겨받은 뒤 문의", seen_after)
        second.send_signal(signal.SIGTERM)
        finish(second, seen_after)
    assert refused.returncode == 1
    assert "another inqd is already running on the database postgresql://" in refused_output
    assert (first.returncode, second.returncode) == (0, 0)
