"""The check before sending: what in an answer the marketplaces forbid, what reads as arguing, what cannot be sent.

Blocking findings stop the send; warnings need the seller's explicit second yes. Every finding is in Korean and
names the words it found. What is checked:
- buyer data in an answer on a public stream (product Q&A answers are on the product page), through core.masking;
- steering the buyer off the marketplace: phone numbers, emails, messenger IDs, external links, bank accounts
  (Coupang's seller guide forbids asking for direct contact, for return costs and for review edits);
- asking for review changes, or for money outside the marketplace;
- blaming, arguing or insulting phrases (policies.answer_phrases);
- variables left in braces (a template that could not be filled), an order number on a public stream;
- the stream's length limit: over a documented one blocks, over an UNCONFIRMED one warns.
Pure: text and facts in, findings out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from core.answers import AnswerLimit, Finding, FindingSeverity
from core.masking import PiiKind, find_pii
from policies import answer_phrases as phrases
from policies.templates import ORDER_NUMBER, VARIABLE

# What each code found, and what to do instead: "<what>: ‘word’, ‘word’. <advice>."
_MESSAGES: dict[str, tuple[str, str]] = {
    "buyer_data": ("구매자 정보", "상품문의 답변은 상품 페이지에 공개되니 빼 주세요"),
    "name_public": ("이름으로 보이는 말", "상품문의 답변은 공개됩니다. 구매자 이름이 아닌지 확인해 주세요"),
    "direct_contact": ("마켓 밖 연락처·메신저", "마켓 밖 연락을 안내하면 판매 제재를 받을 수 있습니다"),
    "representative_number": ("대표번호", "택배사·마켓 고객센터 번호가 아니라면 빼 주세요"),
    "contact_request": ("전화·문자 연락 요청", "마켓 문의 답변으로 안내해 주세요"),
    "external_link": ("마켓 밖 링크", "마켓·택배사·관공서 밖 링크는 안내할 수 없습니다"),
    "bank_account": ("계좌번호", "마켓 밖 거래로 보여 답변에 쓸 수 없습니다"),
    "outside_payment": ("마켓 밖 입금 요청", "반품비·배송비는 마켓의 반품·교환 절차로 받아 주세요"),
    "review_request": ("리뷰 수정·삭제 요청", "리뷰나 별점을 바꿔 달라는 요청은 금지입니다"),
    "review_ask": ("리뷰 부탁·대가", "리뷰를 조건으로 거는 말은 빼 주세요"),
    "abuse": ("욕설·모욕", "이 답변은 보낼 수 없습니다"),
    "blame": ("탓하거나 따지는 말", "사과, 사실, 처리 일정으로 바꿔 주세요"),
    "order_number_public": ("주문번호", "상품문의 답변은 공개되므로 주문번호를 넣을 수 없습니다"),
    "unfilled_variable": ("채워지지 않은 변수", "직접 채우거나 빼 주세요"),
}


def _message(code: str, words: Iterable[str]) -> str:
    what, advice = _MESSAGES[code]
    return f"{what}: {', '.join(f'‘{w}’' for w in words)}. {advice}."


@dataclass(frozen=True, slots=True)
class _Hit:
    code: str
    severity: FindingSeverity
    word: str


def check_answer(
    text: str,
    *,
    public: bool,
    limit: AnswerLimit | None = None,
    known_names: Iterable[str] = (),
    order_ids: Iterable[str] = (),
) -> tuple[Finding, ...]:
    """Findings about `text`, blocking ones first; `public` for an answer anyone can read (product Q&A).

    `known_names` are the buyer's names the store has (found whatever their shape); `order_ids` are the inquiry's
    own order numbers, which a private answer may quote.
    """
    if not text.strip():
        return (Finding("empty", "block", "답변이 비어 있습니다."),)
    hits = [
        *_contact_hits(text, public=public, known_names=known_names, order_ids=order_ids),
        *_phrase_hits(text),
        *_variable_hits(text, public=public),
    ]
    findings = _group(hits)
    if limit is not None:
        findings.extend(_limit_findings(text, limit))
    return tuple(sorted(findings, key=lambda f: f.severity != "block"))


def blocking(findings: Iterable[Finding]) -> tuple[Finding, ...]:
    """The findings that stop the send."""
    return tuple(f for f in findings if f.severity == "block")


def _group(hits: list[_Hit]) -> list[Finding]:
    """One finding per code and severity, naming each word once, in text order."""
    words: dict[tuple[str, FindingSeverity], list[str]] = {}
    for hit in hits:
        found = words.setdefault((hit.code, hit.severity), [])
        if hit.word not in found:
            found.append(hit.word)
    return [Finding(code, severity, _message(code, found), tuple(found)) for (code, severity), found in words.items()]


def _contact_hits(text: str, *, public: bool, known_names: Iterable[str], order_ids: Iterable[str]) -> Iterator[_Hit]:
    own = {o.strip() for o in order_ids if o and o.strip()}
    known = [n for n in known_names if n and n.strip()]
    for item in find_pii(text, known_names=known):
        word = text[item.start : item.end]
        if word.strip() in own:
            continue
        if item.kind in (PiiKind.PHONE, PiiKind.EMAIL):
            yield _Hit("direct_contact", "block", word)
        elif item.kind is PiiKind.ACCOUNT:
            yield _Hit("bank_account", "block", word)
        elif public and item.kind is PiiKind.NAME:
            # A staff signature looks like a name too; only the buyer's own name is sure.
            is_buyer = any(word in name or name in word for name in known)
            yield _Hit("buyer_data" if is_buyer else "name_public", "block" if is_buyer else "warn", word)
        elif public:
            yield _Hit("buyer_data", "block", word)
    for match in phrases.REPRESENTATIVE_PHONE.finditer(text):
        number = match[0] if "-" in match[0] else f"{match[0][:4]}-{match[0][4:]}"
        if number not in phrases.ALLOWED_PHONES:
            yield _Hit("representative_number", "warn", match[0])
    for match in phrases.LINK.finditer(text):
        if not _allowed_link(match[0]):
            yield _Hit("external_link", "block", match[0])


def _allowed_link(link: str) -> bool:
    host = re.sub(r"^(https?://)", "", link, flags=re.IGNORECASE).split("/", 1)[0].split(":", 1)[0].lower()
    return any(
        host.endswith(allowed) if allowed.startswith(".") else host == allowed or host.endswith("." + allowed)
        for allowed in phrases.ALLOWED_HOSTS
    )


_PHRASE_TABLES: tuple[tuple[str, FindingSeverity, tuple[re.Pattern[str], ...]], ...] = (
    ("direct_contact", "block", phrases.MESSENGER),
    ("contact_request", "warn", phrases.CONTACT_REQUEST),
    ("review_request", "block", phrases.REVIEW_CHANGE),
    ("review_ask", "warn", phrases.REVIEW_ASK),
    ("outside_payment", "block", phrases.OUTSIDE_PAYMENT),
    ("abuse", "block", phrases.ABUSE),
    ("blame", "warn", phrases.BLAME),
)


def _phrase_hits(text: str) -> Iterator[_Hit]:
    for code, severity, patterns in _PHRASE_TABLES:
        for pattern in patterns:
            for match in pattern.finditer(text):
                yield _Hit(code, severity, match[0].strip())


def _variable_hits(text: str, *, public: bool) -> Iterator[_Hit]:
    for match in VARIABLE.finditer(text):
        is_order = match[1].strip() == ORDER_NUMBER
        yield _Hit("order_number_public" if public and is_order else "unfilled_variable", "block", match[0])


def _limit_findings(text: str, limit: AnswerLimit) -> list[Finding]:
    severity: FindingSeverity = "block" if limit.documented else "warn"
    unconfirmed = "" if limit.documented else " 마켓 문서로 확인되지 않은 한도라 주의로만 알립니다."
    findings: list[Finding] = []
    if limit.unit == "chars":
        size, unit = len(text), "자"
    else:
        unsendable = sorted({ch for ch in text if not _encodes(ch, limit.unit)})
        if unsendable:
            words = tuple(unsendable)
            quoted = ", ".join(f"‘{w}’" for w in words)
            message = f"{limit.unit.upper()}로 보낼 수 없는 글자: {quoted}. 빼거나 다른 글자로 바꿔 주세요."
            findings.append(Finding("unencodable", "block", message, words))
        size, unit = len(text.encode(limit.unit, errors="replace")), f"바이트({limit.unit.upper()})"
    if size > limit.max_length:
        message = f"답변이 {limit.max_length:,}{unit} 한도를 넘습니다: {size:,}{unit}.{unconfirmed}"
        findings.append(Finding("too_long", severity, message, (f"{size:,}{unit}",)))
    elif size < limit.min_length:
        message = f"답변이 {limit.min_length:,}{unit}보다 짧습니다: {size:,}{unit}.{unconfirmed}"
        findings.append(Finding("too_short", severity, message, (f"{size:,}{unit}",)))
    return findings


def _encodes(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True
