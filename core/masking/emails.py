"""Email addresses, including the ways buyers dodge link filters: `minsu @ naver.com`, `minsu(at)naver.com`, 골뱅이."""

from __future__ import annotations

import re

from core.masking.spans import Found, PiiKind

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])(?P<local>[A-Za-z0-9][A-Za-z0-9._%+-]{0,63})"
    r"[ \t]?(?:@|\(at\)|\[at\]|골뱅이)[ \t]?"
    r"(?P<domain>[A-Za-z0-9-]+(?:[ \t]?\.[ \t]?[A-Za-z0-9-]+)*\.[ \t]?[A-Za-z]{2,})(?![A-Za-z0-9-])"
)


def mask_email(local: str, domain: str) -> str:
    """minsu.kim@naver.com → mi***@naver.com; a short local part keeps one character."""
    keep = 2 if len(local) >= 5 else 1
    return f"{local[:keep]}***@{domain.replace(' ', '').replace(chr(9), '')}"


def find_emails(text: str) -> list[Found]:
    """Every email address in `text` (already folded)."""
    return [
        Found(m.start(), m.end(), PiiKind.EMAIL, mask_email(m["local"], m["domain"])) for m in _EMAIL.finditer(text)
    ]
