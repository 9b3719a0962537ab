"""Fault injection through the whole daemon: it stays up, ingests everything once the fault clears, keeps to its
request budget, and says "연결 끊김" / "복구" exactly once per outage.

The daemon runs on a FakeClock against the strict sandboxes over httpx.MockTransport; faults go in through the
sandbox API (`inject`), and what happened is read back from the sandbox's recorded requests, the database and the
sink file. Two ways of driving it:
- `Run.cycle`: `daemon.run_once()` every minute, whatever the pollers' backoff says (a stricter test of the budget
  and of alert deduplication: every cycle is another failure);
- `Run.scheduled`: each stream is polled when its own poller says (`poll_once`, then `next_delay_s`, as
  `StreamPoller.run` does), with the timer and the dispatcher after each poll, so Retry-After and the 403 block
  wait are the daemon's real schedule.
No sleeping, no network; every loop is bounded in count and in fake time. INQD_LONG=1 runs the longer variants.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from structlog.testing import capture_logs

from aggregator.daemon import Daemon
from aggregator.poller import PollReport, StreamPoller
from aggregator.settings import CoupangAccount, ElevenstAccount, EsmAccount, NaverAccount, Settings
from aggregator.settings.notify import SinkNotifierConfig
from connectors.coupang.connector import BLOCKED_RETRY_AFTER_S
from connectors.sandbox import CoupangSandbox, ElevenstSandbox, EsmSandbox, Fault, NaverSandbox, RecordedRequest
from core.models import Marketplace, StreamKind
from tests.fakes import FakeClock

LONG = os.environ.get("INQD_LONG") == "1"
long_only = pytest.mark.skipif(not LONG, reason="long fault run: set INQD_LONG=1")
ROUNDING_S = 0.001  # the fake clock keeps datetimes to the microsecond; float seconds round on the way
NAVER_SECRET = "$2a$04$faultsSecretSaltxxxxxu"  # a bcrypt salt of cost 4, as Naver issues (cheap to sign)


class FaultySandbox(Protocol):
    """What every sandbox offers: a handler, recorded requests, and fault injection."""

    requests: list[RecordedRequest]

    def handler(self, request: httpx.Request) -> httpx.Response: ...

    def inject(
        self, fault: Fault, times: int = 1, *, endpoint: Any = None, status: int | None = None, retry_after_s: int = 30
    ) -> None: ...

    def clear_faults(self) -> None: ...

    @property
    def pending_faults(self) -> int: ...


# ---------------------------------------------------------------------------------------------------------------
# Marketplaces
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Market:
    """One marketplace as the fault tests need it: its sandbox, its account, and how a buyer asks a question."""

    name: str
    marketplace: Marketplace
    account_id: str
    account: dict[str, object]
    sandbox: Callable[[FakeClock], FaultySandbox]
    arrive: Callable[[Any, int, datetime], None]  # the n-th new question, received at the given time

    @property
    def rate_per_s(self) -> float:
        return float(self.account["max_requests_per_s"])  # type: ignore[arg-type]

    def title(self, change: str) -> str:
        return f"[{self.marketplace.label}] {change}: {self.account_id}"


def _coupang_arrive(sandbox: CoupangSandbox, n: int, at: datetime) -> None:
    if n % 2:
        sandbox.add_call_center_inquiry(inquiry_at=at, agent_note=f"[판매자이관] 문의 {n}", item_name="텀블러")
    else:
        sandbox.add_product_inquiry(content=f"재입고 문의 {n}", inquiry_at=at)


def _naver_arrive(sandbox: NaverSandbox, n: int, at: datetime) -> None:
    if n % 2:
        sandbox.add_customer_inquiry(title=f"배송 문의 {n}", content="언제 오나요?", registered_at=at)
    else:
        sandbox.add_product_question(question=f"사이즈 문의 {n}", created_at=at)


def _elevenst_arrive(sandbox: ElevenstSandbox, n: int, at: datetime) -> None:
    if n % 2:
        sandbox.add_alimi(content=f"배송 지연 {n}", created_at=at, reply_deadline=at + timedelta(days=1))
    else:
        sandbox.add_product_qna(content=f"색상 문의 {n}", created_at=at)


def _esm_arrive(sandbox: EsmSandbox, n: int, at: datetime) -> None:
    if n % 2:
        sandbox.add_urgent(site="옥션", title=f"긴급 {n}", contents="미발송 확인 바랍니다.", received_at=at)
    else:
        sandbox.add_question(site="G마켓", title=f"배송 문의 {n}", details="언제 발송되나요?", received_at=at)


COMMON = {"base_url": "http://127.0.0.1:9", "poll_interval_s": 60}  # MockTransport answers; nothing listens
COUPANG = Market(
    "coupang",
    Marketplace.COUPANG,
    "shop",
    {
        **COMMON,
        "marketplace": "coupang",
        "id": "shop",
        "vendor_id": "A00012345",
        "access_key": "faults-access",
        "secret_key": "faults-secret",
        "max_requests_per_s": 2.0,
    },
    lambda clock: CoupangSandbox(
        vendor_id="A00012345", access_key="faults-access", secret_key="faults-secret", now=clock.now
    ),
    _coupang_arrive,
)
NAVER = Market(
    "naver",
    Marketplace.NAVER,
    "smartstore",
    {
        **COMMON,
        "marketplace": "naver",
        "id": "smartstore",
        "client_id": "faultsApp",
        "client_secret": NAVER_SECRET,
        "max_requests_per_s": 1.0,
    },
    lambda clock: NaverSandbox(client_id="faultsApp", client_secret=NAVER_SECRET, now=clock.now),
    _naver_arrive,
)
ELEVENST = Market(
    "elevenst",
    Marketplace.ELEVENST,
    "st11",
    {**COMMON, "marketplace": "elevenst", "id": "st11", "api_key": "faults-11st-key", "max_requests_per_s": 1.0},
    lambda clock: ElevenstSandbox(api_key="faults-11st-key", now=clock.now),
    _elevenst_arrive,
)
ESM = Market(
    "esm",
    Marketplace.ESM,
    "esm",
    {
        **COMMON,
        "marketplace": "esm",
        "id": "esm",
        "master_id": "master1",
        "secret_key": "esm-faults-secret-0123456789abcdef",
        "gmarket_seller_id": "gseller",
        "auction_seller_id": "aseller",
        "max_requests_per_s": 1.0,
    },
    lambda clock: EsmSandbox(
        master_id="master1",
        secret_key="esm-faults-secret-0123456789abcdef",
        gmarket_seller_id="gseller",
        auction_seller_id="aseller",
        now=clock.now,
    ),
    _esm_arrive,
)
MARKETS = {market.name: market for market in (COUPANG, NAVER, ELEVENST, ESM)}
ACCOUNT_MODELS: dict[str, type[CoupangAccount | NaverAccount | ElevenstAccount | EsmAccount]] = {
    "coupang": CoupangAccount,
    "naver": NaverAccount,
    "elevenst": ElevenstAccount,
    "esm": EsmAccount,
}


# ---------------------------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """A daemon on a fake clock against one sandbox, with what it did kept for the checks."""

    market: Market
    tmp_path: Path
    clock: FakeClock
    sandbox: Any
    daemon: Daemon
    logs: list[MutableMapping[str, Any]]
    arrived: int = 0
    cycles: int = 0
    reports: list[tuple[StreamKind, PollReport]] = field(default_factory=list)
    _due: dict[int, float] = field(default_factory=dict)

    async def cycle(self, advance_s: float = 60.0, *, arrivals: int = 0) -> None:
        """`advance_s` later, `arrivals` new questions, then one `run_once` (which must not raise)."""
        self.clock.advance(advance_s)
        self.arrive(arrivals)
        await self.daemon.run_once()
        self.cycles += 1

    def arrive(self, count: int) -> None:
        for _ in range(count):
            self.market.arrive(self.sandbox, self.arrived, self.clock.now() - timedelta(seconds=5))
            self.arrived += 1

    async def scheduled(self, seconds: float, *, max_polls: int = 400) -> None:
        """Poll each stream when its poller's own schedule says, for `seconds` of fake time."""
        pollers: Sequence[StreamPoller] = self.daemon.pollers
        for poller in pollers:
            self._due.setdefault(id(poller), self.clock.monotonic())
        end = self.clock.monotonic() + seconds
        for _ in range(max_polls):
            poller = min(pollers, key=lambda p: self._due[id(p)])
            at = self._due[id(poller)]
            if at > end:
                self.clock.advance(max(0.0, end - self.clock.monotonic()))
                return
            self.clock.advance(max(0.0, at - self.clock.monotonic()))
            report = await poller.poll_once()
            self.reports.append((poller.stream, report))
            self._due[id(poller)] = self.clock.monotonic() + poller.next_delay_s(report)
            await self.daemon.timer.run_once()
            await self.daemon.dispatcher.run_once()
        raise AssertionError(f"more than {max_polls} polls in {seconds} s")

    def sink(self) -> list[dict[str, Any]]:
        path = self.tmp_path / "sink.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return [json.loads(line) for line in lines]

    def system_titles(self) -> list[str]:
        return [m["title"] for m in self.sink() if m["kind"] == "system"]

    def query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self.tmp_path / 'inqd.db'}?mode=ro", uri=True) as db:
            return db.execute(sql, args).fetchall()


