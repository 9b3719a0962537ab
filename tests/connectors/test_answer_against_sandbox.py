"""Each of the eight answer calls against its sandbox: the real connector, the real sandbox, nothing in between.

The connector polls its sandbox (httpx.MockTransport on the sandbox handler), answers an open inquiry from the
PollResult, and polls again: the sandbox must have recorded exactly that answer once, and the next poll must show
it answered. Then the documented refusals and outages, each mapped to its outcome (marketplaces.md §8).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from connectors.base import AnsweringConnector
from connectors.coupang.connector import NO_ANSWER_REQUESTED, CoupangConnector
from connectors.elevenst.answers import NOTICE_CONFIRMED
from connectors.elevenst.connector import ElevenstConnector
from connectors.esm.connector import EsmConnector
from connectors.naver.connector import NaverConnector
from connectors.sandbox import (
    CallCenterStatus,
    CoupangSandbox,
    ElevenstEndpoint,
    ElevenstSandbox,
    Endpoint,
    EsmEndpoint,
    EsmSandbox,
    Fault,
    NaverEndpoint,
    NaverSandbox,
)
from connectors.sandbox.handling import SandboxHandler
from core.answers import AnswerOutcome, AnswerRequest, AnswerResult
from core.http import make_client
from core.models import Inquiry, StreamKind
from tests.conftest import START
from tests.fakes import FakeClock

TEXT = "안녕하세요, 고객님.\n내일 오전에 출고됩니다.\n감사합니다."
OTHER_TEXT = "안녕하세요, 고객님. 출고가 하루 늦어져 죄송합니다."
ASKED_AT = START - timedelta(hours=1)
WING_ID = "sandbox-wing"  # the Coupang sandbox's default WING login
GMARKET, AUCTION = "G마켓", "옥션"

Sandbox = Any  # one of the four sandboxes: each has its own seeding API


@dataclass
class Shop:
    """One account on its sandbox: the sandbox, the connector polling it, and the fake clock both run on."""

    sandbox: Sandbox
    connector: AnsweringConnector
    clock: FakeClock

    async def poll(self, stream: StreamKind) -> dict[str, Inquiry]:
        """Every inquiry a first-run poll of `stream` returns, by external id."""
        self.clock.advance(60)
        result = await self.connector.poll(stream, None, now=self.clock.now())
        return {inquiry.external_id: inquiry for inquiry in result.inquiries}

    async def answer(self, inquiry: Inquiry, text: str = TEXT, *, final: bool = True) -> AnswerResult:
        """The connector's answer to `inquiry`."""
        self.clock.advance(5)
        return await self.connector.answer(AnswerRequest(inquiry, text, final=final))


ShopMaker = Callable[..., Shop]


def coupang(clock: FakeClock, *, reply_by: str | None = WING_ID) -> Shop:
    """A Coupang vendor answering as `reply_by` on a sandbox whose WING login is `sandbox-wing`."""
    box = CoupangSandbox(vendor_id="A00012345", access_key="ak-sbx", secret_key="sk-sbx", now=clock.now)
    client = make_client(base_url="https://api-gateway.coupang.com", transport=httpx.MockTransport(box.handler))
    connector = CoupangConnector(
        account_id="cp",
        vendor_id="A00012345",
        access_key=SecretStr("ak-sbx"),
        secret_key=SecretStr("sk-sbx"),
        client=client,
        clock=clock,
        reply_by=reply_by,
    )
    return Shop(box, connector, clock)


def naver(clock: FakeClock) -> Shop:
    """A Naver application (type=SELF) on its sandbox."""
    secret = "$2a$04$Q8SP.i/ETmug3tqiWEJXiO"  # cost 4 keeps the bcrypt sign fast
    box = NaverSandbox(client_id="sbx-naver-app", client_secret=secret, now=clock.now)
    client = make_client(base_url="https://api.commerce.naver.com/external", transport=httpx.MockTransport(box.handler))
    connector = NaverConnector(
        account_id="nv", client_id="sbx-naver-app", client_secret=SecretStr(secret), client=client, clock=clock
    )
    return Shop(box, connector, clock)


def elevenst(clock: FakeClock) -> Shop:
    """An 11st seller API key on its sandbox."""
    box = ElevenstSandbox(api_key="sbx-11st-key", now=clock.now)
    client = make_client(base_url="https://api.11st.co.kr", transport=httpx.MockTransport(box.handler))
    connector = ElevenstConnector(account_id="11", api_key=SecretStr("sbx-11st-key"), client=client, clock=clock)
    return Shop(box, connector, clock)


