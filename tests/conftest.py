"""Shared fixtures: a fake clock at a fixed Seoul instant, a fresh store, inquiry factories, test settings."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
import structlog
from pydantic import TypeAdapter

from aggregator.settings import Account, NotifierConfig, Settings, SinkNotifierConfig
from aggregator.store import RecordOutcome, Store
from core.models import KST, Category, Inquiry, Marketplace, PollResult, StreamKind
from tests.fakes import FakeClock
from tests.postgres_server import BACKENDS, PostgresServer, running_server

START = datetime(2026, 11, 24, 14, 0, tzinfo=KST)

# The Coupang account the daemon tests poll: a sandbox answers through a MockTransport (nothing listens on :9).
SHOP_ACCOUNT: Mapping[str, Any] = {
    "marketplace": "coupang",
    "id": "shop",
    "vendor_id": "A00012345",
    "access_key": "ak",
    "secret_key": "sk",
    "base_url": "http://127.0.0.1:9",
    "poll_interval_s": 60,
    "streams": ["product_qna"],
    "max_requests_per_s": 5,
}
_ACCOUNT: TypeAdapter[Account] = TypeAdapter(Account)


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """Each test starts and ends with structlog's defaults: a test that configures logging leaks nothing."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture(autouse=True)
def _korean_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """No locale from the machine running the tests: a run is Korean unless a test says otherwise."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes started by a test; killed at the end whatever happens."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)
        if proc.stdout:
            proc.stdout.close()


@pytest.fixture
def clock() -> FakeClock:
    """A clock standing at Tuesday 2026-11-24 14:00 KST."""
    return FakeClock(START)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the session (skips, or fails under INQD_REQUIRE_POSTGRES, without it)."""
    with running_server() as server:
        yield server


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_backends` that use the store run once on each engine."""
    if "backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_backends"):
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The store's engine: each of both for tests marked `both_backends`; else INQD_TEST_BACKEND's ("sqlite" by
    default; "postgres" runs every test that takes `store` or `database` on PostgreSQL, to see how far it goes)."""
    return str(getattr(request, "param", os.environ.get("INQD_TEST_BACKEND", "sqlite")))


@pytest.fixture
def database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Path | str:
    """Where the test's store lives: a SQLite file in its temporary directory, or a fresh PostgreSQL database."""
    if backend == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        return server.new_database()
    return tmp_path / "inqd.db"


@pytest.fixture
async def store(database: Path | str) -> AsyncIterator[Store]:
    """A fresh store (SQLite in a temporary directory; and PostgreSQL under `both_backends`)."""
    opened = await Store.open(database)
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


async def record_quietly(store: Store, now: datetime, inquiries: Iterable[Inquiry]) -> RecordOutcome:
    """`inquiries` recorded as one poll of shop's product Q&A, without a push (a timer test's seed or re-poll)."""
    return await store.record_poll(
        "shop",
        StreamKind.PRODUCT_QNA,
        PollResult(inquiries=tuple(inquiries), cursor={}),
        now=now,
        channels=("sink",),
        notify_new=False,
    )


async def seed_hours_ago(
    store: Store, now: datetime, hours_ago: Iterable[int], *, tag: str = "", answered: bool = False
) -> list[int]:
    """Inquiries "<tag><h>" received h hours before `now`, for each h of `hours_ago` in that order; their new ids."""
    inquiries = (make_inquiry(f"{tag}{h}", received_at=now - timedelta(hours=h), answered=answered) for h in hours_ago)
    return list((await record_quietly(store, now, inquiries)).new_ids)


def quiet_sink(directory: Path) -> SinkNotifierConfig:
    """The sink as the tests use it: nothing on the console, every message a line of `directory`/sink.jsonl."""
    return SinkNotifierConfig(type="sink", console=False, file=directory / "sink.jsonl")


class MakeSettings(Protocol):
    """Builds one test's Settings (the `make_settings` fixture)."""

    def __call__(
        self,
        *notifiers: NotifierConfig,
        account: Mapping[str, Any] = SHOP_ACCOUNT,
        directory: Path | None = None,
        **fields: Any,
    ) -> Settings:
        """Settings of one account and `notifiers` (the quiet sink when none), the database in `directory`."""
        ...


@pytest.fixture
def make_settings(tmp_path: Path, database: Path | str) -> MakeSettings:
    """Settings for a daemon test: one account (SHOP_ACCOUNT unless given), the given channels (the quiet sink
    unless given), the database and the sink file in tmp_path (or `directory`); other keywords are Settings fields.
    On PostgreSQL (`backend`) the database is the test's own, whatever the directory.
    """
    url = {"database_url": database} if isinstance(database, str) else {}

    def make(
        *notifiers: NotifierConfig,
        account: Mapping[str, Any] = SHOP_ACCOUNT,
        directory: Path | None = None,
        **fields: Any,
    ) -> Settings:
        where = directory or tmp_path
        return Settings(
            db_path=where / "inqd.db",
            accounts=(_ACCOUNT.validate_python(account),),
            notifiers=notifiers or (quiet_sink(where),),
            **url,
            **fields,
        )

    return make
