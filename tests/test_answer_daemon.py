"""An answer through the whole daemon on a fake clock: approved → sent to the sandbox → the next poll sees it answered
→ confirmed; an answer the marketplace refuses reaches the phone; the sender's counter is exported."""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from aggregator.daemon import Daemon
from aggregator.settings import CoupangAccount
from aggregator.store import StoredInquiry
from aggregator.store.answers import AnswerState
from aggregator.wiring import connectors as wiring
from connectors.base import Connector
from connectors.sandbox import CoupangSandbox
from core.answers import AnswerLimit, AnswerOutcome, AnswerRequest, AnswerResult
from core.models import Cursor, Marketplace, PollResult, StreamKind
from tests.conftest import SHOP_ACCOUNT, MakeSettings
from tests.fakes import FakeClock

ACCOUNT = {**SHOP_ACCOUNT, "vendor_id": "A00012345", "access_key": "ak", "secret_key": "sk"}


class SandboxAnswering:
    """The account's real connector for polls; answers go straight into the sandbox (the connectors' own answer
    calls are tested against the sandboxes elsewhere). `refuse` makes the marketplace refuse every answer."""

    marketplace: ClassVar[Marketplace] = Marketplace.COUPANG
    ONCE_ONLY: ClassVar[frozenset[StreamKind]] = frozenset({StreamKind.CALL_CENTER})
    ANSWER_LIMITS: ClassVar[dict[StreamKind, AnswerLimit]] = {}

    def __init__(self, inner: Connector, sandbox: CoupangSandbox, now: Any, refuse: str = "") -> None:
        self._inner = inner
        self.account_id = inner.account_id
        self.streams = inner.streams
        self._sandbox = sandbox
        self._now = now
        self.refuse = refuse
        self.requests: list[AnswerRequest] = []

    async def poll(self, stream: StreamKind, cursor: Cursor | None, *, now: datetime) -> PollResult:
        """The real connector's poll."""
        return await self._inner.poll(stream, cursor, now=now)

    async def answer(self, request: AnswerRequest) -> AnswerResult:
        """Post into the sandbox, or refuse."""
        self.requests.append(request)
        if self.refuse:
            return AnswerResult(AnswerOutcome.REFUSED, self.refuse)
        self._sandbox.answer_product_inquiry(int(request.inquiry.external_id), request.text, self._now())
        return AnswerResult(AnswerOutcome.ACCEPTED)

    async def aclose(self) -> None:
        """Close the real connector."""
        await self._inner.aclose()


@pytest.fixture
def sandbox(clock: FakeClock) -> CoupangSandbox:
    """The Coupang sandbox with one open product question."""
    box = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    box.add_product_inquiry(content="언제 출고되나요?", inquiry_at=clock.now() - timedelta(hours=2))
    return box


Start = Callable[..., Awaitable[tuple[Daemon, list[SandboxAnswering]]]]


@pytest.fixture
def start(
    make_settings: MakeSettings, clock: FakeClock, sandbox: CoupangSandbox, monkeypatch: pytest.MonkeyPatch
) -> Start:
    """Builds the daemon on the sandbox, its Coupang account answering through SandboxAnswering."""

    async def build(refuse: str = "") -> tuple[Daemon, list[SandboxAnswering]]:
        built: list[SandboxAnswering] = []
        real = wiring.CONNECTORS[CoupangAccount]

        def answering(account: Any, common: dict[str, Any]) -> Connector:
            built.append(SandboxAnswering(real(account, common), sandbox, clock.now, refuse))
            return built[-1]

        monkeypatch.setitem(wiring.CONNECTORS, CoupangAccount, answering)
        transport = httpx.MockTransport(sandbox.handler)
        settings = make_settings(account=ACCOUNT)
        daemon = await Daemon.build(settings, clock=clock, transport_for=lambda _: transport, rng=random.Random(1))
        return daemon, built

    return build


async def _answer_the_question(daemon: Daemon, text: str) -> StoredInquiry:
    """Poll, then write and approve `text` as the answer to the one question, as the seller would."""
    await daemon.run_once()
    [stored] = await daemon.store.open_inquiries()
    service = daemon.answers()
    draft = await service.draft(stored.id, text)
    await service.approve(draft.answer.id, "terminal:me")
    return stored


def _sink(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "sink.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


async def test_approved_answer_is_sent_then_confirmed_by_the_next_poll(
    clock: FakeClock, sandbox: CoupangSandbox, start: Start
) -> None:
    daemon, connectors = await start()
    stored = await _answer_the_question(daemon, "안녕하세요. 오늘 출고됩니다. 감사합니다.")
    service = daemon.answers()
    assert daemon.sender.wake.is_set()  # an approval in the daemon's process wakes the sender at once
    await daemon.run_once()
    assert [a.state for a in await service.status(stored.id)] == [AnswerState.SENT]
    assert sandbox.is_answered(int(stored.inquiry.external_id))
    clock.advance(60)
    await daemon.run_once()
    answers = await service.status(stored.id)
    exposition = daemon.metrics.exposition()[0].decode()
    await daemon.aclose()
    assert [a.state for a in answers] == [AnswerState.CONFIRMED]
    assert len(connectors[0].requests) == 1
    assert 'inqd_answers_total{marketplace="coupang",outcome="accepted"} 1.0' in exposition


async def test_a_refused_answer_reaches_the_phone(tmp_path: Path, start: Start) -> None:
    daemon, _ = await start(refuse="content must be 2 to 1000 characters")
    await _answer_the_question(daemon, "안녕하세요. 확인해 보겠습니다.")
    await daemon.run_once()
    await daemon.aclose()
    [notice] = [m for m in _sink(tmp_path) if m["kind"] == "answer_not_sent"]
    assert notice["title"] == "[쿠팡] 상품문의: 답변 거절됨"
    assert "content must be 2 to 1000 characters" in notice["body"]
