"""Masking of buyer data inside free text, and secret scrubbing of log events."""

from __future__ import annotations

import pytest

from core.redact import REDACTED, SecretScrubber, excerpt, mask_name, mask_pii


@pytest.mark.parametrize(
    ("name", "masked"),
    [("김민수", "김*수"), ("김민", "김*"), ("남궁민수", "남궁**"), ("이", "*")],
)
def test_mask_name(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("010-1234-5678로 연락주세요", "010-****-5678로 연락주세요"),
        ("전화 01012345678 부탁", "전화 010-****-5678 부탁"),
        ("번호 010.1234.5678", "번호 010-****-5678"),
        ("매장 02-345-6789", "매장 02-****-6789"),
        ("이미 마스킹 010-****-8801", "이미 마스킹 010-****-8801"),
        ("주문번호 16000009476673 확인", "주문번호 16000009476673 확인"),
        ("메일 minsu.kim@naver.com 으로", "메일 mi***@naver.com 으로"),
        ("[판매자이관] 김민수 고객님 요청", "[판매자이관] 김*수 고객님 요청"),
        ("수령인: 박지영 변경", "수령인: 박*영 변경"),
        ("성함 홍길동", "성함 홍*동"),
        ("주소 서울특별시 강남구 테헤란로 123 4층", "주소 서울특별시 강남구 ***"),
        (
            "경기도 성남시 분당구 판교역로 235 101동 202호로 보내주세요",
            "경기도 성남시 분당구 ***로 보내주세요",
        ),
        ("사이즈 문의드립니다", "사이즈 문의드립니다"),
        ("박지훈입니다. 연락 부탁", "박*훈입니다. 연락 부탁"),
        ("저는 이서연이에요", "저는 이*연이에요"),
        ("정품입니다", "정품입니다"),
        ("지금 배송중입니다", "지금 배송중입니다"),
        ("배송 언제 오나요? 고객님들 많이 기다려요", "배송 언제 오나요? 고객님들 많이 기다려요"),
    ],
)
def test_mask_pii_in_free_text(text: str, expected: str) -> None:
    assert mask_pii(text) == expected


def test_known_buyer_name_is_masked_everywhere() -> None:
    assert mask_pii("최수정입니다. 최수정 앞으로", known_names=["최수정"]) == "최*정입니다. 최*정 앞으로"


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [("짧은 글", 10, "짧은 글"), ("여러\n줄   공백", 20, "여러 줄 공백"), ("가나다라마바사", 5, "가나다라…")],
)
def test_excerpt(text: str, limit: int, expected: str) -> None:
    assert excerpt(text, limit) == expected


def test_scrubber_hides_keys_values_and_known_secrets() -> None:
    scrub = SecretScrubber(["sk-canary-123456"])
    event = scrub(
        None,
        "info",
        {
            "event": "x",
            "secret_key": "anything",
            "authorization": "CEA algorithm=HmacSHA256, access-key=ak, signed-date=1, signature=" + "a" * 64,
            "error": "failed with sk-canary-123456 inside",
            "nested": {"token": "t", "note": "call 010-1234-5678"},
            "url": "https://api.telegram.org/bot123456789:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij/sendMessage",
            "exc": RuntimeError("boom sk-canary-123456"),
            "count": 3,
        },
    )
    assert event == {
        "event": "x",
        "secret_key": REDACTED,
        "authorization": REDACTED,
        "error": f"failed with {REDACTED} inside",
        "nested": {"token": REDACTED, "note": "call 010-****-5678"},
        "url": f"https://api.telegram.org/bot{REDACTED}/sendMessage",
        "exc": f"RuntimeError: boom {REDACTED}",
        "count": 3,
    }
