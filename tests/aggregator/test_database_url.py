"""database_url: unset, the store is the SQLite file at db_path; a PostgreSQL URL is a secret (env, secrets_dir,
or the TOML), never echoed, and refused as "not finished" until every store test passes on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.settings import ConfigError, load_settings

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
    assert load_settings(_config(tmp_path)).database_location() == tmp_path / "inqd.db"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("toml", "PostgreSQL support is not finished"),
        ("env", "PostgreSQL support is not finished"),
        ("secrets_dir", "PostgreSQL support is not finished"),
    ],
)
def test_a_postgres_url_from_any_source_is_refused_as_unfinished_without_echoing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, expected: str
) -> None:
    extra = f'database_url = "{URL}"' if source == "toml" else ""
    if source == "env":
        monkeypatch.setenv("INQD_DATABASE_URL", URL)
    if source == "secrets_dir":
        (tmp_path / "database_url").write_text(URL + "\n", encoding="utf-8")
        monkeypatch.setenv("INQD_SECRETS_DIR", str(tmp_path))
    with pytest.raises(ConfigError) as refused:
        load_settings(_config(tmp_path, extra))
    assert expected in str(refused.value)
    assert "database_url" in str(refused.value)
    assert PASSWORD not in str(refused.value)


def test_a_url_of_another_engine_is_refused_without_echoing_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(_config(tmp_path, f'database_url = "mysql://inqd:{PASSWORD}@host/db"'))
    assert 'starts with "postgresql://"' in str(refused.value)
    assert PASSWORD not in str(refused.value)
