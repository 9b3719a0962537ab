"""The phrase tables of the check before sending: what Korean sellers write when they argue, blame, insult, steer the
buyer off the marketplace, ask for review changes or for money outside it.

Written as regexes where a space means "any spacing, or none": sellers write 상세페이지 and 상세 페이지, 안되는건 and
안 되는 건. Each table names what its phrases are; the check reports the words as they stand in the answer.
Sources: Coupang's seller guide (mba-3-4-3: abusive language, direct contact, return costs, review edits are
violations, escalating to suspension) and the wording of seller-buyer fights that got sellers warned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


def loose(pattern: str) -> re.Pattern[str]:
    """Compile `pattern` with each space meaning optional whitespace, case-insensitively."""
    return re.compile(pattern.replace(" ", r"\s*"), re.IGNORECASE)


def compile_all(patterns: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    """Every pattern of a table, compiled with `loose`."""
    return tuple(loose(p) for p in patterns)


# Blaming the buyer, pointing at the listing, arguing, dismissing: a warning (the seller confirms twice).
BLAME = compile_all(
    (
        r"상세 페이지[^.!?\n]{0,10}(분명히|명확히|분명하게|똑똑히)",
        r"상세 페이지(를|도)? (안|제대로 안|잘 안|확인 안) (보|읽|확인하)",
        r"(분명히|분명하게|명확히) (말씀|안내|기재|적어|적혀|표기|명시|설명|고지)",
        r"읽어 ?보(셨|시긴|시지|신 ?거|시고 ?구매)",
        r"(안|못) 읽으(셨|신|시고)",
        r"확인(을)? (안|못) 하(셨|시고|신)",
        r"확인하지 (않으셨|않고|않으신|않으시고)",
        r"(제대로|꼼꼼히|자세히) (확인|읽|보)[가-힣]{0,4} (않|안 |없이)",
        r"[가-힣]셨어야 (합니다|했습니다|했어요|해요|하는데|하지|죠|했죠|하는 ?거)",
        # "고객님 잘못이 아니라 저희 실수입니다" absolves the buyer: not blame
        r"고객(님)?(의|께서|이)? (과실|부주의|잘못|실수|착오|착각)(?!\s*(이|은|는|가)?\s*아니)",
        r"(구매자|본인)(의|께서)? (과실|부주의|잘못|실수|책임)",
        r"책임(은|이)? (고객님?|구매자|본인)(께|에게|한테)? ?있",
        r"(규정|원칙)상 (절대 |무조건 )?(불가|안 됩|안 돼|해 드릴 수 없)",
        r"(절대|절대로|무조건) (불가|안 됩|안 돼|안 해|해 드릴 수 없|못 해)",
        r"왜 (그러셨|그렇게 하셨|이제야|지금에서야|미리 (말씀|확인|연락)|확인을? 안|안 하셨|사셨|주문하셨)",
        r"(저희|판매자|당사|저희 쪽)(의|가|는)? (잘못|책임|과실|탓)(이|은|는)? (아닙|아니|없)",
        r"저희도 (피해자|억울|손해)",
        r"억울(합니다|하네요|해요)",
        r"어쩔 수(가)? 없",
        r"안 되는 (건|것은|거는|것) 안 (됩|돼|되)",
        r"(몇|여러) 번(을|이나|째)? (말씀|안내|설명|얘기)",
        r"(같은|똑같은) (말씀|말|얘기|안내)(을|를)? (반복|계속|몇)",
        r"이해(를|가)? (못|안) (하시|되시|하세|하셨)",
        r"[가-힣]잖(아요|아|습니까)",
        r"상식(적으로|이잖|입니다|이에요|밖)",
        r"(억지|생떼|막무가내|무리한 요구|트집|꼬투리|갑질)",
        r"다른 (고객님?|분)들(은|께서는|도)? (다|모두|아무|문제|잘)",
        r"(택배사|택배 기사|기사님|제조사|공장|판매처)(의)? (잘못|과실|탓)",
        r"탓(이|입니다|이에요|이죠|으로|을|하)",
        r"(마음대로|맘대로|알아서|법대로) 하(세요|십시오|시든|시던|시라)",
        r"(신고|소송|고소)(하시든|하시던|하셔도|하시려면 하)",
        r"시(든지|든가|던지|던가)",
        r"(어이|어처구니)(가)? 없",
        r"황당(하네|합니다|한 (요구|말씀|주장))|기가 막(히네|힙니다|혀서)",
        r"그런 (말|약속|안내)(을|은)? (한|드린) 적(이|은)? 없",
        r"(받으셨|수령하셨|사용하셨|쓰셨|착용하셨)(으면서|잖|는데 왜)",
        r"(사지|구매하지|주문하지) (마세요|마시|마십시오|말)",
        r"ㅋㅋ",
        r"따지(시|는 거|려)",
        r"드렸는데(도)? (왜|또|계속)",
        r"(그것|그런 것|이런 것)도 (모르|확인 안|안 보)",
        r"(정도|그 정도)는 (아셔야|알고 계셔야|확인하셔야)",
        r"착각(하셨|하신|하시는)",
        r"(무슨|뭔) (소리|말)(이|씀|인지|이세요|을)",
        r"뭘 (어떻게|더 해)",
        r"어떻게 하라는",
        r"저희(가|는)? (알 바|상관할 바|책임질 수 없|책임지지 않|모릅니다)",
    )
)

# Insults and abuse: blocked outright (one fight is enough for a suspension).
ABUSE = compile_all(
    (
        r"진상",
        r"블랙 ?(컨슈머|리스트)",
        r"거지 ?같",
        r"미친 (놈|년|거 아|사람|고객|짓|소리)|(?<!영향을)(?<!영향을\x20)미쳤(나|냐|어|네|습니까)",
        r"(멍청|한심|무식|바보|돌아이|또라이|싸가지)",
        r"개념(이)? (없|상실)",
        r"정신 (나간|나갔|병)",
        r"(꺼져|꺼지|닥쳐|닥치)",
        r"(병신|븅신|ㅂㅅ|시발|씨발|ㅅㅂ|ㅆㅂ|개새|새끼|지랄|존나|좆)",
        r"엿 먹",
        r"재수 없",
        r"(사기꾼|거짓말)",
        r"양심(이)? (없|있으시|좀)",
    )
)

# Steering the buyer to a messenger or a direct line (blocked: Coupang's guide forbids asking for direct contact).
MESSENGER = compile_all(
    (
        r"(카톡|카카오톡|카카오 (채널|플러스|플친|아이디|id)|플친|오픈 (채팅|톡)|텔레그램|위챗|wechat|whatsapp|왓츠앱)",
        r"(?<![가-힣a-z])라인 (id|아이디|친구|메신저)",
        r"인스타(그램)? (dm|디엠|메시지)",
        r"(제|저희|개인|담당자|사장님?)(의)? (개인 )?(번호|휴대폰|핸드폰|폰 번호|연락처|이메일|메일 주소)",
    )
)

# Asking the buyer to call or text without a number: a warning (a marketplace's own centre is allowed).
CONTACT_REQUEST = compile_all((r"(전화|문자|연락처)(를|을)? (주세요|주시면|주십시오|부탁|바랍니다|남겨)",))

# Asking for a review to change or go: blocked.
REVIEW_CHANGE = compile_all(
    (
        r"(리뷰|후기|상품평|구매평|평점|별점)(을|를|은|는|도|좀)? [^.!?\n]{0,6}"
        r"(수정|삭제|지워|지우|내려|내리|바꿔|변경|고쳐)",
        r"(별점|평점|점수)(을|를|좀)? [^.!?\n]{0,6}(올려|높여|바꿔|수정)",
        r"별 ?(5|다섯) ?(개|점)",
        r"(5점|만점) (리뷰|후기|평가|부탁|주시|남겨)",
    )
)

# Asking for a good review or paying for one: a warning.
REVIEW_ASK = compile_all(
    (
        r"(좋은|긍정적인|예쁜) (리뷰|후기|평가)(를|도)? (부탁|남겨|써|작성)",
        r"(리뷰|후기)[^.!?\n]{0,12}(적립금|포인트|사은품|쿠폰|캐시백)",
    )
)

# Money outside the marketplace (return costs to an account, cash in the box): blocked.
OUTSIDE_PAYMENT = compile_all(
    (
        r"(배송비|택배비|운임|반품비|교환비|반품 비용|교환 비용|왕복 비용)(를|을|은|는)? [^.!?\n]{0,12}"
        r"(입금|송금|이체|계좌|동봉|현금)",
        r"(계좌|통장)(로|으로|에)? [^.!?\n]{0,8}(입금|송금|이체|보내)[가-힣 ]{0,4}(주시|주세요|주십|부탁|바랍)",
        r"(현금|돈)(을)? (동봉|넣어)",
    )
)

# Numbers a buyer may be pointed to: marketplaces' and couriers' own centres (public, well-known).
ALLOWED_PHONES = frozenset(
    {
        "1577-7011",  # 쿠팡 고객센터
        "1588-3819",  # 네이버 고객센터
        "1599-0110",  # 11번가
        "1566-5701",  # G마켓
        "1588-0184",  # 옥션
        "1588-1255",  # CJ대한통운
        "1588-1300",  # 우체국
        "1588-0011",  # 한진택배
        "1588-2121",  # 롯데택배
        "1588-9988",  # 로젠택배
    }
)
REPRESENTATIVE_PHONE = re.compile(r"(?<!\d)1[5-9]\d\d-?\d{4}(?!\d)")

# Links to the marketplaces themselves, couriers' tracking and government sites (유니패스 통관 조회) are fine.
ALLOWED_HOSTS = (
    "coupang.com",
    "naver.com",
    "naver.me",
    "11st.co.kr",
    "gmarket.co.kr",
    "auction.co.kr",
    "esmplus.com",
    "cjlogistics.com",
    "epost.go.kr",
    "hanjin.com",
    "hanjin.co.kr",
    "lotteglogis.com",
    "ilogen.com",
    ".go.kr",
)
LINK = re.compile(
    r"(https?://[^\s<>\"')\]]+|www\.[^\s<>\"')\]]+"
    r"|(?<![@\w.-])(?:[a-z0-9-]+\.)+(?:com|net|org|kr|me|ly|io|shop|store|link|site|gl)(?:/[^\s<>\"')\]]*)?)",
    re.IGNORECASE,
)
