"""Decoding of 11st (11번가) XML pages and pure normalization of their rows into `Inquiry`.

Bytes: responses say EUC-KR, but characters outside KS X 1001 (똠, 햏, ...) arrive either as cp949 extension
bytes, as KS X 1001 8-byte make-up sequences, or as numeric character references (&#46624;): all are accepted.
An encoding named in the XML prolog wins; undecodable bytes become U+FFFD, never an exception.
Tags are matched by local name, so `ns2:productQna` and `productQna` are the same row.
Error messages name the field and what was expected, never the value: rows carry buyer text.
UNCONFIRMED: no doc states the zone of 11st's naive times; every sample reads as Korean local time (KST).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from datetime import datetime, time
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as DefusedET  # type: ignore[import-untyped]  # no stubs published
from defusedxml import DefusedXmlException

from connectors.base import MalformedItem
from connectors.rows import CATEGORY_WORDS, MAX_YEAR, MIN_YEAR, category_by_words, numeric_id, optional_str, text
from core.models import KST, Category, Inquiry, Marketplace, StreamKind

Row = Mapping[str, str]

QNA_ROW = "productQna"
ALIMI_ROW = "alimListInfo"
# 긴급알리미 emerNtceCrntCd: 01 미확인, 02 답변대기, 03 답변완료, 04 재답변요청, 05 재답변완료, 06 처리완료.
ALIMI_OPEN_STATUSES = frozenset({"01", "02", "04"})
ALIMI_DONE_STATUSES = frozenset({"03", "05", "06"})
NOTICE_TYPE = "02"  # emerTypeCd 02 = notice: the seller only confirms it (confirmYn=Y), no text owed

_PROLOG = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["'][^>]*\?>""")
_PROLOG_TEXT = re.compile(r"^\s*<\?xml[^>]*\?>")
_EUC_KR_FAMILY = frozenset({"euc_kr", "cp949"})  # codecs.lookup names of euc-kr, ks_c_5601-1987, ms949, uhc, ...
_QNA_CATEGORIES = {
    "01": Category.PRODUCT,
    "02": Category.DELIVERY,
    "03": Category.RETURN,  # 반품/환불/취소: the first of them names the work
    "04": Category.EXCHANGE,
    "05": Category.OTHER,
}
# emerReplyDt / createDt forms the sources allow (UNCONFIRMED which one the live API sends): all accepted.
_COMPACT_FORMATS = (("%Y%m%d%H%M%S", 14), ("%Y%m%d%H%M", 12), ("%Y%m%d", 8))


def decode(content: bytes) -> str:
    """The text of an 11st response body: never raises."""
    declared = _PROLOG.match(content)
    candidates: list[str] = []
    if declared is not None:
        try:
            name = codecs.lookup(declared.group(1).decode("ascii")).name
        except LookupError:
            name = "euc_kr"
        if name not in _EUC_KR_FAMILY:
            candidates.append(name)
    # euc_kr first: it also reads KS X 1001 8-byte make-up sequences, which cp949 would turn into loose jamo.
    candidates += ["euc_kr", "cp949"]
    for codec in candidates:
        try:
            return content.decode(codec)
        except (UnicodeError, LookupError):
            continue
    return content.decode("euc_kr", errors="replace")


def parse(content: bytes) -> Element:
    """The root element of an 11st response; ValueError if it is not well-formed XML."""
    # The prolog is dropped: the text is already decoded, and expat would otherwise re-read the declaration.
    text = _PROLOG_TEXT.sub("", decode(content), count=1)
    try:
        root: Element = DefusedET.fromstring(text)
    except (DefusedET.ParseError, DefusedXmlException) as err:
        raise ValueError("not well-formed XML") from err
    return root


def local(tag: str) -> str:
    """`productQna` of `{ns}productQna` or `ns2:productQna`."""
    return tag.rpartition("}")[2].rpartition(":")[2]


def find_text(root: Element, name: str) -> str | None:
    """The stripped text of the first element named `name` (local name) anywhere under `root`, itself included."""
    for element in root.iter():
        if local(element.tag) == name:
            return (element.text or "").strip()
    return None


def rows(root: Element, row_name: str) -> list[object]:
    """Each `row_name` element under `root` as {child local name: text}; a repeated child keeps its first."""
    found: list[object] = []
    for element in root.iter():
        if local(element.tag) == row_name:
            row: dict[str, str] = {}
            for child in element:
                row.setdefault(local(child.tag), child.text or "")
            found.append(row)
    return found


def qna_id(raw: object) -> str:
    """`brdInfoNo` of a product Q&A row."""
    return numeric_id(_required(_row(raw), "brdInfoNo"), "brdInfoNo")


def alimi_id(raw: object) -> str:
    """`emerNtceSeq` of a 긴급알리미 row."""
    return numeric_id(_required(_row(raw), "emerNtceSeq"), "emerNtceSeq")


def alimi_is_open(raw: object) -> bool:
    """Whether a 긴급알리미 row still waits for the seller; an unknown status counts as open (the safe side)."""
    return _row(raw).get("emerNtceCrntCd", "").strip() not in ALIMI_DONE_STATUSES


