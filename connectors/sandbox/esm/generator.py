"""A believable stream of G마켓/옥션 questions and now and then a 긴급알리미 for the demo, fed into an EsmSandbox.

Questions arrive as a Poisson process; a share of them is later answered as if the seller had answered in ESM+, so
the demo shows arrival and answered detection. Some texts carry a phone number, so masking downstream gets exercised.
Everything is driven by the `random.Random` passed in: the same seed gives the same stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from connectors.sandbox.arrivals import ArrivalGenerator
from connectors.sandbox.esm.store import GMARKET, EsmStore

SELLER_ANSWERS = ("안녕하세요 고객님, 확인 후 처리해 드렸습니다.", "안녕하세요 고객님, 내일 발송 예정입니다.")
PRODUCTS = ("국내산 햇사과 5kg", "여성 린넨 셔츠", "캠핑 LED 랜턴", "유아 실리콘 식판", "남성 데일리 슬랙스")
QUESTIONS = (
    ("배송", "배송 문의", "언제 발송되나요? 주문한 지 {days}일 됐어요."),
    ("교환", "교환 문의", "사이즈가 작아서 교환하고 싶어요."),
    ("반품", "반품 문의", "상품에 흠집이 있어 반품 원합니다."),
    ("상품", "상품 문의", "{product} 재입고 예정 있나요?"),
)
URGENT = ("고객 불만 접수", "구매자가 {days}일째 미발송 건으로 고객센터에 문의했습니다. 확인 부탁드립니다.")


@dataclass(eq=False, kw_only=True)
class EsmInquiryGenerator(ArrivalGenerator[EsmStore]):
    """Adds G마켓/옥션 questions (and now and then a 긴급알리미) to an EsmSandbox, and answers some of them."""

    seller_answers = SELLER_ANSWERS
    arrivals_per_h: float = 8.0
    urgent_share: float = 0.1  # share of 긴급알리미 among arrivals

    def _add(self, at: datetime) -> int:
        rng = self.rng
        site = rng.choice(sorted(self.sandbox.sellers))
        days = rng.randint(2, 6)
        phone = f" 연락처 {self._phone()}" if rng.random() < self.pii_share else ""
        if rng.random() < self.urgent_share:
            title, text = URGENT
            key = self.sandbox.add_urgent(site=site, title=title, contents=text.format(days=days), received_at=at)
        else:
            contract, title, text = rng.choice(QUESTIONS)
            key = self.sandbox.add_question(
                site=site,
                title=title,
                details=text.format(days=days, product=rng.choice(PRODUCTS)) + phone,
                received_at=at,
                qna_type=3 if site == GMARKET else rng.choice((1, 2)),
                contract_type=contract,
            )
        return self._track(key, at, rng.random() < self.answer_share, partial(self.sandbox.answer, key))
