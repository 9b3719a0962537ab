"""The words a seller reads: one language per run, particles that fit the word before them, Korean columns that
line up, and a failed test notification that says what failed and what to check.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import respx

from aggregator.cli.main import main
from aggregator.cli.queue_table import display_width
from aggregator.language import run_language
from aggregator.store import Store
from core.models import Category, Inquiry, Marketplace, PollResult, StreamKind
from core.particles import with_particle
from tests.conftest import START

PARTICLES = [
    ("2026-12-27", "를", "2026-12-27을"),
    ("2026-12-22", "을", "2026-12-22를"),
    ("2026-12-24..2026-12-30", "를", "2026-12-24..2026-12-30을"),
    ("10", "가", "10이"),
    ("5", "은", "5는"),
    ("쿠팡", "가", "쿠팡이"),
    ("11번가", "이", "11번가가"),
    ("상품문의", "을", "상품문의를"),
    ("서울", "으로", "서울로"),
    ("부산", "로", "부산으로"),
    ("010-1234-5678", "으로", "010-1234-5678로"),
    ("3", "로", "3으로"),
    ("G마켓", "와", "G마켓과"),
    ("“상품문의”", "을", "“상품문의”를"),
    ("sink", "을", "sink을(를)"),
    ("'phone'", "이", "'phone'이(가)"),
]


@pytest.mark.parametrize(("word", "form", "expected"), PARTICLES)
def test_the_particle_fits_how_the_word_ends(word: str, form: str, expected: str) -> None:
    assert with_particle(word, form) == expected


LANGUAGES = [
    (None, {}, "ko"),
    (None, {"LANG": "ko_KR.UTF-8"}, "ko"),
    (None, {"LANG": "C.UTF-8"}, "ko"),
    (None, {"LANG": "en_US.UTF-8"}, "en"),
    (None, {"LANG": "ko_KR.UTF-8", "LC_ALL": "en_GB.UTF-8"}, "en"),
    ("ko", {"LANG": "en_US.UTF-8"}, "ko"),
    ("en", {}, "en"),
]


@pytest.mark.parametrize(("flag", "environ", "expected"), LANGUAGES)
def test_the_language_of_a_run(flag: str | None, environ: dict[str, str], expected: str) -> None:
    assert run_language(flag, environ) == expected


def test_an_english_locale_makes_every_line_english(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert main(["schedule", "--from", "2025-10-02", "--days", "2"]) == 0
    assert main(["queue", "--db", str(tmp_path / "none.db")]) == 1
    config = tmp_path / "inqd.toml"
    config.write_text("", encoding="utf-8")
    assert main(["check", "--config", str(config), "--lang", "ko"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[:3] == [
        "time zone Asia/Seoul · quiet hours: night, closed-days · work hours: cs-hours",
        "10/02 (Thu) — quiet 00:00–09:00, 22:00–24:00 · work 13:00–18:00",
        "10/03 (Fri) 개천절 — quiet all day",
    ]
    assert captured.out.splitlines()[3] == f"{config}: 설정이 올바릅니다"
    assert captured.err == f"inqd: no database yet at {tmp_path / 'none.db'} (run the daemon first)\n"


def test_a_vacation_is_recorded_with_the_particle_of_its_last_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "inqd.toml"
    config.write_text(f'db_path = "{tmp_path / "inqd.db"}"\n', encoding="utf-8")
    asyncio.run(_seed(tmp_path / "inqd.db", []))
    assert main(["vacation", "add", "2026-12-24..2026-12-27", "--config", str(config)]) == 0
    assert "1번 휴가 2026-12-24..2026-12-27을 기록했습니다" in capsys.readouterr().out


def _inquiry(external_id: str, marketplace: Marketplace, stream: StreamKind, site: str | None = None) -> Inquiry:
    return Inquiry(
        account_id="shop",
        marketplace=marketplace,
        stream=stream,
        external_id=external_id,
        received_at=START - timedelta(hours=int(external_id)),
        body=f"배송 문의 {external_id}번",
        category=Category.DELIVERY,
        product_name="무선 이어폰",
        site=site,
    )


async def _seed(db: Path, inquiries: list[Inquiry]) -> None:
    store = await Store.open(db)
    for inquiry in inquiries:
        result = PollResult(inquiries=(inquiry,), cursor={})
        await store.record_poll("shop", inquiry.stream, result, now=START, channels=(), notify_new=False)
    await store.aclose()


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_queue_columns_line_up_with_korean_in_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lang: str
) -> None:
    inquiries = [
        _inquiry("1", Marketplace.COUPANG, StreamKind.CALL_CENTER),
        _inquiry("2", Marketplace.NAVER, StreamKind.CUSTOMER_INQUIRY),
        _inquiry("3", Marketplace.ELEVENST, StreamKind.URGENT),
        _inquiry("4", Marketplace.ESM, StreamKind.PRODUCT_QNA, site="G마켓"),
    ]
    asyncio.run(_seed(tmp_path / "inqd.db", inquiries))
    assert main(["queue", "--db", str(tmp_path / "inqd.db"), "--lang", lang]) == 0
    header, *rows, count = capsys.readouterr().out.splitlines()
    streams = ["고객센터 문의", "고객문의", "긴급알리미", "상품문의"] if lang == "ko" else ["call center", "customer"]
    stream_at = {display_width(header[: header.index("스트림" if lang == "ko" else "STREAM")])}
    stream_at |= {display_width(row[: row.index(name)]) for row in rows for name in streams if name in row}
    excerpt_at = {display_width(header[: header.index("내용" if lang == "ko" else "EXCERPT")])}
    excerpt_at |= {display_width(row[: row.index("배송 문의")]) for row in rows}
    assert len(rows) == 4
    assert (len(stream_at), len(excerpt_at)) == (1, 1)
    assert count == ("미답변 4건" if lang == "ko" else "4 open")


# (channel config, how the server answers, what the line must say)
FAILURES = [
    (
        "type = 'ntfy'\nname = 'phone'\nserver_url = 'http://127.0.0.1:8'\ntopic = 't1'\n",
        httpx.ConnectError("refused"),
        "phone (ntfy): 보내지 못했습니다 — ntfy 서버 http://127.0.0.1:8에 연결하지 못했습니다 (ConnectError). "
        "server_url과 이 컴퓨터의 네트워크를 확인하세요 (실행 중인 inqd는 다시 시도합니다)",
    ),
    (
        "type = 'ntfy'\nname = 'phone'\nserver_url = 'http://127.0.0.1:8'\ntopic = 't1'\n",
        httpx.ReadTimeout("slow"),
        "phone (ntfy): 보내지 못했습니다 — http://127.0.0.1:8 서버가 제때 답하지 않았습니다 (ReadTimeout).",
    ),
    (
        "type = 'ntfy'\nname = 'phone'\nserver_url = 'http://127.0.0.1:8'\ntopic = 't1'\n",
        httpx.Response(401),
        "ntfy 서버가 인증을 거부했습니다 (HTTP 401). token(또는 username, password)과 그 토픽에 쓸 권한을 확인하세요",
    ),
    (
        "type = 'ntfy'\nname = 'phone'\nserver_url = 'http://127.0.0.1:8'\ntopic = 't1'\n",
        httpx.Response(404),
        "ntfy 서버에 그런 토픽이 없습니다 (HTTP 404). topic과 server_url을 확인하세요",
    ),
    (
        "type = 'telegram'\nname = 'tg'\nbot_token = '1:x'\nchat_id = '42'\nbase_url = 'http://127.0.0.1:8'\n",
        httpx.Response(401, json={"ok": False, "description": "Unauthorized"}),
        "텔레그램이 봇을 거부했습니다 (HTTP 401 (Unauthorized)). bot_token을 확인하고",
    ),
    (
        "type = 'telegram'\nname = 'tg'\nbot_token = '1:x'\nchat_id = '42'\nbase_url = 'http://127.0.0.1:8'\n",
        httpx.Response(400, json={"ok": False, "description": "Bad Request: chat not found"}),
        "텔레그램이 메시지를 거부했습니다 (HTTP 400 (Bad Request: chat not found)). chat_id와",
    ),
    (
        "type = 'webhook'\nname = 'hook'\nurl = 'http://127.0.0.1:8/hook'\n",
        httpx.Response(503),
        "hook (webhook): 보내지 못했습니다 — 서버가 지금 받지 못합니다: 과부하나 장애 (HTTP 503). "
        "잠시 뒤 다시 해 보세요",
    ),
]


@pytest.mark.parametrize(("channel", "answer", "expected"), FAILURES)
def test_a_failed_test_notification_says_what_failed_and_what_to_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], channel: str, answer: object, expected: str
) -> None:
    config = tmp_path / "inqd.toml"
    config.write_text("[[notifiers]]\n" + channel, encoding="utf-8")
    with respx.mock(assert_all_mocked=True) as router:
        route = router.route(host="127.0.0.1")
        route.mock(side_effect=answer) if isinstance(answer, Exception) else route.mock(return_value=answer)
        assert main(["test-notify", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert expected in out
    assert "1:x" not in out
