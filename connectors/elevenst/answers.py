"""11st answers: the EUC-KR XML bodies of the two answer PUTs and the result codes of their replies.

상품 Q&A: `PUT /rest/prodqnaservices/prodqnaanswer/{brdInfoNo}/{prdNo}` `<ProductQna><answerCont>`, replied to
with `ClientMessage{brdInfoNo, productNo, message, resultCode}`: 200 ok, 500 business error, -1000 maintenance.
긴급알리미: `PUT /rest/alimi/alimianswer` `<request><confirmYn>Y</confirmYn><emerNtceSeq><answerCtnt>`, replied to
with `alimiResult{emerNtceSeq, ordNo, result_code, result_text}` (marketplaces.md §3.3, §3.4, §8).
The two replies name their fields differently (resultCode / result_code, message / result_text); which one each
endpoint really sends is not certain everywhere, so both are read for both.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from core.answers import AnswerOutcome

QNA_ANSWER_PATH = "/rest/prodqnaservices/prodqnaanswer/{brd_info_no}/{prd_no}"
ALIMI_ANSWER_PATH = "/rest/alimi/alimianswer"
PROLOG = '<?xml version="1.0" encoding="euc-kr" standalone="yes"?>'
RESULT_CODE_FIELDS = ("resultCode", "result_code")
RESULT_TEXT_FIELDS = ("message", "result_text", "resultMessage")
# 100 = a notice-type 긴급알리미 confirmed (its text is not kept: notices take no reply), 200 = answer accepted.
NOTICE_CONFIRMED_CODE = "100"
ACCEPTED_CODES = frozenset({NOTICE_CONFIRMED_CODE, "200"})
NOTICE_CONFIRMED = "공지형 긴급알리미라 확인 처리만 되었습니다: 공지에는 답변 내용이 남지 않습니다"
RESULT_OUTCOMES = {
    "-10005": AnswerOutcome.ALREADY_ANSWERED,  # "이미 처리된 알리미입니다"
    "-10000": AnswerOutcome.NOT_ANSWERABLE,  # no such 알리미
}
# A 500 "business error" names its cause only in words (none documented; UNCONFIRMED): a deleted question.
BUSINESS_WORDS = (
    (re.compile(r"이미\s*(답변|처리)"), AnswerOutcome.ALREADY_ANSWERED),
    (re.compile(r"삭제|존재하지\s*않|없는\s*(게시|문의|상품)"), AnswerOutcome.NOT_ANSWERABLE),
)
# Characters XML 1.0 cannot carry at all; everything else outside EUC-KR goes as a character reference.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_body(root: str, fields: tuple[tuple[str, str], ...]) -> bytes:
    """`<root><name>value</name>...</root>` in EUC-KR, as 11st's clients send it; no character is ever lost.

    Characters EUC-KR lacks (똠, emoji) become numeric character references (&#46624;), which every XML reader,
    11st's included, turns back into the character.
    """
    inner = "".join(f"<{name}>{escape(_NOT_XML.sub('', value))}</{name}>" for name, value in fields)
    return b"".join(_euc_kr(char) for char in f"{PROLOG}<{root}>{inner}</{root}>")


def _euc_kr(char: str) -> bytes:
    """One character in KS X 1001 bytes, or as a character reference.

    Python's codec writes Hangul outside the 2,350 KS X 1001 syllables as 8-byte make-up sequences, which few
    decoders (Java's EUC-KR among them) read back: those go as references too.
    """
    try:
        encoded = char.encode("euc_kr")
    except UnicodeEncodeError:
        encoded = b""
    return encoded if 0 < len(encoded) <= 2 else f"&#{ord(char)};".encode("ascii")


def qna_answer(brd_info_no: str, prd_no: str, text: str) -> tuple[str, bytes]:
    """(path, body) of the answer to one product Q&A."""
    path = QNA_ANSWER_PATH.format(brd_info_no=brd_info_no, prd_no=prd_no)
    return path, xml_body("ProductQna", (("answerCont", text),))


def alimi_answer(emer_ntce_seq: str, text: str) -> tuple[str, bytes]:
    """(path, body) of the answer to one 긴급알리미: confirmed, with the text a reply-type one needs."""
    fields = (("confirmYn", "Y"), ("emerNtceSeq", emer_ntce_seq), ("answerCtnt", text))
    return ALIMI_ANSWER_PATH, xml_body("request", fields)
