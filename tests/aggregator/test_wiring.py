"""The wiring registries: every config class has its connector or notifier; any other type fails at start-up.
The accounts of one marketplace host share one HTTP client, each with its own request budget."""

from __future__ import annotations

import itertools
import typing
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jwt
import pytest

from aggregator.daemon import Daemon
from aggregator.poller import FIRST_POLL_SPACING_S
from aggregator.settings import (
    Account,
    CoupangAccount,
    ElevenstAccount,
    EsmAccount,
    NaverAccount,
    NotifierConfig,
    Settings,
    SinkNotifierConfig,
)
from aggregator.wiring import connectors as wiring
from aggregator.wiring.channels import NOTIFIERS, build_notifier
from aggregator.wiring.connectors import (
    CONNECTOR_CLASSES,
    CONNECTORS,
    build_connector,
    build_connectors,
    connector_class,
)
from connectors.esm.connector import EsmConnector
from connectors.sandbox import CoupangSandbox
from core.models import Marketplace, StreamKind
from tests.fakes import FakeClock


class UnwiredAccount(CoupangAccount):
    """An account config class nobody registered a connector for."""


class UnwiredChannel(SinkNotifierConfig):
    """A channel config class nobody registered a notifier for."""


ACCOUNT = {
    "marketplace": "coupang",
    "id": "shop",
    "vendor_id": "A00012345",
    "access_key": "ak",
    "secret_key": "sk",
    "base_url": "http://127.0.0.1:9",
}


def _union_members(annotated: object) -> set[type]:
    union = typing.get_args(annotated)[0]
    return set(typing.get_args(union))


def test_every_account_and_channel_config_is_registered() -> None:
    assert set(CONNECTORS) == _union_members(Account)
    assert set(NOTIFIERS) == _union_members(NotifierConfig)


def test_an_unregistered_account_type_is_a_key_error(clock: FakeClock) -> None:
    with pytest.raises(KeyError, match="UnwiredAccount"):
        build_connector(UnwiredAccount.model_validate(ACCOUNT), clock=clock)


def test_an_unregistered_channel_type_is_a_key_error(clock: FakeClock) -> None:
    with pytest.raises(KeyError, match="UnwiredChannel"):
        build_notifier(UnwiredChannel(type="sink", console=False), clock=clock)


async def test_the_daemon_refuses_to_start_with_an_unregistered_type(tmp_path: Path, clock: FakeClock) -> None:
    settings = Settings(db_path=tmp_path / "inqd.db", accounts=(UnwiredAccount.model_validate(ACCOUNT),))
    with pytest.raises(KeyError, match="UnwiredAccount"):
        await Daemon.build(settings, clock=clock)
    daemon = await Daemon.build(settings.model_copy(update={"accounts": ()}), clock=clock)  # nothing left locked
    await daemon.aclose()


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # a short test secret
@pytest.mark.parametrize(
    ("configured", "issuer"), [({}, "inqd"), ({"jwt_issuer": "myshop.example.com"}, "myshop.example.com")]
)
def test_esm_jwt_issuer_comes_from_the_account_config(configured: dict[str, str], issuer: str) -> None:
    account = EsmAccount.model_validate(
        {
            "marketplace": "esm",
            "id": "esm-shop",
            "master_id": "master",
            "secret_key": "esm-secret",
            "gmarket_seller_id": "gseller",
            "base_url": "http://127.0.0.1:9",
            **configured,
        }
    )
    connector = build_connector(account, clock=FakeClock(datetime(2026, 12, 7, tzinfo=UTC)))
    assert isinstance(connector, EsmConnector)
    claims = jwt.decode(connector.bearer_token(), options={"verify_signature": False})
    assert claims["iss"] == issuer


def test_every_account_type_names_its_connector_class() -> None:
    assert set(CONNECTOR_CLASSES) == set(CONNECTORS)


@pytest.mark.parametrize(
    ("account_type", "marketplace", "name"),
    [
        (CoupangAccount, Marketplace.COUPANG, "CoupangConnector"),
        (NaverAccount, Marketplace.NAVER, "NaverConnector"),
        (ElevenstAccount, Marketplace.ELEVENST, "ElevenstConnector"),
        (EsmAccount, Marketplace.ESM, "EsmConnector"),
    ],
)
def test_a_connector_class_is_found_by_account_type_and_by_marketplace(
    account_type: type, marketplace: Marketplace, name: str
) -> None:
    found = connector_class(account_type, marketplace)
    assert found is not None and found.__name__ == name and found.marketplace is marketplace
    assert connector_class(None, marketplace) is found


def _coupang(index: int, base_url: str = "http://127.0.0.1:9", **extra: object) -> CoupangAccount:
    return CoupangAccount.model_validate(
        {
            **ACCOUNT,
            "id": f"shop-{index}",
            "vendor_id": f"A0000000{index}",
            "base_url": base_url,
            "max_requests_per_s": 5,
            **extra,
        }
    )


