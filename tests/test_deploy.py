"""The deployment files: the systemd unit, the Dockerfile and compose.yaml agree with inqd and with each other."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from aggregator.cli.main import _parser
from aggregator.settings import (
    AccountConfig,
    CoupangAccount,
    ElevenstAccount,
    EsmAccount,
    NaverAccount,
    load_settings,
)
from aggregator.settings.notify import NOTIFIER_SECRETS, NtfyConfig

DEPLOY = Path(__file__).parents[1] / "deploy"
UNIT = DEPLOY / "inqd.service"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
EXAMPLE = DEPLOY / "inqd.example.toml"
ACCOUNT_KINDS: dict[str, type[AccountConfig]] = {
    "coupang": CoupangAccount,
    "naver": NaverAccount,
    "elevenst": ElevenstAccount,
    "esm": EsmAccount,
}


def _unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> every value, in order: systemd allows a key to repeat (Environment=, LoadCredential=)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not a directive: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def _docker_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            instruction, _, args = line.strip().partition(" ")
            found.append((instruction.upper(), args.strip()))
    return found


SERVICE = _unit(UNIT.read_text(encoding="utf-8"))["Service"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("WatchdogSec", "30s"),
        ("Restart", "on-failure"),
        ("TimeoutStopSec", "30s"),
        ("DynamicUser", "yes"),
        ("StateDirectory", "inqd"),
        ("ConfigurationDirectory", "inqd"),
        ("CacheDirectory", "inqd"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("NoNewPrivileges", "yes"),
        ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
        ("MemoryDenyWriteExecute", "yes"),
        ("SystemCallFilter", "@system-service"),
        ("CapabilityBoundingSet", ""),
        ("UMask", "0077"),
    ],
)
def test_unit_sets(key: str, value: str) -> None:
    assert SERVICE[key] == [value]


def test_unit_environment() -> None:
    assert set(SERVICE["Environment"]) == {
        "TZ=Asia/Seoul",
        "PYTHONUNBUFFERED=1",
        "INQD_SECRETS_DIR=%d",
        "MPLCONFIGDIR=%C/inqd/matplotlib",
    }


def test_matplotlib_writes_inside_the_cache_directory() -> None:
    # ProtectSystem=strict and ProtectHome=yes leave only the unit's own directories writable: %C is /var/cache.
    (setting,) = [value for value in SERVICE["Environment"] if value.startswith("MPLCONFIGDIR=")]
    assert setting.removeprefix("MPLCONFIGDIR=").startswith(f"%C/{SERVICE['CacheDirectory'][0]}/")
    assert SERVICE["EnvironmentFile"] == ["-/etc/inqd/secrets.env"]


def test_unit_execstart_is_accepted_by_the_cli() -> None:
    (exec_start,) = SERVICE["ExecStart"]
    program, *args = shlex.split(exec_start)
    parsed = _parser().parse_args(args)

    assert program == "/usr/local/bin/inqd"
    assert (parsed.command, parsed.config, parsed.log_format) == ("run", Path("/etc/inqd/inqd.toml"), "json")


def test_example_db_path_is_in_the_state_directory() -> None:
    # ProtectSystem=strict leaves only StateDirectory= writable: a DB anywhere else cannot be created.
    config = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert Path(config["db_path"]).parent == Path("/var/lib") / SERVICE["StateDirectory"][0]


def test_credential_examples_name_real_secrets() -> None:
    names = re.findall(r"^#LoadCredential=([^:]+):/etc/inqd/credentials/\1$", UNIT.read_text(), re.MULTILINE)
    config = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    secrets = {f"{a['id']}.{f}" for a in config["accounts"] for f in ACCOUNT_KINDS[a["marketplace"]].SECRET_FIELDS}
    secrets |= {f"{n['name']}.{f}" for n in config["notifiers"] for f in NOTIFIER_SECRETS[n["type"]]}

    assert len(names) >= 3
    assert set(names) <= secrets


def test_credentials_directory_reaches_the_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What Environment=INQD_SECRETS_DIR=%d relies on: the env var, not the TOML, points at the credentials.
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "myshop-coupang.access_key").write_text("ak-from-credential\n")
    (credentials / "myshop-coupang.secret_key").write_text("sk-from-credential\n")
    config = tmp_path / "inqd.toml"
    config.write_text(
        'db_path = "/var/lib/inqd/inqd.db"\n'
        '[[accounts]]\nmarketplace = "coupang"\nid = "myshop-coupang"\nvendor_id = "A00012345"\n'
    )
    for name in ("INQD_MYSHOP_COUPANG__ACCESS_KEY", "INQD_MYSHOP_COUPANG__SECRET_KEY", "INQD_DB_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INQD_SECRETS_DIR", str(credentials))

    (account,) = load_settings(config).accounts

    assert isinstance(account, CoupangAccount)
    assert account.secret_key.get_secret_value() == "sk-from-credential"


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    return subprocess.run(
        [analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def unit_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart pointing at an executable that exists here (verify checks it)."""
    inqd = Path(sys.executable).with_name("inqd")
    assert inqd.is_file(), "the project is installed in the venv"
    copy = tmp_path / "inqd.service"
    copy.write_text(UNIT.read_text(encoding="utf-8").replace("/usr/local/bin/inqd", str(inqd)), encoding="utf-8")
    return copy


def test_systemd_analyze_verify_is_clean(unit_copy: Path) -> None:
    result = _verify(unit_copy)

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_systemd_analyze_verify_reports_a_bad_line(unit_copy: Path) -> None:
    # Proves the clean result above means something here: verify does print (to stderr, exit 0) for bad keys.
    unit_copy.write_text(unit_copy.read_text().replace("UMask=0077", "UMask=0077\nRestart=sometimes"))
    result = _verify(unit_copy)

    assert "sometimes" in result.stderr


