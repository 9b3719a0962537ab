"""`inqd demo`: the daemon on the built-in Coupang sandbox (real HTTP on 127.0.0.1) with the console sink."""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import structlog

from aggregator.clock import SystemClock, sleep_or_wake
from aggregator.daemon import Daemon
from aggregator.settings import CoupangAccount, NaverAccount, Settings, SinkNotifierConfig
from connectors.sandbox import (
    CoupangSandbox,
    InquiryGenerator,
    NaverInquiryGenerator,
    NaverSandbox,
    SandboxServer,
)

log = structlog.get_logger("inqd.demo")

DEMO_VENDOR = "A00012345"
DEMO_NAVER_CLIENT_ID = "demo-naver-app"
DEMO_NAVER_SECRET = "$2a$04$inqdDemoSandboxSaltxxu"  # a bcrypt salt, as Naver issues application secrets
# Sandbox-only credentials: they open nothing but the local fake marketplace.
DEMO_ACCESS_KEY = "demo-access-key"
DEMO_SECRET_KEY = "demo-secret-key"
GENERATOR_TICK_S = 2.0
BACKLOG = 6


def demo_settings(*, base_url: str, naver_url: str, data_dir: Path, poll_interval_s: float) -> Settings:
    """A config pointing a Coupang and a Naver account at the sandboxes, with the console + file sink."""
    return Settings(
        db_path=data_dir / "inqd.db",
        # The demo must show notifications whenever it is run, so it keeps no quiet hours (see `inqd schedule`).
        quiet_hours=(),
        accounts=(
            CoupangAccount.model_validate(
                {
                    "marketplace": "coupang",
                    "id": "demo-coupang",
                    "vendor_id": DEMO_VENDOR,
                    "access_key": DEMO_ACCESS_KEY,
                    "secret_key": DEMO_SECRET_KEY,
                    "base_url": base_url,
                    "poll_interval_s": poll_interval_s,
                    "max_requests_per_s": 5.0,
                }
            ),
            NaverAccount.model_validate(
                {
                    "marketplace": "naver",
                    "id": "demo-naver",
                    "client_id": DEMO_NAVER_CLIENT_ID,
                    "client_secret": DEMO_NAVER_SECRET,
                    "base_url": naver_url,
                    "poll_interval_s": poll_interval_s,
                    "max_requests_per_s": 2.0,
                }
            ),
        ),
        notifiers=(SinkNotifierConfig(type="sink", name="sink", console=True, file=data_dir / "notifications.jsonl"),),
    )


async def _generate(
    generators: dict[str, InquiryGenerator | NaverInquiryGenerator], clock: SystemClock, stop: asyncio.Event
) -> None:
    """Make the sandboxes receive and answer inquiries while the demo runs."""
    while not stop.is_set():
        for marketplace, generator in generators.items():
            report = generator.tick(clock.now())
            if report.added or report.answered:
                log.info(
                    "sandbox_activity",
                    marketplace=marketplace,
                    new_inquiries=report.added,
                    answered_in_seller_center=report.answered,
                )
        await sleep_or_wake(clock, GENERATOR_TICK_S, stop)


async def run_demo(*, duration_s: float | None, data_dir: Path | None, poll_interval_s: float = 3.0) -> int:
    """Run the demo until Ctrl-C / SIGTERM, or for `duration_s` seconds."""
    clock = SystemClock()
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="inqd-demo-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    sandbox = CoupangSandbox(
        vendor_id=DEMO_VENDOR, access_key=DEMO_ACCESS_KEY, secret_key=DEMO_SECRET_KEY, now=clock.now
    )
    # Busy enough to watch: a new inquiry every ~10 s on average, most answered within a minute or two.
    generator = InquiryGenerator(
        sandbox, rng=random.Random(), arrivals_per_h=360.0, mean_answer_delay_s=60.0, min_answer_age_s=20.0
    )
    naver = NaverSandbox(client_id=DEMO_NAVER_CLIENT_ID, client_secret=DEMO_NAVER_SECRET, now=clock.now)
    naver_generator = NaverInquiryGenerator(
        naver, rng=random.Random(), arrivals_per_h=240.0, mean_answer_delay_s=60.0, min_answer_age_s=20.0
    )
    now = clock.now()
    generator.seed(BACKLOG, start=now - timedelta(days=2), end=now - timedelta(minutes=5))
    naver_generator.seed(BACKLOG // 2, start=now - timedelta(days=2), end=now - timedelta(minutes=5))
    with SandboxServer(sandbox.handler) as server, SandboxServer(naver.handler) as naver_server:
        settings = demo_settings(
            base_url=server.url, naver_url=naver_server.url, data_dir=data_dir, poll_interval_s=poll_interval_s
        )
        print(
            f"inqd demo: Coupang sandbox at {server.url}, Naver sandbox at {naver_server.url}, "
            f"polling every {poll_interval_s:g} s\n"
            f"  database:      {settings.db_path}\n"
            f"  notifications: console and {data_dir / 'notifications.jsonl'}\n"
            f"  open queue:    inqd queue --db {settings.db_path}\n"
            "  quiet hours:   off in the demo (the default config holds messages 22:00-09:00 and on holidays)\n"
            "  Ctrl-C stops.",
            file=sys.stderr,
            flush=True,
        )
        daemon = await Daemon.build(settings, clock=clock)
        daemon.install_signal_handlers()
        if duration_s is not None:
            asyncio.get_running_loop().call_later(duration_s, daemon.request_stop, "duration reached")
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(_generate({"coupang": generator, "naver": naver_generator}, clock, daemon.stop))
                group.create_task(daemon.run())
        finally:
            await daemon.aclose()
    return 0
