"""Wiring: which connector serves each kind of account, and which notifier each kind of channel.

Two explicit registries, keyed by the config class. An account or channel type nobody registered here is a KeyError
when the daemon (or `inqd init`, or `inqd test-notify`) builds it, at start-up: never a silent default. Adding a
marketplace or a channel is one config class in aggregator/settings/ plus one line here.
A composition root: it may import anything of ours.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import Any, TypeVar, cast

import httpx

from aggregator.alert_timer import AlertTimer
from aggregator.answering.sender import AnswerSender
from aggregator.cli.status_report import kakao_login_readers, watched_streams
from aggregator.connection_watch import ConnectionWatch
from aggregator.dispatcher import Dispatcher
from aggregator.metrics import Metrics
from aggregator.notifiers.action_links import ActionLinks
from aggregator.notifiers.base import Notifier
from aggregator.notifiers.kakao import KakaoNotifier
from aggregator.notifiers.kakao_auth import KakaoTokenStore
from aggregator.notifiers.ntfy import NtfyNotifier
from aggregator.notifiers.sink import SinkNotifier
from aggregator.notifiers.sms import SolapiSmsNotifier
from aggregator.notifiers.telegram import TelegramNotifier
from aggregator.notifiers.webhook import WebhookNotifier
from aggregator.poller import PollReport, StopWaker, StreamPoller, first_poll_delays
from aggregator.settings import (
    Account,
    AccountConfig,
    CoupangAccount,
    ElevenstAccount,
    EsmAccount,
    NaverAccount,
    Settings,
)
from aggregator.settings.notify import (
    ChannelConfig,
    KakaoConfig,
    NotifierConfig,
    NtfyConfig,
    SinkNotifierConfig,
    SmsConfig,
    TelegramConfig,
    WebhookConfig,
)
from aggregator.store import Channels, Store
from connectors.base import AnsweringConnector, Connector
from core.clock import Clock
from core.http import ACCOUNTS_PER_SHARED_CLIENT, SharedClient, make_client, make_shared_client
from core.models import Marketplace

_F = TypeVar("_F")

# Given an account, the transport its HTTP client should use (None: the real network).
TransportFactory = Callable[[Account], httpx.AsyncBaseTransport | None]

# (the account's own config, the keywords every connector takes) -> its connector
ConnectorFactory = Callable[[Any, dict[str, Any]], Connector]


def _coupang(account: CoupangAccount, common: dict[str, Any]) -> Connector:
    from connectors.coupang.connector import CoupangConnector

    return CoupangConnector(
        vendor_id=account.vendor_id,
        access_key=account.access_key,
        secret_key=account.secret_key,
        api_version=account.api_version,
        reply_by=account.reply_by,
        **common,
    )


def _naver(account: NaverAccount, common: dict[str, Any]) -> Connector:
    from connectors.naver.connector import NaverConnector

    return NaverConnector(client_id=account.client_id, client_secret=account.client_secret, **common)


def _elevenst(account: ElevenstAccount, common: dict[str, Any]) -> Connector:
    from connectors.elevenst.connector import ElevenstConnector

    return ElevenstConnector(api_key=account.api_key, **common)


def _esm(account: EsmAccount, common: dict[str, Any]) -> Connector:
    from connectors.esm.connector import EsmConnector

    return EsmConnector(
        master_id=account.master_id,
        secret_key=account.secret_key,
        gmarket_seller_id=account.gmarket_seller_id,
        auction_seller_id=account.auction_seller_id,
        issuer=account.jwt_issuer,
        **common,
    )


CONNECTORS: dict[type[AccountConfig], ConnectorFactory] = {
    CoupangAccount: _coupang,
    NaverAccount: _naver,
    ElevenstAccount: _elevenst,
    EsmAccount: _esm,
}


# Each account type's connector class: what it declares without being built (its marketplace, ONCE_ONLY,
# ANSWER_LIMITS), which the check before sending reads. A test keeps its keys those of CONNECTORS.
# As (module, class name): a marketplace's module (and its libraries: bcrypt, PyJWT, defusedxml) is imported with
# its first account or the first check of one of its inquiries, so a daemon with Coupang alone never holds the
# other three (bench.idle: ~1.7 MiB).
CONNECTOR_CLASSES: dict[type[AccountConfig], tuple[str, str]] = {
    CoupangAccount: ("connectors.coupang.connector", "CoupangConnector"),
    NaverAccount: ("connectors.naver.connector", "NaverConnector"),
    ElevenstAccount: ("connectors.elevenst.connector", "ElevenstConnector"),
    EsmAccount: ("connectors.esm.connector", "EsmConnector"),
}


def _imported(where: tuple[str, str]) -> type[Connector]:
    module, name = where
    found: type[Connector] = getattr(import_module(module), name)
    return found


def connector_class(account_type: type[AccountConfig] | None, marketplace: Marketplace) -> type[Connector] | None:
    """The connector class of an account type, else of the marketplace (an account no longer configured)."""
    if account_type is not None:
        return _imported(_registered(CONNECTOR_CLASSES, account_type, "connector"))
    return next((c for c in map(_imported, CONNECTOR_CLASSES.values()) if c.marketplace is marketplace), None)


def build_connector(
    account: Account,
    *,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
    client: httpx.AsyncClient | None = None,
) -> Connector:
    """The connector for one configured account; KeyError for an account type no connector is registered for.

    `client`: the HTTP client it shares with the other accounts of its marketplace host (`build_connectors`);
    without one it gets a client of its own."""
    factory = _registered(CONNECTORS, type(account), "connector")
    if client is None:
        client = make_client(base_url=account.base_url, transport=transport, poll_interval_s=account.poll_interval_s)
    common: dict[str, Any] = {
        "account_id": account.id,
        "client": client,
        "clock": clock,
        "streams": account.stream_kinds,
        "max_requests_per_s": account.max_requests_per_s,
        "backfill_days": account.backfill_days,
        "recheck_days": account.recheck_days,
        "sweep_minutes": account.sweep_minutes,
    }
    return factory(account, common)


def build_connectors(
    accounts: Sequence[Account], *, clock: Clock, transport_for: TransportFactory | None = None
) -> list[Connector]:
    """Every account's connector; the accounts of one marketplace host (the same base URL and transport) share HTTP
    clients, ACCOUNTS_PER_SHARED_CLIENT accounts to a client of a few connections that stay open from one poll to
    the next (`core.http.make_shared_client`).

    A client per account kept a connection (a socket, buffers, a TLS session against a real gateway) per account
    and put ~2,000 sockets in the event loop's epoll set at 1,000 accounts. Each account keeps its own request
    budget, signing and secrets in its connector. A client is closed when its last connector is."""
    for acc in accounts:  # an unregistered type fails before any client is made
        _registered(CONNECTORS, type(acc), "connector")
    transports = [transport_for(acc) if transport_for else None for acc in accounts]
    hosts = [(acc.base_url, id(transport)) for acc, transport in zip(accounts, transports, strict=True)]
    intervals: dict[tuple[str, int], float] = {}
    for acc, host in zip(accounts, hosts, strict=True):
        intervals[host] = max(intervals.get(host, 0.0), acc.poll_interval_s)  # kept alive for the slowest poller
    clients: dict[tuple[str, int], SharedClient] = {}
    sharing: Counter[tuple[str, int]] = Counter()
    connectors = []
    for acc, transport, host in zip(accounts, transports, hosts, strict=True):
        if sharing[host] % ACCOUNTS_PER_SHARED_CLIENT == 0:  # this host's next client
            clients[host] = make_shared_client(
                base_url=acc.base_url, transport=transport, poll_interval_s=intervals[host]
            )
        sharing[host] += 1
        connectors.append(build_connector(acc, clock=clock, client=clients[host].share()))
    return connectors


def answering_connectors(connectors: Iterable[Connector]) -> dict[str, AnsweringConnector]:
    """The connectors that can post a seller's answer, by account id (the sender looks each answer's account up)."""
    return {
        c.account_id: cast(AnsweringConnector, c)
        for c in connectors
        if callable(getattr(c, "answer", None)) and hasattr(c, "ONCE_ONLY")
    }


@dataclass(frozen=True, slots=True)
class ChannelParts:
    """What a notifier is built with besides its own config: the clock, the network, the admin API's links."""

    now: Callable[[], datetime]
    transport: httpx.AsyncBaseTransport | None = None
    action_links: ActionLinks | None = None  # ntfy buttons calling the admin API
    clock: Clock | None = None  # a channel that keeps time itself (kakao's token expiry)
    secrets_dir: Path | None = None  # where a channel keeps what it was given at login (kakao's token file)
    home_url: str | None = None  # the web inbox as the phone reaches it ([admin] public_url), for links

    def client(self) -> httpx.AsyncClient:
        """A fresh HTTP client for one notifier."""
        return make_client(transport=self.transport)


