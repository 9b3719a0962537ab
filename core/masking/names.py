"""Korean (and Hangul-written foreign) personal names in free text.

Every run of Hangul is a candidate when it starts with a surname (김, 남궁 …) and ends in grammar a name takes (님,
씨, 입니다, 이/가, 한테 …). A candidate is a name when the words around it say so, most sure first:
- a label before it: `성함: 김철수`, `고객명/연락처: 윤성민/010-…`, `주문자 이름: 박지훈`, `예금주 홍길동`;
- an honorific after it (김철수님, 김철수 고객님), or next to a phone, account, email or address (홍길순 010-…);
- a self-introduction: `저 김철수 인데요`, `남궁민수입니다`; a title or person word (김철수 대표님, 고객 오민석);
  whom something is for (권은비 앞으로, 정우진 명의로);
- with nothing around it, a three-syllable word of a common surname and two given-name syllables (김철수한테 …).
A word of the lexicon (김치, 정품, 이번, 최신형, 주문자 …), or one built on it (배송지연, 이번에), is never a name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from core.masking.given_names import given_plausible, given_score, transliterated
from core.masking.grammar import INTRO_ONLY_SUFFIXES, LABEL_COPULAS, SUFFIX_CUE, TITLE_ENDS, Cue
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
from core.masking.naming import mask_name
from core.masking.spans import Claimed, Found, PiiKind, overlaps
from core.masking.words import FUNCTION_WORDS, LOANWORDS, PLANT_WORDS, PRODUCT_WORDS
from core.masking.words import NOT_NAMES as _WORDS

# Labels, field names and pronouns are never names either (성명: …, 예금주는 저예요), nor anything starting with one.
_LABEL_WORDS = frozenset(OTHER_FIELDS) | {label.replace(" ", "") for label in NAME_LABELS}
NOT_NAMES = _WORDS | PRODUCT_WORDS | INTRO_WORDS | _LABEL_WORDS | FUNCTION_WORDS | LOANWORDS | PLANT_WORDS

# A second opinion on a candidate the rules call a name only on its looks: (text, start, end) -> name?, or None.
NameJudge = Callable[[str, int, int], bool | None]


# A person word before a candidate (고객 오민석, 할머니 김말순, 딸아이 서예지): as good as 입니다 after it.
_PERSON_BEFORE = frozenset(
    """고객 회원 구매자 주문자 엄마 아빠 남편 아내 와이프 부인 신랑 친구 동생 언니 오빠 누나 형 형님 할머니 할아버지
    어머니 아버지 어머님 아버님 시어머니 시아버지 장모님 장인어른 딸 아들 딸아이 아들놈 조카 손자 손녀 이모 고모
    삼촌 사촌 외삼촌 지인 선배 후배 동료 직원 대리수령 대리 과장 부장 팀장""".split()  # noqa: SIM905
)
_STRONG = frozenset({Cue.LABEL_EXPLICIT, Cue.LABEL, Cue.HONORIFIC, Cue.ADJACENT, Cue.INTRO})
# Syllables that are grammar, never part of a given name, even with a cue (하셨, 주세요 …).
_GRAMMAR = frozenset("었았겠했됐습읍요죠네데게까는을를에와과께며던든듯걸셨됩합봤줬왔갔났꿔줘씀렸였졌켰쳤혔겼셔")
# A name rarely ends in these; words and verb forms often do (주신다, 하려고).
_NOT_FINAL = frozenset("다고면")
# With no cue at all, also not these: endings of everyday words (오미자, 정수기, 선물용, 이유식, 사무실, 배송비 …)
# that end few given names (mostly of people born before 1960: 영자, 정식).
_NOT_FINAL_WITHOUT_CUE = frozenset("자사기장채갑산식실소도구대제비상용판품시군읍면")
# 하시나요, 주셨는데, 오세요: a verb with the honorific 시, not a name (but 오세훈, 하시우 are names).
# 반이라, 집이고: a one-syllable noun and a particle, not a surname and a given name.
_PARTICLE_GIVEN = frozenset(
    {"이라", "이고", "이며", "이랑", "이나", "이면", "이든", "이야", "이지", "이요", "이도", "이니"}
)
_COPULA_AFTER_IN = frozenset("데가지줄거건게걸듯")
_CLEAR_PARTICLES = frozenset("이가을를는의에도로와과께랑")
_VERB_STEMS = frozenset("하주오가계")
_VERB_SI_ALWAYS = frozenset("셨신실십")
_VERB_SI = frozenset("시세")
_VERB_ENDING = frozenset("요나면고는니지죠네서다던게기잖며라려겠였었")

# Scores of the given-name model (core.masking.given_names): a name alone before 님 (지은님), and a name typical
# enough to count with no cue at all, whatever its surname or final (권지용, 봉태규, 정순자).
_GIVEN_ALONE = 8
_TYPICAL = 12

# What follows only a person: whom a thing is for, or a particle of a person.
_PERSON_GRAMMAR = re.compile(r"[ \t]?(?:이름으로|이름|앞으로|앞|명의로|명의|이?라는)|이?(?:한테|에게|께서|께)")
_NEXT_HONORIFIC = re.compile(r"[ \t]{1,2}(?:고객님|회원님|님|씨|선생님)(?![가-힣])|[ \t]{1,2}(?:님|씨)[께이은의을]")
# A title after a word: a person's name (태민호 팀장님이) as often as a company's or a job's (택배 기사님이).
_NEXT_TITLE = re.compile(
    r"[ \t]{1,2}(?:대표|사장|과장|팀장|부장|실장|차장|대리|주임|매니저|기사|작가|원장|교수|선생)님?"
    r"(?:께서|께|이|은|의|을|도|한테|에게)?(?![가-힣])"
)
_NEXT_CUSTOMER = re.compile(r"[ \t]{1,2}고객(?![가-힣])")
_NEXT_COPULA = re.compile(
    r"[ \t]{1,2}(?:입니다|인데요|인데|이에요|이예요|예요|이고요|이라고|라고|이요|임"
    r"|이라는|라는|앞으로|앞|명의로|명의|이름으로)(?![가-힣])"
    # 최은비 맞으시죠?, 김도윤 님 맞나요: a person confirmed by name
    r"|[ \t]{1,2}맞(?:으시|으세|으신|나요|죠|지요|습니까|으십니까)"
)
_LABEL_ALT = "|".join(sorted((re.escape(x) for x in (*NAME_LABELS, *OTHER_FIELDS)), key=len, reverse=True))
_NAME_LABEL_ALT = "|".join(sorted((re.escape(x) for x in NAME_LABELS), key=len, reverse=True))
_LABEL_BEFORE = re.compile(
    rf"(?:{_NAME_LABEL_ALT})명?(?:[ \t]*(?:[/,·&]|및|과|와|[ \t])[ \t]*(?:{_LABEL_ALT}))*"
    r"[ \t]*(?P<delim>[:=/]|->|→|>|은|는|이|가)?[ \t]*(?:\(|\[)?[ \t]*$"
)
_GLUED_LABEL = re.compile(rf"^(?:{_NAME_LABEL_ALT.replace(' ', '')})명?(?:은|는|이|가)?")
_VALUE_END = re.compile(r"[ \t]*(?:[/,|(\n]|$)")
# 사라 킴 / 연락처, 받는분 존 스미스 / 010-…: a value of two or three words, then the end of the field.
_VALUE_WORDS_END = re.compile(r"(?:[ \t]+(?P<word>[가-힣]{1,5})){1,2}[ \t]*(?:[/,|(\n]|$)")
# 정해인이라는 분이, 엘레나 라는 이름으로: the writer says it is what someone is called.
_NAMED = re.compile(r"[ \t]?이?라는[ \t]?(?:분|사람|이름|고객|친구|학생|아이|애)")
# 강슬기랑 강하늘, 임재현, 임채은: a name coordinated with a name already found is one too.
_COORDINATION = re.compile(r"[ \t]*(?:이랑|랑|이하고|하고|와|과|및|,|/|&|·)[ \t]*(?:및[ \t]*)?")
_GLUED_INTRO = re.compile(r"^(?:저는|저|전|본인)")
_SEPARATORS = re.compile(r"[\s/,:()\[\]|·-]{0,3}")


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


def _explained(run: str, *, strict: bool = False) -> bool:
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
    return (last == "니" and before in _VERB_BEFORE_NI) or (last == "서" and before in _VERB_BEFORE_SEO)


def _surname_length(stem: str) -> int:
    if len(stem) >= 3 and stem[:2] in COMPOUND_SURNAMES:
        return 2
    return 1 if stem[0] in SURNAMES else 0


def _looks_like_name(stem: str, cue: Cue) -> bool:
    """The rules for one stem under one cue."""
    if stem in NOT_NAMES or stem in ROLE_WORDS or (len(stem) < 2 and cue is not Cue.LABEL_EXPLICIT):
        return False
    if stem[0] in _VERB_STEMS and (
        stem[1] in _VERB_SI_ALWAYS or (stem[1] in _VERB_SI and len(stem) > 2 and stem[2] in _VERB_ENDING)
    ):
        return False
    if len(stem) == 3 and stem[1] == "하" and stem[2] in _VERB_SI_ALWAYS | {"심"}:
        return False  # 원하심, 원하신, 원하셨: a noun + 하 + the honorific 시, written short
    if stem in FOREIGN_NAMES:
        return True  # 응우옌, 타나카, 엘레나: a name however it is written
    if cue is Cue.HONORIFIC and _verb_form(stem):
        return False
    surname = _surname_length(stem)
    if surname == 2 and stem[0] in SURNAMES and _given_name_fits(stem, 1, cue):
        return True  # 황보라 is 황 + 보라 as often as 황보 + 라
    if surname == 0:
        return _unsurnamed_name(stem, cue)
    return len(stem) >= 2 and _given_name_fits(stem, surname, cue)


def _unsurnamed_name(stem: str, cue: Cue) -> bool:
    """A word with no surname: a foreign name in Hangul (레이첼, 유키) or a given name alone (지은님), only where a
    label, an honorific, a person's particle or the writer says it is a name."""
    if set(stem) & _GRAMMAR:
        return False
    if cue is Cue.HONORIFIC:  # 유키님, 지은님, 경다은님 (a surname not in the list); not 출고 고객님, 당일 고객님
        given_alone = len(stem) == 2 and given_score(stem) >= _GIVEN_ALONE
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
        return len(given) <= 3 and not word_like and (given_plausible(given) or transliterated(given))
    if cue in _STRONG:
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


