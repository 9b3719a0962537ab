"""Whether one word is a name under one cue: the word lists that explain a run away (배송지연, 이번에, 소중한), the
shapes of verb forms (확인해 보니, 보내드렸고), and what a given name, Korean or foreign, is made of (민준, 요한,
쯔이). Pure functions of strings; `core.masking.names` finds the runs and their cues."""

from __future__ import annotations

import re

from core.masking.given_names import SINO_SYLLABLES, given_plausible, given_score, transliterated
from core.masking.grammar import SUFFIX_CUE, TITLE_ENDS, Cue
from core.masking.lexicon import (
    COMMON_SURNAMES,
    COMPOUND_SURNAMES,
    ENDING_START_SYLLABLES,
    FOREIGN_NAMES,
    GIVEN_SYLLABLES,
    INTRO_WORDS,
    NAME_END_SYLLABLES,
    NAME_LABELS,
    NAME_START_SYLLABLES,
    NOUN_SUFFIX_SYLLABLES,
    OTHER_FIELDS,
    PARTICLE_SYLLABLES,
    ROLE_WORDS,
    SURNAMES,
)
from core.masking.words import FUNCTION_WORDS, LOANWORDS, PLANT_WORDS, PRODUCT_WORDS
from core.masking.words import NOT_NAMES as _WORDS

# Labels, field names and pronouns are never names either (성명: …, 예금주는 저예요), nor anything starting with one.
_LABEL_WORDS = frozenset(OTHER_FIELDS) | {label.replace(" ", "") for label in NAME_LABELS}
NOT_NAMES = _WORDS | PRODUCT_WORDS | INTRO_WORDS | _LABEL_WORDS | FUNCTION_WORDS | LOANWORDS | PLANT_WORDS
STRONG = frozenset({Cue.LABEL_EXPLICIT, Cue.LABEL, Cue.HONORIFIC, Cue.ADJACENT, Cue.INTRO})
# Syllables that are grammar, never part of a given name, even with a cue (하셨, 주세요 …).
_GRAMMAR = frozenset("었았겠했됐습읍요죠네데게까는을를에와과께며던든듯걸셨됩합봤줬왔갔났꿔줘씀렸였졌켰쳤혔겼셔")
# A name rarely ends in these; words and verb forms often do (주신다, 하려고).
_NOT_FINAL = frozenset("다고면")
# With no cue at all, also not these: endings of everyday words (오미자, 정수기, 선물용, 이유식, 사무실, 배송비 …)
# that end few given names (mostly of people born before 1960: 영자, 정식).
_NOT_FINAL_WITHOUT_CUE = frozenset("자사기장채갑산식실소도구대제비상용판품시군읍면복")  # 복: 우주복, 수영복
# 하시나요, 주셨는데, 오세요: a verb with the honorific 시, not a name (but 오세훈, 하시우 are names).
# 반이라, 집이고: a one-syllable noun and a particle, not a surname and a given name.
_PARTICLE_GIVEN = frozenset(
    {"이라", "이고", "이며", "이랑", "이나", "이면", "이든", "이야", "이지", "이요", "이도", "이니"}
)
_COPULA_AFTER_IN = frozenset("데가지줄거건게걸듯")
_COUNTERS = frozenset("병개통봉팩벌잔캔컵곽켤")
_CLEAR_PARTICLES = frozenset("이가을를는의에도로와과께랑")
VERB_STEMS = frozenset("하주오가계")
_VERB_SI_ALWAYS = frozenset("셨신실십")
_VERB_SI = frozenset("시세")
_VERB_ENDING = frozenset("요나면고는니지죠네서다던게기잖며라려겠였었")

# Scores of the given-name model (core.masking.given_names): a name alone before 님 (지은님), and a name typical
# enough to count with no cue at all, whatever its surname or final (권지용, 봉태규, 정순자).
_GIVEN_ALONE = 8
_TYPICAL = 12


