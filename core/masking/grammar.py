"""The grammar that follows a name in Korean: particles, copulas, honorifics, and what each says about the word
before it (김철수|한테 is a person; 김철수|입니다 is as telling as a label; 김철수|님 is a name)."""

from __future__ import annotations

from enum import Enum


class Cue(Enum):
    """What says a candidate is a name, strongest first."""

    LABEL_EXPLICIT = "label:"  # 성함: …, 이름/연락처: …
    LABEL = "label"  # 예금주 …, 수령인 …
    HONORIFIC = "honorific"  # …님, … 고객님, …씨
    ADJACENT = "adjacent"  # next to a phone, account, email or address, or another name (김슬기랑 김하늘)
    INTRO = "intro"  # 저 … 인데요
    COPULA = "copula"  # …입니다 (no 저 before), …한테, … 맞으시죠
    NONE = "none"


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Particles any noun takes: they say nothing about the word before them.
PARTICLES = (
    "",
    *_split("이 가 은 는 을 를 의 랑 이랑 하고 과 와 도 만 으로 로 네 이네 이가 이는 이도 이를 이의 이랑 이하고"),
)
# Particles that take a person (or an animal): 정은비한테, 이도윤에게, 할머니께서. As telling as 입니다.
PERSON_PARTICLES = _split("에게 한테 께 께서 이한테 이에게 에게서 한테서 이한테서 이께")
# Whose a thing is (홍서진꺼예요, 김민지 거): a possessive, a person's word, but nouns take it too (엄마 거, 회사 거).
POSSESSIVES = tuple(
    p + q for p in _split("꺼 거 것") for q in ("", *_split("예요 에요 고 라 임 랑 이랑 하고 도 는 를 을 이 인데"))
) + _split("껀데 건데")
COPULAS = _split(
    "입니다 입니당 이에요 이예요 예요 에요 인데요 인데 이고요 이구요 이고 이요 임 이라고 라고 이라는 라는 이랍니다"
    " 랍니다 이었는데 였는데 이었어요 였어요 이라고요 라고요 고요 구요 고 이구 구"  # 최지우고: 이고 after a vowel
)
# 성함이 백순자세요: the honorific copula, a name only after a label (전해주세요, 보내주세요 are verbs).
LABEL_COPULAS = _split("세요 이세요 십니다 이십니다 신데요 이신데요")
# 저 표준우요: the plain 요 of speech, a copula only after 저 (with nothing before it: 심심해요, 신기해요 are verbs).
INTRO_ONLY_SUFFIXES = ("요",)
HONORIFICS = _split("님 씨 고객님 회원님 선생님")
# 권은비 앞으로, 정우진 명의로: whom a parcel or an order is for, as telling as 입니다.
ADDRESSED_TO = _split("앞 앞으로 명의 명의로 이름 이름으로")
TITLE_ENDS = frozenset("장사관원")  # 회장님, 약사님, 기관, 직원: titles and roles before 님

# 구혜선으로요, 박정민한테요: a particle and the 요 of polite speech.
POLITE_PARTICLES = tuple(p + "요" for p in (*PARTICLES[1:], *PERSON_PARTICLES) if p[-1] not in "이가네")

SUFFIX_CUE: dict[str, Cue] = {
    **dict.fromkeys(PARTICLES, Cue.NONE),
    **dict.fromkeys(POLITE_PARTICLES, Cue.NONE),
    **dict.fromkeys(POSSESSIVES, Cue.NONE),
    **dict.fromkeys(PERSON_PARTICLES, Cue.COPULA),
    **dict.fromkeys((p + "요" for p in PERSON_PARTICLES), Cue.COPULA),
    **dict.fromkeys(COPULAS, Cue.COPULA),
    **dict.fromkeys(LABEL_COPULAS, Cue.COPULA),
    **dict.fromkeys(ADDRESSED_TO, Cue.COPULA),
    **{h + p: Cue.HONORIFIC for h in HONORIFICS for p in (*PARTICLES, *PERSON_PARTICLES, *COPULAS)},
}
