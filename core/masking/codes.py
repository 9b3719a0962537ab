"""Personal codes with a fixed shape: 개인통관고유부호 (P + 12 digits, the customs code 구매대행 buyers send) and
주민/외국인등록번호 (YYMMDD-NNNNNNN)."""

from __future__ import annotations

import re

from core.masking.spans import Found, PiiKind

# P123456789012, p123456789012, P 1234 5678 9012, P-1234-5678-9012: twelve digits, spaces or hyphens between.
_CUSTOMS = re.compile(r"(?<![A-Za-z0-9])[Pp][ \t]?-?[ \t]?(?P<digits>\d(?:[ \t-]?\d){11})(?![0-9])")
_RESIDENT = re.compile(r"(?<![0-9-])(?P<birth>\d{2}[01]\d[0-3]\d)[ \t]?-[ \t]?(?P<rest>[1-8]\d{6})(?![0-9])")


def find_codes(text: str) -> list[Found]:
    """Customs codes (P********1234) and resident registration numbers (******-*******) in `text` (folded)."""
    found = []
    for m in _CUSTOMS.finditer(text):
        digits = re.sub(r"\D", "", m["digits"])
        found.append(Found(m.start(), m.end(), PiiKind.CUSTOMS, "P" + "*" * 8 + digits[-4:]))
    for m in _RESIDENT.finditer(text):
        month, day = int(m["birth"][2:4]), int(m["birth"][4:6])
        if 1 <= month <= 12 and 1 <= day <= 31:
            found.append(Found(m.start(), m.end(), PiiKind.ID_NUMBER, "******-*******"))
    return found