# (the channel's own config, the shared parts) -> its notifier
NotifierFactory = Callable[[Any, ChannelParts], Notifier]


def _sink(config: SinkNotifierConfig, parts: ChannelParts) -> Notifier:
    return SinkNotifier(name=config.name, console=config.console, file=config.file, now=parts.now)


def _ntfy(config: NtfyConfig, parts: ChannelParts) -> Notifier:
    return NtfyNotifier(
        name=config.name,
        server_url=config.server_url,
        topic=config.topic,
        client=parts.client(),
        now=parts.now,
        token=config.token,
        username=config.username,
        password=config.password,
        use_sequence_id=config.use_sequence_id,
        action_links=parts.action_links,
    )


def _sms(config: SmsConfig, parts: ChannelParts) -> Notifier:
    return SolapiSmsNotifier(
        name=config.name,
        api_key=config.api_key,
        api_secret=config.api_secret,
        sender=config.sender,
        recipient=config.recipient,
        client=parts.client(),
        now=parts.now,
        base_url=config.base_url,
    )


def _telegram(config: TelegramConfig, parts: ChannelParts) -> Notifier:
    return TelegramNotifier(
        name=config.name,
        bot_token=config.bot_token,
        chat_id=config.chat_id,
        client=parts.client(),
        now=parts.now,
        base_url=config.base_url,
        parse_mode=config.parse_mode,
        actions=config.actions,
        answers=config.actions,  # the taps' reader also runs the answer flow
    )


