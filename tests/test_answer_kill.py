"""`kill -9` while an answer is `sending` on a once-only stream: after the restart it is never posted twice.

The daemon runs in a subprocess (this module's `__main__`) whose marketplace is a file: an answer that reached the
marketplace is a line in it, and a poll shows the inquiry answered once the file has one. The answer call hangs
(after the answer landed, or before it did) and the process is killed with SIGKILL. The restarted daemon must
re-read the inquiry before trying again: confirm the landed answer without a request, or post the lost one once.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from aggregator.daemon import Daemon
from aggregator.settings import CoupangAccount, Settings, load_settings
from aggregator.store import Store
from aggregator.wiring import connectors as wiring
from core.answers import AnswerLimit, AnswerOutcome, AnswerRequest, AnswerResult
from core.clock import SystemClock
from core.models import Category, Cursor, Inquiry, Marketplace, PollResult, StreamKind

DEADLINE_S = 60.0
IN_FLIGHT = "ANSWER-IN-FLIGHT"
RECEIVED = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)


class FileMarketplace:
    """Coupang 고객센터 as a file: polls show the one inquiry answered once the file holds an answer."""

    marketplace: ClassVar[Marketplace] = Marketplace.COUPANG
    ONCE_ONLY: ClassVar[frozenset[StreamKind]] = frozenset({StreamKind.CALL_CENTER})
    ANSWER_LIMITS: ClassVar[dict[StreamKind, AnswerLimit]] = {}

    def __init__(self, account_id: str, posted: Path, *, hang: str = "") -> None:
        self.account_id = account_id
        self.streams = (StreamKind.CALL_CENTER,)
        self.posted = posted
        self.hang = hang  # "after": the answer lands, then the call hangs; "before": it hangs before landing
        self.requests: list[AnswerRequest] = []

    async def poll(self, stream: StreamKind, cursor: Cursor | None, *, now: datetime) -> PollResult:
        """The one inquiry, answered when an answer was posted."""
        answered = self.posted.exists() and bool(self.posted.read_text(encoding="utf-8"))
        inquiry = Inquiry(
            account_id=self.account_id,
            marketplace=Marketplace.COUPANG,
            stream=StreamKind.CALL_CENTER,
            external_id="c1",
            received_at=RECEIVED,
            body="배송이 안 와요",
            category=Category.DELIVERY,
            answered=answered,
        )
        return PollResult(inquiries=(inquiry,), cursor={})

    async def answer(self, request: AnswerRequest) -> AnswerResult:
        """Post the answer (a line in the file); hang where told to, as a request cut by kill -9."""
        self.requests.append(request)
        if self.hang == "before":
            print(IN_FLIGHT, flush=True)
            await asyncio.Event().wait()
        with self.posted.open("a", encoding="utf-8") as handle:
            handle.write(request.text.replace("\n", " ") + "\n")
        if self.hang == "after":
            print(IN_FLIGHT, flush=True)
            await asyncio.Event().wait()
        return AnswerResult(AnswerOutcome.ACCEPTED)

    async def aclose(self) -> None:
        """Nothing to release."""


def _use(posted: Path, hang: str, built: list[FileMarketplace]) -> None:
    def factory(account: Any, common: dict[str, Any]) -> FileMarketplace:
        built.append(FileMarketplace(account.id, posted, hang=hang))
        return built[-1]

    wiring.CONNECTORS[CoupangAccount] = factory


async def _serve(config: Path, posted: Path, hang: str) -> None:
    """The subprocess: the daemon with the file marketplace, running until killed."""
    _use(posted, hang, [])
    daemon = await Daemon.build(load_settings(config), clock=SystemClock())
    try:
        await daemon.run()
    finally:
        await daemon.aclose()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config with one Coupang account polling 고객센터 문의, the admin API off, the sink in a file."""
    monkeypatch.setenv("INQD_SHOP__ACCESS_KEY", "ak")
    monkeypatch.setenv("INQD_SHOP__SECRET_KEY", "sk")
    path = tmp_path / "inqd.toml"
    path.write_text(
        f'db_path = "{tmp_path / "inqd.db"}"\n'
        "[admin]\nenabled = false\n"
        '[[accounts]]\nid = "shop"\nmarketplace = "coupang"\nvendor_id = "A00012345"\n'
        'streams = ["call_center"]\npoll_interval_s = 600\n'
        f'[[notifiers]]\ntype = "sink"\nname = "sink"\nconsole = false\nfile = "{tmp_path / "sink.jsonl"}"\n',
        encoding="utf-8",
    )
    return path


