"""`inqd init`: scripted runs against the Coupang sandbox write a config that `inqd check` accepts, secrets 0600."""

from __future__ import annotations

import argparse
import io
import re
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import respx

from aggregator.cli.main import main as cli_main
from aggregator.init.hours import parse_hours
from aggregator.init.wizard import add_init_parser, run_init
from aggregator.settings import CoupangAccount, load_settings
from aggregator.settings.notify import NtfyConfig
from connectors.sandbox import CoupangSandbox, Fault
from policies.intervals import IntervalError
from tests.fakes import FakeClock

VENDOR = "A00012345"
ACCESS = "init-access-canary-4711"
SECRET = "init-secret-canary-0815"
NTFY = "http://127.0.0.1:8093"

ADD_COUPANG = ["y", "shop", VENDOR, ACCESS, SECRET, ""]  # add?, id, vendor ID, access, secret, key issue date
NO_MORE_ACCOUNTS = ["n", "n", "n", "n"]  # another Coupang?, Naver?, 11st?, ESM?
DEFAULT_HOURS = ["", "", ""]  # quiet, holidays quiet?, work
NTFY_CHANNEL = ["1", NTFY, "", "", ""]  # menu, server, topic (generated), token (none), "subscribed, Enter"
SINK_ONLY = ["4"]


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    add_init_parser(sub)
    return parser.parse_args(["init", *argv])


@pytest.fixture
def sandbox(clock: FakeClock) -> CoupangSandbox:
    """A Coupang sandbox that knows the test vendor and keys."""
    return CoupangSandbox(vendor_id=VENDOR, access_key=ACCESS, secret_key=SECRET, now=clock.now)


@pytest.fixture
def ntfy() -> Iterator[respx.Route]:
    """An ntfy server on loopback that accepts every publish."""
    with respx.mock(assert_all_called=False) as router:
        yield router.post(f"{NTFY}/").respond(200, json={"id": "x1", "event": "message"})


def _run(config: Path, answers: list[str], sandbox: CoupangSandbox, clock: FakeClock, *flags: str) -> tuple[int, str]:
    out = io.StringIO()
    code = run_init(
        _args("--config", str(config), *flags),
        stdin=io.StringIO("".join(f"{a}\n" for a in answers)),
        stdout=out,
        transport=httpx.MockTransport(sandbox.handler),
        clock=clock,
    )
    return code, out.getvalue()


def _assert_secrets_private(config: Path, *values: str) -> None:
    settings = load_settings(config)
    assert settings.secrets_dir is not None
    assert stat.S_IMODE(settings.secrets_dir.stat().st_mode) == 0o700
    files = sorted(p for p in settings.secrets_dir.iterdir())
    assert files, "no secret was written"
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o600}
    text = config.read_text(encoding="utf-8")
    assert [v for v in values if v in text] == []


def test_interactive_run_writes_a_config_check_accepts(
    tmp_path: Path, sandbox: CoupangSandbox, clock: FakeClock, ntfy: respx.Route
) -> None:
    config = tmp_path / "etc" / "inqd.toml"
    answers = ADD_COUPANG + NO_MORE_ACCOUNTS + DEFAULT_HOURS + NTFY_CHANNEL

    code, out = _run(config, answers, sandbox, clock)

    assert code == 0, out
    settings = load_settings(config)
    (account,) = settings.accounts
    assert isinstance(account, CoupangAccount)
    assert (account.id, account.vendor_id, account.access_key.get_secret_value()) == ("shop", VENDOR, ACCESS)
    assert account.secret_key.get_secret_value() == SECRET
    assert settings.db_path == tmp_path / "etc" / "inqd.db"
    assert (settings.quiet_hours, settings.work_hours) == (("night", "closed-days"), ("cs-hours",))
    (channel,) = settings.notifiers
    assert isinstance(channel, NtfyConfig)
    assert re.fullmatch(r"inqd-[A-Za-z0-9_-]{20,}", channel.topic)
    assert cli_main(["check", "--config", str(config)]) == 0
    _assert_secrets_private(config, ACCESS, SECRET)
    assert ACCESS not in out and SECRET not in out
    assert "확인했습니다" in out
    assert len(sandbox.requests) >= 1
    assert ntfy.call_count == 2  # the normal test and the max-priority one
    assert all(channel.topic in call.request.content.decode() for call in ntfy.calls)
    text = config.read_text(encoding="utf-8")
    assert "quiet_hours" not in text.replace("# ", "#").split("#")[0]  # defaults kept: only commented hints
    assert "[[time_intervals]]" not in text


