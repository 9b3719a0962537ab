"""Naver answers: the documented replies of the two answer endpoints, and the seller's answer templates.

상품 문의: `PUT /v1/contents/qnas/{questionId}` `{commentContent}` → 204, creating or updating the one answer.
고객 문의: `POST /v1/pay-merchant/inquiries/{inquiryNo}/answer` `{answerComment}` once; a later change is
`PUT .../answer/{answerContentId}` (marketplaces.md §2.4, §2.6, §8).
"""

from __future__ import annotations

from collections.abc import Mapping

from core.answers import AnswerOutcome
from core.models import StreamKind

QNA_PATH = "/v1/contents/qnas"
TEMPLATES_PATH = "/v1/contents/qnas/templates"
INQUIRY_ANSWER_PATH = "/v1/pay-merchant/inquiries/{inquiry_no}/answer"
# Error codes of the answer endpoints that name an outcome; the rest (ERR-NC-101001 malformed, -101007 no
# permission, -101008 invalid seller, BAD_REQUEST) are refusals in Naver's words. NOT_FOUND is the Q&A API's
# "데이터 없음" (the question is gone); the gateway's GW.NOT_FOUND (no such path) stays a refusal.
ANSWER_CODES = {
    "NOT_FOUND": AnswerOutcome.NOT_ANSWERABLE,
    "ERR-NC-101004": AnswerOutcome.NOT_ANSWERABLE,  # no inquiry of that number, or deleted
    "ERR-NC-101005": AnswerOutcome.NOT_ANSWERABLE,  # the inquiry is not valid (any more)
    "ERR-NC-101010": AnswerOutcome.ALREADY_ANSWERED,  # "해당 문의에 이미 답변이 존재하는 경우"
}
TEMPLATE_TYPES = frozenset({"PRODUCT", "DELIVERY", "RETURN", "EXCHANGE", "REFUND", "ETC"})
_TEMPLATE_LIST_KEYS = ("contents", "content", "templates", "data")


def answer_call(
    stream: StreamKind, external_id: str, edit_id: str | None, text: str
) -> tuple[str, str, dict[str, str]]:
    """(method, path, JSON body) of the answer to one inquiry; `edit_id` (an answerContentId) makes it an edit."""
    if stream is StreamKind.PRODUCT_QNA:
        return "PUT", f"{QNA_PATH}/{external_id}", {"commentContent": text}
    path = INQUIRY_ANSWER_PATH.format(inquiry_no=external_id)
    if edit_id is not None:
        return "PUT", f"{path}/{edit_id}", {"answerComment": text}
    return "POST", path, {"answerComment": text}


def templates_of(data: object) -> list[tuple[str, str, str]]:
    """(questionType, subject, content) of each template in a templates response; malformed entries are skipped.

    The doc shows one template object; a list of them is what a "목록 조회" returns (UNCONFIRMED), so a bare
    list, an object wrapping one, and a single object are all read.
    """
    if isinstance(data, Mapping):
        wrapped = next((data[key] for key in _TEMPLATE_LIST_KEYS if isinstance(data.get(key), list)), None)
        items: list[object] = wrapped if wrapped is not None else [data]
    else:
        items = data if isinstance(data, list) else []
    found = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        kind, subject, content = item.get("questionType"), item.get("subject"), item.get("content")
        if isinstance(content, str) and content.strip():
            found.append(
                (
                    kind if kind in TEMPLATE_TYPES else "ETC",
                    subject if isinstance(subject, str) else "",
                    content,
                )
            )
    return found
