"""The floor: a minimal poller doing inqd's Coupang HTTP work at the same rate, storing nothing (issue 19).

`bench.scale` runs it as its own process against the same sandbox, after the daemon, and prints inqd/floor for CPU
and RSS. Run alone: `python -m bench.floor --url URL [--accounts 1000] [--interval 60] [--spread 0]
[--connections 3]`; SIGTERM ends it and it prints one JSON line of counts.

What it does, per account and stream, as inqd's connector does (connectors/coupang, connectors/polling.py): a quick
poll asks once for the unanswered rows of the last 7 KST dates; a sweep (the first poll, then once an hour) makes
the two passes, every status over [last sweep's date - 1, today] (at least the quick window) and the unanswered
over the recheck range [today - 13, today], in windows of at most 7 dates. Every page of each window is read
(pagination.totalPages), each request signed with `connectors.coupang.auth.CoupangAuth` and its JSON parsed and
checked, nothing kept. Polls run start to start
every interval, the first ones spread as inqd spreads them; an account's requests are spaced at its request
budget (2 a second, shared by its two streams). One httpx client serves every account with a small pool
(`--connections`) whose idle connections live past the interval. It imports only httpx, pydantic (for the keys'
SecretStr) and the signing, so its memory is the runtime's and the HTTP stack's.

The accounts' ids, keys and intervals are defined here and `bench.scale` takes them from here, so the daemon, the
sandbox and the floor agree without the floor importing the sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone

import httpx
from pydantic import SecretStr

from connectors.coupang.auth import CoupangAuth

KST = timezone(timedelta(hours=9))  # Korea keeps no summer time
BACKFILL_DAYS = 3
OVERLAP_DAYS = 1  # the connector's defaults for Coupang (connectors/polling_connector.py, settings)
RECHECK_DAYS = 13
MAX_WINDOW_DATES = 7
SWEEP_S = 3600.0  # connectors.polling.DEFAULT_SWEEP
KEEPALIVE_MARGIN_S = 15.0
FIRST_POLL_SPACING_S = 0.05  # as aggregator.poller's
_HEADERS = {"Content-Type": "application/json;charset=UTF-8"}
# resource, status parameter, every status, unanswered only, page size: as connectors/coupang/connector.py asks
STREAMS = (
    ("onlineInquiries", "answeredType", "ALL", "NOANSWER", 50),
    ("callCenterInquiries", "partnerCounselingStatus", "NONE", "NO_ANSWER", 30),
)


def vendor_id(index: int) -> str:
    """The vendorId of account `index`."""
    return f"B{index:07d}"


def keys(index: int) -> tuple[str, str]:
    """Access key and secret key of account `index`."""
    return f"scale-ak-{index:04d}", f"scale-sk-{index:04d}"


def interval_of(index: int, accounts: int, interval_s: float, spread_s: float) -> float:
    """Account `index`'s poll interval: `interval_s`, or evenly spread over interval +- spread/2."""
    return round(interval_s + spread_s * ((index + 0.5) / accounts - 0.5), 3)


def windows(first: date, last: date) -> list[tuple[date, date]]:
    """[first, last] in consecutive windows of at most MAX_WINDOW_DATES dates (connectors.polling.date_windows)."""
    found = []
    while first <= last:
        end = min(last, first + timedelta(days=MAX_WINDOW_DATES - 1))
        found.append((first, end))
        first = end + timedelta(days=1)
    return found


class Pace:
    """An account's request budget: requests at least 1/rate apart, in the order they asked."""

    def __init__(self, rate_per_s: float) -> None:
        self._gap_s = 1.0 / rate_per_s
        self._next = 0.0

    async def turn(self) -> None:
        now = time.monotonic()
        at = max(now, self._next)
        self._next = at + self._gap_s
        if at > now:
            await asyncio.sleep(at - now)


