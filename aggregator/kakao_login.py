"""The one-time Kakao login as both surfaces run it (`inqd kakao-login` and the web inbox's status page): logins
waiting for Kakao's redirect by their `state`, the redirect's checks, and the words the seller reads.

The token exchange and the token file are aggregator/notifiers/kakao_auth.py's.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from aggregator.notifiers.base import DeliveryError
from aggregator.notifiers.kakao_auth import KakaoLoginNeeded, code_challenge, new_code_verifier

# How long a started login waits for Kakao to send the browser back.
LOGIN_TIMEOUT = timedelta(minutes=10)
_MAX_PENDING = 20  # logins started and not finished: oldest dropped first, a flood cannot grow memory


class KakaoLoginFailed(Exception):
    """The browser came back without a usable code (an unknown state, the seller cancelled); Korean text."""


# Everything a login can end with besides tokens; each one's text is for the seller.
LOGIN_ERRORS = (KakaoLoginFailed, KakaoLoginNeeded, DeliveryError)


@dataclass(frozen=True, slots=True)
class PendingLogin:
    """A login sent to Kakao and not yet back: the channel, the PKCE verifier, who started it, until when."""

    channel: str
    verifier: str = field(repr=False)
    started_by: str = field(repr=False)  # the web session that started it ("" for the command)
    expires_at: datetime


class PendingLogins:
    """Logins waiting for Kakao's redirect, by their `state` (random, one use, ten minutes)."""

    def __init__(self) -> None:
        self._by_state: OrderedDict[str, PendingLogin] = OrderedDict()

    def start(self, channel: str, *, started_by: str, now: datetime) -> tuple[str, str]:
        """A new login for `channel`: its (state, S256 challenge)."""
        state, verifier = secrets.token_urlsafe(32), new_code_verifier()
        self._by_state[state] = PendingLogin(channel, verifier, started_by, now + LOGIN_TIMEOUT)
        while len(self._by_state) > _MAX_PENDING:
            self._by_state.popitem(last=False)
        return state, code_challenge(verifier)

    def finish(self, state: str, now: datetime) -> PendingLogin | None:
        """The login `state` names, taken out (a state works once); None when unknown or expired."""
        pending = self._by_state.pop(state, None)
        return pending if pending is not None and now < pending.expires_at else None


def came_back(logins: PendingLogins, query: Mapping[str, str], now: datetime) -> tuple[PendingLogin, str]:
    """Kakao's redirect (`?code=…&state=…` or `?error=…&state=…`): the login it finishes and its code.
    KakaoLoginFailed when the state is not one we issued (or is spent or late) or Kakao sent an error."""
    login = logins.finish(query.get("state", ""), now)
    if login is None:
        raise KakaoLoginFailed(
            "이 로그인 요청을 알 수 없습니다: 10분이 지났거나, 이미 쓰였거나, 이 inqd가 시작한 것이 아닙니다. "
            "처음부터 다시 로그인하세요."
        )
    error = query.get("error")
    if error == "access_denied":
        raise KakaoLoginFailed(
            "카카오 동의 화면에서 취소했습니다. 다시 로그인하고 '카카오톡 메시지 전송'에 동의하세요."
        )
    if error or not query.get("code"):
        # Kakao's error_description is not shown: it may quote what the browser sent.
        raise KakaoLoginFailed(
            f"카카오가 로그인을 거부했습니다 ({error or '인가 코드 없음'}). 카카오 디벨로퍼스의 앱 설정"
            "(Redirect URI, 동의항목 '카카오톡 메시지 전송')을 확인하세요."
        )
    return login, query["code"]


def logged_in_text(refresh_until: datetime, now: datetime, zone: tzinfo) -> str:
    """ "로그인했습니다: 리프레시 토큰은 MM/DD까지 (약 60일)"."""
    return f"로그인했습니다: 리프레시 토큰은 {until_text(refresh_until, now, zone)}"


def until_text(refresh_until: datetime, now: datetime, zone: tzinfo) -> str:
    """ "MM/DD까지 (약 N일)" in the seller's zone."""
    days = round((refresh_until - now) / timedelta(days=1))
    return f"{refresh_until.astimezone(zone):%m/%d}까지 (약 {days}일)"
