"""TelegramActionPoller against a respx-mocked Bot API: taps applied or refused, offsets, backoff, no token leaks."""

from __future__ import annotations

import asyncio
import json
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr
from structlog.testing import capture_logs

from aggregator.notifiers.telegram import inline_keyboard
from aggregator.notifiers.telegram_actions import ActionStats, TelegramActionPoller, TelegramPollError
from core.models import Message, MessageKind

TOKEN = "123456789:AAH-tok3n_VALUE-never-printed"
BASE = f"https://api.telegram.org/bot{TOKEN}"
GET_UPDATES = f"{BASE}/getUpdates"
ANSWER = f"{BASE}/answerCallbackQuery"
CHAT = -1001234567890  # a supergroup: negative, compared as a string
USER = 777
NOTHING: dict[str, Any] = {"ok": True, "result": []}


@dataclass
class Host:
    """What the daemon would pass in: a store-backed apply and offset, and a sleep that only records."""

    offset: int | None = None
    reply: str = "처리했습니다"
    failing_ids: frozenset[int] = frozenset()
    applied: list[tuple[str, int, str]] = field(default_factory=list)
    saved: list[int] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    stop_after_sleeps: int = 1_000

    async def apply(self, action: str, inquiry_id: int, actor: str) -> str:
        """Record the action; crash for the ids told to."""
        self.applied.append((action, inquiry_id, actor))
        if inquiry_id in self.failing_ids:
            raise RuntimeError("database is locked")
        return self.reply

    async def load_offset(self) -> int | None:
        """The stored offset."""
        return self.offset

    async def save_offset(self, offset: int) -> None:
        """Store the offset."""
        self.saved.append(offset)
        self.offset = offset

    async def sleep(self, seconds: float) -> None:
        """Record the wait; stop the loop after `stop_after_sleeps` waits."""
        self.sleeps.append(seconds)
        if len(self.sleeps) >= self.stop_after_sleeps:
            self.stop.set()


def _poller(client: httpx.AsyncClient, host: Host, chat_id: str = str(CHAT)) -> TelegramActionPoller:
    return TelegramActionPoller(
        bot_token=SecretStr(TOKEN),
        chat_id=chat_id,
        client=client,
        apply=host.apply,
        load_offset=host.load_offset,
        save_offset=host.save_offset,
        sleep=host.sleep,
    )


def _callback(
    update_id: int,
    data: object = "inqd:handled:42",
    *,
    chat: dict[str, Any] | None = None,
    user_id: object = USER,
    query_id: str = "q1",
    message: bool = True,
) -> dict[str, Any]:
    query: dict[str, Any] = {"id": query_id, "from": {"id": user_id, "is_bot": False, "first_name": "사장님"}}
    if data is not None:
        query["data"] = data
    if message:
        query["message"] = {
            "message_id": 9,
            "date": 1764000000,
            "chat": chat if chat is not None else {"id": CHAT, "type": "supergroup", "title": "문의 알림"},
            "text": "[쿠팡] 새 상품문의\n“배송 언제 오나요?”",
        }
    return {"update_id": update_id, "callback_query": query}


def _updates(*updates: Any) -> httpx.Response:
    return httpx.Response(200, json={"ok": True, "result": list(updates)})


def _body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def _answers(route: respx.Route) -> list[dict[str, Any]]:
    return [_body(call.request) for call in route.calls]