def _kakao(config: KakaoConfig, parts: ChannelParts) -> Notifier:
    if parts.clock is None or parts.secrets_dir is None:  # the settings refuse a kakao channel without secrets_dir
        raise ValueError(f"{config.name}: a kakao channel needs the clock and secrets_dir")
    tokens = KakaoTokenStore(config, parts.secrets_dir, clock=parts.clock, client=parts.client())
    return KakaoNotifier(
        config,
        tokens,
        client=parts.client(),
        now=parts.now,
        action_links=parts.action_links,
        home_url=parts.home_url,
    )


def _webhook(config: WebhookConfig, parts: ChannelParts) -> Notifier:
    return WebhookNotifier(name=config.name, url=config.url, client=parts.client(), now=parts.now, style=config.style)


NOTIFIERS: dict[type[ChannelConfig], NotifierFactory] = {
    SinkNotifierConfig: _sink,
    NtfyConfig: _ntfy,
    SmsConfig: _sms,
    TelegramConfig: _telegram,
    WebhookConfig: _webhook,
    KakaoConfig: _kakao,
}


def build_notifier(
    config: NotifierConfig,
    *,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
    action_links: ActionLinks | None = None,
    secrets_dir: Path | None = None,
    home_url: str | None = None,
) -> Notifier:
    """The notifier for one configured channel; KeyError for a channel type no notifier is registered for."""
    factory = _registered(NOTIFIERS, type(config), "notifier")
    parts = ChannelParts(
        now=clock.now,
        transport=transport,
        action_links=action_links,
        clock=clock,
        secrets_dir=secrets_dir,
        home_url=home_url,
    )
    return factory(config, parts)


def _registered(registry: Mapping[type[Any], _F], kind: type[Any], what: str) -> _F:
    try:
        return registry[kind]
    except KeyError:
        raise KeyError(f"no {what} is registered for {kind.__name__} (see aggregator/wiring.py)") from None


# ---- the daemon's parts, built from the settings (the daemon starts and stops them) ----

