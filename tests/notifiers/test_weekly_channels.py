"""The weekly message on each channel: Telegram sendPhoto (multipart), an ntfy attachment (PUT with RFC 2047 headers),
each falling back to the text alone when the picture is refused; SMS and webhooks send the text only."""

from __future__ import annotations

import json
from datetime import date
from email.header import decode_header, make_header
from email.message import Message as MimePart
from email.parser import BytesParser
from email.policy import HTTP

import httpx
import respx
from pydantic import SecretStr

from aggregator import render
from aggregator.notifiers.ntfy import NtfyNotifier
from aggregator.notifiers.sms import SolapiSmsNotifier
from aggregator.notifiers.telegram import TelegramNotifier
from aggregator.notifiers.webhook import WebhookNotifier
from core.models import Message
from core.payloads import WeeklyReportPayload
from tests.notifiers.conftest import NOW
from tests.png import png_size, tiny_png

TOKEN = "123456789:AAH-weekly-tok3n"
TELEGRAM = f"https://api.telegram.org/bot{TOKEN}"
OK = {"ok": True, "result": {"message_id": 7}}
NTFY = "https://ntfy.example"
LINES = (
    "쿠팡: 문의 42건, 24시간 안에 답변 40건 (95.2%)",
    "답변까지 중앙값 3시간 10분, 근무시간 기준 1시간 5분",
    "이대로면 쿠팡 30일 24시간 답변율이 95% 아래로 내려갑니다 (지금 96.1%)",
)
PNG = tiny_png(3, 2)
PAYLOAD = WeeklyReportPayload(week=date(2026, 9, 21), lines=LINES)


def _weekly(image: bytes | None = PNG) -> Message:
    return render.weekly_report(PAYLOAD, image=image)


def _form(request: httpx.Request) -> dict[str, MimePart]:
    """The multipart parts of `request` by field name."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    parsed = BytesParser(policy=HTTP).parsebytes(head + request.content)
    return {str(part.get_param("name", header="content-disposition")): part for part in parsed.iter_parts()}


def _text(part: MimePart) -> str:
    """A form field's text: httpx sends UTF-8 with no charset parameter, which the parser would read as ASCII."""
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode("utf-8")


def _telegram(client: httpx.AsyncClient) -> TelegramNotifier:
    return TelegramNotifier(name="tg", bot_token=SecretStr(TOKEN), chat_id="4242", client=client, now=lambda: NOW)


def _ntfy(client: httpx.AsyncClient) -> NtfyNotifier:
    return NtfyNotifier(
        name="n", server_url=NTFY, topic="inqd-topic", client=client, now=lambda: NOW, token=SecretStr("tk_secret")
    )


def _header(request: httpx.Request, name: str) -> str:
    return str(make_header(decode_header(request.headers[name])))


def test_the_weekly_message_says_which_week_and_carries_the_summary() -> None:
    message = _weekly()
    assert (message.title, message.body.splitlines(), message.image_name) == (
        "[inqd] 지난주 답변 리포트 9/21(월)~9/27(일)",
        list(LINES),
        "inqd-weekly-2026-09-21.png",
    )


async def test_telegram_sends_the_chart_with_sendphoto(router: respx.MockRouter, client: httpx.AsyncClient) -> None:
    route = router.post(f"{TELEGRAM}/sendPhoto").mock(return_value=httpx.Response(200, json=OK))
    await _telegram(client).send(_weekly())
    form = _form(route.calls.last.request)
    photo = form["photo"]
    caption = _text(form["caption"])
    assert sorted(form) == ["caption", "chat_id", "disable_notification", "parse_mode", "photo"]
    assert (_text(form["chat_id"]), _text(form["parse_mode"])) == ("4242", "HTML")
    assert caption.splitlines() == ["<b>[inqd] 지난주 답변 리포트 9/21(월)~9/27(일)</b>", *LINES]
    assert (photo.get_filename(), photo.get_content_type()) == ("inqd-weekly-2026-09-21.png", "image/png")
    assert photo.get_payload(decode=True) == PNG and png_size(PNG) == (3, 2)


