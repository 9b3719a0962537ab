"""The phone channel of `inqd init`: the --channel flag, which channel to set up, and a test notification to it.

A helper of the init wizard composition root: it may import anything of ours.
"""

from __future__ import annotations

import asyncio
import webbrowser
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aggregator.cli.kakao_login import PortBusy, serve_login
from aggregator.init.config import CHANNEL_FIELDS, EXIT_FAILED, EXIT_USAGE, OWNER_ID, Draft, StopInit, owner_of
from aggregator.init.steps import WizardSteps, flag_values
from aggregator.init.texts import say
from aggregator.kakao_login import LOGIN_ERRORS, logged_in_text
from aggregator.notifiers.base import DeliveryError
from aggregator.render import channel_test_messages
from aggregator.settings.notify import KakaoConfig, NotifierConfig
from aggregator.wiring.channels import build_notifier

CHANNEL_NAMES = {"ntfy": "phone", "telegram": "telegram", "sms": "sms", "sink": "sink", "kakao": "kakao"}


class ChannelSteps(WizardSteps):
    """The channel steps of the wizard, which mixes them in: --channel, the menu, the test notification."""

    def _channel_flag(self, spec: str) -> Draft:
        kind, _, text = spec.partition(":")
        if kind not in CHANNEL_FIELDS:
            raise StopInit(EXIT_USAGE, f"--channel {kind}: unknown channel (expected ntfy, telegram, sms, sink, kakao)")
        allowed = (
            {f.name for f in CHANNEL_FIELDS[kind]} | {"name"} | ({"base_url"} if kind in {"sms", "telegram"} else set())
        )
        given = flag_values(f"--channel {kind}", text, allowed)
        name = given.pop("name", "") or self._channel_name(kind)
        if not OWNER_ID.match(name):
            raise StopInit(
                EXIT_USAGE, f"--channel {kind}: the name must be 1-40 of a-z 0-9 - _, starting with a letter or digit"
            )
        return self._draft("notifiers", kind, name, given, f"--channel {kind}")

    def _channel_name(self, kind: str) -> str:
        types = {owner_of("notifiers", t): t.get("type") for t in self.file.tables("notifiers")}
        for name in (CHANNEL_NAMES[kind], kind, *(f"{kind}-{i}" for i in range(2, 100))):
            if types.get(name, kind) == kind:
                return name
        raise StopInit(EXIT_USAGE, "--channel: too many channels of one type")

    def _channel(self, flagged: Draft | None) -> None:
        self._section("section_channel")
        if flagged is not None:
            self._settle(flagged, ask_all=False)
            return
        if not self.interactive:
            return
        phones = [f"{owner_of('notifiers', t)} ({t.get('type')})" for t in self.file.tables("notifiers")]
        phones = [p for p in phones if not p.endswith("(sink)")]
        if phones and not self.io.yes(say(self.lang, "change_channel", names=", ".join(phones)), False):
            return
        self.io.say(say(self.lang, "channel_menu"))
        kind = ("ntfy", "telegram", "sms", "sink", "kakao")[self.io.choose(say(self.lang, "number"), 5, 1) - 1]
        if kind == "sink" and self.file.tables("notifiers"):
            return
        if kind == "ntfy":
            self.io.say(say(self.lang, "ntfy_public"))
        if kind == "kakao":
            redirect = KakaoConfig.model_fields["redirect_uri"].default
            self.io.say(say(self.lang, "kakao_steps", redirect=redirect, port=urlsplit(redirect).port))
        self._settle(self._draft("notifiers", kind, self._channel_name(kind), {}, kind), ask_all=True)

    def _test(self, draft: Draft, channel: Any) -> bool:
        """The test notifications of `inqd test-notify`: True to keep the channel, False to ask again."""
        if draft.kind == "kakao":
            return self._kakao_login(draft, channel)
        if draft.kind == "sink" or self.args.no_test:
            return True
        if draft.kind == "ntfy" and self.interactive:
            self.io.line(say(self.lang, "ntfy_subscribe", topic=channel.topic, server=channel.server_url) + " ")
        elif draft.kind == "ntfy":
            self.io.say(say(self.lang, "ntfy_topic", topic=channel.topic, server=channel.server_url))
        self.io.say(say(self.lang, "sending_test", name=draft.owner))
        messages = channel_test_messages(draft.owner, now=self.clock.now())
        messages = messages[1:] if draft.kind == "sms" else messages  # SMS costs money: the max-priority one only
        error = asyncio.run(self._send(channel, messages))
        if error is None:
            self.io.say(say(self.lang, "test_ok", count=len(messages)))
            return True
        text = self.scrubber.scrub(str(error))
        self.io.say(say(self.lang, "test_failed", error=text))
        if not self.interactive:
            if error.retryable:
                return True
            raise StopInit(EXIT_FAILED, f"{draft.flag}: the test notification was refused ({text})")
        return not self.io.yes(say(self.lang, "reenter_channel"), True)

    def _kakao_login(self, draft: Draft, channel: KakaoConfig) -> bool:
        """Offer the one-time login now (a test message needs it first); the channel is kept either way."""
        later = say(self.lang, "kakao_login_later", path=self.file.path, name=draft.owner)
        if not self.interactive or self.args.no_test or not self.io.yes(say(self.lang, "kakao_login_now"), True):
            self.io.say(later)
            return True
        login = serve_login(
            channel, self.file.secrets_dir, clock=self.clock, say=self.io.say, open_browser=webbrowser.open
        )
        try:
            tokens = asyncio.run(login)
        except (*LOGIN_ERRORS, PortBusy, TimeoutError, OSError) as err:
            error = self.scrubber.scrub(str(err) or type(err).__name__)
            self.io.say(say(self.lang, "kakao_login_failed", error=error) + "\n" + later)
            return True
        self.io.say(logged_in_text(tokens.refresh_token_expires_at, self.clock.now(), self._file_zone()))
        return True

    def _file_zone(self) -> ZoneInfo:
        """The zone the config names (Asia/Seoul unless it says otherwise)."""
        return ZoneInfo(str(self.file.plain.get("timezone", "Asia/Seoul")))

    async def _send(self, channel: NotifierConfig, messages: Sequence[Any]) -> DeliveryError | None:
        notifier = build_notifier(channel, clock=self.clock, secrets_dir=self.file.secrets_dir)
        try:
            for message in messages:
                await notifier.send(message)
        except DeliveryError as err:
            return err
        finally:
            await notifier.aclose()
        return None
