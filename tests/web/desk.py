"""What the inbox and action tests share: a daemon standing at a fixed weekday noon, and inquiries recorded by
hand on an account it does not poll (so their deadlines stay exactly as written)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from aggregator.settings import Settings
from aggregator.store import Store
from connectors.sandbox import CoupangSandbox
from core.models import KST, Inquiry, Marketplace, PollResult, StreamKind
from tests.fakes import FakeClock
from tests.web.conftest import WebDaemon, start_web_daemon

# A Wednesday that is no holiday, noon: the own target counts the default work hours (weekdays 13:00-18:00).
NOON = datetime(2026, 12, 9, 12, 0, tzinfo=KST)
DESK = "desk"  # an account the daemon does not poll: what is recorded here stays as written


def inquiry(
    external_id: str,
    *,
    received: datetime,
    deadline: datetime | None = None,
    marketplace: Marketplace = Marketplace.COUPANG,
    stream: StreamKind = StreamKind.PRODUCT_QNA,
    body: str = "배송은 언제 되나요?",
    product: str | None = "무선 청소기",
    order_id: str | None = None,
) -> Inquiry:
    """An open inquiry of the desk account."""
    return Inquiry(
        account_id=DESK,
        marketplace=marketplace,
        stream=stream,
        external_id=external_id,
        received_at=received,
        body=body,
        product_name=product,
        order_id=order_id,
        deadline_at=deadline,
    )


async def record(store: Store, *inquiries: Inquiry, now: datetime) -> list[int]:
    """Store `inquiries`, each as one poll of its stream; the row ids of those that were new, in the order given."""
    ids = []
    for inq in inquiries:
        result = PollResult((inq,), {})
        outcome = await store.record_poll(DESK, inq.stream, result, now=now, channels=("sink",), notify_new=False)
        ids += outcome.new_ids
    return ids


def row_ids(html: str) -> list[int]:
    """The inquiry ids the list shows, top to bottom."""
    return [int(found) for found in re.findall(r'<li class="row" data-id="(\d+)"', html)]


@asynccontextmanager
async def desk_daemon(settings: Settings, start: datetime = NOON) -> AsyncIterator[WebDaemon]:
    """A web daemon on `settings` whose clock stands at `start`."""
    clock = FakeClock(start)
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    running = await start_web_daemon(settings, clock, sandbox)
    try:
        yield running
    finally:
        await running.admin.aclose()
        await running.daemon.aclose()


def csrf_headers(html: str, **more: Any) -> dict[str, str]:
    """The headers of a script's action request: the page's CSRF token, JSON wanted."""
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match
    return {"X-CSRF-Token": match.group(1), "Accept": "application/json", **{k: str(v) for k, v in more.items()}}
