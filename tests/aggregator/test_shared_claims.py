"""Two instances' dispatchers and answer senders over one PostgreSQL: every outbox row and every answer is claimed
by one of them only (FOR UPDATE SKIP LOCKED), claiming at once, many rounds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from aggregator.store import Store
from core.models import MessageKind, PollResult, StreamKind
from core.payloads import SystemPayload
from tests.conftest import START, make_inquiry
from tests.postgres_server import PostgresServer

LEASE = timedelta(minutes=2)
ROWS = 60


@pytest.fixture
async def two(postgres_server: PostgresServer) -> AsyncIterator[tuple[Store, Store]]:
    url = postgres_server.new_database()
    a, b = await Store.open(url), await Store.open(url)
    yield a, b
    await a.aclose()
    await b.aclose()


async def test_two_dispatchers_claim_each_outbox_row_once(two: tuple[Store, Store]) -> None:
    a, b = two
    for n in range(ROWS):
        payload = SystemPayload(f"t{n}", "b")
        await a.enqueue(MessageKind.SYSTEM, channels=("sink",), dedup_key=f"k{n}", now=START, payload=payload)
    claimed: list[int] = []
    for _ in range(ROWS):  # small batches, both at once, until nothing is left
        batches = await asyncio.gather(*(s.claim_due(now=START, lease=LEASE, limit=3) for s in (a, b)))
        if not any(batches):
            break
        claimed += [item.id for batch in batches for item in batch]
    assert len(claimed) == ROWS
    assert len(set(claimed)) == ROWS  # none twice


async def test_two_answer_senders_claim_each_answer_once(two: tuple[Store, Store]) -> None:
    a, b = two
    inquiries = [make_inquiry(str(n)) for n in range(12)]
    result = PollResult(inquiries=tuple(inquiries), cursor={})
    await a.record_poll("shop", StreamKind.PRODUCT_QNA, result, now=START, channels=("sink",), notify_new=False)
    for row in await a.open_inquiries():
        draft = await a.save_draft(row.id, "내일 출고됩니다. 감사합니다.", now=START)
        await a.approve_answer(draft.id, actor="terminal:me", now=START)
    claimed: list[int] = []
    for _ in range(len(inquiries)):
        pair = await asyncio.gather(*(s.claim_next_answer(now=START, lease=LEASE, channels=("sink",)) for s in (a, b)))
        if not any(pair):
            break
        claimed += [answer.answer.id for answer in pair if answer is not None]
    assert sorted(claimed) == sorted(set(claimed))
    assert len(claimed) == len(inquiries)
