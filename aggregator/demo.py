"""`inqd demo`: the daemon on the built-in marketplace sandboxes (real HTTP on 127.0.0.1) with the console sink.

One sandbox per marketplace (쿠팡, 스마트스토어, 11번가, G마켓/옥션), each with a generator of Korean inquiries
that also answers some of them, as if the seller had replied in the seller center. The shops are kept with the
data dir (aggregator/demo_state.py), so that a second run on it continues them; a config written there lets the
other commands (`queue`, `explain`, `status`) read the demo's database.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import structlog
import tomlkit
from pydantic import TypeAdapter

from aggregator.answering.service import STATE_NAMES, AnswerRefused
from aggregator.cli.stops import Stops
from aggregator.cli.words import Words
from aggregator.daemon import Daemon
from aggregator.demo_state import STATE_FILE, DataDirRefused, DemoSandboxes, GeneratorFactory
from aggregator.init.starter_templates import STARTER_TEMPLATES
from aggregator.settings import Account, ConfigError, Settings, SinkNotifierConfig, load_settings
from aggregator.settings.file import read_toml
from aggregator.store import StoredInquiry
from aggregator.store.answers import LIVE_STATES, AnswerState
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
)
from core.clock import Clock, SystemClock, sleep_or_wake
from core.models import Marketplace, StreamKind
from core.particles import with_particle
from core.redact import excerpt
from policies.templates import parse_templates

log = structlog.get_logger("inqd.demo")

# Sandbox-only credentials: they open nothing but the local fake marketplaces.
DEMO_VENDOR = "A00012345"
DEMO_ACCESS_KEY = "demo-access-key"
DEMO_SECRET_KEY = "demo-secret-key"
DEMO_WING_LOGIN = "sandbox-wing"  # the WING login the Coupang sandbox takes as `replyBy` (its default)
DEMO_NAVER_CLIENT_ID = "demo-naver-app"
DEMO_NAVER_SECRET = "$2a$04$inqdDemoSandboxSaltxxu"  # a bcrypt salt, as Naver issues application secrets
DEMO_11ST_KEY = "demo-11st-openapikey"
DEMO_ESM_MASTER = "demomaster"
DEMO_ESM_SECRET = "demo-esm-secret-key-0123456789abcdef"
DEMO_GMARKET_SELLER = "demogmarket"
DEMO_AUCTION_SELLER = "demoauction"
GENERATOR_TICK_S = 2.0
BACKLOG = 6
DEMO_CONFIG = "inqd.toml"
DEMO_TEMPLATE = "확인 후 답변"  # the starter set's one template for any question
DEMO_SHOP_NAME = "데모상점"  # {쇼핑몰} in the demo's answers: a seller's own name, never the marketplace's


# The demo accounts, as a config would give them; the base URL and poll interval come from the running demo.
DEMO_ACCOUNTS: dict[str, dict[str, Any]] = {
    "coupang": {
        "marketplace": "coupang",
        "id": "demo-coupang",
        "vendor_id": DEMO_VENDOR,
        "access_key": DEMO_ACCESS_KEY,
        "secret_key": DEMO_SECRET_KEY,
        "reply_by": DEMO_WING_LOGIN,
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
_NOT_CREDENTIALS = {"marketplace", "id", "max_requests_per_s", "reply_by"}


@dataclass
class DemoShop:
    """One demo marketplace: its sandbox handler, how to make a generator over it, and the account pointing at it."""

    name: str
    handler: Callable[[httpx.Request], httpx.Response]
    new_generator: GeneratorFactory

    def account_values(self, base_url: str, poll_interval_s: float) -> dict[str, Any]:
        """The demo account of this marketplace as a config gives it, on the sandbox at `base_url`."""
        return {**DEMO_ACCOUNTS[self.name], "base_url": base_url, "poll_interval_s": poll_interval_s}

    def account(self, base_url: str, poll_interval_s: float) -> Account:
        """The demo account of this marketplace, on the sandbox at `base_url`."""
        return _ACCOUNT.validate_python(self.account_values(base_url, poll_interval_s))


def _credentials(name: str) -> dict[str, Any]:
    """The ids and secrets of a demo account: what its sandbox takes, under the same names, to accept it."""
    return {key: value for key, value in DEMO_ACCOUNTS[name].items() if key not in _NOT_CREDENTIALS}


def demo_shops(clock: Clock) -> list[DemoShop]:
    """The four demo marketplaces, each on a new, empty sandbox (see DemoSandboxes for what fills them)."""
    coupang = CoupangSandbox(**_credentials("coupang"), wing_login_id=DEMO_WING_LOGIN, now=clock.now)
    naver = NaverSandbox(**_credentials("naver"), now=clock.now)
    elevenst = ElevenstSandbox(**_credentials("elevenst"), now=clock.now)
    esm = EsmSandbox(**_credentials("esm"), now=clock.now)
    # Busy enough to watch: a new inquiry every few seconds across the shops, most answered within minutes.
    pace: dict[str, Any] = {"mean_answer_delay_s": 60.0, "min_answer_age_s": 20.0}
    return [
        DemoShop(
            "coupang", coupang.handler, lambda rng: InquiryGenerator(coupang, rng=rng, arrivals_per_h=300.0, **pace)
        ),
        DemoShop(
            "naver", naver.handler, lambda rng: NaverInquiryGenerator(naver, rng=rng, arrivals_per_h=200.0, **pace)
        ),
        DemoShop(
            "elevenst",
            elevenst.handler,
            lambda rng: ElevenstInquiryGenerator(elevenst, rng=rng, arrivals_per_h=120.0, **pace),
        ),
        DemoShop("esm", esm.handler, lambda rng: EsmInquiryGenerator(esm, rng=rng, arrivals_per_h=120.0, **pace)),
    ]


def _open_sandboxes(data_dir: Path, clock: Clock) -> tuple[list[DemoShop], DemoSandboxes] | None:
    """The demo's shops as `data_dir` keeps them; None (the reason printed) when it has another run's database."""
    shops = demo_shops(clock)
    factories = {shop.name: shop.new_generator for shop in shops}
    try:
        return shops, DemoSandboxes.open(data_dir, factories, now=clock.now(), backlog=BACKLOG)
    except DataDirRefused as err:
        print(err, file=sys.stderr, flush=True)
        return None


def _kept_hours(path: Path) -> dict[str, Any]:
    """The quiet and work hours the seller set on the web page in an earlier run on this data dir (kept)."""
    try:
        previous = read_toml(path)
    except (OSError, ValueError):  # no earlier run, or a file that is not TOML any more: the demo's own
        return {}
    return {key: previous[key] for key in ("quiet_hours", "work_hours") if key in previous}


def write_demo_config(data_dir: Path, accounts: Sequence[Mapping[str, Any]], *, keep_hours: bool = True) -> Path:
    """Write the demo's config into `data_dir`: the demo daemon runs on it (so the web page can save its hours
    there), and `inqd queue/explain/status --config` read the demo's database. Hours saved by an earlier run are
    kept unless `keep_hours` is False."""
    path = data_dir / DEMO_CONFIG
    values = {
        "db_path": str(data_dir / "inqd.db"),
        "shop_name": DEMO_SHOP_NAME,
        # The demo must show notifications whenever it is run, so it keeps no quiet hours (see `inqd schedule`).
        "quiet_hours": [],
        **(_kept_hours(path) if keep_hours else {}),
        "accounts": [dict(account) for account in accounts],
        "notifiers": [{"type": "sink", "name": "sink", "console": True, "file": str(data_dir / "notifications.jsonl")}],
    }
    text = (
        "# Written by `inqd demo` at each start (its sandboxes' ports change from run to run); quiet_hours and\n"
        "# work_hours set on the web page are kept. The keys below open nothing but the demo's fake marketplaces.\n"
        + tomlkit.dumps(values)
    )
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return path


def load_demo_config(data_dir: Path, accounts: Sequence[Mapping[str, Any]], words: Words) -> Settings:
    """Write the demo's config and run on it; hours kept from an earlier run that no longer load are dropped."""
    try:
        return load_settings(write_demo_config(data_dir, accounts), lang=words.lang)
    except ConfigError as err:
        for line in err.problems:
            _say(line)
        return load_settings(write_demo_config(data_dir, accounts, keep_hours=False), lang=words.lang)