class _Context:
    """The text around candidates: labels, honorifics and other buyer data found before the names."""

    def __init__(self, text: str, taken: Claimed) -> None:
        self.text = text
        self.taken = taken
        self.names: dict[tuple[str, int], Found] = {}  # the first pass's names, by ("start"|"end", offset)

    def before(self, start: int) -> Cue:
        text = self.text
        label = _LABEL_BEFORE.search(text, max(0, start - 40), start)
        if label and label["delim"] in (None, "은", "는", "이", "가") and "정보" in label.group():
            return Cue.NONE  # 주문자 정보는 그대로예요: the field itself, talked about
        if label:
            return Cue.LABEL_EXPLICIT if label["delim"] in (":", "=", "/", "->", "→", ">") else Cue.LABEL
        words = text[max(0, start - 8) : start].split()
        if words and words[-1] in INTRO_WORDS and text[start - 1].isspace():
            return Cue.INTRO
        if words and words[-1] in _PERSON_BEFORE and text[start - 1].isspace():
            return Cue.COPULA  # 고객 오민석 전화 요청: a person word before, as good as 입니다 after
        return Cue.NONE

    def coordinated(self, start: int, end: int) -> bool:
        """Whether the stem [start, end) is listed with a name found in the first pass (…랑, …하고, a comma)."""
        for gap in range(6):
            item = self.names.get(("end", start - gap))
            if item is not None and _COORDINATION.fullmatch(self.text, item.end, start):
                return True
            item = self.names.get(("start", end + gap))
            if item is not None and _COORDINATION.fullmatch(self.text, end, item.start):
                return True
        return False

    def adjacent(self, start: int, end: int) -> bool:
        text = self.text
        for gap in range(1, 4):  # (glued right after a number is a particle: 010-…-5678이나)
            item = self.taken.ends.get(start - gap)
            if item is not None and item.kind is not PiiKind.NAME and _SEPARATORS.fullmatch(text[item.end : start]):
                return True
        for gap in range(4):
            item = self.taken.starts.get(end + gap)
            if item is not None and item.kind is not PiiKind.NAME and _SEPARATORS.fullmatch(text[end : item.start]):
                return True
        return False

    def after(self, end: int, stem_len: int) -> Cue:
        if _NEXT_HONORIFIC.match(self.text, end) or (stem_len >= 3 and _NEXT_CUSTOMER.match(self.text, end)):
            return Cue.HONORIFIC
        if _NEXT_COPULA.match(self.text, end) or _NEXT_TITLE.match(self.text, end):
            return Cue.COPULA
        return Cue.NONE