DOCKER = _docker_instructions(DOCKERFILE.read_text(encoding="utf-8"))


def _docker(instruction: str) -> list[str]:
    return [args for name, args in DOCKER if name == instruction]


def test_dockerfile_runs_as_non_root_with_a_data_volume() -> None:
    user = _docker("USER")[-1]
    assert user.split(":")[0] not in {"root", "0"}
    assert _docker("VOLUME") == ["/var/lib/inqd"]
    assert _docker("WORKDIR")[-1] == "/var/lib/inqd"
    assert "TZ=Asia/Seoul" in " ".join(_docker("ENV"))


def test_dockerfile_installs_a_korean_font_the_charts_look_for() -> None:
    from aggregator.report.chart import _FONT_FILES

    assert any("apt-get install -y --no-install-recommends fonts-nanum" in run for run in _docker("RUN"))
    assert Path("/usr/share/fonts/truetype/nanum/NanumGothic.ttf") in _FONT_FILES  # where fonts-nanum puts it


def test_dockerfile_copies_only_the_package() -> None:
    assert _docker("ADD") == []
    sources = {src for args in _docker("COPY") for src in args.split()[:-1]}
    assert sources == {"pyproject.toml", "README.md", "core/", "aggregator/", "connectors/", "policies/"}


def test_dockerfile_command_is_accepted_by_the_cli() -> None:
    assert json.loads(_docker("ENTRYPOINT")[-1]) == ["inqd"]
    parsed = _parser().parse_args(json.loads(_docker("CMD")[-1]))

    assert (parsed.command, parsed.config, parsed.log_format) == ("run", Path("/etc/inqd/inqd.toml"), "json")


class _Health(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output clean


@pytest.fixture
def health_server() -> Iterator[ThreadingHTTPServer]:
    """A stand-in for the admin server's /healthz on an ephemeral loopback port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def _probe(port: int) -> int:
    (args,) = _docker("HEALTHCHECK")
    command = json.loads(args[args.index("CMD") + 3 :].strip())
    assert command[:2] == ["python", "-c"]
    assert ":9464/healthz" in command[2]
    code = command[2].replace(":9464/", f":{port}/")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=30, check=False).returncode


@pytest.mark.parametrize(("status", "exit_code"), [(200, 0), (503, 1)])
def test_healthcheck_follows_healthz(
    health_server: ThreadingHTTPServer, monkeypatch: pytest.MonkeyPatch, status: int, exit_code: int
) -> None:
    monkeypatch.setattr(_Health, "status", status)
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # must be ignored: the probe is loopback-only

    assert _probe(health_server.server_address[1]) == exit_code


def test_healthcheck_fails_when_nothing_listens() -> None:
    with socket.socket() as bound:  # bound but not listening: the port is ours and refuses connections
        bound.bind(("127.0.0.1", 0))

        assert _probe(bound.getsockname()[1]) == 1


COMPOSE_TEXT = COMPOSE.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "line",
    [
        "context: ..",
        "dockerfile: deploy/Dockerfile",
        "- inqd-data:/var/lib/inqd",
        "- ./inqd.toml:/etc/inqd/inqd.toml:ro",
        "env_file: ./secrets.env",
        "restart: unless-stopped",
        "image: binwiederhier/ntfy",
        "command: serve",
        "NTFY_AUTH_DEFAULT_ACCESS: deny-all",
    ],
)
def test_compose_has(line: str) -> None:
    # No YAML parser among our dependencies: exact lines, and the layout rules YAML would reject below.
    assert line in [raw.strip() for raw in COMPOSE_TEXT.splitlines()]


def test_compose_is_plain_yaml_layout() -> None:
    assert "\t" not in COMPOSE_TEXT
    assert [line for line in COMPOSE_TEXT.splitlines() if line and not line.startswith((" ", "#"))] == [
        "services:",
        "volumes:",
    ]


def test_compose_shows_a_server_url_inqd_accepts() -> None:
    (url,) = re.findall(r'server_url = "([^"]+)"', COMPOSE_TEXT)

    assert NtfyConfig(type="ntfy", name="phone", server_url=url, topic="inqd-test").server_url == url


def _compose_service(name: str) -> str:
    """The lines of one service in compose.yaml (from `  name:` to the next service or top-level key)."""
    lines = COMPOSE_TEXT.splitlines()
    start = lines.index(f"  {name}:")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^(  )?[a-z0-9-]+:$", lines[i])), len(lines))
    return "\n".join(lines[start:end])


def test_compose_shared_profile_runs_a_second_instance_on_postgresql() -> None:
    second, postgres = _compose_service("inqd-2"), _compose_service("postgres")
    assert 'profiles: ["shared"]' in second and 'profiles: ["shared"]' in postgres
    # Both instances share ntfy's loopback: the second's admin port, and its health check, are its own.
    (port,) = re.findall(r'INQD_ADMIN__PORT: "(\d+)"', second)
    assert re.findall(r"127\.0\.0\.1:(\d+)/healthz", second) == [port] and port != "9464"
    assert "- inqd-2-data:/var/lib/inqd" in second  # its own state directory: the file lock is per machine
    assert "image: postgres:15" in postgres  # the version the tests run against (tests/postgres_server.py)
    assert "required: false" in _compose_service("inqd")  # without the profile the first keeps its SQLite file
    for volume in ("inqd-2-data", "postgres-data"):
        assert f"  {volume}:" in COMPOSE_TEXT.split("\nvolumes:\n")[1]
