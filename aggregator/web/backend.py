"""The two facts the status page asks the daemon for, built as the terminal commands build them."""

from __future__ import annotations

from typing import Any

from aggregator.cli.notify_check import send_test
from aggregator.cli.status_report import kakao_login_readers, status_report, watched_streams
from aggregator.cli.words import Words
from aggregator.notifiers.base import Notifier
from aggregator.settings import Settings
from aggregator.store import Store
from core.clock import Clock
from policies import Policies

_WORDS = Words("ko")


async def status_facts(store: Store, settings: Settings, policies: Policies, clock: Clock) -> dict[str, Any]:
    """What `inqd status --json` prints, for the running daemon's settings."""
    logins = {name: read() for name, read in kakao_login_readers(settings).items()}
    return await status_report(
        store,
        watched_streams(settings),
        policies,
        now=clock.now(),
        lost_after=settings.health.lost_after,
        words=_WORDS,
        kakao_logins=logins,
    )


async def test_channel(settings: Settings, notifiers: dict[str, Notifier], name: str, clock: Clock) -> str:
    """`inqd test-notify --channel NAME` through the daemon's own notifier: what happened, in words."""
    config = next((c for c in settings.notifiers if c.name == name), None)
    notifier = notifiers.get(name)
    if config is None or notifier is None:
        raise KeyError(name)
    _error, line = await send_test(notifier, config, _WORDS, now=clock.now())
    return line