def _value_words(ctx: _Context, run_end: int) -> bool:
    """Whether a labelled value goes on for one or two name-like words to the end of its field (사라 킴 / …)."""
    m = _VALUE_WORDS_END.match(ctx.text, run_end)
    return m is not None and all(_name_part(word) for word in re.findall(r"[가-힣]+", m.group()))


def _cue_for(ctx: _Context, start: int, run_end: int, stem_len: int, suffix_cue: Cue, glued: Cue) -> Cue:
    before = glued if glued is not Cue.NONE else ctx.before(start)
    if before is Cue.INTRO and ctx.text[start + stem_len : run_end] in INTRO_ONLY_SUFFIXES:
        return Cue.INTRO
    after = suffix_cue if suffix_cue is not Cue.NONE else ctx.after(run_end, stem_len)
    if before is Cue.LABEL and (
        _VALUE_END.match(ctx.text, run_end) or after is Cue.COPULA or _value_words(ctx, run_end)
    ):
        return Cue.LABEL_EXPLICIT  # `이름 아나스타샤 / 연락처 …`, `이름은 엠마예요`: the value is plainly a name
    if before in (Cue.LABEL_EXPLICIT, Cue.LABEL):
        return before
    if after is Cue.HONORIFIC and (suffix_cue is Cue.HONORIFIC or run_end == start + stem_len):
        return after  # (경다은 고객님: not 경다 + 은 고객님)
    if ctx.adjacent(start, run_end) or (ctx.names and ctx.coordinated(start, start + stem_len)):
        return Cue.ADJACENT
    if _NAMED.match(ctx.text, start + stem_len):
        return Cue.INTRO
    if after is Cue.COPULA:
        return Cue.INTRO if before is Cue.INTRO else Cue.COPULA
    return Cue.COPULA if before is Cue.COPULA else Cue.NONE


