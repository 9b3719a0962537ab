"""The two facts the status page asks the daemon for, built as the terminal commands build them."""

from __future__ import annotations

from typing import Any

from aggregator.cli.notify_check import failure_advice
from aggregator.cli.status_report import kakao_login_readers, status_report, watched_streams
from aggregator.cli.words import Words
from aggregator.notifiers.base import DeliveryError, Notifier
from aggregator.render import channel_test_messages
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
    messages = channel_test_messages(name, now=clock.now())
    if config.type == "sms":
        messages = messages[1:]  # SMS costs money: only the max-priority test
    try:
        for message in messages:
            await notifier.send(message)
    except DeliveryError as err:
        return _WORDS("notify_failed", name=name, type=config.type, advice=failure_advice(err, config, _WORDS))
    return _WORDS("notify_sent", name=name, type=config.type, count=len(messages))