class Floor:
    """Every stream's poll loop over one shared client; `counts` says what happened."""

    def __init__(self, client: httpx.AsyncClient, connections: int) -> None:
        self.client = client
        self.counts: Counter[str] = Counter()
        # Requests wait here, not in httpcore's pool: the pool walks its whole queue of waiting requests each time
        # a connection comes free, which with ~600 polls in step cost ~30 ms of CPU per poll.
        self.slots = asyncio.Semaphore(connections)

    async def poll(self, index: int, stream: int, auth: CoupangAuth, pace: Pace, sweep_from: date | None) -> None:
        """One poll of one stream: the quick pass, or (`sweep_from` given) both passes of a sweep."""
        resource, status_param, every, unanswered, page_size = STREAMS[stream]
        path = f"/v2/providers/openapi/apis/api/v5/vendors/{vendor_id(index)}/{resource}"
        today = datetime.now(KST).date()
        quick_first = today - timedelta(days=MAX_WINDOW_DATES - 1)
        if sweep_from is None:
            passes = [(unanswered, w) for w in windows(quick_first, today)]
        else:
            passes = [(every, w) for w in windows(sweep_from, today)]
            passes += [(unanswered, w) for w in windows(today - timedelta(days=RECHECK_DAYS), today)]
        for status, (start, end) in passes:
            page, last = 1, 1
            while page <= last:
                query = httpx.QueryParams(
                    [
                        ("vendorId", vendor_id(index)),
                        (status_param, status),
                        ("inquiryStartAt", start.isoformat()),
                        ("inquiryEndAt", end.isoformat()),
                        ("pageNum", str(page)),
                        ("pageSize", str(page_size)),
                    ]
                )
                await pace.turn()
                async with self.slots:
                    response = await self.client.get(path, params=query, headers=_HEADERS, auth=auth)
                self.counts["requests"] += 1
                envelope = response.json()
                if response.status_code != 200 or str(envelope.get("code")) != "200":
                    self.counts[f"status {response.status_code}"] += 1
                    return
                data = envelope.get("data") or {}
                self.counts["rows"] += len(data.get("content") or [])
                last = int((data.get("pagination") or {}).get("totalPages") or 1)
                page += 1
        self.counts["polls"] += 1

    async def stream_loop(
        self, index: int, stream: int, interval_s: float, auth: CoupangAuth, pace: Pace, first_delay_s: float
    ) -> None:
        """Poll start to start every `interval_s` from `first_delay_s` on; an error is counted and the next poll
        comes on time."""
        next_at = time.monotonic() + first_delay_s
        await asyncio.sleep(first_delay_s)
        swept_at: float | None = None
        swept_date = datetime.now(KST).date()
        while True:
            sweep = swept_at is None or time.monotonic() - swept_at >= SWEEP_S
            # A first sweep reads the backfill as inqd's first poll does; later ones from the last sweep's date less
            # the overlap, widened to the quick window (connectors.polling.PollTally.passes).
            if swept_at is None:
                sweep_from = swept_date - timedelta(days=BACKFILL_DAYS)
            else:
                quick_first = datetime.now(KST).date() - timedelta(days=MAX_WINDOW_DATES - 1)
                sweep_from = min(swept_date - timedelta(days=OVERLAP_DAYS), quick_first)
            try:
                await self.poll(index, stream, auth, pace, sweep_from if sweep else None)
                if sweep:
                    swept_at, swept_date = time.monotonic(), datetime.now(KST).date()
            except (httpx.HTTPError, ValueError) as err:
                self.counts[type(err).__name__] += 1
            next_at += interval_s
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))


async def run(args: argparse.Namespace) -> Counter[str]:
    """Poll until SIGTERM or SIGINT; returns the counts."""
    limits = httpx.Limits(
        max_connections=args.connections,
        max_keepalive_connections=args.connections,
        keepalive_expiry=args.interval + args.spread / 2 + KEEPALIVE_MARGIN_S,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient(base_url=args.url, limits=limits, timeout=httpx.Timeout(20.0)) as client:
        floor = Floor(client, args.connections)
        tasks = []
        # First polls spread as inqd spreads them (aggregator.poller.first_poll_delays): 20 a second, over at most
        # one interval, every account's first stream before any second one.
        streams = 2 * args.accounts
        spacing_s = min(args.interval, streams * FIRST_POLL_SPACING_S) / streams
        for index in range(args.accounts):
            access, secret = keys(index)
            auth = CoupangAuth(
                access_key=SecretStr(access), secret_key=SecretStr(secret), now=lambda: datetime.now(UTC)
            )
            pace = Pace(args.rate)
            interval_s = interval_of(index, args.accounts, args.interval, args.spread)
            tasks += [
                asyncio.create_task(
                    floor.stream_loop(index, s, interval_s, auth, pace, (s * args.accounts + index) * spacing_s)
                )
                for s in (0, 1)
            ]
        await stop.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return floor.counts


def main(argv: Sequence[str] | None = None) -> None:
    """Parse arguments, poll until told to stop, print the counts as one JSON line."""
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the sandbox's base URL (bench.scale's sandbox process)")
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=60.0)
    parser.add_argument("--spread", type=float, default=0.0)
    parser.add_argument("--rate", type=float, default=2.0, help="requests a second per account (default 2)")
    parser.add_argument("--connections", type=int, default=3, help="the shared client's pool (default 3)")
    args = parser.parse_args(argv)
    counts = asyncio.run(run(args))
    print(json.dumps(dict(counts)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
