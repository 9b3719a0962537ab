"""The check before sending: a table of answers as sellers write them. Calm ones must pass without a finding;
problem ones must be flagged with the expected code and severity. Then limits, names, order numbers, and hypothesis
(no crash on any text)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.answers import AnswerLimit
from policies.answer_check import blocking, check_answer

# (answer, public): calm, standard answers that must pass with no finding at all.
CALM: list[tuple[str, bool]] = [
    (
        "안녕하세요 고객님, 배송이 늦어져 정말 죄송합니다. 주문량이 많아 출고가 하루 늦어졌으며 12월 4일(금)까지 꼭 "
        "출고해 드리겠습니다. 기다려 주셔서 감사합니다.",
        True,
    ),
    ("불편을 드려 죄송합니다. 상품은 오늘 오후 출고되어 내일 받아 보실 수 있습니다. 감사합니다.", True),
    (
        "고객님, 기다리게 해 드려 죄송합니다. 해외 현지 물류센터에서 출고가 지연되어 항공편이 하루 늦어졌습니다. "
        "12월 9일(수)까지 국내에 도착할 예정이며 도착하면 바로 안내드리겠습니다.",
        True,
    ),
    (
        "안녕하세요. 현재 상품이 인천세관에서 통관 대기 중입니다. 연말이라 통관 물량이 많아 평소보다 2~3일 더 걸리고 "
        "있습니다. 통관이 끝나면 CJ대한통운으로 넘어가며, 관세청 유니패스(unipass.customs.go.kr)에서 진행 상황을 "
        "조회하실 수 있습니다. 양해 부탁드립니다.",
        True,
    ),
    (
        "통관 과정에서 세관 검사 대상으로 지정되어 시간이 조금 더 걸리고 있습니다. 검사가 끝나는 대로 발송되며, "
        "12월 7일(월)까지 진행 상황을 다시 안내해 드리겠습니다. 불편을 드려 죄송합니다.",
        True,
    ),
    (
        "받으신 상품이 파손되어 있었다니 정말 죄송합니다. 불량은 저희가 왕복 배송비를 부담해 바로 교환 또는 환불해 "
        "드립니다. 주문 내역에서 교환이나 반품을 신청해 주시면 회수 후 즉시 처리해 드리겠습니다.",
        True,
    ),
    (
        "포장 과정에서 불량을 걸러내지 못해 죄송합니다. 새 상품으로 교환해 드리거나 전액 환불해 드리겠습니다. "
        "원하시는 방법을 이 문의에 남겨 주세요.",
        False,
    ),
    (
        "불편을 드려 죄송합니다. 초기 불량으로 확인되어 새 제품을 오늘 바로 보내 드렸습니다. 받으신 제품은 택배 "
        "기사님이 방문해 회수해 갈 예정이니 박스에 넣어 문 앞에 두시면 됩니다.",
        False,
    ),
    (
        "반품은 주문 내역에서 '반품 신청'을 누르시면 택배 기사님이 2~3일 안에 방문해 회수해 갑니다. 받으신 구성품을 "
        "모두 넣어 주시면 됩니다. 감사합니다.",
        True,
    ),
    (
        "단순 변심 반품은 상품 수령 후 7일 이내에 가능하며, 왕복 배송비 6,000원은 반품 신청 시 결제되거나 "
        "환불 금액에서 차감됩니다. 문의 주셔서 감사합니다.",
        True,
    ),
    (
        "반품 상품이 오늘 입고되어 검수를 마쳤습니다. 내일까지 환불 처리해 드리며, 카드 결제는 카드사에 따라 영업일 "
        "기준 3~5일 뒤 취소 내역을 확인하실 수 있습니다.",
        False,
    ),
    (
        "환불은 결제하신 수단으로 진행됩니다. 무통장 입금으로 결제하신 경우 등록하신 환불 계좌로 입금됩니다. "
        "기다려 주셔서 감사합니다.",
        False,
    ),
    (
        "교환 신청해 주셔서 감사합니다. 회수한 상품을 확인하는 대로 요청하신 L 사이즈로 보내 드리겠습니다. 재고는 "
        "미리 확보해 두었습니다.",
        False,
    ),
    (
        "교환은 주문 내역에서 교환 신청 후 원하시는 옵션을 선택해 주시면 됩니다. 상품 회수 후 1~2일 안에 새 상품을 "
        "출고해 드립니다.",
        True,
    ),
    (
        "문의하신 상품은 현재 품절입니다. 다음 주 수요일 재입고 예정이며, 입고되면 바로 판매를 다시 시작하겠습니다. "
        "기다려 주셔서 감사합니다.",
        True,
    ),
    (
        "아쉽게도 해당 색상은 단종되어 재입고 계획이 없습니다. 비슷한 디자인의 네이비 색상은 구매 가능하니 참고 "
        "부탁드립니다.",
        True,
    ),
    (
        "정사이즈로 나온 제품입니다. 평소 M 사이즈를 입으시면 M을 추천드리며, 여유 있게 입으시려면 L을 권해 드립니다. "
        "실측 사이즈는 상세 정보의 사이즈표를 참고해 주세요.",
        True,
    ),
    ("발볼이 넓으신 편이면 반 치수 크게 주문하시길 권해 드립니다. 감사합니다.", True),
    (
        "처음 사용하시기 전에 2시간 정도 완전히 충전해 주세요. 전원 버튼을 3초간 누르면 파란 불이 켜지며 연결 "
        "모드로 바뀝니다.",
        True,
    ),
    ("세척은 중성세제로 손세탁해 주시고 건조기 사용은 피해 주세요. 수축될 수 있습니다.", True),
    ("이 제품은 220V 전용입니다. 해외에서 사용하시려면 변압기가 필요합니다.", True),
    (
        "안녕하세요. 해외배송 상품은 통관을 위해 개인통관고유부호가 필요합니다. 주문 상세의 배송지 정보에서 받는 분 "
        "성함과 일치하는 부호로 수정해 주시면 바로 통관을 진행하겠습니다.",
        True,
    ),
    (
        "입력하신 개인통관고유부호와 수취인 성함이 일치하지 않아 통관이 보류되었습니다. 번거로우시겠지만 관세청 "
        "유니패스에서 부호를 확인하신 뒤 주문 정보에서 수정 부탁드립니다.",
        False,
    ),
    ("주문번호 2000012345678 건 확인했습니다. 오늘 출고되었으며 송장번호는 주문 내역에서 확인하실 수 있습니다.", False),
    ("출고 전이라 바로 취소해 드렸습니다. 결제 금액은 1~3영업일 안에 환불됩니다. 이용해 주셔서 감사합니다.", False),
    ("이미 출고되어 취소가 어렵습니다. 죄송합니다. 받으신 뒤 반품 신청해 주시면 빠르게 처리해 드리겠습니다.", True),
    (
        "택배사 사정으로 배송이 하루 늦어지고 있습니다. CJ대한통운(1588-1255)에서도 배송 조회가 가능하며, "
        "내일 중 도착할 예정입니다. 불편을 드려 죄송합니다.",
        True,
    ),
    ("배송 조회는 https://www.cjlogistics.com 에서 송장번호로 하실 수 있습니다. 감사합니다.", True),
    ("주문 제작 상품이라 제작에 5영업일이 걸립니다. 제작이 끝나면 바로 발송하고 안내드리겠습니다.", True),
    ("오늘 오후 2시 이전 주문은 당일 출고됩니다. 내일 받아 보실 수 있도록 최대한 빠르게 보내 드리겠습니다.", True),
    (
        "불편을 드려 죄송합니다. 확인해 보니 출고 과정에서 구성품 하나가 빠졌습니다. 빠진 충전 케이블을 오늘 바로 "
        "따로 보내 드렸습니다.",
        False,
    ),
    ("말씀해 주신 부분 꼼꼼히 확인하겠습니다. 담당 부서에 확인 후 내일 오후까지 다시 안내해 드리겠습니다.", True),
    ("소중한 의견 감사합니다. 말씀해 주신 부분은 상세 정보에 더 잘 보이도록 보완하겠습니다.", True),
    (
        "제품 하자로 불편을 드려 진심으로 사과드립니다. 반품 배송비는 저희가 부담하며, 회수되는 대로 전액 환불해 "
        "드리겠습니다.",
        True,
    ),
    ("고객님, 많이 기다리셨을 텐데 정말 죄송합니다. 재발송한 상품은 내일 도착 예정입니다.", False),
    ("네, 해당 상품은 국내 정식 수입 제품이며 A/S는 구매일로부터 1년간 가능합니다.", True),
    ("유통기한은 2027년 6월까지인 제품으로 발송됩니다. 감사합니다.", True),
    ("사진 확인했습니다. 말씀하신 얼룩은 불량이 맞습니다. 바로 교환해 드리겠습니다.", False),
    ("쿠팡 고객센터(1577-7011)로 문의하시면 반품 접수를 더 빨리 도와드릴 수 있습니다.", True),
    ("주문하신 상품은 주말에는 배송되지 않아 월요일에 도착할 예정입니다. 양해 부탁드립니다.", True),
    ("이유를 따지지 않고 교환해 드립니다. 편하게 신청해 주세요.", True),
    ("소중한 리뷰 남겨 주셔서 감사합니다. 앞으로도 좋은 상품으로 보답하겠습니다.", True),
    ("배송 중 영향을 미친 부분이 있었는지 택배사에 확인해 보겠습니다. 결과는 내일 안내드리겠습니다.", True),
]

CALM += [
    ("확인해 보니 고객님 잘못이 아니라 출고 과정의 실수였습니다. 죄송합니다. 바로 다시 보내 드리겠습니다.", False),
    ("왜 그런 문제가 생겼는지 확인해 보고 내일까지 안내드리겠습니다.", True),
    ("다른 고객님들께도 동일하게 안내드리고 있는 부분이라 양해 부탁드립니다.", True),
    ("많이 황당하셨을 텐데 정말 죄송합니다. 오늘 바로 새 상품을 보내 드리겠습니다.", False),
    ("상세페이지에 안내된 대로 교환해 드리겠습니다.", True),
    ("송장번호 6789-1234-5678로 배송 조회를 하실 수 있습니다.", False),
    ("배송 지연이 일정에 영향을 미쳐 죄송합니다. 남은 일정에 맞춰 내일 오전 도착하도록 보내 드렸습니다.", True),
]

# (answer, public, code, severity): each must be flagged with this code at this severity.
PROBLEMS: list[tuple[str, bool, str, str]] = [
    # blame and arguing: warnings
    ("상세페이지에 분명히 해외배송이라고 적혀 있습니다.", True, "blame", "warn"),
    ("상세 페이지에 명확히 안내되어 있는 내용입니다.", True, "blame", "warn"),
    ("구매 전에 상세페이지 읽어보셨나요?", True, "blame", "warn"),
    ("사이즈표를 확인하지 않으셨던 것 같습니다.", True, "blame", "warn"),
    ("구매 전에 확인하셨어야 합니다.", True, "blame", "warn"),
    ("이건 고객님 과실이라 교환이 어렵습니다.", True, "blame", "warn"),
    ("고객님 부주의로 파손된 것으로 보입니다.", False, "blame", "warn"),
    ("사용 흔적이 있어 규정상 불가합니다.", True, "blame", "warn"),
    ("원칙상 안 됩니다.", True, "blame", "warn"),
    ("단순 변심은 절대 불가입니다.", True, "blame", "warn"),
    ("왜 그러셨어요? 미리 말씀하셨어야죠.", False, "blame", "warn"),
    ("왜 이제야 말씀하시는지 모르겠습니다.", False, "blame", "warn"),
    ("저희 잘못이 아닙니다. 택배사에 문의하세요.", True, "blame", "warn"),
    ("판매자 책임은 없습니다.", True, "blame", "warn"),
    ("저희도 피해자입니다.", True, "blame", "warn"),
    ("통관 지연은 저희도 어쩔 수 없습니다.", True, "blame", "warn"),
    ("안 되는 건 안 됩니다.", True, "blame", "warn"),
    ("안되는건 안돼요.", False, "blame", "warn"),
    ("몇 번을 말씀드려야 하나요?", False, "blame", "warn"),
    ("같은 말씀을 반복하시네요.", False, "blame", "warn"),
    ("이해를 못 하시는 것 같은데요.", False, "blame", "warn"),
    ("분명히 말씀드렸잖아요.", False, "blame", "warn"),
    ("상식적으로 생각해 보세요.", True, "blame", "warn"),
    ("무리한 요구는 들어드릴 수 없습니다.", True, "blame", "warn"),
    ("다른 고객님들은 다 잘 쓰십니다.", True, "blame", "warn"),
    ("택배사 잘못이니 택배사에 따지세요.", True, "blame", "warn"),
    ("원하시면 마음대로 하세요.", False, "blame", "warn"),
    ("신고하시든지 알아서 하세요.", False, "blame", "warn"),
    ("그런 말 한 적 없습니다.", False, "blame", "warn"),
    ("사용하셨으면서 반품하시겠다는 건가요?", False, "blame", "warn"),
    ("마음에 안 드시면 사지 마세요.", True, "blame", "warn"),
    ("ㅋㅋ 그건 안 됩니다", True, "blame", "warn"),
    ("그것도 모르시고 주문하셨나요?", True, "blame", "warn"),
    ("착각하신 것 같습니다. 주문하신 건 블랙입니다.", False, "blame", "warn"),
    ("황당한 요구네요.", True, "blame", "warn"),
    # insults and abuse: blocked
    ("진상 고객 응대할 시간 없습니다.", True, "abuse", "block"),
    ("블랙컨슈머로 등록하겠습니다.", True, "abuse", "block"),
    ("거짓말 하지 마세요.", False, "abuse", "block"),
    ("한심하네요 정말.", False, "abuse", "block"),
    ("개념이 없으시네요.", True, "abuse", "block"),
    ("미친 거 아니세요?", False, "abuse", "block"),
    ("양심이 없으시네요.", True, "abuse", "block"),
    # off the marketplace: blocked
    ("빠른 처리를 원하시면 010-1234-5678로 전화 주세요.", False, "direct_contact", "block"),
    ("카톡 아이디 shop1234로 사진 보내 주세요.", False, "direct_contact", "block"),
    ("카카오톡 채널 '바른생활'로 문의 주시면 빠릅니다.", True, "direct_contact", "block"),
    ("오픈채팅으로 들어오시면 바로 답해 드립니다.", True, "direct_contact", "block"),
    ("라인 아이디 barun 으로 연락 주세요.", True, "direct_contact", "block"),
    ("텔레그램으로 연락 주세요.", True, "direct_contact", "block"),
    ("사진은 shop@barun.co.kr로 보내 주세요.", False, "direct_contact", "block"),
    ("제 개인 번호로 문자 남겨 주시면 됩니다.", False, "direct_contact", "block"),
    ("자세한 설명은 blog.naver.com 말고 www.barunshop.com 에서 보세요.", True, "external_link", "block"),
    ("할인 쿠폰은 https://bit.ly/3abcde 에서 받으세요.", True, "external_link", "block"),
    ("저희 자사몰 barun.shop 에서 사시면 더 쌉니다.", True, "external_link", "block"),
    ("국민은행 123456-01-123456 (예금주 바른생활)로 보내 주세요.", False, "bank_account", "block"),
    # review changes and outside payments: blocked
    ("리뷰 삭제해 주시면 바로 환불해 드리겠습니다.", False, "review_request", "block"),
    ("후기 수정 부탁드립니다.", True, "review_request", "block"),
    ("별점 좀 올려 주시면 사은품 보내 드릴게요.", False, "review_request", "block"),
    ("남기신 리뷰를 내려 주시면 교환해 드리겠습니다.", False, "review_request", "block"),
    ("별 5개 부탁드려요!", True, "review_request", "block"),
    ("반품비 6,000원은 아래 계좌로 입금 부탁드립니다.", False, "outside_payment", "block"),
    ("왕복 배송비는 박스에 현금 동봉해 주세요.", False, "outside_payment", "block"),
    ("교환비 5,000원 송금해 주시면 바로 보내 드립니다.", False, "outside_payment", "block"),
    ("차액은 계좌로 보내 주세요.", False, "outside_payment", "block"),
    # variables, order numbers, buyer data
    ("{상품명} 재입고 예정입니다.", True, "unfilled_variable", "block"),
    ("{약속일:+2영업일}까지 보내 드립니다.", False, "unfilled_variable", "block"),
    ("{주문번호} 건 확인했습니다.", True, "order_number_public", "block"),
    ("서울특별시 강남구 테헤란로 123 주소로 재발송했습니다.", True, "buyer_data", "block"),
    ("개인통관고유부호 P123456789012 확인했습니다.", True, "buyer_data", "block"),
    ("김민수 고객님, 주문 확인했습니다.", True, "name_public", "warn"),
    # warnings worth a second look
    ("저희 고객센터 1600-1234로 연락 주세요.", True, "representative_number", "warn"),
    ("궁금하신 점은 전화 주시면 설명드리겠습니다.", True, "contact_request", "warn"),
    ("좋은 후기 부탁드립니다!", True, "review_ask", "warn"),
    ("포토 리뷰 남겨 주시면 적립금 2,000원 드립니다.", True, "review_ask", "warn"),
]


def test_the_table_is_big_enough() -> None:
    assert len(CALM) + len(PROBLEMS) >= 80
    assert {code for _, _, code, _ in PROBLEMS} >= {
        "blame",
        "abuse",
        "direct_contact",
        "external_link",
        "bank_account",
        "review_request",
        "outside_payment",
        "unfilled_variable",
        "order_number_public",
        "buyer_data",
    }


@pytest.mark.parametrize(("answer", "public"), CALM, ids=[a[:24] for a, _ in CALM])
def test_calm_answers_pass(answer: str, public: bool) -> None:
    assert check_answer(answer, public=public, order_ids=["2000012345678"]) == ()


@pytest.mark.parametrize(("answer", "public", "code", "severity"), PROBLEMS, ids=[p[0][:24] for p in PROBLEMS])
def test_problem_answers_are_flagged(answer: str, public: bool, code: str, severity: str) -> None:
    findings = check_answer(answer, public=public)
    flagged = {(f.code, f.severity) for f in findings}
    assert (code, severity) in flagged, findings
    finding = next(f for f in findings if f.code == code)
    assert finding.words and all(word in answer or word[0].isdigit() for word in finding.words)
    assert all(f"‘{word}’" in finding.message for word in finding.words)


def test_blocking_findings_come_first() -> None:
    findings = check_answer("상세페이지에 분명히 적혀 있습니다. 010-1234-5678로 전화 주세요.", public=False)
    assert [f.severity for f in findings] == sorted((f.severity for f in findings), key=lambda s: s != "block")
    assert [f.code for f in blocking(findings)] == ["direct_contact"]


def test_the_words_are_named_in_korean() -> None:
    (finding,) = check_answer("상세페이지에 분명히 나와 있고 규정상 불가합니다.", public=True)
    assert finding.code == "blame"
    assert finding.words == ("상세페이지에 분명히", "규정상 불가")
    assert (
        finding.message
        == "탓하거나 따지는 말: ‘상세페이지에 분명히’, ‘규정상 불가’. 사과, 사실, 처리 일정으로 바꿔 주세요."
    )


def test_the_buyers_name_is_buyer_data_on_a_public_stream_only() -> None:
    answer = "이서연 고객님 안녕하세요. 오늘 출고됩니다."
    assert [(f.code, f.severity) for f in check_answer(answer, public=True, known_names=["이서연"])] == [
        ("buyer_data", "block")
    ]
    assert check_answer(answer, public=False, known_names=["이서연"]) == ()


def test_the_inquirys_own_order_number_may_be_quoted() -> None:
    answer = "주문번호 2024010112345678 건 확인했습니다."
    assert check_answer(answer, public=False, order_ids=["2024010112345678"]) == ()


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("가" * 1000, AnswerLimit(1000), []),
        ("가" * 1001, AnswerLimit(1000), [("too_long", "block", ("1,001자",))]),
        ("가" * 1001, AnswerLimit(1000, documented=False), [("too_long", "warn", ("1,001자",))]),
        ("가", AnswerLimit(1000, min_length=2, documented=False), [("too_short", "warn", ("1자",))]),
        ("가" * 500, AnswerLimit(1000, "euc-kr"), []),
        ("가" * 501, AnswerLimit(1000, "euc-kr", documented=False), [("too_long", "warn", ("1,002바이트(EUC-KR)",))]),
        ("가" * 334, AnswerLimit(1000, "utf-8"), [("too_long", "block", ("1,002바이트(UTF-8)",))]),
        ("감사합니다 😀", AnswerLimit(1000, "euc-kr"), [("unencodable", "block", ("😀",))]),
    ],
)
def test_length_limits(text: str, limit: AnswerLimit, expected: list[tuple[str, str, tuple[str, ...]]]) -> None:
    assert [(f.code, f.severity, f.words) for f in check_answer(text, public=False, limit=limit)] == expected


def test_an_empty_answer_is_blocked() -> None:
    assert [(f.code, f.severity) for f in check_answer(" \n", public=False)] == [("empty", "block")]


@settings(max_examples=300, deadline=None)
@given(text=st.text(), public=st.booleans(), size=st.integers(min_value=1, max_value=50))
def test_any_text_is_checked_without_a_crash(text: str, public: bool, size: int) -> None:
    for limit in (AnswerLimit(size), AnswerLimit(size, "euc-kr", documented=False), None):
        findings = check_answer(text, public=public, limit=limit)
        assert all(f.severity in ("block", "warn") and f.message for f in findings)