def esm(clock: FakeClock) -> Shop:
    """An ESM+ master account with a G마켓 and an 옥션 seller on its sandbox."""
    secret = "esm-sandbox-secret-7Hq-0123456789abcdef"
    sellers = {"gmarket_seller_id": "gseller", "auction_seller_id": "aseller"}
    box = EsmSandbox(master_id="master01", secret_key=secret, now=clock.now, **sellers)
    client = make_client(base_url="https://sa2.esmplus.com", transport=httpx.MockTransport(box.handler))
    connector = EsmConnector(
        account_id="esm", master_id="master01", secret_key=SecretStr(secret), client=client, clock=clock, **sellers
    )
    return Shop(box, connector, clock)


# ---- the eight streams: how to seed an open inquiry, and what the sandbox and the connector call it ------------


@dataclass(frozen=True)
class Seeded:
    """An open inquiry seeded on a sandbox: the connector's external id and the sandbox's answer-record id."""

    external_id: str
    item_id: str


def seed_coupang_product(box: CoupangSandbox) -> Seeded:
    inquiry_id = box.add_product_inquiry(content="블랙 색상 재입고 언제 되나요?", inquiry_at=ASKED_AT)
    return Seeded(str(inquiry_id), str(inquiry_id))


def seed_coupang_call(box: CoupangSandbox) -> Seeded:
    inquiry_id = box.add_call_center_inquiry(
        inquiry_at=ASKED_AT, agent_note="[판매자이관] 배송 일정 안내 부탁드립니다.", item_name="접이식 의자"
    )
    return Seeded(str(inquiry_id), str(inquiry_id))


def seed_naver_question(box: NaverSandbox) -> Seeded:
    question_id = box.add_product_question(question="방수 되나요?", created_at=ASKED_AT)
    return Seeded(str(question_id), str(question_id))


def seed_naver_inquiry(box: NaverSandbox) -> Seeded:
    inquiry_no = box.add_customer_inquiry(title="배송 문의", content="언제 출고되나요?", registered_at=ASKED_AT)
    return Seeded(str(inquiry_no), str(inquiry_no))


def seed_elevenst_qna(box: ElevenstSandbox) -> Seeded:
    brd_info_no = box.add_product_qna(content="사이즈가 정사이즈인가요?", created_at=ASKED_AT)
    return Seeded(str(brd_info_no), str(brd_info_no))


def seed_elevenst_alimi(box: ElevenstSandbox, *, type_code: str = "01") -> Seeded:
    seq = box.add_alimi(
        content="고객이 배송 지연으로 문의했습니다. 회신 바랍니다.",
        created_at=ASKED_AT,
        reply_deadline=START + timedelta(hours=23),
        type_code=type_code,
    )
    return Seeded(str(seq), str(seq))


def seed_esm_board(box: EsmSandbox, site: str = GMARKET) -> Seeded:
    key = box.add_question(site=site, title="배송 문의", details="언제 와요?", received_at=ASKED_AT)
    number = box.item(key).message_no
    return Seeded(f"{'G' if site == GMARKET else 'A'}:{number}", str(number))


def seed_esm_urgent(box: EsmSandbox, site: str = GMARKET) -> Seeded:
    key = box.add_urgent(site=site, title="CS 긴급", contents="미발송 건 확인 바랍니다.", received_at=ASKED_AT)
    number = box.item(key).message_no
    return Seeded(str(number), str(number))


@dataclass(frozen=True)
class Stream:
    """One of the eight answerable streams."""

    name: str
    make: ShopMaker
    stream: StreamKind
    seed: Callable[[Any], Seeded]
    endpoint: StrEnum  # the sandbox's answer endpoint, for faults aimed at the answer only

    def __str__(self) -> str:
        return self.name


