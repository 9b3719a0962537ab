"""Shared fixtures: a fake clock at a fixed Seoul instant, a fresh store, inquiry factories."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import structlog

from aggregator.store import Store
from core.models import KST, Category, Inquiry, Marketplace, StreamKind
from tests.fakes import FakeClock

START = datetime(2026, 11, 24, 14, 0, tzinfo=KST)


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """Each test starts and ends with structlog's defaults: a test that configures logging leaks nothing."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture
def clock() -> FakeClock:
    """A clock standing at Tuesday 2026-11-24 14:00 KST."""
    return FakeClock(START)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh store in a temporary directory."""
    opened = await Store.open(tmp_path / "inqd.db")
    yield opened
    await opened.aclose()


def make_inquiry(
    external_id: str,
    *,
    account_id: str = "shop",
    stream: StreamKind = StreamKind.PRODUCT_QNA,
    received_at: datetime | None = None,
    body: str = "배송 언제 오나요?",
    answered: bool = False,
    buyer: str | None = None,
) -> Inquiry:
    """An inquiry with sensible defaults."""
    return Inquiry(
        account_id=account_id,
        marketplace=Marketplace.COUPANG,
        stream=stream,
        external_id=external_id,
        received_at=received_at or START - timedelta(hours=1),
        body=body,
        category=Category.DELIVERY,
        product_name="무선 블루투스 이어폰",
        answered=answered,
        answered_at=START if answered else None,
        buyer=buyer,
    )
