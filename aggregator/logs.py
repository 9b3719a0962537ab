"""structlog configuration: readable console by default, JSON lines for machines; secrets always scrubbed and
buyer data always masked."""

from __future__ import annotations

import logging
import re
import sys
from datetime import datetime, tzinfo
from typing import Literal, TextIO, cast

import structlog

from core.models import KST
from core.redact import SecretScrubber, mask_pii

LogFormat = Literal["console", "json"]
# Values inqd itself writes (event names, times, config names, enum values): never buyer text. Skipping them keeps
# the masker off most of every event.
_SAFE_KEYS = frozenset({"event", "timestamp", "level", "logger", "account", "stream", "marketplace", "channel", "kind"})
# One Latin word without digits (a status, a kind, an exception's name) holds nothing the masker would hide.
_PLAIN_WORD = re.compile(r"[A-Za-z_.:/-]*")


class _CurrentStderr:
    """Writes to whatever `sys.stderr` is at the time of writing (it can be swapped, e.g. by test capture)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _ZonedTimestamp:
    """ISO-8601 with the offset, in the seller's zone: a log line and a phone message name the same time."""

    def __init__(self, zone: tzinfo) -> None:
        self._zone = zone

    def __call__(
        self, _logger: object, _name: str, event_dict: structlog.typing.EventDict
    ) -> structlog.typing.EventDict:
        event_dict["timestamp"] = datetime.now(self._zone).isoformat(timespec="milliseconds")
        return event_dict


def mask_buyer_data(_logger: object, _name: str, event_dict: structlog.typing.EventDict) -> structlog.typing.EventDict:
    """structlog processor: names, phones, emails, addresses, accounts and customs codes masked in string values."""
    for key, value in event_dict.items():
        if isinstance(value, str) and key not in _SAFE_KEYS and not _PLAIN_WORD.fullmatch(value):
            event_dict[key] = mask_pii(value)
    return event_dict


def configure_logging(
    *,
    fmt: LogFormat = "console",
    level: str = "INFO",
    scrubber: SecretScrubber | None = None,
    stream: TextIO | None = None,
    zone: tzinfo = KST,
) -> SecretScrubber:
    """Install the processors; returns the scrubber so the caller can teach it the config's secrets."""
    scrubber = scrubber or SecretScrubber()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _ZonedTimestamp(zone),
            structlog.processors.format_exc_info,
            scrubber,  # after format_exc_info, so tracebacks are scrubbed too
            mask_buyer_data,  # after the scrubber: exceptions are text by then, and secrets already gone
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(stream or cast(TextIO, _CurrentStderr())),
        cache_logger_on_first_use=False,
    )
    # httpx logs full URLs at INFO (tokens can sit in URLs); only its warnings are useful to us.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    return scrubber
