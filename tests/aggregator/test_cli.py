"""`inqd check`: a valid config prints a summary; each bad one gives one line naming the key and exit 2.

The lines are Korean unless the run is English (`--lang en`); the English ones are checked word for word.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import respx

from aggregator.cli.main import main
from aggregator.store import Store
from core.models import PollResult, StreamKind
from tests.conftest import START, make_inquiry

GOOD_ACCOUNT = """
[[accounts]]
id = "shop"
marketplace = "coupang"
vendor_id = "A00012345"
"""
SECRETS = {"INQD_SHOP__ACCESS_KEY": "ak-123456", "INQD_SHOP__SECRET_KEY": "sk-canary-123456"}


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The account's secrets, as env vars."""
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inqd.toml"
    path.write_text(text, encoding="utf-8")
    return path


BAD_CONFIGS = [
    ("[[accounts]]\nid = 'shop'\nmarketplace = 'coupang'\n", "accounts[0].vendor_id: field required"),
    (GOOD_ACCOUNT + "colour = 'red'\n", "accounts[0].colour: unknown key"),
    ("bogus = 1\n", "bogus: unknown key"),
    ("[[accounts]]\nid = 'shop'\nvendor_id = 'A00012345'\n", "accounts[0].marketplace: field required"),
    (
        "[[accounts]]\nid = 'shop'\nmarketplace = 'amazon'\n",
        "accounts[0].marketplace: unknown value 'amazon'",
    ),
    (GOOD_ACCOUNT + "poll_interval_s = 5\n", "accounts[0].poll_interval_s: must be at least 30 s"),
    (GOOD_ACCOUNT + "max_requests_per_s = 20\n", "accounts[0].max_requests_per_s: input should be less than"),
    (GOOD_ACCOUNT + "streams = ['reviews']\n", "accounts[0].streams[0]: input should be"),
    (GOOD_ACCOUNT + "streams = []\n", "accounts[0].streams: at least one stream"),
    (
        GOOD_ACCOUNT + "base_url = 'http://api.example.com'\n",
        "accounts[0].base_url: plain http is only allowed",
    ),
    (GOOD_ACCOUNT + "base_url = 'ftp://x'\n", "accounts[0].base_url: must be an http(s) URL"),
    (GOOD_ACCOUNT + "vendor_id = 'A0 0'\n", "not valid TOML"),
    (
        "[[accounts]]\nid = 'Bad Id'\nmarketplace = 'coupang'\nvendor_id = 'A00012345'\n"
        "access_key = 'a'\nsecret_key = 'b'\n",
        "accounts[0].id: use 1-40 lowercase letters",
    ),
    ("timezone = 'Mars/Olympus'\n", "timezone: unknown time zone"),
    ("poll_jitter = 0.9\n", "poll_jitter: input should be less than or equal to 0.5"),
    (GOOD_ACCOUNT + GOOD_ACCOUNT, "accounts: duplicate name shop"),
    ("notifiers = []\n", "notifiers: at least one notifier"),
    ("[[notifiers]]\ntype = 'pager'\n", "notifiers[0].type: unknown value 'pager'"),
    (
        "[[notifiers]]\ntype = 'sink'\nconsole = 'loud'\n",
        "notifiers[0].console: input should be a valid boolean",
    ),
    ("[accounts]\nid = 'x'\n", "accounts: input should be a valid"),
    ("[[notifiers]]\ntype = 'ntfy'\nname = 'p'\ntopic = 'has space'\n", "notifiers[0].topic: string should match"),
    (
        "[[notifiers]]\ntype = 'ntfy'\nname = 'p'\ntopic = 't'\nkinds = ['gossip']\n",
        "notifiers[0].kinds[0]: input should be",
    ),
    (
        "[[notifiers]]\ntype = 'ntfy'\nname = 'p'\ntopic = 't'\nkinds = ['new_inquiry', 'answered']\n",
        "notifiers[0].kinds: 'answered' is not routed by hand",
    ),
    ("[admin]\nhost = '0.0.0.0'\n", "admin.host: binding 0.0.0.0 exposes inqd beyond this machine; set a token"),
    ("[admin]\nport = 70000\n", "admin.port: input should be less than or equal to 65535"),
    ("[health]\nlost_after = '10s'\n", "health.lost_after: use between 1m and 24h"),
    (
        "[[notifiers]]\ntype = 'ntfy'\nname = 'p'\ntopic = 't'\nfallback = 'sms'\n",
        "notifiers: p.fallback names no other channel ('sms')",
    ),
    (
        "[[notifiers]]\ntype = 'ntfy'\nname = 'p'\ntopic = 't'\nserver_url = 'http://ntfy.example.com'\n",
        "notifiers[0].server_url: plain http is only allowed for 127.0.0.1",
    ),
    (
        "[[notifiers]]\ntype = 'sms'\nname = 's'\napi_key = 'NCSAPIKEY0001'\napi_secret = 'x'\nsender = '0212345678'\n"
        "recipient = '+82 10'\n",
        "notifiers[0].recipient: string should match",
    ),
    ("[[notifiers]]\ntype = 'telegram'\nname = 't'\nbot_token = 'x'\n", "notifiers[0].chat_id: field required"),
    (
        "[[accounts]]\nid = 'e'\nmarketplace = 'esm'\nmaster_id = 'm1'\nsecret_key = 's'\n",
        "accounts[0].gmarket_seller_id: give gmarket_seller_id, auction_seller_id or both",
    ),
    (
        "[[accounts]]\nid = 'e'\nmarketplace = 'elevenst'\nstreams = ['call_center']\napi_key = 'k'\n",
        "accounts[0].streams[0]: input should be 'product_qna' or 'urgent'",
    ),
    (
        "[[accounts]]\nid = 'n'\nmarketplace = 'naver'\nclient_secret = '$2a$04$abcdefghijklmnopqrstuu'\n",
        "accounts[0].client_id: field required",
    ),
    (
        "[[accounts]]\nid = 'n'\nmarketplace = 'naver'\nclient_id = 'app1'\nclient_secret = 'hunter2-canary'\n",
        "accounts[0].client_secret: must be the application secret as issued",
    ),
    (
        "[[accounts]]\nid = 'n'\nmarketplace = 'naver'\nclient_id = 'app1'\n"
        "client_secret = '$2a$04$abcdefghijklmnopqrstuu'\nstreams = ['call_center']\n",
        "accounts[0].streams[0]: input should be 'product_qna' or 'customer_inquiry'",
    ),
    (
        "[[time_intervals]]\nname = 'n'\ntime_intervals = [{ times = ['25:00-26:00'] }]\n",
        "time_intervals[0].time_intervals[0].times[0]: start 25:00 is not a time",
    ),
    (
        "[[time_intervals]]\nname = 'n'\ntime_intervals = [{ weekdays = ['funday'] }]\n",
        "time_intervals[0].time_intervals[0].weekdays[0]: unknown weekday 'funday'",
    ),
    (
        "[[time_intervals]]\nname = 'n'\ntime_intervals = [{ colour = 'x' }]\n",
        "time_intervals[0].time_intervals[0].colour",
    ),
    ("quiet_hours = ['night', 'lunch']\n", "quiet_hours[1]: undefined time interval 'lunch' (names: closed-days,"),
    (
        "work_hours = ['lunch']\n",
        "work_hours: undefined time interval 'lunch' (names: closed-days, cs-hours, night); "
        'hours are written like "22-9", "22:00-09:00", "월-금 13:00-18:00"',
    ),
    ("quiet_hours = 5\n", 'quiet_hours: give interval names or hours, e.g. "night", ["night", "closed-days"], "22-9"'),
    ("quiet_hours = ['night', 9]\n", "quiet_hours: give interval names or hours, e.g."),
    (
        "quiet_hours = '25-9'\n",
        'quiet_hours: \'25-9\' is not hours like "22-9", "22:00-09:00", "월-금 13:00-18:00" (start 25',
    ),
    ("work_hours = ['cs-hours', '13-13']\n", "work_hours[1]: '13-13' is not hours like \"22-9\""),
    ("work_hours = '월-금 13:00~'\n", "work_hours: '월-금 13:00~' is not hours like"),
    ("[calendar]\nclosed = ['2026-13-01']\n", "calendar.closed: '2026-13-01' is not a valid date"),
    ("[calendar]\nholidays = 'JP'\n", "calendar.holidays: input should be 'KR' or 'none'"),
    ("[sla]\nwarn = ['150%']\n", "sla.warn: '150%': a percentage must be between 0 and 100"),
    ("[sla]\nrepeat_every = 'soon'\n", "sla.repeat_every: 'soon' is not a duration"),
    ("[sla.breakthrough]\nnightly_budget = 0\n", "sla.breakthrough.nightly_budget: input should be greater than"),
    (
        "[[sla.rules]]\nmarketplace = 'coupang'\nstream = 'product_qna'\nown_target = '3h'\n"
        "[[sla.rules]]\nmarketplace = 'coupang'\nstream = 'product_qna'\n",
        "sla.rules: more than one rule for coupang.product_qna",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_CONFIGS)
@pytest.mark.usefixtures("secrets_env")
def test_bad_config_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    code = main(["--lang", "en", "check", "--config", str(_write(tmp_path, text))])
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "hunter2-canary" not in err


@pytest.mark.parametrize(("text", "expected"), BAD_CONFIGS)
@pytest.mark.usefixtures("secrets_env")
def test_bad_config_in_korean_is_one_korean_line_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    code = main(["check", "--config", str(_write(tmp_path, text))])
    err = capsys.readouterr().err
    key, _, _ = expected.partition(": ")
    assert code == 2, err
    assert err.startswith("inqd: 설정 오류: ") and err.count("\n") == 1
    assert f"{key}: " in err or "TOML" in err
    assert any("가" <= char <= "힣" for char in err.removeprefix("inqd: 설정 오류: ")), err
    assert "hunter2-canary" not in err


def test_missing_secret_names_env_var(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--config", str(_write(tmp_path, GOOD_ACCOUNT)), "--lang", "en"])
    err = capsys.readouterr().err.splitlines()
    assert code == 2
    assert err == [
        "inqd: config error: accounts[0].access_key: field required (a secret: set env INQD_SHOP__ACCESS_KEY "
        "or a file shop.access_key in secrets_dir)",
        "inqd: config error: accounts[0].secret_key: field required (a secret: set env INQD_SHOP__SECRET_KEY "
        "or a file shop.secret_key in secrets_dir)",
    ]


def test_missing_naver_secret_names_its_env_var(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "[[accounts]]\nid = 'my-store'\nmarketplace = 'naver'\nclient_id = 'app1'\n"
    assert main(["check", "--config", str(_write(tmp_path, text))]) == 2
    assert capsys.readouterr().err == (
        "inqd: 설정 오류: accounts[0].client_secret: 값이 필요합니다 (비밀 값: 환경 변수 "
        "INQD_MY_STORE__CLIENT_SECRET 또는 secrets_dir의 파일 my-store.client_secret)\n"
    )


def test_missing_config_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--config", str(tmp_path / "nope.toml")])
    assert code == 2
    assert capsys.readouterr().err == f"inqd: 설정 오류: {tmp_path / 'nope.toml'}: 설정 파일이 없습니다\n"


@pytest.mark.usefixtures("secrets_env")
def test_valid_config_prints_summary_without_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--config", str(_write(tmp_path, GOOD_ACCOUNT))])
    out = capsys.readouterr().out
    assert code == 0
    assert "계정 shop: 쿠팡 (A00012345) — 상품문의, 고객센터 문의; 60초마다" in out
    assert main(["check", "--config", str(_write(tmp_path, GOOD_ACCOUNT)), "--lang", "en"]) == 0
    assert "account shop: Coupang (A00012345) — product Q&A, call center; every 60 s" in capsys.readouterr().out
    assert SECRETS["INQD_SHOP__SECRET_KEY"] not in out


@pytest.mark.usefixtures("secrets_env")
def test_secret_in_toml_is_accepted_with_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--lang", "en", "check", "--config", str(_write(tmp_path, GOOD_ACCOUNT + "secret_key = 'in-file'\n"))])
    out = capsys.readouterr().out
    assert code == 0
    assert "warning: accounts[0].secret_key is written in the config file" in out
    assert "in-file" not in out


def test_secrets_dir_files_are_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secrets = tmp_path / "creds"
    secrets.mkdir()
    (secrets / "shop.access_key").write_text("ak-from-file\n")
    (secrets / "shop.secret_key").write_text("sk-from-file\n")
    config = _write(tmp_path, f"secrets_dir = '{secrets}'\n" + GOOD_ACCOUNT)
    assert main(["check", "--config", str(config)]) == 0


def test_example_config_is_valid(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    example = Path(__file__).parents[2] / "deploy" / "inqd.example.toml"
    monkeypatch.setenv("INQD_MYSHOP_COUPANG__ACCESS_KEY", "ak")
    monkeypatch.setenv("INQD_MYSHOP_COUPANG__SECRET_KEY", "sk")
    monkeypatch.setenv("INQD_MYSHOP_NAVER__CLIENT_SECRET", "$2a$04$abcdefghijklmnopqrstuu")
    monkeypatch.setenv("INQD_MYSHOP_11ST__API_KEY", "k")
    monkeypatch.setenv("INQD_MYSHOP_ESM__SECRET_KEY", "s")
    monkeypatch.setenv("INQD_SMS__API_SECRET", "s")
    monkeypatch.setenv("INQD_TELEGRAM__BOT_TOKEN", "123456789:abc")
    monkeypatch.setenv("INQD_SLACK__URL", "https://hooks.example/services/T0/B0/x")
    assert main(["check", "--config", str(example)]) == 0


def test_console_script_exit_code_for_bad_config(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "aggregator", "--lang", "en", "check", "--config", str(_write(tmp_path, "bogus = 1\n"))],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert (proc.returncode, proc.stderr) == (2, "inqd: config error: bogus: unknown key\n")


def test_queue_lists_open_inquiries_masked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "inqd.db"

    async def seed() -> None:
        store = await Store.open(db)
        await store.record_poll(
            "shop",
            StreamKind.PRODUCT_QNA,
            PollResult(
                inquiries=(
                    make_inquiry("1", body="김민수 고객님 010-1234-5678 배송 문의"),
                    make_inquiry("2", answered=True),
                ),
                cursor={},
            ),
            now=START,
            channels=("sink",),
            notify_new=True,
        )
        await store.aclose()

    asyncio.run(seed())
    assert main(["queue", "--db", str(db), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["external_id"], r["marketplace"], r["stream"], r["excerpt"]) for r in rows] == [
        ("1", "coupang", "product_qna", "김*수 고객님 010-****-5678 배송 문의")
    ]
    assert main(["queue", "--db", str(db)]) == 0
    table = capsys.readouterr().out
    assert "쿠팡" in table and "미답변 1건" in table and "5678" in table and "1234" not in table


def test_queue_without_database_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["queue", "--db", str(tmp_path / "none.db")]) == 1
    assert "아직 데이터베이스가 없습니다" in capsys.readouterr().err


def test_schedule_names_holidays_and_windows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", "--from", "2025-10-02", "--days", "9"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1:] == [
        "10/02 (목) — 조용 00:00–09:00, 22:00–24:00 · 업무 13:00–18:00",
        "10/03 (금) 개천절 — 종일 조용",
        "10/04 (토) — 조용 00:00–09:00, 22:00–24:00 · 업무 없음",
        "10/05 (일) 추석 전날 — 종일 조용",
        "10/06 (월) 추석 — 종일 조용",
        "10/07 (화) 추석 다음날 — 종일 조용",
        "10/08 (수) 추석 대체 휴일 — 종일 조용",
        "10/09 (목) 한글날 — 종일 조용",
        "10/10 (금) — 조용 00:00–09:00, 22:00–24:00 · 업무 13:00–18:00",
    ]


def test_explain_shows_deadlines_and_decisions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "inqd.db"
    config = _write(
        tmp_path,
        f"db_path = '{db}'\n[[sla.rules]]\nmarketplace = 'coupang'\nstream = 'product_qna'\nown_target = '3h'\n",
    )

    async def seed() -> None:
        store = await Store.open(db)
        await store.record_poll(
            "shop",
            StreamKind.PRODUCT_QNA,
            PollResult(inquiries=(make_inquiry("1"),), cursor={}),
            now=START,
            channels=("sink",),
            notify_new=True,
        )
        [item] = await store.claim_due(now=START, lease=timedelta(minutes=1), limit=5)
        await store.mark_delivered(item, now=START)
        await store.aclose()

    asyncio.run(seed())
    assert main(["explain", "1", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "#1 쿠팡 상품문의 · 계정 shop · 마켓 번호 1" in out
    assert "마켓 마감  11/25(수) 13:00 (접수 + 24시간)" in out
    assert "목표      11/24(화) 16:00 (업무시간 3시간)" in out
    assert "11/24(화) 14:00  새 문의 → sink: 바로 보냄" in out
    assert "11/25(수) 11:00  마켓 답변 마감 경고 (2h 남음)" in out  # words, not the key marketplace:warn:2h
    assert main(["explain", "99", "--config", str(config)]) == 1


def test_test_notify_sends_two_marked_tests_per_channel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _write(
        tmp_path,
        "[[notifiers]]\ntype = 'ntfy'\nname = 'phone'\nserver_url = 'http://127.0.0.1:8'\n"
        "topic = 'inqd-test'\ntoken = 'tk_canarytoken01'\n"
        "[[notifiers]]\ntype = 'webhook'\nname = 'hook'\nurl = 'http://127.0.0.1:7/hook'\n",
    )
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        ntfy = router.post("http://127.0.0.1:8/").mock(return_value=httpx.Response(200, json={"id": "1"}))
        router.post("http://127.0.0.1:7/hook").mock(return_value=httpx.Response(500))
        code = main(["test-notify", "--config", str(config), "--lang", "en"])
    out = capsys.readouterr().out
    priorities = [json.loads(call.request.content)["priority"] for call in ntfy.calls]
    assert code == 1
    assert priorities == [3, 5]
    assert "phone (ntfy): sent 2 test message(s)" in out
    assert "hook (webhook): FAILED — " in out and "tk_canarytoken01" not in out


def test_test_notify_unknown_channel(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test-notify", "--config", str(_write(tmp_path, "")), "--channel", "nope"]) == 2
    assert "'nope' 채널이 없습니다 (있는 채널: sink)" in capsys.readouterr().err
