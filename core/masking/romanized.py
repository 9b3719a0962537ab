"""Names in Latin letters: the 영문 이름 구매대행 buyers give for customs (KIM MINSU, Minsu Kim), and names written
after a label (Name: John Smith). Masked to each word's first letter: K** M****."""

from __future__ import annotations

import re

from core.masking.spans import Found, PiiKind

_SURNAMES = (
    "KIM|LEE|YI|RHEE|PARK|PAK|BAK|CHOI|CHOE|CHOY|JUNG|JEONG|CHUNG|KANG|CHO|JO|YOON|YUN|JANG|CHANG|LIM|IM|HAN|OH"
    "|SEO|SUH|SHIN|SIN|KWON|HWANG|AHN|AN|SONG|YOO|YU|RYU|HONG|JEON|JUN|CHUN|KO|GO|MOON|MUN|YANG|SON|BAE|BAEK"
    "|HEO|HUH|NAM|SHIM|NOH|HA|KWAK|SUNG|CHA|JOO|JU|WOO|KOO|KU|MIN|JIN|NA|JI|EOM|UM|CHAE|WON|CHEON|BANG|GONG"
    "|HYUN|HAM|BYUN|YEOM|YEO|CHU|DO|SO|SEOK|SUK|SUN|SEOL|MA|GIL|YEON|WI|PYO|MYUNG|KI|BAN|WANG|GEUM|OK|YOOK"
    "|IN|MAENG|JE|MO|TAK|KOOK|EO|EUN|PYUN|YONG|NAMGOONG|NAMGUNG|JEGAL|SEONWOO|SUNWOO|HWANGBO|DOKGO|SAGONG"
)
_WORD = r"[A-Z][a-z]+(?:-[a-z]+)?|[A-Z]{2,}(?:-[A-Z]+)?"
# KIM MINSU, Kim Min-su, Minsu Kim, KIM MIN SU: a Korean surname next to one or two name words.
_ROMANIZED = re.compile(
    rf"(?<![A-Za-z])(?:(?i:{_SURNAMES})(?:[ \t]+(?:{_WORD})){{1,2}}|(?:{_WORD})[ \t]+(?i:{_SURNAMES}))(?![A-Za-z])"
)
_LABELLED = re.compile(
    r"(?:영문[ \t]?(?:이름|성함|성명|명)|이름|성함|성명|수령인|예금주"
    r"|(?i:(?:my[ \t]+)?name(?:[ \t]+is)?|I[ \t]+am|I'm))"
    r"[ \t]*[:：=]?[ \t]*"
    rf"(?P<name>(?:{_WORD})(?:[ \t]+(?:{_WORD})){{0,2}})(?![A-Za-z])"
)
_LETTERS = re.compile(r"[A-Za-z]{2}")
# Capitalised words that follow a surname in ordinary text: KIM CHI, Lee Sedol are names, but PARK ROAD is not.
_NOT_NAME_WORDS = frozenset({"ROAD", "STREET", "AVE", "MALL", "SHOP", "STORE", "SIZE", "COLOR", "BOX", "SET"})


def _masked(name: str) -> str:
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split())


def find_romanized_names(text: str) -> list[Found]:
    """Latin-letter names in `text` (folded)."""
    if not _LETTERS.search(text):
        return []
    found = [Found(m.start("name"), m.end("name"), PiiKind.NAME, _masked(m["name"])) for m in _LABELLED.finditer(text)]
    for m in _ROMANIZED.finditer(text):
        words = m.group().split()
        if any(w.upper() in _NOT_NAME_WORDS for w in words):
            continue
        if not any(f.start <= m.start() < f.end for f in found):
            found.append(Found(m.start(), m.end(), PiiKind.NAME, _masked(m.group())))
    return found
