"""A believable stream of Naver Smart Store questions for the demo, fed into a NaverSandbox.

Public product questions (상품 문의, masked writer ids) and buyers' 1:1 order inquiries (고객 문의, with the
buyer's real name and id as the API returns them) arrive as a Poisson process; a share of them is later answered
as if the seller had answered in the Smart Store center, so the demo shows arrival and answered detection.
Some texts also carry a phone number, as real ones do, so masking downstream gets exercised.
Everything is driven by the `random.Random` passed in: the same seed gives the same stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from connectors.sandbox.arrivals import ArrivalGenerator
from connectors.sandbox.naver.store import NaverInquiryStore

SELLER_ANSWERS = (
    "안녕하세요, 고객님. 내일 오전 중 발송 예정입니다. 감사합니다.",
    "안녕하세요, 고객님. 교환 접수 도와드렸습니다. 불편을 드려 죄송합니다.",
    "안녕하세요, 고객님. 다음 주 중 재입고 예정입니다.",
    "안녕하세요, 고객님. 확인 후 바로 처리해 드리겠습니다.",
)
PRODUCTS = (
    "국내산 햇사과 5kg 가정용",
    "여성 린넨 셔츠 오버핏",
    "캠핑 감성 LED 랜턴",
    "유아 실리콘 이유식 식판",
    "무농약 제주 당근 3kg",
    "남성 데일리 슬랙스",
    "고양이 스크래쳐 하우스",
    "스테인리스 냄비 3종 세트",
    "수분 크림 대용량 100ml",
    "원목 접이식 좌탁",
)
CUSTOMERS = (
    ("김민수", "minsu0312"),
    ("이서연", "seoyeon_lee"),
    ("박지훈", "jhpark88"),
    ("최유진", "yujin.choi"),
    ("정다은", "daeun2020"),
    ("강현우", "hyunwoo_k"),
)
PRODUCT_QUESTIONS = (
    "{option} 색상 재입고 예정 있나요?",
    "사이즈가 정사이즈인가요? 평소 {size} 입어요.",
    "유통기한이 언제까지인가요?",
    "선물 포장 가능한가요?",
    "세척기 사용해도 되나요?",
)
CUSTOMER_INQUIRIES = {
    "배송": ("배송 언제 되나요?", "주문한 지 {days}일 지났는데 아직 발송 전이에요. 언제 보내주시나요?"),
    "교환": ("사이즈 교환 문의", "받아보니 작아서 한 치수 큰 걸로 교환하고 싶어요."),
    "반품": ("반품 요청드립니다", "상품에 흠집이 있어서 반품하려고 합니다. 회수 일정 알려주세요."),
    "환불": ("환불 언제 되나요?", "반품 접수한 지 {days}일 됐는데 환불이 아직 안 됐어요."),
    "상품": ("구성품 문의", "구성품에 설명서가 빠져 있었어요. 따로 받을 수 있나요?"),
    "기타": ("영수증 문의", "현금영수증 발행 가능한가요?"),
}
OPTIONS = ("블랙", "아이보리", "네이비", "베이지")


@dataclass(eq=False, kw_only=True)
class NaverInquiryGenerator(ArrivalGenerator[NaverInquiryStore]):
    """Adds questions and inquiries to a NaverSandbox over time and answers some older ones, as a real shop would."""

    seller_answers = SELLER_ANSWERS
    arrivals_per_h: float = 12.0
    customer_share: float = 0.4  # share of 고객 문의 among arrivals

    def _add(self, at: datetime) -> int:
        rng = self.rng
        product = rng.choice(PRODUCTS)
        name, customer_id = rng.choice(CUSTOMERS)
        phone = self._phone()
        with_pii = rng.random() < self.pii_share
        if rng.random() < self.customer_share:
            category = rng.choice(sorted(CUSTOMER_INQUIRIES))
            title, text = CUSTOMER_INQUIRIES[category]
            body = text.format(days=rng.randint(2, 6)) + (f" 연락처는 {phone}입니다." if with_pii else "")
            item_id = self.sandbox.add_customer_inquiry(
                title=title,
                content=body,
                registered_at=at,
                category=category,
                customer_name=name,
                customer_id=customer_id,
                product_no=str(rng.randrange(8_000_000_000, 9_000_000_000)),
                product_name=product,
                product_order_option=f"색상: {rng.choice(OPTIONS)}",
            )
            will_answer = rng.random() < self.answer_share
            return self._track(item_id, at, will_answer, partial(self.sandbox.answer_customer_inquiry, item_id))
        question = rng.choice(PRODUCT_QUESTIONS).format(option=rng.choice(OPTIONS), size=rng.choice(("S", "M", "L")))
        question += f" {name}입니다. 답변은 {phone}로 문자 부탁드려요." if with_pii else ""
        item_id = self.sandbox.add_product_question(
            question=question,
            created_at=at,
            product_id=rng.randrange(8_000_000_000, 9_000_000_000),
            product_name=product,
            masked_writer_id=customer_id[:4] + "****",
        )
        will_answer = rng.random() < self.answer_share
        return self._track(item_id, at, will_answer, partial(self.sandbox.answer_product_question, item_id))
