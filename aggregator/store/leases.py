"""Leases: several inqd instances on one PostgreSQL share the accounts, and one of them leads.

Every time here is the database's (`clock_timestamp()`), never an instance's, so clock skew between machines
cannot make two holders. `at` (tests only, with a FakeClock's time) stands in for the database's clock.

- instances: each live instance's heartbeat; an instance is live while its heartbeat is younger than one lease.
- account_leases: one row per account, its holder and a fence bumped by every claim. Free or expired rows are
  claimed with FOR UPDATE SKIP LOCKED, so two claimers never take one row and never wait for each other.
  `record_poll(lease=...)` checks the holder and fence inside its own transaction (fencing).
- leader: one row; the leader renews it, anyone takes it once it has expired (the fence is bumped on takeover).

PostgreSQL only: on SQLite one instance holds everything and the keeper writes nothing (aggregator/leases.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from aggregator.store.base import StoreBase
from aggregator.store.database import Connection

# In the statements below, @now is the database's clock (or the test's time in its place: one parameter), and
# @plus_lease that time plus a number of seconds (two parameters).
_NOW = "COALESCE(CAST(? AS TIMESTAMPTZ), clock_timestamp())"
_PLUS_LEASE = _NOW + " + CAST(? AS DOUBLE PRECISION) * INTERVAL '1 second'"


@lru_cache(maxsize=32)
def _timed(sql: str) -> str:
    """`sql` with @plus_lease and @now spelled out."""
    return sql.replace("@plus_lease", _PLUS_LEASE).replace("@now", _NOW)


class LeaseLost(Exception):
    """The account's lease is no longer this instance's (expired and claimed by another): nothing was written."""


@dataclass(frozen=True, slots=True)
class AccountLease:
    """One account held by one instance: the fence of its claim and when it runs out (the database's time)."""

    account_id: str
    holder: str
    fence: int
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    """Who holds an account (for `inqd status`); holder None: nobody."""

    account_id: str
    holder: str | None
    fence: int
    expires_at: datetime
    live: bool


def _lease(row: object, holder: str) -> AccountLease:
    account_id, fence, expires_at = row[0], row[1], row[2]  # type: ignore[index]
    return AccountLease(str(account_id), holder, int(fence), expires_at)


class LeasesMixin(StoreBase):
    """Instances' heartbeats, account leases and the leader's lease (PostgreSQL)."""

    async def heartbeat(self, instance: str, lease_s: float, *, at: datetime | None = None) -> int:
        """Write `instance`'s heartbeat; returns how many instances are live (this one included)."""
        await self._renewals.execute(
            _timed(
                "INSERT INTO instances (id, started_at, heartbeat_at) VALUES (?, @now, @now) "
                "ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at"
            ),
            (instance, at, at),
        )
        # Long-dead instances' rows go (ten leases: kept a while for `inqd status`).
        await self._renewals.execute(
            _timed("DELETE FROM instances WHERE heartbeat_at < @plus_lease"), (at, -10 * lease_s)
        )
        cur = await self._renewals.execute(
            _timed("SELECT COUNT(*) FROM instances WHERE heartbeat_at > @plus_lease"),
            (at, -lease_s),
        )
        row = await cur.fetchone()
        return int(row[0]) if row else 1

    async def leave(self, instance: str) -> None:
        """`instance` stops: its accounts and its leadership are free at once, its heartbeat row goes."""
        async with self._transaction() as db:
            await db.execute(
                "UPDATE account_leases SET holder = NULL, expires_at = '1970-01-01 00:00:00+00' WHERE holder = ?",
                (instance,),
            )
            await db.execute("DELETE FROM leader WHERE holder = ?", (instance,))
            await db.execute("DELETE FROM instances WHERE id = ?", (instance,))

    async def extend_leases(self, instance: str, lease_s: float, *, at: datetime | None = None) -> list[AccountLease]:
        """Push back the expiry of every lease `instance` still holds (not yet expired); returns them. An expired
        one is not extended: another may have claimed it, and a claim (with a new fence) is the way back."""
        cur = await self._renewals.execute(
            _timed(
                "UPDATE account_leases SET expires_at = @plus_lease WHERE holder = ? AND expires_at > @now "
                "RETURNING account_id, fence, expires_at"
            ),
            (at, lease_s, instance, at),
        )
        return sorted((_lease(row, instance) for row in await cur.fetchall()), key=lambda lease: lease.account_id)

    async def claim_accounts(
        self, instance: str, accounts: Sequence[str], limit: int, lease_s: float, *, at: datetime | None = None
    ) -> list[AccountLease]:
        """Claim up to `limit` of `accounts` that are free or expired, for `lease_s`; each claim bumps the fence.
        Rows locked by another claimer are skipped, not waited for."""
        if limit <= 0 or not accounts:
            return []
        async with self._transaction() as db:
            await _ensure_rows(db, accounts)
            cur = await db.execute(
                _timed(
                    "UPDATE account_leases SET holder = ?, fence = fence + 1, expires_at = @plus_lease "
                    "WHERE account_id IN (SELECT account_id FROM account_leases "
                    "WHERE account_id = ANY(?) AND (holder IS NULL OR expires_at <= @now) "
                    "ORDER BY account_id LIMIT ? FOR UPDATE SKIP LOCKED) "
                    "RETURNING account_id, fence, expires_at"
                ),
                (instance, at, lease_s, list(accounts), at, limit),
            )
            rows = await cur.fetchall()
        return sorted((_lease(row, instance) for row in rows), key=lambda lease: lease.account_id)

    async def release_accounts(self, instance: str, accounts: Sequence[str]) -> int:
        """Give back `accounts` (those `instance` still holds); free at once for another. Returns how many."""
        if not accounts:
            return 0
        cur = await self._conn.execute(
            "UPDATE account_leases SET holder = NULL, expires_at = '1970-01-01 00:00:00+00' "
            "WHERE holder = ? AND account_id = ANY(?)",
            (instance, list(accounts)),
        )
        return int(cur.rowcount)

    async def lease_holders(self, *, at: datetime | None = None) -> list[LeaseHolder]:
        """Every account's lease, by account: who holds it, and whether that lease is still running."""
        cur = await self._conn.execute(
            _timed(
                "SELECT account_id, holder, fence, expires_at, expires_at > @now AS live FROM account_leases "
                "ORDER BY account_id"
            ),
            (at,),
        )
        return [
            LeaseHolder(str(r[0]), r[1] if r[4] else None, int(r[2]), r[3], bool(r[4])) for r in await cur.fetchall()
        ]

    async def lead(self, instance: str, lease_s: float, *, at: datetime | None = None) -> int | None:
        """Take or renew the leadership for `lease_s`: the fence of this leadership, or None when another
        instance's lease is still running. Taking it over (from another, or after one's own lapsed) bumps it."""
        cur = await self._renewals.execute(
            _timed(
                "INSERT INTO leader (id, holder, fence, expires_at) VALUES (1, ?, 1, @plus_lease) "
                "ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at, "
                "fence = CASE WHEN leader.holder = excluded.holder AND leader.expires_at > @now "
                "THEN leader.fence ELSE leader.fence + 1 END "
                "WHERE leader.holder = excluded.holder OR leader.expires_at <= @now "
                "RETURNING fence"
            ),
            (instance, at, lease_s, at, at),
        )
        row = await cur.fetchone()
        return int(row[0]) if row else None

    async def leader(self, *, at: datetime | None = None) -> tuple[str, datetime] | None:
        """The current leader and its lease's end, or None when nobody leads (never led, or lapsed)."""
        cur = await self._conn.execute(_timed("SELECT holder, expires_at FROM leader WHERE expires_at > @now"), (at,))
        row = await cur.fetchone()
        return (str(row[0]), row[1]) if row else None


async def _ensure_rows(db: Connection, accounts: Sequence[str]) -> None:
    """A free row for each configured account not seen before (one statement; ON CONFLICT: others may race)."""
    await db.execute(
        "INSERT INTO account_leases (account_id, holder, fence, expires_at) "
        "SELECT account_id, NULL, 0, '1970-01-01 00:00:00+00' FROM unnest(CAST(? AS TEXT[])) AS configured(account_id) "
        "ON CONFLICT (account_id) DO NOTHING",
        (list(accounts),),
    )


async def check_lease(db: Connection, lease: AccountLease, at: datetime | None) -> None:
    """Inside a transaction: raise LeaseLost unless `lease` is still its holder's, with the same fence, and running.
    FOR SHARE holds the row until the transaction ends, so no claim can slip in between this check and the commit."""
    cur = await db.execute(
        _timed(
            "SELECT 1 FROM account_leases WHERE account_id = ? AND holder = ? AND fence = ? AND expires_at > @now "
            "FOR SHARE"
        ),
        (lease.account_id, lease.holder, lease.fence, at),
    )
    if await cur.fetchone() is None:
        raise LeaseLost("lease on {lease.account_id} lost (fence {lease.fence})")
