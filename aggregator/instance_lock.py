"""One daemon per database: an exclusive advisory lock on `<db>.lock`, released by the kernel when the process
dies (kill -9 included), so a restart never waits and two daemons can never send the same outbox twice."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class AlreadyRunning(RuntimeError):
    """Another inqd daemon holds this database."""


class InstanceLock:
    """Held for the daemon's lifetime; `release()` (or process exit) frees it."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, db_path: Path) -> InstanceLock:
        """Take the lock next to `db_path`, or raise AlreadyRunning at once (never wait)."""
        path = db_path.with_name(db_path.name + ".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(f"another inqd is already running on {db_path} (lock {path})") from None
        return cls(fd, path)

    def release(self) -> None:
        """Free the lock; safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor drops the flock