async def test_a_telegram_caption_is_cut_to_1024_characters(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    route = router.post(f"{TELEGRAM}/sendPhoto").mock(return_value=httpx.Response(200, json=OK))
    long = WeeklyReportPayload(week=date(2026, 9, 21), lines=("가" * 2000,))
    await _telegram(client).send(render.weekly_report(long, image=PNG))
    caption = _text(_form(route.calls.last.request)["caption"])
    assert (len(caption), caption[-1]) == (1024, "…")


async def test_telegram_sends_the_text_alone_when_it_refuses_the_picture(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    refused = {"ok": False, "error_code": 400, "description": "Bad Request: PHOTO_INVALID_DIMENSIONS"}
    router.post(f"{TELEGRAM}/sendPhoto").mock(return_value=httpx.Response(400, json=refused))
    text = router.post(f"{TELEGRAM}/sendMessage").mock(return_value=httpx.Response(200, json=OK))
    await _telegram(client).send(_weekly())
    assert json.loads(text.calls.last.request.content)["text"].splitlines()[1:] == list(LINES)


async def test_telegram_without_a_picture_uses_sendmessage(router: respx.MockRouter, client: httpx.AsyncClient) -> None:
    route = router.post(f"{TELEGRAM}/sendMessage").mock(return_value=httpx.Response(200, json=OK))
    await _telegram(client).send(_weekly(image=None))
    assert json.loads(route.calls.last.request.content)["disable_notification"] is True  # low priority: no sound


async def test_ntfy_attaches_the_chart(router: respx.MockRouter, client: httpx.AsyncClient) -> None:
    route = router.put(f"{NTFY}/inqd-topic").mock(return_value=httpx.Response(200, json={"id": "1"}))
    await _ntfy(client).send(_weekly())
    request = route.calls.last.request
    assert request.content == PNG
    assert request.headers["Filename"] == "inqd-weekly-2026-09-21.png"
    assert request.headers["Authorization"] == "Bearer tk_secret"
    assert (request.headers["Priority"], request.headers["Tags"]) == ("2", "bar_chart")
    # Korean text in ASCII headers: RFC 2047 encoded words that decode back to the text, newlines kept
    assert request.headers["Title"].isascii() and request.headers["Message"].isascii()
    assert _header(request, "Title") == "[inqd] 지난주 답변 리포트 9/21(월)~9/27(일)"
    assert _header(request, "Message").splitlines() == list(LINES)
    assert max(len(word) for word in request.headers["Message"].split(" ")) <= 75


async def test_ntfy_sends_the_text_alone_when_attachments_are_refused(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    refused = {"code": 40014, "http": 400, "error": "invalid request: attachments not allowed"}
    router.put(f"{NTFY}/inqd-topic").mock(return_value=httpx.Response(400, json=refused))
    text = router.post(f"{NTFY}/").mock(return_value=httpx.Response(200, json={"id": "2"}))
    await _ntfy(client).send(_weekly())
    published = json.loads(text.calls.last.request.content)
    assert (published["topic"], published["message"].splitlines()) == ("inqd-topic", list(LINES))


async def test_ntfy_sends_the_text_alone_when_the_picture_is_too_large(
    router: respx.MockRouter, client: httpx.AsyncClient
) -> None:
    refused = {"code": 41301, "http": 413, "error": "attachment too large, or bandwidth limit reached"}
    router.put(f"{NTFY}/inqd-topic").mock(return_value=httpx.Response(413, json=refused))
    text = router.post(f"{NTFY}/").mock(return_value=httpx.Response(200, json={"id": "2"}))
    await _ntfy(client).send(_weekly())
    assert json.loads(text.calls.last.request.content)["title"].startswith("[inqd] 지난주 답변 리포트")


async def test_sms_sends_the_summary_as_text(router: respx.MockRouter, client: httpx.AsyncClient) -> None:
    route = router.post("https://api.solapi.com/messages/v4/send-many/detail").mock(
        return_value=httpx.Response(200, json={"groupInfo": {"count": {"total": 1, "registeredFailed": 0}}})
    )
    sms = SolapiSmsNotifier(
        name="s",
        api_key="NCSAPIKEY0001",
        api_secret=SecretStr("secret"),
        sender="0212345678",
        recipient="01012345678",
        client=client,
        now=lambda: NOW,
    )
    await sms.send(_weekly())
    (entry,) = json.loads(route.calls.last.request.content)["messages"]
    assert (entry["type"], entry["text"].splitlines()[1:]) == ("LMS", list(LINES))
    assert b"PNG" not in route.calls.last.request.content


async def test_a_webhook_posts_the_summary_as_json_text(router: respx.MockRouter, client: httpx.AsyncClient) -> None:
    route = router.post("https://hooks.example/weekly-secret").mock(return_value=httpx.Response(204))
    hook = WebhookNotifier(
        name="w", url=SecretStr("https://hooks.example/weekly-secret"), client=client, now=lambda: NOW
    )
    await hook.send(_weekly())
    posted = json.loads(route.calls.last.request.content)
    assert (posted["kind"], posted["body"].splitlines()) == ("weekly_report", list(LINES))
    assert b"PNG" not in route.calls.last.request.content