QNA, CALL, INQUIRY, URGENT = (
    StreamKind.PRODUCT_QNA,
    StreamKind.CALL_CENTER,
    StreamKind.CUSTOMER_INQUIRY,
    StreamKind.URGENT,
)
COUPANG_QNA = Stream("coupang-상품문의", coupang, QNA, seed_coupang_product, Endpoint.PRODUCT_REPLY)
COUPANG_CALL = Stream("coupang-고객센터", coupang, CALL, seed_coupang_call, Endpoint.CALL_CENTER_REPLY)
NAVER_QNA = Stream("naver-상품문의", naver, QNA, seed_naver_question, NaverEndpoint.PRODUCT_QNA_ANSWER)
NAVER_INQUIRY = Stream("naver-고객문의", naver, INQUIRY, seed_naver_inquiry, NaverEndpoint.CUSTOMER_INQUIRY_ANSWER)
ELEVENST_QNA = Stream("11st-상품Q&A", elevenst, QNA, seed_elevenst_qna, ElevenstEndpoint.QNA_ANSWER)
ELEVENST_ALIMI = Stream("11st-긴급알리미", elevenst, URGENT, seed_elevenst_alimi, ElevenstEndpoint.ALIMI_ANSWER)
ESM_BOARD = Stream("esm-게시판", esm, QNA, seed_esm_board, EsmEndpoint.BULLETIN_BOARD_ANSWER)
ESM_URGENT = Stream("esm-긴급알리미", esm, URGENT, seed_esm_urgent, EsmEndpoint.EMERGENCY_ANSWER)
EIGHT = [COUPANG_QNA, COUPANG_CALL, NAVER_QNA, NAVER_INQUIRY, ELEVENST_QNA, ELEVENST_ALIMI, ESM_BOARD, ESM_URGENT]
# Streams whose endpoint takes one answer: a second is refused with the marketplace's documented error.
SECOND_ANSWER_REFUSED = {
    # "답변을 중복해서 보내면 에러": Coupang's one "can't be answer" refusal, read as closed (the connector's note).
    COUPANG_CALL.name: AnswerOutcome.NOT_ANSWERABLE,
    COUPANG_QNA.name: AnswerOutcome.ALREADY_ANSWERED,  # "하나의 고객문의(inquiryId)에 답변할 수 있습니다"
    NAVER_INQUIRY.name: AnswerOutcome.ALREADY_ANSWERED,  # ERR-NC-101010
    ELEVENST_ALIMI.name: AnswerOutcome.ALREADY_ANSWERED,  # -10005
    ESM_URGENT.name: AnswerOutcome.ALREADY_ANSWERED,  # error 100
}
# Streams whose endpoint takes a later answer as an edit (Naver Q&A: create or update) or, UNCONFIRMED upstream,
# accepts it (11st Q&A "probably editable", ESM 게시판 after 처리완료): the sandbox chose to accept.
SECOND_ANSWER_TAKEN = [NAVER_QNA, ELEVENST_QNA, ESM_BOARD]


@pytest.fixture
async def open_shop(clock: FakeClock) -> AsyncIterator[Callable[..., Shop]]:
    """Makes shops and closes their connectors at the end."""
    made: list[Shop] = []

    def make(maker: ShopMaker, **kwargs: Any) -> Shop:
        made.append(maker(clock, **kwargs))
        return made[-1]

    yield make
    for shop in made:
        await shop.connector.aclose()


async def open_inquiry(shop: Shop, case: Stream) -> tuple[Inquiry, Seeded]:
    """Seed an open inquiry of `case`, poll it and return it as the connector read it."""
    seeded = case.seed(shop.sandbox)
    inquiry = (await shop.poll(case.stream))[seeded.external_id]
    assert not inquiry.answered
    return inquiry, seeded


def accepted_texts(sandbox: SandboxHandler[Any], item_id: str) -> list[str | None]:
    """The texts the sandbox accepted and stored for `item_id`, in order."""
    return [record.text for record in sandbox.answers if record.accepted and record.item_id == item_id]


# ---- every stream: answered once, recorded once, confirmed by the next poll ---------------------------------------


@pytest.mark.parametrize("case", EIGHT, ids=str)
async def test_answer_is_accepted_recorded_once_and_confirmed_by_the_next_poll(
    open_shop: Callable[..., Shop], case: Stream
) -> None:
    shop = open_shop(case.make)
    inquiry, seeded = await open_inquiry(shop, case)

    result = await shop.answer(inquiry)

    assert result.outcome is AnswerOutcome.ACCEPTED, result
    assert shop.sandbox.accepted_answers(seeded.item_id) == 1
    assert accepted_texts(shop.sandbox, seeded.item_id) == [TEXT]
    assert [r.endpoint for r in shop.sandbox.answers] == [case.endpoint]
    assert (await shop.poll(case.stream))[seeded.external_id].answered


