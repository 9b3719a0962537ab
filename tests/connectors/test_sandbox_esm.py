"""ESM sandbox: JWT verification (the must-show), window and body rules, both sites, casing, answers, faults.

The connector and the sandbox verify the JWT independently, each with PyJWT; time is a FakeClock.
"""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr

from connectors.base import AuthFailed, ConnectorError, RateLimited, Unavailable
from connectors.esm.connector import EsmConnector
from connectors.sandbox import EsmCasing, EsmEndpoint, EsmInquiryGenerator, EsmSandbox, Fault
from core.models import KST, StreamKind
from tests.fakes import FakeClock

SECRET = "esm-sandbox-secret-7Hq-0123456789abcdef"  # >= 32 bytes: PyJWT warns below
MASTER = "master01"
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=KST)
TODAY = NOW.date()
BOARD = "/item/v1/communications/customer/bulletin-board"
URGENT_LIST = "/assist/v1/Selling/GetEmergencyInformList"
NO_RIGHT = {"status": {"message": "The user does not have right access to the api", "status_code": 401}}
QNA, URGENT = StreamKind.PRODUCT_QNA, StreamKind.URGENT


def sandbox(**kwargs: Any) -> tuple[EsmSandbox, FakeClock]:
    clock = FakeClock(NOW)
    box = EsmSandbox(
        master_id=MASTER,
        secret_key=SECRET,
        gmarket_seller_id="gseller",
        auction_seller_id="aseller",
        now=clock.now,
        **kwargs,
    )
    return box, clock


def connector(box: EsmSandbox, clock: FakeClock, secret: str = SECRET, **kwargs: Any) -> EsmConnector:
    client = httpx.AsyncClient(base_url="https://sa2.esmplus.com", transport=httpx.MockTransport(box.handler))
    args: dict[str, Any] = {"gmarket_seller_id": "gseller", "auction_seller_id": "aseller", **kwargs}
    return EsmConnector(
        account_id="esm-shop", master_id=MASTER, secret_key=SecretStr(secret), client=client, clock=clock, **args
    )


def seed(box: EsmSandbox) -> dict[str, int]:
    return {
        "g": box.add_question(
            site="G마켓", title="배송 문의", details="언제 와요?", received_at=NOW - timedelta(hours=3), order_no="41"
        ),
        "a1": box.add_question(site="옥션", title="사이즈", details="정사이즈?", received_at=NOW - timedelta(days=1)),
        "a2": box.add_question(
            site="옥션", title="쪽지", details="비밀글", received_at=NOW - timedelta(days=2), qna_type=2
        ),
        "u": box.add_urgent(
            site="G마켓", title="CS 긴급", contents="미발송 확인", received_at=NOW - timedelta(hours=1)
        ),
    }


def token(secret: str = SECRET, headers: dict[str, str] | None = None, **claims: Any) -> str:
    payload = {"iss": "inqd", "sub": "sell", "aud": "sa.esmplus.com", "ssi": "A:aseller,G:gseller", **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm="HS256", headers={"kid": MASTER} if headers is None else headers)


def post(box: EsmSandbox, path: str, body: dict[str, Any], bearer: str | None = None) -> httpx.Response:
    auth = {"Authorization": f"Bearer {bearer or token()}"}
    return box.handler(httpx.Request("POST", f"https://sa2.esmplus.com{path}", json=body, headers=auth))


def window(start_days_ago: int, end_days_ahead: int, **extra: Any) -> dict[str, Any]:
    return {
        "qnaType": 3,
        "status": 1,
        "type": 1,
        "startDate": (TODAY - timedelta(days=start_days_ago)).isoformat(),
        "endDate": (TODAY + timedelta(days=end_days_ahead)).isoformat(),
        **extra,
    }


# -- the must-show ------------------------------------------------------------------------------------------


async def test_connector_jwt_is_accepted_by_the_sandbox() -> None:
    box, clock = sandbox()
    seed(box)
    result = await connector(box, clock).poll(QNA, None, now=NOW)
    assert {r.status for r in box.requests} == {200}
    assert box.auth_failures == 0
    assert len(result.inquiries) == 3


