"""Answer-time report benchmark: `inqd report`'s computation over a year of 100 inquiries a day.

Run `python -m bench.report [--days 365] [--per-day 100] [--weeks 12] [--seed 17]` (`make bench-report`). Target
(issue 17): the report (the store's read + the figures) within 1 s.

How: a fresh database in a temporary directory gets `--days` x `--per-day` inquiries (36,500 by default) of four
marketplaces and six streams, received at random times of each day, through `Store.record_poll` (one poll per
account and stream per day, at the day's end, as a backfilling poll): 85 % answered with the marketplace's time
within minutes to two days, 7 % answered with no time (seen by a poll), 3 % already answered when first seen,
5 % still open; some promised. Own targets on two streams count on work hours (the costly clock). Then
`read_report` (exactly what `inqd report` runs: vacations, the read since the first week, the figures) is timed
`--runs` times; the best and the median are printed with the ratio to the target.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from aggregator.report.reading import read_report
from aggregator.settings import Settings
from aggregator.store import Store
from core.models import KST, Category, Inquiry, Marketplace, PollResult, StreamKind

TARGET_S = 1.0
_NAVER_SALT = "$2a$04$" + "a" * 22  # the shape Naver issues (a bcrypt salt)
STREAMS = (
    ("coupang-1", Marketplace.COUPANG, StreamKind.PRODUCT_QNA, 0.35),
    ("coupang-1", Marketplace.COUPANG, StreamKind.CALL_CENTER, 0.10),
    ("naver-1", Marketplace.NAVER, StreamKind.PRODUCT_QNA, 0.15),
    ("naver-1", Marketplace.NAVER, StreamKind.CUSTOMER_INQUIRY, 0.15),
    ("esm-1", Marketplace.ESM, StreamKind.PRODUCT_QNA, 0.15),
    ("elevenst-1", Marketplace.ELEVENST, StreamKind.PRODUCT_QNA, 0.10),
)


def _settings(db_path: Path) -> Settings:
    rules = [
        {"marketplace": "coupang", "stream": "product_qna", "own_target": "4h"},
        {"marketplace": "naver", "stream": "customer_inquiry", "own_target": "8h"},
    ]
    accounts = [
        # Never used to connect: the report reads only the database.
        {"id": "coupang-1", "marketplace": "coupang", "vendor_id": "A00012345", "access_key": "x", "secret_key": "x"},
        {"id": "naver-1", "marketplace": "naver", "client_id": "abcd1234", "client_secret": _NAVER_SALT},
        {"id": "esm-1", "marketplace": "esm", "master_id": "seller1", "secret_key": "x", "gmarket_seller_id": "g1"},
        {"id": "elevenst-1", "marketplace": "elevenst", "api_key": "x"},
    ]
    return Settings.model_validate(
        {"db_path": db_path, "work_hours": ["월-금 09:00-18:00"], "sla": {"rules": rules}, "accounts": accounts}
    )


def _inquiry(rng: random.Random, n: int, day_start: datetime, day_end: datetime) -> Inquiry:
    account, marketplace, stream, _ = rng.choices(STREAMS, weights=[s[3] for s in STREAMS])[0]
    received = day_start + timedelta(seconds=rng.uniform(0, 86_399))
    inquiry = Inquiry(
        account_id=account,
        marketplace=marketplace,
        stream=stream,
        external_id=str(n),
        received_at=received,
        body="배송 언제 오나요?",
        category=Category.DELIVERY,
    )
    roll = rng.random()
    answered_at = received + timedelta(minutes=rng.expovariate(1 / 300))
    if roll < 0.85 and answered_at <= day_end:
        return replace(inquiry, answered=True, answered_at=answered_at)
    if roll < 0.88:
        return replace(inquiry, answered=True)  # already answered when first seen, no time
    return inquiry  # open at the day's poll (some answered on a later day, without a time: a poll's)


async def _seed(store: Store, *, days: int, per_day: int, now: datetime, seed: int) -> int:
    rng = random.Random(seed)
    open_ones: dict[tuple[str, StreamKind], list[Inquiry]] = {}
    count = 0
    for day in range(days, 0, -1):
        start = (now - timedelta(days=day)).replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=1)
        batch = [_inquiry(rng, count + k, start, end) for k in range(per_day)]
        count += per_day
        by_stream: dict[tuple[str, StreamKind], list[Inquiry]] = {}
        for inq in batch:
            by_stream.setdefault((inq.account_id, inq.stream), []).append(inq)
        for key, waiting in open_ones.items():  # most of yesterday's open ones were answered since
            by_stream.setdefault(key, []).extend(replace(i, answered=True) for i in waiting if rng.random() < 0.8)
        open_ones = {key: [i for i in rows if not i.answered] for key, rows in by_stream.items()}
        for (account, stream), rows in by_stream.items():
            await store.record_poll(
                account, stream, PollResult(inquiries=tuple(rows), cursor={}), now=end, channels=(), notify_new=False
            )
    return count


async def _run(args: argparse.Namespace) -> float:
    now = datetime(2026, 12, 1, 10, 0, tzinfo=KST)
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp) / "inqd.db")
        store = await Store.open(settings.database_location())
        try:
            started = time.perf_counter()
            count = await _seed(store, days=args.days, per_day=args.per_day, now=now, seed=args.seed)
            print(f"seeded {count:,} inquiries in {time.perf_counter() - started:.1f} s")
            times, report = [], None
            for _ in range(args.runs):
                began = time.perf_counter()
                report = await read_report(store, settings, now=now, weeks=args.weeks)
                times.append(time.perf_counter() - began)
        finally:
            await store.aclose()
    assert report is not None
    for entry in report.marketplaces:
        f = entry.last_30_days
        share = "–" if f.share_24h is None else f"{f.share_24h:.1%}"
        print(
            f"  {entry.marketplace.value:9} 30 days: {f.received:5} received, within 24 h {share:>6}, "
            f"median {(f.median_answer_s or 0) / 60:6.1f} min, p90 {(f.p90_answer_s or 0) / 60:6.1f} min"
        )
    best, median = min(times), statistics.median(times)
    print(
        f"report ({args.weeks} weeks + 30 days): best {best * 1000:.0f} ms, median {median * 1000:.0f} ms "
        f"of {args.runs} runs; target {TARGET_S:.1f} s -> ratio {median / TARGET_S:.2f}"
    )
    return median


def main() -> int:
    """Seed, time, print; exit 1 when the median misses the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--per-day", type=int, default=100)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=17)
    median = asyncio.run(_run(parser.parse_args()))
    return 0 if median <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