async def _approve(settings: Settings, posted: Path) -> int:
    """Store the inquiry and approve an answer to it, as `inqd answer` would (before any daemon runs)."""
    store = await Store.open(settings.db_path)
    try:
        poll = await FileMarketplace("shop", posted).poll(StreamKind.CALL_CENTER, None, now=RECEIVED)
        await store.record_poll("shop", StreamKind.CALL_CENTER, poll, now=RECEIVED, channels=(), notify_new=False)
        draft = await store.save_draft(1, "안녕하세요. 오늘 다시 발송했습니다. 죄송합니다.", now=RECEIVED)
        return (await store.approve_answer(draft.id, actor="terminal:test", now=RECEIVED)).id
    finally:
        await store.aclose()


def _killed_in_flight(config: Path, posted: Path, hang: str) -> None:
    """Run the daemon in a subprocess until its answer call is in flight, then SIGKILL it."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(Path(__file__).parents[1])}
    args = [sys.executable, "-m", "tests.test_answer_kill", str(config), str(posted), hang]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=0, env=env)
    seen: list[str] = []
    assert proc.stdout is not None
    try:
        deadline = time.monotonic() + DEADLINE_S
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while IN_FLIGHT not in "".join(seen) and time.monotonic() < deadline:
                if selector.select(timeout=deadline - time.monotonic()):
                    line = proc.stdout.readline().decode("utf-8", "replace")
                    if not line:
                        break
                    seen.append(line)
        assert IN_FLIGHT in "".join(seen), "".join(seen)
        proc.send_signal(signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=DEADLINE_S)
        proc.stdout.close()


def _state(settings: Settings, answer_id: int) -> str:
    with sqlite3.connect(settings.db_path) as db:
        return str(db.execute("SELECT state FROM answers WHERE id = ?", (answer_id,)).fetchone()[0])


@pytest.fixture
def restore_registry() -> Iterator[None]:
    """The connector registry as it was: the restarted daemon's file marketplace is this test's only."""
    saved = dict(wiring.CONNECTORS)
    yield
    wiring.CONNECTORS.clear()
    wiring.CONNECTORS.update(saved)


@pytest.mark.usefixtures("restore_registry")
@pytest.mark.parametrize(("hang", "restart_requests"), [("after", 0), ("before", 1)])
async def test_kill_while_sending_never_posts_twice(
    config: Path, tmp_path: Path, hang: str, restart_requests: int
) -> None:
    settings = load_settings(config)
    posted = tmp_path / "marketplace.txt"
    answer_id = await _approve(settings, posted)
    await asyncio.to_thread(_killed_in_flight, config, posted, hang)
    assert _state(settings, answer_id) == "sending"  # written before the request, and the request never returned
    built: list[FileMarketplace] = []
    _use(posted, "", built)
    daemon = await Daemon.build(settings, clock=SystemClock())
    try:
        assert _state(settings, answer_id) == "uncertain"
        for _ in range(3):  # polls; a retry only after two polls saw it still open; the next poll confirms
            await daemon.run_once()
    finally:
        await daemon.aclose()
    assert len(built[0].requests) == restart_requests
    assert len(posted.read_text(encoding="utf-8").splitlines()) == 1  # on the marketplace exactly once
    assert _state(settings, answer_id) == "confirmed"


if __name__ == "__main__":
    asyncio.run(_serve(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]))
