"""Korean phone numbers in every way buyers write them: 010-1234-5678, 010 1234 5678, 010.1234.5678, 01012345678,
(02)345-6789, +82 10-1234-5678, +82-10-…, 070/050x, full-width digits (folded before), half-masked 010-12**-5678.

Business numbers (1588-…, 080-…) are the seller's, not the buyer's: they are left alone. A run of digits with no
separators is a phone only when it has a mobile's exact length (or a phone word sits just before it): order and
invoice numbers are long digit runs too.
"""

from __future__ import annotations

import re

from core.masking.spans import Found, PiiKind

_MASK_CHARS = "*xX●○•"
_AREA = r"1[016789]|2|[3-6][1-5]|70|50[2-8]?"
_GROUP_SEP = r"(?:[ \t]*[-.~·_][ \t]*|[ \t]{1,2}|\)[ \t]*|)"
_PHONE = re.compile(
    r"(?<![0-9A-Za-z])(?<![0-9][-. \t])"
    r"(?:(?P<cc>(?:\+|00)[ \t]?82|82(?=[-. ]))[-. \t]*(?:\(0\)|0)?[-. \t]*|(?P<open>\([ \t]?)?0)"
    rf"(?P<area>{_AREA})"
    rf"(?(open)[ \t]?\)[ \t-]?|{_GROUP_SEP})(?P<mid>[0-9{_MASK_CHARS}]{{3,4}})"
    rf"(?:[ \t]*[-.~·_][ \t]*|[ \t]{{1,2}}|)(?P<last>[0-9{_MASK_CHARS}]{{4}})"
    r"(?![0-9])(?![-.][0-9])"
)
# Words that announce a phone number, so a bare landline (0212345678) nearby is one.
_PHONE_CUE = re.compile(r"(?:전화|연락|번호|폰|유선|자택|tel|hp|☎|📞)\D{0,8}$", re.IGNORECASE)


def _is_phone(match: re.Match[str], text: str) -> bool:
    if not any(ch.isdigit() for ch in match["mid"]):
        return True  # 010-****-5845: already masked, re-rendered the same way
    if not match[0].isdigit():
        return True  # separators or +82: written as a phone number
    if match["area"] == "10":
        return len(match["mid"]) == 4  # 010 + 8 digits; ten bare digits starting 010 are a product or invoice number
    if match["area"].startswith("1"):
        return True  # 011/016-019 + 7 or 8 digits
    return bool(_PHONE_CUE.search(text, max(0, match.start() - 14), match.start()))


def _masked(match: re.Match[str]) -> str:
    last = match["last"]
    if match["cc"]:
        return f"+82-{match['area']}-****-{last}"
    return f"0{match['area']}-****-{last}"


def find_phones(text: str) -> list[Found]:
    """Every phone number in `text` (already folded), masked as 010-****-5678."""
    found = []
    for match in _PHONE.finditer(text):
        if _is_phone(match, text):
            found.append(Found(match.start(), match.end(), PiiKind.PHONE, _masked(match)))
    return found
