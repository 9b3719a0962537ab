"""Writing a private file so that no reader ever sees half of it: the config's secrets, the config itself, a login's
token file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(directory: Path, name: str, text: str, mode: int) -> None:
    """Write `directory/name` atomically: a 0600 temp file in the same directory, then os.replace."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, directory / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
