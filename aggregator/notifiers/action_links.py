"""Signed links for the phone's action buttons (ntfy `http` actions calling the admin API).

The admin token itself never leaves the machine: each button carries an HMAC of (action, inquiry, expiry)
made with it, so a link works for one action on one inquiry for a limited time, and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

# Long enough for a notification read the next morning or after a holiday weekend; short enough that an old
# screenshot of a notification is worthless.
LINK_LIFETIME = timedelta(days=7)
_SIG_HEX = 32  # 128 bits of HMAC-SHA256: plenty for a link that expires
ACTION_LABELS = {"handled": "✅ 처리함", "snooze1h": "⏰ 1시간 뒤", "snooze3h": "⏰ 3시간 뒤"}


def sign(token: str, action: str, inquiry_id: int, expires: int) -> str:
    """The signature of one action link."""
    message = f"{action}:{inquiry_id}:{expires}".encode()
    return hmac.new(token.encode("utf-8"), message, hashlib.sha256).hexdigest()[:_SIG_HEX]


def verify(token: str, action: str, inquiry_id: int, expires: int, signature: str, *, now: datetime) -> bool:
    """True when the link was made with `token` for exactly this action and inquiry, and has not expired."""
    if expires < now.timestamp():
        return False
    return hmac.compare_digest(sign(token, action, inquiry_id, expires), signature)


class ActionLinks:
    """Builds the ntfy action buttons for one inquiry: the seller-center link and two signed admin calls; and,
    with the web inbox on, the inquiry's page there (what a tap on the notification opens)."""

    def __init__(self, public_url: str, token: str, now: Callable[[], datetime], *, web_inbox: bool = False) -> None:
        self._base = public_url.rstrip("/")
        self._token = token
        self._now = now
        self._web_inbox = web_inbox

    def inquiry_page(self, inquiry_id: int) -> str | None:
        """The inquiry in the web inbox (its login page first when no session), or None with the inbox off."""
        return f"{self._base}/inquiries/{inquiry_id}" if self._web_inbox else None

    def url(self, action: str, inquiry_id: int) -> str:
        """A signed POST target for one action on one inquiry."""
        expires = int((self._now() + LINK_LIFETIME).timestamp())
        signature = sign(self._token, action, inquiry_id, expires)
        return f"{self._base}/actions/{action}/{inquiry_id}?exp={expires}&sig={signature}"

    def ntfy_actions(self, inquiry_id: int, click_url: str | None) -> list[dict[str, Any]]:
        """At most three buttons (ntfy's limit): open the seller center, mark handled, snooze one hour."""
        buttons: list[dict[str, Any]] = []
        if click_url:
            buttons.append({"action": "view", "label": "판매자센터", "url": click_url})
        for action in ("handled", "snooze1h"):
            buttons.append(
                {
                    "action": "http",
                    "label": ACTION_LABELS[action],
                    "url": self.url(action, inquiry_id),
                    "method": "POST",
                    "clear": action == "handled",  # a handled inquiry's notification can go
                }
            )
        return buttons
