"""Korean (and Hangul-written foreign) personal names in free text.

Every run of Hangul is a candidate when it starts with a surname (김, 남궁 …) and ends in grammar a name takes (님,
씨, 입니다, 이/가, 한테 …). A candidate is a name when the words around it say so, most sure first:
- a label before it: `성함: 김철수`, `고객명/연락처: 윤성민/010-…`, `주문자 이름: 박지훈`, `예금주 홍길동`;
- an honorific after it (김철수님, 김철수 고객님), or next to a phone, account, email or address (홍길순 010-…);
- a self-introduction: `저 김철수 인데요`, `남궁민수입니다`; a title or person word (김철수 대표님, 고객 오민석);
  whom something is for (권은비 앞으로, 정우진 명의로);
- with nothing around it, a three-syllable word of a common surname and two given-name syllables (김철수한테 …), or
  of any surname and a given name the syllable model finds typical (봉태규, 정순자).
A word of the lexicon (김치, 정품, 이번, 최신형, 주문자 …), or one built on it (배송지연, 이번에), is never a name;
nor is a verb form or a Sino-Korean word before 고객님 (확인해 보니 고객님, 출고 고객님). The rules for one word are
in `core.masking.stems`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from core.masking.given_names import given_score, transliterated
from core.masking.grammar import INTRO_ONLY_SUFFIXES, LABEL_COPULAS, SUFFIX_CUE, Cue
from core.masking.lexicon import FOREIGN_NAMES, GIVEN_SYLLABLES, INTRO_WORDS, NAME_LABELS, OTHER_FIELDS, SURNAMES
from core.masking.naming import mask_name
from core.masking.spans import Claimed, Found, PiiKind, overlaps
from core.masking.stems import (
    STRONG,
    VERB_STEMS,
    explained_away,
    foreign_given,
    given_alone_before_customer,
    looks_like_name,
    name_part,
    pet_name,
    surname_length,
    verb_stem_end,
)

# A second opinion on a candidate the rules call a name only on its looks: (text, start, end) -> name?, or None.
NameJudge = Callable[[str, int, int], bool | None]


# A person word before a candidate (고객 오민석, 할머니 김말순, 딸아이 서예지): as good as 입니다 after it.
_PERSON_BEFORE = frozenset(
    """고객 회원 구매자 주문자 엄마 아빠 남편 아내 와이프 부인 신랑 친구 동생 언니 오빠 누나 형 형님 할머니 할아버지
    어머니 아버지 어머님 아버님 시어머니 시아버지 장모님 장인어른 딸 아들 딸아이 아들놈 조카 손자 손녀 이모 고모
    삼촌 사촌 외삼촌 지인 선배 후배 동료 직원 대리수령 대리 과장 부장 팀장""".split()  # noqa: SIM905
)
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
    return m is not None and all(name_part(word) for word in re.findall(r"[가-힣]+", m.group()))


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


# 지수씨, 우주씨: a two-syllable word glued to 씨 is a given name when the model finds it typical (not 호박씨).
_GIVEN_SEED = 12


def _stems(run: str) -> Iterable[tuple[int, Cue]]:
    """Possible (stem length, cue of what follows it) splits of a run, three syllables first."""
    for length in (3, 4, 2, 5, 1):
        if length == 2 and run[2:].startswith("씨") and given_score(run[:2]) < _GIVEN_SEED:
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


def _judge_run(ctx: _Context, run: str, start: int, judge: NameJudge | None) -> tuple[Found, Cue] | None:
    for offset, glued in _glued_offsets(run):
        rest = run[offset:]
        explained, explained_strictly = explained_away(rest), explained_away(rest, strict=True)
        for length, suffix_cue in _stems(rest):
            if glued is Cue.INTRO and suffix_cue is not Cue.COPULA:
                continue
            s = start + offset
            cue = _cue_for(ctx, s, start + len(run), length, suffix_cue, glued)
            stem = rest[:length]
            if explained_strictly or (explained and cue not in STRONG):
                continue  # 공유나 after 수령인, 유아인 after 저: the writer's word beats a look-alike
            after = rest[length:]
            if after in LABEL_COPULAS and (cue not in (Cue.LABEL, Cue.LABEL_EXPLICIT) or verb_stem_end(stem)):
                continue  # (수령인 바꿔주세요: the verb 주세요, not a name and 세요)
            if after[:1] in ("고", "구") and stem[-1] in VERB_STEMS | {"되", "해"}:
                continue  # 임신하고, 정리되고: a verb, not a name and 이고
            if rest[length:] in INTRO_ONLY_SUFFIXES and cue is not Cue.INTRO:
                continue
            if cue is Cue.COPULA and not surname_length(stem) and not _PERSON_GRAMMAR.match(ctx.text, s + length):
                continue  # 레이첼 이름으로, 엘리자베스한테; not 아파트인데, 그대로예요 (a loanword, a word)
            verdict = None
            if cue is Cue.NONE and judge is not None and 2 <= length <= 4 and surname_length(stem):
                verdict = judge(ctx.text, s, s + length)  # nothing around it: the judge settles it, if it can
            if cue is Cue.HONORIFIC and given_alone_before_customer(ctx.text, stem, s + length):
                continue  # 수선 고객님: a given name alone takes 님 or 씨; an agent's 고객님 follows a full name
            person = bool(cue is Cue.COPULA and foreign_given(stem) and _PERSON_GRAMMAR.match(ctx.text, s + length))
            person = person or (cue is Cue.NONE and pet_name(stem, after))
            if not person and (verdict is False or (verdict is None and not looks_like_name(stem, cue))):
                continue
            return Found(s, s + length, PiiKind.NAME, mask_name(stem)), cue
    return None


_FOREIGN_NEXT = re.compile(r"[ \t](?P<word>[가-힣]{1,5})(?![가-힣])")
_FOREIGN_BEFORE = re.compile(r"(?:^|(?<=[\s(\[/:,]))(?P<word>[가-힣]{1,3})[ \t]$")


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
        if not name_part(m["word"]):
            break
        words.insert(0, m["word"])
        start = m.start()
    while forwards and len(words) < 3 and (m := _FOREIGN_NEXT.match(ctx.text, end)):
        part = _without_grammar(m["word"])
        if not name_part(part, after_known=words[-1] in FOREIGN_NAMES):
            break
        words.append(part)
        end = m.start("word") + len(part)
        if part != m["word"]:
            break
    return Found(start, end, PiiKind.NAME, mask_name(" ".join(words)))


# 쩐 티 란, 팜 반 득, 레 티 투 하: a Vietnamese family name, the middle name 티 (women) or 반 (men), one or two parts.
_VIETNAMESE = re.compile(
    r"(?<![가-힣0-9])(?:응우옌|응웬|응우엔|쩐|레|팜|호앙|판|부이|응오|즈엉|당|보|부|도|호|리)[ \t](?:티|반|씨|딘|흐우)"
    r"(?P<parts>(?:[ \t][가-힣]+){1,2})"
)
# 리사 정 고객님, 제니 김한테: a Western given name, then a Korean family name, then a person's grammar.
_GIVEN_THEN_SURNAME = re.compile(
    r"(?<![가-힣])(?P<given>[가-힣]{2,4})[ \t](?P<surname>[가-힣])"
    r"(?=[ \t]?(?:고객님|님|씨)(?:께서|께|이|은|의|을)?(?![가-힣])|(?:한테|에게|께서|께)(?![가-힣]))"
)


def _vietnamese_end(text: str, start: int, parts: list[str]) -> int | None:
    """Where a Vietnamese name whose last parts are `parts` (found from `start`) ends, or None when one is a word;
    a second part counts only with grammar glued to it or an honorific, a delimiter or the end after it."""
    end = start
    for i, part in enumerate(parts):
        end = text.index(part, end)
        bare = _without_grammar(part)
        if len(part) >= 3 and part[-2] == "이" and part[-1] in "가는를도":
            bare = part[:-1]  # 마이가, 투이는: a name that ends in 이, and its particle
        if len(bare) > 2 and bare[-1] in "이가는을를도":
            bare = bare[:-1]  # 흐엉이, 마이가: a one-syllable particle after a two-syllable part
        if len(bare) > 2 or not name_part(bare):
            return None
        if i == 1 and bare == part and len(part) == 2 and part[-1] in "가는을를도":
            bare = part[:1]  # 레 티 투 하가: a one-syllable part and its particle
        if i == 1 and bare == part and not _AFTER_LAST_PART.match(text, end + len(part)):
            return None  # (응우옌 티 마이 대신 받을게요: 대신 is no part of the name)
        end += len(bare)
    return end


_AFTER_LAST_PART = re.compile(r"[ \t]*(?:고객님|님|씨|[,./(\n]|$)")


def _written_apart(ctx: _Context) -> list[Found]:
    """Foreign names written in parts that the run-by-run rules cannot join: Vietnamese ones of three or four
    parts, and a Western given name before a Korean surname."""
    found: list[Found] = []
    for m in _VIETNAMESE.finditer(ctx.text):
        words = m["parts"].split()
        for parts in (words, words[:1]):  # (팜 반 득 고객님: not 고객 as a fourth part)
            end = _vietnamese_end(ctx.text, m.start("parts"), parts)
            if end is not None and ctx.taken.free(m.start(), end):
                found.append(Found(m.start(), end, PiiKind.NAME, mask_name(ctx.text[m.start() : end])))
                break
    for m in _GIVEN_THEN_SURNAME.finditer(ctx.text):
        given = m["given"]
        western = all(ch in GIVEN_SYLLABLES for ch in given) or transliterated(given)
        if m["surname"] in SURNAMES and western and name_part(given) and not overlaps(found, *m.span()):
            found.append(Found(m.start(), m.end(), PiiKind.NAME, mask_name(m.group())))
    return found


def find_names(text: str, taken: Claimed, judge: NameJudge | None = None) -> list[Found]:
    """Names in `text` (folded) outside the `taken` spans, whose neighbours count as evidence."""
    ctx = _Context(text, taken)
    apart = _written_apart(ctx)
    runs = [m for m in re.finditer(r"[가-힣]+", text) if _candidate_run(taken, m) and not overlaps(apart, *m.span())]
    found = sorted(apart + _names_in(ctx, runs, judge), key=lambda f: f.start)
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
        if surname_length(stem) == 0 or stem in FOREIGN_NAMES:
            foreign = stem in FOREIGN_NAMES
            honorific = cue is Cue.HONORIFIC
            hit = _extend_foreign(ctx, hit, backwards=honorific or foreign, forwards=not honorific or foreign)
        found.append(hit)
    return found