def test_a_refused_secret_is_asked_again(tmp_path: Path, sandbox: CoupangSandbox, clock: FakeClock) -> None:
    config = tmp_path / "inqd.toml"
    wrong = ["y", "shop", VENDOR, ACCESS, "wrong-secret-canary-1234", ""]
    again = ["", "", "", SECRET, ""]  # retry? yes; vendor and access key as typed; the right secret; no date

    code, out = _run(config, wrong + again + NO_MORE_ACCOUNTS + DEFAULT_HOURS + SINK_ONLY, sandbox, clock)

    assert code == 0, out
    assert "쿠팡이 인증을 거부했습니다" in out
    assert "WING" in out  # what to check
    assert out.count("Secret key") == 2
    assert "wrong-secret-canary-1234" not in out
    (account,) = load_settings(config).accounts
    assert isinstance(account, CoupangAccount)
    assert account.secret_key.get_secret_value() == SECRET


def test_refused_and_not_retried_exits_1_and_writes_nothing(
    tmp_path: Path, sandbox: CoupangSandbox, clock: FakeClock
) -> None:
    config = tmp_path / "inqd.toml"
    answers = ["y", "shop", VENDOR, ACCESS, "wrong-secret-canary-1234", "", "n"]

    code, _ = _run(config, answers, sandbox, clock)

    assert code == 1
    assert list(tmp_path.iterdir()) == []


def test_non_interactive_with_flags_and_env_secrets(
    tmp_path: Path,
    sandbox: CoupangSandbox,
    clock: FakeClock,
    ntfy: respx.Route,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("INQD_SHOP__ACCESS_KEY", ACCESS)
    monkeypatch.setenv("INQD_SHOP__SECRET_KEY", SECRET)
    monkeypatch.setenv("INQD_PHONE__TOKEN", "tk_initcanarytoken0000000000001")
    config = tmp_path / "inqd.toml"
    flags = ["--non-interactive", f"--account=coupang:shop:vendor_id={VENDOR}"]
    flags += [f"--channel=ntfy:topic=inqd-scripted-topic-2718281828,server_url={NTFY}"]

    code, out = _run(config, [], sandbox, clock, *flags)

    assert code == 0, out
    for name in ("INQD_SHOP__ACCESS_KEY", "INQD_SHOP__SECRET_KEY", "INQD_PHONE__TOKEN"):
        monkeypatch.delenv(name)  # the written files alone must carry the secrets now
    settings = load_settings(config)
    (channel,) = settings.notifiers
    assert isinstance(channel, NtfyConfig) and channel.token is not None
    assert channel.token.get_secret_value() == "tk_initcanarytoken0000000000001"
    assert cli_main(["check", "--config", str(config)]) == 0
    _assert_secrets_private(config, ACCESS, SECRET, "tk_initcanarytoken0000000000001")
    assert ntfy.call_count == 2
    assert ntfy.calls[0].request.headers["Authorization"] == "Bearer tk_initcanarytoken0000000000001"


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--account=coupang:shop"], "--account coupang:shop: vendor_id missing"),
        ([f"--account=coupang:shop:vendor_id={VENDOR},access_key=x"], "INQD_SHOP__SECRET_KEY"),
        ([], "--account: at least one account"),
        (["--account=amazon:shop"], "--account amazon: unknown marketplace"),
        ([f"--account=coupang:shop:vendor_id={VENDOR},colour=red"], "unknown key 'colour'"),
        (["--account=coupang:shop:vendor_id=!!,access_key=abcd,secret_key=efgh"], "vendor_id: String should match"),
        (["--account=coupang:../etc:vendor_id=A1234"], "--account coupang:../etc: the id must be"),
        (["--account=elevenst:st:api_key=k", "--quiet=25:00-08:00"], "--quiet: start 25:00 is not a time"),
        (["--account=elevenst:st:api_key=k", "--work=none"], "--work: give a time range"),
        (["--account=elevenst:st:api_key=k", "--channel=telegram:bot_token=123:abc"], "chat_id missing"),
    ],
)
def test_non_interactive_bad_input_names_the_flag(
    tmp_path: Path,
    sandbox: CoupangSandbox,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    named: str,
) -> None:
    code, _ = _run(tmp_path / "inqd.toml", [], sandbox, clock, "--non-interactive", "--no-check", *flags)

    assert code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("inqd init: ") and named in line
    assert list(tmp_path.iterdir()) == []


