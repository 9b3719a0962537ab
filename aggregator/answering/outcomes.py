"""What a marketplace's reply makes of an answer being sent: pure, the reply and the stream in, a transition out."""

from __future__ import annotations

from datetime import datetime, timedelta

from aggregator.store.answer_sending import AnswerTransition
from aggregator.store.answers import AnswerState
from core.answers import AnswerOutcome, AnswerResult

RETRY_BASE_S = 30.0  # the first retry after "try again later"; doubled after each attempt
RETRY_CAP_S = 30 * 60.0  # a seller waiting on an answer hears about it in `inqd answer ID --status` meanwhile

_FINAL = {
    AnswerOutcome.ACCEPTED: AnswerState.SENT,
    AnswerOutcome.ALREADY_ANSWERED: AnswerState.ALREADY_ANSWERED,
    AnswerOutcome.NOT_ANSWERABLE: AnswerState.NOT_ANSWERABLE,
    AnswerOutcome.REFUSED: AnswerState.REFUSED,
}


def retry_delay_s(attempts: int, retry_after_s: float | None) -> float:
    """Seconds before the next attempt after `attempts` tries: doubling backoff, the marketplace's wait a floor."""
    backoff = min(RETRY_CAP_S, RETRY_BASE_S * 2.0 ** min(max(0, attempts - 1), 16))
    return max(backoff, retry_after_s or 0.0)


def transition_for(result: AnswerResult, *, once_only: bool, attempts: int, now: datetime) -> AnswerTransition:
    """The state an answer takes after `result`.

    "Try again later" goes back to approved with a backoff, except when the request may have reached a once-only
    endpoint: a second request could post twice, so the answer waits, uncertain, for a poll to tell.
    """
    final = _FINAL.get(result.outcome)
    if final is not None:
        return AnswerTransition(final, result.outcome, result.message)
    if result.maybe_delivered and once_only:
        return AnswerTransition(AnswerState.UNCERTAIN, result.outcome, result.message, maybe_delivered=True)
    retry_at = now + timedelta(seconds=retry_delay_s(attempts, result.retry_after_s))
    return AnswerTransition(
        AnswerState.APPROVED, result.outcome, result.message, retry_at=retry_at, maybe_delivered=result.maybe_delivered
    )


def metric_outcome(result: AnswerResult, state: AnswerState) -> str:
    """The `outcome` label of inqd_answers_total: the marketplace's outcome, or `uncertain` when it is unknown."""
    return "uncertain" if state is AnswerState.UNCERTAIN else result.outcome.value
