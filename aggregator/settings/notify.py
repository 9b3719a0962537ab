"""Configuration of the channels to the work phone: one table each in `[[notifiers]]`, discriminated by `type`.

Every channel can limit the message kinds it carries (`kinds`) and name a `fallback` channel that takes over a
message this one could not deliver for `fallback_after` (or refused for good).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, field_validator

from aggregator.settings.policy import Duration
from aggregator.settings.problems import Problem
from core.models import INQUIRY_KINDS, MessageKind

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
ALL_KINDS: tuple[MessageKind, ...] = tuple(k for k in MessageKind if k is not MessageKind.ANSWERED)
# SMS costs money per message: by default it carries only what must not wait.
SMS_DEFAULT_KINDS: tuple[MessageKind, ...] = (MessageKind.SLA_BREACH, MessageKind.PROMISE_MISSED, MessageKind.SYSTEM)


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise Problem("bad_name")
    return value


ChannelName = Annotated[str, AfterValidator(_check_name)]


class ChannelConfig(BaseModel):
    """What every channel has: a name, the message kinds it carries, and a fallback for what it cannot deliver."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ()

    name: ChannelName
    kinds: tuple[MessageKind, ...] = ALL_KINDS
    fallback: ChannelName | None = None
    fallback_after: Duration = timedelta(minutes=10)

    @field_validator("kinds")
    @classmethod
    def _some_kinds(cls, value: tuple[MessageKind, ...]) -> tuple[MessageKind, ...]:
        if not value:
            raise Problem("no_kinds")
        if MessageKind.ANSWERED in value:
            raise Problem("answered_by_hand")
        return value

    @property
    def clears_answered(self) -> bool:
        """True when this channel takes away an inquiry's notification once the inquiry is answered."""
        return False


def https_or_loopback(value: str) -> str:
    """An http(s) URL, plain http only on loopback; a Problem otherwise (shared by every URL in the config)."""
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise Problem("not_http_url")
    if parts.scheme == "http" and parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        raise Problem("plain_http")
    return value.rstrip("/")


class SinkNotifierConfig(ChannelConfig):
    """The local notification sink: console and/or a JSON-lines file. The embedded default."""

    type: Literal["sink"]
    name: ChannelName = "sink"
    console: bool = True
    file: Path | None = None


class NtfyConfig(ChannelConfig):
    """ntfy push (ntfy.sh or your own server) to the ntfy app on the work phone."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("token", "password")

    type: Literal["ntfy"]
    server_url: Annotated[str, AfterValidator(https_or_loopback)] = "https://ntfy.sh"
    topic: Annotated[str, Field(pattern=r"^[-_A-Za-z0-9]{1,64}$")]
    token: SecretStr | None = None  # an access token (tk_...), from env or secrets_dir
    username: str | None = None
    password: SecretStr | None = None
    use_sequence_id: bool = True  # one inquiry updates one notification (ntfy server >= 2.16)
    clear_when_answered: bool = True  # ...and that notification is cleared once the inquiry is answered

    @property
    def clears_answered(self) -> bool:
        """True when sequence ids are on, clearing is on, and the channel carries inquiry notifications."""
        return self.use_sequence_id and self.clear_when_answered and bool(INQUIRY_KINDS & set(self.kinds))


class SmsConfig(ChannelConfig):
    """SMS/LMS through Solapi to any phone; costs money per message, so breaches and system alerts by default."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("api_secret",)

    type: Literal["sms"]
    kinds: tuple[MessageKind, ...] = SMS_DEFAULT_KINDS
    api_key: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{8,64}$")]
    api_secret: SecretStr
    sender: Annotated[str, Field(pattern=r"^0\d{7,11}$")]  # the pre-registered 발신번호, digits only
    recipient: Annotated[str, Field(pattern=r"^01\d{8,9}$")]  # the work phone, digits only
    base_url: Annotated[str, AfterValidator(https_or_loopback)] = "https://api.solapi.com"


class TelegramConfig(ChannelConfig):
    """A Telegram bot writing to your chat (send /start to the bot once; chat_id from getUpdates)."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("bot_token",)

    type: Literal["telegram"]
    bot_token: SecretStr
    chat_id: Annotated[str, Field(pattern=r"^-?\d{1,20}$|^@[A-Za-z0-9_]{5,32}$")]
    parse_mode: Literal["HTML", "plain"] = "HTML"
    base_url: Annotated[str, AfterValidator(https_or_loopback)] = "https://api.telegram.org"
    # Buttons under each inquiry message (처리함, 1시간 뒤, 3시간 뒤), read back with getUpdates: no inbound port.
    # Only taps from chat_id are obeyed. Turn off if another program reads this bot's updates.
    actions: bool = True


class WebhookConfig(ChannelConfig):
    """A JSON POST to any URL; `style` shapes it for Slack or Discord incoming webhooks."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("url",)

    type: Literal["webhook"]
    url: SecretStr  # webhook URLs embed their token: a secret, from env or secrets_dir
    style: Literal["generic", "slack", "discord"] = "generic"

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr) -> SecretStr:
        https_or_loopback(value.get_secret_value())  # the message names no part of the URL
        return value


def _loopback_callback(value: str) -> str:
    """The login's redirect URI: on this machine (the browser that logs in comes back to inqd itself)."""
    parts = urlsplit(value)
    if parts.scheme != "http" or parts.hostname not in {"127.0.0.1", "localhost"} or not parts.port:
        raise Problem("kakao_redirect_loopback")
    return value


class KakaoConfig(ChannelConfig):
    """KakaoTalk "send to me" (나에게 보내기) through a Kakao Developers app of your own, into the 나와의 채팅 of the
    Kakao account on the work phone. One login (`inqd kakao-login`) stores a refresh token in secrets_dir."""

    SECRET_FIELDS: ClassVar[tuple[str, ...]] = ("client_secret",)

    type: Literal["kakao"]
    # The app's REST API key (its OAuth client_id): not a secret on its own (it is in every login URL).
    rest_api_key: Annotated[str, Field(pattern=r"^[0-9A-Za-z]{16,64}$")]
    # Only when the app has 카카오 로그인 > 보안 > Client Secret switched on; from env or secrets_dir.
    client_secret: SecretStr | None = None
    # Registered in the app (카카오 로그인 > Redirect URI) exactly as written here; the daemon's admin port serves it
    # (the web inbox's status page), `inqd kakao-login` listens on it while no daemon runs.
    redirect_uri: Annotated[str, AfterValidator(_loopback_callback)] = "http://localhost:9464/kakao/callback"
    api_url: Annotated[str, AfterValidator(https_or_loopback)] = "https://kapi.kakao.com"
    auth_url: Annotated[str, AfterValidator(https_or_loopback)] = "https://kauth.kakao.com"


NotifierConfig = Annotated[
    SinkNotifierConfig | NtfyConfig | SmsConfig | TelegramConfig | WebhookConfig | KakaoConfig,
    Field(discriminator="type"),
]
NOTIFIER_SECRETS = {
    "sink": SinkNotifierConfig.SECRET_FIELDS,
    "ntfy": NtfyConfig.SECRET_FIELDS,
    "sms": SmsConfig.SECRET_FIELDS,
    "telegram": TelegramConfig.SECRET_FIELDS,
    "webhook": WebhookConfig.SECRET_FIELDS,
    "kakao": KakaoConfig.SECRET_FIELDS,
}
