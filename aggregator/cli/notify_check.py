"""`inqd test-notify`: a clearly marked test to each channel, and for a channel that failed, what failed and what
to check, for that type of channel (an unreachable server, a refused token, an unknown topic or chat, a timeout).
"""

from __future__ import annotations

import sys
from datetime import datetime

from aggregator.cli.words import Words
from aggregator.logs import configure_logging
from aggregator.notifiers.base import DeliveryError, Notifier
from aggregator.render import channel_test_messages
from aggregator.settings import NotifierConfig, Settings
from aggregator.wiring.channels import build_notifier
from core.clock import SystemClock

EXIT_FAILED = 1
EXIT_NO_CHANNEL = 2


def _failure(err: DeliveryError) -> str:
    """What kind of failure `err` is, for the advice table."""
    if err.network in ("timeout", "unreachable"):
        return err.network
    status = err.status
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"
    if status is not None and (status == 429 or status >= 500):
        return "busy"
    if status is not None or "refused" in str(err):
        return "refused"
    return "other"


def failure_advice(err: DeliveryError, config: NotifierConfig, words: Words) -> str:
    """What failed in a channel's test and what to check, for its type of channel, in the run's language."""
    failure = _failure(err)
    key = f"advice_{failure}_{config.type}" if f"advice_{failure}_{config.type}" in words else f"advice_{failure}_any"
    server = getattr(config, "server_url", None) or getattr(config, "base_url", None) or config.type
    return words(key, server=server, error=str(err).removeprefix(f"{config.name}: "))


async def send_test(
    notifier: Notifier, config: NotifierConfig, words: Words, *, now: datetime
) -> tuple[DeliveryError | None, str]:
    """One channel's test messages (SMS: only the max-priority one, it costs money); the failure if any, and the
    line that says what happened (with what to check, for a failure)."""
    messages = channel_test_messages(config.name, now=now)
    if config.type == "sms":
        messages = messages[1:]
    try:
        for message in messages:
            await notifier.send(message)
    except DeliveryError as err:
        advice = failure_advice(err, config, words)
        return err, words("notify_failed", name=config.name, type=config.type, advice=advice)
    return None, words("notify_sent", name=config.name, type=config.type, count=len(messages))


async def send_test_messages(settings: Settings, only: str | None, words: Words) -> int:
    """Send the test messages; 0 all sent, 1 a channel failed, 2 no such channel."""
    configs = [cfg for cfg in settings.notifiers if only in (None, cfg.name)]
    if not configs:
        names = ", ".join(c.name for c in settings.notifiers)
        print(words("notify_no_channel", name=only, names=names), file=sys.stderr)
        return EXIT_NO_CHANNEL
    configure_logging(level="WARNING").add(settings.secret_values())
    clock = SystemClock()
    failed = 0
    for cfg in configs:
        notifier = build_notifier(cfg, clock=clock, secrets_dir=settings.secrets_dir)
        try:
            error, line = await send_test(notifier, cfg, words, now=clock.now())
        finally:
            await notifier.aclose()
        if error is not None:
            failed += 1
            line += words("notify_will_retry") if error.retryable else ""
        print(line)
    return EXIT_FAILED if failed else 0
