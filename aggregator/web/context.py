"""What the web pages need from the running daemon, passed in once: the pages read the store and call the same
services as the terminal commands and the phone; they hold no state of their own beyond sessions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aggregator.answering.desk import AnswerDesk
from aggregator.kakao_login import PendingLogins
from aggregator.settings import Settings
from aggregator.settings.reload import Reloaded
from aggregator.store import Store
from aggregator.web.security import LoginThrottle, Sessions
from core.clock import Clock
from policies import Policies


@dataclass
class WebContext:
    """The daemon's parts as the pages use them. Callables, not values: settings and policies change on reload."""

    store: Store
    clock: Clock
    settings: Callable[[], Settings]
    policies: Callable[[], Policies]
    desk: Callable[[], AnswerDesk]
    # A control changed (snooze, handled, promise, vacation): the timer and dispatcher look again now.
    controls_changed: Callable[[], None]
    # Re-read the config file and apply what can be applied live; the old settings stay when it is refused.
    reload: Callable[[], Awaitable[Reloaded]]
    # `inqd test-notify --channel NAME` from the status page: the channel's reply, in words.
    test_channel: Callable[[str], Awaitable[str]]
    # The facts `inqd status` prints (aggregator/cli/status_report.py's dict).
    status: Callable[[], Awaitable[dict[str, Any]]]
    config_path: Path | None = None
    token: str | None = None
    # Buyer data in full for a browser on this machine; masked for one reached through the network unless
    # the seller turns that off ([admin] show_buyer_data_remote = true).
    show_buyer_data_remote: bool = False
    sessions: Sessions = field(default_factory=Sessions)
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    # Kakao logins started from the status page, waiting for Kakao's redirect (aggregator/web/kakao.py).
    kakao_logins: PendingLogins = field(default_factory=PendingLogins)
