"""How several inqd instances on one database share the accounts: each holds at most its fair share.

Pure: how many accounts there are, how many instances are alive, and which accounts this one holds in; what it
should claim and give back out. The store does the claiming (FOR UPDATE SKIP LOCKED); the keeper loop asks here how
many. Over its share, an instance gives back the extra accounts (a newcomer then takes them); under it, it claims
free or expired ones up to its share. Everyone's share is the ceiling of accounts / instances, so the accounts are
always all coverable (shares add up to at least the count) and no two instances differ by more than one share.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from math import ceil


@dataclass(frozen=True, slots=True)
class LeasePlan:
    """One instance's next step: claim up to `claim` more accounts, give back `release`."""

    claim: int
    release: tuple[str, ...]


def fair_share(accounts: int, live_instances: int) -> int:
    """The most accounts one instance should hold: ceil(accounts / instances); an instance counts itself alive."""
    return ceil(accounts / max(live_instances, 1)) if accounts > 0 else 0


def lease_plan(held: Collection[str], accounts: int, live_instances: int) -> LeasePlan:
    """What an instance holding `held` does next. The accounts it gives back are the last by id, so a restart or a
    second look picks the same ones (which accounts stay put does not matter, only that the count comes down)."""
    share = fair_share(accounts, live_instances)
    if len(held) > share:
        return LeasePlan(claim=0, release=tuple(sorted(held)[share:]))
    return LeasePlan(claim=share - len(held), release=())
