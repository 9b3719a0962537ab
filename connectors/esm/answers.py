"""ESM answers: the bodies of the 게시판 and 긴급알리미 answer POSTs and the reading of their replies.

게시판: `POST /item/v1/communications/customer/bulletin-board/qna` `{messageNo, token, answerStatus, title,
comments}`, all required; success `{"messageNo":"3578427"}`, failure `{"resultCode":1000,"message":...}`.
긴급알리미: `POST /assist/v1/Selling/AddEmergencyInformReply` `{emerMessageNo, comments, answerStatus}` (+ `token`,
G마켓 only); success `{"ResultCode":0,"Message":"성공","Data":{...}}`; 100 already completed, 2141 bad number, 20 bad
answerStatus (marketplaces.md §4.3, §4.4, §8). Keys are read case-insensitively, as the lists are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from connectors.base import outcome_by_words
from connectors.esm.rows import GMARKET
from core.answers import AnswerOutcome, AnswerRequest, AnswerResult
from core.models import StreamKind

BOARD_ANSWER_PATH = "/item/v1/communications/customer/bulletin-board/qna"
URGENT_ANSWER_PATH = "/assist/v1/Selling/AddEmergencyInformReply"
ANSWER_DONE, ANSWER_IN_PROGRESS = 2, 1  # answerStatus: 2 처리완료 closes the inquiry, 1 처리중 keeps it open
DEFAULT_TITLE = "문의하신 내용에 답변드립니다"
TITLE_MAX = 100  # no limit is documented; a reply's title need not repeat a long question's whole
NO_TOKEN = "목록에 이 문의의 token이 없어 inqd에서 답변할 수 없습니다: ESM+에서 답변해 주세요"
SUCCESS_CODES = frozenset({"0", "00", "success"})
URGENT_CODES = {
    "100": AnswerOutcome.ALREADY_ANSWERED,  # "이미 처리 완료된 건"
    "2141": AnswerOutcome.NOT_ANSWERABLE,  # no such 긴급알리미 number (any more)
}
# resultCode 1000 names its cause only in words: the buyer deleted the inquiry, or it was settled already.
# Wordings are UNCONFIRMED; a token/seller mismatch and anything else stay refusals in ESM's words.
ANSWER_WORDS = (
    (re.compile(r"이미|already", re.IGNORECASE), AnswerOutcome.ALREADY_ANSWERED),
    (re.compile(r"삭제|존재하지\s*않|deleted|not\s+exist", re.IGNORECASE), AnswerOutcome.NOT_ANSWERABLE),
)


def answer_call(request: AnswerRequest) -> tuple[str, dict[str, object]] | AnswerResult:
    """(path, JSON body) of the answer to one inquiry, or why it cannot be sent from inqd."""
    inquiry = request.inquiry
    status = ANSWER_DONE if request.final else ANSWER_IN_PROGRESS
    if inquiry.stream is StreamKind.URGENT:
        body: dict[str, object] = {
            "emerMessageNo": inquiry.external_id,
            "comments": request.text,
            "answerStatus": status,
        }
        if inquiry.site == GMARKET and inquiry.answer_ref:
            body["token"] = inquiry.answer_ref  # only G마켓 items carry one, and only G마켓 asks for it
        return URGENT_ANSWER_PATH, body
    if not inquiry.answer_ref:
        return AnswerResult(AnswerOutcome.NOT_ANSWERABLE, NO_TOKEN)
    title = f"Re: {inquiry.title}" if inquiry.title else DEFAULT_TITLE
    return (
        BOARD_ANSWER_PATH,
        {
            "messageNo": inquiry.external_id.partition(":")[2] or inquiry.external_id,  # "G:3578427" -> "3578427"
            "token": inquiry.answer_ref,
            "answerStatus": status,
            "title": title[:TITLE_MAX],
            "comments": request.text,
        },
    )


def reply_outcome(stream: StreamKind, body: Mapping[str, object]) -> tuple[AnswerOutcome, str] | None:
    """The outcome a reply's JSON object names, with ESM's message; None when it names none (not ESM's reply)."""
    folded = {str(key).lower(): value for key, value in body.items()}
    code = folded.get("resultcode")
    message = next((v for k in ("message", "resultmessage") if isinstance(v := folded.get(k), str)), "")
    if code is None:
        number = folded.get("emermessageno" if stream is StreamKind.URGENT else "messageno")
        data = folded.get("data")
        if number is not None or (isinstance(data, Mapping) and data):
            return AnswerOutcome.ACCEPTED, ""
        return None
    code_text = str(code).strip().lower()
    if code_text in SUCCESS_CODES:
        return AnswerOutcome.ACCEPTED, ""
    text = f"{code}: {message}".strip()
    if stream is StreamKind.URGENT and code_text in URGENT_CODES:
        return URGENT_CODES[code_text], text
    return outcome_by_words(message, ANSWER_WORDS), text
