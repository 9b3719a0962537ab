"""The store plans answered inquiries whose answer promised a date: migration v12 marks the promises the answering
flow recorded before it (by their note) for planning again, and the timer's queries take those rows through the
same partial index as the open ones."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from aggregator.store import NO_MORE_ALERTS, Store
from aggregator.store.migrations import MIGRATIONS
from aggregator.store.schema import PLANNED_ROWS
from tests.conftest import START


def _v11_database(path: Path) -> None:
    """Schema v11 with three inquiries: open; answered with a template's promise; answered with a call-back one."""
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:11]:
        db.executescript(script)
    db.execute("PRAGMA user_version=11")
    stamp = "2026-11-24T05:00:00.000000Z"
    promised = "2026-11-26T09:00:00.000000Z"
    rows = [
        ("1", 0, None, None, None),
        ("2", 1, promised, "답변 #1에서 약속한 날 11월 26일(목)", NO_MORE_ALERTS),
        ("3", 1, promised, "교환 안내 전화", NO_MORE_ALERTS),
    ]
    db.executemany(
        "INSERT INTO inquiries (account_id, stream, external_id, marketplace, received_at, category, body, "
        "answered, promise_at, promise_note, next_alert_at, first_seen_at, updated_at) "
        "VALUES ('store', 'product_qna', ?, 'naver', ?, '기타', '문의', ?, ?, ?, ?, ?, ?)",
        [(ext, stamp, answered, at, note, nxt, stamp, stamp) for ext, answered, at, note, nxt in rows],
    )
    db.commit()
    db.close()


async def test_an_answers_promise_is_planned_after_the_answer_and_a_call_back_is_not(tmp_path: Path) -> None:
    _v11_database(tmp_path / "inqd.db")
    store = await Store.open(tmp_path / "inqd.db")
    candidates = await store.alert_candidates(now=START, limit=10)
    marked = [(await store.get_inquiry(n)) for n in (1, 2, 3)]
    await store.aclose()
    assert [candidate.id for candidate in candidates] == [1, 2]
    assert [s is not None and s.controls.promise_by_answer for s in marked] == [False, True, False]


def test_the_timer_queries_use_the_partial_index(tmp_path: Path) -> None:
    _v11_database(tmp_path / "inqd.db")
    db = sqlite3.connect(tmp_path / "inqd.db")
    db.executescript(MIGRATIONS[11])
    queries = [
        f"SELECT next_alert_at FROM inquiries WHERE {PLANNED_ROWS} ORDER BY next_alert_at LIMIT 1",
        f"SELECT * FROM inquiries WHERE {PLANNED_ROWS} AND next_alert_at IS NULL ORDER BY id LIMIT 5",
    ]
    plans = [" ".join(str(r[-1]) for r in db.execute(f"EXPLAIN QUERY PLAN {q}")) for q in queries]
    db.close()
    assert all("USING INDEX inquiries_alert_due" in plan for plan in plans), plans
