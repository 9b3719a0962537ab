"""The operator alerts about one marketplace account's connection: lost, refused credentials, recovered, a key
about to expire; and a KakaoTalk channel's login about to end. Pure like render.py, whose stamps and masking they
use."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from aggregator.render import SELLER_CENTER_URLS, duration_text, kst_stamp, masked_excerpt
from core.models import Marketplace, Message, MessageKind, Priority, StreamKind
from core.particles import with_particle

_WEEKDAYS = "월화수목금토일"

_AUTH_HINTS = {
    Marketplace.COUPANG: "WING에서 OpenAPI 키가 만료(발급 후 180일)되었거나 등록한 IP가 바뀌었는지 확인해 주세요.",
    Marketplace.NAVER: "커머스API센터에서 애플리케이션 시크릿과 API 그룹 권한을 확인해 주세요.",
    Marketplace.ELEVENST: "11번가 셀러 OpenAPI 센터에서 API 키를 확인해 주세요.",
    Marketplace.ESM: "ESM+에서 마스터 ID와 시크릿 키, API 사용 승인을 확인해 주세요.",
}


def _stream_names(streams: Sequence[StreamKind]) -> str:
    return ", ".join(s.label for s in streams)


def _account_trouble(marketplace: Marketplace, account_id: str, *, what: str, body: str, tag: str) -> Message:
    """An urgent operator alert about one account, linking to its seller centre."""
    return Message(
        kind=MessageKind.SYSTEM,
        title=f"[{marketplace.label}] {what}: {account_id}",
        body=body,
        priority=Priority.HIGH,
        tags=(tag,),
        click_url=SELLER_CENTER_URLS[marketplace],
    )


def _reason(error: str | None) -> str:
    # A marketplace's error message is its own free text: it can echo a request or a row.
    return f" ({masked_excerpt(error, 80)})" if error else ""


def connection_lost(
    *, marketplace: Marketplace, account_id: str, streams: Sequence[StreamKind], since: datetime, error: str | None
) -> Message:
    """One alert per account when its streams have failed longer than the bound ("연결 끊김")."""
    names = with_particle(_stream_names(streams), "을")
    body = (
        f"{kst_stamp(since)}부터 {names} 가져오지 못하고 있습니다{_reason(error)}.\n"
        "복구되면 그동안 들어온 문의를 모두 가져옵니다. 급하면 판매자센터를 직접 확인하세요."
    )
    return _account_trouble(marketplace, account_id, what="연결 끊김", body=body, tag="warning")


def auth_failed(*, marketplace: Marketplace, account_id: str, since: datetime, error: str | None) -> Message:
    """The alert sent at once when a marketplace refuses our credentials: waiting will not fix it."""
    body = (
        f"{kst_stamp(since)}부터 {marketplace.label} API가 인증을 거부합니다{_reason(error)}. "
        f"{_AUTH_HINTS[marketplace]} 고칠 때까지 이 계정의 문의를 가져올 수 없습니다."
    )
    return _account_trouble(marketplace, account_id, what="인증 실패", body=body, tag="no_entry")


def connection_recovered(
    *, marketplace: Marketplace, account_id: str, streams: Sequence[StreamKind], down_for: timedelta
) -> Message:
    """The one message when every stream of a lost account works again ("복구")."""
    return Message(
        kind=MessageKind.SYSTEM,
        title=f"[{marketplace.label}] 복구: {account_id}",
        body=f"{duration_text(down_for)} 만에 {_stream_names(streams)} 연결이 돌아왔습니다. 밀린 문의를 가져왔습니다.",
        priority=Priority.DEFAULT,
        tags=("white_check_mark",),
    )


def key_expiry(*, account_id: str, expires_on: date, days_left: int) -> Message:
    """A reminder before a Coupang OpenAPI key's 180-day expiry (or on the day it expires)."""
    when = f"{expires_on:%m/%d} ({_WEEKDAYS[expires_on.weekday()]})"
    lead = f"{days_left}일 뒤 {when} 만료됩니다" if days_left > 0 else f"{when} 만료됩니다(오늘)"
    return Message(
        kind=MessageKind.SYSTEM,
        title=f"[쿠팡] OpenAPI 키 만료 예정: {account_id}",
        body=(
            f"쿠팡 OpenAPI 키가 {lead}. WING에서 새 키를 발급받아 inqd 설정의 access_key / secret_key와 "
            "key_issued_at을 바꿔 주세요. 만료되면 문의를 가져올 수 없습니다."
        ),
        priority=Priority.HIGH if days_left <= 3 else Priority.DEFAULT,
        tags=("key",),
        click_url=SELLER_CENTER_URLS[Marketplace.COUPANG],
    )


def kakao_login_expiry(*, channel: str, expires_on: date, days_left: int) -> Message:
    """A reminder before a kakao channel's login (its refresh token, about two months) ends, or on the day."""
    when = f"{expires_on:%m/%d} ({_WEEKDAYS[expires_on.weekday()]})"
    lead = f"{days_left}일 뒤 {when} 만료됩니다" if days_left > 0 else f"{when} 만료됩니다(오늘)"
    if days_left < 0:
        lead = f"{when} 만료되었습니다"
    return Message(
        kind=MessageKind.SYSTEM,
        title=f"[카카오톡] 로그인 만료 예정: {channel}",
        body=(
            f"'{channel}' 채널의 카카오 로그인이 {lead}. 만료되면 이 채널로 알림이 가지 않습니다(fallback 채널이 "
            f"있으면 그리로 갑니다). inqd kakao-login --channel {channel} 으로 다시 로그인하세요."
        ),
        priority=Priority.HIGH if days_left <= 3 else Priority.DEFAULT,
        tags=("key",),
    )
