"""The seller's controls from the web: handled, snooze and promise, posted by the inbox and the inquiry page.

Contracts (both pages post to these; every route needs the session's CSRF token):
- POST `/inquiries/{id}/handled`
- POST `/inquiries/{id}/snooze`, form field `until`: as `inqd snooze` takes it (`1h`, `90m`, `18:00`,
  `2026-12-24 10:00`), and `내일 9:00` (tomorrow at that time)
- POST `/inquiries/{id}/promise`, form field `at` (as `until`), optional `note`

A script's request (`Accept: application/json`) gets `{"ok": bool, "reply": "..."}`, with status 400 and the reason
in Korean when the control cannot be done; a plain form post is sent on (303) to its `next` field, a path on this
site, or else to the inquiry's page. The same service as the terminal and the phone does the work
(`aggregator/control_service.py`), recorded as done by "web".
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from aggregator import control_service as controls
from aggregator.web.pages import Page, Routes, redirect
from aggregator.web.security import local_path

ACTOR = "web"
_TOMORROW = re.compile(r"^내일\s*(\d{1,2})(?::(\d{2})|\s*시)?$")

Control = Callable[[Page, int, dict[str, str]], Awaitable[controls.Outcome]]


def parse_when(text: str, *, now: datetime, zone: ZoneInfo) -> datetime:
    """A time the seller typed or picked: `내일 9:00` / `내일 9시` (tomorrow, local time), else what `inqd snooze`
    takes (`control_service.parse_until`)."""
    tomorrow = _TOMORROW.match(text.strip())
    if tomorrow is None:
        return controls.parse_until(text, now=now, zone=zone)
    hour, minute = int(tomorrow.group(1)), int(tomorrow.group(2) or 0)
    if hour > 23 or minute > 59:
        raise controls.ControlError(f"{text!r}은(는) 시각이 아닙니다 (내일 9:00 처럼 주세요)")
    day = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


async def _handled(page: Page, inquiry_id: int, form: dict[str, str]) -> controls.Outcome:
    return await controls.mark_handled(page.ctx.store, inquiry_id, now=page.ctx.clock.now(), actor=ACTOR)


async def _snooze(page: Page, inquiry_id: int, form: dict[str, str]) -> controls.Outcome:
    policies, now = page.ctx.policies(), page.ctx.clock.now()
    if not form.get("until", "").strip():
        raise controls.ControlError("얼마나 미룰까요? 예: 1h, 18:00, 내일 9:00")
    until = parse_when(form["until"], now=now, zone=policies.zone)
    return await controls.snooze(page.ctx.store, policies, inquiry_id, until, now=now, actor=ACTOR)


async def _promise(page: Page, inquiry_id: int, form: dict[str, str]) -> controls.Outcome:
    policies, now = page.ctx.policies(), page.ctx.clock.now()
    if not form.get("at", "").strip():
        raise controls.ControlError("약속 시각을 주세요. 예: 18:00, 2h, 내일 10:00")
    at = parse_when(form["at"], now=now, zone=policies.zone)
    note = form.get("note", "").strip()[:200]
    return await controls.promise(page.ctx.store, policies, inquiry_id, at, note, now=now, actor=ACTOR)


def _wants_json(page: Page) -> bool:
    return page.request.headers.get("Accept", "").startswith("application/json")


def _handler(control: Control) -> Callable[[Page], Awaitable[web.StreamResponse]]:
    async def act(page: Page) -> web.StreamResponse:
        id_text = page.request.match_info["id"]
        if not id_text.isdigit():
            raise web.HTTPNotFound()
        inquiry_id = int(id_text)
        posted = await page.request.post()
        form = {key: value for key, value in posted.items() if isinstance(value, str)}
        try:
            outcome = await control(page, inquiry_id, form)
        except controls.ControlError as err:
            ok, reply = False, str(err)
        else:
            ok, reply = True, " ".join(outcome.lines)
            page.ctx.controls_changed()
        if _wants_json(page):
            return web.json_response({"ok": ok, "reply": reply}, status=200 if ok else 400)
        if not ok:
            # A form post without the script: say why on a page of its own, with the way back.
            return page.html(
                "action_refused.html", status=400, title="할 수 없습니다", reply=reply, back=_next(page, form)
            )
        return redirect(_next(page, form, inquiry_id))

    return act


def _next(page: Page, form: dict[str, str], inquiry_id: int | None = None) -> str:
    fallback = f"/inquiries/{inquiry_id}" if inquiry_id is not None else f"/inquiries/{page.request.match_info['id']}"
    return local_path(form.get("next", "")) or fallback


def register(routes: Routes) -> None:
    """POST /inquiries/{id}/handled, /snooze and /promise."""
    routes.post("/inquiries/{id}/handled", _handler(_handled))
    routes.post("/inquiries/{id}/snooze", _handler(_snooze))
    routes.post("/inquiries/{id}/promise", _handler(_promise))
