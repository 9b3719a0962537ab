"""database_url: unset, the store is the SQLite file at db_path; a PostgreSQL URL is a secret (env, secrets_dir,
or the TOML), never echoed; `inqd check` reaches the database, or says in one line why it cannot (exit 2)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from aggregator.cli.main import main
from aggregator.settings import ConfigError, load_settings
from aggregator.store import Store
from aggregator.store.migrations import MIGRATIONS, POSTGRES_MIGRATIONS
from core.models import PollResult, StreamKind
from tests.conftest import START, make_inquiry
from tests.postgres_server import PostgresServer

CONFIG = """db_path = "{db}"
{extra}
[[notifiers]]
type = "sink"
"""
PASSWORD = "s3cret-pw"
URL = f"postgresql://inqd:{PASSWORD}@127.0.0.1:5432/inqd"


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "inqd.toml"
    path.write_text(CONFIG.format(db=tmp_path / "inqd.db", extra=extra), encoding="utf-8")
    return path


def test_without_a_url_the_store_is_the_sqlite_file(tmp_path: Path) -> None:
    settings = load_settings(_config(tmp_path))
    assert (settings.database_location(), settings.database_label) == (tmp_path / "inqd.db", str(tmp_path / "inqd.db"))


@pytest.mark.parametrize("source", ["toml", "env", "secrets_dir"])
def test_a_postgres_url_comes_from_any_secret_source_and_is_shown_without_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    extra = f'database_url = "{URL}"' if source == "toml" else ""
    if source == "env":
        monkeypatch.setenv("INQD_DATABASE_URL", URL)
    if source == "secrets_dir":
        (tmp_path / "database_url").write_text(URL + "\n", encoding="utf-8")
        monkeypatch.setenv("INQD_SECRETS_DIR", str(tmp_path))
    settings = load_settings(_config(tmp_path, extra))
    assert settings.database_location() == URL
    assert settings.database_label == "postgresql://inqd@127.0.0.1:5432/inqd"
    assert PASSWORD not in repr(settings)


def test_a_url_of_another_engine_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(_config(tmp_path, f'database_url = "mysql://inqd:{PASSWORD}@host/db"'))
    assert 'database_url: database_url starts with "postgresql://"' in str(refused.value)
    assert PASSWORD not in str(refused.value)


def test_check_reads_the_sqlite_schema_without_creating_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--lang", "en", "check", "--config", str(_config(tmp_path))]) == 0
    assert f"database schema: v0 (this inqd: v{len(MIGRATIONS)};" in capsys.readouterr().out
    assert not (tmp_path / "inqd.db").exists()


def test_check_reaches_postgres_and_reads_its_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_server: PostgresServer
) -> None:
    url = postgres_server.new_database()
    asyncio.run(_migrated(url))
    config = _config(tmp_path, f'database_url = "{url}"')
    assert main(["--lang", "en", "check", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert f"database: {url}" in out
    assert f"database schema: v{len(POSTGRES_MIGRATIONS)} (this inqd: v{len(POSTGRES_MIGRATIONS)};" in out


def test_check_on_an_unreachable_postgres_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, f'database_url = "postgresql://inqd:{PASSWORD}@127.0.0.1:9/inqd"')  # nothing on :9
    assert main(["--lang", "en", "check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("inqd: cannot reach the database postgresql://inqd@127.0.0.1:9/inqd: ")
    assert err.count("\n") == 1
    assert PASSWORD not in err


async def _migrated(url: str) -> None:
    await (await Store.open(url)).aclose()


def test_the_terminal_commands_read_the_postgres_queue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_server: PostgresServer
) -> None:
    url = postgres_server.new_database()
    asyncio.run(_with_one_inquiry(url))
    config = str(_config(tmp_path, f'database_url = "{url}"'))
    assert main(["--lang", "en", "queue", "--config", config, "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["id"] == 1
    assert main(["--lang", "en", "explain", "1", "--config", config]) == 0
    assert not (tmp_path / "inqd.db").exists()  # nothing went to the SQLite file


async def _with_one_inquiry(url: str) -> None:
    store = await Store.open(url)
    result = PollResult(inquiries=(make_inquiry("1"),), cursor={})
    await store.record_poll("shop", StreamKind.PRODUCT_QNA, result, now=START, channels=(), notify_new=True)
    await store.aclose()
