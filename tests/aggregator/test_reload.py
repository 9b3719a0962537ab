"""The running daemon re-reads its config file: hours, calendar and SLA apply live and the timers are planned
again; a file `inqd check` refuses changes nothing; keys only a restart applies are named, not applied."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from aggregator.daemon import Daemon
from aggregator.settings import load_settings
from core.models import KST
from tests.conftest import MakeSettings
from tests.fakes import FakeClock
from tests.processes import finish, read_until, start

CONFIG = """db_path = "{db}"
quiet_hours = ["night"]
work_hours = ["cs-hours"]
{extra}
[[notifiers]]
type = "sink"
file = "{sink}"
"""
MONDAY_23 = datetime(2026, 11, 23, 23, 0, tzinfo=KST)
MONDAY_20 = datetime(2026, 11, 23, 20, 0, tzinfo=KST)


def _write(path: Path, extra: str = "", **keys: str) -> None:
    text = CONFIG.format(db=path.parent / "inqd.db", sink=path.parent / "sink.jsonl", extra=extra)
    for key, value in keys.items():
        text = text.replace(f'{key} = ["night"]', f"{key} = {value}").replace(
            f'{key} = ["cs-hours"]', f"{key} = {value}"
        )
    path.write_text(text, encoding="utf-8")


@pytest.fixture
async def daemon(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Daemon]:
    config = tmp_path / "inqd.toml"
    _write(config)
    built = await Daemon.build(load_settings(config), clock=clock)
    try:
        yield built
    finally:
        await built.aclose()


async def test_new_hours_apply_and_timers_are_planned_again(daemon: Daemon, tmp_path: Path) -> None:
    assert daemon.policies.quiet.contains(MONDAY_23)
    assert not daemon.policies.quiet.contains(MONDAY_20)
    _write(tmp_path / "inqd.toml", quiet_hours='["월-금 19:00-08:00"]', work_hours='["월-금 09:00-18:00"]')
    reloaded = await daemon.reload_settings()
    assert reloaded.applied and reloaded.restart_needed == ()
    assert daemon.settings.quiet_hours == ("월-금 19:00-08:00",)
    assert daemon.policies.quiet.contains(MONDAY_20)
    assert daemon.policies.work.contains(MONDAY_20.replace(hour=9))
    # The plans were made again for the new policies: the stored fingerprint is the new one.
    assert await daemon.store.reset_alert_plans(daemon.settings.policy_fingerprint(daemon.vacations)) is None


async def test_a_refused_file_keeps_the_old_settings(daemon: Daemon, tmp_path: Path) -> None:
    before = daemon.settings, daemon.policies
    _write(tmp_path / "inqd.toml", quiet_hours='["월-금 25:00-08:00"]')
    reloaded = await daemon.reload_settings()
    assert not reloaded.applied
    assert len(reloaded.problems) == 1 and reloaded.problems[0].startswith("quiet_hours")
    assert (daemon.settings, daemon.policies) == before


async def test_keys_that_need_a_restart_are_named_not_applied(daemon: Daemon, tmp_path: Path) -> None:
    channels = daemon.settings.notifiers
    extra = '\npoll_jitter = 0.2\n[sla]\ndefault_deadline = "12h"\n[[notifiers]]\ntype = "sink"\nname = "second"\n'
    _write(tmp_path / "inqd.toml", extra=extra)
    reloaded = await daemon.reload_settings()
    assert reloaded.applied
    assert set(reloaded.restart_needed) == {"notifiers", "poll_jitter"}
    assert daemon.settings.notifiers == channels
    assert daemon.settings.poll_jitter == 0.1
    assert daemon.policies.sla.default_deadline == timedelta(hours=12)  # the SLA applies live


async def test_a_daemon_without_a_file_has_nothing_to_reload(clock: FakeClock, make_settings: MakeSettings) -> None:
    built = await Daemon.build(make_settings(), clock=clock)
    try:
        reloaded = await built.reload_settings()
    finally:
        await built.aclose()
    assert not reloaded.applied and reloaded.problems


def test_sighup_makes_inqd_run_reread_its_file(tmp_path: Path, procs: list[subprocess.Popen[bytes]]) -> None:
    config = tmp_path / "inqd.toml"
    _write(config, extra="[admin]\nenabled = false\n")
    proc = start(["run", "--config", str(config)])
    procs.append(proc)
    seen: list[str] = []
    read_until(proc, "daemon_started", seen)
    _write(config, extra="[admin]\nenabled = false\n", quiet_hours='["월-금 25:00-08:00"]')
    proc.send_signal(signal.SIGHUP)
    read_until(proc, "reload_refused", seen)  # a bad file: refused, the daemon runs on
    _write(config, extra="[admin]\nenabled = false\n", quiet_hours='["월-금 19:00-08:00"]')
    proc.send_signal(signal.SIGHUP)
    read_until(proc, "settings_reloaded", seen)
    proc.send_signal(signal.SIGTERM)
    output = finish(proc, seen)
    assert proc.returncode == 0
    assert "quiet_hours" in output  # the refusal names the key
