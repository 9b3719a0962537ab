"""Hand-written fakes of our own protocols (never of the code under test)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import ClassVar

from aggregator.notifiers.base import DeliveryError
from connectors.base import ConnectorError
from core.answers import AnswerLimit, AnswerOutcome, AnswerRequest, AnswerResult
from core.models import Cursor, Marketplace, Message, PollResult, StreamKind


class FakeClock:
    """A clock that only moves when told to, or when someone sleeps on it.

    `sleep` advances time by the requested amount at once (and records it), so code that waits on
    a rate budget or a backoff runs instantly while every wait is still observable in `sleeps`.
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start
        self._mono = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        """The fake current time."""
        return self._now

    def monotonic(self) -> float:
        """Fake monotonic seconds."""
        return self._mono

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self._now += timedelta(seconds=seconds)
        self._mono += seconds

    async def sleep(self, seconds: float) -> None:
        """Record the wait, advance time by it, and yield to the loop once."""
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        self.advance(seconds)
        await asyncio.sleep(0)


class RecordingNotifier:
    """A notifier that records what it was given; `fail_with` makes the next sends raise."""

    kind = "recording"

    def __init__(self, name: str = "sink") -> None:
        self.name = name
        self.sent: list[Message] = []
        self.fail_with: list[DeliveryError] = []

    async def send(self, message: Message) -> None:
        """Record, or raise the next queued failure."""
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.sent.append(message)

    async def aclose(self) -> None:
        """Nothing to release."""


class ScriptedConnector:
    """A connector that replays a script of poll outcomes (PollResult or ConnectorError) per call."""

    marketplace = Marketplace.COUPANG

    def __init__(self, script: list[PollResult | ConnectorError], *, account_id: str = "shop") -> None:
        self.account_id = account_id
        self.streams = (StreamKind.PRODUCT_QNA,)
        self._script = list(script)
        self.cursors_seen: list[Cursor | None] = []

    async def poll(self, stream: StreamKind, cursor: Cursor | None, *, now: datetime) -> PollResult:
        """Return or raise the next scripted outcome."""
        self.cursors_seen.append(cursor)
        outcome = self._script.pop(0)
        if isinstance(outcome, ConnectorError):
            raise outcome
        return outcome

    async def aclose(self) -> None:
        """Nothing to release."""


class FakeAnsweringConnector(ScriptedConnector):
    """A scripted connector that also answers: each `answer` returns (or raises) the next scripted reply, and
    `accepted` when the script is empty. 고객센터 문의 is its once-only stream, as at Coupang."""

    ONCE_ONLY: ClassVar[frozenset[StreamKind]] = frozenset({StreamKind.CALL_CENTER})
    ANSWER_LIMITS: ClassVar[Mapping[StreamKind, AnswerLimit]] = {StreamKind.CALL_CENTER: AnswerLimit(1000)}

    def __init__(
        self,
        replies: Sequence[AnswerResult | Exception] = (),
        *,
        polls: Sequence[PollResult | ConnectorError] = (),
        account_id: str = "shop",
    ) -> None:
        super().__init__(list(polls), account_id=account_id)
        self.streams = (StreamKind.PRODUCT_QNA, StreamKind.CALL_CENTER)
        self.replies = list(replies)
        self.requests: list[AnswerRequest] = []

    async def answer(self, request: AnswerRequest) -> AnswerResult:
        """Record the request; return or raise the next scripted reply."""
        self.requests.append(request)
        reply = self.replies.pop(0) if self.replies else AnswerResult(AnswerOutcome.ACCEPTED)
        if isinstance(reply, Exception):
            raise reply
        return reply
