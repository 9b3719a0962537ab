"""Masking of buyer personal data in free text: what a buyer or a marketplace CS agent writes.

`mask_pii(text)` hides names, phone numbers, emails, street addresses, bank accounts, customs codes and resident
numbers, in the house style (김*수, 010-****-5678, mi***@naver.com, 서울특별시 강남구 ***, ******-**-**4567,
P********1234). `find_pii(text)` says what it would hide and where. Pure functions, regexes and word lists only:
fast (thousands of texts a second) and no model to load.
"""

from __future__ import annotations

from core.masking.masker import find_pii, mask_pii
from core.masking.names import NameJudge
from core.masking.naming import mask_name
from core.masking.spans import Found, PiiKind

__all__ = ["Found", "NameJudge", "PiiKind", "find_pii", "mask_name", "mask_pii"]
