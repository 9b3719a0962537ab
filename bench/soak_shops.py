"""The accounts of the crash soak of instances (bench/soak_instances.py): accounts on the four marketplaces'
sandboxes, each with a generator adding product questions nobody answers (each must be pushed), an
`OverlapCounter`, and what an instance's config says about it; and an instance's config.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._proc import toml_str
from connectors.sandbox import (
    CoupangSandbox,
    ElevenstInquiryGenerator,
    ElevenstSandbox,
    EsmInquiryGenerator,
    EsmSandbox,
    InquiryGenerator,
    NaverInquiryGenerator,
    NaverSandbox,
    OverlapCounter,
)
from connectors.sandbox.arrivals import ArrivalGenerator
from connectors.sandbox.server import Handler

MARKETPLACES = ("coupang", "naver", "elevenst", "esm")
LEASE_SECONDS = 18.0  # the shortest the settings allow: takeovers within 36 s
NAVER_SECRET = "$2a$04$inqdSoakSandboxSaltxxu"  # a bcrypt salt, as Naver issues application secrets
ESM_SECRET = "soak-esm-secret-key-0123456789abcdef"


@dataclass
class Shop:
    """One account: its sandbox's handler, the generator adding to it, its overlap counter and its config."""

    account: str
    handler: Handler
    generator: ArrivalGenerator[Any]
    counter: OverlapCounter
    values: dict[str, object]  # the [[accounts]] entry without base_url
    number: Callable[[int], int] = int  # the marketplace's number of a generated item (ESM keys differ from it)


def make_shop(marketplace: str, n: int, rng: random.Random) -> Shop:
    """Account `n` of `marketplace`: product questions only, none answered by the seller (each must be pushed)."""
    now = lambda: datetime.now(UTC)  # noqa: E731 - the sandboxes' clock
    quiet: dict[str, Any] = {"rng": rng, "answer_share": 0.0}
    values: dict[str, object] = {"marketplace": marketplace, "streams": ["product_qna"]}
    sandbox: CoupangSandbox | NaverSandbox | ElevenstSandbox | EsmSandbox
    generator: ArrivalGenerator[Any]
    if marketplace == "coupang":
        keys = {"vendor_id": f"A0001234{n}", "access_key": f"soak-access-{n}", "secret_key": f"soak-secret-{n}"}
        sandbox = CoupangSandbox(
            vendor_id=keys["vendor_id"], access_key=keys["access_key"], secret_key=keys["secret_key"], now=now
        )
        generator = InquiryGenerator(sandbox, call_center_share=0.0, **quiet)
        values |= {**keys, "max_requests_per_s": 5.0}
    elif marketplace == "naver":
        keys = {"client_id": f"soak-naver-app-{n}", "client_secret": NAVER_SECRET}
        sandbox = NaverSandbox(client_id=keys["client_id"], client_secret=NAVER_SECRET, now=now)
        generator = NaverInquiryGenerator(sandbox, customer_share=0.0, **quiet)
        values |= {**keys, "max_requests_per_s": 2.0}
    elif marketplace == "elevenst":
        keys = {"api_key": f"soak-11st-openapikey-{n}"}
        sandbox = ElevenstSandbox(api_key=keys["api_key"], now=now)
        generator = ElevenstInquiryGenerator(sandbox, urgent_share=0.0, **quiet)
        values |= {**keys, "max_requests_per_s": 2.0}
    else:
        keys = {"master_id": f"soakmaster{n}", "secret_key": ESM_SECRET}
        keys |= {"gmarket_seller_id": f"soakgmarket{n}", "auction_seller_id": f"soakauction{n}"}
        sandbox = EsmSandbox(
            master_id=keys["master_id"],
            secret_key=ESM_SECRET,
            gmarket_seller_id=keys["gmarket_seller_id"],
            auction_seller_id=keys["auction_seller_id"],
            now=now,
        )
        generator = EsmInquiryGenerator(sandbox, urgent_share=0.0, **quiet)
        values |= {**keys, "max_requests_per_s": 1.0}
        esm = sandbox
        return Shop(f"esm{n}", esm.handler, generator, OverlapCounter(), values, lambda key: esm.item(key).message_no)
    return Shop(f"{marketplace}{n}", sandbox.handler, generator, OverlapCounter(), values)


def write_config(directory: Path, shops: Sequence[Shop], urls: dict[str, str], poll_interval_s: float) -> Path:
    """One instance's inqd.toml: the shops on its own sandbox servers, its own sink file, no admin port."""
    directory.mkdir(parents=True, exist_ok=True)
    parts = [
        f"db_path = {toml_str(directory / 'inqd.db')}",
        "quiet_hours = []",
        f"lease_seconds = {LEASE_SECONDS:g}",
        "\n[admin]\nenabled = false",
        f'\n[[notifiers]]\ntype = "sink"\nconsole = false\nfile = {toml_str(directory / "sink.jsonl")}',
    ]
    for shop in shops:
        entries = {
            **shop.values,
            "id": shop.account,
            "base_url": urls[shop.account],
            "poll_interval_s": poll_interval_s,
        }
        parts.append("\n[[accounts]]\n" + "\n".join(f"{key} = {_toml(value)}" for key, value in entries.items()))
    path = directory / "inqd.toml"
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path


def _toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return toml_str(value) if isinstance(value, str) else str(value)
