"""The Naver sandbox accepts answers exactly as documented (marketplaces.md §2.4, §2.6, §8).

Requests are hand-built and given to the sandbox handler directly; the Bearer token comes from the token endpoint,
asked with `form()` of the sandbox's own tests (written from §2.2 and pinned to the official test vector).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from connectors.sandbox import Fault, NaverEndpoint, NaverSandbox
from core.models import KST
from tests.connectors.test_sandbox_naver import (
    BASE_URL,
    CLIENT_ID,
    INQUIRIES,
    INQUIRY_WINDOW,
    QNA_WINDOW,
    QNAS,
    SECRET,
    START,
    TOKEN,
    form,
)
from tests.fakes import FakeClock

ANSWER = "/v1/pay-merchant/inquiries/{no}/answer"


def kst(day: int, hour: int) -> datetime:
    """A Korean wall time in January 2025."""
    return datetime(2025, 1, day, hour, tzinfo=KST)


@pytest.fixture
def clock() -> FakeClock:
    """Fake time at START."""
    return FakeClock(START)


@pytest.fixture
def sandbox(clock: FakeClock) -> NaverSandbox:
    """A sandbox with a bucket large enough that answer tests never meet the rate limit by accident."""
    return NaverSandbox(client_id=CLIENT_ID, client_secret=SECRET, now=clock.now, replenish_rate_per_s=50)


def call(sandbox: NaverSandbox, method: str, path: str, token: str | None, **kwargs: Any) -> httpx.Response:
    """One request to the sandbox, with the Bearer token when given."""
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return sandbox.handler(httpx.Request(method, BASE_URL + path, headers=headers, **kwargs))


@pytest.fixture
def token(sandbox: NaverSandbox, clock: FakeClock) -> str:
    """A token asked for the documented way."""
    timestamp = int(clock.now().timestamp() * 1000)
    response = call(sandbox, "POST", TOKEN, None, data=form(timestamp=timestamp))
    return str(response.json()["access_token"])


def question_row(sandbox: NaverSandbox, token: str) -> dict[str, Any]:
    (row,) = call(sandbox, "GET", QNAS, token, params=QNA_WINDOW).json()["contents"]
    return dict(row)


def inquiry_row(sandbox: NaverSandbox, token: str) -> dict[str, Any]:
    (row,) = call(sandbox, "GET", INQUIRIES, token, params=INQUIRY_WINDOW).json()["content"]
    return dict(row)


# ---- 상품 문의 -------------------------------------------------------------------------------------------


def test_product_answer_creates_then_updates(sandbox: NaverSandbox, clock: FakeClock, token: str) -> None:
    question = sandbox.add_product_question(question="정품인가요?", created_at=kst(1, 8))
    created = call(sandbox, "PUT", f"{QNAS}/{question}", token, json={"commentContent": "네, 정품입니다."})
    first = question_row(sandbox, token)
    clock.advance(60)
    updated = call(sandbox, "PUT", f"{QNAS}/{question}", token, json={"commentContent": "정품 인증서 동봉"})
    second = question_row(sandbox, token)
    assert (created.status_code, created.content, updated.status_code) == (204, b"", 204)
    assert (first["answered"], first["answer"], second["answer"]) == (True, "네, 정품입니다.", "정품 인증서 동봉")
    assert [(r.endpoint, r.text, r.accepted) for r in sandbox.answers] == [
        (NaverEndpoint.PRODUCT_QNA_ANSWER, "네, 정품입니다.", True),
        (NaverEndpoint.PRODUCT_QNA_ANSWER, "정품 인증서 동봉", True),
    ]
    assert sandbox.accepted_answers(question) == 2


@pytest.mark.parametrize(
    ("body", "known", "status", "code"),
    [
        ({"commentContent": " "}, True, 400, "BAD_REQUEST"),
        ({"answerComment": "다른 API의 필드"}, True, 400, "BAD_REQUEST"),
        ({"commentContent": "답변"}, False, 404, "NOT_FOUND"),
    ],
    ids=["blank", "wrong-field", "unknown"],
)
def test_product_answer_refusals(
    sandbox: NaverSandbox, token: str, body: dict[str, str], known: bool, status: int, code: str
) -> None:
    question = sandbox.add_product_question(question="문의", created_at=kst(1, 8))
    target = f"{QNAS}/{question if known else question + 999}"
    response = call(sandbox, "PUT", target, token, json=body)
    assert (response.status_code, response.json()["code"], sandbox.is_answered(question)) == (status, code, False)
    assert [r.accepted for r in sandbox.answers] == [False]


def test_long_answers_are_accepted_no_limit_is_documented(sandbox: NaverSandbox, token: str) -> None:
    question = sandbox.add_product_question(question="문의", created_at=kst(1, 8))
    inquiry = sandbox.add_customer_inquiry(title="t", content="c", registered_at=kst(1, 8))
    text = "가" * 10_000
    put = call(sandbox, "PUT", f"{QNAS}/{question}", token, json={"commentContent": text})
    post = call(sandbox, "POST", ANSWER.format(no=inquiry), token, json={"answerComment": text})
    assert (put.status_code, post.status_code) == (204, 200)


# ---- 고객 문의 -------------------------------------------------------------------------------------------


def test_customer_answer_once_then_edit_by_put(sandbox: NaverSandbox, clock: FakeClock, token: str) -> None:
    inquiry = sandbox.add_customer_inquiry(title="배송", content="언제 와요?", registered_at=kst(1, 8))
    target = ANSWER.format(no=inquiry)
    first = call(sandbox, "POST", target, token, json={"answerComment": "오늘 발송합니다."})
    answered = inquiry_row(sandbox, token)
    again = call(sandbox, "POST", target, token, json={"answerComment": "내일 도착합니다."})
    clock.advance(120)
    edit_target = f"{target}/{answered['answerContentId']}"
    edited = call(sandbox, "PUT", edit_target, token, json={"answerComment": "내일 도착합니다."})
    wrong_id = call(sandbox, "PUT", f"{target}/{answered['answerContentId'] + 1}", token, json={"answerComment": "x"})
    final = inquiry_row(sandbox, token)
    assert (first.status_code, first.json()["data"]) == (
        200,
        {"inquiryNo": inquiry, "inquiryCommentNo": answered["answerContentId"]},
    )
    assert (answered["answered"], answered["answerContent"]) == (True, "오늘 발송합니다.")
    assert answered["answerRegistrationDateTime"] == "2025-01-01T09:00:00.000+09:00"
    assert (again.status_code, again.json()["code"]) == (400, "ERR-NC-101010")
    assert (edited.status_code, wrong_id.json()["code"]) == (200, "ERR-NC-101005")
    assert (final["answerContent"], final["answerRegistrationDateTime"]) == (
        "내일 도착합니다.",
        "2025-01-01T09:02:00.000+09:00",
    )
    assert [(r.endpoint, r.accepted) for r in sandbox.answers] == [
        (NaverEndpoint.CUSTOMER_INQUIRY_ANSWER, True),
        (NaverEndpoint.CUSTOMER_INQUIRY_ANSWER, False),
        (NaverEndpoint.CUSTOMER_INQUIRY_ANSWER_EDIT, True),
        (NaverEndpoint.CUSTOMER_INQUIRY_ANSWER_EDIT, False),
    ]
    assert "ERR-NC-101010" in (sandbox.answers[1].refusal or "")
    assert sandbox.accepted_answers(inquiry, NaverEndpoint.CUSTOMER_INQUIRY_ANSWER) == 1


@pytest.mark.parametrize(
    ("body", "known", "code"),
    [
        ({"answerContent": "필드 이름이 틀렸어요"}, True, "ERR-NC-101001"),
        ({"answerComment": "  "}, True, "ERR-NC-101001"),
        ({"answerComment": "답변", "answerTemplateId": "abc"}, True, "ERR-NC-101001"),
        ({"answerComment": "답변"}, False, "ERR-NC-101004"),
    ],
    ids=["answerContent", "blank", "bad-template-id", "unknown"],
)
def test_customer_answer_refusals(
    sandbox: NaverSandbox, token: str, body: dict[str, str], known: bool, code: str
) -> None:
    inquiry = sandbox.add_customer_inquiry(title="t", content="c", registered_at=kst(1, 8))
    response = call(sandbox, "POST", ANSWER.format(no=inquiry if known else inquiry + 999), token, json=body)
    assert (response.status_code, response.json()["code"], sandbox.is_answered(inquiry)) == (400, code, False)


def test_template_id_is_kept(sandbox: NaverSandbox, token: str) -> None:
    inquiry = sandbox.add_customer_inquiry(title="t", content="c", registered_at=kst(1, 8))
    body = {"answerComment": "안내드립니다.", "answerTemplateId": "12345"}
    assert call(sandbox, "POST", ANSWER.format(no=inquiry), token, json=body).status_code == 200
    assert inquiry_row(sandbox, token)["answerTemplateNo"] == 12345


# ---- auth and faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize("expired", [False, True], ids=["no-token", "expired-token"])
def test_every_answer_endpoint_needs_a_live_bearer_token(
    sandbox: NaverSandbox, clock: FakeClock, token: str, expired: bool
) -> None:
    question = sandbox.add_product_question(question="문의", created_at=kst(1, 8))
    inquiry = sandbox.add_customer_inquiry(title="t", content="c", registered_at=kst(1, 8))
    answer_id = sandbox.answer_customer_inquiry(inquiry, "처음 답변", kst(1, 9))
    if expired:
        clock.advance(10_801)
    used = token if expired else None
    responses = [
        call(sandbox, "PUT", f"{QNAS}/{question}", used, json={"commentContent": "답변"}),
        call(sandbox, "POST", ANSWER.format(no=inquiry), used, json={"answerComment": "답변"}),
        call(sandbox, "PUT", f"{ANSWER.format(no=inquiry)}/{answer_id}", used, json={"answerComment": "수정"}),
    ]
    assert [(r.status_code, r.json()["code"]) for r in responses] == [(401, "GW.AUTHN")] * 3
    assert (sandbox.is_answered(question), sandbox.answers) == (False, [])


@pytest.mark.parametrize(
    ("fault", "status"), [(Fault.RATE_LIMIT, 429), (Fault.SERVER_ERROR, 500), (Fault.TIMEOUT, None)]
)
def test_gateway_faults_hit_answers_before_anything_is_stored(
    sandbox: NaverSandbox, token: str, fault: Fault, status: int | None
) -> None:
    inquiry = sandbox.add_customer_inquiry(title="t", content="c", registered_at=kst(1, 8))
    sandbox.inject(fault, endpoint=NaverEndpoint.CUSTOMER_INQUIRY_ANSWER)
    if status is None:
        with pytest.raises(httpx.ReadTimeout):
            call(sandbox, "POST", ANSWER.format(no=inquiry), token, json={"answerComment": "답변"})
    else:
        response = call(sandbox, "POST", ANSWER.format(no=inquiry), token, json={"answerComment": "답변"})
        assert response.status_code == status
    assert (sandbox.is_answered(inquiry), sandbox.answers) == (False, [])


@pytest.mark.parametrize("fault", [Fault.ACCEPTED_THEN_SERVER_ERROR, Fault.ACCEPTED_THEN_TIMEOUT])
def test_accepted_then_lost_leaves_an_unknown_outcome_that_a_retry_reveals(
    sandbox: NaverSandbox, token: str, fault: Fault
) -> None:
    inquiry = sandbox.add_customer_inquiry(title="t", content="c", registered_at=kst(1, 8))
    sandbox.inject(fault, endpoint=NaverEndpoint.CUSTOMER_INQUIRY_ANSWER)
    inquiry_row(sandbox, token)  # a list request leaves it queued
    if fault is Fault.ACCEPTED_THEN_TIMEOUT:
        with pytest.raises(httpx.ReadTimeout):
            call(sandbox, "POST", ANSWER.format(no=inquiry), token, json={"answerComment": "답변"})
    else:
        lost = call(sandbox, "POST", ANSWER.format(no=inquiry), token, json={"answerComment": "답변"})
        assert (lost.status_code, lost.json()["code"]) == (500, "GW.INTERNAL_SERVER_ERROR")
    retry = call(sandbox, "POST", ANSWER.format(no=inquiry), token, json={"answerComment": "답변"})
    assert (retry.json()["code"], inquiry_row(sandbox, token)["answerContent"]) == ("ERR-NC-101010", "답변")
    assert (sandbox.accepted_answers(inquiry), sandbox.pending_faults) == (1, 0)