async def test_jwt_signed_with_a_wrong_secret_is_rejected() -> None:
    box, clock = sandbox()
    seed(box)
    with pytest.raises(AuthFailed) as caught:
        await connector(box, clock, secret="not-the-secret").poll(QNA, None, now=NOW)
    assert "does not have right access" in str(caught.value)
    assert "not-the-secret" not in str(caught.value)
    assert [r.status for r in box.requests] == [401]
    assert box.auth_failures == 1


@pytest.mark.parametrize(
    "bearer",
    [
        token(secret="wrong-secret-wrong-secret-wrong-secret"),
        token(headers={}),  # no kid
        token(headers={"kid": "someone-else"}),
        token(aud="sa.gmarket.co.kr"),
        token(sub="customer"),
        token(ssi="G:stranger"),
        token(ssi="A:aseller,G:gseller,X:1"),
        token(ssi=None),
        token(iss=None),
        token(exp=int((NOW - timedelta(seconds=1)).timestamp())),
        "not-a-jwt",
    ],
)
def test_sandbox_refuses_bad_tokens_with_the_documented_401(bearer: str) -> None:
    box, _ = sandbox()
    response = post(box, BOARD, window(3, 1), bearer)
    assert (response.status_code, response.json()) == (401, NO_RIGHT)


@pytest.mark.parametrize(
    "bearer",
    [
        token(),
        token(ssi="G:gseller"),
        token(ssi="A:aseller"),
        token(iat=int(NOW.timestamp()), exp=int((NOW + timedelta(minutes=5)).timestamp())),
    ],
)
def test_sandbox_accepts_documented_tokens(bearer: str) -> None:
    box, _ = sandbox()
    assert post(box, BOARD, window(3, 1), bearer).status_code == 200


def test_ssi_limits_what_is_listed() -> None:
    box, _ = sandbox(qna_type_3_is_all=True)
    seed(box)
    rows = post(box, BOARD, window(3, 1), token(ssi="G:gseller")).json()
    assert {r["SellerId"] for r in rows} == {"gseller"}


# -- body and window rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        ({k: v for k, v in window(3, 1).items() if k != "type"}, 500, "Error getting value from 'Type'"),
        (window(3, 1, type=2), 200, "type"),
        (window(3, 1, qnaType=4), 200, "qnaType"),
        (window(3, 1, status=9), 200, "status"),
        (window(7, 1), 200, "최대 7일"),  # 8 dates: too long
        (window(0, -1), 200, "최대 7일"),  # end before start
        (window(3, 1, startDate="2025/01/12"), 200, "startDate"),
    ],
)
def test_sandbox_rejects_bad_bodies(body: dict[str, Any], status: int, expected: str) -> None:
    box, _ = sandbox()
    response = post(box, BOARD, body)
    assert response.status_code == status
    assert expected in response.text


def test_seven_dates_with_end_plus_one_is_the_widest_window() -> None:
    box, _ = sandbox()
    box.add_question(site="G마켓", title="t", details="today", received_at=NOW - timedelta(minutes=1))
    box.add_question(site="G마켓", title="t", details="old", received_at=NOW - timedelta(days=6, hours=12))
    rows = post(box, BOARD, window(6, 1)).json()
    without_plus_one = post(box, BOARD, window(6, 0)).json()
    assert [r["Details"] for r in rows] == ["today", "old"]
    assert [r["Details"] for r in without_plus_one] == ["old"]


# -- both sites, casing, shapes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"casing": EsmCasing.CAMEL},
        {"wrapped": True},
        {"casing": EsmCasing.CAMEL, "wrapped": True, "qna_type_3_is_all": True},
        {"qna_type_3_is_all": True},
    ],
)
async def test_both_sites_are_labelled_whatever_the_casing_and_shape(options: dict[str, Any]) -> None:
    box, clock = sandbox(**options)
    keys = seed(box)
    result = await connector(box, clock).poll(QNA, None, now=NOW)
    got = {i.external_id: i for i in result.inquiries}
    items = {name: box.item(key) for name, key in keys.items()}
    assert sorted(got) == sorted(
        [f"G:{items['g'].message_no}", f"A:{items['a1'].message_no}", f"A:{items['a2'].message_no}"]
    )
    assert [(got[f"G:{items['g'].message_no}"].site, got[f"A:{items['a1'].message_no}"].site)] == [("G마켓", "옥션")]
    assert {i.answer_ref for i in result.inquiries} == {items[n].token for n in ("g", "a1", "a2")}
    assert result.skipped == 0
    assert result.open_snapshot is not None
    assert result.open_snapshot.open_external_ids == frozenset(got)


