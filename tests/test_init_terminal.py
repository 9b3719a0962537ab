"""`inqd init` in a real terminal (pexpect): prompts answered by hand, secrets typed hidden, a sandbox on 127.0.0.1.

Every wait is bounded by the pexpect timeout; nothing sleeps.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from datetime import UTC, datetime
from pathlib import Path

import pexpect

from aggregator.cli.main import main as cli_main
from aggregator.settings import CoupangAccount, load_settings
from connectors.sandbox import CoupangSandbox, SandboxServer

ROOT = Path(__file__).parents[1]
TIMEOUT_S = 30
VENDOR = "A00012345"
ACCESS = "tty-access-canary-31415"
SECRET = "tty-secret-canary-27182"


def test_init_in_a_terminal_writes_a_checked_config(tmp_path: Path) -> None:
    sandbox = CoupangSandbox(vendor_id=VENDOR, access_key=ACCESS, secret_key=SECRET, now=lambda: datetime.now(UTC))
    config = tmp_path / "inqd.toml"
    transcript = io.StringIO()
    with SandboxServer(sandbox.handler) as server:
        url = server.url
        child = pexpect.spawn(
            sys.executable,
            ["-m", "aggregator", "init", "--config", str(config), f"--account=coupang:shop:base_url={url}"],
            cwd=str(ROOT),
            env={**os.environ, "PYTHONIOENCODING": "utf-8", "LANG": "C.UTF-8"},
            encoding="utf-8",
            timeout=TIMEOUT_S,
            dimensions=(50, 200),
        )
        child.logfile_read = transcript
        try:
            for prompt, answer in [
                ("WING 업체코드", VENDOR),
                ("Access key: ", ACCESS),
                ("Secret key: ", SECRET),
                ("조용한 시간: ", ""),
                ("공휴일에는 종일 조용히 할까요? [Y/n]: ", ""),
                ("업무 시간: ", ""),
                ("번호 [1]: ", "4"),
            ]:
                child.expect_exact(prompt)
                child.sendline(answer)
            child.expect_exact("저장했습니다")
            child.expect_exact(pexpect.EOF)
        finally:
            child.close(force=True)

    output = transcript.getvalue()
    assert child.exitstatus == 0, output
    assert "확인했습니다: 쿠팡이 키를 받아들였습니다." in output
    assert ACCESS not in output and SECRET not in output  # typed, but never echoed
    assert VENDOR in output  # ordinary answers are echoed by the terminal
    settings = load_settings(config)
    (account,) = settings.accounts
    assert isinstance(account, CoupangAccount)
    assert (account.base_url, account.secret_key.get_secret_value()) == (url, SECRET)
    assert settings.secrets_dir == tmp_path / "secrets"
    assert stat.S_IMODE(settings.secrets_dir.stat().st_mode) == 0o700
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in settings.secrets_dir.iterdir()}
    assert modes == {"shop.access_key": 0o600, "shop.secret_key": 0o600}
    text = config.read_text(encoding="utf-8")
    assert ACCESS not in text and SECRET not in text
    assert cli_main(["check", "--config", str(config)]) == 0
