"""The sender against a fake answering connector: each outcome, uncertain → poll → retry or confirmed, no double post;
and the answer service's rules (nothing approved over a blocking finding, warnings confirmed)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from aggregator.answering.outcomes import retry_delay_s, transition_for
from aggregator.answering.sender import NO_CONNECTOR, AnswerSender
from aggregator.answering.service import AnswerRefused, AnswerService, WarningsNotConfirmed
from aggregator.store import Store
from aggregator.store.answers import AnswerRecord, AnswerState
from core.answers import AnswerOutcome, AnswerResult, Finding
from core.models import Inquiry, MessageKind, PollResult, StreamKind
from core.payloads import AnswerNotSentPayload
from tests.conftest import make_inquiry
from tests.fakes import FakeAnsweringConnector, FakeClock

pytestmark = pytest.mark.both_backends

CHANNELS = ("sink",)
TEXT = "안녕하세요. 오늘 오후에 출고됩니다. 기다려 주셔서 감사합니다."


async def _poll(store: Store, clock: FakeClock, *inquiries: Inquiry, stream: StreamKind) -> None:
    await store.record_poll(
        "shop", stream, PollResult(inquiries=inquiries, cursor={}), now=clock.now(), channels=CHANNELS, notify_new=True
    )


async def _approved(store: Store, clock: FakeClock, stream: StreamKind = StreamKind.PRODUCT_QNA) -> AnswerRecord:
    await _poll(store, clock, make_inquiry("1", stream=stream), stream=stream)
    inquiry_id = (await store.open_inquiries())[0].id
    service = AnswerService(store, clock)
    draft = await service.draft(inquiry_id, TEXT)
    return await service.approve(draft.answer.id, "terminal:me")


def _sender(store: Store, clock: FakeClock, connector: FakeAnsweringConnector) -> AnswerSender:
    return AnswerSender(store, {"shop": connector}, clock, channels=CHANNELS)


async def _state(store: Store, answer: AnswerRecord) -> AnswerRecord:
    now = await store.get_answer(answer.id)
    assert now is not None
    return now


async def test_accepted_is_sent_with_the_approved_text(store: Store, clock: FakeClock) -> None:
    answer = await _approved(store, clock)
    connector = FakeAnsweringConnector()
    sender = _sender(store, clock, connector)
    outcomes: list[tuple[str, str]] = []
    sender.on_outcome.append(lambda marketplace, outcome: outcomes.append((marketplace, outcome)))
    assert await sender.run_once() == 1
    assert [(r.inquiry.external_id, r.text) for r in connector.requests] == [("1", TEXT)]
    assert (await _state(store, answer)).state is AnswerState.SENT
    assert outcomes == [("coupang", "accepted")]
    assert await sender.run_once() == 0  # sent once, never again


@pytest.mark.parametrize(
    "outcome", [AnswerOutcome.ALREADY_ANSWERED, AnswerOutcome.NOT_ANSWERABLE, AnswerOutcome.REFUSED]
)
async def test_an_answer_that_did_not_go_out_tells_the_seller(
    store: Store, clock: FakeClock, outcome: AnswerOutcome
) -> None:
    answer = await _approved(store, clock)
    sender = _sender(store, clock, FakeAnsweringConnector([AnswerResult(outcome, "마켓 메시지")]))
    dispatcher_wake = asyncio.Event()
    sender.on_queued.append(dispatcher_wake)
    await sender.run_once()
    assert (await _state(store, answer)).state.value == outcome.value
    assert dispatcher_wake.is_set()
    rows = await store.claim_due(now=clock.now(), lease=timedelta(minutes=2), limit=10)
    assert [r.payload for r in rows if r.kind is MessageKind.ANSWER_NOT_SENT] == [
        AnswerNotSentPayload(answer.id, outcome, "마켓 메시지")
    ]


async def test_retry_later_backs_off_with_the_marketplace_wait_as_a_floor(store: Store, clock: FakeClock) -> None:
    answer = await _approved(store, clock)
    connector = FakeAnsweringConnector([AnswerResult(AnswerOutcome.RETRY_LATER, "점검", retry_after_s=300)])
    sender = _sender(store, clock, connector)
    await sender.run_once()
    waiting = await _state(store, answer)
    assert (waiting.state, waiting.next_attempt_at) == (AnswerState.APPROVED, clock.now() + timedelta(seconds=300))
    clock.advance(299)
    assert await sender.run_once() == 0
    clock.advance(1)
    assert await sender.run_once() == 1
    assert (await _state(store, answer)).state is AnswerState.SENT
    assert len(connector.requests) == 2


def test_the_backoff_doubles_up_to_its_cap() -> None:
    assert [retry_delay_s(n, None) for n in (1, 2, 3, 7, 500)] == [30.0, 60.0, 120.0, 1800.0, 1800.0]
    assert retry_delay_s(1, 90.0) == 90.0


async def test_maybe_delivered_on_a_repeatable_stream_is_retried_later(store: Store, clock: FakeClock) -> None:
    answer = await _approved(store, clock)
    maybe = AnswerResult(AnswerOutcome.RETRY_LATER, "timeout", maybe_delivered=True)
    await _sender(store, clock, FakeAnsweringConnector([maybe])).run_once()
    waiting = await _state(store, answer)
    assert (waiting.state, waiting.maybe_delivered) == (AnswerState.APPROVED, True)


async def test_uncertain_on_a_once_only_stream_waits_for_polls_then_retries(store: Store, clock: FakeClock) -> None:
    answer = await _approved(store, clock, StreamKind.CALL_CENTER)
    maybe = AnswerResult(AnswerOutcome.RETRY_LATER, "timeout", maybe_delivered=True)
    connector = FakeAnsweringConnector([maybe])
    sender = _sender(store, clock, connector)
    outcomes: list[str] = []
    sender.on_outcome.append(lambda _, outcome: outcomes.append(outcome))
    await sender.run_once()
    assert (await _state(store, answer)).state is AnswerState.UNCERTAIN
    clock.advance(3600)
    assert await sender.run_once() == 0  # time alone never retries a once-only answer
    for _ in range(2):
        clock.advance(60)
        await _poll(store, clock, make_inquiry("1", stream=StreamKind.CALL_CENTER), stream=StreamKind.CALL_CENTER)
    assert await sender.run_once() == 1
    assert (await _state(store, answer)).state is AnswerState.SENT
    assert len(connector.requests) == 2
    assert outcomes == ["uncertain", "accepted"]


async def test_uncertain_then_a_poll_shows_it_answered_is_confirmed_and_not_sent_again(
    store: Store, clock: FakeClock
) -> None:
    answer = await _approved(store, clock, StreamKind.CALL_CENTER)
    connector = FakeAnsweringConnector([AnswerResult(AnswerOutcome.RETRY_LATER, maybe_delivered=True)])
    sender = _sender(store, clock, connector)
    await sender.run_once()
    clock.advance(60)
    answered = make_inquiry("1", stream=StreamKind.CALL_CENTER, answered=True)
    await _poll(store, clock, answered, stream=StreamKind.CALL_CENTER)
    assert (await _state(store, answer)).state is AnswerState.CONFIRMED
    clock.advance(3600)
    assert await sender.run_once() == 0
    assert len(connector.requests) == 1


async def test_a_connector_that_raises_counts_as_maybe_delivered(store: Store, clock: FakeClock) -> None:
    answer = await _approved(store, clock, StreamKind.CALL_CENTER)
    connector = FakeAnsweringConnector([RuntimeError("bug")])
    await _sender(store, clock, connector).run_once()
    assert (await _state(store, answer)).state is AnswerState.UNCERTAIN


async def test_an_account_without_an_answering_connector_is_not_answerable(store: Store, clock: FakeClock) -> None:
    answer = await _approved(store, clock)
    await AnswerSender(store, {}, clock, channels=CHANNELS).run_once()
    stored = await _state(store, answer)
    assert (stored.state, stored.message) == (AnswerState.NOT_ANSWERABLE, NO_CONNECTOR)


async def test_start_up_recovery_keeps_a_once_only_answer_from_going_twice(store: Store, clock: FakeClock) -> None:
    answer = await _approved(store, clock, StreamKind.CALL_CENTER)
    claimed = await store.claim_next_answer(now=clock.now(), lease=timedelta(minutes=2), channels=CHANNELS)
    assert claimed is not None  # ... and the daemon died with the request in flight
    connector = FakeAnsweringConnector()
    sender = _sender(store, clock, connector)
    if store.shared:  # PostgreSQL: the claim may be a live instance's until it runs out
        assert await sender.recover() == 0
        assert await sender.run_once() == 0
        assert (await _state(store, answer)).state is AnswerState.SENDING
        clock.advance(120)
    assert await sender.recover() == 1
    assert await sender.run_once() == 0
    assert (await _state(store, answer)).state is AnswerState.UNCERTAIN
    assert connector.requests == []


async def test_a_sender_recovers_an_answer_whose_claim_ran_out_and_the_late_outcome_writes_nothing(
    store: Store, clock: FakeClock
) -> None:
    # Another instance claimed the answer and went silent (kill -9, a partition): once the claim runs out any
    # sender settles it as maybe sent and sends it again (a stream that takes several answers); should the first
    # instance come back with an outcome after all, it is not written over the new attempt.
    answer = await _approved(store, clock, StreamKind.PRODUCT_QNA)
    lost = await store.claim_next_answer(now=clock.now(), lease=timedelta(minutes=2), channels=CHANNELS)
    assert lost is not None
    connector = FakeAnsweringConnector()
    sender = _sender(store, clock, connector)
    assert await sender.run_once() == 0  # within the claim: not touched
    clock.advance(120)
    assert await sender.run_once() == 1
    assert len(connector.requests) == 1
    again = await _state(store, answer)
    assert again.state is AnswerState.SENT
    late = transition_for(
        AnswerResult(AnswerOutcome.REFUSED, message="late"), once_only=False, attempts=1, now=clock.now()
    )
    assert await store.finish_answer(lost.answer, late, now=clock.now(), channels=CHANNELS) is None
    assert (await _state(store, answer)).state is AnswerState.SENT


# ---- the service -------------------------------------------------------------------------------------------------

BLOCK = Finding("phone_number", "block", "전화번호가 있습니다", ("010-1234-5678",))
WARN = Finding("blaming", "warn", "고객 탓으로 읽힐 수 있습니다", ("고객님 과실",))


async def _inquiry_id(store: Store, clock: FakeClock) -> int:
    await _poll(store, clock, make_inquiry("1"), stream=StreamKind.PRODUCT_QNA)
    return (await store.open_inquiries())[0].id


async def test_a_blocking_finding_is_never_approved(store: Store, clock: FakeClock) -> None:
    service = AnswerService(store, clock, check=lambda inquiry, text: [BLOCK])
    draft = await service.draft(await _inquiry_id(store, clock), "010-1234-5678로 전화 주세요")
    assert draft.blocked
    with pytest.raises(AnswerRefused) as refused:
        await service.approve(draft.answer.id, "terminal:me", confirm_warnings=True)
    assert refused.value.findings == (BLOCK,)
    assert (await _state(store, draft.answer)).state is AnswerState.DRAFT


async def test_warnings_need_an_explicit_confirmation(store: Store, clock: FakeClock) -> None:
    woken: list[bool] = []
    service = AnswerService(store, clock, check=lambda inquiry, text: [WARN], on_approved=lambda: woken.append(True))
    draft = await service.draft(await _inquiry_id(store, clock), "고객님 과실로 보입니다")
    with pytest.raises(WarningsNotConfirmed):
        await service.approve(draft.answer.id, "terminal:me")
    assert woken == []
    approved = await service.approve(draft.answer.id, "terminal:me", confirm_warnings=True)
    assert approved.state is AnswerState.APPROVED
    assert woken == [True]


async def test_the_service_refuses_what_cannot_be_answered(store: Store, clock: FakeClock) -> None:
    service = AnswerService(store, clock)
    inquiry_id = await _inquiry_id(store, clock)
    with pytest.raises(AnswerRefused, match="비어"):
        await service.draft(inquiry_id, "  \n ")
    with pytest.raises(AnswerRefused, match="없습니다"):
        await service.draft(999, TEXT)
    first = await service.draft(inquiry_id, TEXT)
    await service.approve(first.answer.id, "terminal:me")
    with pytest.raises(AnswerRefused, match="이미 답변 #"):
        await service.draft(inquiry_id, "두 번째 답변")
    await _poll(store, clock, make_inquiry("1", answered=True), stream=StreamKind.PRODUCT_QNA)
    with pytest.raises(AnswerRefused, match="이미 답변된 문의"):
        await service.draft(inquiry_id, TEXT)
    assert [a.state for a in await service.status(inquiry_id)] == [AnswerState.ALREADY_ANSWERED]


async def test_a_sender_posts_only_for_the_accounts_its_instance_polls(store: Store, clock: FakeClock) -> None:
    # Several instances: an account's requests come from the one that holds it (its rate budget, per seller).
    answer = await _approved(store, clock)
    connector = FakeAnsweringConnector()
    held: set[str] = {"elsewhere"}
    sender = AnswerSender(store, {"shop": connector}, clock, channels=CHANNELS, accounts=lambda: held)
    assert await store.next_answer_due(held) is None
    assert await sender.run_once() == 0
    assert connector.requests == []
    assert (await _state(store, answer)).state is AnswerState.APPROVED
    held.add("shop")  # the lease keeper claimed it
    assert await store.next_answer_due(held) == answer.next_attempt_at
    assert await sender.run_once() == 1
    assert len(connector.requests) == 1
    assert await store.next_answer_due(set()) is None  # holding nothing: nothing is ever due here
