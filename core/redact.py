"""Masking of buyer personal data in free text, and a structlog processor that scrubs secrets.

Pure functions, stdlib only. Used for everything that leaves the machine (phone text) and for logs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from typing import Any

# Mobile numbers (010/011/016/017/018/019) and landlines (02, 031, ..., 070), with -, . or space or none.
_PHONE = re.compile(r"(?<!\d)(0(?:1[016789]|2|[3-6][1-5]|70|50\d?))[-. ]?(\d{3,4}|\*{3,4})[-. ]?(\d{4})(?!\d)")
_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-]{1,64})@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)")
_SURNAMES = (
    "김이박최정강조윤장임한오서신권황안송류유전홍고문양손배백허남심노하곽성차주우구민진나지엄채원천방공현함변염여추도소석선설"
    "마길연위표명기반왕금옥육인맹제모탁국어은편용예경봉사부가복태목형피두감음빈동온호범좌팽승간상갈견당"
)
# A name is guessed where a label announces it, or where an honorific follows a surname-led word.
_LABELLED_NAME = re.compile(
    r"((?:성함|이름|고객명|수령인|수령자|받는\s?분|받으시는\s?분|구매자|주문자|예금주)\s*[:은는이가]?\s*)([가-힣]{2,4})"
)
_HONORIFIC_NAME = re.compile(rf"(?<![가-힣])([{_SURNAMES}][가-힣]{{1,3}})(?=\s?(?:고객님|고객|님|씨))")
# "박지훈입니다", "저는 이서연이에요": only full three-syllable names, to spare words like 정품입니다.
_SELF_INTRO_NAME = re.compile(
    rf"(?<![가-힣])([{_SURNAMES}][가-힣]{{2}})(?=(?:입니다|이에요|이예요|이고요|라고 합니다))"
)
_ADDRESS = re.compile(
    r"((?:서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충북|충남|전북|전남|경북|경남|제주)[가-힣]*"
    r"(?:\s+[가-힣]+(?:시|군|구))+)"
    r"((?:\s+[가-힣0-9]+(?:읍|면|동|리|로|길|가))+"
    r"(?:\s*[0-9]+(?:-[0-9]+)?(?:번지)?)?(?:[ ,]*[0-9가-힣-]+(?:동|호|층))*)"
)


def mask_name(name: str) -> str:
    """김민수 → 김*수, 김민 → 김*, 남궁민수 → 남**수."""
    name = name.strip()
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _mask_phone(match: re.Match[str]) -> str:
    return f"{match.group(1)}-****-{match.group(3)}"


def _mask_email(match: re.Match[str]) -> str:
    local = match.group(1)
    return f"{local[:2]}***@{match.group(2)}"


def mask_pii(text: str, *, known_names: Iterable[str] = ()) -> str:
    """Mask phone numbers, emails, addresses and names inside free text."""
    for name in sorted({n.strip() for n in known_names if n and n.strip()}, key=len, reverse=True):
        text = text.replace(name, mask_name(name))
    text = _PHONE.sub(_mask_phone, text)
    text = _EMAIL.sub(_mask_email, text)
    text = _ADDRESS.sub(lambda m: f"{m.group(1)} ***", text)
    text = _LABELLED_NAME.sub(lambda m: m.group(1) + mask_name(m.group(2)), text)
    text = _SELF_INTRO_NAME.sub(_mask_honorific, text)
    return _HONORIFIC_NAME.sub(_mask_honorific, text)


# Words that take 님/씨 but are roles, not names.
_NOT_NAMES = frozenset(
    [
        "고객",
        "사장",
        "선생",
        "기사",
        "판매자",
        "담당자",
        "상담사",
        "관리자",
        "셀러",
        "회원",
        "구매자",
        "주문자",
        "택배기사",
        "배송기사",
        "여러분",
        "사모",
        "부장",
        "과장",
        "대리",
        "실장",
        "팀장",
        "원장",
        "매니저",
        "상담원",
        "고객센터",
        "배송원",
        "주인",
        "어머",
        "아버",
        "형",
        "누",
        "배송중",
        "주문건",
        "교환건",
        "반품건",
        "환불건",
        "취소건",
        "문의건",
        "상품명",
        "주문서",
        "오배송",
        "정상품",
        "불량품",
    ]
)


def _mask_honorific(match: re.Match[str]) -> str:
    word = match.group(1)
    return word if word in _NOT_NAMES else mask_name(word)


def excerpt(text: str, limit: int) -> str:
    """One line of at most `limit` characters, whitespace folded, cut with an ellipsis."""
    folded = " ".join(text.split())
    return folded if len(folded) <= limit else folded[: max(0, limit - 1)].rstrip() + "…"


_SECRET_KEYS = re.compile(r"(secret|token|password|passwd|authorization|api_?key|access_?key|signature|sign)", re.I)
_SECRET_VALUES = (
    re.compile(r"(?<!\d)\d{6,}:[A-Za-z0-9_-]{30,}"),  # Telegram bot token (sits inside URLs: no \b)
    re.compile(r"\btk_[A-Za-z0-9]{8,}\b"),  # ntfy access token
    re.compile(r"(access-key=)[^,\s]+", re.I),
    re.compile(r"(signature=)[0-9a-f]{16,}", re.I),
    re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.I),
)
REDACTED = "**********"


class SecretScrubber:
    """structlog processor: hides secret-looking keys, known secret values and phone numbers in log events."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, secrets: Iterable[str]) -> None:
        """Learn more secret values (e.g. after loading the config)."""
        self._secrets = sorted({*self._secrets, *(s for s in secrets if s and len(s) >= 4)}, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """Remove every known secret, token-shaped value and phone number from `text`."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern in _SECRET_VALUES:
            text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
        return _PHONE.sub(_mask_phone, text)

    def _clean(self, key: str, value: Any) -> Any:
        if _SECRET_KEYS.search(key) and value not in (None, "", 0):
            return REDACTED
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, BaseException):
            return self.scrub(f"{type(value).__name__}: {value}")
        if isinstance(value, dict):
            return {k: self._clean(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._clean(key, v) for v in value]
        return value

    def __call__(self, logger: object, method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        """Process one log event."""
        for key in list(event_dict):
            event_dict[key] = self._clean(key, event_dict[key])
        return event_dict
