"""The sd_notify client against real AF_UNIX datagram sockets: exact bytes, watchdog env, failures logged once."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from aggregator.systemd import SystemdNotifier

STATUS = "문의 3건 대기 · 쿠팡 2, 네이버 1"


def _bound(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(2)
    return sock


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A datagram socket bound in tmp_path, the way systemd listens on $NOTIFY_SOCKET; yields it and its path."""
    path = str(tmp_path / "notify.sock")
    with _bound(path) as sock:
        yield sock, path


def _pending(sock: socket.socket) -> list[bytes]:
    sock.setblocking(False)
    found = []
    while True:
        try:
            found.append(sock.recv(4096))
        except BlockingIOError:
            return found


def test_ready_sends_korean_status_as_utf8(receiver: tuple[socket.socket, str]) -> None:
    sock, path = receiver
    notifier = SystemdNotifier.from_env({"NOTIFY_SOCKET": path})

    assert notifier.enabled
    assert notifier.ready(STATUS) is True
    assert sock.recv(4096) == b"READY=1\nSTATUS=" + STATUS.encode("utf-8")


@pytest.mark.parametrize(
    ("send", "expected"),
    [
        (lambda n: n.watchdog(), b"WATCHDOG=1"),
        (lambda n: n.stopping(), b"STOPPING=1"),
        (lambda n: n.status("폴링 중"), "STATUS=폴링 중".encode()),
        (lambda n: n.status("쿠팡 오류\n네이버 정상\r\n끝"), "STATUS=쿠팡 오류 네이버 정상 끝".encode()),
        (
            lambda n: n.notify(STATUS="재시작\n", EXTEND_TIMEOUT_USEC="5000000"),
            "STATUS=재시작 \nEXTEND_TIMEOUT_USEC=5000000".encode(),
        ),
    ],
    ids=["watchdog", "stopping", "status", "status-newlines", "notify-fields"],
)
def test_each_message_is_one_datagram(
    receiver: tuple[socket.socket, str], send: Callable[[SystemdNotifier], bool], expected: bytes
) -> None:
    sock, path = receiver
    notifier = SystemdNotifier.from_env({"NOTIFY_SOCKET": path})

    assert send(notifier) is True
    assert _pending(sock) == [expected]


def test_abstract_namespace_address() -> None:
    name = f"inqd-test-{secrets.token_hex(8)}"
    with _bound("\0" + name) as sock:
        notifier = SystemdNotifier.from_env({"NOTIFY_SOCKET": "@" + name})

        assert notifier.ready("시작") is True
        assert sock.recv(4096) == "READY=1\nSTATUS=시작".encode()


def test_without_notify_socket_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_socket(*args: object) -> socket.socket:
        raise AssertionError("a disabled notifier opened a socket")

    monkeypatch.setattr(socket, "socket", no_socket)
    for env in ({}, {"NOTIFY_SOCKET": ""}, {"WATCHDOG_USEC": "30000000"}):
        notifier = SystemdNotifier.from_env(env)
        assert not notifier.enabled
        assert [notifier.ready("x"), notifier.status("x"), notifier.watchdog(), notifier.stopping()] == [False] * 4


def test_from_env_defaults_to_the_process_environment(
    receiver: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, path = receiver
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "8000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    notifier = SystemdNotifier.from_env()

    assert notifier.watchdog_interval_s == 4.0
    assert notifier.watchdog() is True
    assert sock.recv(4096) == b"WATCHDOG=1"


@pytest.mark.parametrize(
    ("env", "interval"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "nope"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
    ids=["usec", "own-pid", "other-pid", "bad-pid", "zero", "bad-usec", "unset"],
)
def test_watchdog_interval(env: dict[str, str], interval: float | None) -> None:
    notifier = SystemdNotifier.from_env({"NOTIFY_SOCKET": "/run/systemd/notify", **env})

    assert notifier.watchdog_interval_s == interval


def test_failures_are_logged_once_per_streak(tmp_path: Path) -> None:
    path = str(tmp_path / "missing.sock")
    notifier = SystemdNotifier.from_env({"NOTIFY_SOCKET": path})

    with capture_logs() as logs:
        assert notifier.watchdog() is False
        assert notifier.watchdog() is False
    assert [(e["event"], e["log_level"]) for e in logs] == [("systemd_notify_failed", "warning")]
    assert "No such file or directory" in logs[0]["error"]

    with capture_logs() as logs:
        with _bound(path) as sock:
            assert notifier.watchdog() is True
            assert sock.recv(4096) == b"WATCHDOG=1"
        os.unlink(path)
        assert notifier.watchdog() is False
    assert [(e["event"], e["log_level"]) for e in logs] == [
        ("systemd_notify_recovered", "info"),
        ("systemd_notify_failed", "warning"),
    ]


def test_a_full_socket_fails_instead_of_blocking(receiver: tuple[socket.socket, str]) -> None:
    _, path = receiver  # nobody reads: the kernel queue fills up (net.unix.max_dgram_qlen, 10 by default)
    notifier = SystemdNotifier.from_env({"NOTIFY_SOCKET": path})

    with capture_logs() as logs:
        results = [notifier.status("대기") for _ in range(2000)]

    assert results[0] is True
    assert results[-1] is False
    assert [e["event"] for e in logs] == ["systemd_notify_failed"]
