"""KakaoTalk "send to me" (나에게 보내기): one text-template message per notification into the 나와의 채팅 of the Kakao
account the seller logged in with once (`inqd kakao-login`).

`POST {api_url}/v2/api/talk/memo/default/send` with `Authorization: Bearer <user access token>` and one form field,
`template_object`: a JSON text template (developers.kakao.com/docs/latest/ko/kakaotalk-message/rest-api and
message-template/default). Its text is shown up to 200 characters, so the message is squeezed to fit: title first
(what, where, how long left), then the body with its longest line cut first. The text is the rendered, already
masked `Message`; nothing here adds buyer data.

The link. The text template needs a `link`; the button under the message opens it. In order: the inquiry's page in
the web inbox (`{public_url}/inquiries/{id}`, when the admin API is reachable from the phone, as ntfy's click), the
message's own link (the marketplace's seller centre), the web inbox's front page. Kakao opens only links to domains
registered in the app (app settings: 플랫폼 > Web 사이트 도메인; newer consoles: 제품 링크 관리 > 웹 도메인):
register the `[admin] public_url` host and the seller centres in LINK_DOMAINS for the marketplaces you sell on.
What Kakao does with an unregistered domain (refuse the message, or send it with a dead link) is UNCONFIRMED here.
A message with no link at all (a recovery notice without the web inbox) sends an empty `link` object, which the
SDKs' models allow (every Link field is optional); that the REST server accepts it is UNCONFIRMED.

Failures. A 401 (code -401: the access token expired or was revoked) did not deliver, so the token is refreshed once
and the message sent again; a second 401, a refused refresh (KakaoLoginNeeded) or -402 (no consent to talk_message)
is permanent with the fix in Korean, and the dispatcher falls back. 429, -10 (quota), 5xx, Kakao's own "retry"
codes and transport errors are retryable; other refusals permanent. No other retry here: the dispatcher owns
retries, and a second send after anything but a 401 could deliver the message twice.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

import httpx
import structlog

from aggregator import render
from aggregator.notifiers.action_links import ActionLinks
from aggregator.notifiers.base import DeliveryError, raise_for_delivery, transport_failure
from aggregator.notifiers.kakao_auth import KakaoLoginNeeded, KakaoTokenStore, token_path
from aggregator.settings.notify import KakaoConfig
from core.http import json_object, make_client
from core.models import Message, MessageKind

__all__ = [
    "LINK_DOMAINS",
    "KakaoLoginNeeded",
    "KakaoNotifier",
    "KakaoTokenSource",
    "kakao_text",
    "refresh_expiry_of",
]

log = structlog.get_logger(__name__)

SEND_PATH = "/v2/api/talk/memo/default/send"
TEXT_LIMIT = 200  # what the text template shows (Kakao's SDKs: "최대 200자")
INQUIRY_BUTTON = "문의 보기"  # the inquiry's page in the web inbox
SELLER_CENTER_BUTTON = "판매자센터 열기"
OTHER_BUTTON = "열기"
# The domains a seller registers in the Kakao app for the buttons to open: the seller centres (render's links) and
# the web inbox's `[admin] public_url` host.
LINK_DOMAINS = tuple(sorted({urlsplit(url).hostname or "" for url in render.SELLER_CENTER_URLS.values()}))
_WEB_URL = re.compile(r"https?://\S+")
_MIN_LINE = 12  # a squeezed line keeps at least this much: "“배송 언제 …" still says what the buyer asks
_DETAIL_MAX_CHARS = 80
# Kakao's common error codes (developers.kakao.com/docs/latest/ko/rest-api/error-code): -1 internal error ("재시도"),
# -7 maintenance, -10 quota exceeded, -603 internal timeout, -9798 maintenance (503). All answered with 400 but
# passing: retried by the dispatcher. -402 (insufficient scope) needs a new login with the consent.
_RETRYABLE_CODES = frozenset({-1, -7, -10, -603, -9798})
_QUOTA_CODE = -10
_NO_CONSENT_CODE = -402
# Kakao sends no Retry-After with -10; its quotas are per day and per month (UNCONFIRMED for talk memo), so
# hammering helps nobody: at least this long between tries.
_QUOTA_FLOOR_S = 300.0


class KakaoTokenSource(Protocol):
    """The stored login of one kakao channel (aggregator/notifiers/kakao_auth.py's KakaoTokenStore).

    Besides KakaoLoginNeeded, a transient failure to refresh (kauth unreachable, 5xx) raises httpx.HTTPError or a
    retryable DeliveryError: the message then waits for the dispatcher's next try.
    """

    async def access_token(self) -> str:
        """A valid access token (refreshing first when near expiry)."""
        ...

    async def refreshed(self) -> str:
        """Refresh now (after a 401) and return the new access token."""
        ...

    def refresh_expires_at(self) -> datetime | None:
        """When the stored refresh token ends (None: not logged in)."""
        ...


def refresh_expiry_of(secrets_dir: Path | None, channel: str) -> datetime | None:
    """When the stored login of `channel` ends, read from its token file's `refresh_token_expires_at` only (for
    `inqd status` and the reminders, in any process); None with no secrets_dir, no file or no readable date."""
    if secrets_dir is None:
        return None
    try:
        stored = json.loads(token_path(secrets_dir, channel).read_text(encoding="utf-8"))
        at = datetime.fromisoformat(stored["refresh_token_expires_at"])
    except (OSError, ValueError, KeyError, TypeError):
        # Neither the error nor the file's content is logged: the file holds the tokens.
        return None
    return at if at.tzinfo is not None else None


def kakao_text(message: Message, *, now: datetime) -> str:
    """The message as the ~200-character text template shows it: title (with the time left on a new inquiry),
    then the body's lines, the longest cut first; newlines kept, blank lines dropped."""
    title = message.title
    if message.kind is MessageKind.NEW_INQUIRY and message.deadline is not None:
        title = f"{title} · {render.left_text(message.deadline, now)}"
    lines = [line.strip() for line in (title, *message.body.splitlines())]
    return _squeeze([line for line in lines if line], TEXT_LIMIT)