def _stems(run: str) -> Iterable[tuple[int, Cue]]:
    """Possible (stem length, cue of what follows it) splits of a run, three syllables first."""
    for length in (3, 4, 2, 5, 1):
        if length == 2 and run[2:].startswith("씨"):
            continue  # 홍화씨, 호박씨: seeds; a two-syllable name takes 님 (김솔님), rarely a glued 씨
        if length <= len(run) and run[length:] in SUFFIX_CUE:
            yield length, SUFFIX_CUE[run[length:]]
        elif length < len(run) and run[length:] in INTRO_ONLY_SUFFIXES and run[length - 1] not in "예에이":
            yield length, Cue.NONE


def _glued_offsets(run: str) -> Iterable[tuple[int, Cue]]:
    """Where a name may start inside a run: at 0, or after a label or 저 written without a space."""
    yield 0, Cue.NONE
    label = _GLUED_LABEL.match(run)
    rest = run[label.end() :] if label else ""
    if label and rest and rest[0] not in "으로에의와과도만" and rest not in SUFFIX_CUE:
        yield label.end(), Cue.LABEL
    intro = _GLUED_INTRO.match(run)
    if intro and intro.end() < len(run):
        yield intro.end(), Cue.INTRO


def _foreign_given(stem: str) -> bool:
    """장쯔이, 왕웨이: a surname and a transliterated given name of two syllables."""
    given = stem[1:]
    return len(stem) == 3 and _surname_length(stem) == 1 and transliterated(given) and not set(given) & _GRAMMAR


