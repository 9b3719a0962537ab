"""`inqd migrate --from sqlite:PATH` (issue 20): a SQLite queue moved whole into a fresh PostgreSQL database, ids
kept and the sequences moved past them; refused in one line (exit 2) when the target already holds inquiries, when a
daemon runs on it or when it is not PostgreSQL; the SQLite file is left as it was."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from aggregator.alert_timer import AlertTimer
from aggregator.cli.main import main
from aggregator.instance_lock import InstanceLock
from aggregator.settings import Settings
from aggregator.store import Store, StoredInquiry, TargetNotEmpty
from core.models import PollResult, StreamKind
from tests.conftest import START, make_inquiry
from tests.fakes import FakeClock
from tests.postgres_server import PostgresServer

CONFIG = """db_path = "{db}"
{extra}
[[notifiers]]
type = "sink"
"""


async def _seed_queue(path: Path) -> list[int]:
    """A SQLite store with inquiries (one answered), outbox rows, an alert log, an answer, a snooze, a vacation and
    a meta value; the inquiries' ids."""
    store = await Store.open(path)
    try:
        clock = FakeClock(START)
        inquiries = tuple(make_inquiry(f"q{h}", received_at=START - timedelta(hours=h)) for h in (1, 14, 20, 23))
        outcome = await store.record_poll(
            "shop",
            StreamKind.PRODUCT_QNA,
            PollResult(inquiries=(*inquiries, make_inquiry("done", answered=True)), cursor={"page": 3}),
            now=START,
            channels=("sink",),
            notify_new=True,
        )
        ids = list(outcome.new_ids)
        timer = AlertTimer(store, clock, Settings(quiet_hours=()).policies(), channels=("sink",))
        await timer.start("config-a")
        await timer.run_once()  # the old ones' warnings: alert log rows and more outbox rows
        await store.save_draft(ids[0], "내일 출발합니다", now=START)
        await store.snooze(ids[1], START + timedelta(hours=2), now=START, actor="test")
        await store.add_vacation(date(2026, 12, 24), date(2026, 12, 26), "연말", now=START, actor="test")
        await store.set_meta_value("weekly_report_sent", "2026-11-23")
        return ids
    finally:
        await store.aclose()


async def _reads(store: Store, ids: list[int]) -> dict[str, Any]:
    """What the store itself reads back of every seeded table."""
    return {
        "open": await store.open_inquiries(),
        "alert_log": [await store.alert_log(i) for i in ids],
        "outbox": await store.outbox_counts(),
        "answers": [await store.answers_for(i) for i in ids],
        "vacations": await store.vacation_ranges(),
        "cursor": await store.load_cursor("shop", StreamKind.PRODUCT_QNA),
    }


