"""The report's read: where each answer time comes from (written on every poll that sets answered_at), each
account's first poll, answers confirmed from inqd, and migration v13 of a database written before it."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from aggregator.store import Store
from aggregator.store.migrations import MIGRATIONS
from core.models import OpenSnapshot, PollResult, StreamKind
from policies.answer_report import AnswerTimeSource
from tests.conftest import START, make_inquiry

pytestmark = pytest.mark.both_backends

MINUTE = timedelta(minutes=1)


def _poll(*inquiries, snapshot=None):  # type: ignore[no-untyped-def]
    return PollResult(inquiries=tuple(inquiries), cursor={"through": "x"}, open_snapshot=snapshot)


async def _record(store: Store, result: PollResult, at: datetime) -> int:
    outcome = await store.record_poll("shop", StreamKind.PRODUCT_QNA, result, now=at, channels={}, notify_new=True)
    return outcome.updated


async def test_each_answer_time_says_where_it_came_from(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "inqd.db")
    marketplace_time = START - 30 * MINUTE
    open_one = replace(make_inquiry("1"), answered_at=None)
    timed = replace(make_inquiry("2", answered=True), answered_at=marketplace_time)
    untimed = replace(make_inquiry("3", answered=True), answered_at=None)
    gone = make_inquiry("4")
    await _record(store, _poll(open_one, timed, untimed, gone), START)
    # 10 minutes on: "1" answered, the API giving no time -> this poll's time; "4" left the open snapshot.
    later = START + 10 * MINUTE
    snapshot = OpenSnapshot(START - timedelta(days=1), later, frozenset({"1"}))
    await _record(store, _poll(replace(open_one, answered=True), snapshot=snapshot), later)
    # Once more: still answered without a time; the time learned stays and nothing counts as changed.
    updated = await _record(store, _poll(replace(open_one, answered=True)), later + 10 * MINUTE)
    inputs = await store.report_inputs(START - timedelta(days=1))
    await store.aclose()
    by_id = {fact.id: (fact.answer_time_source, fact.answered_at) for fact in inputs.facts}
    assert by_id == {
        1: (AnswerTimeSource.POLL, later),
        2: (AnswerTimeSource.MARKETPLACE, marketplace_time),
        3: (AnswerTimeSource.UNKNOWN, None),  # answered before inqd first saw it, no time
        4: (AnswerTimeSource.POLL, later),
    }
    assert updated == 0
    assert inputs.first_polled == {"shop": START}  # the first poll, not the last


async def test_a_reopened_inquiry_loses_its_answer_time(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "inqd.db")
    answered = replace(make_inquiry("1", answered=True), answered_at=START - MINUTE)
    await _record(store, _poll(answered), START)
    await _record(store, _poll(replace(answered, answered=False, answered_at=None)), START + MINUTE)
    (fact,) = (await store.report_inputs(START - timedelta(days=1))).facts
    await store.aclose()
    assert (fact.answer_time_source, fact.answered_at) == (None, None)


async def test_promises_and_answers_from_inqd_are_read(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "inqd.db")
    await _record(store, _poll(make_inquiry("1"), make_inquiry("2")), START)
    await store.promise(1, START + timedelta(hours=2), note="전화", now=START, actor="test")
    await store.mark_handled(1, now=START + MINUTE, actor="test")
    await store._conn.execute(  # an answer sent through inqd and confirmed by a poll (the answer flow's end state)
        "INSERT INTO answers (inquiry_id, text, state, created_at, updated_at) VALUES (2, '답변', 'confirmed', '', '')"
    )
    facts = (await store.report_inputs(START - timedelta(days=1))).facts
    await store.aclose()
    assert [(f.promise_at, f.promise_kept_at, f.answered_by_inqd) for f in facts] == [
        (START + timedelta(hours=2), START + MINUTE, False),
        (None, None, True),
    ]


def _v12_database(path: Path) -> None:
    """Schema v12: an open inquiry, one answered with the marketplace's time, one whose time a snapshot set (equal
    to its `answered` event), one answered with no time but an event, one answered before inqd saw it."""
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:12]:
        db.executescript(script)
    db.execute("PRAGMA user_version=12")
    seen, polled, api = "2026-11-24T05:00:00.000000Z", "2026-11-24T06:00:00.000000Z", "2026-11-24T05:30:00.000000Z"
    rows = [("1", 0, None), ("2", 1, api), ("3", 1, polled), ("4", 1, None), ("5", 1, None)]
    db.executemany(
        "INSERT INTO inquiries (account_id, stream, external_id, marketplace, received_at, category, body, "
        "answered, answered_at, first_seen_at, updated_at) VALUES ('shop', 'product_qna', ?, 'coupang', ?, '기타', "
        "'문의', ?, ?, ?, ?)",
        [(ext, seen, answered, at, seen, seen) for ext, answered, at in rows],
    )
    db.executemany(
        "INSERT INTO events (at, kind, inquiry_id, account_id, stream) "
        "VALUES (?, 'answered', ?, 'shop', 'product_qna')",
        [(polled, 3), (polled, 4)],
    )
    db.execute(
        "INSERT INTO stream_status (account_id, stream, last_success_at) VALUES ('shop', 'product_qna', ?)", (polled,)
    )
    db.commit()
    db.close()


async def test_migration_v13_tells_the_sources_of_an_old_database(tmp_path: Path) -> None:
    _v12_database(tmp_path / "inqd.db")
    store = await Store.open(tmp_path / "inqd.db")
    inputs = await store.report_inputs(START - timedelta(days=1))
    await store.aclose()
    assert [f.answer_time_source for f in inputs.facts] == [
        None,
        AnswerTimeSource.MARKETPLACE,
        AnswerTimeSource.POLL,  # the snapshot's time, equal to its event's
        AnswerTimeSource.POLL,  # no time, but the event of the poll that saw it answered
        AnswerTimeSource.UNKNOWN,
    ]
    assert inputs.facts[3].answered_at == inputs.facts[2].answered_at
    # The first poll before v13 kept it: the first inquiry seen (05:00Z), earlier than the last poll (06:00Z).
    assert inputs.first_polled == {"shop": inputs.facts[0].first_seen_at}
