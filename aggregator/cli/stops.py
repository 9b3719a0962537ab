"""Stop signals while a command's event loop runs: they stop the command at an `await`, never between two lines.

Outside a loop, SIGINT and SIGTERM raise an exception wherever the interpreter is (aggregator.cli.entry). Inside
one that could land between opening the database and the `try` that closes it, and the database's thread would
keep the process alive for good. So `Stops.run` hands both signals to the loop: a signal calls the current stop
action, which cancels the command (its `finally` blocks run, the database closes) unless a daemon has taken the
action over with `Stops.redirect` to stop gracefully. Which signal came decides the exit code, as outside.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

from aggregator.cli.exits import EXIT_INTERRUPTED, Terminated

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
StopAction = Callable[[str], object]


class Stops:
    """The stop signals of one inqd command: which one came first, and what a signal does now."""

    def __init__(self) -> None:
        self.received: signal.Signals | None = None
        self._action: StopAction | None = None

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        """asyncio.run(main), a stop signal cancelling it; raises KeyboardInterrupt or Terminated if one did."""
        try:
            return asyncio.run(self._guarded(main))
        except asyncio.CancelledError:
            if self.received is None:
                raise
            raise (KeyboardInterrupt if self.received == signal.SIGINT else Terminated)() from None

    async def _guarded(self, main: Coroutine[Any, Any, T]) -> T:
        if threading.current_thread() is not threading.main_thread():
            return await main  # only the main thread receives signals (and may set handlers)
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
        self._action = lambda _reason: task.cancel()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            return await main
        finally:
            for sig in STOP_SIGNALS:
                loop.remove_signal_handler(sig)
                if previous[sig] is not None:  # None: a handler Python did not install, which it cannot restore
                    signal.signal(sig, previous[sig])

    def _on_signal(self, sig: signal.Signals) -> None:
        self.received = self.received or sig
        if self._action is not None:
            self._action(sig.name)

    @contextlib.contextmanager
    def redirect(self, action: StopAction) -> Iterator[None]:
        """Inside, a stop signal calls `action(signal name)` (a daemon's graceful stop) instead of cancelling."""
        before, self._action = self._action, action
        try:
            yield
        finally:
            self._action = before

    @staticmethod
    @contextlib.contextmanager
    def hangup(action: Callable[[], object]) -> Iterator[None]:
        """Inside, SIGHUP calls `action` (a daemon re-reads its config file), as `systemctl reload` expects."""
        if threading.current_thread() is not threading.main_thread():
            yield  # only the main thread receives signals
            return
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, action)
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGHUP)

    def exit_code(self, done: int) -> int:
        """The exit code of a command that finished with `done`: 130 if Ctrl-C / SIGINT stopped it."""
        return EXIT_INTERRUPTED if self.received == signal.SIGINT else done
