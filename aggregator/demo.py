"""`inqd demo`: the daemon on the built-in marketplace sandboxes (real HTTP on 127.0.0.1) with the console sink.

One sandbox per marketplace (쿠팡, 스마트스토어, 11번가, G마켓/옥션), each with a generator of Korean inquiries
that also answers some of them, as if the seller had replied in the seller center.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
import structlog
from pydantic import TypeAdapter

from aggregator.cli.stops import Stops
from aggregator.cli.words import Words
from aggregator.daemon import Daemon
from aggregator.settings import Account, Settings, SinkNotifierConfig
from connectors.sandbox import (
    CoupangSandbox,
    ElevenstInquiryGenerator,
    ElevenstSandbox,
    EsmInquiryGenerator,
    EsmSandbox,
    InquiryGenerator,
    NaverInquiryGenerator,
    NaverSandbox,
    SandboxServer,
    TickReport,
)
from core.clock import SystemClock, sleep_or_wake

log = structlog.get_logger("inqd.demo")

# Sandbox-only credentials: they open nothing but the local fake marketplaces.
DEMO_VENDOR = "A00012345"
DEMO_ACCESS_KEY = "demo-access-key"
DEMO_SECRET_KEY = "demo-secret-key"
DEMO_NAVER_CLIENT_ID = "demo-naver-app"
DEMO_NAVER_SECRET = "$2a$04$inqdDemoSandboxSaltxxu"  # a bcrypt salt, as Naver issues application secrets
DEMO_11ST_KEY = "demo-11st-openapikey"
DEMO_ESM_MASTER = "demomaster"
DEMO_ESM_SECRET = "demo-esm-secret-key-0123456789abcdef"
DEMO_GMARKET_SELLER = "demogmarket"
DEMO_AUCTION_SELLER = "demoauction"
GENERATOR_TICK_S = 2.0
BACKLOG = 6


class _Generator(Protocol):
    def seed(self, count: int, *, start: datetime, end: datetime) -> list[int]: ...

    def tick(self, now: datetime) -> TickReport: ...


# The demo accounts, as a config would give them; the base URL and poll interval come from the running demo.
DEMO_ACCOUNTS: dict[str, dict[str, Any]] = {
    "coupang": {
        "marketplace": "coupang",
        "id": "demo-coupang",
        "vendor_id": DEMO_VENDOR,
        "access_key": DEMO_ACCESS_KEY,
        "secret_key": DEMO_SECRET_KEY,
        "max_requests_per_s": 5.0,
    },
    "naver": {
        "marketplace": "naver",
        "id": "demo-naver",
        "client_id": DEMO_NAVER_CLIENT_ID,
        "client_secret": DEMO_NAVER_SECRET,
        "max_requests_per_s": 2.0,
    },
    "elevenst": {"marketplace": "elevenst", "id": "demo-11st", "api_key": DEMO_11ST_KEY, "max_requests_per_s": 2.0},
    "esm": {
        "marketplace": "esm",
        "id": "demo-esm",
        "master_id": DEMO_ESM_MASTER,
        "secret_key": DEMO_ESM_SECRET,
        "gmarket_seller_id": DEMO_GMARKET_SELLER,
        "auction_seller_id": DEMO_AUCTION_SELLER,
        "max_requests_per_s": 1.0,
    },
}
_ACCOUNT: TypeAdapter[Account] = TypeAdapter(Account)
_NOT_CREDENTIALS = {"marketplace", "id", "max_requests_per_s"}


@dataclass
class _Shop:
    """One demo marketplace: its sandbox handler, its generator, and the account pointing at it."""

    name: str
    handler: Callable[[httpx.Request], httpx.Response]
    generator: _Generator

    def account(self, base_url: str, poll_interval_s: float) -> Account:
        """The demo account of this marketplace, on the sandbox at `base_url`."""
        values = {**DEMO_ACCOUNTS[self.name], "base_url": base_url, "poll_interval_s": poll_interval_s}
        return _ACCOUNT.validate_python(values)


def _credentials(name: str) -> dict[str, Any]:
    """The ids and secrets of a demo account: what its sandbox takes, under the same names, to accept it."""
    return {key: value for key, value in DEMO_ACCOUNTS[name].items() if key not in _NOT_CREDENTIALS}


def _shops(clock: SystemClock) -> list[_Shop]:
    coupang = CoupangSandbox(**_credentials("coupang"), now=clock.now)
    naver = NaverSandbox(**_credentials("naver"), now=clock.now)
    elevenst = ElevenstSandbox(**_credentials("elevenst"), now=clock.now)
    esm = EsmSandbox(**_credentials("esm"), now=clock.now)
    # Busy enough to watch: a new inquiry every few seconds across the shops, most answered within minutes.
    pace: dict[str, Any] = {"mean_answer_delay_s": 60.0, "min_answer_age_s": 20.0}
    return [
        _Shop("coupang", coupang.handler, InquiryGenerator(coupang, rng=random.Random(), arrivals_per_h=300.0, **pace)),
        _Shop("naver", naver.handler, NaverInquiryGenerator(naver, rng=random.Random(), arrivals_per_h=200.0, **pace)),
        _Shop(
            "elevenst",
            elevenst.handler,
            ElevenstInquiryGenerator(elevenst, rng=random.Random(), arrivals_per_h=120.0, **pace),
        ),
        _Shop("esm", esm.handler, EsmInquiryGenerator(esm, rng=random.Random(), arrivals_per_h=120.0, **pace)),
    ]


def demo_settings(accounts: tuple[Account, ...], *, data_dir: Path) -> Settings:
    """The demo config: the given sandbox accounts, no quiet hours, the console + file sink."""
    return Settings(
        db_path=data_dir / "inqd.db",
        # The demo must show notifications whenever it is run, so it keeps no quiet hours (see `inqd schedule`).
        quiet_hours=(),
        accounts=accounts,
        notifiers=(SinkNotifierConfig(type="sink", name="sink", console=True, file=data_dir / "notifications.jsonl"),),
    )


async def _generate(shops: list[_Shop], clock: SystemClock, stop: asyncio.Event) -> None:
    """Make the sandboxes receive and answer inquiries while the demo runs."""
    while not stop.is_set():
        for shop in shops:
            report = shop.generator.tick(clock.now())
            if report.added or report.answered:
                log.info(
                    "sandbox_activity",
                    marketplace=shop.name,
                    new_inquiries=report.added,
                    answered_in_seller_center=report.answered,
                )
        await sleep_or_wake(clock, GENERATOR_TICK_S, stop)


async def run_demo(
    *, duration_s: float | None, data_dir: Path | None, poll_interval_s: float, stops: Stops, words: Words
) -> int:
    """Run the demo until Ctrl-C / SIGTERM (through `stops`), or for `duration_s` seconds."""
    clock = SystemClock()
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="inqd-demo-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    shops = _shops(clock)
    now = clock.now()
    for shop in shops:
        shop.generator.seed(BACKLOG, start=now - timedelta(days=2), end=now - timedelta(minutes=5))
    with contextlib.ExitStack() as servers:
        urls = [servers.enter_context(SandboxServer(shop.handler)).url for shop in shops]
        settings = demo_settings(
            tuple(shop.account(url, poll_interval_s) for shop, url in zip(shops, urls, strict=True)), data_dir=data_dir
        )
        banner = words(
            "demo_banner",
            where=", ".join(f"{shop.name} {url}" for shop, url in zip(shops, urls, strict=True)),
            interval=poll_interval_s,
            db=settings.db_path,
            sink=data_dir / "notifications.jsonl",
            host=settings.admin.host,
            port=settings.admin.port,
        )
        print(banner, file=sys.stderr, flush=True)
        daemon = await Daemon.build(settings, clock=clock)
        if duration_s is not None:
            asyncio.get_running_loop().call_later(duration_s, daemon.request_stop, "duration reached")
        with stops.redirect(daemon.request_stop):
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(_generate(shops, clock, daemon.stop))
                    group.create_task(daemon.run())
            finally:
                await daemon.aclose()
    return 0
