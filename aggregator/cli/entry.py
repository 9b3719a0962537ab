"""The `inqd` process itself: how it ends when a signal comes or its reader goes away, whatever it was doing.

It imports only the standard library, so the signal handling is in place before the seconds of importing the
rest: Ctrl-C then ends inqd with exit 130 (the shell's 128 + SIGINT) and SIGTERM with exit 0 (a stop that was
asked for), without a traceback. While a command's event loop runs, the loop takes the signals over
(aggregator.cli.stops), so that a stop never tears through an open database.

Output piped into a reader that stops early (`inqd queue --json | head`) ends inqd quietly with exit 141 (128 +
SIGPIPE, what the shell reports for any writer whose reader left).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from aggregator.cli.exits import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_STOPPED, Terminated


def raise_terminated(_signum: int, _frame: FrameType | None) -> None:
    """The SIGTERM handler outside an event loop."""
    raise Terminated


def _exit_now(signum: int, _frame: FrameType | None) -> None:
    # Our work is done and flushed; a signal while the interpreter winds down must not start a traceback there.
    os._exit(EXIT_INTERRUPTED if signum == signal.SIGINT else EXIT_STOPPED)


def _discard_stdout() -> None:
    # The reader is gone: whatever is still buffered, and the interpreter's own flush at exit, go nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `inqd` command: run it, and turn a stop signal or a closed pipe into an exit code."""
    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        from aggregator.cli.main import main as run_command  # the heavy part: pydantic, httpx, aiohttp, ...

        code = run_command(argv)
        sys.stdout.flush()  # a pipe closed early shows here, not at exit
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Terminated:
        return EXIT_STOPPED
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    finally:
        signal.signal(signal.SIGINT, _exit_now)
        signal.signal(signal.SIGTERM, _exit_now)
    return code
