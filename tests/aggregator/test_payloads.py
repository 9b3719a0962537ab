"""Outbox payloads: typed records to JSON and back, rows of the previous shape migrated, a bad row never blocks."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.store import Store
from aggregator.store.migrations import MIGRATIONS
from aggregator.store.payloads import PayloadError, payload_json, read_payload
from core.models import KST, ClockKind, Marketplace, MessageKind, Priority, StreamKind
from core.payloads import (
    AnsweredPayload,
    BackfillSummaryPayload,
    DigestPayload,
    NewInquiryPayload,
    OutboxPayload,
    SlaAlertPayload,
    StreamBackfill,
    SystemPayload,
    WeeklyReportPayload,
)
from tests.conftest import START

AT = START.astimezone(KST)
RECORDS: list[tuple[MessageKind, OutboxPayload]] = [
    (MessageKind.NEW_INQUIRY, NewInquiryPayload()),
    (MessageKind.ANSWERED, AnsweredPayload()),
    (
        MessageKind.BACKFILL_SUMMARY,
        BackfillSummaryPayload("shop", Marketplace.NAVER, (StreamBackfill(StreamKind.CUSTOMER_INQUIRY, 2, 5),)),
    ),
    (
        MessageKind.SLA_WARNING,
        SlaAlertPayload("marketplace:warn:50%", ClockKind.MARKETPLACE, AT, AT + timedelta(hours=12)),
    ),
    (MessageKind.SLA_BREACH, SlaAlertPayload("own:breach", ClockKind.OWN, AT, AT, late=True)),
    (
        MessageKind.EVENING_WARNING,
        SlaAlertPayload("marketplace:evening:x", ClockKind.MARKETPLACE, AT, AT + timedelta(hours=3), quiet_from=AT),
    ),
    (MessageKind.PROMISE_MISSED, SlaAlertPayload("promise:missed:x", ClockKind.PROMISE, AT, AT, note="전화 드리기")),
    (MessageKind.DIGEST, DigestPayload(quiet_until=AT)),
    (MessageKind.SYSTEM, SystemPayload("[쿠팡] 복구: shop", "돌아왔습니다.", Priority.DEFAULT, ("white_check_mark",))),
    (MessageKind.SYSTEM, SystemPayload("t", "b", click_url="https://wing.coupang.com/")),
    (
        MessageKind.WEEKLY_REPORT,
        WeeklyReportPayload(date(2026, 9, 21), ("쿠팡: 문의 42건", "중앙값 3시간"), chart=True),
    ),
    (MessageKind.WEEKLY_REPORT, WeeklyReportPayload(date(2026, 9, 21), (), chart=False)),
]


@pytest.mark.parametrize(("kind", "record"), RECORDS, ids=lambda v: str(v)[:30])
def test_every_record_comes_back_as_it_went_in(kind: MessageKind, record: OutboxPayload) -> None:
    assert read_payload(kind, payload_json(kind, record)) == record


def test_a_record_of_another_kind_is_refused() -> None:
    with pytest.raises(TypeError, match="a digest message carries DigestPayload, not SystemPayload"):
        payload_json(MessageKind.DIGEST, SystemPayload("t", "b"))


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (MessageKind.SYSTEM, "{}"),
        (MessageKind.SLA_BREACH, "{}"),
        (MessageKind.DIGEST, '{"quiet_until": "2026-11-24T09:00:00"}'),  # a naive time
        (MessageKind.BACKFILL_SUMMARY, "not json"),
    ],
)
def test_json_that_does_not_fit_its_kind_is_a_payload_error(kind: MessageKind, text: str) -> None:
    with pytest.raises(PayloadError, match=kind.value):
        read_payload(kind, text)


def _v7_database(path: Path) -> None:
    """A database as the previous inqd left it: schema v7, an inquiry and outbox rows of the old payload shape."""
    db = sqlite3.connect(path)
    for script in MIGRATIONS[:7]:
        db.executescript(script)
    db.execute("PRAGMA user_version=7")
    stamp = "2026-11-24T05:00:00.000000Z"
    db.execute(
        "INSERT INTO inquiries (account_id, stream, external_id, marketplace, received_at, category, body, "
        "first_seen_at, updated_at) VALUES ('store', 'product_qna', '1', 'naver', ?, '기타', '문의', ?, ?)",
        (stamp, stamp, stamp),
    )
    old_alert = (
        '{"alert": "%s", "clock": "%s", "deadline": "2026-11-25T14:00:00+09:00", '
        '"due_at": "2026-11-24T21:00:00+09:00", "key": "k%d", "label": "%s", "late": false}'
    )
    rows = [
        ("evening_warning", 1, old_alert % ("evening", "marketplace", 1, "2026-11-24T22:00:00+09:00")),
        ("promise_reminder", 1, old_alert % ("promise_reminder", "promise", 2, "오후에 전화")),
        ("sla_warning", 1, old_alert % ("warning", "marketplace", 3, "50%")),
        ("backfill_summary", None, '{"account_id": "store", "stream": "product_qna", "open": 1, "total": 1}'),
        ("system", None, '{"title": "t", "body": "b", "priority": 4, "tags": ["warning"], "click": null}'),
        ("new_inquiry", 1, "{}"),
        ("digest", None, "not json"),  # unreadable before and after: left alone, failed when claimed
    ]
    db.executemany(
        "INSERT INTO outbox (kind, channel, inquiry_id, payload, dedup_key, due_at, created_at) "
        "VALUES (?, 'sink', ?, ?, ?, ?, ?)",
        [(kind, inquiry, payload, f"d{n}", stamp, stamp) for n, (kind, inquiry, payload) in enumerate(rows)],
    )
    db.commit()
    db.close()


async def test_rows_of_the_previous_shape_are_migrated_and_a_bad_one_fails_alone(tmp_path: Path) -> None:
    _v7_database(tmp_path / "inqd.db")
    store = await Store.open(tmp_path / "inqd.db")
    items = await store.claim_due(now=START + timedelta(hours=1), lease=timedelta(minutes=1), limit=10)
    counts = await store.outbox_counts()
    await store.aclose()
    payloads = [item.payload for item in items]
    evening, promise, warning, backfill, system, new = payloads
    assert len(payloads) == 6
    assert isinstance(evening, SlaAlertPayload)
    assert (evening.quiet_from, evening.note) == (datetime.fromisoformat("2026-11-24T22:00:00+09:00"), "")
    assert isinstance(promise, SlaAlertPayload) and (promise.note, promise.quiet_from) == ("오후에 전화", None)
    assert isinstance(warning, SlaAlertPayload) and (warning.note, warning.quiet_from) == ("", None)
    assert backfill == BackfillSummaryPayload(
        "store", Marketplace.NAVER, (StreamBackfill(StreamKind.PRODUCT_QNA, 1, 1),)
    )
    assert system == SystemPayload("t", "b", Priority.HIGH, ("warning",), None)
    assert new == NewInquiryPayload()
    assert counts == {"pending": 6, "failed": 1}
