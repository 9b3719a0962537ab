"""sd_notify(3) client: READY, STATUS, WATCHDOG and STOPPING datagrams to systemd, UTF-8 encoded.

Our own rather than the PyPI `sdnotify` package: that one encodes Latin-1 and swallows every error, so a Korean
`STATUS=문의 3건 대기` is silently lost. Here failures return False and are logged (once per streak).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import structlog

log = structlog.get_logger("inqd.systemd")


class SystemdNotifier:
    """Sends notify messages to the socket systemd gave us; a no-op without `$NOTIFY_SOCKET` (dev, tests)."""

    def __init__(self, address: str | None, *, watchdog_usec: int | None = None) -> None:
        # A leading "@" names a Linux abstract-namespace socket, which the kernel spells with a NUL byte.
        self._address = "\0" + address[1:] if address and address.startswith("@") else address or None
        self._watchdog_usec = watchdog_usec
        self._failing = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SystemdNotifier:
        """Build from `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID` (default: os.environ)."""
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET"), watchdog_usec=_watchdog_usec(env))

    @property
    def enabled(self) -> bool:
        """True when running under systemd with a notify socket."""
        return self._address is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """Seconds between keep-alive pings (half the watchdog timeout, as sd_watchdog_enabled(3) advises)."""
        return None if self._watchdog_usec is None else self._watchdog_usec / 2 / 1_000_000

    def notify(self, **fields: str) -> bool:
        """Send `KEY=VALUE` lines in one datagram; True when sent, False when disabled or the send failed."""
        if self._address is None:
            return False
        # One line per key: a newline inside a value would start a bogus assignment.
        payload = "\n".join(f"{key}={_one_line(value)}" for key, value in fields.items())
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                # A full socket buffer must fail fast rather than stall the event loop.
                sock.setblocking(False)
                sock.sendto(payload.encode("utf-8"), self._address)
        except OSError as err:
            if not self._failing:
                log.warning("systemd_notify_failed", error=str(err))
            self._failing = True
            return False
        if self._failing:
            log.info("systemd_notify_recovered")
        self._failing = False
        return True

    def ready(self, status: str) -> bool:
        """Startup finished: DB open, config valid, first polls scheduled."""
        return self.notify(READY="1", STATUS=status)

    def status(self, text: str) -> bool:
        """A one-line status shown by `systemctl status`."""
        return self.notify(STATUS=text)

    def watchdog(self) -> bool:
        """Keep-alive ping; send only when the loops made progress, so a wedged daemon gets restarted."""
        return self.notify(WATCHDOG="1")

    def stopping(self) -> bool:
        """Shutdown began."""
        return self.notify(STOPPING="1")


def _one_line(value: str) -> str:
    return value.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def _watchdog_usec(env: Mapping[str, str]) -> int | None:
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
        # The watchdog belongs to the process systemd started; a child that inherited the env must not ping.
        pid = int(env.get("WATCHDOG_PID") or os.getpid())
    except ValueError:
        return None
    return usec if usec > 0 and pid == os.getpid() else None
