"""The Coupang sandbox accepts answers exactly as documented (marketplaces.md §1.5, §1.7, §8).

Requests are hand-built and signed with `cea()` of the sandbox's own tests (written from §1.2 and pinned to the
document's worked example), then given to the sandbox handler directly.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
import pytest

from connectors.sandbox import AnswerRecord, CallCenterStatus, CoupangSandbox, Endpoint, Fault
from core.models import KST
from tests.connectors.test_sandbox_coupang import ACCESS, API, SECRET, START, VENDOR, cea, list_target
from tests.fakes import FakeClock

WING_ID = "wing-kim"
BASE_URL = "https://api-gateway.coupang.com"
CANNOT_ANSWER = (
    "The inquiry can't be answer. It can do only inquiryStatus:progress, partnerTransferStatus:requestAnswer"
)


def kst(day: int, hour: int) -> datetime:
    """A Korean wall time in January 2025."""
    return datetime(2025, 1, day, hour, tzinfo=KST)


@pytest.fixture
def clock() -> FakeClock:
    """Fake time at the worked example's signed-date."""
    return FakeClock(START)


@pytest.fixture
def sandbox(clock: FakeClock) -> CoupangSandbox:
    """A sandbox whose account answers as WING login `wing-kim`."""
    return CoupangSandbox(vendor_id=VENDOR, access_key=ACCESS, secret_key=SECRET, now=clock.now, wing_login_id=WING_ID)


def reply_target(kind: str, inquiry_id: int) -> str:
    """The documented v4 reply path."""
    return f"{API}/v4/vendors/{VENDOR}/{kind}/{inquiry_id}/replies"


def post_raw(sandbox: CoupangSandbox, clock: FakeClock, target: str, content: bytes, **headers: str) -> httpx.Response:
    """A POST of `content` as JSON, signed for `target` at the fake clock's time unless headers say otherwise."""
    sent = {"Content-Type": "application/json;charset=UTF-8", "Authorization": cea("POST", target, at=clock.now())}
    return sandbox.handler(httpx.Request("POST", BASE_URL + target, content=content, headers={**sent, **headers}))


def post(sandbox: CoupangSandbox, clock: FakeClock, target: str, body: dict[str, Any]) -> httpx.Response:
    """A correctly signed POST with a JSON body (newlines escaped as JSON `\\n`)."""
    return post_raw(sandbox, clock, target, json.dumps(body, ensure_ascii=False).encode())


def listed(sandbox: CoupangSandbox, clock: FakeClock, target: str) -> list[dict[str, Any]]:
    """The rows of a correctly signed list request."""
    headers = {"Authorization": cea("GET", target, at=clock.now())}
    response = sandbox.handler(httpx.Request("GET", BASE_URL + target, headers=headers))
    rows: list[dict[str, Any]] = response.json()["data"]["content"]
    return rows


def product_body(**changes: str | None) -> dict[str, Any]:
    """The documented product-answer body; a change to None drops that field."""
    body = {"content": "안녕하세요\n19일 입고 예정입니다.", "vendorId": VENDOR, "replyBy": WING_ID, **changes}
    return {k: v for k, v in body.items() if v is not None}


def call_body(inquiry_id: int, parent: int | str | None, **changes: str | None) -> dict[str, Any]:
    """The documented call-center answer body (the official sample sends ids as strings)."""
    body = {
        "vendorId": VENDOR,
        "inquiryId": str(inquiry_id),
        "content": "안녕하세요\n오늘 출고됩니다.",
        "replyBy": WING_ID,
        "parentAnswerId": None if parent is None else str(parent),
        **changes,
    }
    return {k: v for k, v in body.items() if v is not None}


def waiting_call(sandbox: CoupangSandbox, **kwargs: Any) -> tuple[int, int]:
    """A call-center inquiry whose agent note requests an answer: (inquiryId, that note's answerId)."""
    inquiry_id = sandbox.add_call_center_inquiry(
        inquiry_at=kst(1, 8), agent_note="[판매자이관]", item_name="의자", **kwargs
    )
    call = sandbox.call_center_inquiry(inquiry_id)
    assert call is not None
    return inquiry_id, call.replies[0].answer_id


