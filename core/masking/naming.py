"""How a name is written masked (김*수, 남궁**), finding the buyer's name where the marketplace told us it, and a
name written apart (김 철수 님)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.masking.lexicon import COMPOUND_SURNAMES, GIVEN_SYLLABLES, ROLE_WORDS, SURNAMES
from core.masking.spans import Claimed, Found, PiiKind, overlaps
from core.masking.words import NOT_NAMES, PRODUCT_WORDS


def mask_name(name: str) -> str:
    """김민수 → 김*수, 김민 → 김*, 남궁민수 → 남궁**, 존 스미스 → * ***."""
    name = name.strip()
    if " " in name:
        first, *rest = name.split()
        return " ".join([mask_name(first), *("*" * len(word) for word in rest)])
    if len(name) <= 1:
        return "*"
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        return name[:2] + "*" * (len(name) - 2)
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def find_known_names(text: str, known_names: Iterable[str]) -> list[Found]:
    """Every occurrence of the buyer's known name; a marketplace-masked one (김*수) matches 김철수 as well."""
    found: list[Found] = []
    names = sorted({n.strip() for n in known_names if n and n.strip()}, key=len, reverse=True)
    for name in names:
        if "*" in name:
            if sum(ch != "*" for ch in name) < 2:
                continue  # 이* would match half the dictionary
            pattern = "".join("[가-힣A-Za-z]" if ch == "*" else re.escape(ch) for ch in name)
        elif len(name) < 2:
            continue
        else:
            pattern = re.escape(name)
        for m in re.finditer(pattern, text, re.IGNORECASE):
            if not overlaps(found, m.start(), m.end()):
                found.append(Found(m.start(), m.end(), PiiKind.NAME, mask_name(m.group())))
    return found


_SPLIT_NAME = re.compile(
    r"(?<![가-힣])(?P<surname>[가-힣])[ \t](?P<given>[가-힣]{2})(?=[ \t]?(?:고객님|님|씨)(?![가-힣]))"
)


def find_split_names(text: str, taken: Claimed) -> list[Found]:
    """`김 철수 님`: a surname written apart from the given name, before an honorific."""
    found = []
    for m in _SPLIT_NAME.finditer(text):
        given = m["given"]
        plausible = m["surname"] in SURNAMES and all(ch in GIVEN_SYLLABLES for ch in given)
        if (
            plausible
            and given not in NOT_NAMES
            and given not in PRODUCT_WORDS
            and given not in ROLE_WORDS
            and taken.free(*m.span())
        ):
            found.append(Found(m.start(), m.end(), PiiKind.NAME, f"{m['surname']} *{given[-1]}"))
    return found
