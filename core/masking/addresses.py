"""Street addresses: road-name (테헤란로 123) and lot-number (역삼동 823-4번지) forms with building, 동/호/층 and a
parenthesised 동 or complex, with or without the city and district before them; `101동 202호` units on their own;
공동현관 door codes.

The city and district stay (서울특별시 강남구 ***): they say where a parcel goes, not to whom. The street, number,
building and unit go. Without a city or district, the street or 동 name stays and the rest goes (테헤란로 ***).
"""

from __future__ import annotations

import re

from core.masking.spans import Claimed, Found, PiiKind

_PROVINCE = (
    "서울특별시|서울시|서울|부산광역시|부산시|부산|대구광역시|대구시|대구|인천광역시|인천시|인천|광주광역시|광주시|광주"
    "|대전광역시|대전시|대전|울산광역시|울산시|울산|세종특별자치시|세종시|세종|경기도|경기|강원특별자치도|강원도|강원"
    "|충청북도|충북|충청남도|충남|전북특별자치도|전라북도|전북|전라남도|전남|경상북도|경북|경상남도|경남"
    "|제주특별자치도|제주도|제주"
)
_DISTRICT = r"[가-힣]{1,6}(?:시|군|구)"
_PREFIX = (
    rf"(?:{_PROVINCE})(?:[ \t]+{_DISTRICT})*(?:[ \t]+[가-힣]{{2,3}}(?=[ \t]+[가-힣]))?"
    rf"|{_DISTRICT}(?:[ \t]+{_DISTRICT})*"
)
# A number that is a count, a price or a time is not a building number.
_NOT_BUILDING = (
    r"(?![ \t]?(?:개|원|시|분|초|일|월|년|번째|번|명|장|박스|세트|팩|병|통|켤레|벌|인분|kg|g\b|cm|mm|ml|L\b"
    r"|%|만|천|배|회|차|주|살|세|등|위|가지|시간|사이즈|인치|호선)(?:(?![가-힣])|(?=[에이가은는을를의도만씩째쯤까부])))"
)
_STREET = (
    r"(?P<street>[가-힣]{1,6}(?:읍|면)[ \t]+[가-힣0-9]{1,8}리"
    r"|[가-힣0-9]{0,10}(?:대로|로|길)(?:[ \t]?\d{1,4}번?(?:길|가))?"
    r"|[가-힣]{1,8}(?:동|리)(?:[ \t]?\d{1,2}가)?|[가-힣]{1,6}\d{1,2}가)"
)
_NUMBER = rf"[ \t]?(?:지하[ \t]?|산[ \t]?)?\d{{1,5}}(?:-\d{{1,5}})?(?:[ \t]?번지)?(?![0-9]){_NOT_BUILDING}"
_COMPLEX = (
    r"[A-Za-z가-힣0-9]{0,15}(?:아파트|빌라|오피스텔|맨션|타운|하이츠|빌딩|타워|센터|캐슬|자이|푸르지오|힐스테이트|래미안"
    r"|아이파크|더샵|주공|파크|하우스|팰리스|빌|APT|apt)"
)
_UNIT_PLAIN = (
    r"(?:[A-Za-z가-힣]|\d{1,4})[ \t]?동(?![가-힣])|(?:지하[ \t]?|B)?\d{1,3}[ \t]?층"
    r"|(?:지하[ \t]?|B)?\d{1,5}[ \t]?호(?!선)"  # 그린빌라 B01호, 지하 2호
)
_UNIT = rf"{_UNIT_PLAIN}|\d{{1,4}}-\d{{3,5}}호?(?![0-9-])"  # 101-1203: 동-호 written short
_PAREN = (
    r"\((?:[가-힣0-9]{1,8}(?:동|리|가)|[가-힣A-Za-z0-9]{1,15}(?:아파트|빌라|오피스텔))"
    r"(?:[ \t]*,[ \t]*[가-힣A-Za-z0-9 ]{1,20})?\)"
)
# Complex and block names between the number and the unit: 범어아이파크 2단지 205동, 퀸즈파크나인 C동 11층.
_ON_THE_WAY = (
    rf"(?:[A-Za-z가-힣0-9]{{1,15}}[ \t]{{1,2}}){{1,3}}(?:{_UNIT_PLAIN}|(?!1[5-8]\d\d-)\d{{1,4}}-\d{{3,5}}호?(?![0-9-]))"
)
_TAIL = rf"(?P<tail>(?:[ \t]*,?[ \t]*(?:{_PAREN}|{_UNIT}|{_ON_THE_WAY}|{_COMPLEX}(?=[ \t,]*(?:{_UNIT}))))*)"