Handler = Callable[[httpx.Request], httpx.Response]
Start = Callable[..., Awaitable[Run]]


@pytest.fixture
async def start(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Start]:
    """`await start(market, seed=n, wire=..., **account)`: a daemon after its first (backfill) cycle, logs captured.

    `wire` wraps the sandbox's handler (what the daemon's HTTP client talks to). Daemons are closed at the end.
    """
    daemons: list[Daemon] = []
    with capture_logs() as logs:

        async def begin(
            market: Market, *, seed: int = 3, wire: Callable[[Handler], Handler] | None = None, **account: object
        ) -> Run:
            sandbox = market.sandbox(clock)
            values = {**market.account, **account}
            settings = Settings(
                db_path=tmp_path / "inqd.db",
                quiet_hours=(),
                accounts=(ACCOUNT_MODELS[market.name].model_validate(values),),
                notifiers=(SinkNotifierConfig(type="sink", console=False, file=tmp_path / "sink.jsonl"),),
            )
            for n in range(seed):  # the backlog the first poll finds: one summary, no push each
                market.arrive(sandbox, -1 - n, clock.now() - timedelta(hours=2 + n))
            transport = httpx.MockTransport(sandbox.handler if wire is None else wire(sandbox.handler))
            daemon = await Daemon.build(settings, clock=clock, transport_for=lambda _: transport, rng=random.Random(7))
            daemons.append(daemon)
            run = Run(market, tmp_path, clock, sandbox, daemon, logs)
            await daemon.run_once()
            return run

        yield begin
        for daemon in daemons:
            await daemon.aclose()


