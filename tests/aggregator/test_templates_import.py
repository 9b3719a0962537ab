"""`inqd templates --import-naver`: the seller's own Naver templates appended to the templates file (comments kept,
the old file as .bak, questionType mapped to our categories, names already there skipped), Naver faked with respx;
and `inqd check` validating the templates file."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import respx

from aggregator.cli.main import main
from aggregator.templates import naver_templates
from core.models import Category
from policies.templates import parse_templates

BASE_URL = "https://api.commerce.naver.com/external"
OWN = """# 우리 가게 템플릿 (손으로 쓴 주석)
[[templates]]
name = "배송 지연 (네이버)"
category = "배송"
title = "배송 지연"
body = "이미 있는 템플릿입니다."
"""
NAVER_ROWS = [
    {"questionType": "DELIVERY", "subject": "배송 지연", "content": "늦어져 죄송합니다."},
    {"questionType": "EXCHANGE", "subject": "교환 안내", "content": "교환은 {주문 내역}에서 신청해 주세요.\n감사."},
    {"questionType": "ETC", "subject": "", "content": '문의 감사합니다. "확인" 후 안내드립니다.'},
]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config with one Naver account (`store`) and one Coupang account, the seller's templates beside it."""
    monkeypatch.setenv("INQD_STORE__CLIENT_SECRET", "$2a$04$abcdefghijklmnopqrstuu")
    monkeypatch.setenv("INQD_SHOP__ACCESS_KEY", "ak")
    monkeypatch.setenv("INQD_SHOP__SECRET_KEY", "sk")
    (tmp_path / "templates.toml").write_text(OWN, encoding="utf-8")
    path = tmp_path / "inqd.toml"
    path.write_text(
        f'db_path = "{tmp_path / "inqd.db"}"\n'
        '[[accounts]]\nid = "store"\nmarketplace = "naver"\nclient_id = "aBcDeFgHiJkLmNoPqRsTuV"\n'
        '[[accounts]]\nid = "shop"\nmarketplace = "coupang"\nvendor_id = "A00012345"\n',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def naver() -> Iterator[respx.MockRouter]:
    """Naver's token endpoint and the templates list."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False, assert_all_mocked=True) as mock:
        mock.post("/v1/oauth2/token").respond(200, json={"access_token": "t", "expires_in": 10800})
        mock.get("/v1/contents/qnas/templates").respond(200, json=NAVER_ROWS)
        yield mock


def test_import_appends_keeps_comments_and_skips_names_there(
    config: Path, naver: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    path = config.parent / "templates.toml"
    assert main(["templates", "--config", str(config), "--import-naver", "store"]) == 0
    out = capsys.readouterr().out
    assert "네이버 템플릿 3개: 2개 추가, 1개는 같은 이름이 있어 건너뜀" in out
    text = path.read_text(encoding="utf-8")
    assert text.startswith(OWN.rstrip("\n"))  # the seller's file, comments and all, untouched
    assert "네이버 스마트스토어센터에서 가져옴" in text
    assert (config.parent / "templates.toml.bak").read_text(encoding="utf-8") == OWN
    templates = {t.name: t for t in parse_templates(text)}
    assert templates["배송 지연 (네이버)"].body == "이미 있는 템플릿입니다."
    assert templates["교환 안내 (네이버)"].category is Category.EXCHANGE
    assert templates["교환 안내 (네이버)"].body == "교환은 ｛주문 내역｝에서 신청해 주세요.\n감사."
    assert templates["교환 안내 (네이버)"].unknown_variables() == ()
    assert templates["네이버 템플릿 3 (네이버)"].category is Category.OTHER
    assert main(["templates", "--config", str(config), "--import-naver", "store"]) == 0
    assert "0개 추가, 3개는 같은 이름이 있어 건너뜀" in capsys.readouterr().out
    assert path.read_text(encoding="utf-8") == text


def test_import_into_a_new_file(config: Path, naver: respx.MockRouter) -> None:
    path = config.parent / "templates.toml"
    path.unlink()
    assert main(["templates", "--config", str(config), "--import-naver", "store"]) == 0
    assert len(parse_templates(path.read_text(encoding="utf-8"))) == 3
    assert not (config.parent / "templates.toml.bak").exists()


def test_import_needs_a_naver_account_and_a_working_one(
    config: Path, naver: respx.MockRouter, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["templates", "--config", str(config), "--import-naver", "shop"]) == 2
    assert "'shop' is not a Naver account of this config (Naver accounts: store)" in capsys.readouterr().err
    naver.get("/v1/contents/qnas/templates").respond(500, json={"code": "GW.INTERNAL", "message": "down"})
    assert main(["templates", "--config", str(config), "--import-naver", "store"]) == 1
    assert "Naver did not give the templates" in capsys.readouterr().err
    assert (config.parent / "templates.toml").read_text(encoding="utf-8") == OWN


def test_every_question_type_maps_to_a_category() -> None:
    rows = [(kind, kind, "본문") for kind in ("PRODUCT", "DELIVERY", "RETURN", "EXCHANGE", "REFUND", "ETC")]
    assert [t.category.value for t in naver_templates(rows)] == ["상품", "배송", "반품", "교환", "환불", "기타"]


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ('[[templates]]\nname = "지연"\ncategory = "배송"\n', "templates[0] ('지연').title: field required"),
        (
            '[[templates]]\nname = "지연"\ncategory = "택배"\ntitle = "t"\nbody = "b"\n',
            "templates[0] ('지연').category: unknown category '택배'",
        ),
        (
            '[[templates]]\nname = "오타"\ncategory = "상품"\ntitle = "t"\nbody = "{상품 명} 안내"\n',
            "templates[0] ('오타').body: unknown variable {상품 명}",
        ),
    ],
)
def test_check_validates_the_templates_file(
    config: Path, capsys: pytest.CaptureFixture[str], body: str, line: str
) -> None:
    path = config.parent / "templates.toml"
    assert main(["check", "--lang", "en", "--config", str(config)]) == 0
    assert f"answer templates: 1 in {path}" in capsys.readouterr().out
    path.write_text(body, encoding="utf-8")
    assert main(["check", "--lang", "en", "--config", str(config)]) == 2
    [error] = capsys.readouterr().err.splitlines()
    assert error.startswith(f"inqd: config error: {path}: {line}")


def test_check_without_a_templates_file_says_nothing_of_it(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (config.parent / "templates.toml").unlink()
    assert main(["check", "--lang", "en", "--config", str(config)]) == 0
    assert "answer templates" not in capsys.readouterr().out
    assert tomllib.loads(config.read_text(encoding="utf-8"))  # the config itself untouched
