"""Masking of buyer personal data in free text, and a structlog processor that scrubs secrets.

Pure functions. The buyer-data masker itself lives in `core.masking` (names, phones, emails, addresses, accounts,
customs codes); this module keeps the names callers have always imported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from typing import Any

from core.masking import mask_name, mask_pii

__all__ = ["REDACTED", "SecretScrubber", "excerpt", "mask_name", "mask_pii"]

# Log lines keep their own, older phone rule: the scrubber's behaviour is not part of the buyer-data masker.
_PHONE = re.compile(r"(?<!\d)(0(?:1[016789]|2|[3-6][1-5]|70|50\d?))[-. ]?(\d{3,4}|\*{3,4})[-. ]?(\d{4})(?!\d)")


def _mask_phone(match: re.Match[str]) -> str:
    return f"{match.group(1)}-****-{match.group(3)}"


def excerpt(text: str, limit: int) -> str:
    """One line of at most `limit` characters, whitespace folded, cut with an ellipsis."""
    folded = " ".join(text.split())
    return folded if len(folded) <= limit else folded[: max(0, limit - 1)].rstrip() + "…"


_SECRET_KEYS = re.compile(r"(secret|token|password|passwd|authorization|api_?key|access_?key|signature|sign)", re.I)
_SECRET_VALUES = (
    re.compile(r"(?<!\d)\d{6,}:[A-Za-z0-9_-]{30,}"),  # Telegram bot token (sits inside URLs: no \b)
    re.compile(r"\btk_[A-Za-z0-9]{8,}\b"),  # ntfy access token
    re.compile(r"(access-key=)[^,\s]+", re.I),
    re.compile(r"(signature=)[0-9a-f]{16,}", re.I),
    re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I),
)
REDACTED = "**********"


class SecretScrubber:
    """structlog processor: hides secret-looking keys, known secret values and phone numbers in log events."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, secrets: Iterable[str]) -> None:
        """Learn more secret values (e.g. after loading the config)."""
        self._secrets = sorted({*self._secrets, *(s for s in secrets if s and len(s) >= 4)}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """Remove every known secret, token-shaped value and phone number from `text`."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern in _SECRET_VALUES:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
        return _PHONE.sub(_mask_phone, text)

    def _clean(self, key: str, value: Any) -> Any:
        if _SECRET_KEYS.search(key) and value not in (None, "", 0):
            return REDACTED
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, BaseException):
            return self.scrub(f"{type(value).__name__}: {value}")
        if isinstance(value, dict):
            return {k: self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean(key, v) for v in value]
        return value

    def __call__(self, logger: object, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        """Process one log event."""
        for key in list(event_dict):
            event_dict[key] = self._clean(key, event_dict[key])
        return event_dict