def test_non_interactive_refused_credentials_exit_1(
    tmp_path: Path, sandbox: CoupangSandbox, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    flags = ["--non-interactive", f"--account=coupang:shop:vendor_id={VENDOR},access_key={ACCESS},secret_key=nope"]

    code, _ = _run(tmp_path / "inqd.toml", [], sandbox, clock, *flags)

    assert code == 1
    assert "refused the credentials" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_non_interactive_unreachable_marketplace_keeps_the_account(
    tmp_path: Path, sandbox: CoupangSandbox, clock: FakeClock
) -> None:
    sandbox.inject(Fault.SERVER_ERROR, times=10, status=503)
    flags = ["--non-interactive", f"--account=coupang:shop:vendor_id={VENDOR},access_key={ACCESS},secret_key={SECRET}"]

    code, out = _run(tmp_path / "inqd.toml", [], sandbox, clock, *flags)

    assert code == 0
    assert "연결하지 못했습니다" in out
    assert [a.id for a in load_settings(tmp_path / "inqd.toml").accounts] == ["shop"]


def test_non_interactive_refused_test_notification_exit_1(
    tmp_path: Path, sandbox: CoupangSandbox, clock: FakeClock
) -> None:
    flags = ["--non-interactive", "--no-check", f"--account=elevenst:st:api_key={ACCESS}"]
    with respx.mock() as router:
        router.post(f"{NTFY}/").respond(403, json={"code": 40301, "error": "forbidden"})
        code, _ = _run(tmp_path / "inqd.toml", [], sandbox, clock, *flags, f"--channel=ntfy:server_url={NTFY}")

    assert code == 1
    assert list(tmp_path.iterdir()) == []


def test_a_failed_test_notification_can_be_kept(tmp_path: Path, sandbox: CoupangSandbox, clock: FakeClock) -> None:
    config = tmp_path / "inqd.toml"
    with respx.mock() as router:
        router.post(f"{NTFY}/").respond(503, json={"code": 50301, "error": "unavailable"})
        code, out = _run(config, [*NO_MORE_ACCOUNTS, *DEFAULT_HOURS, *NTFY_CHANNEL, "n"], sandbox, clock)

    assert code == 0, out
    assert "시험 알림을 보내지 못했습니다" in out
    assert [n.name for n in load_settings(config).notifiers] == ["phone"]


def test_an_unreadable_config_is_left_alone(
    tmp_path: Path, sandbox: CoupangSandbox, clock: FakeClock, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "inqd.toml"
    config.write_text("db_path = \n", encoding="utf-8")

    code, _ = _run(config, [], sandbox, clock)

    assert code == 2
    assert "cannot read it as TOML" in capsys.readouterr().err
    assert config.read_text(encoding="utf-8") == "db_path = \n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inqd.toml"]


EXISTING = f"""# my own note about this file
db_path = "/srv/inqd/inqd.db"
poll_jitter = 0.2  # my jitter

[[accounts]]
marketplace = "coupang"
id = "shop"
vendor_id = "{VENDOR}"
streams = ["product_qna"]  # no call center
access_key = "old-inline-access-0000"

[[notifiers]]
type = "sink"
console = false
"""


def test_rerun_edits_in_place_and_keeps_the_rest(tmp_path: Path, clock: FakeClock) -> None:
    config = tmp_path / "inqd.toml"
    config.write_text(EXISTING, encoding="utf-8")
    sandbox = CoupangSandbox(vendor_id="B00054321", access_key=ACCESS, secret_key=SECRET, now=clock.now)
    edit = ["y", "B00054321", ACCESS, SECRET, "2026-11-02"]  # change shop?, vendor, access, secret, issue date
    answers = [*edit, "n", "n", "n", "n", *DEFAULT_HOURS, *SINK_ONLY]

    code, out = _run(config, answers, sandbox, clock)

    assert code == 0, out
    assert "'shop'" in out
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# my own note about this file\n")
    assert "poll_jitter = 0.2  # my jitter" in text
    assert 'streams = ["product_qna"]  # no call center' in text
    assert 'db_path = "/srv/inqd/inqd.db"' in text
    assert "old-inline-access-0000" not in text  # moved out: a value in the TOML would win over the file
    assert (tmp_path / "inqd.toml.bak").read_text(encoding="utf-8") == EXISTING
    data = tomllib.loads(text)
    assert data["accounts"] == [
        {
            "marketplace": "coupang",
            "id": "shop",
            "vendor_id": "B00054321",
            "streams": ["product_qna"],
            "key_issued_at": tomllib.loads("d = 2026-11-02")["d"],
        }
    ]
    assert data["notifiers"] == [{"type": "sink", "console": False}]
    assert "quiet_hours" not in data and "time_intervals" not in data
    assert cli_main(["check", "--config", str(config)]) == 0
    _assert_secrets_private(config, ACCESS, SECRET)


def test_custom_quiet_hours_are_written_and_a_bad_answer_is_asked_again(
    tmp_path: Path, sandbox: CoupangSandbox, clock: FakeClock
) -> None:
    config = tmp_path / "inqd.toml"
    hours = ["25:00-08:00", "23:00-08:00", "", "mon-sat 10:00-19:00"]

    code, out = _run(config, NO_MORE_ACCOUNTS + hours + SINK_ONLY, sandbox, clock)

    assert code == 0, out
    assert "잘못된 값: start 25:00 is not a time (HH:MM)" in out
    assert out.count("조용한 시간: ") == 2
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    assert data["quiet_hours"] == ["quiet", "closed-days"]
    assert data["work_hours"] == ["work"]
    assert data["time_intervals"] == [
        {"name": "quiet", "time_intervals": [{"times": ["23:00-08:00"]}]},
        {"name": "work", "time_intervals": [{"weekdays": ["monday:saturday"], "times": ["10:00-19:00"]}]},
    ]
    assert cli_main(["check", "--config", str(config)]) == 0


def test_rerun_shows_custom_hours_and_enter_keeps_them(
    tmp_path: Path, sandbox: CoupangSandbox, clock: FakeClock
) -> None:
    config = tmp_path / "inqd.toml"
    assert _run(config, [*NO_MORE_ACCOUNTS, "23:00-08:00", "n", "", *SINK_ONLY], sandbox, clock)[0] == 0
    first = config.read_text(encoding="utf-8")

    code, out = _run(config, NO_MORE_ACCOUNTS + DEFAULT_HOURS + SINK_ONLY, sandbox, clock)

    assert code == 0, out
    assert "[23:00-08:00]" in out
    assert "공휴일에는 종일 조용히 할까요? [y/N]" in out
    assert config.read_text(encoding="utf-8") == first


def test_lang_en_prompts_in_english(tmp_path: Path, sandbox: CoupangSandbox, clock: FakeClock) -> None:
    config = tmp_path / "inqd.toml"

    code, out = _run(config, ADD_COUPANG + NO_MORE_ACCOUNTS + DEFAULT_HOURS + SINK_ONLY, sandbox, clock, "--lang", "en")

    assert code == 0, out
    assert "Add a Coupang account?" in out
    assert "OK: Coupang accepted the credentials." in out
    assert re.search(r"[가-힣]", out) is None
    assert re.search(r"[가-힣]", config.read_text(encoding="utf-8")) is None


def test_end_of_input_saves_nothing(tmp_path: Path, sandbox: CoupangSandbox, clock: FakeClock) -> None:
    code, out = _run(tmp_path / "inqd.toml", ["y", "shop"], sandbox, clock)

    assert code == 2
    assert "아무것도 저장하지 않았습니다" in out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("answer", "spec"),
    [
        ("22:00-09:00", {"times": ["22:00-09:00"]}),
        ("  9:00~18:00 ", {"times": ["09:00-18:00"]}),
        ("mon-fri 13:00-18:00", {"weekdays": ["monday:friday"], "times": ["13:00-18:00"]}),
        ("월-금 13:00-15:00, 16:00-18:00", {"weekdays": ["monday:friday"], "times": ["13:00-15:00", "16:00-18:00"]}),
        ("sat,sun 00:00-24:00", {"weekdays": ["saturday", "sunday"], "times": ["00:00-24:00"]}),
        ("없음", None),
    ],
)
def test_parse_hours(answer: str, spec: dict[str, list[str]] | None) -> None:
    assert parse_hours(answer) == spec


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("25:00-08:00", "start 25:00 is not a time"),
        ("22:00", "is not a time range"),
        ("mon-fri", "give a time range"),
        ("funday 10:00-12:00", "unknown weekday 'funday'"),
        ("10:00-10:00", "equals start"),
    ],
)
def test_parse_hours_refuses(answer: str, error: str) -> None:
    with pytest.raises(IntervalError, match=error):
        parse_hours(answer)


