"""Korean texts for every message kind: KST times, phone-sized, buyer data masked even inside free text."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from aggregator import connection_messages, render
from core.models import KST, Category, ClockKind, Inquiry, Marketplace, Message, MessageKind, Priority, StreamKind
from core.payloads import BackfillSummaryPayload, SlaAlertPayload, StreamBackfill, SystemPayload

NOW = datetime(2026, 11, 24, 14, 0, tzinfo=KST)
INQ = Inquiry(
    account_id="shop",
    marketplace=Marketplace.ESM,
    stream=StreamKind.PRODUCT_QNA,
    external_id="G:1",
    received_at=NOW - timedelta(hours=3),
    body="최수정입니다. 010-1234-5678이나 sujeong.choi@gmail.com으로 연락 주세요. 주소 서울특별시 강남구 테헤란로 123",
    category=Category.EXCHANGE,
    product_name="여성 니트 가디건 루즈핏",
    buyer="최수정",
    site="G마켓",
)
PAYLOAD = SlaAlertPayload("marketplace:warn:2h", ClockKind.MARKETPLACE, NOW, NOW + timedelta(hours=2))
SECRETS_AND_PII = ("최수정", "1234-5678", "01012345678", "sujeong.choi", "테헤란로 123")


def _sla(kind: MessageKind, **payload: Any) -> Message:
    return render.sla_alert(INQ, row_id=7, kind=kind, payload=replace(PAYLOAD, **payload), now=NOW)


MESSAGES = [
    (render.new_inquiry(INQ, row_id=7, deadline=NOW + timedelta(hours=21)), "[G마켓] 새 상품문의", Priority.DEFAULT),
    (_sla(MessageKind.SLA_WARNING), "[G마켓] 상품문의: 답변 마감 2시간 남음", Priority.HIGH),
    (_sla(MessageKind.SLA_WARNING, clock=ClockKind.OWN), "[G마켓] 상품문의: 목표 답변 시간 2시간 남음", Priority.HIGH),
    (_sla(MessageKind.SLA_BREACH, deadline=NOW), "[G마켓] 상품문의: 답변 마감 지남", Priority.MAX),
    (
        _sla(MessageKind.SLA_REPEAT, deadline=NOW - timedelta(hours=2)),
        "[G마켓] 상품문의: 아직 미답변 (답변 마감 2시간 지남)",
        Priority.HIGH,
    ),
    (
        _sla(
            MessageKind.EVENING_WARNING,
            quiet_from=NOW.replace(hour=22),
            deadline=NOW.replace(hour=23, minute=30),
        ),
        "[G마켓] 상품문의: 22:00 전에 답하세요 (마감 23:30)",
        Priority.HIGH,
    ),
    (
        render.digest(
            [(NOW + timedelta(hours=2), INQ)],
            held_new=2,
            held_other=1,
            breakthroughs=[],
            quiet_from=NOW - timedelta(hours=11),
            now=NOW,
        ),
        "[inqd] 조용한 시간 요약: 미답변 1건",
        Priority.DEFAULT,
    ),
    (
        render.backfill_summary(
            BackfillSummaryPayload("shop", Marketplace.COUPANG, (StreamBackfill(StreamKind.PRODUCT_QNA, 2, 5),))
        ),
        "[쿠팡] 상품문의 연결됨",
        Priority.DEFAULT,
    ),
    (
        connection_messages.connection_lost(
            marketplace=Marketplace.COUPANG,
            account_id="shop",
            streams=(StreamKind.CALL_CENTER, StreamKind.PRODUCT_QNA),
            since=NOW,
            error="Unavailable: 503",
        ),
        "[쿠팡] 연결 끊김: shop",
        Priority.HIGH,
    ),
    (
        connection_messages.connection_recovered(
            marketplace=Marketplace.COUPANG,
            account_id="shop",
            streams=(StreamKind.CALL_CENTER,),
            down_for=timedelta(minutes=95),
        ),
        "[쿠팡] 복구: shop",
        Priority.DEFAULT,
    ),
    (
        connection_messages.auth_failed(
            marketplace=Marketplace.NAVER, account_id="store", since=NOW, error="AuthFailed: 401"
        ),
        "[스마트스토어] 인증 실패: store",
        Priority.HIGH,
    ),
    (
        connection_messages.key_expiry(account_id="shop", expires_on=NOW.date() + timedelta(days=3), days_left=3),
        "[쿠팡] OpenAPI 키 만료 예정: shop",
        Priority.HIGH,
    ),
    (
        render.system(
            render.system_payload(
                connection_messages.auth_failed(marketplace=Marketplace.ESM, account_id="esm", since=NOW, error=None)
            )
        ),
        "[G마켓/옥션] 인증 실패: esm",
        Priority.HIGH,
    ),
    (
        render.system(SystemPayload("[쿠팡] 인증 실패: shop", "키를 확인해 주세요.")),
        "[쿠팡] 인증 실패: shop",
        Priority.HIGH,
    ),
    (render.channel_test_messages("phone", now=NOW)[1], "[inqd 테스트] 최고 우선순위", Priority.MAX),
]


@pytest.mark.parametrize(("message", "title", "priority"), MESSAGES, ids=lambda v: str(v)[:24])
def test_every_kind_has_its_title_priority_and_no_buyer_data(message: Message, title: str, priority: Priority) -> None:
    text = f"{message.title}\n{message.body}"
    assert (message.title, message.priority) == (title, priority)
    assert [p for p in SECRETS_AND_PII if p in text] == []
    assert max(len(line) for line in text.splitlines()) <= 200  # phone-sized lines


def test_inquiry_text_is_masked_not_dropped() -> None:
    body = render.new_inquiry(INQ, row_id=7, deadline=NOW + timedelta(hours=21)).body
    assert "최*정입니다. 010-****-5678이나 su***@gmail.com으로" in body
    assert "서울특별시 강남구 ***" in body
    assert "접수 11/24(화) 11:00 · 마감 11/25(수) 11:00" in body  # KST


def test_late_alert_says_so_and_digest_lists_by_deadline() -> None:
    late = _sla(MessageKind.SLA_BREACH, late=True, deadline=NOW)
    later = replace(INQ, external_id="G:2", body="두 번째 문의")
    digest = render.digest(
        [(NOW + timedelta(hours=1), INQ), (NOW + timedelta(hours=5), later)],
        held_new=1,
        held_other=0,
        breakthroughs=[NOW - timedelta(hours=4)],
        quiet_from=NOW - timedelta(hours=11),
        now=NOW,
    )
    assert late.body.splitlines()[0] == "(inqd가 꺼져 있던 동안 지난 알림입니다)"
    assert digest.body.index("(1시간 남음)") < digest.body.index("(5시간 남음)")
    assert "밤사이 긴급 알림 11/24(화) 10:00" in digest.body


def test_first_connection_summary_lists_each_stream_of_the_account() -> None:
    summary = BackfillSummaryPayload(
        "shop",
        Marketplace.COUPANG,
        (StreamBackfill(StreamKind.PRODUCT_QNA, 1, 6), StreamBackfill(StreamKind.CALL_CENTER, 0, 2)),
    )
    message = render.backfill_summary(summary)
    assert message.title == "[쿠팡] 상품문의·고객센터 문의 연결됨"
    assert message.body.splitlines() == [
        "shop: 최근 문의 8건을 불러왔습니다. 미답변 1건.",
        "· 상품문의 6건, 미답변 1건",
        "· 고객센터 문의 2건, 미답변 0건",
        "지금부터 새 문의만 알려 드립니다. 목록: inqd queue",
    ]


# A foreign buyer written in Hangul, with no cue around the name: only the buyer field says it is one.
FOREIGN = replace(
    INQ,
    buyer="타나카 유키",
    title="타나카 유키 환불 문의",
    body="타나카 유키 주문 건 환불해 주세요",
    product_name="각인 머그컵 (타나카 유키)",
)


def _texts(message: Message) -> str:
    return f"{message.title}\n{message.body}"


def test_the_buyers_known_name_is_masked_in_every_text_of_every_inquiry_message() -> None:
    promise = SlaAlertPayload(
        "promise:remind", ClockKind.OWN, NOW, NOW + timedelta(minutes=30), note="타나카 유키 통화"
    )
    messages = [
        render.new_inquiry(FOREIGN, row_id=7, deadline=NOW + timedelta(hours=21)),
        render.sla_alert(FOREIGN, row_id=7, kind=MessageKind.PROMISE_REMINDER, payload=promise, now=NOW),
        render.sla_alert(FOREIGN, row_id=7, kind=MessageKind.SLA_BREACH, payload=PAYLOAD, now=NOW),
        render.digest([(NOW, FOREIGN)], held_new=1, held_other=0, breakthroughs=[], quiet_from=NOW, now=NOW),
    ]
    assert [("타나카" in _texts(m), "타*카 **" in _texts(m)) for m in messages] == [(False, True)] * 4
    assert "타*카 ** 통화" in messages[1].body  # the seller's promise note too
    assert "각인 머그컵 (타*카 **)" in messages[0].body  # and an engraving in the product name


def test_a_name_the_marketplace_masked_itself_still_finds_the_full_name_in_the_text() -> None:
    inquiry = replace(INQ, buyer="타*카 유키", body="타나카 유키 주문 건 환불해 주세요")
    assert render.safe_excerpt(inquiry) == "타*카 ** 주문 건 환불해 주세요"


def test_a_marketplace_error_quoting_buyer_data_is_masked_in_the_connection_alert() -> None:
    error = "Unavailable: esm: 400 request rejected: 1000: 문의자 010-4444-5555 yuki@naver.com P123456789012"
    message = connection_messages.connection_lost(
        marketplace=Marketplace.ESM, account_id="esm", streams=(StreamKind.URGENT,), since=NOW, error=error
    )
    assert [raw for raw in ("4444-5555", "yuki@", "P123456789012") if raw in message.body] == []
    assert "010-****-5555" in message.body