async def test_answer_with_the_kept_token_closes_the_inquiry() -> None:
    box, clock = sandbox()
    keys = seed(box)
    esm = connector(box, clock)
    first = await esm.poll(QNA, None, now=NOW)
    target = next(i for i in first.inquiries if i.site == "G마켓")
    number = target.external_id.removeprefix("G:")
    answer = {
        "messageNo": number,
        "token": target.answer_ref,
        "answerStatus": 2,
        "title": "답변",
        "comments": "내일 발송",
    }
    wrong = post(box, f"{BOARD}/qna", {**answer, "token": "forged"})
    accepted = post(box, f"{BOARD}/qna", answer)
    second = await esm.poll(QNA, first.cursor, now=NOW + timedelta(minutes=5))
    assert (wrong.json()["resultCode"], accepted.json()) == (1000, {"messageNo": number})
    assert box.is_answered(keys["g"])
    assert second.open_snapshot is not None
    assert target.external_id not in second.open_snapshot.open_external_ids
    # The quick poll lists the unanswered only: its snapshot closes the inquiry; the hourly sweep re-reads it.
    assert target.external_id not in {i.external_id for i in second.inquiries}
    swept = await esm.poll(QNA, second.cursor, now=NOW + timedelta(hours=1))
    assert [i.answered for i in swept.inquiries if i.external_id == target.external_id] == [True]


async def test_urgent_list_and_answer() -> None:
    box, clock = sandbox()
    keys = seed(box)
    result = await connector(box, clock).poll(URGENT, None, now=NOW)
    item = box.item(keys["u"])
    (urgent,) = result.inquiries
    assert (urgent.external_id, urgent.site, urgent.answer_ref) == (str(item.message_no), "G마켓", item.token)
    bad = post(box, "/assist/v1/Selling/AddEmergencyInformReply", {"emerMessageNo": "1", "answerStatus": 2})
    reply = {"emerMessageNo": urgent.external_id, "comments": "확인", "answerStatus": 2, "token": urgent.answer_ref}
    ok = post(box, "/assist/v1/Selling/AddEmergencyInformReply", reply)
    again = post(box, "/assist/v1/Selling/AddEmergencyInformReply", reply)
    assert [bad.json()["ResultCode"], ok.json()["ResultCode"], again.json()["ResultCode"]] == [2141, 0, 100]
    assert box.is_answered(keys["u"])


# -- faults -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.RATE_LIMIT, RateLimited),
        (Fault.SERVER_ERROR, Unavailable),
        (Fault.TIMEOUT, Unavailable),
        (Fault.MALFORMED_BODY, Unavailable),
        (Fault.HTML_FORBIDDEN, AuthFailed),
    ],
)
async def test_faults_map_to_connector_errors(fault: Fault, error: type[ConnectorError]) -> None:
    box, clock = sandbox()
    seed(box)
    box.inject(fault, endpoint=EsmEndpoint.BULLETIN_BOARD)
    with pytest.raises(error):
        await connector(box, clock).poll(QNA, None, now=NOW)
    assert box.pending_faults == 0


async def test_malformed_item_fault_is_skipped_and_counted() -> None:
    box, clock = sandbox()
    seed(box)
    box.inject(Fault.MALFORMED_ITEM, endpoint=EsmEndpoint.BULLETIN_BOARD)
    result = await connector(box, clock, auction_seller_id=None).poll(QNA, None, now=NOW)
    assert (result.skipped, len(result.inquiries)) == (1, 0)


def test_generator_is_deterministic_and_answers_some() -> None:
    runs = []
    for _ in range(2):
        box, _ = sandbox()
        generator = EsmInquiryGenerator(box, rng=random.Random(7), arrivals_per_h=30.0, mean_answer_delay_s=600.0)
        seeded = generator.seed(20, start=NOW - timedelta(days=2), end=NOW)
        generator.tick(NOW)
        report = generator.tick(NOW + timedelta(hours=2))
        runs.append((seeded, report, json.dumps([box.item(k).site for k in seeded], ensure_ascii=False)))
    assert runs[0] == runs[1]
    assert len(runs[0][0]) == 20
    assert runs[0][1].added
