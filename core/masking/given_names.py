"""A syllable-level model of Korean given names, and what tells a foreign name written in Hangul from a word.

Given names are two syllables nine times in ten, and each position has its favourites: 민, 서, 지, 수 start one;
준, 우, 호, 진, 현 end one. The weights below (5 = among the most frequent, 1 = occasional) summarise the
given-name syllable frequencies of people born from the 1940s to the 2010s (older names: 순자, 말순, 영철; newer:
서윤, 하준, 은채). A word whose syllables are an unlikely given name (중한 of 소중한, 당일, 다만) scores low, a
typical name (지용, 태규, 순자) high: the score decides the cases the word lists cannot.

A foreign name in Hangul (레이첼, 알렉산드라, 유키) is told from a word by its syllables: transliteration uses
syllables that no Sino-Korean reading has (레, 첼, 렉, 드, 스, 키, 쿠); Sino-Korean words (출고, 당첨, 확인) use
none. Native words and loanwords that have such syllables (그리고, 카드, 리뷰) are in the word lists.
"""

from __future__ import annotations

from core.masking.lexicon import GIVEN_SYLLABLES


def _weights(table: str) -> dict[str, int]:
    """'5:민서지 4:하예' → {'민': 5, '서': 5, '지': 5, '하': 4, '예': 4}; the first weight given to a syllable wins."""
    weights: dict[str, int] = {}
    for group in table.split():
        weight, syllables = group.split(":")
        for syllable in syllables:
            weights.setdefault(syllable, int(weight))
    return weights


FIRST = _weights(
    "5:민서지수현준영은 4:하예도주윤정성재동유연소혜채상승경희시태선건미진"
    " 3:한나용인석기호규우다아세보병종광명순옥형효가해원창철대"
    " 2:혁범덕길춘금복말숙봉일만중충문찬부국남여온새슬별솔이의리라린로루요"
)
SECOND = _weights(
    "5:준우호진현민서윤연은아영 4:희원훈혁빈율린하인채경석성재수지주숙자"
    " 3:비순옥미나정철식환규기태용근범국남선혜솔별결온담안유이애란화열웅욱찬택승모도"
    " 2:일한중권길섭덕필만구봉강상균완명림분례녀단가령향엽조복검"
)
# The Sino-Korean readings (every syllable a hanja is read as, from the hanja package's table).
SINO_SYLLABLES = frozenset(
    "가각간갈감갑갓강개객갯갱갹거걱건걸검겁것게격견결겸겹경계고곡곤골곱곳공과곽관괄광괘괴괵굉교구국군굴굿궁권궐궤귀규"
    "균귤극근글금급긍기긴길끗끽나낙난날남납낭내냑녀녁년녈념녑녕녘녜노녹논놀놈농놔놜뇌뇨누눈눌뉴뉵늑능늦니닉닐님닙다단"
    "달담답당대덕도독돈돌돗동두둑둔둘둣둥득등똥뜰라락란랄람랍랑래랭략량려력련렬렴렵령례로록론롱뢰료룡루류륙륜률륭륵를"
    "름릉리린림립마막만말맘망매맥맹먀며멱면멸명몌모목몰몸몽묘묠무묵문물미민밀박반발밤방배백뱀번벌범법벽변별병보복본볼"
    "봉부북분불붓붕비빈빙뿐사삭산살삼삽상새색생서석선설섬섭성세소속손솔솟송솨솰쇄쇠수숙순술숭쉬슬습승시식신실심십쌀쌍"
    "씨씻아악안알암압앙애액앳앵야약양어억언얼엄업엇엉에엔여역연열염엽엿영예오옥온올옹와왁완왈왕왜외욋요욕용우욱운울웅"
    "원월위유육윤율융은을음읍응의이익인일임입잇잉자작잔잘잠잡잣장재쟁저적전절점접정제조족존졸종좌죄주죽준줄줏중즉즐즘"
    "즙증지직진질짐집짓징차착찬찰참창채책처척천철첨첩청체초촉촌총촬쵀최추축춘출충췌취측츤층치칙친칠침칩칭카쾌타탁탄탈"
    "탐탑탕태택탱터토톤톨통퇴투퉁특틈파판팔팟패팽퍅편폄평폐포폭폿퐁표푸품풍피픽필핍하학한할함합항해핵행향허헌헐험혁현"
    "혈혐협형혜호혹혼홀홍화확환활황홰회획횡효후훈훌훙훤훨훼휘휭휴휵휼흉흑흔흘흠흡흥희히힐"
)


def given_score(given: str) -> int:
    """How typical a two-syllable given name is: 0 (never seen) to 25 (민준, 서연); 1 per syllable outside the
    table that is still a given-name syllable."""
    if len(given) != 2:
        return 0
    first = FIRST.get(given[0], 1 if given[0] in GIVEN_SYLLABLES else 0)
    second = SECOND.get(given[1], 1 if given[1] in GIVEN_SYLLABLES else 0)
    return first * second


def given_plausible(given: str) -> bool:
    """Whether every syllable of a one- to three-syllable given name is one a given name uses in its place."""
    if not 1 <= len(given) <= 3:
        return False
    if len(given) == 1:
        return given in GIVEN_SYLLABLES or given in SECOND
    return (given[0] in FIRST or given[0] in GIVEN_SYLLABLES) and all(
        ch in SECOND or ch in GIVEN_SYLLABLES for ch in given[1:]
    )


def transliterated(word: str) -> bool:
    """Whether `word` has a syllable no Sino-Korean reading has (레이첼, 유키): a foreign name or a loanword."""
    return any(ch not in SINO_SYLLABLES for ch in word)