async def _open_inquiries(url: str) -> list[StoredInquiry]:
    store = await Store.open(url)
    try:
        return await store.open_inquiries()
    finally:
        await store.aclose()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_a_sqlite_queue_is_copied_whole_ids_kept_and_new_ids_come_after(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    path = tmp_path / "inqd.db"
    ids = await _seed_queue(path)
    source, target = await Store.open(path), await Store.open(postgres_server.new_database())
    try:
        counts = await source.copy_into(target, batch_rows=2)  # several batches per table
        assert await _reads(target, ids) == await _reads(source, ids)
        seeded = ("inquiries", "outbox", "alert_log", "answers", "vacations", "events", "meta", "cursors")
        assert all(counts[table] > 0 for table in seeded), counts
        outcome = await target.record_poll(
            "shop",
            StreamKind.PRODUCT_QNA,
            PollResult(inquiries=(make_inquiry("after"),), cursor={}),
            now=START,
            channels=("sink",),
            notify_new=True,
        )
        assert min(outcome.new_ids) > max(ids)
        assert await target.save_draft(outcome.new_ids[0], "네", now=START)  # answers' ids move on too
    finally:
        await source.aclose()
        await target.aclose()


async def test_a_target_with_inquiries_is_refused_and_keeps_its_own(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    await _seed_queue(tmp_path / "inqd.db")
    url = postgres_server.new_database()
    target = await Store.open(url)
    await target.record_poll(
        "other",
        StreamKind.PRODUCT_QNA,
        PollResult(inquiries=(make_inquiry("theirs", account_id="other"),), cursor={}),
        now=START,
        channels=("sink",),
        notify_new=True,
    )
    source = await Store.open(tmp_path / "inqd.db")
    try:
        with pytest.raises(TargetNotEmpty):
            await source.copy_into(target)
        assert [s.inquiry.external_id for s in await target.open_inquiries()] == ["theirs"]
    finally:
        await source.aclose()
        await target.aclose()


def _config(tmp_path: Path, url: str | None) -> Path:
    config = tmp_path / "inqd.toml"
    extra = f'database_url = "{url}"' if url else ""
    config.write_text(CONFIG.format(db=tmp_path / "unused.db", extra=extra), encoding="utf-8")
    return config


def _migrate_args(tmp_path: Path, url: str, source: Path, lang: str = "en") -> list[str]:
    """`inqd migrate` of the SQLite file `source` into the PostgreSQL database at `url`."""
    return ["migrate", "--config", str(_config(tmp_path, url)), "--from", f"sqlite:{source}", "--lang", lang]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_inqd_migrate_prints_the_rows_per_table_and_leaves_the_file_as_it_was(
    tmp_path: Path, postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str], lang: str
) -> None:
    path = tmp_path / "inqd.db"
    ids = asyncio.run(_seed_queue(path))
    before = _digest(path)
    url = postgres_server.new_database()
    code = main(_migrate_args(tmp_path, url, path, lang))
    out = capsys.readouterr().out
    assert code == 0
    assert f"  inquiries: {len(ids)}{'행' if lang == 'ko' else ' rows'}" in out.splitlines()
    assert _digest(path) == before
    assert len(asyncio.run(_open_inquiries(url))) == len(ids) - 1  # the answered one is copied, not open


def test_inqd_migrate_refuses_in_one_line_a_target_with_inquiries(
    tmp_path: Path, postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "inqd.db"
    asyncio.run(_seed_queue(path))
    url = postgres_server.new_database()
    args = _migrate_args(tmp_path, url, path)
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "already holds inquiries" in err


async def test_inqd_migrate_refuses_while_a_daemon_holds_the_target(
    tmp_path: Path, postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "inqd.db"
    await _seed_queue(path)
    url = postgres_server.new_database()
    daemon = await Store.open(url)
    try:
        assert await daemon.hold_database(alone=False)
        args = _migrate_args(tmp_path, url, path)
        assert await asyncio.to_thread(main, args) == 2  # a loop of its own, beside this test's
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "a daemon runs on" in err
        assert await daemon.open_inquiries() == []
    finally:
        await daemon.aclose()


def test_inqd_migrate_refuses_a_sqlite_target_and_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = str(_config(tmp_path, None))
    missing = tmp_path / "nowhere.db"
    assert main(["migrate", "-c", config, "--from", f"sqlite:{missing}", "--lang", "en"]) == 2
    assert capsys.readouterr().err == f"inqd: no SQLite file at {missing}\n"
    assert not missing.exists()
    source = tmp_path / "inqd.db"
    source.write_bytes(b"")
    assert main(["migrate", "-c", config, "--from", f"sqlite:{source}", "--lang", "en"]) == 2
    assert "the target must be PostgreSQL" in capsys.readouterr().err
    assert main(["migrate", "-c", config, "--from", str(source), "--lang", "en"]) == 2
    assert "--from takes sqlite:PATH" in capsys.readouterr().err


def test_inqd_migrate_refuses_while_a_daemon_runs_on_the_sqlite_file(
    tmp_path: Path, postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "inqd.db"
    asyncio.run(_seed_queue(path))
    url = postgres_server.new_database()
    args = _migrate_args(tmp_path, url, path)
    daemon = InstanceLock.acquire(path)
    try:
        assert main(args) == 2
    finally:
        daemon.release()
    assert (
        capsys.readouterr().err
        == f"inqd: a daemon runs on {path}: stop it first (the queue must not change while it moves)\n"
    )
    assert asyncio.run(_open_inquiries(url)) == []
    assert main(args) == 0  # once it has stopped


def test_inqd_migrate_says_in_one_line_when_postgres_cannot_be_reached(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "inqd.db"
    asyncio.run(_seed_queue(path))
    with socket.socket() as unused:  # a port nothing listens on: the connection is refused at once
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    url = f"postgresql://inqd@127.0.0.1:{port}/inqd"
    args = _migrate_args(tmp_path, url, path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("inqd: cannot open the database: ")
    assert err.count("\n") == 1