_KOREAN = Words("ko")  # the demo's words when a caller (a test) gives none


def data_dir_hints(data_dir: Path, words: Words = _KOREAN) -> list[str]:
    """The start-up lines that say how to look into the demo's data dir with the other commands."""
    return words("demo_hints", config=data_dir / DEMO_CONFIG, state=data_dir / STATE_FILE).splitlines()


def demo_settings(accounts: tuple[Account, ...], *, data_dir: Path) -> Settings:
    """The demo config: the given sandbox accounts, no quiet hours, the console + file sink."""
    return Settings(
        db_path=data_dir / "inqd.db",
        # The demo must show notifications whenever it is run, so it keeps no quiet hours (see `inqd schedule`).
        quiet_hours=(),
        shop_name=DEMO_SHOP_NAME,
        accounts=accounts,
        notifiers=(SinkNotifierConfig(type="sink", name="sink", console=True, file=data_dir / "notifications.jsonl"),),
    )


async def _generate(sandboxes: DemoSandboxes, clock: SystemClock, stop: asyncio.Event) -> None:
    """Make the sandboxes receive and answer inquiries while the demo runs."""
    while not stop.is_set():
        for name, report in sandboxes.tick(clock.now()):
            if report.added or report.answered:
                log.info(
                    "sandbox_activity",
                    marketplace=name,
                    new_inquiries=report.added,
                    answered_in_seller_center=report.answered,
                )
        await sleep_or_wake(clock, GENERATOR_TICK_S, stop)


def _say(line: str) -> None:
    print(f"inqd demo: {line}", file=sys.stderr, flush=True)