def message(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, str(response.json()["message"])


# ---- 상품문의 ----------------------------------------------------------------------------------------------


def test_product_answer_is_stored_listed_and_recorded(sandbox: CoupangSandbox, clock: FakeClock) -> None:
    inquiry_id = sandbox.add_product_inquiry(content="재입고 언제?", inquiry_at=kst(1, 8))
    clock.advance(600)
    response = post(sandbox, clock, reply_target("onlineInquiries", inquiry_id), product_body())
    (row,) = listed(sandbox, clock, list_target(answeredType="ANSWERED"))
    assert response.json() == {"code": "200", "message": "OK"}
    assert [(c["content"], c["inquiryCommentAt"]) for c in row["commentDtoList"]] == [
        ("안녕하세요\n19일 입고 예정입니다.", "2025-01-01T09:10:00+09:00")
    ]
    assert listed(sandbox, clock, list_target(answeredType="NOANSWER")) == []
    assert sandbox.answers == [
        AnswerRecord(clock.now(), Endpoint.PRODUCT_REPLY, str(inquiry_id), "안녕하세요\n19일 입고 예정입니다.", True)
    ]
    assert sandbox.accepted_answers(inquiry_id) == 1


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"replyBy": "sandbox-wing"}, "The value of replyBy [sandbox-wing] is incorrect."),
        ({"replyBy": None}, "replyBy is required"),
        ({"content": None}, "content is required"),
        ({"vendorId": None}, "vendorId is required"),
        ({"content": " \n "}, "내용을 입력하세요."),
    ],
    ids=["other-wing-id", "no-reply-by", "no-content", "no-vendor", "blank"],
)
def test_product_answer_needs_the_documented_fields(
    sandbox: CoupangSandbox, clock: FakeClock, changes: dict[str, str | None], expected: str
) -> None:
    inquiry_id = sandbox.add_product_inquiry(content="문의", inquiry_at=kst(1, 8))
    response = post(sandbox, clock, reply_target("onlineInquiries", inquiry_id), product_body(**changes))
    assert message(response) == (400, expected)
    assert (sandbox.is_answered(inquiry_id), sandbox.accepted_answers(inquiry_id)) == (False, 0)
    assert [(r.item_id, r.accepted, r.text) for r in sandbox.answers] == [(str(inquiry_id), False, None)]
    assert sandbox.answers[0].refusal is not None and expected in sandbox.answers[0].refusal


@pytest.mark.parametrize(("raw", "code"), [("\n", 10), ("\r", 13), ("\t", 9)])
@pytest.mark.parametrize("kind", ["onlineInquiries", "callCenterInquiries"])
def test_raw_control_characters_are_refused_as_ctrl_char(
    sandbox: CoupangSandbox, clock: FakeClock, kind: str, raw: str, code: int
) -> None:
    product_id = sandbox.add_product_inquiry(content="문의", inquiry_at=kst(1, 8))
    call_id, parent = waiting_call(sandbox)
    inquiry_id = product_id if kind == "onlineInquiries" else call_id
    body = product_body() if kind == "onlineInquiries" else call_body(call_id, parent)
    wire = json.dumps({**body, "content": "안녕하세요ZZ감사합니다"}, ensure_ascii=False).replace("ZZ", raw)
    response = post_raw(sandbox, clock, reply_target(kind, inquiry_id), wire.encode())
    assert message(response)[0] == 400
    assert message(response)[1].startswith(
        f"Could not read JSON: Illegal unquoted character ((CTRL-CHAR, code {code}))"
    )
    assert sandbox.is_answered(inquiry_id) is False


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        cea("GET", reply_target("onlineInquiries", 1_000_000_001)),
        cea("POST", reply_target("onlineInquiries", 1_000_000_002)),
        cea("POST", reply_target("onlineInquiries", 1_000_000_001), secret="other-secret"),
    ],
    ids=["unsigned", "signed-as-get", "signed-for-another-inquiry", "wrong-secret"],
)
def test_answers_need_the_cea_signature_over_the_post(
    sandbox: CoupangSandbox, clock: FakeClock, authorization: str | None
) -> None:
    inquiry_id = sandbox.add_product_inquiry(content="문의", inquiry_at=kst(1, 8))
    assert inquiry_id == 1_000_000_001
    target = reply_target("onlineInquiries", inquiry_id)
    headers = {"Authorization": authorization or ""}
    response = post_raw(sandbox, clock, target, json.dumps(product_body()).encode(), **headers)
    assert (response.status_code, response.json()["code"]) == (401, "ERROR")
    assert (sandbox.is_answered(inquiry_id), sandbox.answers) == (False, [])


