"""Word lists for telling a Korean name from a word: surnames, the syllables given names are made of, and common
words that begin with a surname syllable (김치, 정품, 박스, 이번, 최신형 …), the roles people are called by (고객,
기사, 사장 …) and the labels that announce a name (성함, 수령인, 예금주 …).

Curated by hand for what buyers and marketplace CS agents write; a word belongs here when the masker would otherwise
take it for a name (a surname syllable first, then syllables that also occur in given names).
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _syllables(text: str) -> frozenset[str]:
    return frozenset(text.replace(" ", "").replace("\n", ""))


# Single-syllable surnames (통계청 성씨 list, about 99.5 % of people). Left out: the rarest ones that begin everyday
# words (사, 상, 시, 가, 부, 경 …): a cue such as a label still catches such a name.
SURNAMES = _syllables(
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나지엄채원천방공현함변염"
    "여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예봉태동호빈온라견음경"
)
# The common ones (about 95 % of people): enough evidence on their own for a name with no cue around it.
COMMON_SURNAMES = _syllables(
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나지엄채원천방공현함변염여추"
    "도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용예"
)
COMPOUND_SURNAMES = _words("남궁 제갈 선우 황보 독고 사공 서문 동방 어금 망절")

# Syllables Korean given names are made of (Sino-Korean name syllables and the native ones: 슬, 별, 빛, 솔, 샘 …).
# A word whose second or third syllable is not here (었, 겠, 습, 니, 요, 품 …) is not a name without a cue.
GIVEN_SYLLABLES = _syllables(
    "가각간갑강개건겸경계고곤공관광교구국군궁권귀규균근금기길나낙난남내녀년노누늘다단달담당대덕도돈동두득등라락란람"
    "랑래량려련렬령례로록론롱뢰료룡루류륜률름릉리린림마만매맹명모목몽묘무묵문미민바반방배백범법벽변별병보복본봄"
    "봉부분비빈빛사산삼상새샘생서석선설섬섭성세소솔송수숙순술숭슬승시식신실심아안애야양어언엄여역연열염엽영예오옥온"
    "올완왕용우욱운울웅원월위유육윤율융은음응의이익인일임자작장재정제조존종좌주준중지직진집찬창채천철첨청초촌총추축"
    "춘충취치칠탁태택판평표풍필하학한함해행향헌혁현협형혜호홍화환활황회효후훈휘흠흥희힘결빈린율온설새슬말"
)
# The syllables that most often start a given name: a two-syllable word whose second syllable is one of these
# (이상, 정수, 이민 …) may be the start of a name (이상민, 정수민, 이민호), so it never explains a longer word away.
NAME_START_SYLLABLES = _syllables(
    "민서지수현준영진우은하예도주윤정성재동유연소혜원채상승경희시태선건한미나용인석기호규"
)
# The syllables that most often end a modern given name (민준, 서연, 도윤, 은채, 은비). A given name that starts with
# one of NAME_START_SYLLABLES and ends with one of these is typical enough to count with a rarer surname (태민호,
# 온유진), or with a final that usually ends a word (은채, 은비), when nothing else is around it.
NAME_END_SYLLABLES = _syllables("민준윤서우호진현은아연영희원훈혁빈율린하인채경석성재비")
# Foreign names as written in Hangul, the common ones of the buyers a Korean shop meets (Vietnamese, Japanese,
# Chinese, Russian, English-speaking): a name on its own, and the start of a name of two or three words
# (응우옌 티 흐엉, 타나카 유키, 존 스미스). Left out: those that are also words (안나 = 안 나, 사라 = 사라고, 브라운 …).
FOREIGN_NAMES = _words(
    """
    응우옌 응웬 응우엔 뉴엔 쩐 호앙 부이 흐엉 투안 티엔 후엔 짱 타나카 다나카 사토 스즈키 다카하시 타카하시
    와타나베 야마모토 나카무라 고바야시 요시다 야마다 사사키 야마구치 마츠모토 이노우에 기무라 하야시 시미즈 유키
    하루토 히로시 사쿠라 스미스 존슨 윌리엄스 데이비스 가르시아 로드리게스 마르티네스 윌슨 앤더슨 잭슨 톰슨 해리스
    클라크 로빈슨 마리아 엘레나 나탈리아 올가 이리나 타티아나 아나스타샤 율리아 스베틀라나 알렉스 알렉산더
    알렉산드르 안드레이 세르게이 드미트리 니콜라이 블라디미르 제임스 마이클 데이비드 다니엘 제시카 에밀리 소피아
    엠마 올리비아 무함마드 아흐메드 카를로스 호세 후안 제니퍼 크리스 크리스틴 케빈 브라이언 스티븐 앤드류 왕웨이
    리웨이 장웨이 팜 부이 호앙 응오 즈엉
    """
)
# Particles and endings: after a known word they make the run that word plus grammar (정상이에요, 이상해요).
ENDING_START_SYLLABLES = _syllables(
    "이가은는을를의에께로으와과도만요예입인라랑하나까부보처해했한할함합되돼됐된될됨됩였야여네죠지게고며면서셨세씩째쯤들시"
)
# Syllables that make a noun out of a noun (배송+비, 주문+자, 최신+형, 선물+용, 배송+지연): after a known word they
# explain the run, even when they also occur in given names.
NOUN_SUFFIX_SYLLABLES = _syllables(
    "비자건지형판용품일량료서기별상성적화식감값금액률율점장실소층권표제법관처함색맛들씩째쯤중후간내외시산통병팩개원차물류구방주"
)
# A third syllable that is a particle, never a name's end (with no cue): 정리가, 박스를, 김치도, 소음이 are a word and
# a particle.
PARTICLE_SYLLABLES = _syllables("가는을를의에와과요께랑며로도이")

# Who people are, not who they are called: never a name, even before 님 or 씨.
ROLE_WORDS = _words(
    """
    고객 고객님 회원 회원님 기사 기사님 배송기사 택배기사 사장 사장님 사모 사모님 선생 선생님 주인 주인장 손님 판매자
    구매자 주문자 수령인 수령자 수취인 예금주 입금자 담당자 담당 상담사 상담원 관리자 운영자 셀러 매니저 직원 작가
    대표 대표님 부장 차장 과장 대리 실장 팀장 원장 교수 목사 신부 수녀 이사 전무 상무 주임 사원 반장 총무 경비 경비원
    기사분 배달원 이모 이모님 고모 고모님 삼촌 형님 누님 언니 오빠 동생 아빠 엄마 어머니 어머님 아버지 아버님 부모
    부모님 할머니 할아버지 아들 딸 남편 아내 부인 와이프 신랑 신부 여보 자기 친구 지인 가족 조카 손자 손녀 장모 장모님
    장인 장인어른 시어머니 선배 후배 동료 이웃 여러분 우리 저희 본인 당사자 신청자 예약자 작성자 문의자 이용자 방문자
    구매 판매 배송원 배달 상담 고객센터 센터 업체 판매처 쇼핑몰 스토어 본사 지점 매장 가게 회사 도련 서방 임금 공주
    왕자 여왕 조장 국장 소장 선임 연구원 기장 함장 선장 도사 하나 학생 직장인 주부 외국인 초보 초보자 대학생 고등학생
    중학생 회사원 공무원 간호사 의사 군인 자영업자 프리랜서 유학생 교민 환자 장애인 임산부 개인 처음 아니 그거 저거
    이거 단골 신입 막내
    """
)

# Labels after which a name follows (성함: 김철수, 수령인 변경 → 박영희, 예금주 홍길동).
NAME_LABELS = (
    "고객 성함",
    "고객명",
    "고객이름",
    "고객 이름",
    "성함",
    "성명",
    "이름",
    "실명",
    "본명",
    "구매자명",
    "구매자",
    "주문자명",
    "주문자",
    "주문인",
    "수령인",
    "수령자",
    "수취인",
    "수하인",
    "받는분",
    "받는 분",
    "받는사람",
    "받는 사람",
    "받으시는 분",
    "받으실 분",
    "보내는분",
    "보내는 분",
    "보내는사람",
    "보내는 사람",
    "발송인",
    "예금주",
    "입금자명",
    "입금자",
    "환불 예금주",
    "신청인",
    "신청자",
    "예약자",
    "작성자",
    "회원명",
    "담당자",
    "상담원",
    "상담사",
    "배송기사",
    "기사님",
    "명의자",
)
# Fields that sit between a label and its value in `이름/연락처: 김철수/010-…`.
OTHER_FIELDS = tuple(
    "연락처 전화번호 휴대폰 핸드폰 휴대전화 번호 전화 주소 이메일 메일 계좌 정보 변경".split()  # noqa: SIM905
)

# People introducing themselves: 저 김철수인데요, 저는 …입니다, 본인 ….
INTRO_WORDS = _words("저 저는 전 제가 본인 본인은 나 나는 난 여기는 저희는")
