"""Wiring: the daemon's parts built from the settings (the daemon starts and stops them, it decides nothing).

`connectors.py` and `channels.py` are the two explicit registries, keyed by the config class: which connector serves
each kind of account and which notifier each kind of channel. An account or channel type nobody registered is a
KeyError when the daemon (or `inqd init`, or `inqd test-notify`) builds it, at start-up: never a silent default.
`phone.py` builds the Telegram surfaces of one channel (imported only with a Telegram channel that takes taps).
A composition root: it may import anything of ours.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

from aggregator.alert_timer import AlertTimer
from aggregator.answering.sender import AnswerSender
from aggregator.cli.status_report import kakao_login_readers, watched_streams
from aggregator.connection_watch import ConnectionWatch
from aggregator.dispatcher import Dispatcher
from aggregator.leases import LeaseKeeper, SoleKeeper, new_instance_id
from aggregator.metrics import Metrics
from aggregator.notifiers.action_links import ActionLinks
from aggregator.poller import PollGate, PollReport, StopWaker, StreamPoller, first_poll_delays
from aggregator.settings import CoupangAccount, Settings
from aggregator.store import Channels, Store
from connectors.base import Connector
from core.clock import Clock
from core.models import Marketplace

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
    gate: PollGate | None = None,
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
            gate=gate,
        )
        for k, (connector, account, stream) in enumerate(streams)
    ]


async def build_keeper(settings: Settings, store: Store, clock: Clock) -> LeaseKeeper | SoleKeeper:
    """On PostgreSQL, this instance's lease keeper, after its first tick (so the pollers know their accounts from
    the start); on SQLite the sole keeper, which holds everything."""
    if not store.shared:
        return SoleKeeper()
    keeper = LeaseKeeper(
        store,
        clock,
        [account.id for account in settings.accounts],
        instance_id=new_instance_id(),
        lease_s=settings.lease_seconds,
    )
    await keeper.tick()
    return keeper