async def _poll_once(
    host: Host, *responses: httpx.Response | Exception, chat_id: str = str(CHAT)
) -> tuple[int, respx.Route]:
    """One poll_once against getUpdates answering `responses`; returns its count and the answer route."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.post(GET_UPDATES).mock(side_effect=list(responses))
        answer = router.post(ANSWER).mock(return_value=httpx.Response(200, json={"ok": True, "result": True}))
        async with httpx.AsyncClient() as client:
            count = await _poller(client, host, chat_id).poll_once()
    return count, answer


def _scripted(host: Host, outcomes: list[httpx.Response | Exception]) -> Callable[[httpx.Request], httpx.Response]:
    """getUpdates answering `outcomes` in turn, then setting `stop` and answering nothing new."""
    remaining = list(outcomes)

    def handler(request: httpx.Request) -> httpx.Response:
        if not remaining:
            host.stop.set()
            return httpx.Response(200, json=NOTHING)
        outcome = remaining.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return handler


def _answering(outcome: httpx.Response | Exception | None) -> Callable[[httpx.Request], httpx.Response]:
    """answerCallbackQuery answering `outcome` every time (ok=true when None)."""

    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(outcome, Exception):
            raise outcome
        return outcome or httpx.Response(200, json={"ok": True, "result": True})

    return handler


async def _run(
    host: Host, outcomes: list[httpx.Response | Exception], answer_with: httpx.Response | Exception | None = None
) -> tuple[TelegramActionPoller, respx.Route, respx.Route]:
    """run() until the script is used up (or the loop ends by itself); no real sleeping."""
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        updates = router.post(GET_UPDATES).mock(side_effect=_scripted(host, outcomes))
        answer = router.post(ANSWER).mock(side_effect=_answering(answer_with))
        async with httpx.AsyncClient() as client:
            poller = _poller(client, host)
            await asyncio.wait_for(poller.run(host.stop), timeout=5)
    return poller, updates, answer


@pytest.mark.parametrize(("stored", "expected"), [(None, {}), (41, {"offset": 41})])
async def test_get_updates_request(stored: int | None, expected: dict[str, Any]) -> None:
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        route = router.post(GET_UPDATES).mock(return_value=httpx.Response(200, json=NOTHING))
        async with httpx.AsyncClient(timeout=20.0) as client:
            assert await _poller(client, Host(offset=stored)).poll_once() == 0

    request = route.calls.last.request
    assert _body(request) == {"timeout": 50, "allowed_updates": ["callback_query"], **expected}
    assert request.extensions["timeout"]["read"] == 60.0  # longer than the long poll, whatever the client's default


@pytest.mark.parametrize(
    ("data", "action", "inquiry_id"),
    [
        ("inqd:handled:42", "handled", 42),
        ("inqd:snooze1h:7", "snooze1h", 7),
        ("inqd:snooze3h:9223372036854775807", "snooze3h", 9223372036854775807),
    ],
)
async def test_callback_from_the_configured_chat_is_applied_and_answered(
    data: str, action: str, inquiry_id: int
) -> None:
    host = Host(reply="처리함으로 표시했습니다")
    with capture_logs() as logs:
        count, answer = await _poll_once(host, _updates(_callback(100, data, query_id="cbq-1")))

    assert count == 1
    assert host.applied == [(action, inquiry_id, "telegram:777")]
    assert _answers(answer) == [{"callback_query_id": "cbq-1", "text": "처리함으로 표시했습니다"}]
    assert host.saved == [101]
    assert logs == [
        {
            "event": "telegram_action_applied",
            "action": action,
            "inquiry_id": inquiry_id,
            "user_id": USER,
            "log_level": "info",
        }
    ]


async def test_every_button_the_notifier_sends_is_understood() -> None:
    message = Message(kind=MessageKind.NEW_INQUIRY, title="t", body="b", inquiry_id=42)
    datas = [b["callback_data"] for row in inline_keyboard(message, actions=True) for b in row if "callback_data" in b]
    host = Host()

    count, _ = await _poll_once(host, _updates(*(_callback(i, data) for i, data in enumerate(datas))))

    assert count == 3
    assert host.applied == [(a, 42, "telegram:777") for a in ("handled", "snooze1h", "snooze3h")]


@pytest.mark.parametrize(
    ("callback", "chat_id", "user_id"),
    [
        (_callback(5, chat={"id": 555, "type": "private"}), 555, USER),  # the bot's private chat with a stranger
        (_callback(5, chat={"id": -100999, "type": "supergroup"}), -100999, USER),  # another group the bot is in
        (_callback(5, chat={"id": str(CHAT), "type": "supergroup"}), None, USER),  # an id that is not a number
        (_callback(5, message=False), None, USER),  # an inline-mode message: no chat at all
        (_callback(5, user_id=None), CHAT, None),  # nobody to name as the actor
    ],
)
async def test_callback_from_an_unknown_chat_is_refused(
    callback: dict[str, Any], chat_id: int | None, user_id: int | None
) -> None:
    host = Host()
    with capture_logs() as logs:
        count, answer = await _poll_once(host, _updates(callback))

    assert count == 1
    assert host.applied == []
    assert _answers(answer) == [{"callback_query_id": "q1", "text": "권한이 없습니다"}]
    assert logs == [
        {
            "event": "telegram_action_refused",
            "reason": "unknown_chat",
            "chat_id": chat_id,
            "user_id": user_id,
            "log_level": "warning",
        }
    ]
    assert TOKEN not in repr(logs)
    assert "배송" not in repr(logs)  # the message text (buyer's words) is never logged
    assert host.saved == [6]  # a refused tap is done with: it is never read again


@pytest.mark.parametrize(
    ("configured", "chat", "text"),
    [
        ("@MyShop_Alerts", {"id": -100555, "type": "channel", "username": "myshop_alerts"}, "처리했습니다"),
        ("@MyShop_Alerts", {"id": -100555, "type": "channel", "username": "someone_else"}, "권한이 없습니다"),
        ("@MyShop_Alerts", {"id": -100555, "type": "channel"}, "권한이 없습니다"),
        (" 4242 ", {"id": 4242, "type": "private"}, "처리했습니다"),
        ("4242", {"id": -4242, "type": "group"}, "권한이 없습니다"),
    ],
)
async def test_configured_chat_by_id_or_username(configured: str, chat: dict[str, Any], text: str) -> None:
    _, answer = await _poll_once(Host(), _updates(_callback(1, chat=chat)), chat_id=configured)

    assert [a["text"] for a in _answers(answer)] == [text]


@pytest.mark.parametrize(
    "data",
    [
        "inqd:delete:42",
        "inqd:handled:abc",
        "inqd:handled:0",
        "inqd:handled:-42",
        "inqd:handled:42:extra",
        "other:handled:42",
        "inqd:handled:99999999999999999999",
        None,
        42,
    ],
)
async def test_bad_callback_data_is_refused(data: object) -> None:
    host = Host()
    with capture_logs() as logs:
        count, answer = await _poll_once(host, _updates(_callback(5, data)))

    assert (count, host.applied) == (1, [])
    assert _answers(answer) == [{"callback_query_id": "q1", "text": "알 수 없는 동작입니다"}]
    assert [(e["event"], e["reason"], e["chat_id"], e["user_id"]) for e in logs] == [
        ("telegram_action_refused", "unknown_action", CHAT, USER)
    ]


async def test_offset_is_saved_and_used_by_the_next_poll_and_after_a_restart() -> None:
    host = Host()
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        route = router.post(GET_UPDATES).mock(
            side_effect=[
                _updates(_callback(10), {"update_id": 11, "message": {"text": "/start"}}),
                _updates(),
                _updates(_callback(12, "inqd:snooze1h:42")),
            ]
        )
        router.post(ANSWER).mock(return_value=httpx.Response(200, json={"ok": True, "result": True}))
        async with httpx.AsyncClient() as client:
            poller = _poller(client, host)
            assert [await poller.poll_once(), await poller.poll_once()] == [1, 0]
            restarted = _poller(client, host)
            assert await restarted.poll_once() == 1

    assert [_body(call.request).get("offset") for call in route.calls] == [None, 12, 12]
    assert host.saved == [12, 13]  # an empty batch saves nothing


async def test_malformed_updates_are_counted_and_skipped() -> None:
    host = Host()
    with capture_logs() as logs:
        count, answer = await _poll_once(
            host,
            _updates(
                "junk",
                {"no": "update_id"},
                {"update_id": True, "callback_query": {"id": "q0"}},
                {"update_id": 5, "callback_query": "not an object"},
                {"update_id": 6, "callback_query": {"data": "inqd:handled:1"}},
                {"update_id": 7, "edited_message": {"text": "ignored"}},
                _callback(8),
            ),
        )

    assert count == 1
    assert host.applied == [("handled", 42, "telegram:777")]
    assert len(_answers(answer)) == 1
    assert host.saved == [9]
    assert [e["event"] for e in logs].count("telegram_update_skipped") == 5


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.Response(200, json={"ok": False}),
        httpx.Response(200, json={"ok": True, "result": {"not": "a list"}}),
    ],
)
async def test_malformed_answer_is_a_retryable_poll_error(response: httpx.Response) -> None:
    host = Host()
    with pytest.raises(TelegramPollError) as caught:
        await _poll_once(host, response)

    assert caught.value.kind == "retry"
    assert host.saved == []


async def test_apply_raising_answers_failure_and_the_loop_goes_on() -> None:
    host = Host(failing_ids=frozenset({13}))
    with capture_logs() as logs:
        poller, updates, answer = await _run(
            host,
            [
                _updates(_callback(1, "inqd:handled:13", query_id="bad"), _callback(2, query_id="good")),
                _updates(_callback(3, "inqd:snooze3h:13", query_id="again")),
            ],
        )

    assert host.applied == [
        ("handled", 13, "telegram:777"),
        ("handled", 42, "telegram:777"),
        ("snooze3h", 13, "telegram:777"),
    ]
    assert _answers(answer) == [
        {"callback_query_id": "bad", "text": "처리하지 못했습니다. 다시 시도해 주세요"},
        {"callback_query_id": "good", "text": "처리했습니다"},
        {"callback_query_id": "again", "text": "처리하지 못했습니다. 다시 시도해 주세요"},
    ]
    assert host.saved == [3, 4]  # a crashed tap is passed over: the seller taps again, the good one is not replayed
    assert poller.stats == ActionStats(applied=1, refused=0, failed=2, skipped=0)
    failed = [e for e in logs if e["event"] == "telegram_action_failed"]
    assert [(e["action"], e["inquiry_id"], e["error"], e["log_level"]) for e in failed] == [
        ("handled", 13, "RuntimeError", "error"),
        ("snooze3h", 13, "RuntimeError", "error"),
    ]
    assert len(updates.calls) == 3
    assert host.sleeps == []


@pytest.mark.parametrize(
    "answer_with",
    [
        httpx.Response(400, json={"ok": False, "description": "Bad Request: query is too old"}),
        httpx.ConnectError(f"cannot connect to {ANSWER}"),
    ],
)
async def test_a_failed_answer_is_logged_and_the_action_stands(answer_with: httpx.Response | Exception) -> None:
    host = Host()
    with capture_logs() as logs:
        await _run(host, [_updates(_callback(1))], answer_with=answer_with)

    assert host.applied == [("handled", 42, "telegram:777")]
    assert host.saved == [2]
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["telegram_answer_failed"]
    assert TOKEN not in repr(logs)


@pytest.mark.parametrize(
    ("response", "wait_s"),
    [
        (
            httpx.Response(
                429,
                json={
                    "ok": False,
                    "description": "Too Many Requests: retry after 17",
                    "parameters": {"retry_after": 17},
                },
                headers={"Retry-After": "99"},
            ),
            17.0,
        ),
        (
            httpx.Response(429, json={"ok": False, "description": "Too Many Requests"}, headers={"Retry-After": "30"}),
            30.0,
        ),
        (httpx.Response(429, json={"ok": False, "parameters": {"retry_after": 86400}}), 3600.0),
    ],
)
async def test_429_honours_retry_after(response: httpx.Response, wait_s: float) -> None:
    host = Host(stop_after_sleeps=1)
    with capture_logs() as logs:
        _, updates, _ = await _run(host, [response, _updates()])

    assert host.sleeps == [wait_s]
    assert len(updates.calls) == 1
    assert [e["event"] for e in logs] == ["telegram_actions_rate_limited"]


async def test_429_without_retry_after_backs_off() -> None:
    host = Host()
    await _run(host, [httpx.Response(429, json={"ok": False}), httpx.Response(429, json={"ok": False})])

    assert host.sleeps == [1.0, 2.0]


async def test_failures_back_off_exponentially_to_60s_and_log_one_warning_and_one_recovery() -> None:
    host = Host()
    failures: list[httpx.Response | Exception] = [
        httpx.Response(502, text="Bad Gateway"),
        httpx.ConnectError("no route"),
        httpx.Response(500, json={"ok": False, "description": "Internal Server Error"}),
        httpx.ReadTimeout("slow"),
        httpx.Response(400, json={"ok": False, "description": "Bad Request"}),
        httpx.Response(503),
        httpx.Response(502),
        httpx.Response(502),
    ]
    with capture_logs() as logs:
        _, updates, _ = await _run(host, [*failures, _updates(), httpx.Response(502), _updates()])

    assert host.sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 1.0]  # a success resets the backoff
    assert [(e["event"], e["log_level"]) for e in logs] == [
        ("telegram_actions_unavailable", "warning"),
        ("telegram_actions_recovered", "info"),
        ("telegram_actions_unavailable", "warning"),
        ("telegram_actions_recovered", "info"),
    ]
    assert logs[0]["error"] == "telegram getUpdates: HTTP 502"
    assert len(updates.calls) == 12


def _conflict() -> httpx.Response:
    return httpx.Response(
        409,
        json={
            "ok": False,
            "error_code": 409,
            "description": "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
            "delete the webhook first",
        },
    )


@pytest.mark.parametrize(
    ("outcomes", "events"),
    [
        (
            [_conflict(), _conflict(), _conflict()],
            [("telegram_actions_conflict", "error"), ("telegram_actions_recovered", "info")],
        ),
        (  # a streak of outages that turns into a conflict still names the conflict
            [httpx.Response(502), _conflict(), _conflict()],
            [
                ("telegram_actions_unavailable", "warning"),
                ("telegram_actions_conflict", "error"),
                ("telegram_actions_recovered", "info"),
            ],
        ),
    ],
)
async def test_409_conflict_logs_one_clear_error_and_backs_off(
    outcomes: list[httpx.Response | Exception], events: list[tuple[str, str]]
) -> None:
    host = Host()
    with capture_logs() as logs:
        await _run(host, outcomes)

    assert host.sleeps == [1.0, 2.0, 4.0]
    assert [(e["event"], e["log_level"]) for e in logs] == events
    conflict = next(e for e in logs if e["event"] == "telegram_actions_conflict")
    assert "webhook" in conflict["hint"]
    assert "getUpdates" in conflict["hint"]
    assert conflict["error"].startswith("telegram getUpdates: HTTP 409 (Conflict:")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(401, json={"ok": False, "error_code": 401, "description": "Unauthorized"}),
        httpx.Response(404, json={"ok": False, "error_code": 404, "description": "Not Found"}),
    ],
)
async def test_a_refused_token_stops_the_loop_with_one_error(response: httpx.Response) -> None:
    host = Host()
    with capture_logs() as logs:
        _, updates, _ = await _run(host, [response, _updates(_callback(1))])

    assert not host.stop.is_set()  # run returned by itself
    assert len(updates.calls) == 1
    assert host.sleeps == []
    assert [(e["event"], e["log_level"]) for e in logs] == [("telegram_actions_stopped", "error")]
    assert logs[0]["error"] == f"telegram getUpdates: HTTP {response.status_code} ({response.json()['description']})"


async def test_store_failures_do_not_end_the_loop() -> None:
    host = Host()
    calls = {"load": 0}

    async def flaky_load() -> int | None:
        calls["load"] += 1
        if calls["load"] == 1:
            raise OSError("disk I/O error")
        return 5

    async def broken_save(offset: int) -> None:
        raise OSError("disk I/O error")

    with capture_logs() as logs, respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        route = router.post(GET_UPDATES).mock(side_effect=_scripted(host, [_updates(_callback(5)), _updates()]))
        router.post(ANSWER).mock(return_value=httpx.Response(200, json={"ok": True, "result": True}))
        async with httpx.AsyncClient() as client:
            poller = TelegramActionPoller(
                bot_token=SecretStr(TOKEN),
                chat_id=str(CHAT),
                client=client,
                apply=host.apply,
                load_offset=flaky_load,
                save_offset=broken_save,
                sleep=host.sleep,
            )
            await asyncio.wait_for(poller.run(host.stop), timeout=5)

    assert host.sleeps == [1.0]
    assert host.applied == [("handled", 42, "telegram:777")]
    assert [_body(call.request)["offset"] for call in route.calls] == [5, 6, 6]  # the offset lives on in memory
    assert [e["event"] for e in logs if e["log_level"] == "error"] == [
        "telegram_actions_unavailable",
        "telegram_offset_save_failed",
    ]


async def test_stop_ends_a_pending_long_poll() -> None:
    host = Host()
    asked = asyncio.Event()

    async def hang(request: httpx.Request) -> httpx.Response:
        asked.set()
        await asyncio.Event().wait()  # Telegram holding the long poll open
        raise AssertionError("unreachable")

    # respx records a call only once it is answered, and this one never is: `asked` proves the request went out.
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.post(GET_UPDATES).mock(side_effect=hang)
        async with httpx.AsyncClient() as client:
            task = asyncio.create_task(_poller(client, host).run(host.stop))
            await asyncio.wait_for(asked.wait(), timeout=5)
            host.stop.set()
            await asyncio.wait_for(task, timeout=5)

    assert host.saved == []


@pytest.mark.parametrize(
    "outcome",
    [
        httpx.Response(404, json={"ok": False, "description": f"Not Found: /bot{TOKEN}/getUpdates"}),
        httpx.Response(409, json={"ok": False, "description": f"Conflict for {TOKEN}"}),
        httpx.Response(500, text=f"upstream error for {GET_UPDATES}"),
        httpx.ConnectError(f"cannot connect to {GET_UPDATES}"),
        httpx.ReadTimeout(f"read timed out: POST {GET_UPDATES}"),
    ],
)
async def test_token_never_in_errors_or_logs(outcome: httpx.Response | Exception) -> None:
    host = Host()
    with pytest.raises(TelegramPollError) as caught:
        await _poll_once(host, outcome)
    with capture_logs() as logs:
        poller, _, _ = await _run(
            Host(stop_after_sleeps=1),
            [_updates(_callback(1)), outcome],
            answer_with=httpx.ConnectError(f"cannot connect to {ANSWER}"),
        )

    leaked = [
        str(caught.value),
        repr(caught.value),
        "".join(traceback.format_exception(caught.value)),
        repr(logs),
        repr(poller),
    ]
    assert [TOKEN in text for text in leaked] == [False] * len(leaked)


@pytest.mark.parametrize(("token", "chat_id"), [("", "4242"), (TOKEN, ""), (TOKEN, "   ")])
def test_rejects_empty_settings(token: str, chat_id: str) -> None:
    host = Host()
    with pytest.raises(ValueError, match="telegram"):
        TelegramActionPoller(
            bot_token=SecretStr(token),
            chat_id=chat_id,
            client=httpx.AsyncClient(),
            apply=host.apply,
            load_offset=host.load_offset,
            save_offset=host.save_offset,
        )


async def test_the_reply_shown_on_the_phone_is_masked() -> None:
    host = Host(reply="#42 윤성민 고객 010-4444-5555 건을 처리했습니다")
    _, answer = await _poll_once(host, _updates(_callback(1)))
    assert [a["text"] for a in _answers(answer)] == ["#42 윤*민 고객 010-****-5555 건을 처리했습니다"]
