"""The summary of an account's first connection: one message for all its streams, written crash-safely.

The streams of an account make their first (backfilling) polls at about the same time, but each in a transaction
of its own, and a restart may fall between two of them. So the first of them to bring anything writes the
account's summary (a row per channel, keyed per account), due `FIRST_CONNECTION_GRACE` later; every later first
poll folds its counts into that row while it still waits, and the row is due at once when every configured
stream of the account has reported. A stream whose first poll comes after the summary went out gets a line of
its own, and only if it brought anything.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from aggregator.store.database import Connection
from aggregator.store.payloads import payload_json, read_payload
from aggregator.store.schema import Channels, _dt, channels_for, db_time
from core.models import Marketplace, MessageKind, StreamKind
from core.payloads import BackfillSummaryPayload, StreamBackfill

# Long enough for every stream of an account to finish a first poll of a few pages; a stream failing meanwhile
# delays the summary of the others by no more than this.
FIRST_CONNECTION_GRACE = timedelta(minutes=2)

_KIND = MessageKind.BACKFILL_SUMMARY


async def queue_first_poll_summary(
    db: Connection,
    account_id: str,
    brought: StreamBackfill,
    marketplace: Marketplace | None,
    *,
    account_streams: Collection[StreamKind],
    now: datetime,
    channels: Channels,
) -> int:
    """Fold what the first poll of one stream `brought` into its account's summary; returns the rows written.

    `marketplace` is that of the inquiries brought (None when there were none); `account_streams` are the
    streams configured for the account (empty: this stream alone).
    """
    order = list(account_streams) or [brought.stream]
    reported = await _reported_streams(db, account_id) | {brought.stream}
    due = now if reported >= set(order) else now + FIRST_CONNECTION_GRACE
    written = 0
    for channel in channels_for(channels, _KIND):
        async with db.execute(
            "SELECT id, state, attempts, payload, due_at FROM outbox WHERE dedup_key = ?",
            (f"backfill:{account_id}:{channel}",),
        ) as cur:
            row = await cur.fetchone()
        if row is None and marketplace is not None:
            quiet = await _quiet_streams(db, account_id, [s for s in order if s in reported and s != brought.stream])
            summary = BackfillSummaryPayload(account_id, marketplace, _ordered([brought, *quiet], order))
            written += await _insert(db, summary, f"backfill:{account_id}:{channel}", channel, due, now)
        elif row is not None and row["state"] == "pending" and row["attempts"] == 0:  # still waiting: never claimed
            waiting = read_payload(_KIND, row["payload"])
            assert isinstance(waiting, BackfillSummaryPayload)
            others = [s for s in waiting.streams if s.stream != brought.stream]
            folded = BackfillSummaryPayload(account_id, waiting.marketplace, _ordered([*others, brought], order))
            await db.execute(
                "UPDATE outbox SET payload = ?, due_at = ? WHERE id = ?",
                (payload_json(_KIND, folded), db_time(min(due, _dt(row["due_at"]))), row["id"]),
            )
            written += 1
        elif row is not None and marketplace is not None:  # the summary went out: this stream's own line
            late = BackfillSummaryPayload(account_id, marketplace, (brought,))
            key = f"backfill:{account_id}:{brought.stream.value}:{channel}"  # as one-stream summaries were keyed
            written += await _insert(db, late, key, channel, now, now)
    return written


async def _reported_streams(db: Connection, account_id: str) -> set[StreamKind]:
    """The account's streams that have finished a first poll: those with a saved cursor."""
    async with db.execute("SELECT stream FROM cursors WHERE account_id = ?", (account_id,)) as cur:
        return {StreamKind(row["stream"]) for row in await cur.fetchall()}


async def _quiet_streams(db: Connection, account_id: str, reported: Sequence[StreamKind]) -> list[StreamBackfill]:
    """Of the streams that reported before the summary was written, those whose first poll found nothing.

    They wrote no summary, so they found nothing, unless the database is older than per-account summaries: a
    stream holding inquiries is then left out rather than listed as empty.
    """
    async with db.execute("SELECT DISTINCT stream FROM inquiries WHERE account_id = ?", (account_id,)) as cur:
        holding = {row["stream"] for row in await cur.fetchall()}
    return [StreamBackfill(stream, 0, 0) for stream in reported if stream.value not in holding]


def _ordered(streams: Sequence[StreamBackfill], order: Sequence[StreamKind]) -> tuple[StreamBackfill, ...]:
    """The streams in the account's configured order (any other last), as the summary lists them."""
    return tuple(sorted(streams, key=lambda s: order.index(s.stream) if s.stream in order else len(order)))


async def _insert(
    db: Connection, summary: BackfillSummaryPayload, key: str, channel: str, due: datetime, now: datetime
) -> int:
    cur = await db.execute(
        "INSERT INTO outbox (kind, channel, inquiry_id, payload, dedup_key, due_at, created_at) "
        "VALUES (?, ?, NULL, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
        (_KIND.value, channel, payload_json(_KIND, summary), key, db_time(due), db_time(now)),
    )
    inserted = int(cur.rowcount)
    await cur.close()
    return inserted