@pytest.mark.parametrize("case", [c for c in EIGHT if c.name in SECOND_ANSWER_REFUSED], ids=str)
async def test_second_answer_on_a_once_only_stream_is_refused_as_documented(
    open_shop: Callable[..., Shop], case: Stream
) -> None:
    shop = open_shop(case.make)
    inquiry, seeded = await open_inquiry(shop, case)
    assert case.stream in type(shop.connector).ONCE_ONLY
    assert (await shop.answer(inquiry)).outcome is AnswerOutcome.ACCEPTED

    second = await shop.answer(inquiry, OTHER_TEXT)  # the inquiry as first read: it looked open

    assert second.outcome is SECOND_ANSWER_REFUSED[case.name], second
    assert second.message  # the marketplace's own words
    assert accepted_texts(shop.sandbox, seeded.item_id) == [TEXT]
    assert shop.sandbox.answers[-1].accepted is False


async def test_coupang_product_answer_repeated_word_for_word_is_already_answered(
    open_shop: Callable[..., Shop],
) -> None:
    shop = open_shop(coupang)
    inquiry, seeded = await open_inquiry(shop, COUPANG_QNA)
    await shop.answer(inquiry)

    second = await shop.answer(inquiry)

    assert (second.outcome, second.message) == (AnswerOutcome.ALREADY_ANSWERED, "동일한 답변이 존재합니다.")
    assert accepted_texts(shop.sandbox, seeded.item_id) == [TEXT]


@pytest.mark.parametrize("case", SECOND_ANSWER_TAKEN, ids=str)
async def test_second_answer_where_the_api_takes_one_replaces_the_first(
    open_shop: Callable[..., Shop], case: Stream
) -> None:
    shop = open_shop(case.make)
    inquiry, seeded = await open_inquiry(shop, case)
    await shop.answer(inquiry)

    second = await shop.answer(inquiry, OTHER_TEXT)

    assert second.outcome is AnswerOutcome.ACCEPTED, second
    assert accepted_texts(shop.sandbox, seeded.item_id) == [TEXT, OTHER_TEXT]
    assert (await shop.poll(case.stream))[seeded.external_id].answered


async def test_naver_answered_inquiry_is_edited_with_its_answer_content_id(open_shop: Callable[..., Shop]) -> None:
    shop = open_shop(naver)
    inquiry, seeded = await open_inquiry(shop, NAVER_INQUIRY)
    await shop.answer(inquiry)
    answered = (await shop.poll(INQUIRY))[seeded.external_id]
    assert answered.answered and answered.answer_ref

    edit = await shop.answer(answered, OTHER_TEXT)

    assert edit.outcome is AnswerOutcome.ACCEPTED, edit
    assert [r.endpoint for r in shop.sandbox.answers] == [
        NaverEndpoint.CUSTOMER_INQUIRY_ANSWER,
        NaverEndpoint.CUSTOMER_INQUIRY_ANSWER_EDIT,
    ]
    stored = shop.sandbox.customer_inquiry(int(seeded.item_id))
    assert [a.content for a in stored.answers] == [OTHER_TEXT]


# ---- outages: an unknown outcome after the answer was stored, and a throttle before ------------------------------


@pytest.mark.parametrize("fault", [Fault.ACCEPTED_THEN_SERVER_ERROR, Fault.ACCEPTED_THEN_TIMEOUT])
@pytest.mark.parametrize("case", EIGHT, ids=str)
async def test_answer_stored_then_lost_is_retry_later_maybe_delivered(
    open_shop: Callable[..., Shop], case: Stream, fault: Fault
) -> None:
    shop = open_shop(case.make)
    inquiry, seeded = await open_inquiry(shop, case)
    shop.sandbox.inject(fault, endpoint=case.endpoint)

    result = await shop.answer(inquiry)

    assert (result.outcome, result.maybe_delivered) == (AnswerOutcome.RETRY_LATER, True), result
    assert shop.sandbox.pending_faults == 0
    assert accepted_texts(shop.sandbox, seeded.item_id) == [TEXT]
    # What the lifecycle does next on a once-only stream: re-read the inquiry, which shows the answer landed.
    assert (await shop.poll(case.stream))[seeded.external_id].answered


@pytest.mark.parametrize("case", EIGHT, ids=str)
async def test_throttled_answer_is_retry_later_never_delivered(open_shop: Callable[..., Shop], case: Stream) -> None:
    shop = open_shop(case.make)
    inquiry, seeded = await open_inquiry(shop, case)
    shop.sandbox.inject(Fault.RATE_LIMIT, endpoint=case.endpoint, retry_after_s=30)

    result = await shop.answer(inquiry)

    assert (result.outcome, result.maybe_delivered) == (AnswerOutcome.RETRY_LATER, False), result
    assert result.retry_after_s == 30
    assert shop.sandbox.answers == []
    assert not (await shop.poll(case.stream))[seeded.external_id].answered


