"""The real `inqd` process: the demo starts and stops gracefully; `kill -9` mid-run loses nothing.

These start subprocesses and read their output as it comes (no sleeping): every wait is bounded.
"""

from __future__ import annotations

import re
import signal
import socket
import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from connectors.sandbox import CoupangSandbox, SandboxServer
from tests.processes import DEADLINE_S, coupang_config, finish, read_until, start


def test_demo_shows_inquiries_and_stops_on_sigterm(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    proc = start(["demo", "--poll-interval", "1", "--data-dir", str(tmp_path)])
    procs.append(proc)
    seen: list[str] = []
    read_until(proc, "상품문의·고객센터 문의 연결됨", seen)  # the Coupang shop's one summary
    proc.send_signal(signal.SIGTERM)
    output = finish(proc, seen)
    assert proc.returncode == 0
    assert "daemon_stopped" in output
    assert re.search(r"최근 문의 \d+건을 불러왔습니다", output)
    assert "웹 문의함:    http://127.0.0.1:9464/" in output  # the banner says where the web inbox is
    assert (tmp_path / "notifications.jsonl").stat().st_size > 0


def test_kill_9_mid_run_loses_no_inquiry(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    sandbox = CoupangSandbox(
        vendor_id="A00012345", access_key="kill-ak", secret_key="kill-sk", now=lambda: datetime.now(UTC)
    )
    now = datetime.now(UTC)
    backlog = [
        sandbox.add_product_inquiry(content=f"이전 문의 {n}", inquiry_at=now - timedelta(hours=n + 1)) for n in range(5)
    ]
    env = {"INQD_SHOP__ACCESS_KEY": "kill-ak", "INQD_SHOP__SECRET_KEY": "kill-sk"}
    with SandboxServer(sandbox.handler) as server:
        config = coupang_config(tmp_path, server.url)
        first = start(["run", "--config", str(config)], env)
        procs.append(first)
        seen: list[str] = []
        read_until(first, "상품문의 연결됨", seen)
        fresh = [sandbox.add_product_inquiry(content=f"새 문의 {n}", inquiry_at=datetime.now(UTC)) for n in range(3)]
        read_until(first, "새 문의", seen)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=DEADLINE_S)
        later = [sandbox.add_product_inquiry(content=f"재시작 후 {n}", inquiry_at=datetime.now(UTC)) for n in range(3)]
        second = start(["run", "--config", str(config)], env)
        procs.append(second)
        seen_after: list[str] = []
        for n in range(3):
            read_until(second, f"재시작 후 {n}", seen_after)
        second.send_signal(signal.SIGTERM)
        finish(second, seen_after)
    with sqlite3.connect(tmp_path / "inqd.db") as db:
        stored = sorted(int(r[0]) for r in db.execute("SELECT external_id FROM inquiries"))
        pushes = [r[0] for r in db.execute("SELECT inquiry_id FROM outbox WHERE kind = 'new_inquiry'")]
    sink_lines = (tmp_path / "sink.jsonl").read_text(encoding="utf-8").splitlines()
    assert stored == sorted(backlog + fresh + later)
    assert len(pushes) == len(set(pushes)) == len(fresh + later)  # one outbox row per inquiry, never two
    assert len([line for line in sink_lines if "new_inquiry" in line]) <= len(fresh + later) + 1  # <= 1 dup per kill
    assert second.returncode == 0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _datagram(sock: socket.socket, wanted: str) -> str:
    """The next datagram from the daemon containing `wanted` (bounded by DEADLINE_S)."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        text = sock.recv(4096).decode("utf-8")
        if wanted in text:
            return text
    raise AssertionError(f"no {wanted!r} datagram")


def test_run_as_a_service_tells_systemd_and_serves_health_and_metrics(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    sandbox = CoupangSandbox(
        vendor_id="A00012345", access_key="svc-ak", secret_key="svc-sk", now=lambda: datetime.now(UTC)
    )
    sandbox.add_product_inquiry(content="서비스 문의", inquiry_at=datetime.now(UTC) - timedelta(minutes=5))
    port = _free_port()
    env = {
        "INQD_SHOP__ACCESS_KEY": "svc-ak",
        "INQD_SHOP__SECRET_KEY": "svc-sk",
        "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
        "WATCHDOG_USEC": "2000000",
    }
    with (
        SandboxServer(sandbox.handler) as server,
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify,
    ):
        notify.bind(str(tmp_path / "notify.sock"))
        config = coupang_config(tmp_path, server.url)
        config.write_text(config.read_text(encoding="utf-8") + f"\n[admin]\nport = {port}\n", encoding="utf-8")
        proc = start(["run", "--config", str(config)], env)
        procs.append(proc)
        ready = _datagram(notify, "READY=1")
        _datagram(notify, "WATCHDOG=1")
        seen: list[str] = []
        read_until(proc, "상품문의 연결됨", seen)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        proc.send_signal(signal.SIGTERM)
        stopping = _datagram(notify, "STOPPING=1")
        finish(proc, seen)
    assert "STATUS=미답변 문의" in ready  # Korean status text arrives intact (UTF-8)
    assert "STOPPING=1" in stopping
    assert health.status_code == 200
    assert health.json()["streams"][0]["stream"] == "product_qna"
    families = {f.name: f for f in text_string_to_metric_families(metrics.text)}
    polls = sum(s.value for s in families["inqd_polls"].samples if s.name == "inqd_polls_total")
    assert polls >= 1
    assert proc.returncode == 0
