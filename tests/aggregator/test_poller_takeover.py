"""An account taken over from another instance is polled from the cursor its last holder saved.

Found by the crash soak of instances (bench/soak_instances.py): a StreamPoller reads its cursor once and keeps it
(it used to be the stream's only writer), and it reads it before asking the gate whether the account is its own.
So an instance whose poller looked at an account before anyone had polled it keeps "no cursor yet" forever; when
it takes the account over, its first poll is a backfill again: the inquiries that arrived meanwhile are folded
into a second "connected" summary instead of being pushed (lost notifications), and every takeover of a stale
cursor re-reads from where this instance last stood.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from aggregator.leases import LeaseKeeper
from aggregator.poller import StreamPoller
from aggregator.store import Store
from core.models import PollResult, StreamKind
from tests.conftest import make_inquiry
from tests.fakes import FakeClock, ScriptedConnector
from tests.postgres_server import PostgresServer, instance_stores

LEASE_S = 30.0


@pytest.fixture
async def stores(postgres_server: PostgresServer) -> AsyncIterator[list[Store]]:
    async with instance_stores(postgres_server, 2) as opened:
        yield opened


def _poller(store: Store, clock: FakeClock, keeper: LeaseKeeper, connector: ScriptedConnector) -> StreamPoller:
    return StreamPoller(
        connector,
        StreamKind.PRODUCT_QNA,
        store,
        clock,
        interval_s=60,
        jitter=0.0,
        channels=("sink",),
        on_queued=lambda: None,
        gate=keeper,
    )


@pytest.mark.xfail(strict=True, reason="aggregator/poller.py keeps a cursor read while another instance held it")
async def test_an_account_taken_over_is_polled_from_the_cursor_its_last_holder_saved(
    stores: list[Store], clock: FakeClock
) -> None:
    a, b = (
        LeaseKeeper(store, clock, ["shop"], instance_id=name, lease_s=LEASE_S, db_time=lambda: None)
        for store, name in zip(stores, "ab", strict=True)
    )
    await a.tick()
    await b.tick()
    assert (a.held, b.held) == (["shop"], [])
    on_b = ScriptedConnector([PollResult(inquiries=(make_inquiry("2"),), cursor={"through": "y"})])
    b_poller = _poller(stores[1], clock, b, on_b)
    assert not (await b_poller.poll_once()).held  # b looked before anyone polled the account: a's
    first = PollResult(inquiries=(make_inquiry("1"),), cursor={"through": "x"})
    assert (await _poller(stores[0], clock, a, ScriptedConnector([first])).poll_once()).held
    saved = await stores[1].load_cursor("shop", StreamKind.PRODUCT_QNA)
    assert saved is not None
    await a.leave()  # a stops: the account is b's at b's next tick
    await b.tick()
    assert b.held == ["shop"]
    assert (await b_poller.poll_once()).held
    # b must go on from a's cursor: with none, its poll is a first (backfilling) poll, and inquiry 2 is never
    # pushed as new.
    assert on_b.cursors_seen == [saved]