def test_no_undocumented_length_limit_on_either_stream(sandbox: CoupangSandbox, clock: FakeClock) -> None:
    product_id = sandbox.add_product_inquiry(content="문의", inquiry_at=kst(1, 8))
    short_id, short_parent = waiting_call(sandbox)
    long_id, long_parent = waiting_call(sandbox)
    responses = [
        post(sandbox, clock, reply_target("onlineInquiries", product_id), product_body(content="가" * 5000)),
        post(
            sandbox,
            clock,
            reply_target("callCenterInquiries", short_id),
            call_body(short_id, short_parent, content="네"),
        ),
        post(
            sandbox,
            clock,
            reply_target("callCenterInquiries", long_id),
            call_body(long_id, long_parent, content="가" * 1001),
        ),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [sandbox.is_answered(i) for i in (product_id, short_id, long_id)] == [True, True, True]


# ---- 고객센터 문의 -----------------------------------------------------------------------------------------


def test_call_center_answer_once_then_the_documented_refusal(sandbox: CoupangSandbox, clock: FakeClock) -> None:
    inquiry_id, parent = waiting_call(sandbox)
    target = reply_target("callCenterInquiries", inquiry_id)
    first = post(sandbox, clock, target, call_body(inquiry_id, parent))
    second = post(sandbox, clock, target, call_body(inquiry_id, parent, content="다시 보냅니다"))
    (row,) = listed(sandbox, clock, list_target("callCenterInquiries", partnerCounselingStatus="ANSWER"))
    assert first.json() == {"code": "200", "message": "OK"}
    assert message(second) == (400, CANNOT_ANSWER)
    assert (row["csPartnerCounselingStatus"], row["answeredAt"]) == ("answered", "2025-01-01T09:00:00+09:00")
    assert [(r["answerType"], r["content"], r["receptionist"]) for r in row["replies"]][1:] == [
        ("vendor", "안녕하세요\n오늘 출고됩니다.", WING_ID)
    ]
    assert listed(sandbox, clock, list_target("callCenterInquiries", partnerCounselingStatus="NO_ANSWER")) == []
    assert [r.accepted for r in sandbox.answers] == [True, False]
    assert sandbox.accepted_answers(inquiry_id, Endpoint.CALL_CENTER_REPLY) == 1


@pytest.mark.parametrize(
    ("status", "parent_offset", "changes", "expected"),
    [
        (CallCenterStatus.TRANSFER, 0, {}, CANNOT_ANSWER),
        (CallCenterStatus.ANSWERED, 0, {}, CANNOT_ANSWER),
        (CallCenterStatus.REQUEST_ANSWER, None, {}, "The parentAnswerId is required."),
        (CallCenterStatus.REQUEST_ANSWER, 7, {}, "parentAnswerId"),
        (CallCenterStatus.REQUEST_ANSWER, 0, {"replyBy": "someone"}, "The value of replyBy [someone] is incorrect."),
        (CallCenterStatus.REQUEST_ANSWER, 0, {"content": None}, "content is required"),
        (CallCenterStatus.REQUEST_ANSWER, 0, {"vendorId": "A99999999"}, "vendorId in the body does not match"),
        (CallCenterStatus.REQUEST_ANSWER, 0, {"inquiryId": "1"}, "inquiryId in the body does not match"),
    ],
    ids=["transfer", "answered-in-wing", "no-parent", "wrong-parent", "wing-id", "no-content", "vendor", "inquiry"],
)
def test_call_center_answer_only_while_requested_and_with_every_field(
    sandbox: CoupangSandbox,
    clock: FakeClock,
    status: CallCenterStatus,
    parent_offset: int | None,
    changes: dict[str, str | None],
    expected: str,
) -> None:
    inquiry_id, note = waiting_call(sandbox, status=status)
    before = sandbox.is_answered(inquiry_id)
    parent = None if parent_offset is None else note + parent_offset
    response = post(
        sandbox, clock, reply_target("callCenterInquiries", inquiry_id), call_body(inquiry_id, parent, **changes)
    )
    assert response.status_code == 400
    assert message(response)[1].startswith(expected)
    assert (sandbox.is_answered(inquiry_id), sandbox.accepted_answers(inquiry_id)) == (before, 0)


# ---- faults ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status"), [(Fault.SERVER_ERROR, 503), (Fault.RATE_LIMIT, 429), (Fault.TIMEOUT, None)]
)
def test_gateway_faults_hit_answers_before_anything_is_stored(
    sandbox: CoupangSandbox, clock: FakeClock, fault: Fault, status: int | None
) -> None:
    inquiry_id = sandbox.add_product_inquiry(content="문의", inquiry_at=kst(1, 8))
    target = reply_target("onlineInquiries", inquiry_id)
    sandbox.inject(fault, endpoint=Endpoint.PRODUCT_REPLY, status=503 if fault is Fault.SERVER_ERROR else None)
    listed(sandbox, clock, list_target())  # a list request leaves an endpoint's fault queued
    if status is None:
        with pytest.raises(httpx.ReadTimeout):
            post(sandbox, clock, target, product_body())
    else:
        assert post(sandbox, clock, target, product_body()).status_code == status
    assert (sandbox.is_answered(inquiry_id), sandbox.answers) == (False, [])
    assert post(sandbox, clock, target, product_body()).status_code == 200
    assert sandbox.accepted_answers(inquiry_id) == 1