_WITH_PREFIX = re.compile(rf"(?<![가-힣])(?P<prefix>{_PREFIX})[ \t,]+{_STREET}(?P<number>{_NUMBER}){_TAIL}")
_NO_PREFIX = re.compile(rf"(?<![가-힣0-9]){_STREET}(?P<number>{_NUMBER}){_TAIL}")
_UNIT_ONLY = re.compile(
    rf"(?<![가-힣0-9A-Za-z])(?P<keep>{_COMPLEX}[ \t]?)?(?:(?:[A-Za-z가-힣]|\d{{1,4}})[ \t]?동[ \t]?\d{{1,5}}[ \t]?호"
    rf"|(?<=[가-힣])[ \t]?\d{{3,4}}[ \t]?호(?!선))"
    rf"|(?<![가-힣0-9A-Za-z])(?P<complex>{_COMPLEX})[ \t]?(?!1[5-8]\d\d-)\d{{1,4}}-\d{{3,5}}호?(?![0-9-])"
)
_POSTCODE = re.compile(
    r"우편[ \t]?번호[ \t]*:?[ \t]*\(?(?P<cued>\d{5})\)?"
    rf"|[(\[]?(?<![0-9])(?P<before>\d{{5}})[)\]]?(?=[ \t]*(?:{_PROVINCE}))"
)
_DOOR_CODE = re.compile(
    r"(?:공동[ \t]?현관|현관|출입문|대문|게이트)[ \t]?(?:문[ \t]?)?(?:비밀[ \t]?번호|비번|번호|pw)?"
    r"[ \t]?(?:은|는|:)?[ \t]?"
    r"(?P<code>[#*]?\d{3,8}[#*]?|[#*]\d{3,8})",
    re.IGNORECASE,
)
_ADDRESS_CUE = re.compile(
    r"(?:주소|배송지|받는[ \t]?곳|수령지|주소지|도로명|지번|보낼[ \t]?곳|보내실[ \t]?곳|사는[ \t]?곳)"
)
# Streets whose number alone makes an address: 12번길, 동성로2가, 45번지, 목왕리, a mountain lot (상도동 산 65-1) or
# a lot number with its sub-number after a 동 (역삼동 642-7).
_SPECIFIC_STREET = re.compile(r"\d번?길|\d가$|번지|리$|[동리가][ \t]?(?:산[ \t]?\d|\d{1,5}-\d)")


def _masked(keep: str) -> str:
    return f"{keep} ***" if keep else "***"


def _unprefixed(text: str, m: re.Match[str]) -> bool:
    """Whether a street and number without a city before them is an address (and not `택배로 3 …`)."""
    if m["tail"].strip() or _SPECIFIC_STREET.search(m["street"] + m["number"]):
        return True
    return bool(_ADDRESS_CUE.search(text, max(0, m.start() - 12), m.start()))


def find_addresses(text: str, taken: Claimed) -> list[Found]:
    """Addresses, building units and door codes in `text` (folded) that do not overlap `taken` spans."""
    found: list[Found] = []
    mine = Claimed(len(text))

    def add(start: int, end: int, masked: str) -> None:
        end = start + len(text[start:end].rstrip(" \t,"))
        item = Found(start, end, PiiKind.ADDRESS, masked)
        if end > start and taken.free(start, end) and mine.add(item):
            found.append(item)

    for m in _WITH_PREFIX.finditer(text):
        add(m.start(), m.end(), _masked(m["prefix"]))
    for m in _NO_PREFIX.finditer(text):
        if _unprefixed(text, m):
            add(m.start(), m.end(), _masked(m["street"]))
    for m in _UNIT_ONLY.finditer(text):
        keep = (m["keep"] or m["complex"] or "").rstrip()
        add(m.start(), m.end(), _masked(keep))
    for m in _POSTCODE.finditer(text):
        group = "cued" if m["cued"] else "before"
        add(m.start(group), m.end(group), "*****")
    for m in _DOOR_CODE.finditer(text):
        add(m.start("code"), m.end("code"), "****")
    return found
