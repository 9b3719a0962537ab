"""Which connector serves each kind of account: the registry keyed by the account's config class, and the
connectors of a configured daemon built from it (the accounts of one marketplace host sharing HTTP clients).

Adding a marketplace is one config class in aggregator/settings/ plus one factory and one line here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from importlib import import_module
from typing import Any, cast

import httpx

from aggregator.settings import Account, AccountConfig, CoupangAccount, ElevenstAccount, EsmAccount, NaverAccount
from aggregator.wiring.registry import registered
from connectors.base import AnsweringConnector, Connector
from core.clock import Clock
from core.http import ACCOUNTS_PER_SHARED_CLIENT, SharedClient, make_client, make_shared_client
from core.models import Marketplace

# Given an account, the transport its HTTP client should use (None: the real network).
TransportFactory = Callable[[Account], httpx.AsyncBaseTransport | None]

# (the account's own config, the keywords every connector takes) -> its connector
ConnectorFactory = Callable[[Any, dict[str, Any]], Connector]


def _coupang(account: CoupangAccount, common: dict[str, Any]) -> Connector:
    from connectors.coupang.connector import CoupangConnector

    return CoupangConnector(
        vendor_id=account.vendor_id,
        access_key=account.access_key,
        secret_key=account.secret_key,
        api_version=account.api_version,
        reply_by=account.reply_by,
        **common,
    )


def _naver(account: NaverAccount, common: dict[str, Any]) -> Connector:
    from connectors.naver.connector import NaverConnector

    return NaverConnector(client_id=account.client_id, client_secret=account.client_secret, **common)


def _elevenst(account: ElevenstAccount, common: dict[str, Any]) -> Connector:
    from connectors.elevenst.connector import ElevenstConnector

    return ElevenstConnector(api_key=account.api_key, **common)


def _esm(account: EsmAccount, common: dict[str, Any]) -> Connector:
    from connectors.esm.connector import EsmConnector

    return EsmConnector(
        master_id=account.master_id,
        secret_key=account.secret_key,
        gmarket_seller_id=account.gmarket_seller_id,
        auction_seller_id=account.auction_seller_id,
        issuer=account.jwt_issuer,
        **common,
    )


CONNECTORS: dict[type[AccountConfig], ConnectorFactory] = {
    CoupangAccount: _coupang,
    NaverAccount: _naver,
    ElevenstAccount: _elevenst,
    EsmAccount: _esm,
}


# Each account type's connector class: what it declares without being built (its marketplace, ONCE_ONLY,
# ANSWER_LIMITS), which the check before sending reads. A test keeps its keys those of CONNECTORS.
# As (module, class name): a marketplace's module (and its libraries: bcrypt, PyJWT, defusedxml) is imported with
# its first account or the first check of one of its inquiries, so a daemon with Coupang alone never holds the
# other three (bench.idle: ~1.7 MiB).
CONNECTOR_CLASSES: dict[type[AccountConfig], tuple[str, str]] = {
    CoupangAccount: ("connectors.coupang.connector", "CoupangConnector"),
    NaverAccount: ("connectors.naver.connector", "NaverConnector"),
    ElevenstAccount: ("connectors.elevenst.connector", "ElevenstConnector"),
    EsmAccount: ("connectors.esm.connector", "EsmConnector"),
}


def _imported(where: tuple[str, str]) -> type[Connector]:
    module, name = where
    found: type[Connector] = getattr(import_module(module), name)
    return found


def connector_class(account_type: type[AccountConfig] | None, marketplace: Marketplace) -> type[Connector] | None:
    """The connector class of an account type, else of the marketplace (an account no longer configured)."""
    if account_type is not None:
        return _imported(registered(CONNECTOR_CLASSES, account_type, "connector"))
    return next((c for c in map(_imported, CONNECTOR_CLASSES.values()) if c.marketplace is marketplace), None)


def build_connector(
    account: Account,
    *,
    clock: Clock,
    transport: httpx.AsyncBaseTransport | None = None,
    client: httpx.AsyncClient | None = None,
) -> Connector:
    """The connector for one configured account; KeyError for an account type no connector is registered for.

    `client`: the HTTP client it shares with the other accounts of its marketplace host (`build_connectors`);
    without one it gets a client of its own."""
    factory = registered(CONNECTORS, type(account), "connector")
    if client is None:
        client = make_client(base_url=account.base_url, transport=transport, poll_interval_s=account.poll_interval_s)
    common: dict[str, Any] = {
        "account_id": account.id,
        "client": client,
        "clock": clock,
        "streams": account.stream_kinds,
        "max_requests_per_s": account.max_requests_per_s,
        "backfill_days": account.backfill_days,
        "recheck_days": account.recheck_days,
        "sweep_minutes": account.sweep_minutes,
    }
    return factory(account, common)


def build_connectors(
    accounts: Sequence[Account], *, clock: Clock, transport_for: TransportFactory | None = None
) -> list[Connector]:
    """Every account's connector; the accounts of one marketplace host (the same base URL and transport) share HTTP
    clients, ACCOUNTS_PER_SHARED_CLIENT accounts to a client of a few connections that stay open from one poll to
    the next (`core.http.make_shared_client`).

    A client per account kept a connection (a socket, buffers, a TLS session against a real gateway) per account
    and put ~2,000 sockets in the event loop's epoll set at 1,000 accounts. Each account keeps its own request
    budget, signing and secrets in its connector. A client is closed when its last connector is."""
    for acc in accounts:  # an unregistered type fails before any client is made
        registered(CONNECTORS, type(acc), "connector")
    transports = [transport_for(acc) if transport_for else None for acc in accounts]
    hosts = [(acc.base_url, id(transport)) for acc, transport in zip(accounts, transports, strict=True)]
    intervals: dict[tuple[str, int], float] = {}
    for acc, host in zip(accounts, hosts, strict=True):
        intervals[host] = max(intervals.get(host, 0.0), acc.poll_interval_s)  # kept alive for the slowest poller
    clients: dict[tuple[str, int], SharedClient] = {}
    sharing: Counter[tuple[str, int]] = Counter()
    connectors = []
    for acc, transport, host in zip(accounts, transports, hosts, strict=True):
        if sharing[host] % ACCOUNTS_PER_SHARED_CLIENT == 0:  # this host's next client
            clients[host] = make_shared_client(
                base_url=acc.base_url, transport=transport, poll_interval_s=intervals[host]
            )
        sharing[host] += 1
        connectors.append(build_connector(acc, clock=clock, client=clients[host].share()))
    return connectors


def answering_connectors(connectors: Iterable[Connector]) -> dict[str, AnsweringConnector]:
    """The connectors that can post a seller's answer, by account id (the sender looks each answer's account up)."""
    return {
        c.account_id: cast(AnsweringConnector, c)
        for c in connectors
        if callable(getattr(c, "answer", None)) and hasattr(c, "ONCE_ONLY")
    }
