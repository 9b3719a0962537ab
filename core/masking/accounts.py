"""Bank account and card numbers: 국민 123456-01-234567, 신한 110-123-456789, 카카오뱅크 3333-01-1234567,
a bare 110123456789 after 계좌/은행, 1234-5678-9012-3456. Masked to their last four digits.

The trap is order, invoice and business numbers, which are digit runs too: a bare run is an account only after a
bank word; a hyphenated one also without it when it has an account's shape (three or more groups) and no order,
invoice or business word is closer before it.
"""

from __future__ import annotations

import re

from core.masking.spans import Found, PiiKind, keep_last_digits

_NUMBER = re.compile(
    r"(?<![0-9A-Za-z-])"
    r"(?P<num>\d{2,7}(?:[ \t]?-[ \t]?\d{1,8}){1,4}|\d{3,6}(?:[ \t]\d{2,8}){1,3}|\d{10,16})"
    r"(?![0-9])(?!-[0-9])(?![ \t]?-[ \t]?[0-9])"
)
_BANK = (
    r"국민|KB|신한|우리|하나|농협|NH|기업|IBK|카카오[ \t]?뱅크|카뱅|카카오|토스[ \t]?뱅크|토스"
    r"|케이[ \t]?뱅크|K[ \t]?뱅크|새마을[ \t]?금고|새마을|신협|우체국|수협|SC[ \t]?제일|제일|씨티|시티"
    r"|대구|부산|경남|광주|전북|제주|산업|KDB"
    r"|저축|은행|뱅크|계좌|예금주|입금|환불|bank"
)
_BANK_BEFORE = re.compile(rf"(?:{_BANK})", re.IGNORECASE)
_BANK_AFTER = re.compile(rf"[ \t,/()]*(?:{_BANK})", re.IGNORECASE)
_NOT_ACCOUNT_BEFORE = re.compile(
    r"주문|송장|운송장|택배|등기|상품|오더|품번|모델|사업자|통관|order|invoice|tracking", re.IGNORECASE
)
_LOOK_BEHIND = 20


def _nearest_cue(text: str, start: int) -> str | None:
    """'bank' or 'other' for the cue word closest before `start` (within a short window), or None."""
    window_start = max(0, start - _LOOK_BEHIND)
    last_bank = max((m.end() for m in _BANK_BEFORE.finditer(text, window_start, start)), default=-1)
    last_other = max((m.end() for m in _NOT_ACCOUNT_BEFORE.finditer(text, window_start, start)), default=-1)
    if last_bank < 0 and last_other < 0:
        return None
    return "bank" if last_bank > last_other else "other"


def _has_account_shape(groups: list[str]) -> bool:
    if len(groups) < 3:
        return False
    sizes = [len(g) for g in groups]
    if sizes == [3, 2, 5] or sizes == [4, 4, 4]:
        return False  # business registration number; a courier invoice printed in fours
    return not (len(groups[0]) == 4 and groups[0].startswith(("19", "20")) and sizes[1] <= 2)  # a date


def find_accounts(text: str) -> list[Found]:
    """Bank account and card numbers in `text` (folded), masked to the last four digits."""
    found = []
    for m in _NUMBER.finditer(text):
        value = m["num"]
        groups = re.findall(r"\d+", value)
        digits = sum(len(g) for g in groups)
        if not 10 <= digits <= 16:
            continue
        cue = _nearest_cue(text, m.start())
        after_is_bank = bool(_BANK_AFTER.match(text, m.end(), min(len(text), m.end() + 10)))
        hyphenated = "-" in value
        shaped = hyphenated and _has_account_shape(groups)
        if cue == "bank" or (cue is None and (after_is_bank or shaped)):
            found.append(Found(m.start(), m.end(), PiiKind.ACCOUNT, keep_last_digits(value)))
    return found
