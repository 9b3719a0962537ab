"""The fair share of accounts per instance, and what one instance claims or gives back."""

from __future__ import annotations

import pytest

from policies.leases import LeasePlan, fair_share, lease_plan


@pytest.mark.parametrize(
    ("accounts", "instances", "share"),
    [
        (0, 1, 0),
        (0, 3, 0),
        (1, 1, 1),
        (1, 3, 1),
        (10, 1, 10),
        (10, 2, 5),
        (10, 3, 4),
        (9, 3, 3),
        (3000, 3, 1000),
        (3001, 3, 1001),
        (5, 0, 5),  # no live row seen yet (its own heartbeat not written): it counts itself
    ],
)
def test_fair_share(accounts: int, instances: int, share: int) -> None:
    assert fair_share(accounts, instances) == share


@pytest.mark.parametrize(
    ("held", "accounts", "instances", "plan"),
    [
        ((), 10, 1, LeasePlan(claim=10, release=())),  # alone: everything
        (("a", "b"), 10, 2, LeasePlan(claim=3, release=())),  # under its share
        (("a", "b", "c", "d", "e"), 10, 2, LeasePlan(claim=0, release=())),  # exactly its share
        (("e", "a", "d", "c", "b"), 10, 3, LeasePlan(claim=0, release=("e",))),  # a third came: gives back one
        (("a", "b", "c", "d"), 4, 4, LeasePlan(claim=0, release=("b", "c", "d"))),
        (("a",), 0, 1, LeasePlan(claim=0, release=("a",))),  # the account left the config
        (("a", "b"), 3, 1, LeasePlan(claim=1, release=())),  # the others died: takes the rest
    ],
)
def test_lease_plan(held: tuple[str, ...], accounts: int, instances: int, plan: LeasePlan) -> None:
    assert lease_plan(held, accounts, instances) == plan


def test_shares_cover_every_account_and_exceed_the_even_split_by_at_most_one() -> None:
    for accounts in range(0, 40):
        for instances in range(1, 7):
            share = fair_share(accounts, instances)
            assert share * instances >= accounts  # no account is left unclaimed for want of room
            assert share - accounts // instances <= 1
