"""A believable stream of 11st (11번가) product questions and 긴급알리미 messages for the demo, fed into an
ElevenstSandbox.

Product questions carry the buyer's name as the API returns it; 긴급알리미 messages come from 11st's call center
with a reply deadline (`emerReplyDt`) a few hours out. Some texts use characters outside KS X 1001 (똠, 햏) so the
EUC-KR path gets exercised, and some carry a phone number so masking downstream does too.
Everything is driven by the `random.Random` passed in: the same seed gives the same stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from connectors.sandbox.arrivals import ArrivalGenerator
from connectors.sandbox.elevenst.store import ElevenstStore

SELLER_ANSWERS = (
    "안녕하세요, 고객님. 내일 오전 중 발송 예정입니다. 감사합니다.",
    "안녕하세요, 고객님. 교환 접수 도와드렸습니다.",
    "확인 후 바로 처리해 드리겠습니다.",
)
PRODUCTS = ("똠양꿍 밀키트 2인분", "국내산 햇사과 5kg", "햏복한 고양이 쿠션", "캠핑 LED 랜턴", "여성 린넨 셔츠")
CUSTOMERS = (("김민수", "minsu0312"), ("이서연", "seoyeon_lee"), ("박지훈", "jhpark88"), ("최유진", "yujin.choi"))
QUESTIONS = (
    ("01", "재입고 문의", "{product} 재입고 예정 있나요?"),
    ("02", "배송 문의", "주문한 지 {days}일 됐는데 언제 받을 수 있나요?"),
    ("03", "반품 문의", "단순 변심 반품 가능한가요?"),
    ("04", "교환 문의", "사이즈 교환하고 싶어요. 똠방각하 님 말고 제가 주문자예요."),
    ("05", "기타 문의", "현금영수증 발행 가능한가요?"),
)
URGENT = (
    ("배송지연 고객 문의", ("배송", "배송지연"), "{days}일째 상품을 받지 못하셨다고 합니다. 발송 일정 회신 바랍니다."),
    ("교환 요청 확인", ("교환", "교환요청"), "고객님이 교환을 요청하셨습니다. 처리 가능 여부 회신 바랍니다."),
    ("취소 요청 확인", ("취소", "취소요청"), "고객님이 주문 취소를 원하십니다. 발송 전이면 취소 처리 바랍니다."),
)


@dataclass(eq=False, kw_only=True)
class ElevenstInquiryGenerator(ArrivalGenerator[ElevenstStore]):
    """Adds product questions and 긴급알리미 messages to an ElevenstSandbox and answers some older ones."""

    seller_answers = SELLER_ANSWERS
    arrivals_per_h: float = 8.0
    urgent_share: float = 0.25  # share of 긴급알리미 among arrivals
    notice_share: float = 0.2  # share of notices (nothing to answer) among 긴급알리미
    reply_hours: float = 24.0  # a 긴급알리미's reply deadline after it arrives

    def _add(self, at: datetime) -> int:
        rng = self.rng
        product = rng.choice(PRODUCTS)
        name, member_id = rng.choice(CUSTOMERS)
        phone = self._phone()
        days = rng.randint(2, 6)
        will_answer = rng.random() < self.answer_share
        if rng.random() < self.urgent_share:
            subject, classes, text = rng.choice(URGENT)
            notice = rng.random() < self.notice_share
            item_id = self.sandbox.add_alimi(
                content=text.format(days=days) + (f" 고객 연락처 {phone}" if rng.random() < self.pii_share else ""),
                created_at=at,
                reply_deadline=at + timedelta(hours=self.reply_hours),
                subject=subject,
                type_code="02" if notice else "01",
                product_name=product,
                order_no=str(rng.randrange(202_600_000_000_000, 202_699_999_999_999)),
                member_name=name,
                member_id=member_id,
                classes=classes,
            )
            return self._track(item_id, at, will_answer, partial(self.sandbox.answer_alimi, item_id))
        code, subject, text = rng.choice(QUESTIONS)
        content = text.format(product=product, days=days)
        if rng.random() < self.pii_share:
            content += f" {name}입니다. {phone}로 연락 주세요."
        item_id = self.sandbox.add_product_qna(
            content=content,
            created_at=at,
            subject=subject,
            prd_no=rng.randrange(1_000_000_000, 9_999_999_999),
            product_name=product,
            member_name=name,
            member_id=member_id,
            detail_code=code,
        )
        return self._track(item_id, at, will_answer, partial(self.sandbox.answer_product_qna, item_id))
