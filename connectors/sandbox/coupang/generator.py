"""A believable stream of Korean seller inquiries for the demo, fed into a CoupangSandbox.

Questions arrive as a Poisson process at a configurable mean rate; a share of them is later answered as if
the seller had answered in WING, so the demo shows both arrival and answered detection. Some texts carry a
buyer's full name and phone number, as real ones do, so masking downstream gets exercised.
Everything is driven by the `random.Random` passed in: the same seed gives the same stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from connectors.sandbox.arrivals import ArrivalGenerator, TickReport
from connectors.sandbox.coupang.rows import CallCenterStatus
from connectors.sandbox.coupang.store import CoupangInquiryStore

__all__ = ["InquiryGenerator", "TickReport"]

SELLER_ANSWERS = (
    "안녕하세요, 고객님. 문의하신 상품은 오늘 출고 예정입니다. 감사합니다.",
    "안녕하세요, 고객님. 평소 사이즈대로 주문하시면 됩니다. 감사합니다.",
    "안녕하세요, 고객님. 교환 접수 도와드렸습니다. 불편을 드려 죄송합니다.",
    "안녕하세요, 고객님. 다음 주 중 재입고 예정입니다. 감사합니다.",
)
PRODUCTS = (
    "무선 블루투스 이어폰 노이즈캔슬링",
    "여성 니트 가디건 루즈핏",
    "유기농 현미 10kg",
    "스테인리스 진공 텀블러 500ml",
    "남성 기모 조거팬츠",
    "아기 물티슈 캡형 100매 10팩",
    "LED 무드등 수면등",
    "고양이 두부모래 7L",
    "캠핑 접이식 의자",
    "고속 무선충전 거치대 15W",
    "여성 경량 러닝화",
    "국내산 햇사과 5kg",
)
BUYER_NAMES = ("김민수", "이서연", "박지훈", "최유진", "정다은", "강현우", "조수빈", "윤성민")
COLORS = ("블랙", "아이보리", "네이비", "베이지", "그레이")
QUESTIONS = {
    "배송": (
        "배송 언제 오나요? 주문한 지 {days}일 됐는데 아직 출고 전이네요.",
        "오늘 주문하면 내일 받을 수 있을까요?",
        "송장번호 조회가 안 되는데 어느 택배사인가요?",
    ),
    "사이즈": (
        "사이즈 문의드려요. 평소 {size} 입는데 어떤 사이즈가 맞을까요?",
        "키 {height}cm 몸무게 {weight}kg인데 M 사이즈 괜찮을까요?",
    ),
    "교환/반품": (
        "색상 교환 가능한가요? 아직 포장은 안 뜯었어요.",
        "받아보니 흠집이 있어서 반품하고 싶습니다. 절차 알려주세요.",
    ),
    "재입고": ("품절인데 재입고 언제 되나요?", "{color} 색상 재입고 예정 있나요?"),
    "상품": ("정품 맞나요?", "유통기한이 언제까지인가요?", "구성품에 충전 케이블도 포함인가요?"),
}
RECEIPT_CATEGORIES = {
    "배송": "배송문의>배송지연>배송일정문의",
    "사이즈": "쇼핑상품문의>쇼핑상품상세문의>사이즈문의",
    "교환/반품": "취소/반품/교환>반품>상품불량 반품",
    "재입고": "쇼핑상품문의>쇼핑상품상세문의>재입고문의",
    "상품": "기타문의>기타>전상담사통화요청",
}


@dataclass(eq=False, kw_only=True)
class InquiryGenerator(ArrivalGenerator[CoupangInquiryStore]):
    """Adds new inquiries to a Coupang sandbox over time and answers some older ones, as a real shop would see."""

    seller_answers = SELLER_ANSWERS
    arrivals_per_h: float = 12.0
    call_center_share: float = 0.2  # share of 고객센터 문의 among arrivals

    def _add(self, at: datetime) -> int:
        rng = self.rng
        product = rng.choice(PRODUCTS)
        category = rng.choice(sorted(QUESTIONS))
        question = self._question(category)
        name, phone = rng.choice(BUYER_NAMES), self._phone()
        with_pii = rng.random() < self.pii_share
        call_center = rng.random() < self.call_center_share
        if call_center:
            transfer = rng.random() < 0.1
            order_id = rng.randrange(10_000_000_000_000, 30_000_000_000_000)
            contact = f"<<{name}/{phone}>>" if with_pii or transfer else "대상 아님"
            note = (
                f"[판매자이관]\n◼주문번호: {order_id}\n◼아이템: {product}\n◼고객명/연락처: {contact}\n"
                f"◼문의내용: {question}\n"
            )
            inquiry_id = self.sandbox.add_call_center_inquiry(
                inquiry_at=at,
                agent_note=note,
                item_name=product,
                status=CallCenterStatus.TRANSFER if transfer else CallCenterStatus.REQUEST_ANSWER,
                vendor_item_id=rng.randrange(3_000_000_000, 4_000_000_000),
                order_id=order_id,
                order_date=at - timedelta(days=rng.randint(1, 10)),
                buyer_phone=f"010-****-{phone[-4:]}",
                receipt_category=RECEIPT_CATEGORIES[category],
            )
            will_answer = not transfer and rng.random() < self.answer_share
            return self._track(
                inquiry_id, at, will_answer, partial(self.sandbox.answer_call_center_inquiry, inquiry_id)
            )
        text = f"[{product}] {question}" + (f" {name}입니다. 연락은 {phone}로 부탁드려요." if with_pii else "")
        inquiry_id = self.sandbox.add_product_inquiry(
            content=text,
            inquiry_at=at,
            product_id=rng.randrange(7_000_000_000, 8_000_000_000),
            vendor_item_id=rng.randrange(3_000_000_000, 4_000_000_000),
            order_ids=[rng.randrange(10_000_000_000_000, 30_000_000_000_000)] if rng.random() < 0.5 else None,
        )
        will_answer = rng.random() < self.answer_share
        return self._track(inquiry_id, at, will_answer, partial(self.sandbox.answer_product_inquiry, inquiry_id))

    def _question(self, category: str) -> str:
        rng = self.rng
        template = rng.choice(QUESTIONS[category])
        return template.format(
            days=rng.randint(2, 6),
            size=rng.choice(("S", "M", "L", "66", "95")),
            height=rng.randint(150, 185),
            weight=rng.randint(45, 85),
            color=rng.choice(COLORS),
        )
