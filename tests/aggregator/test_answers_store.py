"""The answer lifecycle in the store: every transition, one live answer per inquiry, the poll's word, start-up."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import psycopg
import pytest

from aggregator.store import Store
from aggregator.store.answer_sending import AnswerTransition, ClaimedAnswer
from aggregator.store.answers import AnswerConflict, AnswerRecord, AnswerState
from core.answers import AnswerOutcome
from core.models import Inquiry, MessageKind, OpenSnapshot, PollResult, StreamKind
from core.payloads import AnswerNotSentPayload
from tests.conftest import START, make_inquiry

pytestmark = pytest.mark.both_backends

# What each engine raises when a write breaks a unique index.
INTEGRITY_ERRORS = (sqlite3.IntegrityError, psycopg.errors.IntegrityError)

CHANNELS = ("sink",)
LEASE = timedelta(seconds=120)
ONCE = frozenset({("shop", StreamKind.CALL_CENTER)})


async def _poll(store: Store, *inquiries: Inquiry, stream: StreamKind = StreamKind.PRODUCT_QNA, at: int = 0) -> None:
    await store.record_poll(
        "shop",
        stream,
        PollResult(inquiries=inquiries, cursor={}),
        now=START + timedelta(seconds=at),
        channels=CHANNELS,
        notify_new=True,
    )


async def _inquiry(store: Store, external_id: str = "1", stream: StreamKind = StreamKind.PRODUCT_QNA) -> int:
    await _poll(store, make_inquiry(external_id, stream=stream), stream=stream)
    rows = [r for r in await store.open_inquiries() if r.inquiry.external_id == external_id]
    return rows[0].id


async def _approved(store: Store, inquiry_id: int, text: str = "내일 출고됩니다. 감사합니다.") -> AnswerRecord:
    draft = await store.save_draft(inquiry_id, text, now=START)
    return await store.approve_answer(draft.id, actor="terminal:me", now=START)


async def _claimed(store: Store, inquiry_id: int) -> ClaimedAnswer:
    await _approved(store, inquiry_id)
    claimed = await store.claim_next_answer(now=START, lease=LEASE, channels=CHANNELS)
    assert claimed is not None
    return claimed


async def _state(store: Store, answer_id: int) -> AnswerState:
    answer = await store.get_answer(answer_id)
    assert answer is not None
    return answer.state


async def _notices(store: Store) -> list[AnswerNotSentPayload]:
    rows = await store.claim_due(now=START + timedelta(hours=1), lease=LEASE, limit=50)
    return [
        row.payload
        for row in rows
        if row.kind is MessageKind.ANSWER_NOT_SENT and isinstance(row.payload, AnswerNotSentPayload)
    ]


async def test_draft_approve_send_confirm(store: Store) -> None:
    inquiry_id = await _inquiry(store)
    draft = await store.save_draft(inquiry_id, "안녕하세요. 내일 출고됩니다.", now=START)
    assert draft.state is AnswerState.DRAFT
    approved = await store.approve_answer(draft.id, actor="terminal:me", now=START)
    assert (approved.state, approved.approved_by, approved.next_attempt_at) == (
        AnswerState.APPROVED,
        "terminal:me",
        START,
    )
    claimed = await store.claim_next_answer(now=START, lease=LEASE, channels=CHANNELS)
    assert claimed is not None
    assert (claimed.answer.state, claimed.answer.attempts, claimed.inquiry.id) == (AnswerState.SENDING, 1, inquiry_id)
    sent = AnswerTransition(AnswerState.SENT, AnswerOutcome.ACCEPTED)
    assert await store.finish_answer(claimed.answer, sent, now=START, channels=CHANNELS) is AnswerState.SENT
    await _poll(store, make_inquiry("1", answered=True), at=60)
    confirmed = await store.get_answer(draft.id)
    assert confirmed is not None
    assert (confirmed.state, confirmed.sent_at) == (AnswerState.CONFIRMED, START)
    states = [e.detail["state"] for e in await store.events_for(inquiry_id) if e.kind == "answer"]
    assert states == ["draft", "approved", "sending", "sent", "confirmed"]


async def test_a_second_draft_rewrites_the_first(store: Store) -> None:
    inquiry_id = await _inquiry(store)
    first = await store.save_draft(inquiry_id, "첫 초안", now=START)
    second = await store.save_draft(inquiry_id, "고친 초안", now=START + timedelta(minutes=1))
    assert second.id == first.id
    assert [a.text for a in await store.answers_for(inquiry_id)] == ["고친 초안"]


async def test_one_live_answer_per_inquiry(store: Store) -> None:
    inquiry_id = await _inquiry(store)
    await _approved(store, inquiry_id)
    other = await store.save_draft(inquiry_id, "또 다른 답변", now=START)
    with pytest.raises(AnswerConflict) as refused:
        await store.approve_answer(other.id, actor="terminal:me", now=START)
    assert refused.value.reason == "another_live"
    # The index holds even against a writer that skipped the check.
    with pytest.raises(INTEGRITY_ERRORS):
        await store._conn.execute("UPDATE answers SET state = 'sent' WHERE id = ?", (other.id,))


async def test_nothing_is_claimed_without_approval(store: Store) -> None:
    inquiry_id = await _inquiry(store)
    await store.save_draft(inquiry_id, "초안일 뿐", now=START)
    assert await store.claim_next_answer(now=START + timedelta(days=1), lease=LEASE, channels=CHANNELS) is None
    assert await store.next_answer_due() is None


async def test_an_answered_inquiry_cannot_be_approved(store: Store) -> None:
    inquiry_id = await _inquiry(store)
    draft = await store.save_draft(inquiry_id, "늦은 답변", now=START)
    await _poll(store, make_inquiry("1", answered=True), at=60)
    with pytest.raises(AnswerConflict) as refused:
        await store.approve_answer(draft.id, actor="terminal:me", now=START)
    assert refused.value.reason == "inquiry_answered"


@pytest.mark.parametrize("state", [AnswerState.DRAFT, AnswerState.APPROVED])
async def test_cancel_before_sending(store: Store, state: AnswerState) -> None:
    inquiry_id = await _inquiry(store)
    answer = await store.save_draft(inquiry_id, "취소할 답변", now=START)
    if state is AnswerState.APPROVED:
        answer = await store.approve_answer(answer.id, actor="terminal:me", now=START)
    cancelled = await store.cancel_answer(answer.id, actor="terminal:me", now=START)
    assert cancelled.state is AnswerState.CANCELLED
    assert await store.claim_next_answer(now=START, lease=LEASE, channels=CHANNELS) is None


async def test_a_sent_answer_cannot_be_cancelled(store: Store) -> None:
    claimed = await _claimed(store, await _inquiry(store))
    sent = AnswerTransition(AnswerState.SENT, AnswerOutcome.ACCEPTED)
    await store.finish_answer(claimed.answer, sent, now=START, channels=CHANNELS)
    with pytest.raises(AnswerConflict) as refused:
        await store.cancel_answer(claimed.answer.id, actor="terminal:me", now=START)
    assert refused.value.reason == "not_cancellable"


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        (AnswerState.ALREADY_ANSWERED, AnswerOutcome.ALREADY_ANSWERED),
        (AnswerState.NOT_ANSWERABLE, AnswerOutcome.NOT_ANSWERABLE),
        (AnswerState.REFUSED, AnswerOutcome.REFUSED),
    ],
)
async def test_an_answer_that_does_not_go_out_tells_the_seller(
    store: Store, state: AnswerState, outcome: AnswerOutcome
) -> None:
    claimed = await _claimed(store, await _inquiry(store))
    transition = AnswerTransition(state, outcome, "마켓이 한 말")
    assert await store.finish_answer(claimed.answer, transition, now=START, channels=CHANNELS) is state
    assert await _notices(store) == [AnswerNotSentPayload(claimed.answer.id, outcome, "마켓이 한 말")]


async def test_retry_later_goes_back_to_approved_at_its_time(store: Store) -> None:
    claimed = await _claimed(store, await _inquiry(store))
    later = START + timedelta(seconds=30)
    retry = AnswerTransition(AnswerState.APPROVED, AnswerOutcome.RETRY_LATER, "점검 중", retry_at=later)
    await store.finish_answer(claimed.answer, retry, now=START, channels=CHANNELS)
    assert await store.next_answer_due() == later
    assert await store.claim_next_answer(now=START, lease=LEASE, channels=CHANNELS) is None
    again = await store.claim_next_answer(now=later, lease=LEASE, channels=CHANNELS)
    assert again is not None
    assert again.answer.attempts == 2


async def test_accepted_after_a_poll_saw_the_answer_is_confirmed_at_once(store: Store) -> None:
    claimed = await _claimed(store, await _inquiry(store))
    await _poll(store, make_inquiry("1", answered=True), at=1)  # the poll committed while the request was out
    sent = AnswerTransition(AnswerState.SENT, AnswerOutcome.ACCEPTED)
    assert await store.finish_answer(claimed.answer, sent, now=START, channels=CHANNELS) is AnswerState.CONFIRMED


async def _uncertain(store: Store) -> tuple[int, int]:
    inquiry_id = await _inquiry(store, stream=StreamKind.CALL_CENTER)
    claimed = await _claimed(store, inquiry_id)
    unknown = AnswerTransition(AnswerState.UNCERTAIN, AnswerOutcome.RETRY_LATER, maybe_delivered=True)
    await store.finish_answer(claimed.answer, unknown, now=START, channels=CHANNELS)
    return inquiry_id, claimed.answer.id


async def test_uncertain_is_retried_only_after_two_polls_saw_the_inquiry_open(store: Store) -> None:
    _, answer_id = await _uncertain(store)
    assert await store.claim_next_answer(now=START + timedelta(hours=1), lease=LEASE, channels=CHANNELS) is None
    open_again = make_inquiry("1", stream=StreamKind.CALL_CENTER)
    await _poll(store, open_again, stream=StreamKind.CALL_CENTER, at=10)  # may have read the list before the request
    assert await _state(store, answer_id) is AnswerState.UNCERTAIN
    await _poll(store, stream=StreamKind.CALL_CENTER, at=20)  # did not see it: counts nothing
    assert await _state(store, answer_id) is AnswerState.UNCERTAIN
    await _poll(store, open_again, stream=StreamKind.CALL_CENTER, at=30)
    assert await _state(store, answer_id) is AnswerState.APPROVED
    again = await store.claim_next_answer(now=START + timedelta(seconds=30), lease=LEASE, channels=CHANNELS)
    assert again is not None
    assert again.answer.id == answer_id


async def test_an_open_snapshot_counts_as_seen_open(store: Store) -> None:
    _, answer_id = await _uncertain(store)
    snapshot = OpenSnapshot(START - timedelta(days=1), START + timedelta(days=1), frozenset({"1"}))
    for at in (10, 20):
        await store.record_poll(
            "shop",
            StreamKind.CALL_CENTER,
            PollResult(inquiries=(), cursor={}, open_snapshot=snapshot),
            now=START + timedelta(seconds=at),
            channels=CHANNELS,
            notify_new=True,
        )
    assert await _state(store, answer_id) is AnswerState.APPROVED


async def test_uncertain_then_answered_is_confirmed(store: Store) -> None:
    _, answer_id = await _uncertain(store)
    await _poll(store, make_inquiry("1", stream=StreamKind.CALL_CENTER, answered=True), stream=StreamKind.CALL_CENTER)
    assert await _state(store, answer_id) is AnswerState.CONFIRMED


async def test_approved_but_answered_elsewhere_is_never_sent(store: Store) -> None:
    inquiry_id = await _inquiry(store)
    approved = await _approved(store, inquiry_id)
    await _poll(store, make_inquiry("1", answered=True), at=60)
    assert await _state(store, approved.id) is AnswerState.ALREADY_ANSWERED
    assert await store.claim_next_answer(now=START + timedelta(hours=1), lease=LEASE, channels=CHANNELS) is None
    assert await _notices(store) == [AnswerNotSentPayload(approved.id, AnswerOutcome.ALREADY_ANSWERED)]


async def test_approved_after_a_maybe_delivered_attempt_then_answered_is_confirmed(store: Store) -> None:
    claimed = await _claimed(store, await _inquiry(store))
    retry = AnswerTransition(
        AnswerState.APPROVED, AnswerOutcome.RETRY_LATER, retry_at=START + timedelta(minutes=5), maybe_delivered=True
    )
    await store.finish_answer(claimed.answer, retry, now=START, channels=CHANNELS)
    await _poll(store, make_inquiry("1", answered=True), at=60)
    assert await _state(store, claimed.answer.id) is AnswerState.CONFIRMED
    assert await _notices(store) == []


async def test_a_claim_settles_approved_answers_whose_inquiry_is_answered(store: Store) -> None:
    inquiry_id = await _inquiry(store)
    approved = await _approved(store, inquiry_id)
    # answered by a path that skipped the poll's hook
    await store._conn.execute("UPDATE inquiries SET answered = 1 WHERE id = ?", (inquiry_id,))
    assert await store.claim_next_answer(now=START, lease=LEASE, channels=CHANNELS) is None
    assert await _state(store, approved.id) is AnswerState.ALREADY_ANSWERED


async def test_start_up_recovery_of_answers_left_sending(store: Store) -> None:
    once_only = await _claimed(store, await _inquiry(store, "7", StreamKind.CALL_CENTER))
    repeatable = await _claimed(store, await _inquiry(store, "8"))
    assert await store.recover_answers(once_only=ONCE, now=START + timedelta(minutes=1)) == 2
    assert await _state(store, once_only.answer.id) is AnswerState.UNCERTAIN
    assert await _state(store, repeatable.answer.id) is AnswerState.APPROVED
    again = await store.claim_next_answer(now=START + timedelta(minutes=1), lease=LEASE, channels=CHANNELS)
    assert again is not None
    assert (again.answer.id, again.answer.maybe_delivered) == (repeatable.answer.id, True)
    assert await store.claim_next_answer(now=START + timedelta(minutes=1), lease=LEASE, channels=CHANNELS) is None
