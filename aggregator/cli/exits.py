"""How an `inqd` process ends: its exit codes for a stop signal and a closed pipe, and SIGTERM as an exception.

Standard library only: aggregator.cli.entry imports it before anything heavy.
"""

from __future__ import annotations

import signal

EXIT_INTERRUPTED = 128 + signal.SIGINT  # Ctrl-C, as the shell reports it
EXIT_STOPPED = 0  # SIGTERM: a stop that was asked for
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE  # the reader of our output left


class Terminated(BaseException):
    """SIGTERM, raised where the process happened to be (like KeyboardInterrupt for SIGINT)."""