# ---------------------------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------------------------


def max_in_window(times: Sequence[datetime], window_s: float) -> int:
    """The most requests inside any half-open window of `window_s` seconds."""
    ordered = sorted(times)
    best, first = 0, 0
    for last, at in enumerate(ordered):
        while (at - ordered[first]).total_seconds() >= window_s - ROUNDING_S:
            first += 1
        best = max(best, last - first + 1)
    return best


def assert_budget_kept(run: Run, rate_per_s: float) -> tuple[int, float]:
    """RequestBudget's guarantee, read from the sandbox: consecutive requests of the account are at least
    1/rate apart, so no 1-second window holds more than floor(rate) of them (no burst is allowed)."""
    times = [r.at for r in run.sandbox.requests]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    smallest = min(gaps, default=math.inf)
    assert smallest >= 1.0 / rate_per_s - ROUNDING_S, f"two requests {smallest:.3f} s apart at {rate_per_s}/s"
    busiest = max_in_window(times, 1.0)
    assert busiest <= max(1, math.floor(rate_per_s)), f"{busiest} requests within one second at {rate_per_s}/s"
    return busiest, smallest


def assert_everything_once(run: Run, *, seeded: int) -> Counter[str]:
    """Every question is stored exactly once, and every one that arrived after the backfill got exactly one
    new_inquiry message (in the outbox and in the sink); returns the sink's message kinds."""
    rows = run.query("SELECT account_id, stream, external_id FROM inquiries")
    assert len(rows) == len(set(rows)) == seeded + run.arrived
    outbox = run.query("SELECT inquiry_id, COUNT(*), MIN(state) FROM outbox WHERE kind = 'new_inquiry' GROUP BY 1")
    assert len(outbox) == run.arrived
    assert all(count == 1 and state == "sent" for _, count, state in outbox), outbox
    sent = run.sink()
    pushes = Counter(m["group"] for m in sent if m["kind"] == "new_inquiry")
    assert sorted(pushes.values()) == [1] * run.arrived
    assert set(pushes) == {f"inq-{inquiry_id}" for inquiry_id, _, _ in outbox}
    return Counter(m["kind"] for m in sent)


