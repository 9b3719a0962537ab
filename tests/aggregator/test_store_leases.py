"""Leases on a real PostgreSQL: several stores (one per instance) claim, extend, release and take over accounts;
one leader at a time; a poll whose lease was taken over writes nothing. Times are a FakeClock's, passed as `at` in
place of the database's clock (the fencing check inside record_poll uses the server's own clock)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from aggregator.store import LeaseLost, Store
from core.models import PollResult, StreamKind
from tests.conftest import START, make_inquiry
from tests.postgres_server import PostgresServer, instance_stores

LEASE_S = 30.0
ACCOUNTS = [f"acc{i:02d}" for i in range(10)]


@pytest.fixture
async def stores(postgres_server: PostgresServer) -> AsyncIterator[list[Store]]:
    """Three stores on one fresh PostgreSQL database, as three instances would have."""
    async with instance_stores(postgres_server, 3) as opened:
        yield opened


def _ids(leases: list) -> list[str]:  # type: ignore[type-arg]
    return [lease.account_id for lease in leases]


async def test_claims_split_the_accounts_and_bump_the_fence(stores: list[Store]) -> None:
    a, b, _ = stores
    first = await a.claim_accounts("a", ACCOUNTS, 5, LEASE_S, at=START)
    second = await b.claim_accounts("b", ACCOUNTS, 10, LEASE_S, at=START)
    assert (_ids(first), _ids(second)) == (ACCOUNTS[:5], ACCOUNTS[5:])
    assert {lease.fence for lease in first + second} == {1}
    assert await a.claim_accounts("a", ACCOUNTS, 10, LEASE_S, at=START) == []  # nothing free


async def test_claimers_at_once_never_take_one_account_twice(stores: list[Store]) -> None:
    claims = await asyncio.gather(
        *(
            store.claim_accounts(name, ACCOUNTS, 10, LEASE_S, at=START)
            for store, name in zip(stores, "abc", strict=True)
        )
    )
    taken = [account for claim in claims for account in _ids(claim)]
    assert sorted(taken) == ACCOUNTS  # every account once: SKIP LOCKED, no double claim, no one left over


async def test_an_unextended_lease_expires_and_is_taken_over_with_a_new_fence(stores: list[Store]) -> None:
    a, b, _ = stores
    await a.claim_accounts("a", ACCOUNTS[:2], 2, LEASE_S, at=START)
    renewed = await a.extend_leases("a", LEASE_S, at=START + timedelta(seconds=LEASE_S - 1))
    assert _ids(renewed) == ACCOUNTS[:2]
    assert await b.claim_accounts("b", ACCOUNTS[:2], 2, LEASE_S, at=START + timedelta(seconds=LEASE_S + 1)) == []
    later = START + timedelta(seconds=2 * LEASE_S)  # a stopped extending (died)
    taken = await b.claim_accounts("b", ACCOUNTS[:2], 2, LEASE_S, at=later)
    assert (_ids(taken), {lease.fence for lease in taken}) == (ACCOUNTS[:2], {2})
    assert await a.extend_leases("a", LEASE_S, at=later) == []  # the old holder learns it lost them
    holders = await a.lease_holders(at=later)
    assert [(h.account_id, h.holder) for h in holders] == [(acc, "b") for acc in ACCOUNTS[:2]]


async def test_released_accounts_are_free_at_once(stores: list[Store]) -> None:
    a, b, _ = stores
    await a.claim_accounts("a", ACCOUNTS[:3], 3, LEASE_S, at=START)
    assert await b.release_accounts("b", ACCOUNTS[:3]) == 0  # not b's to give
    assert await a.release_accounts("a", ACCOUNTS[2:3]) == 1
    taken = await b.claim_accounts("b", ACCOUNTS[:3], 3, LEASE_S, at=START)
    assert _ids(taken) == ACCOUNTS[2:3]


async def test_heartbeats_count_the_live_instances(stores: list[Store]) -> None:
    a, b, c = stores
    await a.heartbeat("a", LEASE_S, at=START)
    await b.heartbeat("b", LEASE_S, at=START)
    assert await c.heartbeat("c", LEASE_S, at=START) == 3
    later = START + timedelta(seconds=LEASE_S + 1)  # b and c stopped beating
    assert await a.heartbeat("a", LEASE_S, at=later) == 1
    await c.leave("c")
    assert await b.heartbeat("b", LEASE_S, at=later) == 2


async def test_one_leader_at_a_time_and_a_takeover_after_expiry(stores: list[Store]) -> None:
    fences = await asyncio.gather(
        *(store.lead(name, LEASE_S, at=START) for store, name in zip(stores, "abc", strict=True))
    )
    [leader] = [name for name, fence in zip("abc", fences, strict=True) if fence is not None]
    other = next(name for name in "abc" if name != leader)
    assert await stores[0].lead(other, LEASE_S, at=START + timedelta(seconds=LEASE_S - 1)) is None
    renewed = await stores[0].lead(leader, LEASE_S, at=START + timedelta(seconds=LEASE_S - 1))
    assert renewed == 1  # a renewal keeps the fence
    expired = START + timedelta(seconds=2 * LEASE_S)
    assert await stores[1].leader(at=expired) is None
    assert await stores[1].lead(other, LEASE_S, at=expired) == 2
    assert await stores[2].leader(at=expired) == (other, expired + timedelta(seconds=LEASE_S))


async def test_a_poll_whose_lease_was_taken_over_writes_nothing(stores: list[Store]) -> None:
    a, b, _ = stores
    # a claimed long ago (its lease has run out by the server's clock); b then claims it now.
    [old] = await a.claim_accounts("a", ["shop"], 1, LEASE_S, at=START)
    [new] = await b.claim_accounts("b", ["shop"], 1, 3600.0)
    result = PollResult(inquiries=(make_inquiry("1"),), cursor={"through": "x"})
    with pytest.raises(LeaseLost):
        await a.record_poll(
            "shop", StreamKind.PRODUCT_QNA, result, now=START, channels=("sink",), notify_new=True, lease=old
        )
    assert await b.open_inquiries() == []
    outcome = await b.record_poll(
        "shop", StreamKind.PRODUCT_QNA, result, now=START, channels=("sink",), notify_new=True, lease=new
    )
    assert len(outcome.new_ids) == 1
    assert len(await b.open_inquiries()) == 1