def qna_to_inquiry(raw: object, account_id: str) -> Inquiry:
    """Normalize one `productQna` row; raises MalformedItem naming the first bad field."""
    row = _row(raw)
    received_at = date_time(_required(row, "createDt"), "createDt")
    answered = row.get("answerYn", "").strip().upper() == "Y"
    answered_at = None
    if answered and optional_str(row.get("answerDt", "").strip(), "answerDt") is not None:
        # answerDt is a date only ("2010/01/19"): its midnight, never before the question itself.
        answered_at = max(date_time(row["answerDt"], "answerDt"), received_at)
    bought = row.get("buyYn", "").strip().upper() == "Y"
    order_no = optional_str(row.get("ordNoDe", "").strip(), "ordNoDe") if bought else None
    code = row.get("qnaDtlsCd", "").strip()
    return Inquiry(
        account_id=account_id,
        marketplace=Marketplace.ELEVENST,
        stream=StreamKind.PRODUCT_QNA,
        external_id=qna_id(row),
        received_at=received_at,
        body=text(_required(row, "brdInfoCont"), "brdInfoCont", html_escaped=True),
        category=_QNA_CATEGORIES.get(code) or category_by_words(row.get("qnaDtlsCdNm"), CATEGORY_WORDS),
        title=_optional_text(row, "brdInfoSbjct"),
        product_name=_optional_text(row, "prdNm"),
        order_id=order_no,
        buyer=_buyer(row),  # memID is not stored: the name is enough to recognise a buyer
        answered=answered,
        answered_at=answered_at,
        answer_ref=numeric_id(_required(row, "brdInfoClfNo"), "brdInfoClfNo"),  # the prdNo the answer PUT needs
    )


def alimi_to_inquiry(raw: object, account_id: str) -> Inquiry:
    """Normalize one `alimListInfo` row; raises MalformedItem naming the first bad field."""
    row = _row(raw)
    created = _required(row, "createDt") + " " + row.get("createTm", "").strip()
    received_at = date_time(created.strip(), "createDt")
    status = row.get("emerNtceCrntCd", "").strip()
    if status and status not in ALIMI_OPEN_STATUSES | ALIMI_DONE_STATUSES:
        raise MalformedItem("emerNtceCrntCd: expected 01..06")
    deadline = row.get("emerReplyDt", "").strip()
    classes = " ".join(row.get(f"emerNtceClfNm{i}", "") for i in (1, 2, 3))
    subject = _optional_text(row, "emerNtceSubject")
    if row.get("emerTypeCd", "").strip() == NOTICE_TYPE:
        subject = f"[공지] {subject or ''}".strip()
    order_no = row.get("ordNo", "").strip()
    return Inquiry(
        account_id=account_id,
        marketplace=Marketplace.ELEVENST,
        stream=StreamKind.URGENT,
        external_id=alimi_id(row),
        received_at=received_at,
        body=text(_required(row, "emerCtnt"), "emerCtnt", html_escaped=True),
        category=category_by_words(classes + " " + (subject or ""), CATEGORY_WORDS),
        title=subject,
        product_name=_optional_text(row, "prdNm"),
        order_id=numeric_id(order_no, "ordNo") if order_no else None,
        buyer=_buyer(row),
        answered=status in ALIMI_DONE_STATUSES,
        deadline_at=deadline_at(deadline) if deadline else None,
        answer_ref=alimi_id(row),  # the answer PUT names the emerNtceSeq
    )


def deadline_at(value: str) -> datetime:
    """emerReplyDt as a KST instant; a date-only deadline means the end of that day (23:59:59)."""
    parsed = date_time(value, "emerReplyDt")
    compact = value.strip().replace("-", "").replace("/", "").replace(".", "")
    if compact.isdigit() and len(compact) == 8:
        return datetime.combine(parsed.date(), time(23, 59, 59), KST)
    return parsed


def date_time(value: str, field: str) -> datetime:
    """An 11st time (see `_date_time`), refused outside 2000-2100: the store and the SLA arithmetic cannot hold it."""
    parsed = _date_time(value, field)
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise MalformedItem(f"{field}: not a plausible date-time")
    return parsed


def _date_time(value: str, field: str) -> datetime:
    """An 11st time: yyyyMMdd[HHmm[ss]], yyyyMMdd HH:mm:ss, yyyy-MM-dd[ HH:mm:ss[.S]], yyyy/MM/dd; naive is KST."""
    text = value.strip()
    digits = text.replace(" ", "").replace(":", "")
    for fmt, length in _COMPACT_FORMATS:
        if digits.isdigit() and len(digits) == length:
            try:
                return datetime.strptime(digits, fmt).replace(tzinfo=KST)
            except ValueError as err:
                raise MalformedItem(f"{field}: not a date-time") from err
    try:
        parsed = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError as err:
        raise MalformedItem(f"{field}: not a date-time") from err
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=KST)


def _row(raw: object) -> Row:
    if not isinstance(raw, Mapping):
        raise MalformedItem("row: expected an element")
    return raw


def _required(row: Row, key: str) -> str:
    value = row.get(key)
    if value is None or not value.strip():
        raise MalformedItem(f"{key}: missing")
    return value.strip()


def _buyer(row: Row) -> str | None:
    """The buyer's name: `memNM` in Q&A rows, `memNm` in 긴급알리미 rows (as documented); either spelling in both."""
    return _optional_text(row, "memNM") or _optional_text(row, "memNm")


def _optional_text(row: Row, key: str) -> str | None:
    """`row[key]` as plain text (some rows arrive HTML-escaped inside the XML: &lt;br&gt;), or None if empty."""
    value = row.get(key)
    return None if value is None else text(value, key, html_escaped=True) or None