def _grammar_follows(rest: str, *, strict: bool) -> bool:
    """Whether `rest`, after a known word, is grammar (이에요, 인데요, 해요) rather than more of a name (유아|인).
    Strict: only the unmistakable particles (정보가, 이름이, 연락도), for runs with a strong cue around them."""
    if rest[0] == "인":  # the copula 인데/인가/인지 …, or a given-name syllable (유아인, 정해인이라는, 최다인)
        return (len(rest) == 1 and not strict) or (len(rest) > 1 and rest[1] in _COPULA_AFTER_IN)
    return rest[0] in (_CLEAR_PARTICLES if strict else ENDING_START_SYLLABLES)


_PRONOUNS = frozenset("제내저니네그새본전")
_HA_FORMS = frozenset({"한", "할", "해", "히", "하게", "한데", "해서"})


def _name_inside(head: str, rest: str) -> bool:
    """정해|인인데요, 안보|현이, 유아|인이: a word's second syllable and the next one make a typical given name,
    and only grammar follows."""
    return len(rest) >= 1 and rest[1:] in SUFFIX_CUE and given_score(head[1] + rest[0]) >= _TYPICAL


def explained_away(run: str, *, strict: bool = False) -> bool:
    """Whether `run` is a known word, or a known word plus grammar or a suffix (배송지연, 이번에, 이상해요, 최신형), and
    not a name that starts like a word (이상민). Strict, for runs with a strong cue (a label, 저, 님, a phone next
    to it): a known word plus a noun suffix or clear grammar only, so that 유아인, 공유나, 최다인 stay names there."""
    if run in NOT_NAMES or run in ROLE_WORDS:
        return True
    for k in range(2, min(len(run), 8)):
        head, rest = run[:k], run[k:]
        if head not in NOT_NAMES and head not in ROLE_WORDS:
            continue
        if head in _LABEL_WORDS or _grammar_follows(rest, strict=strict):
            return True
        if (len(rest) > 1 and rest in NOT_NAMES) or (strict and rest in _HA_FORMS):
            return True  # 로켓배송: two words; 소중한, 정확히: a word and 하다
        name_like = k == 2 and (head[1] in NAME_START_SYLLABLES or _name_inside(head, rest))
        if strict and (rest[0] in NOUN_SUFFIX_SYLLABLES or rest[0] not in GIVEN_SYLLABLES):
            return True
        if not strict and not name_like:
            return True
    return False


# Before 고객님, 님 or 씨, the last syllable of a verb form (확인해 보니, 보내드렸고, 그러면, 그런데, 참고로) or of a
# modifier (다른, 모든, 소중한): what the agent says to the customer, not who the customer is.
_VERB_FINALS = frozenset("고면데요죠까며게로른든던는쁜")
_VERB_BEFORE_NI = frozenset("보하으되가오리주시드")
_VERB_BEFORE_SEO = frozenset("해와봐돼어아러려셔져쳐워겨내나가")


def _verb_form(stem: str) -> bool:
    """Whether a word before an honorific ends like a verb or a modifier (보니, 그래서, 다른), not a name."""
    last, before = stem[-1], stem[-2] if len(stem) > 1 else ""
    if last in _VERB_FINALS:
        return True
    if len(stem) == 2 and last == "이" and before not in SINO_SYLLABLES:
        return True  # 같이, 많이, 깊이: a native adverb
    return (last == "니" and before in _VERB_BEFORE_NI) or (last == "서" and before in _VERB_BEFORE_SEO)


def surname_length(stem: str) -> int:
    """How many syllables of `stem` are a surname: 2 (남궁민수), 1 (김민수) or 0 (레이첼)."""
    if len(stem) >= 3 and stem[:2] in COMPOUND_SURNAMES:
        return 2
    return 1 if stem[0] in SURNAMES else 0


