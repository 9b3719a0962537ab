"""Korean particles after a word known only at run time: `2026-12-27을`, `상품문의를`, `쿠팡이`, `11번가가`.

A particle has two forms, chosen by how the word's last character is read aloud: after a final consonant 을/이/은/
과/으로, after a vowel 를/가/는/와/로 (and 로 after ㄹ too). Digits are read as Sino-Korean numbers, and a number is
read as its last digit's word (십, 백, 천 and 만 all end in a consonant, like 영): 0 1 3 6 7 8 end in a consonant
(1 7 8 in ㄹ), 2 4 5 9 in a vowel. Closing quotes and brackets are not read. For anything else (Latin words,
symbols) the reading is a guess, so both forms are written: `sink을(를)`.
"""

from __future__ import annotations

# form -> (after a final consonant, after a vowel)
_PAIRS: dict[str, tuple[str, str]] = {
    form: pair
    for pair in (("을", "를"), ("이", "가"), ("은", "는"), ("과", "와"), ("으로", "로"), ("이나", "나"), ("이라", "라"))
    for form in pair
}

PARTICLE_FORMS = frozenset(_PAIRS)

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_FINALS_PER_VOWEL = 28
_RIEUL = 8  # ㄹ's index among the final consonants
# How the last digit of a number is read: with a final consonant? with ㄹ?
_DIGIT_FINALS = {"0": "ㅇ", "1": "ㄹ", "2": "", "3": "ㅁ", "4": "", "5": "", "6": "ㄱ", "7": "ㄹ", "8": "ㄹ", "9": ""}
_UNREAD_TAIL = "'\"’”」』)]}>》〉 "


def _final(word: str) -> str | None:
    """The final consonant of the word's last sound: "" for a vowel, "ㄹ" for rieul, None when unknown."""
    last = word.rstrip(_UNREAD_TAIL)[-1:]
    if last in _DIGIT_FINALS:
        return _DIGIT_FINALS[last]
    if last and _HANGUL_FIRST <= ord(last) <= _HANGUL_LAST:
        index = (ord(last) - _HANGUL_FIRST) % _FINALS_PER_VOWEL
        return "" if index == 0 else "ㄹ" if index == _RIEUL else "ㅇ"
    return None


def particle(word: str, form: str) -> str:
    """The form of the particle `form` (either of its pair: "을" or "를", "으로" or "로") that follows `word`."""
    after_consonant, after_vowel = _PAIRS[form]
    final = _final(word)
    if final is None:
        return f"{after_consonant}({after_vowel})"
    if after_consonant == "으로":
        return after_vowel if final in ("", "ㄹ") else after_consonant
    return after_consonant if final else after_vowel


def with_particle(word: object, form: str) -> str:
    """`word` followed by the right form of its particle: `with_particle("2026-12-27", "를")` is `2026-12-27을`."""
    text = str(word)
    return text + particle(text, form)