# ---- Coupang: reply_by and the call-center rules -----------------------------------------------------------------


@pytest.mark.parametrize("case", [COUPANG_QNA, COUPANG_CALL], ids=str)
async def test_coupang_wrong_reply_by_is_refused_in_coupangs_words(
    open_shop: Callable[..., Shop], case: Stream
) -> None:
    shop = open_shop(coupang, reply_by="not-the-wing-id")
    inquiry, seeded = await open_inquiry(shop, case)

    result = await shop.answer(inquiry)

    assert result.outcome is AnswerOutcome.REFUSED
    assert "The value of replyBy [not-the-wing-id] is incorrect." in result.message
    assert shop.sandbox.accepted_answers(seeded.item_id) == 0
    assert not (await shop.poll(case.stream))[seeded.external_id].answered


async def test_coupang_transfer_row_takes_no_answer_and_nothing_is_sent(open_shop: Callable[..., Shop]) -> None:
    shop = open_shop(coupang)
    inquiry_id = shop.sandbox.add_call_center_inquiry(
        inquiry_at=ASKED_AT,
        agent_note="[이관] 처리 완료 건 확인 바랍니다.",
        item_name="의자",
        status=CallCenterStatus.TRANSFER,
    )
    inquiry = (await shop.poll(CALL))[str(inquiry_id)]
    assert inquiry.answer_ref is None
    requests_before = len(shop.sandbox.requests)

    result = await shop.answer(inquiry)

    assert (result.outcome, result.message) == (AnswerOutcome.NOT_ANSWERABLE, NO_ANSWER_REQUESTED)
    assert len(shop.sandbox.requests) == requests_before
    assert shop.sandbox.answers == []


async def test_coupang_call_answered_in_wing_meanwhile_is_not_answerable(open_shop: Callable[..., Shop]) -> None:
    shop = open_shop(coupang)
    inquiry, seeded = await open_inquiry(shop, COUPANG_CALL)
    shop.sandbox.answer_call_center_inquiry(int(seeded.item_id), "WING에서 답변했습니다.", shop.clock.now())

    result = await shop.answer(inquiry)

    assert result.outcome is AnswerOutcome.NOT_ANSWERABLE
    assert "can't be answer" in result.message
    assert shop.sandbox.accepted_answers(seeded.item_id) == 0


# ---- 11st notices and ESM 처리중 ---------------------------------------------------------------------------------


async def test_elevenst_notice_alimi_is_confirmed_not_answered(open_shop: Callable[..., Shop]) -> None:
    shop = open_shop(elevenst)
    seeded = seed_elevenst_alimi(shop.sandbox, type_code="02")
    inquiry = (await shop.poll(URGENT))[seeded.external_id]

    result = await shop.answer(inquiry)

    assert (result.outcome, result.message) == (AnswerOutcome.ACCEPTED, NOTICE_CONFIRMED)
    assert (await shop.poll(URGENT))[seeded.external_id].answered


@pytest.mark.parametrize(
    ("case", "site"), [(ESM_BOARD, GMARKET), (ESM_BOARD, AUCTION), (ESM_URGENT, GMARKET), (ESM_URGENT, AUCTION)]
)
async def test_esm_in_progress_answer_keeps_the_inquiry_open_until_the_final_one(
    open_shop: Callable[..., Shop], case: Stream, site: str
) -> None:
    shop = open_shop(esm)
    seed = seed_esm_board if case is ESM_BOARD else seed_esm_urgent
    seeded = seed(shop.sandbox, site)
    inquiry = (await shop.poll(case.stream))[seeded.external_id]

    in_progress = await shop.answer(inquiry, "확인 중입니다. 오늘 중 다시 안내드리겠습니다.", final=False)
    still_open = (await shop.poll(case.stream))[seeded.external_id]
    final = await shop.answer(still_open)

    assert in_progress.outcome is AnswerOutcome.ACCEPTED, in_progress
    assert not still_open.answered
    assert final.outcome is AnswerOutcome.ACCEPTED, final
    assert shop.sandbox.accepted_answers(seeded.item_id) == 2
    assert (await shop.poll(case.stream))[seeded.external_id].answered
