"""Before a kakao channel's login ends: one reminder 14 days and one 3 days before (and one on the day), through the
OTHER channels, once each across a restart; and `inqd status`'s warning line, exit 3 within the last 3 days."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.cli.main import main
from aggregator.cli.status_report import needs_attention, status_lines, status_report
from aggregator.cli.words import Words
from aggregator.connection_watch import ConnectionWatch
from aggregator.notifiers.kakao_auth import token_path as token_file
from aggregator.settings import Settings
from aggregator.settings.notify import KakaoConfig
from aggregator.store import Channels, Store
from aggregator.wiring import build_connection_watch
from core.models import KST, MessageKind
from tests.conftest import START, MakeSettings, quiet_sink
from tests.fakes import FakeClock

pytestmark = pytest.mark.both_backends

DAY_S = 24 * 3600
LOGIN_ENDS = START + timedelta(days=20)  # Monday 12/14 14:00 KST
KAKAO = KakaoConfig(type="kakao", name="kakao", rest_api_key="0123456789abcdef")


def _reminders(db: Path) -> list[tuple[str, str]]:
    """(channel, body) of every Kakao login reminder queued so far, oldest first."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT channel, payload FROM outbox WHERE dedup_key LIKE 'kakao-login:%' ORDER BY id")
        return [(channel, json.loads(payload)["body"]) for channel, payload in rows]


def _watch(store: Store, clock: FakeClock, channels: Channels, ends: Callable[[], datetime | None]) -> ConnectionWatch:
    return ConnectionWatch(
        store,
        clock,
        streams=[],
        lost_after=timedelta(minutes=15),
        channels=channels,
        zone=KST,
        kakao_logins={"kakao": ends},
    )


async def test_reminders_come_14_and_3_days_before_and_on_the_day_once_each_across_a_restart(
    tmp_path: Path, clock: FakeClock
) -> None:
    db = tmp_path / "inqd.db"
    channels = {MessageKind.SYSTEM: ("kakao", "ntfy"), MessageKind.NEW_INQUIRY: ("kakao",)}
    store = await Store.open(db)
    watch = _watch(store, clock, channels, lambda: LOGIN_ENDS)
    seen: list[tuple[int, str, str]] = []
    for day in range(23):
        if day in (6, 18):  # restarts inside the 14-day and the 3-day threshold: nothing is said twice
            await store.aclose()
            store = await Store.open(db)
            watch = _watch(store, clock, channels, lambda: LOGIN_ENDS)
        before = len(_reminders(db))
        await watch.check()
        seen += [(day, channel, body.split(". ")[0]) for channel, body in _reminders(db)[before:]]
        clock.advance(DAY_S)
    await store.aclose()
    assert seen == [
        (6, "ntfy", "'kakao' 채널의 카카오 로그인이 14일 뒤 12/14 (월) 만료됩니다"),
        (17, "ntfy", "'kakao' 채널의 카카오 로그인이 3일 뒤 12/14 (월) 만료됩니다"),
        (20, "ntfy", "'kakao' 채널의 카카오 로그인이 12/14 (월) 만료됩니다(오늘)"),
    ]


async def test_the_kakao_channel_is_told_itself_when_no_other_carries_system_messages(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = await Store.open(tmp_path / "inqd.db")
    clock.advance(10 * DAY_S)
    await _watch(store, clock, {MessageKind.SYSTEM: ("kakao",)}, lambda: LOGIN_ENDS).check()
    await store.aclose()
    assert [channel for channel, _ in _reminders(tmp_path / "inqd.db")] == ["kakao"]


def _store_login(secrets_dir: Path, ends: datetime) -> None:
    stored = {
        "refresh_token": "refresh-secret",
        "refresh_token_expires_at": ends.isoformat(),
        "access_token": "access-secret",
        "access_token_expires_at": (ends - timedelta(days=50)).isoformat(),
    }
    token_file(secrets_dir, "kakao").write_text(json.dumps(stored), encoding="utf-8")


async def test_the_daemon_reads_the_login_end_from_the_token_file_each_day(
    tmp_path: Path, clock: FakeClock, make_settings: MakeSettings
) -> None:
    settings = make_settings(quiet_sink(tmp_path), KAKAO, secrets_dir=tmp_path)
    channels = {kind: settings.channels_for(kind) for kind in MessageKind}
    store = await Store.open(settings.db_path)
    watch = build_connection_watch(settings, store, clock, channels)
    _store_login(tmp_path, clock.now() + timedelta(days=10))
    await watch.check()
    _store_login(tmp_path, clock.now() + timedelta(days=60))  # `inqd kakao-login` again: a new login
    clock.advance(DAY_S)
    await watch.check()
    await store.aclose()
    reminders = _reminders(settings.db_path)
    assert [(channel, "10일 뒤" in body) for channel, body in reminders] == [("sink", True)]
    assert [secret for secret in ("refresh-secret", "access-secret") if secret in f"{reminders}"] == []


@pytest.mark.parametrize(
    ("ends", "line", "attention"),
    [
        (START + timedelta(days=30), None, False),
        (START + timedelta(days=14), "카카오 로그인 만료 14일 전 (channel kakao)", False),
        (START + timedelta(days=3), "카카오 로그인 만료 3일 전 (channel kakao)", True),
        (START + timedelta(hours=2), "카카오 로그인 오늘 만료 (channel kakao)", True),
        (START - timedelta(days=1), "카카오 로그인 만료됨 (channel kakao)", True),
        (None, "카카오 로그인 없음 (channel kakao)", True),
    ],
    ids=["30-days", "14-days", "3-days", "today", "ended", "no-login"],
)
async def test_status_warns_from_14_days_and_needs_attention_from_3(
    store: Store, ends: datetime | None, line: str | None, attention: bool
) -> None:
    report = await status_report(
        store,
        [],
        Settings().policies(),
        now=START,
        lost_after=timedelta(minutes=15),
        words=Words("ko"),
        kakao_logins={"kakao": ends},
    )
    kakao_lines = [text for text in status_lines(report, now=START, words=Words("ko")) if "카카오" in text]
    expected = [] if line is None else [f"{line} — `inqd kakao-login --channel kakao`"]
    assert (kakao_lines, needs_attention(report)) == (expected, attention)


@pytest.mark.parametrize(("days_left", "exit_code"), [(30, 0), (2, 3)])
def test_the_status_command_exits_3_when_the_kakao_login_ends_within_3_days(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], days_left: int, exit_code: int
) -> None:
    async def create_database() -> None:
        await (await Store.open(tmp_path / "inqd.db")).aclose()

    asyncio.run(create_database())
    _store_login(tmp_path, datetime.now(UTC) + timedelta(days=days_left, minutes=1))
    config = tmp_path / "inqd.toml"
    config.write_text(
        f'db_path = "{tmp_path / "inqd.db"}"\nsecrets_dir = "{tmp_path}"\n'
        '[[notifiers]]\ntype = "kakao"\nname = "kakao"\nrest_api_key = "0123456789abcdef"\n',
        encoding="utf-8",
    )
    assert main(["status", "--config", str(config), "--json"]) == exit_code
    [login] = json.loads(capsys.readouterr().out)["kakao_logins"]
    assert (login["channel"], login["days_left"]) == ("kakao", days_left)
    assert "secret" not in json.dumps(login)
