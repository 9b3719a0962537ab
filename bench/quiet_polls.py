"""Requests per poll of every marketplace stream when nothing changes, counted at the sandboxes.

Run `python -m bench.quiet_polls [--polls 60] [--interval 60]`. Target (issue 19, goal 1): at most one request per
stream per poll when nothing changed (ESM's board: the API takes one qnaType per request, so one per qnaType).

How: each stream's connector, with its defaults (backfill 3 days, overlap 1, its recheck range), polls its
sandbox seeded with a quiet shop's last two weeks: 3 open inquiries from today, 5 answered ones over the last
10 days and 1 open one 10 days old. A first poll (no cursor), then `--polls` more, `--interval` seconds apart on
a fake clock, each from the cursor the last one wrote; nothing arrives or changes meanwhile. The sandbox's request
log gives each poll's requests (Naver's token request is not a listing and is left out). Only the connectors'
constructors and `poll` are used, so the same file measures any version of them: run it with another checkout
first on PYTHONPATH (`PYTHONPATH=../main python bench/quiet_polls.py`) for a before/after.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from bench._proc import machine_line, verdict
from bench.ingest import InstantClock
from connectors.coupang.connector import CoupangConnector
from connectors.elevenst.connector import ElevenstConnector
from connectors.esm.connector import EsmConnector
from connectors.naver.connector import NaverConnector
from connectors.sandbox import CoupangSandbox, ElevenstSandbox, EsmSandbox, NaverSandbox
from core.models import KST, StreamKind

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=KST)
NAVER_SECRET = "$2a$10$abcdefghijklmnopqrstuu"
ESM_SECRET = "esm-secret-key-0123456789abcdef"
# (days ago, answered) of the seeded inquiries: 3 open today, 5 answered over 10 days, 1 open 10 days old.
# Lists a stream's API has, where more than one: ESM's board takes one qnaType per request (옥션 1 and 2, G마켓 3).
LISTS = {"esm product_qna (both sites)": 3}
SEEDED = [(0.1, False), (0.2, False), (0.3, False), (1, True), (3, True), (5, True), (8, True), (10, True), (10, False)]


def _client(box: Any, base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, transport=httpx.MockTransport(box.handler))


def _coupang(clock: InstantClock) -> tuple[Any, Any]:
    box = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    client = _client(box, "https://api-gateway.coupang.com")
    return box, CoupangConnector(
        account_id="b",
        vendor_id="A00012345",
        access_key=SecretStr("ak"),
        secret_key=SecretStr("sk"),
        client=client,
        clock=clock,
    )


def _naver(clock: InstantClock) -> tuple[Any, Any]:
    box = NaverSandbox(client_id="app", client_secret=NAVER_SECRET, now=clock.now)
    client = _client(box, "https://api.commerce.naver.com/external")
    secret = SecretStr(NAVER_SECRET)
    return box, NaverConnector(account_id="b", client_id="app", client_secret=secret, client=client, clock=clock)


def _esm(clock: InstantClock) -> tuple[Any, Any]:
    box = EsmSandbox(master_id="m", secret_key=ESM_SECRET, now=clock.now, gmarket_seller_id="g", auction_seller_id="a")
    client = _client(box, "https://sa2.esmplus.com")
    secret = SecretStr(ESM_SECRET)
    return box, EsmConnector(
        account_id="b",
        master_id="m",
        secret_key=secret,
        gmarket_seller_id="g",
        auction_seller_id="a",
        client=client,
        clock=clock,
    )


def _elevenst(clock: InstantClock) -> tuple[Any, Any]:
    box = ElevenstSandbox(api_key="k", now=clock.now)
    client = _client(box, "https://api.11st.co.kr")
    return box, ElevenstConnector(account_id="b", api_key=SecretStr("k"), client=client, clock=clock)


def _seed(box: Any, add: Callable[[Any, datetime], int], answer: Callable[[Any, int, datetime], None]) -> None:
    for days, answered in SEEDED:
        at = NOW - timedelta(days=days)
        key = add(box, at)
        if answered:
            answer(box, key, at + timedelta(hours=1))


Build = Callable[[InstantClock], tuple[Any, Any]]
# name -> (build, stream, add an open item, answer it)
STREAMS: dict[str, tuple[Build, StreamKind, Callable[..., int], Callable[..., None]]] = {
    "coupang product_qna": (
        _coupang,
        StreamKind.PRODUCT_QNA,
        lambda box, at: box.add_product_inquiry(content="문의", inquiry_at=at),
        lambda box, key, at: box.answer_product_inquiry(key, "답변", at),
    ),
    "coupang call_center": (
        _coupang,
        StreamKind.CALL_CENTER,
        lambda box, at: box.add_call_center_inquiry(inquiry_at=at, agent_note="이관", item_name="상품"),
        lambda box, key, at: box.answer_call_center_inquiry(key, "답변", at),
    ),
    "naver product_qna": (
        _naver,
        StreamKind.PRODUCT_QNA,
        lambda box, at: box.add_product_question(question="문의", created_at=at),
        lambda box, key, at: box.answer_product_question(key, "답변", at),
    ),
    "naver customer_inquiry": (
        _naver,
        StreamKind.CUSTOMER_INQUIRY,
        lambda box, at: box.add_customer_inquiry(title="배송", content="문의", registered_at=at),
        lambda box, key, at: box.answer_customer_inquiry(key, "답변", at),
    ),
    "esm product_qna (both sites)": (
        _esm,
        StreamKind.PRODUCT_QNA,
        lambda box, at: box.add_question(site="G마켓", title="문의", details="문의", received_at=at),
        lambda box, key, at: box.answer(key, "답변", at),
    ),
    "esm urgent": (
        _esm,
        StreamKind.URGENT,
        lambda box, at: box.add_urgent(site="G마켓", title="긴급", contents="문의", received_at=at),
        lambda box, key, at: box.answer(key, "답변", at),
    ),
    "elevenst product_qna": (
        _elevenst,
        StreamKind.PRODUCT_QNA,
        lambda box, at: box.add_product_qna(content="문의", created_at=at),
        lambda box, key, at: box.answer_product_qna(key, "답변", at),
    ),
    "elevenst urgent": (
        _elevenst,
        StreamKind.URGENT,
        lambda box, at: box.add_alimi(content="문의", created_at=at, reply_deadline=None),
        lambda box, key, at: box.answer_alimi(key, "답변", at),
    ),
}


async def measure(name: str, polls: int, interval_s: float) -> tuple[int, list[int]]:
    """The first poll's requests, and each later poll's."""
    build, stream, add, answer = STREAMS[name]
    clock = InstantClock(NOW)
    box, connector = build(clock)
    _seed(box, add, answer)

    def listed() -> int:
        return sum(1 for r in box.requests if not r.path.endswith("/oauth2/token"))

    counts: list[int] = []
    cursor = None
    start = NOW
    try:
        for n in range(polls + 1):
            await clock.sleep((start + timedelta(seconds=n * interval_s) - clock.now()).total_seconds())
            before = listed()
            cursor = (await connector.poll(stream, cursor, now=clock.now())).cursor
            counts.append(listed() - before)
    finally:
        await connector.aclose()
    return counts[0], counts[1:]


def report(results: dict[str, tuple[int, list[int]]], args: argparse.Namespace) -> str:
    """The printed table."""
    lines = [
        f"inqd quiet-poll requests: a first poll, then {args.polls} polls {args.interval:g} s apart, nothing changing",
        machine_line(),
        "",
        f"{'stream':<30}{'first':>6}{'quiet p50':>10}{'quiet max':>10}{'later polls':>12}{'per poll':>9}",
    ]
    for name, (first, later) in results.items():
        lines.append(
            f"{name:<30}{first:6d}{statistics.median(later):10g}{max(later):10d}{sum(later):12d}"
            f"{sum(later) / len(later):9.2f}"
        )
    over = [name for name, (_, later) in results.items() if statistics.median(later) > LISTS.get(name, 1)]
    lines += [
        "",
        f"target quiet poll <= 1 request per list (ESM board: 3 qnaTypes): {verdict(not over)}"
        + (f" ({', '.join(over)})" if over else ""),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--polls", type=int, default=60)
    parser.add_argument("--interval", type=float, default=60.0)
    args = parser.parse_args()
    results = {name: asyncio.run(measure(name, args.polls, args.interval)) for name in STREAMS}
    print(report(results, args))


if __name__ == "__main__":
    main()