class _Recorded(httpx.AsyncBaseTransport):
    """Every account's sandbox behind one transport, by the vendor id in the path; records who asked when, and
    how often it was closed."""

    def __init__(self, clock: FakeClock, accounts: typing.Sequence[CoupangAccount]) -> None:
        self._clock = clock
        self._sandboxes = {
            acc.vendor_id: CoupangSandbox(
                vendor_id=acc.vendor_id,
                access_key=acc.access_key.get_secret_value(),
                secret_key=acc.secret_key.get_secret_value(),
                now=clock.now,
            )
            for acc in accounts
        }
        self.requests: list[tuple[str, float]] = []
        self.closed = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        vendor = request.url.path.split("/vendors/")[1].split("/")[0]
        self.requests.append((vendor, self._clock.monotonic()))
        response = self._sandboxes[vendor].handler(request)
        return httpx.Response(response.status_code, headers=response.headers, content=response.content)

    async def aclose(self) -> None:
        self.closed += 1


async def test_accounts_of_one_host_share_one_client_and_each_keeps_its_own_budget(clock: FakeClock) -> None:
    accounts = [_coupang(1), _coupang(2)]
    transport = _Recorded(clock, accounts)
    first, second = build_connectors(accounts, clock=clock, transport_for=lambda _: transport)
    await first.poll(StreamKind.PRODUCT_QNA, None, now=clock.now())
    first_done = clock.monotonic()
    await second.poll(StreamKind.PRODUCT_QNA, None, now=clock.now())
    times = {vendor: [at for v, at in transport.requests if v == vendor] for vendor in ("A00000001", "A00000002")}
    # Each account spaces its own requests 1/5 s apart; the second account's first one waits for nobody.
    assert all(b - a >= 0.2 - 1e-9 for ts in times.values() for a, b in itertools.pairwise(ts))
    assert times["A00000002"][0] == first_done
    for connector in (first, second):
        await connector.aclose()
    assert transport.closed == 1


async def test_each_host_gets_its_own_client_and_a_closed_daemon_closes_each_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    accounts = (_coupang(1), _coupang(2), _coupang(3, base_url="http://127.0.0.2:9"))
    transports = {url: _Recorded(clock, accounts) for url in ("http://127.0.0.1:9", "http://127.0.0.2:9")}
    settings = Settings(db_path=tmp_path / "inqd.db", accounts=accounts)
    daemon = await Daemon.build(settings, clock=clock, transport_for=lambda acc: transports[acc.base_url])
    await daemon.run_once()
    assert {url: {v for v, _ in t.requests} for url, t in transports.items()} == {
        "http://127.0.0.1:9": {"A00000001", "A00000002"},
        "http://127.0.0.2:9": {"A00000003"},
    }
    await daemon.aclose()
    assert [t.closed for t in transports.values()] == [1, 1]


async def test_first_polls_spread_every_accounts_first_stream_before_any_second(
    tmp_path: Path, clock: FakeClock
) -> None:
    accounts = tuple(_coupang(n, streams=["product_qna", "call_center"]) for n in range(3))
    settings = Settings(db_path=tmp_path / "inqd.db", accounts=accounts)
    daemon = await Daemon.build(settings, clock=clock, transport_for=lambda _: _Recorded(clock, accounts))
    delays = {(p.account_id, p.stream): p.first_delay_s for p in daemon.pollers}
    await daemon.aclose()
    firsts = [delays[(acc.id, StreamKind.PRODUCT_QNA)] for acc in accounts]
    seconds = [delays[(acc.id, StreamKind.CALL_CENTER)] for acc in accounts]
    assert sorted(firsts + seconds) == pytest.approx([k * FIRST_POLL_SPACING_S for k in range(6)])
    assert max(firsts) < min(seconds)


async def test_a_host_with_many_accounts_gets_a_client_per_so_many_accounts(
    clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wiring, "ACCOUNTS_PER_SHARED_CLIENT", 2)
    accounts = [_coupang(n) for n in range(5)]
    transport = _Recorded(clock, accounts)
    connectors = build_connectors(accounts, clock=clock, transport_for=lambda _: transport)
    for connector in connectors:
        await connector.poll(StreamKind.PRODUCT_QNA, None, now=clock.now())
        await connector.aclose()
    assert transport.closed == 3  # clients of 2, 2 and 1 accounts, each closed once


@pytest.mark.parametrize(("sweep_minutes", "sweeps_in_an_hour"), [(60.0, 1), (15.0, 4)])
async def test_an_accounts_sweep_minutes_sets_how_often_its_polls_sweep(
    clock: FakeClock, sweep_minutes: float, sweeps_in_an_hour: int
) -> None:
    account = _coupang(1, sweep_minutes=sweep_minutes, streams=["product_qna"], recheck_days=13)
    transport = _Recorded(clock, [account])
    (connector,) = build_connectors([account], clock=clock, transport_for=lambda _: transport)
    result = await connector.poll(StreamKind.PRODUCT_QNA, None, now=clock.now())  # a first poll sweeps
    requests_per_poll = []
    for _ in range(60):  # an hour of one-minute polls
        clock.advance(60)
        before = len(transport.requests)
        result = await connector.poll(StreamKind.PRODUCT_QNA, result.cursor, now=clock.now())
        requests_per_poll.append(len(transport.requests) - before)
    await connector.aclose()
    # A quick poll is one request (7 dates); a sweep reads every status (7 dates: one window) and the 14 dates of
    # the recheck range (two windows): three.
    assert requests_per_poll.count(3) == sweeps_in_an_hour
    assert requests_per_poll.count(1) == 60 - sweeps_in_an_hour