async def answer_one_inquiry(
    daemon: Daemon, *, say: Callable[[str], None], look_every_s: float = 0.5, words: Words = _KOREAN
) -> None:
    """The demo's own answer: once a poll has found an open Coupang product question, answer it the way a seller
    does (a template, the check, an approval) through the daemon's answer service, and say what becomes of it."""
    while not daemon.stop.is_set():
        questions = [
            s
            for s in await daemon.store.open_inquiries()
            if s.inquiry.marketplace is Marketplace.COUPANG and s.inquiry.stream is StreamKind.PRODUCT_QNA
        ]
        if questions:  # the newest: the sandbox's own "seller" answers the older ones first
            answer_id = await demo_answer(daemon, questions[-1], say=say, words=words)
            if answer_id is not None:
                await follow_demo_answer(daemon, answer_id, say=say, look_every_s=look_every_s, words=words)
            return
        await sleep_or_wake(daemon.clock, look_every_s, daemon.stop)


async def demo_answer(
    daemon: Daemon, stored: StoredInquiry, *, say: Callable[[str], None], words: Words = _KOREAN
) -> int | None:
    """Fill the starter template DEMO_TEMPLATE for `stored`, check it and approve it as "demo": the answer's id, or
    None when the service refused it (the reason said)."""
    template = next(t for t in parse_templates(STARTER_TEMPLATES) if t.name == DEMO_TEMPLATE)
    service = daemon.answers()
    try:
        draft = await service.draft_template(stored.id, template)
        findings = "; ".join(f.message for f in draft.findings) or words("demo_no_findings")
        inquiry = stored.inquiry
        shop, stream = words.shop(inquiry.shop), words.stream(inquiry.stream)
        say(words("demo_answering", id=stored.id, shop=shop, stream=stream, template=template.name, findings=findings))
        approval = await service.approve_draft(draft, "demo", confirm_warnings=True)
    except AnswerRefused as err:
        say(words("demo_not_approved", id=stored.id, error=err))
        return None
    answer_id = approval.answer.id
    say(
        words(
            "demo_approved",
            id=answer_id,
            answer=with_particle(f"#{answer_id}", "를"),
            text=excerpt(approval.answer.text, 60),
        )
    )
    for line in approval.promise_lines:
        say(line)
    return approval.answer.id


async def follow_demo_answer(
    daemon: Daemon, answer_id: int, *, say: Callable[[str], None], look_every_s: float = 0.5, words: Words = _KOREAN
) -> AnswerState | None:
    """Say when the answer was sent to the sandbox and what the next poll made of it; returns its last state."""
    sent_said = False
    while True:
        answer = await daemon.store.get_answer(answer_id)
        if answer is None:
            return None
        if answer.sent_at is not None and not sent_said:
            sent_said = True
            say(words("demo_sent", id=answer.id, answer=with_particle(f"#{answer.id}", "를")))
        if answer.state not in LIVE_STATES:
            if answer.state is AnswerState.CONFIRMED:
                say(words("demo_confirmed", id=answer.id))
            else:
                say(words("demo_ended", id=answer.id, state=STATE_NAMES[answer.state]))
            return answer.state
        if daemon.stop.is_set():
            return answer.state
        await sleep_or_wake(daemon.clock, look_every_s, daemon.stop)


async def run_demo(
    *, duration_s: float | None, data_dir: Path | None, poll_interval_s: float, stops: Stops, words: Words
) -> int:
    """Run the demo until Ctrl-C / SIGTERM (through `stops`), or for `duration_s` seconds."""
    clock = SystemClock()
    data_dir = data_dir or Path(tempfile.mkdtemp(prefix="inqd-demo-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    opened = _open_sandboxes(data_dir, clock)
    if opened is None:
        return 2
    shops, sandboxes = opened
    with contextlib.ExitStack() as servers:
        urls = [servers.enter_context(SandboxServer(shop.handler)).url for shop in shops]
        accounts = [shop.account_values(url, poll_interval_s) for shop, url in zip(shops, urls, strict=True)]
        settings = load_demo_config(data_dir, accounts, words)
        admin = settings.admin
        web = words("demo_web", host=admin.host, port=admin.port) if admin.enabled and admin.web else ""
        banner = words(
            "demo_banner",
            web=web,
            where=", ".join(f"{shop.name} {url}" for shop, url in zip(shops, urls, strict=True)),
            interval=poll_interval_s,
            db=settings.db_path,
            sink=data_dir / "notifications.jsonl",
            host=admin.host,
            port=admin.port,
            hints="".join(f"{line}\n" for line in data_dir_hints(data_dir, words)),
        )
        print(banner, file=sys.stderr, flush=True)
        daemon = await Daemon.build(settings, clock=clock)
        if duration_s is not None:
            asyncio.get_running_loop().call_later(duration_s, daemon.request_stop, "duration reached")
        with stops.redirect(daemon.request_stop):
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(_generate(sandboxes, clock, daemon.stop))
                    group.create_task(answer_one_inquiry(daemon, say=_say, words=words))
                    group.create_task(daemon.run())
            finally:
                await daemon.aclose()
    return 0
