"""The sender: claims approved answers when they are due, posts each through its account's connector, records what
the marketplace said.

The claim (`sending`) is committed before the connector is called and the outcome after it returns, so a crash in
between leaves a row that is settled later (store/answer_sending.py `recover_answers`): at the next start-up on
SQLite, or, where several instances share PostgreSQL, by any instance's sender once the claim has run out (a send is
cut off before its claim ends, so a claim that ran out has no request in flight). One answer at a time: a crash then
leaves at most one answer whose fate is unknown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping
from datetime import timedelta

import structlog

from aggregator.answering.outcomes import metric_outcome, transition_for
from aggregator.store import Channels, Store
from aggregator.store.answer_sending import ClaimedAnswer
from aggregator.store.answers import NOT_SENT_STATES
from connectors.base import AnsweringConnector
from core.answers import AnswerOutcome, AnswerRequest, AnswerResult
from core.clock import Clock, WakeableLoop
from core.models import StreamKind

log = structlog.get_logger("inqd.answers")

# No connector can answer for this account (removed from the config, or a marketplace without answer calls).
NO_CONNECTOR = "inqd가 이 계정으로 답변을 보낼 수 없습니다 (설정에 없는 계정이거나 답변을 지원하지 않는 연결)"
# The connector broke its contract by raising: the request may have left, so the answer is treated as maybe sent.
CONNECTOR_CRASHED = "답변을 보내는 중 inqd 내부 오류가 났습니다"
# The connector (its retries included) took longer than the claim allows: cut off, the answer may have been sent.
CLAIM_RAN_OUT = "답변 전송이 너무 오래 걸려 중단했습니다"
# A send is cut off this long before its claim runs out, so no other instance can recover (and resend) an answer
# whose request is still in flight (store/answer_sending.py recover_answers(lapsed_only=True)).
CLAIM_MARGIN_S = 15.0


class AnswerSender:
    """Posts approved answers, one at a time, never one the seller did not approve."""

    def __init__(
        self,
        store: Store,
        connectors: Mapping[str, AnsweringConnector],
        clock: Clock,
        *,
        channels: Channels,
        lease_s: float = 120.0,
        idle_check_s: float = 10.0,
        accounts: Callable[[], Collection[str] | None] = lambda: None,
    ) -> None:
        self._store = store
        # The accounts this instance may post for now (None: all). Where instances share the database, the ones it
        # polls (aggregator/leases.py): an account's requests then all come from one process and its rate budget.
        self._accounts = accounts
        self._connectors = dict(connectors)  # account id -> its connector
        self._clock = clock
        self._channels = channels
        self._lease = timedelta(seconds=lease_s)
        # The daemon's own surfaces wake the loop at once, and `inqd answer` in another process pokes it through the
        # admin API (aggregator/admin.py); approvals whose poke was lost (no admin port) are found by looking this
        # often. Every 2 s cost an idle daemon 30 wake-ups a minute (bench/idle.py); 10 s keeps a lost poke short.
        self._loop = WakeableLoop(clock, idle_s=idle_check_s, on_error=lambda: log.exception("answer_sender_crashed"))
        self.wake = self._loop.wake
        self.on_outcome: list[Callable[[str, str], None]] = []  # (marketplace, outcome) per attempt: metrics
        self.on_queued: list[asyncio.Event] = []  # set when a notice for the seller was queued (the dispatcher)

    @property
    def once_only(self) -> frozenset[tuple[str, StreamKind]]:
        """(account id, stream) of every stream whose endpoint accepts one answer per inquiry."""
        return frozenset((account, stream) for account, c in self._connectors.items() for stream in c.ONCE_ONLY)

    async def recover(self, *, lapsed_only: bool | None = None) -> int:
        """Settle the answers a dead sender left `sending`: at start-up every one on SQLite (the file lock held),
        only those whose claim ran out where several instances share the database (and in every `run_once`)."""
        recovered = await self._store.recover_answers(
            once_only=self.once_only,
            now=self._clock.now(),
            lapsed_only=self._store.shared if lapsed_only is None else lapsed_only,
        )
        if recovered:
            log.warning("answers_recovered", answers=recovered)
        return recovered

    async def run_once(self) -> int:
        """Send every answer due now; returns how many were attempted."""
        await self.recover(lapsed_only=True)  # another instance died mid-send: its answer comes back after its claim
        attempted = 0
        while True:
            # A read first: the idle check runs every few seconds and must not take the write lock for nothing.
            due = await self._store.next_answer_due(self._accounts())
            if due is None or due > self._clock.now():
                return attempted
            claimed = await self._store.claim_next_answer(
                now=self._clock.now(), lease=self._lease, channels=self._channels, accounts=self._accounts()
            )
            if claimed is None:
                return attempted
            await self._send(claimed)
            attempted += 1

    async def _send(self, claimed: ClaimedAnswer) -> None:
        inquiry, answer = claimed.inquiry.inquiry, claimed.answer
        connector = self._connectors.get(inquiry.account_id)
        result = await self._post(connector, AnswerRequest(inquiry, answer.text, answer.final), answer.id)
        once_only = connector is not None and inquiry.stream in connector.ONCE_ONLY
        transition = transition_for(result, once_only=once_only, attempts=answer.attempts, now=self._clock.now())
        state = await self._store.finish_answer(answer, transition, now=self._clock.now(), channels=self._channels)
        if state is None:  # cannot happen while sends are cut off before their claim ends; said loudly if it does
            log.error("answer_claim_lost", answer_id=answer.id, inquiry_id=answer.inquiry_id, attempt=answer.attempts)
            return
        log.info(
            "answer_attempted",
            answer_id=answer.id,
            inquiry_id=answer.inquiry_id,
            account=inquiry.account_id,
            stream=inquiry.stream.value,
            attempt=answer.attempts,
            outcome=result.outcome.value,
            state=state.value,
        )
        for observer in self.on_outcome:
            observer(inquiry.marketplace.value, metric_outcome(result, state))
        if state in NOT_SENT_STATES:
            for event in self.on_queued:
                event.set()

    async def _post(self, connector: AnsweringConnector | None, request: AnswerRequest, answer_id: int) -> AnswerResult:
        if connector is None:
            return AnswerResult(AnswerOutcome.NOT_ANSWERABLE, message=NO_CONNECTOR)
        try:
            async with asyncio.timeout(self._lease.total_seconds() - CLAIM_MARGIN_S):
                return await connector.answer(request)
        except TimeoutError:
            log.warning("answer_cut_off", answer_id=answer_id, account=request.inquiry.account_id)
            return AnswerResult(AnswerOutcome.RETRY_LATER, message=CLAIM_RAN_OUT, maybe_delivered=True)
        except Exception:  # the contract says never raise; if one does, the request may have left
            log.exception("answer_connector_crashed", answer_id=answer_id, account=request.inquiry.account_id)
            return AnswerResult(AnswerOutcome.RETRY_LATER, message=CONNECTOR_CRASHED, maybe_delivered=True)

    async def run(self, stop: asyncio.Event) -> None:
        """Send answers until `stop`; sleeps until the next one is due, a wake, or the idle check."""
        await self._loop.run(stop, self.run_once, lambda: self._store.next_answer_due(self._accounts()))
