"""`inqd answer` in another process pokes the running daemon's sender through the admin API after the approval is
committed (POST /answers/wake, with the token when one is set); without a daemon to answer, the approval still stands
and the sender's store check finds it."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.admin import AdminServer, poke_answer_sender
from aggregator.cli.main import main
from aggregator.metrics import Metrics
from aggregator.store import Store
from aggregator.store.answers import AnswerState
from core.models import PollResult
from tests.conftest import make_inquiry

TOKEN = "wake-토큰"
TEXT = "안녕하세요. 오늘 오후에 출고됩니다. 감사합니다."


class Wakes:
    """Counts the pokes the admin server passed on to the sender."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> None:
        self.count += 1


async def _healthy() -> tuple[bool, dict[str, Any]]:
    return True, {}


async def _no_refresh() -> None:
    return None


StartAdmin = Callable[[str | None], Awaitable[tuple[int, Wakes]]]


@pytest.fixture
async def start_admin() -> AsyncIterator[StartAdmin]:
    """Start an AdminServer on 127.0.0.1:0 with the answer wake enabled; returns its port and its wake counter."""
    servers: list[AdminServer] = []

    async def start(token: str | None) -> tuple[int, Wakes]:
        wakes = Wakes()
        server = AdminServer(
            host="127.0.0.1", port=0, token=token, health=_healthy, metrics=Metrics(), refresh_metrics=_no_refresh
        )
        server.enable_answer_wake(wakes)
        servers.append(server)
        return await server.start(), wakes

    yield start
    for server in servers:
        await server.aclose()


async def test_a_poke_with_the_token_wakes_the_sender(start_admin: StartAdmin) -> None:
    port, wakes = await start_admin(TOKEN)
    assert await asyncio.to_thread(poke_answer_sender, "127.0.0.1", port, TOKEN) is True
    assert wakes.count == 1
    assert await asyncio.to_thread(poke_answer_sender, "127.0.0.1", port, "wrong") is False
    assert await asyncio.to_thread(poke_answer_sender, "127.0.0.1", port, None) is False  # no token: 401
    assert wakes.count == 1


async def test_without_a_token_the_loopback_poke_is_open(start_admin: StartAdmin) -> None:
    port, wakes = await start_admin(None)
    assert (
        await asyncio.to_thread(poke_answer_sender, "0.0.0.0", port, None) is True
    )  # bound to all: reached on loopback
    assert wakes.count == 1


def test_no_daemon_is_not_an_error() -> None:
    assert poke_answer_sender("127.0.0.1", 1, TOKEN) is False  # port 1: nothing listens, refused at once


@pytest.fixture
def config_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """A config (admin on `port`, with the token) whose database holds one open inquiry (#1)."""

    async def seed() -> None:
        store = await Store.open(tmp_path / "inqd.db")
        now = datetime.now(UTC)
        row = make_inquiry("a", received_at=now - timedelta(hours=1), body="배송 언제 오나요?")
        await store.record_poll(
            "shop", row.stream, PollResult(inquiries=(row,), cursor={}), now=now, channels=(), notify_new=False
        )
        await store.aclose()

    asyncio.run(seed())
    monkeypatch.setenv("INQD_SHOP__ACCESS_KEY", "ak")
    monkeypatch.setenv("INQD_SHOP__SECRET_KEY", "sk")
    monkeypatch.setenv("INQD_ADMIN__TOKEN", TOKEN)

    def write(port: int, *, enabled: bool = True) -> Path:
        path = tmp_path / "inqd.toml"
        path.write_text(
            f'db_path = "{tmp_path / "inqd.db"}"\n[admin]\nport = {port}\nenabled = {str(enabled).lower()}\n'
            '[[accounts]]\nid = "shop"\nmarketplace = "coupang"\nvendor_id = "A00012345"\n',
            encoding="utf-8",
        )
        return path

    return write


async def _states(db_path: Path) -> list[AnswerState]:
    store = await Store.open(db_path)
    try:
        return [a.state for a in await store.answers_for(1)]
    finally:
        await store.aclose()


async def test_inqd_answer_pokes_the_daemon_after_the_approval_is_committed(
    start_admin: StartAdmin, config_for: Callable[..., Path]
) -> None:
    port, wakes = await start_admin(TOKEN)
    config = config_for(port)
    seen: list[list[AnswerState]] = []
    real_poke = poke_answer_sender

    def poke(host: str, port: int, token: str | None) -> bool:
        # What the woken sender would read, through another connection (the CLI's loop is running: plain sqlite3).
        with closing(sqlite3.connect(config.parent / "inqd.db")) as db:
            seen.append([AnswerState(state) for (state,) in db.execute("SELECT state FROM answers ORDER BY id")])
        return real_poke(host, port, token)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("aggregator.cli.answer_command.poke_answer_sender", poke)
        code = await asyncio.to_thread(main, ["answer", "1", "-m", TEXT, "--yes", "--config", str(config)])
    assert code == 0
    assert wakes.count == 1
    assert seen == [[AnswerState.APPROVED]]  # the poke comes after the commit, never before


async def test_inqd_answer_without_a_running_daemon_still_approves(config_for: Callable[..., Path]) -> None:
    config = config_for(1)  # nothing listens on port 1
    code = await asyncio.to_thread(main, ["answer", "1", "-m", TEXT, "--yes", "--config", str(config)])
    assert code == 0
    assert await _states(config.parent / "inqd.db") == [AnswerState.APPROVED]


async def test_inqd_answer_does_not_poke_a_disabled_admin_api(
    start_admin: StartAdmin, config_for: Callable[..., Path]
) -> None:
    port, wakes = await start_admin(TOKEN)
    config = config_for(port, enabled=False)
    code = await asyncio.to_thread(main, ["answer", "1", "-m", TEXT, "--yes", "--config", str(config)])
    assert code == 0
    assert wakes.count == 0  # the sender's store check finds it
