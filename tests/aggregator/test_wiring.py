"""The wiring registries: every config class has its connector or notifier; any other type fails at start-up."""

from __future__ import annotations

import typing
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest

from aggregator.daemon import Daemon
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
from aggregator.wiring import (
    CONNECTOR_CLASSES,
    CONNECTORS,
    NOTIFIERS,
    build_connector,
    build_notifier,
    connector_class,
)
from connectors.esm.connector import EsmConnector
from core.models import Marketplace
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