def _verb_stem_end(stem: str) -> bool:
    """바꿔주|세요, 확인해주|세요: a word with no surname ending in a verb that 세요 conjugates."""
    return _surname_length(stem) == 0 and stem[-1] in _VERB_STEMS


def _judge_run(ctx: _Context, run: str, start: int, judge: NameJudge | None) -> tuple[Found, Cue] | None:
    for offset, glued in _glued_offsets(run):
        rest = run[offset:]
        explained, explained_strictly = _explained(rest), _explained(rest, strict=True)
        for length, suffix_cue in _stems(rest):
            if glued is Cue.INTRO and suffix_cue is not Cue.COPULA:
                continue
            s = start + offset
            cue = _cue_for(ctx, s, start + len(run), length, suffix_cue, glued)
            stem = rest[:length]
            if explained_strictly or (explained and cue not in _STRONG):
                continue  # 공유나 after 수령인, 유아인 after 저: the writer's word beats a look-alike
            after = rest[length:]
            if after in LABEL_COPULAS and (cue not in (Cue.LABEL, Cue.LABEL_EXPLICIT) or _verb_stem_end(stem)):
                continue  # (수령인 바꿔주세요: the verb 주세요, not a name and 세요)
            if after[:1] in ("고", "구") and stem[-1] in _VERB_STEMS | {"되", "해"}:
                continue  # 임신하고, 정리되고: a verb, not a name and 이고
            if rest[length:] in INTRO_ONLY_SUFFIXES and cue is not Cue.INTRO:
                continue
            if cue is Cue.COPULA and not _surname_length(stem) and not _PERSON_GRAMMAR.match(ctx.text, s + length):
                continue  # 레이첼 이름으로, 엘리자베스한테; not 아파트인데, 그대로예요 (a loanword, a word)
            verdict = None
            if cue is Cue.NONE and judge is not None and 2 <= length <= 4 and _surname_length(stem):
                verdict = judge(ctx.text, s, s + length)  # nothing around it: the judge settles it, if it can
            person = cue is Cue.COPULA and _foreign_given(stem) and _PERSON_GRAMMAR.match(ctx.text, s + length)
            if not person and (verdict is False or (verdict is None and not _looks_like_name(stem, cue))):
                continue
            return Found(s, s + length, PiiKind.NAME, mask_name(stem)), cue
    return None


_FOREIGN_NEXT = re.compile(r"[ \t](?P<word>[가-힣]{1,5})(?![가-힣])")
_FOREIGN_BEFORE = re.compile(r"(?:^|(?<=[\s(\[/:,]))(?P<word>[가-힣]{1,3})[ \t]$")
_NOT_A_NAME_PART = frozenset(
    "네 예 아 오 와 앗 헐 넵 음 흠 그 이 저 제 우리 저희 안녕 반갑 감사 고객 회원".split()  # noqa: SIM905
)


def _word_and_grammar(word: str) -> bool:
    """Whether `word` is a known word, or one followed by a clear particle (하루가), not one it merely starts with."""
    if word in NOT_NAMES or word in ROLE_WORDS:
        return True
    return any(word[:k] in NOT_NAMES and _grammar_follows(word[k:], strict=True) for k in range(2, len(word)))