def test_accepted_then_server_error_stores_the_answer_and_loses_the_reply(
    sandbox: CoupangSandbox, clock: FakeClock
) -> None:
    inquiry_id, parent = waiting_call(sandbox)
    target = reply_target("callCenterInquiries", inquiry_id)
    sandbox.inject(Fault.ACCEPTED_THEN_SERVER_ERROR, status=502)
    listed(sandbox, clock, list_target("callCenterInquiries"))  # lists never use it up
    lost = post(sandbox, clock, target, call_body(inquiry_id, parent))
    retry = post(sandbox, clock, target, call_body(inquiry_id, parent))
    assert (lost.status_code, lost.json()["code"]) == (502, 502)
    assert message(retry) == (400, CANNOT_ANSWER)
    assert (sandbox.is_answered(inquiry_id), sandbox.accepted_answers(inquiry_id), sandbox.pending_faults) == (
        True,
        1,
        0,
    )


def test_accepted_then_timeout_waits_for_an_answer_that_is_accepted(sandbox: CoupangSandbox, clock: FakeClock) -> None:
    inquiry_id = sandbox.add_product_inquiry(content="문의", inquiry_at=kst(1, 8))
    other_id = sandbox.add_product_inquiry(content="문의", inquiry_at=kst(1, 8))
    sandbox.inject(Fault.ACCEPTED_THEN_TIMEOUT, endpoint=Endpoint.PRODUCT_REPLY)
    refused = post(sandbox, clock, reply_target("onlineInquiries", other_id), product_body(replyBy="nobody"))
    with pytest.raises(httpx.ReadTimeout):
        post(sandbox, clock, reply_target("onlineInquiries", inquiry_id), product_body())
    (row,) = listed(sandbox, clock, list_target(answeredType="ANSWERED"))
    assert refused.status_code == 400
    assert (row["inquiryId"], sandbox.requests[-2].status, sandbox.pending_faults) == (inquiry_id, None, 0)
    assert [(r.item_id, r.accepted) for r in sandbox.answers] == [(str(other_id), False), (str(inquiry_id), True)]
