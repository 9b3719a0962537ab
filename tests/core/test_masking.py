"""The buyer-data masker on what buyers and CS agents write (issue 14 §1): the seen failures, each detector's
forms, what must be spared, and the labelled corpus against the targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.privacy import CORPUS, DECOY_TARGET, TARGETS, Label, load_corpus, parse_marked, score
from core.masking import PiiKind, find_pii, mask_name, mask_pii

SAMPLES = load_corpus(CORPUS)
RESULT = score(SAMPLES)


# Each "Seen:" case of the issue: the first four were not masked (or half), the last two masked ordinary words.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("고객명/연락처: 윤성민/010-****-5845", "고객명/연락처: 윤*민/010-****-5845"),
        ("홍길순 010-4444-5555", "홍*순 010-****-5555"),
        ("주문자 이름: 박지훈", "주문자 이름: 박*훈"),
        ("저 김철수 인데요", "저 김*수 인데요"),
        ("남궁민수입니다", "남궁**입니다"),
        ("+82-10-1234-5678 로 연락주세요", "+82-10-****-5678 로 연락주세요"),
        ("배송지연 고객 문의", "배송지연 고객 문의"),
        ("제가 주문자예요", "제가 주문자예요"),
    ],
)
def test_seen_cases(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("010 7765 4410 문자", "010-****-4410 문자"),
        ("０１０－３３４５－７７８９ 입니다", "010-****-7789 입니다"),
        ("+82 10 5512 8834", "+82-10-****-8834"),
        ("+821098765432 로", "+82-10-****-5432 로"),
        ("(02)512-7743 경비실", "02-****-7743 경비실"),
        ("070-4411-2356", "070-****-2356"),
        ("0504-1234-5521 안심번호", "0504-****-5521 안심번호"),
        ("010-77**-1290 말고", "010-****-1290 말고"),
        ("010·2233·4455", "010-****-4455"),
        ("011-723-4455", "011-****-4455"),
        ("전화번호 0215881234로", "전화번호 02-****-1234로"),
    ],
)
def test_phone_forms(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("국민 123456-01-234567 홍길동", "국민 ******-**-**4567 홍*동"),
        ("계좌번호 110234567890 신한이에요", "계좌번호 ********7890 신한이에요"),
        ("카카오뱅크 3333-01-2345678 입니다", "카카오뱅크 ****-**-***5678 입니다"),
        ("카드번호 1234-5678-9012-3456 로", "카드번호 ****-****-****-3456 로"),
        ("개인통관고유부호 P123456789012 입니다", "개인통관고유부호 P********9012 입니다"),
        ("통관부호 p 1234 5678 9012", "통관부호 P********9012"),
        ("메일 minsu.kim@naver.com 으로", "메일 mi***@naver.com 으로"),
        ("{abc골뱅이naver.com}", "{a***@naver.com}"),
        ("주민번호 900101-1234567", "주민번호 ******-*******"),
    ],
)
def test_accounts_codes_and_emails(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("부산 해운대구 센텀중앙로 79 (우동) 으로", "부산 해운대구 *** 으로"),
        ("서울시 마포구 연남동 223-14 2층 입니다", "서울시 마포구 *** 입니다"),
        ("충남 천안시 동남구 신부동 456 현대아파트 103동 1104호로", "충남 천안시 동남구 ***로"),
        ("주소는 역삼로12길 34 이고", "주소는 역삼로12길 *** 이고"),
        ("래미안 105동 1202호 앞에", "래미안 *** 앞에"),
        ("공동현관 비번 #4521 눌러주세요", "공동현관 비번 **** 눌러주세요"),
        ("(06236) 서울특별시 강남구 테헤란로 152", "(*****) 서울특별시 강남구 ***"),
    ],
)
def test_address_forms(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("제갈현우 고객님, 출고됩니다", "제갈** 고객님, 출고됩니다"),
        ("예금주 사공민지 로 환불", "예금주 사공** 로 환불"),
        ("성함: 존 스미스 / 연락처", "성함: * *** / 연락처"),
        ("왕웨이님 주문 확인", "왕*이님 주문 확인"),
        ("박서준한테 선물하려고", "박*준한테 선물하려고"),
        ("이름은 엠마예요", "이름은 엠*예요"),
        ("영문 이름: KIM MINSU", "영문 이름: K** M****"),
        ("김 철수 님 문의", "김 *수 님 문의"),
    ],
)
def test_name_forms(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


# Names that the grammar around them gives away, with no label or honorific: a person's particle, a title with a
# particle, a possessive, a confirmation, a list with another name, a rarer surname with a typical given name,
# foreign names in Hangul, a labelled value of several words, units and lots that need no city.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("정은비한테 물어봤어요", "정*비한테 물어봤어요"),
        ("태민호 팀장님이 확인한대요", "태*호 팀장님이 확인한대요"),
        ("이건 홍서진꺼예요", "이건 홍*진꺼예요"),
        ("최은비 맞으시죠?", "최*비 맞으시죠?"),
        ("강슬기랑 강하늘 따로 포장", "강*기랑 강*늘 따로 포장"),
        ("온유진이 대신 받아요", "온*진이 대신 받아요"),
        ("정해인이라는 분이 받아요", "정*인이라는 분이 받아요"),
        ("응우옌 반 안 주문했어요", "응*옌 * * 주문했어요"),
        ("타나카 유키님 문의", "타*카 **님 문의"),
        ("고객명 사라 킴 / 연락처", "고객명 사* * / 연락처"),
        ("저 표준우요 아까", "저 표*우요 아까"),
        ("my name is Sophie Martin.", "my name is S***** M*****."),
        ("구월동 1138-5 그린빌라 B01호", "구월동 ***"),
        ("상도동 산 65-1 주택이에요", "상도동 *** 주택이에요"),
    ],
)
def test_names_given_away_by_grammar_and_short_addresses(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "택배 기사님한테 문 앞에 두라고 전해주세요",
        "김치랑 홍삼이랑 같이 주문했는데 정품 맞나요?",
        "엄마꺼랑 같이 쓰려고요 제가 엄마예요",
        "주문자 정보는 그대로예요 교환 원하심",
        "최신형이라 그런지 소음이 적네요 유치원 가방이에요",
        "심심해요 신기해요 이사해서요",
        "도로명: 지번:",
    ],
)
def test_look_alikes_of_the_new_rules_are_left_alone(text: str) -> None:
    assert mask_pii(text) == text


# Round 2, seen in real CS answers: the word before 고객님/님/씨 was taken for a name. Before an honorific, a verb
# form, a modifier, a conjunction, a Sino-Korean CS word or a shop loanword is not a name.
@pytest.mark.parametrize(
    "text",
    [
        "확인해 보니 고객님 주문은 내일 출고됩니다",
        "오늘 출고 고객님 송장 나갔습니다",
        "교환 접수 고객님 안내드려요",
        "그리고 고객님 사은품은 동봉했어요",
        "보내드렸고 고객님 수령 확인 부탁드려요",
        "다른 고객님 상품과 바뀌었어요",
        "소중한 고객님 의견 감사합니다",
        "무통장 입금 고객님 확인되면 출고해요",
        "카드 결제 고객님 부분취소 했습니다",
        "수선 고객님 일주일 걸립니다",
        "추가결제 고객님 링크 보내드릴게요",
        "안내드린 바와 같이 고객님 기한이 지났습니다",
        "채송화씨 몇알 들었나요",
        "받는 분 성함이 일치하지 않아 통관이 보류되었습니다",
    ],
)
def test_words_before_an_honorific_are_not_names(text: str) -> None:
    assert mask_pii(text) == text


# Round 2: names with no label, the way buyers write them; and names before an honorific still masked.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("권지용 주문건 송장번호 좀요", "권*용 주문건 송장번호 좀요"),
        ("봉태규 주문 취소요", "봉*규 주문 취소요"),
        ("엄마 이름으로 주문했어요 정순자", "엄마 이름으로 주문했어요 정*자"),
        ("할머니 김말순 드릴거라 포장 잘해주세요", "할머니 김*순 드릴거라 포장 잘해주세요"),
        ("저는 최지우고 주문번호 남길게요", "저는 최*우고 주문번호 남길게요"),
        ("수령인 바꿔주세요 구혜선으로요", "수령인 바꿔주세요 구*선으로요"),
        ("안녕하세요 정해인인데요", "안녕하세요 정*인인데요"),
        ("레이첼 이름으로 주문했어요", "레*첼 이름으로 주문했어요"),
        ("장쯔이 이름으로 된 주문", "장*이 이름으로 된 주문"),
        ("경비실 말고 제니퍼한테 주세요", "경비실 말고 제*퍼한테 주세요"),
        ("경다은 고객님 반품 요청", "경*은 고객님 반품 요청"),
        ("서윤님 교환 접수 완료", "서*님 교환 접수 완료"),
    ],
)
def test_names_without_a_label(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


# Not personal: product words that begin with a surname syllable, order/invoice/business numbers, sizes, prices, dates.
@pytest.mark.parametrize(
    "text",
    [
        "김치 유통기한이 언제까지인가요? 정품 맞나요? 박스 없이 오나요?",
        "이번에 산 최신형 모델 조립이 어려워요 한정판 홍삼 세트는요",
        "주문번호 16000009476673 배송 언제 되나요",
        "송장번호 123456789012 조회가 안 돼요",
        "운송장 6012-3456-7890 으로 조회",
        "사업자등록번호 123-45-67890 으로 발행",
        "고객센터 1588-1234 로 연락주세요",
        "사이즈 250-260, 가격 29,900원, 2024.03.15 주문, 무게 1.5kg",
        "상품번호 7291834455 와 같은 상품인가요",
        "정관장 홍삼정이랑 오미자청, 이유식 냄비도 주문했어요",
        "택배로 3개 보냈어요 이상한 냄새가 나요",
        "판매자님 사장님 기사님 고객님 확인 부탁드려요",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask_pii(text) == text


def test_known_buyer_name_also_in_its_marketplace_masked_form() -> None:
    assert mask_pii("김철수 앞으로, 김철수입니다", known_names=["김*수"]) == "김*수 앞으로, 김*수입니다"
    assert mask_pii("이번 주문", known_names=["이*"]) == "이번 주문"


def test_a_name_judge_settles_names_that_have_no_cue() -> None:
    text = "김민준 이지은 둘 다 같은 주소로"
    assert mask_pii(text) == "김*준 이*은 둘 다 같은 주소로"
    assert mask_pii(text, name_judge=lambda _text, start, _end: start != 0) == "김민준 이*은 둘 다 같은 주소로"
    assert mask_pii("성함: 김민준", name_judge=lambda *_: False) == "성함: 김*준"  # a label needs no judge


def test_find_pii_says_what_and_where() -> None:
    found = find_pii("홍길순 010-4444-5555")
    assert [(f.start, f.end, f.kind, f.masked) for f in found] == [
        (0, 3, PiiKind.NAME, "홍*순"),
        (4, 17, PiiKind.PHONE, "010-****-5555"),
    ]


def test_mask_name_forms() -> None:
    assert [mask_name(n) for n in ("김민수", "김민", "남궁민수", "황보영", "존 스미스", "이")] == [
        "김*수",
        "김*",
        "남궁**",
        "황보*",
        "* ***",
        "*",
    ]


def test_corpus_is_large_and_a_quarter_decoys() -> None:
    decoys = sum(1 for s in SAMPLES if not s.labels)
    assert len(SAMPLES) >= 300
    assert decoys >= len(SAMPLES) / 4
    assert {label.kind for s in SAMPLES for label in s.labels} >= set(TARGETS)


@pytest.mark.parametrize("kind", sorted(TARGETS))
def test_corpus_recall_meets_the_target(kind: str) -> None:
    missed = [(value, masked) for k, value, masked in RESULT.misses if k == kind]
    assert RESULT.recall(kind) >= TARGETS[kind], missed


def test_corpus_decoy_words_stay_intact() -> None:
    assert RESULT.decoy_share >= DECOY_TARGET, RESULT.decoy_hits


def test_corpus_markup_and_jsonl_say_the_same(tmp_path: Path) -> None:
    sample = parse_marked("고객명/연락처: {name:윤성민}/{phone:010-****-5845}\\n감사합니다")
    assert sample.text == "고객명/연락처: 윤성민/010-****-5845\n감사합니다"
    assert sample.labels == (Label(9, 12, "name"), Label(13, 26, "phone"))
    jsonl = tmp_path / "c.jsonl"
    pii = '[{"type": "name", "value": "윤성민"}, {"type": "phone", "start": 13, "end": 26}]'
    line = f'{{"text": "고객명/연락처: 윤성민/010-****-5845\\n감사합니다", "pii": {pii}}}\n'
    jsonl.write_text(line, encoding="utf-8")
    assert load_corpus(jsonl) == [sample]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("라미란 주문 배송지 변경해주세요", "라*란 주문 배송지 변경해주세요"),  # a rare surname, a typical given name
        ("원빈이가 받을거에요", "원*이가 받을거에요"),  # the fond 이 after a given name
        ("지수씨 택배 경비실에 있어요", "지*씨 택배 경비실에 있어요"),
        ("팜 티 투 짱 고객님 배송 지연 안내드립니다", "* * * * 고객님 배송 지연 안내드립니다"),
        ("쩐 티 란한테 보내주세요", "* * *한테 보내주세요"),
        ("리사 정 고객님께 연락 부탁드립니다", "리* * 고객님께 연락 부탁드립니다"),
        ("응우옌 티 마이 대신 받을게요", "응*옌 * ** 대신 받을게요"),  # 대신 is no part of the name
        ("호박씨 볶은거 있나요", "호박씨 볶은거 있나요"),
    ],
)
def test_round_three_name_patterns(text: str, masked: str) -> None:
    assert mask_pii(text) == masked