def _name_part(word: str, *, after_known: bool = False) -> bool:
    """Whether a word next to a foreign name may be another part of it (존 | 스미스, 탄 | 응우옌). After a known
    foreign name (사토 | 하루카), a word that merely starts like one (하루) may be."""
    if word in NOT_NAMES or word in ROLE_WORDS or word in OTHER_FIELDS or word in INTRO_WORDS:
        return False
    if len(word) > 1 and _verb_form(word):
        return False  # 경비실 말고 제니퍼한테, 잭슨 아니고 …
    explained = _word_and_grammar(word) if after_known else _explained(word)
    return not (word in _NOT_A_NAME_PART or explained or set(word) & _GRAMMAR or word in SUFFIX_CUE)


def _without_grammar(word: str) -> str:
    """유키님 → 유키, 란이에요 → 란: the name part of a word that ends in an honorific or two syllables of grammar or
    more (a one-syllable ending may be part of the name: 투이)."""
    for k in range(1, len(word)):
        cue = SUFFIX_CUE.get(word[k:])
        if cue is Cue.HONORIFIC or (cue is not None and len(word) - k >= 2):
            return word[:k]
    return word


def _extend_foreign(ctx: _Context, found: Found, *, backwards: bool, forwards: bool) -> Found:
    """A foreign name may run over two or three words: forwards after a label (성함: 존 스미스), backwards before
    an honorific (탄 응우옌 고객님), both ways around a foreign name (타나카 유키님, 응우옌 티 흐엉)."""
    start, end, words = found.start, found.end, [ctx.text[found.start : found.end]]
    while backwards and len(words) < 3 and (m := _FOREIGN_BEFORE.search(ctx.text, max(0, start - 5), start)):
        if not _name_part(m["word"]):
            break
        words.insert(0, m["word"])
        start = m.start()
    while forwards and len(words) < 3 and (m := _FOREIGN_NEXT.match(ctx.text, end)):
        part = _without_grammar(m["word"])
        if not _name_part(part, after_known=words[-1] in FOREIGN_NAMES):
            break
        words.append(part)
        end = m.start("word") + len(part)
        if part != m["word"]:
            break
    return Found(start, end, PiiKind.NAME, mask_name(" ".join(words)))


def find_names(text: str, taken: Claimed, judge: NameJudge | None = None) -> list[Found]:
    """Names in `text` (folded) outside the `taken` spans, whose neighbours count as evidence."""
    ctx = _Context(text, taken)
    runs = [m for m in re.finditer(r"[가-힣]+", text) if _candidate_run(taken, m)]
    found = _names_in(ctx, runs, judge)
    if found:  # a second pass: names listed with those found (강슬기랑 강하늘, 임재현, 임채은)
        ctx.names = {**{("start", f.start): f for f in found}, **{("end", f.end): f for f in found}}
        near = [m for m in runs if overlaps(found, m.start() - 6, m.end() + 6)]  # only a coordinator apart
        rest = [m for m in near if not overlaps(found, m.start(), m.end())]
        found += [f for f in _names_in(ctx, rest, judge) if not overlaps(found, f.start, f.end)]
    return found


def _candidate_run(taken: Claimed, m: re.Match[str]) -> bool:
    glued = taken.ends.get(m.start())
    # (010-…-5678이나, …202호로: grammar glued to a number)
    return taken.free(m.start(), m.end()) and (glued is None or glued.kind is PiiKind.NAME)


def _names_in(ctx: _Context, runs: Iterable[re.Match[str]], judge: NameJudge | None) -> list[Found]:
    found: list[Found] = []
    for m in runs:
        judged = _judge_run(ctx, m.group(), m.start(), judge)
        if judged is None or overlaps(found[-1:], judged[0].start, judged[0].end):
            continue
        hit, cue = judged
        stem = ctx.text[hit.start : hit.end]
        if _surname_length(stem) == 0 or stem in FOREIGN_NAMES:
            foreign = stem in FOREIGN_NAMES
            honorific = cue is Cue.HONORIFIC
            hit = _extend_foreign(ctx, hit, backwards=honorific or foreign, forwards=not honorific or foreign)
        found.append(hit)
    return found