def assert_never_crashed(run: Run) -> None:
    """No cycle crashed, and nothing was logged with a traceback (`poll_crashed` is StreamPoller.run's)."""
    assert not [e for e in run.logs if e["event"] == "poll_crashed"]
    assert not [e for e in run.logs if e.get("exc_info")], [e["event"] for e in run.logs if e.get("exc_info")]


def statuses(run: Run) -> list[tuple[str, int, int, int]]:
    return run.query("SELECT stream, consecutive_failures, skipped_total, auth_failed FROM stream_status ORDER BY 1")


def requests_after(run: Run, at: datetime, *, path: str | None = None) -> list[RecordedRequest]:
    return [r for r in run.sandbox.requests if r.at > at and (path is None or r.path == path)]


# ---------------------------------------------------------------------------------------------------------------
# Storms: a long outage while questions keep arriving
# ---------------------------------------------------------------------------------------------------------------

STORM = 600 if LONG else 60  # failed requests; every cycle spends one per stream, so STORM / 2 minutes of outage


@pytest.mark.parametrize("name", list(MARKETS))
async def test_server_error_storm_while_questions_arrive(name: str, start: Start) -> None:
    market = MARKETS[name]
    run: Run = await start(market, seed=3)
    statuses_in_storm = (503, 500, 502, 504)
    for status in statuses_in_storm:
        run.sandbox.inject(Fault.SERVER_ERROR, STORM // len(statuses_in_storm), status=status)
    injected = run.sandbox.pending_faults
    for _ in range(STORM):  # bound: at least one fault is used per cycle
        if not run.sandbox.pending_faults:
            break
        await run.cycle(60, arrivals=1)
    else:
        raise AssertionError("the storm never ended")
    outage_cycles = run.cycles
    for _ in range(3):
        await run.cycle(60, arrivals=1)
    kinds = assert_everything_once(run, seeded=3)
    assert run.system_titles() == [market.title("연결 끊김"), market.title("복구")]
    assert all(failures == 0 for _, failures, _, _ in statuses(run))
    busiest, closest = assert_budget_kept(run, market.rate_per_s)
    assert_never_crashed(run)
    print(
        f"\n{name} storm: {injected} faults injected, {outage_cycles} cycles down, {len(run.sandbox.requests)} "
        f"requests, {run.arrived} arrivals, {kinds['new_inquiry']} pushes, max {busiest}/s, closest {closest:.2f} s"
    )


# ---------------------------------------------------------------------------------------------------------------
# One fault at a time, on the daemon's own schedule
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    """A fault, how many requests get it, and what the daemon must make of it."""

    fault: Fault
    times: int
    error: str | None  # the PollReport error it causes (None: the poll succeeds)
    titles: tuple[str, ...] = ()  # the system messages it causes, by change ("연결 끊김", "인증 실패", "복구")
    retry_after_s: float | None = None  # the least wait the report asks for


COUPANG_CASES = {
    "timeout": Case(Fault.TIMEOUT, 4, "Unavailable"),
    "429 Retry-After": Case(Fault.RATE_LIMIT, 4, "RateLimited", retry_after_s=30),
    # Akamai's HTML 403 is a temporary block, not refused keys: Unavailable, waited out for 10 minutes, no alert
    # for one such wait per stream (a 20-minute block would be "연결 끊김", never "인증 실패").
    "HTML 403": Case(Fault.HTML_FORBIDDEN, 2, "Unavailable", retry_after_s=BLOCKED_RETRY_AFTER_S),
    "HTML 403 twice": Case(
        Fault.HTML_FORBIDDEN, 4, "Unavailable", ("연결 끊김", "복구"), retry_after_s=BLOCKED_RETRY_AFTER_S
    ),
    "truncated body": Case(Fault.MALFORMED_BODY, 4, "Unavailable"),
    "503": Case(Fault.SERVER_ERROR, 4, "Unavailable"),
    "malformed items": Case(Fault.MALFORMED_ITEM, 6, None),
}


@pytest.mark.parametrize("case_name", list(COUPANG_CASES))
async def test_coupang_fault_is_waited_out_on_schedule(case_name: str, start: Start) -> None:
    case = COUPANG_CASES[case_name]
    run: Run = await start(COUPANG, seed=3)
    run.arrive(4)  # so that list pages have rows for MALFORMED_ITEM to break
    await run.scheduled(30)
    run.sandbox.inject(case.fault, case.times)
    injected_at = run.clock.now()
    for _ in range(24):  # bound: 2 hours of fake time
        run.arrive(1)
        await run.scheduled(300)
        if not run.sandbox.pending_faults:
            break
    else:
        raise AssertionError(f"{case.fault} still pending after 2 hours")
    await run.scheduled(12 * 60)  # every stream polls again, healthy (a 403 block lasts 10 minutes)
    failed = [report for _, report in run.reports if not report.ok]
    faulted = [r for r in run.sandbox.requests if r.at >= injected_at and r.status != 200]
    assert {report.error for report in failed} == ({case.error} if case.error else set())
    if case.retry_after_s is not None:
        assert all((report.retry_after_s or 0) >= case.retry_after_s for report in failed)
    if case.fault is Fault.RATE_LIMIT:
        for refused in (r for r in faulted if r.status == 429):
            nxt = requests_after(run, refused.at)[0]  # the account's next request, of any stream
            assert (nxt.at - refused.at).total_seconds() >= case.retry_after_s - ROUNDING_S  # type: ignore[operator]
    if case.fault is Fault.HTML_FORBIDDEN:
        for blocked in (r for r in faulted if r.status == 403):
            nxt = requests_after(run, blocked.at, path=blocked.path)[0]  # that stream's next request
            assert (nxt.at - blocked.at).total_seconds() >= BLOCKED_RETRY_AFTER_S - ROUNDING_S
        assert all(auth == 0 for _, _, _, auth in statuses(run))
    skipped = sum(skipped for _, _, skipped, _ in statuses(run))
    # A broken row in the unanswered-only pass is skipped only if its id is what broke: at most one per fault.
    assert (0 < skipped <= case.times) if case.fault is Fault.MALFORMED_ITEM else skipped == 0
    assert skipped == sum(1 for e in run.logs if e["event"] == "coupang.item_skipped")
    kinds = assert_everything_once(run, seeded=3)
    assert run.system_titles() == [COUPANG.title(change) for change in case.titles]
    busiest, closest = assert_budget_kept(run, COUPANG.rate_per_s)
    assert_never_crashed(run)
    print(
        f"\ncoupang {case_name}: {case.times} injected, {len(failed)} failed polls, {len(run.reports)} polls, "
        f"{len(run.sandbox.requests)} requests, {skipped} skipped, {kinds['new_inquiry']} pushes, "
        f"max {busiest}/s, closest {closest:.2f} s"
    )


@pytest.mark.parametrize("name", ["naver", "elevenst", "esm"])
@pytest.mark.parametrize("fault", [Fault.TIMEOUT, Fault.RATE_LIMIT, Fault.HTML_FORBIDDEN, Fault.MALFORMED_ITEM])
async def test_other_marketplaces_wait_out_faults_on_schedule(name: str, fault: Fault, start: Start) -> None:
    """Naver, 11번가 and ESM under the same faults: a 403 is their credentials refused ("인증 실패" at once, then
    "복구"); a 429 waits its Retry-After; timeouts say nothing; a malformed row is skipped, counted, read later."""
    market = MARKETS[name]
    run: Run = await start(market, seed=2)
    run.arrive(2)
    await run.scheduled(60)
    times = 2
    run.sandbox.inject(fault, times, retry_after_s=45)
    injected_at = run.clock.now()
    for _ in range(24):
        run.arrive(1)
        await run.scheduled(300)
        if not run.sandbox.pending_faults:
            break
    else:
        raise AssertionError(f"{fault} still pending after 2 hours")
    await run.scheduled(12 * 60)
    faulted = [r for r in run.sandbox.requests if r.at >= injected_at and r.status in (403, 429, None)]
    for refused in (r for r in faulted if r.status == 429):
        nxt = requests_after(run, refused.at)[0]
        assert (nxt.at - refused.at).total_seconds() >= 45 - ROUNDING_S
    titles = run.system_titles()
    if fault is Fault.HTML_FORBIDDEN:
        assert titles == [market.title("인증 실패"), market.title("복구")]
    else:
        assert titles == []
    skipped = sum(skipped for _, _, skipped, _ in statuses(run))
    assert (skipped > 0) == (fault is Fault.MALFORMED_ITEM)
    assert all(failures == 0 for _, failures, _, _ in statuses(run))
    kinds = assert_everything_once(run, seeded=2)
    busiest, closest = assert_budget_kept(run, market.rate_per_s)
    assert_never_crashed(run)
    print(
        f"\n{name} {fault}: {times} injected, {len(faulted)} refused requests, {len(run.sandbox.requests)} requests, "
        f"{skipped} skipped, {kinds['new_inquiry']} pushes, titles {titles}, max {busiest}/s, closest {closest:.2f} s"
    )


# ---------------------------------------------------------------------------------------------------------------
# Naver: token expiry, rate headers
# ---------------------------------------------------------------------------------------------------------------


async def test_naver_token_expires_mid_run_and_is_replaced_once_without_an_alert(start: Start) -> None:
    run: Run = await start(NAVER, seed=2)
    sandbox: NaverSandbox = run.sandbox
    assert sandbox.tokens_minted == 1
    for _ in range(20):  # 3 h 20 min in 10-minute steps: past the token's 3 hours
        await run.cycle(600, arrivals=1)
    assert sandbox.tokens_minted == 2  # renewed shortly before it expired, not after a refusal
    run.clock.advance(4 * 3600)  # the machine slept through the new token's life
    await run.cycle(60, arrivals=1)
    assert sandbox.tokens_minted == 3
    sandbox.revoke_tokens()  # Naver drops the token early: the next call gets 401 GW.AUTHN
    for _ in range(3):
        await run.cycle(60, arrivals=1)
    token_calls = [r for r in sandbox.requests if r.path.endswith("/oauth2/token")]
    refusals = [r for r in sandbox.requests if r.status == 401]
    assert sandbox.tokens_minted == len(token_calls) == 4
    assert len(refusals) == 1  # one refusal, one new token, the same call again
    assert [e["event"] for e in run.logs if e["event"] == "naver.token_refused"] == ["naver.token_refused"]
    assert not [e for e in run.logs if e["event"] == "stream_unavailable"]  # no poll failed
    assert run.system_titles() == []
    kinds = assert_everything_once(run, seeded=2)
    busiest, closest = assert_budget_kept(run, NAVER.rate_per_s)
    assert_never_crashed(run)
    print(
        f"\nnaver tokens: {sandbox.tokens_minted} minted, {len(refusals)} refused call, {len(sandbox.requests)} "
        f"requests, {kinds['new_inquiry']} pushes, max {busiest}/s, closest {closest:.2f} s"
    )


async def test_naver_rate_headers_slow_the_daemon_below_its_configured_rate(start: Start) -> None:
    """The gateway says 1 request/s (GNCP-GW-RateLimit-Replenish-Rate) to an account configured for 5: from the
    first response on, requests are at least a second apart, and the bucket never runs dry."""
    slow = Market(
        "naver",
        NAVER.marketplace,
        NAVER.account_id,
        {**NAVER.account, "max_requests_per_s": 5.0},
        lambda c: NaverSandbox(client_id="faultsApp", client_secret=NAVER_SECRET, now=c.now, replenish_rate_per_s=1),
        NAVER.arrive,
    )
    run: Run = await start(slow, seed=40)
    for _ in range(5):
        await run.cycle(60, arrivals=3)
    run.sandbox.inject(Fault.RATE_LIMIT, 1, retry_after_s=20)
    for _ in range(3):
        await run.cycle(60, arrivals=1)
    headers_seen = [e for e in run.logs if e["event"] == "naver.rate_adjusted"]
    throttled = [r for r in run.sandbox.requests if r.status == 429]
    assert [e["per_s"] for e in headers_seen] == [1.0]
    assert len(throttled) == 1  # the injected one: the token bucket itself never refused a call
    nxt = requests_after(run, throttled[0].at)[0]
    assert (nxt.at - throttled[0].at).total_seconds() >= 20 - ROUNDING_S
    busiest, closest = assert_budget_kept(run, 1.0)  # the advertised rate, not the configured 5
    kinds = assert_everything_once(run, seeded=40)
    assert_never_crashed(run)
    print(
        f"\nnaver rate headers: {len(run.sandbox.requests)} requests, 1 injected 429, {kinds['new_inquiry']} pushes, "
        f"max {busiest}/s, closest {closest:.2f} s"
    )


# ---------------------------------------------------------------------------------------------------------------
# Rows no parser should let through to the store
# ---------------------------------------------------------------------------------------------------------------

POISON = (
    ("inquiryAt", "0001-01-01 00:00:00"),  # KST midnight of year 1 is year 0 in UTC: the store cannot write it
    ("inquiryAt", "9999-12-31 23:59:59"),  # its 24-hour deadline is past the last datetime
    ("content", "잘린 이모지 \ud83d"),  # a JSON \ud83d escape: SQLite stores UTF-8 only
)


async def test_a_poisoned_row_never_stops_the_stream(start: Start) -> None:
    """One row per list page carries a value every parser should refuse or clean; the other rows keep coming in
    and the daemon keeps running (today such a row fails every poll of its stream, so nothing else comes in)."""
    poisons = itertools.cycle(POISON)
    served: set[str] = set()

    def poison(handler: Handler) -> Handler:
        def handle(request: httpx.Request) -> httpx.Response:
            response = handler(request)
            page = json.loads(response.content) if response.status_code == 200 else {}
            rows = (page.get("data") or {}).get("content") or []
            if not rows:
                return response
            key, value = next(poisons)
            row = rows[len(served) % len(rows)]  # a different row each time, as far as the page allows
            row[key] = value
            served.add(str(row["inquiryId"]))
            return httpx.Response(200, content=json.dumps(page).encode(), headers=response.headers)

        return handle

    run = await start(COUPANG, seed=0, wire=poison, streams=["product_qna"])
    sandbox: CoupangSandbox = run.sandbox
    questions = [
        str(sandbox.add_product_inquiry(content=f"문의 {n}", inquiry_at=run.clock.now() - timedelta(minutes=n)))
        for n in range(6)
    ]
    for _ in range(6):
        await run.cycle(60)
    stored = {external_id for (external_id,) in run.query("SELECT external_id FROM inquiries")}
    [(_, failures, skipped, _)] = statuses(run)
    assert failures == 0
    assert stored >= set(questions) - served  # every row never poisoned is in
    assert skipped > 0 or served <= stored  # a poisoned row is skipped and counted, or stored cleaned
    assert_never_crashed(run)
    print(f"\npoison: {len(served)} rows poisoned, {len(stored)} of {len(questions)} stored, {skipped} skipped")


# ---------------------------------------------------------------------------------------------------------------
# Long run (INQD_LONG=1): repeated outages with short faults in between
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.slow
@long_only
@pytest.mark.parametrize("name", list(MARKETS))
async def test_long_run_of_outages_and_blips(name: str, start: Start) -> None:
    """Outages of 30-60 minutes separated by hours with short blips: one 연결 끊김 and one 복구 per outage."""
    market = MARKETS[name]
    rng = random.Random(20261124)
    run: Run = await start(market, seed=5)
    outages = 6
    blips = (Fault.TIMEOUT, Fault.RATE_LIMIT, Fault.MALFORMED_BODY, Fault.MALFORMED_ITEM)
    for _ in range(outages):
        for _ in range(120):  # 2 healthy hours, with a blip now and then
            if rng.random() < 0.05:
                run.sandbox.inject(rng.choice(blips), 1, retry_after_s=rng.randint(1, 90))
            await run.cycle(60, arrivals=rng.randint(0, 1))
        run.sandbox.clear_faults()
        await run.cycle(15 * 60)  # whatever a blip left behind has healed
        run.sandbox.inject(Fault.SERVER_ERROR, rng.randint(60, 120), status=rng.choice((500, 502, 503, 504)))
        for _ in range(200):
            if not run.sandbox.pending_faults:
                break
            await run.cycle(60, arrivals=1)
        else:
            raise AssertionError("an outage never ended")
    for _ in range(20):
        await run.cycle(60)
    kinds = assert_everything_once(run, seeded=5)
    assert run.system_titles() == [market.title("연결 끊김"), market.title("복구")] * outages
    busiest, closest = assert_budget_kept(run, market.rate_per_s)
    assert_never_crashed(run)
    print(
        f"\n{name} long run: {run.cycles} cycles, {len(run.sandbox.requests)} requests, {run.arrived} arrivals, "
        f"{kinds['new_inquiry']} pushes, {outages} outages, max {busiest}/s, closest {closest:.2f} s"
    )
