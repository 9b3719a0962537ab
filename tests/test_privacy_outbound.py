"""No raw buyer data leaves the machine.

One inquiry full of it (the buyer's name in the buyer field and in the text, a phone number, an email, a street
address, a refund account, a customs code) goes through the whole daemon on a fake clock against a marketplace
sandbox. It reaches every kind of channel (ntfy, SMS, Telegram and a webhook at the HTTP edge, and the sink) as a
push, promise reminders quoting the buyer, SLA alerts and a quiet-hours digest; for an hour the marketplace refuses
the list with an error that echoes the buyer's contacts, which the log and a "연결 끊김" alert quote. None of the
raw values may be in any request body, in the log, or in what `inqd queue` and `inqd explain` print.

The buyer is a foreign name in Hangul with no cue around it: only the buyer field (Coupang: the agent's transfer
note) tells the masker it is a name.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from aggregator import control_service as controls
from aggregator.cli.main import main
from aggregator.daemon import Daemon
from aggregator.logs import configure_logging
from aggregator.settings.notify import NtfyConfig, SmsConfig, TelegramConfig, WebhookConfig
from connectors.sandbox import CoupangSandbox, NaverSandbox
from core.models import KST, MessageKind
from tests.conftest import SHOP_ACCOUNT, MakeSettings, quiet_sink
from tests.fakes import FakeClock

NAME = "타나카 유키"
TEXT = (
    f"{NAME} 주문 건 환불해 주세요. 연락은 010-4444-5555나 yuki.tanaka@naver.com으로 주세요. "
    "주소는 서울특별시 강남구 테헤란로 123 4층이고, 환불 계좌는 국민 123456-01-234567, "
    "통관부호 P123456789012 입니다."
)
# A marketplace error quoting the buyer. An account's error belongs to no inquiry, so no buyer name is known for it:
# only what the masker recognises by itself is hidden there (the name is left out here for that reason).
ECHO = "문의 조회 실패: 연락처 010-4444-5555, yuki.tanaka@naver.com, 통관부호 P123456789012"
RAW = ("타나카", "4444-5555", "01044445555", "yuki.tanaka", "테헤란로", "123456-01", "P123456789012")
MASKED = ("타*카 **", "010-****-5555")

NTFY, SOLAPI, TELEGRAM = "http://127.0.0.1:8", "http://127.0.0.1:7", "http://127.0.0.1:6"
WEBHOOK = "http://127.0.0.1:5/hooks/privacy-canary"
BOT_TOKEN = "123456789:privacy-canary-bot-token-0123456789ab"
EVERY_KIND = [kind.value for kind in MessageKind if kind is not MessageKind.ANSWERED]
OK = {
    "ntfy": httpx.Response(200, json={"id": "1", "event": "message"}),
    "sms": httpx.Response(200, json={"groupInfo": {"count": {"total": 1, "registeredFailed": 0}}}),
    "telegram": httpx.Response(200, json={"ok": True, "result": {"message_id": 1}}),
    "webhook": httpx.Response(204),
}


@dataclass(frozen=True)
class Source:
    """A marketplace sandbox, the account that polls it, and how the buyer's inquiry arrives there."""

    name: str
    account: dict[str, Any]
    sandbox: Callable[[FakeClock], CoupangSandbox | NaverSandbox]
    ask: Callable[[Any, datetime], None]


def _coupang_call_center(sandbox: CoupangSandbox, at: datetime) -> None:
    # The buyer's name reaches the seller in the CS agent's transfer note; Coupang has no buyer name field.
    note = f"[판매자이관]\n◼고객명/연락처: <<{NAME}/010-4444-5555>>\n◼문의내용: {TEXT}\n"
    sandbox.add_call_center_inquiry(inquiry_at=at, agent_note=note, item_name="무선 블루투스 이어폰")


def _naver_customer_inquiry(sandbox: NaverSandbox, at: datetime) -> None:
    sandbox.add_customer_inquiry(title=f"{NAME} 환불 문의", content=TEXT, registered_at=at, customer_name=NAME)


SOURCES = [
    Source(
        "coupang",
        {**SHOP_ACCOUNT, "streams": ["call_center"]},
        lambda clock: CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now),
        _coupang_call_center,
    ),
    Source(
        "naver",
        {
            "marketplace": "naver",
            "id": "store",
            "client_id": "privacyApp",
            "client_secret": "$2a$04$privacyCanarySaltXXXXu",
        },
        lambda clock: NaverSandbox(
            client_id="privacyApp", client_secret="$2a$04$privacyCanarySaltXXXXu", now=clock.now
        ),
        _naver_customer_inquiry,
    ),
]
for source in SOURCES:
    source.account.update(base_url="http://127.0.0.1:9", poll_interval_s=60)


def _channels(tmp_path: Path) -> tuple[Any, ...]:
    """Every channel kind, each carrying every message kind, and the sink."""
    return (
        NtfyConfig(type="ntfy", name="ntfy", server_url=NTFY, topic="inqd-privacy", clear_when_answered=False),
        SmsConfig.model_validate(
            {
                "type": "sms",
                "name": "sms",
                "api_key": "NCSAPIKEY0001",
                "api_secret": "sms-secret-canary",
                "sender": "0212345678",
                "recipient": "01098765432",
                "base_url": SOLAPI,
                "kinds": EVERY_KIND,
            }
        ),
        TelegramConfig.model_validate(
            {
                "type": "telegram",
                "name": "telegram",
                "bot_token": BOT_TOKEN,
                "chat_id": "42",
                "base_url": TELEGRAM,
                "actions": False,
            }
        ),
        WebhookConfig.model_validate({"type": "webhook", "name": "webhook", "url": WEBHOOK}),
        quiet_sink(tmp_path),
    )