KAKAO_KEY = "0123456789abcdef0123456789abcdef"


def test_kakaotalk_is_offered_with_the_developers_steps_and_the_login_for_later(
    tmp_path: Path, sandbox: CoupangSandbox, clock: FakeClock
) -> None:
    config = tmp_path / "inqd.toml"
    kakao = ["5", KAKAO_KEY, "kakao-client-secret-canary", "n"]  # menu, REST API key, client secret, log in now?
    code, out = _run(config, ADD_COUPANG + NO_MORE_ACCOUNTS + DEFAULT_HOURS + kakao, sandbox, clock)
    assert code == 0, out
    assert "5) 카카오톡 '나에게 보내기'" in out
    assert "Redirect URI에 http://localhost:9464/kakao/callback 를 등록" in out
    assert "'카카오톡 메시지 전송'(talk_message)" in out
    assert f"inqd kakao-login --config {config} --channel kakao" in out
    settings = load_settings(config)
    channel = settings.notifiers[-1]
    assert (channel.type, channel.name) == ("kakao", "kakao")
    assert settings.secrets_dir is not None
    assert (settings.secrets_dir / "kakao.client_secret").read_text() == "kakao-client-secret-canary"
    _assert_secrets_private(config, ACCESS, SECRET, "kakao-client-secret-canary")


def test_a_kakao_channel_by_flag_writes_the_secrets_dir_for_its_token_file(
    tmp_path: Path, sandbox: CoupangSandbox, clock: FakeClock
) -> None:
    config = tmp_path / "inqd.toml"
    config.write_text('db_path = "inqd.db"\n', encoding="utf-8")  # an existing file without secrets_dir
    flags = ("--non-interactive", "--channel", f"kakao:rest_api_key={KAKAO_KEY}", "--no-check")
    code, out = _run(config, [], sandbox, clock, *flags)
    assert code == 0, out
    assert "inqd kakao-login" in out
    settings = load_settings(config)
    assert settings.secrets_dir == (tmp_path / "secrets").absolute()
    assert [(n.type, n.name) for n in settings.notifiers] == [("kakao", "kakao")]
