"""Acting from the phone through the whole daemon: a Telegram button tap from the configured chat marks the
inquiry handled (its alerts stop), a tap from another chat is refused and logged; an ntfy button calls the admin
API with a signed link (the token never leaves), a forged or expired link is refused."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from aggregator.daemon import Daemon
from aggregator.notifiers.action_links import ActionLinks
from aggregator.notifiers.ntfy import NtfyNotifier
from aggregator.settings.notify import TelegramConfig
from aggregator.settings.service import AdminConfig
from aggregator.wiring import build_action_links
from connectors.sandbox import CoupangSandbox
from core.models import Message, MessageKind
from tests.conftest import MakeSettings, quiet_sink
from tests.fakes import FakeClock

BOT = "123456:phone-actions-token"
CHAT = "4242"
TG = f"http://127.0.0.1:7/bot{BOT}"
ADMIN_TOKEN = "admin-token-never-on-the-phone"


TELEGRAM = TelegramConfig.model_validate(
    {"type": "telegram", "name": "tg", "bot_token": BOT, "chat_id": CHAT, "base_url": "http://127.0.0.1:7"}
)


def _tap(update_id: int, chat: str, data: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"q{update_id}",
            "from": {"id": 99, "is_bot": False, "first_name": "사장님"},
            "data": data,
            "message": {"message_id": 1, "date": 0, "chat": {"id": int(chat), "type": "private"}},
        },
    }


async def test_telegram_taps_from_the_chat_act_and_others_are_refused(
    tmp_path: Path, clock: FakeClock, make_settings: MakeSettings
) -> None:
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    transport = httpx.MockTransport(sandbox.handler)
    sent: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        router.post(f"{TG}/sendMessage").mock(
            side_effect=lambda r: (sent.append(json.loads(r.content)), httpx.Response(200, json={"ok": True}))[1]
        )
        router.post(f"{TG}/answerCallbackQuery").mock(
            side_effect=lambda r: (answers.append(json.loads(r.content)), httpx.Response(200, json={"ok": True}))[1]
        )
        updates = router.post(f"{TG}/getUpdates")
        updates.side_effect = [
            httpx.Response(
                200,
                json={"ok": True, "result": [_tap(10, "31337", "inqd:handled:1"), _tap(11, CHAT, "inqd:handled:1")]},
            ),
            httpx.Response(200, json={"ok": True, "result": []}),
        ]
        daemon = await Daemon.build(
            make_settings(quiet_sink(tmp_path), TELEGRAM, quiet_hours=()),
            clock=clock,
            transport_for=lambda _: transport,
            rng=random.Random(2),
        )
        await daemon.run_once()
        sandbox.add_product_inquiry(content="배송 문의", inquiry_at=clock.now())
        clock.advance(60)
        await daemon.run_once()
        [poller] = daemon.action_pollers
        with capture_logs() as logs:
            assert await poller.poll_once() == 2
        await poller.poll_once()
        for _ in range(30):  # 30 hours: the 24 h breach would come if the tap had not stopped it
            clock.advance(3600)
            await daemon.run_once()
        stored = await daemon.store.get_inquiry(1)
        offset = await daemon.store.meta_value("telegram_offset:tg")
        second_offset = json.loads(updates.calls[1].request.content)["offset"]
        await daemon.aclose()
    keyboard = sent[0]["reply_markup"]["inline_keyboard"]
    assert [b["callback_data"] for b in keyboard[0]] == ["inqd:handled:1"]
    assert stored is not None and stored.controls.handled_at is not None
    assert answers[0]["text"] == "권한이 없습니다" and "처리함으로 표시했습니다" in answers[1]["text"]
    refused = [e for e in logs if e["event"] == "telegram_action_refused"]
    assert len(refused) == 1 and BOT not in str(logs)
    assert offset == "12" and second_offset == 12  # a restart does not replay the taps
    assert [m for m in sent if "지남" in m["text"] or "남음" in m["text"]] == []  # no SLA alert after "처리함"


def test_ntfy_buttons_carry_signed_links_not_the_token(clock: FakeClock) -> None:
    links = ActionLinks("https://inqd.example.com", ADMIN_TOKEN, clock.now)
    buttons = links.ntfy_actions(7, "https://wing.coupang.com/")
    assert [b["label"] for b in buttons] == ["판매자센터", "✅ 처리함", "⏰ 1시간 뒤"]
    assert buttons[1]["url"].startswith("https://inqd.example.com/actions/handled/7?exp=")
    assert all(ADMIN_TOKEN not in json.dumps(b) for b in buttons)


async def test_ntfy_publish_includes_the_action_buttons(clock: FakeClock) -> None:
    links = ActionLinks("https://inqd.example.com", ADMIN_TOKEN, clock.now)
    with respx.mock(assert_all_called=True) as router:
        route = router.post("https://ntfy.example.com/").respond(200, json={})
        async with httpx.AsyncClient() as client:
            phone = NtfyNotifier(
                name="p",
                server_url="https://ntfy.example.com",
                topic="t",
                client=client,
                now=clock.now,
                action_links=links,
            )
            message = Message(kind=MessageKind.NEW_INQUIRY, title="t", body="b", inquiry_id=3)
            await phone.send(message)
    assert [a["action"] for a in json.loads(route.calls.last.request.content)["actions"]] == ["http", "http"]


@pytest.mark.parametrize(
    ("web", "inquiry_id", "click"),
    [
        (True, 3, "https://inqd.example.com/inquiries/3"),  # the tap opens the inquiry in the web inbox
        (False, 3, "https://wing.coupang.com/"),  # no web inbox: the seller centre, as before
        (True, None, "https://wing.coupang.com/"),  # not about one inquiry (a connection notice)
    ],
)
async def test_with_a_public_url_a_tap_on_the_ntfy_notification_opens_the_web_inbox(
    clock: FakeClock, make_settings: MakeSettings, web: bool, inquiry_id: int | None, click: str
) -> None:
    admin = AdminConfig(port=0, token=ADMIN_TOKEN, public_url="https://inqd.example.com/", web=web)
    links = build_action_links(make_settings(admin=admin), clock)
    with respx.mock(assert_all_called=True) as router:
        route = router.post("https://ntfy.example.com/").respond(200, json={})
        async with httpx.AsyncClient() as client:
            phone = NtfyNotifier(
                name="p",
                server_url="https://ntfy.example.com",
                topic="t",
                client=client,
                now=clock.now,
                action_links=links,
            )
            message = Message(
                kind=MessageKind.NEW_INQUIRY,
                title="t",
                body="b",
                inquiry_id=inquiry_id,
                click_url="https://wing.coupang.com/",
            )
            await phone.send(message)
    sent = json.loads(route.calls.last.request.content)
    assert sent["click"] == click
    if inquiry_id is not None:  # the seller centre is still a button beside the actions
        assert sent["actions"][0] == {"action": "view", "label": "판매자센터", "url": "https://wing.coupang.com/"}


async def test_without_a_public_url_the_ntfy_click_stays_the_seller_centre(
    clock: FakeClock, make_settings: MakeSettings
) -> None:
    assert build_action_links(make_settings(admin=AdminConfig(port=0, token=ADMIN_TOKEN)), clock) is None
    with respx.mock(assert_all_called=True) as router:
        route = router.post("https://ntfy.example.com/").respond(200, json={})
        async with httpx.AsyncClient() as client:
            phone = NtfyNotifier(
                name="p", server_url="https://ntfy.example.com", topic="t", client=client, now=clock.now
            )
            message = Message(
                kind=MessageKind.NEW_INQUIRY, title="t", body="b", inquiry_id=3, click_url="https://wing.coupang.com/"
            )
            await phone.send(message)
    sent = json.loads(route.calls.last.request.content)
    assert sent["click"] == "https://wing.coupang.com/" and "actions" not in sent


@pytest.mark.parametrize(
    ("path", "headers", "status", "handled"),
    [
        ("signed", {}, 200, True),
        ("forged", {}, 403, False),
        ("expired", {}, 403, False),
        ("other-inquiry", {}, 403, False),
        ("plain", {"Authorization": f"Bearer {ADMIN_TOKEN}"}, 200, True),
        ("plain", {"Authorization": "Bearer wrong"}, 403, False),
    ],
)
async def test_the_admin_api_obeys_only_signed_links_or_the_token(
    clock: FakeClock, make_settings: MakeSettings, path: str, headers: dict[str, str], status: int, handled: bool
) -> None:
    sandbox = CoupangSandbox(vendor_id="A00012345", access_key="ak", secret_key="sk", now=clock.now)
    transport = httpx.MockTransport(sandbox.handler)
    admin = AdminConfig(port=0, token=ADMIN_TOKEN, public_url="https://inqd.example.com")
    settings = make_settings(quiet_hours=(), admin=admin)
    daemon = await Daemon.build(settings, clock=clock, transport_for=lambda _: transport, rng=random.Random(2))
    await daemon.run_once()
    sandbox.add_product_inquiry(content="배송 문의", inquiry_at=clock.now())
    clock.advance(60)
    await daemon.run_once()
    links = ActionLinks("http://placeholder", ADMIN_TOKEN, clock.now)
    url = links.url("handled", 1).replace("http://placeholder", "")
    if path == "forged":
        url = url[:-4] + "0000"
    elif path == "expired":
        url = (
            ActionLinks("http://placeholder", ADMIN_TOKEN, lambda: clock.now() - timedelta(days=8))
            .url("handled", 1)
            .replace("http://placeholder", "")
        )
    elif path == "other-inquiry":
        url = url.replace("/handled/1?", "/handled/2?")
    elif path == "plain":
        url = "/actions/handled/1"
    server = await daemon._start_admin(_report(daemon))
    assert server is not None
    port = server.port
    try:
        with capture_logs() as logs:
            async with httpx.AsyncClient() as client:
                response = await client.post(f"http://127.0.0.1:{port}{url}", headers=headers)
    finally:
        await server.aclose()
    stored = await daemon.store.get_inquiry(1)
    await daemon.aclose()
    assert response.status_code == status
    assert stored is not None and (stored.controls.handled_at is not None) is handled
    if status == 403:
        assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["phone_action_refused"]
    assert ADMIN_TOKEN not in str(logs)


def _report(daemon: Daemon) -> Any:
    from aggregator.service import ServiceReport

    return ServiceReport(daemon.store, daemon.clock, daemon.watch, daemon.metrics)