def looks_like_name(stem: str, cue: Cue) -> bool:
    """The rules for one stem under one cue."""
    if stem in NOT_NAMES or stem in ROLE_WORDS or (len(stem) < 2 and cue is not Cue.LABEL_EXPLICIT):
        return False
    if stem[0] in VERB_STEMS and (
        stem[1] in _VERB_SI_ALWAYS or (stem[1] in _VERB_SI and len(stem) > 2 and stem[2] in _VERB_ENDING)
    ):
        return False
    if len(stem) == 3 and stem[1] == "하" and stem[2] in _VERB_SI_ALWAYS | {"심"}:
        return False  # 원하심, 원하신, 원하셨: a noun + 하 + the honorific 시, written short
    if stem in FOREIGN_NAMES:
        return True  # 응우옌, 타나카, 엘레나: a name however it is written
    if cue is Cue.HONORIFIC and _verb_form(stem):
        return False
    if cue is Cue.NONE and len(stem) == 3 and stem[0] in "한두세네" and stem[1] in _COUNTERS and stem[2] in "만씩도더":
        return False  # 한병만, 두개씩: a number, a counter and a particle
    surname = surname_length(stem)
    if surname == 2 and stem[0] in SURNAMES and _given_name_fits(stem, 1, cue):
        return True  # 황보라 is 황 + 보라 as often as 황보 + 라
    if surname == 0 or (surname == 1 and len(stem) >= 4 and transliterated(stem[1:]) and cue is not Cue.NONE):
        return _unsurnamed_name(stem, cue)  # (안드레아한테, 이사벨라한테: a foreign name that starts like a surname)
    return len(stem) >= 2 and _given_name_fits(stem, surname, cue)


def _unsurnamed_name(stem: str, cue: Cue) -> bool:
    """A word with no surname: a foreign name in Hangul (레이첼, 유키) or a given name alone (지은님), only where a
    label, an honorific, a person's particle or the writer says it is a name."""
    if set(stem) & _GRAMMAR or (len(stem) >= 3 and stem[-2] in "하되" and stem[-1] in _VERB_ENDING):
        return False  # (성함이 일치하지 않아: a verb in 하다 after a label)
    if cue is Cue.HONORIFIC:  # 유키님, 지은님, 경다은님 (a surname not in the list); not 출고 고객님, 당일 고객님
        given_alone = len(stem) == 2 and (given_score(stem) >= _GIVEN_ALONE or set(stem) <= GIVEN_SYLLABLES)
        # 경다은님 (a surname not in the list), 아이유님: three name syllables
        three = len(stem) == 3 and all(ch in GIVEN_SYLLABLES for ch in stem)
        korean = given_alone or three
        return 2 <= len(stem) <= 5 and stem[-1] not in TITLE_ENDS and (transliterated(stem) or korean)
    if cue is Cue.INTRO:  # 저는 카를로스입니다; 저는 처음이에요 is not a name
        return 3 <= len(stem) <= 5
    if cue is Cue.COPULA:  # 레이첼 이름으로, 엘리자베스한테: a transliterated word a person's grammar follows
        return 3 <= len(stem) <= 5 and transliterated(stem)
    return cue is Cue.LABEL_EXPLICIT and len(stem) <= 5