OnPolled = Callable[[StreamPoller, PollReport], Awaitable[None]]
OnQueued = Callable[[], None]


def build_action_links(settings: Settings, clock: Clock) -> ActionLinks | None:
    """Signed links for ntfy's buttons: only with the admin API on, reachable from the phone, behind a token."""
    admin = settings.admin
    if admin.enabled and admin.public_url and admin.token:
        return ActionLinks(admin.public_url, admin.token.get_secret_value(), clock.now, web_inbox=admin.web)
    return None


def build_connection_watch(settings: Settings, store: Store, clock: Clock, channels: Channels) -> ConnectionWatch:
    """The watch over every stream's connection, the Coupang keys' expiry and the kakao channels' logins."""
    return ConnectionWatch(
        store,
        clock,
        streams=watched_streams(settings),
        lost_after=settings.health.lost_after,
        channels=channels,
        zone=settings.zone,
        key_issued={
            acc.id: acc.key_issued_at
            for acc in settings.accounts
            if isinstance(acc, CoupangAccount) and acc.key_issued_at is not None
        },
        kakao_logins=kakao_login_readers(settings),
    )


def connect_loops(
    dispatcher: Dispatcher, timer: AlertTimer, watch: ConnectionWatch, sender: AnswerSender, metrics: Metrics
) -> OnQueued:
    """Wake the dispatcher whenever a message is queued and count outcomes; returns what a poller calls then."""
    timer.on_queued.append(dispatcher.wake)
    watch.on_queued.append(dispatcher.wake)
    sender.on_queued.append(dispatcher.wake)
    sender.on_outcome.append(lambda marketplace, outcome: metrics.answer_outcome(marketplace, outcome))
    dispatcher.on_outcome.append(
        lambda channel, kind, outcome: metrics.message_outcome(channel=channel, kind=kind, outcome=outcome)
    )
    timer.on_fired.append(lambda kind: metrics.sla_alert_queued(kind.value))

    def on_queued() -> None:
        timer.wake.set()  # new inquiries need their alerts planned
        dispatcher.wake.set()

    return on_queued


def poll_observer(metrics: Metrics, watch: ConnectionWatch, marketplaces: dict[str, Marketplace]) -> OnPolled:
    """After every poll attempt: count it, and let the watch see whether the connection was lost or is back."""

    async def on_polled(poller: StreamPoller, report: PollReport) -> None:
        metrics.poll_finished(
            account=poller.account_id,
            marketplace=marketplaces[poller.account_id].value,
            stream=poller.stream.value,
            ok=report.ok,
            error_kind=report.error,
            duration_s=report.duration_s,
            new=report.new,
            skipped=report.skipped,
            text_changed=report.text_changed,
        )
        await watch.after_poll(poller.account_id, ok=report.ok)

    return on_polled


def build_pollers(
    settings: Settings,
    connectors: list[Connector],
    store: Store,
    clock: Clock,
    channels: Channels,
    on_queued: OnQueued,
    on_polled: OnPolled,
    rng: random.Random,
) -> list[StreamPoller]:
    """One poller per stream of every account, sharing `rng` for jitter; their first polls spread out
    (`first_poll_delays`), every account's first stream before any account's second, so an account's two streams
    do not start together and wait on its request budget."""
    streams = [
        (connector, account, stream)
        for connector, account in zip(connectors, settings.accounts, strict=True)
        for stream in account.stream_kinds
    ]
    order = sorted(range(len(streams)), key=lambda k: streams[k][1].stream_kinds.index(streams[k][2]))
    interval_s = min((account.poll_interval_s for account in settings.accounts), default=0.0)
    delays = dict(zip(order, first_poll_delays(len(streams), interval_s), strict=True))
    waker = StopWaker()  # one waiter on the daemon's stop for every poller
    return [
        StreamPoller(
            connector,
            stream,
            store,
            clock,
            interval_s=account.poll_interval_s,
            jitter=settings.poll_jitter,
            channels=channels,
            on_queued=on_queued,
            on_polled=on_polled,
            rng=rng,
            first_delay_s=delays[k],
            waker=waker,
        )
        for k, (connector, account, stream) in enumerate(streams)
    ]
