"""Web inbox benchmark: the inbox page with 10,000 open inquiries, served by the real aiohttp app on loopback.

Run `python -m bench.web [--open 10000] [--requests 50] [--seed 5]` (`make bench-web`). Targets (issue 16): the
inbox page's server time p95 <= 100 ms, its weight without images (HTML + CSS + JS) <= 150 KB.

How: a daemon is built (`Daemon.build`, its Coupang account never polled) on a fresh database in a temporary
directory; `--open` inquiries of four marketplaces and six streams, received over the last three days, are
recorded through `Store.record_poll` (one call per stream, as a backfilling poll), with own targets on four of
the streams (the costly clock: counted on work hours) and a share of them snoozed, promised, handled or with a
draft answer. The web inbox is mounted on an `AdminServer` on 127.0.0.1 exactly as the daemon mounts it, and an
httpx client in the same process asks for the pages. The times printed are request round trips measured by the
client (server time + loopback + the client's reading of the body): an upper bound of the server's time.

Figures: the first GET / (nothing computed yet: every inquiry's two deadlines), then `--requests` GETs (p50, p95,
max) of / after a write (a snooze: the queue is read and sorted again), after a poll that brought a new inquiry,
and with nothing written since (the kept order); of a search, a filter and the last page, each after a write;
`/inbox/rows` (what the page's script fetches every 4 s) after a write (200, the rows rendered) and when nothing
was written (304); the page weight (the HTML of / plus every stylesheet and script it links, as served,
uncompressed). The target is checked on the first line (GET / after a write), the slowest page path.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from aggregator.admin import AdminServer
from aggregator.daemon import Daemon
from aggregator.metrics import Metrics
from aggregator.settings import Settings
from aggregator.store import Store
from aggregator.web import mount
from bench._proc import machine_line, percentile
from core.clock import SystemClock
from core.models import Inquiry, Marketplace, PollResult, StreamKind

P95_TARGET_MS = 100.0
WEIGHT_TARGET_KB = 150.0
STREAMS = (
    (Marketplace.COUPANG, StreamKind.PRODUCT_QNA, None),
    (Marketplace.COUPANG, StreamKind.CALL_CENTER, None),
    (Marketplace.NAVER, StreamKind.PRODUCT_QNA, None),
    (Marketplace.NAVER, StreamKind.CUSTOMER_INQUIRY, None),
    (Marketplace.ELEVENST, StreamKind.URGENT, None),
    (Marketplace.ESM, StreamKind.PRODUCT_QNA, "G마켓"),
)
OWN_TARGETS = [
    {"marketplace": m.value, "stream": s.value, "own_target": "4h"}
    for m, s, _ in STREAMS
    if s in (StreamKind.PRODUCT_QNA, StreamKind.CUSTOMER_INQUIRY)
]
QUESTIONS = (
    "배송이 언제 출발하나요? 이번 주 안에 꼭 받아야 해서요.",
    "사이즈가 평소보다 작게 나오나요? 키 170에 65kg인데 어떤 걸로 사야 할까요?",
    "주문했는데 주소를 잘못 적었어요. 010-2345-6789 로 연락 주세요.",
    "색상이 사진과 같은가요? 모니터로 보니 조금 달라 보여서 문의드립니다.",
    "필터는 따로 파나요? 모델명을 알려주시면 감사하겠습니다.",
    "반품 회수는 언제 오나요? 박스는 버렸는데 괜찮을까요?",
)
PRODUCTS = ("무선 청소기 V12 화이트", "겨울 패딩 롱 블랙", "유기농 현미 10kg", "접이식 캠핑 의자 2개 세트", None)


@dataclass(frozen=True, slots=True)
class Timed:
    """Round trips of one kind of request, in milliseconds."""

    name: str
    ms: list[float]

    def line(self) -> str:
        """`name  p50 … p95 … max …`."""
        p50, p95 = percentile(self.ms, 0.50), percentile(self.ms, 0.95)
        return f"  {self.name:<40} p50 {p50:6.1f} ms   p95 {p95:6.1f} ms   max {max(self.ms):6.1f} ms"


def open_inquiries(count: int, now: datetime, rng: random.Random) -> list[Inquiry]:
    """`count` open inquiries over the last three days, spread over the streams."""
    made = []
    for n in range(count):
        marketplace, stream, site = STREAMS[n % len(STREAMS)]
        received = now - timedelta(seconds=rng.randrange(3 * 24 * 3600))
        own_deadline = received + timedelta(hours=rng.choice((12, 24, 48))) if rng.random() < 0.3 else None
        made.append(
            Inquiry(
                account_id=f"bench-{marketplace.value}",
                marketplace=marketplace,
                stream=stream,
                external_id=f"{stream.value}-{n}",
                received_at=received,
                body=rng.choice(QUESTIONS) + f" (#{n})",
                title="상품 문의" if rng.random() < 0.3 else None,
                product_name=rng.choice(PRODUCTS),
                order_id=f"2026{n:08d}" if rng.random() < 0.5 else None,
                buyer="홍길동" if rng.random() < 0.2 else None,
                deadline_at=own_deadline,
                site=site,
            )
        )
    return made


async def seed(store: Store, inquiries: list[Inquiry], now: datetime, rng: random.Random) -> None:
    """Record `inquiries` one backfilling poll per stream; mark some snoozed, promised, handled, drafted."""
    groups: dict[tuple[str, StreamKind], list[Inquiry]] = {}
    for inq in inquiries:
        groups.setdefault((inq.account_id, inq.stream), []).append(inq)
    for (account, stream), batch in groups.items():
        result = PollResult(tuple(batch), {})
        await store.record_poll(account, stream, result, now=now, channels=("sink",), notify_new=False)
    ids = [row.id for row in await store.open_inquiries()]
    for row_id in rng.sample(ids, len(ids) // 20):
        action = rng.randrange(4)
        if action == 0:
            await store.snooze(row_id, now + timedelta(hours=2), now=now, actor="bench")
        elif action == 1:
            await store.promise(row_id, now + timedelta(hours=5), "전화", now=now, actor="bench")
        elif action == 2:
            await store.mark_handled(row_id, now=now, actor="bench")
        else:
            await store.save_draft(row_id, "확인 후 안내드리겠습니다.", now=now, final=False)


def settings_in(directory: Path) -> Settings:
    """One Coupang account (never polled here), a file sink, own targets on the question streams."""
    return Settings(
        db_path=directory / "inqd.db",
        accounts=(
            {
                "marketplace": "coupang",
                "id": "bench-coupang",
                "vendor_id": "A00012345",
                "access_key": "ak",
                "secret_key": "sk",
                "base_url": "http://127.0.0.1:9",
            },
        ),
        notifiers=({"type": "sink", "console": False, "file": str(directory / "sink.jsonl")},),
        sla={"rules": OWN_TARGETS},
    )


async def timed(
    name: str,
    count: int,
    request: Callable[[], Awaitable[httpx.Response]],
    status: int,
    before: Callable[[], Awaitable[object]] | None = None,
) -> Timed:
    """`count` round trips of `request`, each checked for `status` (`before` runs ahead of each, untimed)."""
    ms = []
    for _ in range(count):
        if before is not None:
            await before()
        start = time.perf_counter()
        response = await request()
        ms.append((time.perf_counter() - start) * 1000)
        if response.status_code != status:
            raise SystemExit(f"{name}: HTTP {response.status_code}, expected {status}")
    return Timed(name, ms)


async def page_weight(http: httpx.AsyncClient, html: str) -> tuple[int, dict[str, int]]:
    """Bytes of the HTML and of each stylesheet and script it links."""
    assets = {}
    for url in sorted(set(re.findall(r'(?:href|src)="(/static/[^"]+)"', html))):
        assets[url.split("?")[0]] = len((await http.get(url)).content)
    return len(html.encode()), assets


async def measure(args: argparse.Namespace, directory: Path) -> bool:
    """Seed, serve, measure, print; whether both targets were met."""
    clock, rng = SystemClock(), random.Random(args.seed)
    daemon = await Daemon.build(settings_in(directory), clock=clock)
    now = clock.now()
    start = time.perf_counter()
    await seed(daemon.store, open_inquiries(args.open, now, rng), now, rng)
    seeded_s = time.perf_counter() - start
    admin = AdminServer(
        host="127.0.0.1", port=0, token=None, health=daemon.watch.health, metrics=Metrics(), refresh_metrics=_nothing,
        now=clock.now,
    )  # fmt: skip
    mount(admin.add_route, daemon.web_context())
    port = await admin.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            first_start = time.perf_counter()
            first = await http.get("/")
            first_ms = (time.perf_counter() - first_start) * 1000
            html_bytes, assets = await page_weight(http, first.text)
            n = args.requests
            ids = [row.id for row in await daemon.store.open_inquiries()]

            async def write() -> None:  # what a poll does every minute: the next page reads the queue again
                await daemon.store.snooze(rng.choice(ids), clock.now() + timedelta(hours=1), now=clock.now(), actor="b")

            arrivals = iter(range(10**9))

            async def arrive() -> None:  # a poll that brought one new inquiry
                (new,) = open_inquiries(1, clock.now(), rng)
                fresh = replace(new, external_id=f"new-{next(arrivals)}", account_id="bench-new")
                result = PollResult((fresh,), {})
                await daemon.store.record_poll(
                    "bench-new", fresh.stream, result, now=clock.now(), channels=("sink",), notify_new=True
                )

            runs = [
                await timed("GET / after a write (re-sorted)", n, lambda: http.get("/"), 200, before=write),
                await timed("GET / after a new inquiry", n, lambda: http.get("/"), 200, before=arrive),
                await timed("GET / (nothing written since)", n, lambda: http.get("/"), 200),
                await timed("GET /?q=배송 (search) after a write", n, lambda: http.get("/?q=배송"), 200, before=write),
                await timed(
                    "GET /?marketplace=naver after a write",
                    n,
                    lambda: http.get("/?marketplace=naver"),
                    200,
                    before=write,
                ),
                await timed("GET /?p=100 (last page) after a write", n, lambda: http.get("/?p=100"), 200, before=write),
                await timed("GET /inbox/rows after a write", n, lambda: http.get("/inbox/rows"), 200, before=write),
            ]
            # The version includes the minute: taken right before, 50 requests of ~1 ms stay inside it.
            etag = (await http.get("/inbox/rows")).headers["ETag"]
            runs += [
                await timed(
                    "GET /inbox/rows (unchanged: 304)",
                    n,
                    lambda: http.get("/inbox/rows", headers={"If-None-Match": etag}),
                    304,
                ),
            ]
    finally:
        await admin.aclose()
        await daemon.aclose()
    weight_kb = (html_bytes + sum(assets.values())) / 1000
    p95 = percentile(runs[0].ms, 0.95)
    print(f"inqd web inbox benchmark — {machine_line()}")
    print(f"{args.open} open inquiries seeded in {seeded_s:.1f} s; {n} requests of each kind, one at a time")
    print(f"  first GET / (every deadline computed)   {first_ms:6.1f} ms")
    for run in runs:
        print(run.line())
    print(
        f"page weight: HTML {html_bytes / 1000:.1f} KB + "
        + " + ".join(f"{u} {b / 1000:.1f} KB" for u, b in assets.items())
    )
    print(f"  = {weight_kb:.1f} KB without images (target <= {WEIGHT_TARGET_KB:.0f} KB)")
    print(f"GET / p95 {p95:.1f} ms (target <= {P95_TARGET_MS:.0f} ms)")
    met = p95 <= P95_TARGET_MS and weight_kb <= WEIGHT_TARGET_KB
    print("targets met" if met else "TARGET MISSED")
    return met


async def _nothing() -> None:
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(prog="python -m bench.web", description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=10_000, help="open inquiries in the store")
    parser.add_argument("--requests", type=int, default=50, help="requests of each kind")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="inqd-bench-web-") as directory:
        met = asyncio.run(measure(args, Path(directory)))
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
