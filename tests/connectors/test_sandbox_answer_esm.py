"""The ESM sandbox accepts answers exactly as documented (marketplaces.md §4.3, §4.4, §8).

Requests are hand-built with `token()` and `post()` of the sandbox's own tests (a PyJWT HS256 token with the claims
the doc gives) and given to the sandbox handler directly.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from connectors.sandbox import EsmEndpoint, EsmSandbox, Fault
from tests.connectors.test_sandbox_esm import BOARD, MASTER, NO_RIGHT, NOW, URGENT_LIST, post, token, window
from tests.fakes import FakeClock

URGENT_ANSWER = "/assist/v1/Selling/AddEmergencyInformReply"
BOARD_ANSWER = BOARD + "/qna"


@pytest.fixture
def sandbox() -> EsmSandbox:
    return EsmSandbox(
        master_id=MASTER,
        secret_key="esm-sandbox-secret-7Hq-0123456789abcdef",
        gmarket_seller_id="gseller",
        auction_seller_id="aseller",
        now=FakeClock(NOW).now,
    )


def question(sandbox: EsmSandbox, site: str = "G마켓") -> tuple[int, dict[str, Any]]:
    """A seeded 게시판 문의 and its documented answer body, with the token the list gives for it."""
    key = sandbox.add_question(site=site, title="배송 문의", details="언제 와요?", received_at=NOW - timedelta(hours=2))
    (row,) = [
        r
        for r in board_rows(sandbox, status=2, qna_type=3 if site == "G마켓" else 1)
        if r["MessageNo"] == str(sandbox.item(key).message_no)
    ]
    body = {
        "messageNo": row["MessageNo"],
        "token": row["token"],
        "answerStatus": 2,
        "title": "답변",
        "comments": "내일 발송",
    }
    return key, body


def board_rows(sandbox: EsmSandbox, *, status: int, qna_type: int = 3) -> list[dict[str, Any]]:
    """The bulletin-board rows of one qnaType (3 G마켓 게시판, 1 옥션 게시판) and status."""
    rows = post(sandbox, BOARD, window(1, 1, status=status, qnaType=qna_type)).json()
    return [r for r in rows if isinstance(r, dict)]


def urgent(sandbox: EsmSandbox, site: str = "G마켓") -> tuple[int, dict[str, Any]]:
    """A seeded 긴급알리미 and its documented answer body (token only where the list gives one: G마켓)."""
    key = sandbox.add_urgent(site=site, title="CS 긴급", contents="미발송 확인", received_at=NOW - timedelta(hours=1))
    (row,) = post(sandbox, URGENT_LIST, window(1, 1, status=1)).json()["Data"]
    body = {"emerMessageNo": row["EmerMessageNo"], "comments": "오늘 발송했습니다", "answerStatus": 2}
    return key, body | ({"token": row["token"]} if "token" in row else {})


# ---- 게시판 문의 -----------------------------------------------------------------------------------------


def test_board_answer_with_the_listed_token_closes_the_inquiry(sandbox: EsmSandbox) -> None:
    key, body = question(sandbox)
    response = post(sandbox, BOARD_ANSWER, body)
    (row,) = board_rows(sandbox, status=3)
    assert response.json() == {"messageNo": body["messageNo"]}
    assert (row["InformStatus"], row["AnswerDate"]) == ("처리완료", "2025-01-15 12:00:00")
    assert board_rows(sandbox, status=2) == []
    assert [(r.endpoint, r.item_id, r.text, r.accepted) for r in sandbox.answers] == [
        (EsmEndpoint.BULLETIN_BOARD_ANSWER, body["messageNo"], "내일 발송", True)
    ]
    assert sandbox.accepted_answers(body["messageNo"]) == 1
    assert sandbox.item(key).answer == "내일 발송"


@pytest.mark.parametrize(
    "changes",
    [
        {"messageNo": None},
        {"token": None},
        {"token": "forged"},
        {"answerStatus": None},
        {"answerStatus": 3},
        {"answerStatus": "2"},
        {"title": None},
        {"title": " "},
        {"comments": None},
        {"comments": ""},
    ],
    ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()),
)
def test_board_answer_needs_every_documented_field(sandbox: EsmSandbox, changes: dict[str, Any]) -> None:
    key, body = question(sandbox)
    sent = {k: v for k, v in (body | changes).items() if v is not None}
    response = post(sandbox, BOARD_ANSWER, sent)
    assert (response.status_code, response.json()["resultCode"]) == (200, 1000)
    assert isinstance(response.json()["message"], str)
    assert (sandbox.is_answered(key), [r.accepted for r in sandbox.answers]) == (False, [False])


def test_board_token_of_another_inquiry_is_a_mismatch(sandbox: EsmSandbox) -> None:
    key, body = question(sandbox)
    _, other = question(sandbox, site="옥션")
    response = post(sandbox, BOARD_ANSWER, body | {"token": other["token"]})
    assert (response.json()["resultCode"], sandbox.is_answered(key)) == (1000, False)


def test_board_answer_status_1_keeps_it_open_and_2_closes_it(sandbox: EsmSandbox) -> None:
    key, body = question(sandbox)
    in_progress = post(sandbox, BOARD_ANSWER, body | {"answerStatus": 1, "comments": "확인 중입니다"})
    still_open = [r["MessageNo"] for r in board_rows(sandbox, status=2)]
    done = post(sandbox, BOARD_ANSWER, body)
    assert (in_progress.json(), done.json()) == ({"messageNo": body["messageNo"]}, {"messageNo": body["messageNo"]})
    assert still_open == [body["messageNo"]]
    assert (sandbox.is_answered(key), sandbox.accepted_answers(body["messageNo"])) == (True, 2)


def test_board_comments_over_1000_bytes_are_accepted_the_limit_is_unconfirmed(sandbox: EsmSandbox) -> None:
    key, body = question(sandbox)
    response = post(sandbox, BOARD_ANSWER, body | {"comments": "가" * 1000})  # 3000 bytes in UTF-8
    assert (response.json(), sandbox.is_answered(key)) == ({"messageNo": body["messageNo"]}, True)


@pytest.mark.parametrize("endpoint", [BOARD_ANSWER, URGENT_ANSWER])
@pytest.mark.parametrize(
    "bearer",
    [token(secret="another-secret-7Hq-0123456789abcdef"), token(sub="customer"), token(ssi="G:someone-else")],
    ids=["wrong-secret", "wrong-sub", "other-seller"],
)
def test_answers_need_the_jwt(sandbox: EsmSandbox, endpoint: str, bearer: str) -> None:
    key, body = question(sandbox) if endpoint == BOARD_ANSWER else urgent(sandbox)
    response = post(sandbox, endpoint, body, bearer=bearer)
    assert (response.status_code, response.json()) == (401, NO_RIGHT)
    assert (sandbox.is_answered(key), sandbox.answers) == (False, [])


# ---- 긴급알리미 ---------------------------------------------------------------------------------------------


def test_urgent_answer_once_then_error_100(sandbox: EsmSandbox) -> None:
    key, body = urgent(sandbox)
    first = post(sandbox, URGENT_ANSWER, body)
    second = post(sandbox, URGENT_ANSWER, body | {"comments": "다시 보냅니다"})
    (row,) = post(sandbox, URGENT_LIST, window(1, 1, status=3)).json()["Data"]
    assert first.json() == {"ResultCode": 0, "Message": "성공", "Data": {"EmerMessageNo": int(body["emerMessageNo"])}}
    assert (second.json()["ResultCode"], second.json()["Data"]) == (100, None)
    assert (row["Status"], sandbox.is_answered(key)) == ("처리완료", True)
    assert [r.accepted for r in sandbox.answers] == [True, False]
    assert sandbox.accepted_answers(body["emerMessageNo"], EsmEndpoint.EMERGENCY_ANSWER) == 1


def test_auction_urgent_needs_no_token(sandbox: EsmSandbox) -> None:
    key, body = urgent(sandbox, site="옥션")
    assert "token" not in body
    assert (post(sandbox, URGENT_ANSWER, body).json()["ResultCode"], sandbox.is_answered(key)) == (0, True)


def test_urgent_answer_status_1_leaves_it_open_for_a_later_2(sandbox: EsmSandbox) -> None:
    key, body = urgent(sandbox)
    codes = [post(sandbox, URGENT_ANSWER, body | {"answerStatus": s}).json()["ResultCode"] for s in (1, 2, 2)]
    assert (codes, sandbox.is_answered(key)) == ([0, 0, 100], True)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"emerMessageNo": "1"}, 2141),
        ({"emerMessageNo": None}, 2141),
        ({"token": None}, 2141),
        ({"token": "forged"}, 2141),
        ({"answerStatus": 9}, 20),
        ({"answerStatus": None}, 20),
        ({"comments": " "}, 10),
    ],
    ids=["unknown-number", "no-number", "no-token", "forged-token", "bad-status", "no-status", "blank-comments"],
)
def test_urgent_refusals(sandbox: EsmSandbox, changes: dict[str, Any], code: int) -> None:
    key, body = urgent(sandbox)
    sent = {k: v for k, v in (body | changes).items() if v is not None}
    response = post(sandbox, URGENT_ANSWER, sent)
    assert (response.status_code, response.json()["ResultCode"], response.json()["Data"]) == (200, code, None)
    assert sandbox.is_answered(key) is False


# ---- faults ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status"), [(Fault.SERVER_ERROR, 500), (Fault.RATE_LIMIT, 429), (Fault.TIMEOUT, None)]
)
def test_gateway_faults_hit_answers_before_anything_is_stored(
    sandbox: EsmSandbox, fault: Fault, status: int | None
) -> None:
    key, body = question(sandbox)
    sandbox.inject(fault, endpoint=EsmEndpoint.BULLETIN_BOARD_ANSWER)
    if status is None:
        with pytest.raises(httpx.ReadTimeout):
            post(sandbox, BOARD_ANSWER, body)
    else:
        assert post(sandbox, BOARD_ANSWER, body).status_code == status
    assert (sandbox.is_answered(key), sandbox.answers) == (False, [])


@pytest.mark.parametrize("fault", [Fault.ACCEPTED_THEN_SERVER_ERROR, Fault.ACCEPTED_THEN_TIMEOUT])
def test_accepted_then_lost_on_a_once_only_urgent(sandbox: EsmSandbox, fault: Fault) -> None:
    key, body = urgent(sandbox)
    sandbox.inject(fault, endpoint=EsmEndpoint.EMERGENCY_ANSWER, status=503 if fault.name.endswith("ERROR") else None)
    refused = post(sandbox, URGENT_ANSWER, body | {"answerStatus": 7})  # a refusal leaves it queued
    if fault is Fault.ACCEPTED_THEN_TIMEOUT:
        with pytest.raises(httpx.ReadTimeout):
            post(sandbox, URGENT_ANSWER, body)
    else:
        assert post(sandbox, URGENT_ANSWER, body).status_code == 503
    retry = post(sandbox, URGENT_ANSWER, body)
    assert (refused.json()["ResultCode"], retry.json()["ResultCode"]) == (20, 100)
    assert (sandbox.is_answered(key), sandbox.accepted_answers(body["emerMessageNo"]), sandbox.pending_faults) == (
        True,
        1,
        0,
    )
