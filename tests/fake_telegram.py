"""A fake Telegram Bot API on 127.0.0.1 (aiohttp): getUpdates serves scripted updates, sendMessage and
editMessageText keep the chat's messages, answerCallbackQuery is acknowledged; every request is recorded.

It answers as the real API does where inqd depends on it: every method under /bot<token>/, `ok` with a `result`,
sendMessage returning the Message with its new message_id, and editMessageText refusing an edit that changes
nothing with 400 "message is not modified". A wrong token is 401.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    """One request the fake received."""

    method: str
    body: dict[str, Any]


@dataclass
class FakeBotApi:
    """The fake server's state: scripted update batches, the messages it holds, the calls it got."""

    token: str
    updates: list[list[dict[str, Any]]] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100))
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None
    base_url: str = ""
    failing: set[str] = field(default_factory=set)  # methods answered 502, as when Telegram is down

    async def start(self) -> FakeBotApi:
        """Listen on a free port of 127.0.0.1; `base_url` is where."""
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    def queue(self, *updates: dict[str, Any]) -> None:
        """The next getUpdates answers these (each gets the next update_id)."""
        self.updates.append([{"update_id": next(self._update_ids), **u} for u in updates])

    def sent(self, method: str) -> list[dict[str, Any]]:
        """The bodies of every call of `method`, in order."""
        return [c.body for c in self.calls if c.method == method]

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        body = await request.json()
        self.calls.append(Call(method, body))
        if method in self.failing:
            return web.json_response({"ok": False, "error_code": 502, "description": "Bad Gateway"}, status=502)
        if method == "getUpdates":
            batch = self.updates.pop(0) if self.updates else []
            return web.json_response({"ok": True, "result": batch})
        if method == "sendMessage":
            message = {"message_id": next(self._ids), "chat": {"id": int(body["chat_id"])}, "text": body["text"]}
            if "reply_markup" in body:
                message["reply_markup"] = body["reply_markup"]
            self.messages[message["message_id"]] = message
            return web.json_response({"ok": True, "result": message})
        if method == "editMessageText":
            message = self.messages.get(body["message_id"])
            if message is None:
                return _bad_request("message to edit not found")
            if message["text"] == body["text"] and "reply_markup" not in message:
                return _bad_request(
                    "message is not modified: specified new message content and reply markup are "
                    "exactly the same as a current content and reply markup of the message"
                )
            message["text"] = body["text"]
            message.pop("reply_markup", None)
            return web.json_response({"ok": True, "result": message})
        return web.json_response({"ok": True, "result": True})

    def tap(self, message_id: int, data: str, *, chat_id: int, query_id: str = "") -> dict[str, Any]:
        """A callback_query update: a button with `data` tapped on message `message_id` (as the chat sees it)."""
        message = self.messages.get(message_id, {"message_id": message_id, "text": ""})
        return {
            "callback_query": {
                "id": query_id or f"q{message_id}-{data}",
                "from": {"id": 99, "is_bot": False, "first_name": "사장님"},
                "data": data,
                "message": {**message, "chat": {"id": chat_id, "type": "private"}, "date": 0},
            }
        }

    @staticmethod
    def reply(to_message_id: int, text: str, *, chat_id: int) -> dict[str, Any]:
        """A message update: `text` typed as a reply to message `to_message_id`."""
        return {
            "message": {
                "message_id": 5000 + to_message_id,
                "date": 0,
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": 99, "is_bot": False, "first_name": "사장님"},
                "text": text,
                "reply_to_message": {"message_id": to_message_id, "date": 0, "chat": {"id": chat_id}},
            }
        }


def _bad_request(what: str) -> web.Response:
    return web.json_response({"ok": False, "error_code": 400, "description": f"Bad Request: {what}"}, status=400)