def _squeeze(lines: list[str], limit: int) -> str:
    """`lines` joined within `limit` characters: the longest line after the first gives way (cut with "…") down to
    _MIN_LINE characters; what is still over is cut at the end."""
    lines = list(lines)
    while (over := len("\n".join(lines)) - limit) > 0 and len(lines) > 1:
        longest = max(range(1, len(lines)), key=lambda i: len(lines[i]))
        if len(lines[longest]) <= _MIN_LINE:
            break
        keep = max(_MIN_LINE, len(lines[longest]) - over)
        lines[longest] = lines[longest][: keep - 1].rstrip() + "…"
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class KakaoNotifier:
    """Sends each message to the logged-in account's 나와의 채팅; the access token never reaches an error or a log.

    Pictures: `Message.image` (the weekly chart) is not sent. The default text template has no picture, and the
    feed template takes only an image URL (Kakao's image upload API hands one out, but it is another call and
    another permission); the weekly report's three lines and its link go as text.
    """

    kind: ClassVar[str] = "kakao"
    shows_images: ClassVar[bool] = False

    def __init__(
        self,
        config: KakaoConfig,
        tokens: KakaoTokenSource,
        *,
        client: httpx.AsyncClient | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        action_links: ActionLinks | None = None,
        home_url: str | None = None,
    ) -> None:
        self.name = config.name
        self._url = config.api_url + SEND_PATH
        self._tokens = tokens
        self._client = client or make_client()
        self._now = now
        self._action_links = action_links  # the inquiry's page in the web inbox, as ntfy's click
        self._home_url = home_url  # the web inbox's front page: the link of a message about no inquiry

    def __repr__(self) -> str:
        return f"KakaoNotifier(name={self.name!r}, url={self._url!r})"

    async def aclose(self) -> None:
        """Close the HTTP client (and the token store's, when it owns one)."""
        await self._client.aclose()
        if isinstance(self._tokens, KakaoTokenStore):
            await self._tokens.aclose()

    def template_object(self, message: Message) -> dict[str, Any]:
        """The text template for `message`: the squeezed text, the link and its button."""
        template: dict[str, Any] = {"object_type": "text", "text": kakao_text(message, now=self._now())}
        url, button = self._link(message)
        template["link"] = {"web_url": url, "mobile_web_url": url} if url else {}
        if url:
            template["button_title"] = button
        return template

    def _link(self, message: Message) -> tuple[str | None, str]:
        """The button's target and title: the inquiry in the web inbox, else the message's link, else the inbox."""
        page = None
        if self._action_links is not None and message.inquiry_id is not None:
            page = self._action_links.inquiry_page(message.inquiry_id)
        about_inquiry = message.inquiry_id is not None
        for url, button in (
            (page, INQUIRY_BUTTON),
            (message.click_url, SELLER_CENTER_BUTTON if about_inquiry else OTHER_BUTTON),
            (self._home_url, OTHER_BUTTON),
        ):
            if url and _WEB_URL.fullmatch(url):
                return url, button
        return None, OTHER_BUTTON

    async def send(self, message: Message) -> None:
        """POST the text template; after a 401, refresh the login once and send again (the 401 delivered nothing).

        Raises DeliveryError: permanent with the Korean fix for an ended login or a missing consent, retryable for
        429, quota, 5xx and transport errors, permanent for other refusals.
        """
        form = {"template_object": json.dumps(self.template_object(message), ensure_ascii=False)}
        response = await self._post(form, await self._token(refresh=False))
        if response.status_code == 401:
            log.info("kakao.token_refused", channel=self.name)
            response = await self._post(form, await self._token(refresh=True))
            if response.status_code == 401:
                raise DeliveryError(self._login_reason(), retryable=False, status=401)
        self._check(response)
        log.debug("notify.sent", channel=self.name, kind=self.kind)

    async def _token(self, *, refresh: bool) -> str:
        try:
            return await (self._tokens.refreshed() if refresh else self._tokens.access_token())
        except KakaoLoginNeeded:
            raise DeliveryError(self._login_reason(), retryable=False) from None
        except httpx.HTTPError as err:
            # No `from err`: the refresh request's form carried the refresh token.
            raise transport_failure(err, channel=self.name) from None

    async def _post(self, form: dict[str, str], token: str) -> httpx.Response:
        try:
            return await self._client.post(self._url, data=form, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as err:
            # No `from err`: the cause carries the request and its Authorization header into any traceback.
            raise transport_failure(err, channel=self.name) from None

    def _check(self, response: httpx.Response) -> None:
        """Classify Kakao's answer by its `code` first (Kakao answers most refusals with 400), then by status."""
        if response.is_success:
            return
        answer = json_object(response)
        code = answer.get("code") if isinstance(answer.get("code"), int) else None
        msg = str(answer.get("msg") or "")[:_DETAIL_MAX_CHARS]
        detail = " ".join(part for part in (f"code {code}" if code is not None else "", msg) if part)
        log.debug("kakao.rejected", channel=self.name, status=response.status_code, code=code)
        if code == _NO_CONSENT_CODE:
            raise DeliveryError(self._consent_reason(), retryable=False, status=response.status_code)
        if code in _RETRYABLE_CODES and response.status_code != 429:
            floor = _QUOTA_FLOOR_S if code == _QUOTA_CODE else None
            text = f"{self.name}: HTTP {response.status_code} ({detail})"
            raise DeliveryError(text, retryable=True, retry_after_s=floor, status=response.status_code)
        raise_for_delivery(response, channel=self.name, now=self._now(), detail=detail)

    def _login_reason(self) -> str:
        fix = f"inqd kakao-login --channel {self.name} 으로 다시 로그인하세요"
        return f"{self.name}: 카카오 로그인이 만료되었습니다: {fix}"

    def _consent_reason(self) -> str:
        return (
            f"{self.name}: 카카오톡 메시지 전송(talk_message)에 동의하지 않은 로그인입니다: "
            f"inqd kakao-login --channel {self.name} 으로 다시 로그인해 동의하세요"
        )