def _route(router: respx.MockRouter, sent: dict[str, list[str]]) -> None:
    """Answer each channel's API and keep every request body, decoded (JSON escapes would hide Korean text)."""
    urls = {
        "ntfy": f"{NTFY}/",
        "sms": f"{SOLAPI}/messages/v4/send-many/detail",
        "telegram": f"{TELEGRAM}/bot{BOT_TOKEN}/sendMessage",
        "webhook": WEBHOOK,
    }
    for channel, url in urls.items():

        def record(request: httpx.Request, channel: str = channel) -> httpx.Response:
            sent[channel].append(json.dumps(json.loads(request.content), ensure_ascii=False))
            return OK[channel]

        router.post(url).mock(side_effect=record)


async def _run_for(daemon: Daemon, clock: FakeClock, hours: float, step_min: int = 20) -> None:
    for _ in range(int(hours * 60 / step_min)):
        clock.advance(step_min * 60)
        await daemon.run_once()


async def _drive(source: Source, clock: FakeClock, make_settings: MakeSettings, tmp_path: Path) -> None:
    """A Tuesday afternoon to Wednesday afternoon: the push, two promises (one at night), alerts, the digest."""
    sandbox = source.sandbox(clock)
    refusing = [False]

    def marketplace(request: httpx.Request) -> httpx.Response:
        if refusing[0] and request.method == "GET":  # list requests; a token request still works
            return httpx.Response(400, json={"code": "BAD_REQUEST", "message": ECHO})
        return sandbox.handler(request)

    transport = httpx.MockTransport(marketplace)
    settings = make_settings(*_channels(tmp_path), account=source.account)
    daemon = await Daemon.build(settings, clock=clock, transport_for=lambda _: transport, rng=random.Random(14))
    await daemon.run_once()
    source.ask(sandbox, clock.now())
    clock.advance(60)
    await daemon.run_once()
    policies = settings.policies()
    note = f"{NAME} 고객님께 010-4444-5555로 전화"
    await controls.promise(
        daemon.store, policies, 1, clock.now() + timedelta(hours=2), note, now=clock.now(), actor="t"
    )
    await _run_for(daemon, clock, 3)
    at_night = datetime(2026, 11, 24, 23, 30, tzinfo=KST)  # its reminder is held for the morning digest
    await controls.promise(daemon.store, policies, 1, at_night, f"밤 통화 {NAME}", now=clock.now(), actor="t")
    await _run_for(daemon, clock, 17)  # Wednesday 10:00
    refusing[0] = True
    await _run_for(daemon, clock, 1)
    refusing[0] = False
    await _run_for(daemon, clock, 4)
    await daemon.aclose()


async def _terminal(capsys: pytest.CaptureFixture[str], tmp_path: Path, database: Path | str) -> str:
    """What `inqd queue`, `inqd queue --json` and `inqd explain 1` print (each runs its own event loop), reading
    the daemon's database (a SQLite file, or PostgreSQL under INQD_TEST_BACKEND=postgres)."""
    config = tmp_path / "inqd.toml"
    url = f"database_url = '{database}'\n" if isinstance(database, str) else ""
    config.write_text(f"db_path = '{tmp_path / 'inqd.db'}'\n{url}", encoding="utf-8")
    on = ["--config", str(config)]
    commands = [["queue", *on], ["queue", *on, "--json"], ["explain", "1", *on]]
    codes = [await asyncio.to_thread(main, command) for command in commands]
    captured = capsys.readouterr()
    assert codes == [0, 0, 0]
    return captured.out + captured.err


@pytest.mark.parametrize("source", SOURCES, ids=lambda s: s.name)
async def test_no_raw_buyer_data_on_any_channel_in_the_log_or_the_terminal(
    source: Source,
    tmp_path: Path,
    clock: FakeClock,
    make_settings: MakeSettings,
    capsys: pytest.CaptureFixture[str],
    database: Path | str,
) -> None:
    log = io.StringIO()
    configure_logging(fmt="json", level="DEBUG", stream=log)
    sent: dict[str, list[str]] = {channel: [] for channel in OK}
    with respx.mock(assert_all_mocked=True, assert_all_called=True) as router:
        _route(router, sent)
        await _drive(source, clock, make_settings, tmp_path)
    sink = (tmp_path / "sink.jsonl").read_text(encoding="utf-8")
    kinds = {json.loads(line)["kind"] for line in sink.splitlines()}
    outbound = {**{channel: "\n".join(bodies) for channel, bodies in sent.items()}, "sink": sink}
    terminal = await _terminal(capsys, tmp_path, database)

    assert kinds >= {"new_inquiry", "promise_reminder", "promise_missed", "digest", "sla_warning", "system"}
    assert "연결 끊김" in sink and "request rejected" in sink  # the error is quoted, masked
    assert {channel: len(bodies) for channel, bodies in sent.items()} == dict.fromkeys(OK, len(sink.splitlines()))
    # Masked, not dropped: the seller still sees who asked and the last digits.
    assert [(where, m) for where, text in outbound.items() for m in MASKED if m not in text] == []
    places = {**outbound, "terminal": terminal, "log": log.getvalue()}
    assert [(where, raw) for where, text in places.items() for raw in RAW if raw in text] == []
    assert MASKED[0] in terminal
