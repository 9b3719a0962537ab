"""Reading the config file: TOML in UTF-8, with or without the byte-order mark Windows editors put in front.

A file in any other encoding (a Korean Windows saves CP949 by default) is refused with a line that says how to
convert it, instead of a UnicodeDecodeError.
"""

from __future__ import annotations

import codecs
import tomllib
from pathlib import Path
from typing import Any


class NotUtf8(ValueError):
    """The config file is not UTF-8; `encoding` is what it most likely is, for the iconv line."""

    def __init__(self, path: Path, encoding: str) -> None:
        super().__init__(f"{path}: not UTF-8")
        self.path, self.encoding = path, encoding


def _likely_encoding(data: bytes) -> str:
    # Notepad's "Unicode" is UTF-16 with a byte-order mark; its "ANSI" on a Korean Windows is CP949.
    return "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "cp949"


def config_text(path: Path) -> str:
    """The text of the config file; raises NotUtf8, or OSError when it cannot be read."""
    data = path.read_bytes()
    try:
        return data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError:
        raise NotUtf8(path, _likely_encoding(data)) from None


def read_toml(path: Path) -> dict[str, Any]:
    """The config file as TOML data; raises NotUtf8, tomllib.TOMLDecodeError or OSError."""
    return tomllib.loads(config_text(path))
