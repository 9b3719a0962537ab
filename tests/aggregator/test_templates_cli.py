"""`inqd templates` lists and previews the seller's templates; the config says where they are; `inqd init` writes
the starter set beside the config and never overwrites the seller's own."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.cli.main import main
from aggregator.init.config import ConfigFile, Hours
from aggregator.init.starter_templates import STARTER_TEMPLATES
from aggregator.settings import Settings, load_settings
from aggregator.store import Store
from core.models import Inquiry, PollResult, StreamKind
from tests.conftest import make_inquiry

OWN_TEMPLATES = """
[[templates]]
name = "지연"
category = "배송"
title = "배송 지연 안내"
body = "{쇼핑몰}입니다. {주문번호} 건은 {약속일:+2영업일}까지 보내 드리겠습니다."

[[templates]]
name = "오타"
category = "상품"
title = "안내"
body = "{상품 명} 안내드립니다."
"""


def _seed(db: Path, *inquiries: Inquiry) -> None:
    async def seed() -> None:
        store = await Store.open(db)
        now = datetime.now(UTC)
        for inquiry in inquiries:
            result = PollResult(inquiries=(inquiry,), cursor={})
            await store.record_poll("shop", inquiry.stream, result, now=now, channels=(), notify_new=False)
        await store.aclose()

    asyncio.run(seed())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config with a shop name, a database of two inquiries and the seller's own templates beside it."""
    public = make_inquiry("q1", received_at=datetime.now(UTC))
    private = replace(
        make_inquiry("c1", stream=StreamKind.CALL_CENTER, received_at=datetime.now(UTC)), order_id="2000012345678"
    )
    _seed(tmp_path / "inqd.db", public, private)
    (tmp_path / "templates.toml").write_text(OWN_TEMPLATES, encoding="utf-8")
    path = tmp_path / "inqd.toml"
    path.write_text(f'db_path = "{tmp_path / "inqd.db"}"\nshop_name = "바른생활"\n', encoding="utf-8")
    return path


def test_the_templates_file_defaults_to_the_config_directory(tmp_path: Path) -> None:
    path = tmp_path / "inqd.toml"
    path.write_text("", encoding="utf-8")
    assert load_settings(path).templates_path == tmp_path / "templates.toml"
    path.write_text('templates_file = "/srv/answers.toml"\n', encoding="utf-8")
    assert load_settings(path).templates_path == Path("/srv/answers.toml")
    assert Settings().templates_path == Path("templates.toml")


def test_list_by_category(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "[배송]\n  지연 — 배송 지연 안내 (변수: 쇼핑몰, 주문번호, 약속일:+2영업일)" in out
    assert "! 알 수 없는 변수: 상품 명" in out
    assert main(["templates", "--config", str(config), "--category", "환불"]) == 0
    assert "환불 템플릿이 없습니다." in capsys.readouterr().out


def test_preview_for_a_private_and_a_public_inquiry(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "--config", str(config), "--preview", "지연", "--inquiry", "2"]) == 0
    out = capsys.readouterr().out
    assert "#2 쿠팡 고객센터 문의" in out and "바른생활입니다. 2000012345678 건은" in out
    assert "약속: " in out and "검사: 문제 없음" in out
    assert main(["templates", "--config", str(config), "--preview", "지연", "--inquiry", "1"]) == 0
    out = capsys.readouterr().out
    assert "{주문번호} 건은" in out
    assert "✖ 막음 주문번호: ‘{주문번호}’. 상품문의 답변은 공개되므로 주문번호를 넣을 수 없습니다." in out


def test_preview_of_a_sample(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "--config", str(config), "--preview", "오타"]) == 0
    out = capsys.readouterr().out
    assert "예시 문의" in out and "✖ 막음 채워지지 않은 변수: ‘{상품 명}’" in out


@pytest.mark.parametrize(
    ("argv", "code", "error"),
    [
        (["--preview", "없음"], 1, "inqd: no template named '없음' (templates: 지연, 오타)"),
        (["--preview", "지연", "--inquiry", "99"], 1, "inqd: no inquiry #99 (see inqd queue)"),
        (["--inquiry", "1"], 2, "inqd: --inquiry needs --preview NAME"),
    ],
)
def test_bad_requests_get_one_line(
    config: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, error: str
) -> None:
    assert main(["templates", "--config", str(config), *argv]) == code
    assert capsys.readouterr().err == error + "\n"


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "templates.toml: no templates file (inqd init writes a starter set)"),
        ("[[templates]]\nname = 'a'\n", "templates.toml: templates[0].category: field required"),
    ],
)
def test_a_missing_or_bad_file_exits_2(
    config: Path, capsys: pytest.CaptureFixture[str], content: str | None, error: str
) -> None:
    templates = config.parent / "templates.toml"
    if content is None:
        templates.unlink()
    else:
        templates.write_text(content, encoding="utf-8")
    assert main(["templates", "--config", str(config)]) == 2
    assert capsys.readouterr().err == f"inqd: {config.parent / error}\n"


def test_init_writes_the_starter_set_once(tmp_path: Path) -> None:
    config = tmp_path / "inqd.toml"
    said: list[str] = []
    ConfigFile(config, secrets_dir=None, db_path=None, lang="ko").save([], Hours(), tell=said.append)

    templates = tmp_path / "templates.toml"
    assert templates.read_text(encoding="utf-8") == STARTER_TEMPLATES
    assert f"답변 템플릿 예시를 썼습니다: {templates}" in "\n".join(said)
    assert main(["templates", "--config", str(config)]) == 0

    templates.write_text(OWN_TEMPLATES, encoding="utf-8")
    said.clear()
    ConfigFile(config, secrets_dir=None, db_path=None, lang="en").save([], Hours(), tell=said.append)
    assert templates.read_text(encoding="utf-8") == OWN_TEMPLATES
    assert not any("templates" in line for line in said)
