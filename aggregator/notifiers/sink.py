"""The local sink: prints notifications to the console and appends them to a JSON-lines file."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import ClassVar, TextIO

from aggregator.notifiers.base import DeliveryError
from core.models import KST, Message

_PRIORITY_MARK = {1: "·", 2: "·", 3: "🔔", 4: "⚠️", 5: "🚨"}


class SinkNotifier:
    """Writes each message to stdout and/or a JSON-lines file; the embedded default channel."""

    kind: ClassVar[str] = "sink"

    def __init__(
        self,
        *,
        name: str = "sink",
        console: bool = True,
        file: Path | None = None,
        stream: TextIO | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.name = name
        self._now = now or (lambda: datetime.now(KST))
        self._console = console
        self._file = file
        self._stream = stream

    async def send(self, message: Message) -> None:
        """Print and/or append the message; a write error is retryable."""
        stamp = self._now().astimezone(KST).isoformat(timespec="seconds")
        if self._console:
            out = self._stream or sys.stdout
            mark = _PRIORITY_MARK.get(int(message.priority), "🔔")
            indented = "\n".join(f"    {line}" for line in message.body.splitlines())
            print(f"{mark} [{self.name}] {message.title}\n{indented}", file=out, flush=True)
        if self._file is not None:
            record = {
                "at": stamp,
                "channel": self.name,
                "kind": message.kind.value,
                "priority": int(message.priority),
                "title": message.title,
                "body": message.body,
                "tags": list(message.tags),
                "click": message.click_url,
                "group": message.group_key,
            }
            try:
                self._append(json.dumps(record, ensure_ascii=False) + "\n")
            except OSError as err:
                raise DeliveryError(f"sink file not writable: {err.strerror}", retryable=True) from err

    def _append(self, line: str) -> None:
        assert self._file is not None
        self._file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(line)

    async def aclose(self) -> None:
        """Nothing to release."""