def _given_name_fits(stem: str, surname: int, cue: Cue) -> bool:
    """Whether what follows a `surname`-syllable surname is a given name, under `cue`."""
    given = stem[surname:]
    if cue is Cue.LABEL_EXPLICIT:
        return 1 <= len(given) <= 3 and not set(given) & _GRAMMAR
    if cue is Cue.HONORIFIC:  # 왕웨이님, 변요한님: a given name, Korean or foreign, not a word (소중한, 주문)
        word_like = bool(set(given) & (_GRAMMAR - {"요"}))
        if len(given) == 3 and surname == 1:  # 추가결제 고객님: three given syllables are a foreign name's or none
            return not word_like and transliterated(given)
        return len(given) <= 3 and not word_like and (given_plausible(given) or transliterated(given))
    if cue in STRONG:
        return 1 <= len(given) <= 3 and len(stem) <= 4 and given_plausible(given)
    if given in _PARTICLE_GIVEN or (cue is Cue.NONE and stem[0] in _PRONOUNS and given in NOT_NAMES):
        return False  # (제이름으로: 제 + 이름, a pronoun and a word)
    plain = len(given) == 2 and all(ch in GIVEN_SYLLABLES for ch in given) and given[-1] not in _NOT_FINAL
    if cue is Cue.COPULA:
        return plain
    typical_name = given_score(given) >= _TYPICAL and given not in NOT_NAMES
    if plain and typical_name and stem[:2] not in NOT_NAMES and given[-1] not in PARTICLE_SYLLABLES:
        return True  # 권지용, 봉태규, 정순자: a typical given name, whatever the surname and the final
    # A typical given name (민호, 유진, 은채) counts after a rarer surname, and with a final that mostly ends words,
    # unless the first two syllables are a word (유지비, 이용비).
    typical = len(given) == 2 and given[0] in NAME_START_SYLLABLES and given[1] in NAME_END_SYLLABLES
    typical = typical and stem[:2] not in NOT_NAMES
    common = surname == 2 or stem[0] in COMMON_SURNAMES or typical
    ending = given[-1] not in PARTICLE_SYLLABLES and (typical or given[-1] not in _NOT_FINAL_WITHOUT_CUE)
    return plain and common and ending


_CUSTOMER_TITLE = re.compile(r"[ \t]*(?:고객|회원)님")


def given_alone_before_customer(text: str, stem: str, end: int) -> bool:
    """Whether a two-syllable Korean word with no surname stands before 고객님/회원님 (수선 고객님, 출고 고객님)."""
    korean_word = len(stem) == 2 and not surname_length(stem) and not transliterated(stem)
    return korean_word and bool(_CUSTOMER_TITLE.match(text, end))


def foreign_given(stem: str) -> bool:
    """장쯔이, 왕웨이: a surname and a transliterated given name of two syllables."""
    given = stem[1:]
    return len(stem) == 3 and surname_length(stem) == 1 and transliterated(given) and not set(given) & _GRAMMAR


def pet_name(stem: str, after: str) -> bool:
    """원빈이가, 예린이랑: a two-syllable given name ending in a consonant, with the 이 of a name said fondly."""
    fond = len(after) >= 2 and after[0] == "이" and after[1:] in SUFFIX_CUE
    batchim = (ord(stem[-1]) - 0xAC00) % 28 != 0
    return fond and batchim and len(stem) == 2 and stem not in NOT_NAMES and given_score(stem) >= _GIVEN_ALONE


def verb_stem_end(stem: str) -> bool:
    """바꿔주|세요, 확인해주|세요: a word with no surname ending in a verb that 세요 conjugates."""
    return surname_length(stem) == 0 and stem[-1] in VERB_STEMS


_NOT_A_NAME_PART = frozenset(
    "네 예 아 오 와 앗 헐 넵 음 흠 그 이 저 제 우리 저희 안녕 반갑 감사 고객 회원".split()  # noqa: SIM905
)


def _word_and_grammar(word: str) -> bool:
    """Whether `word` is a known word, or one followed by a clear particle (하루가), not one it merely starts with."""
    if word in NOT_NAMES or word in ROLE_WORDS:
        return True
    return any(word[:k] in NOT_NAMES and _grammar_follows(word[k:], strict=True) for k in range(2, len(word)))


def name_part(word: str, *, after_known: bool = False) -> bool:
    """Whether a word next to a foreign name may be another part of it (존 | 스미스, 탄 | 응우옌). After a known
    foreign name (사토 | 하루카), a word that merely starts like one (하루) may be."""
    if word in NOT_NAMES or word in ROLE_WORDS or word in OTHER_FIELDS or word in INTRO_WORDS:
        return False
    if len(word) > 1 and _verb_form(word):
        return False  # 경비실 말고 제니퍼한테, 잭슨 아니고 …
    explained = _word_and_grammar(word) if after_known else explained_away(word)
    return not (word in _NOT_A_NAME_PART or explained or set(word) & _GRAMMAR or word in SUFFIX_CUE)
