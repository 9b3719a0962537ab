"""The hours page: quiet and work hours as a week grid, the next 60 days with holidays and vacations, vacations
added and removed, and a preview before anything is saved.

Saving writes the seller's own config file (aggregator/settings/editing.py: comments kept, checked as `inqd check`
checks it, a `.bak` left) and has the running daemon re-read it (`ctx.reload()`); a refused file changes nothing.
Vacations live in the store, as `inqd vacation` keeps them.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from multidict import MultiDictProxy

from aggregator import control_service as controls
from aggregator.settings import ConfigError
from aggregator.settings.editing import set_hours
from aggregator.web.hours_view import (
    KINDS,
    WEEKDAYS,
    FormError,
    Hours,
    coming_days,
    current_hours,
    hours_from_form,
    week_bars,
    week_changes,
)
from aggregator.web.pages import Page, Routes, redirect

COMING_DAYS = 60
ACTOR = "web"
NO_FILE = (
    "이 inqd는 설정 파일 없이 시작되어 여기서 저장할 수 없습니다. "
    "inqd run --config 파일 로 시작하면 이 페이지에서 바꾼 시간이 그 파일에 저장됩니다."
)


def _form(data: MultiDictProxy[Any]) -> dict[str, list[str]]:
    return {key: [str(v) for v in data.getall(key)] for key in set(data.keys())}


async def _page_values(page: Page, hours: Hours | None = None) -> dict[str, Any]:
    """What the page shows: the grid (the running settings' unless given), the coming days, the vacations."""
    settings = page.ctx.settings()
    vacations = await page.ctx.store.vacations()
    # The store's vacations, not the daemon's last look at them: one just added shows at once.
    policies = settings.policies([(v.first_day, v.last_day) for v in vacations])
    today = page.ctx.clock.now().astimezone(policies.zone).date()
    notes = {
        v.first_day + timedelta(days=n): v.note for v in vacations for n in range((v.last_day - v.first_day).days + 1)
    }
    shown = hours or current_hours(settings)
    return {
        "title": "시간·휴무",
        "nav": "hours",
        "hours": shown,
        "bars": week_bars(shown, settings),
        "weekdays": WEEKDAYS,
        "kinds": KINDS,
        "days": coming_days(policies, today, COMING_DAYS, notes),
        "vacations": [v for v in vacations if v.last_day >= today],
        "today": today,
        "can_save": page.ctx.config_path is not None,
        "no_file": NO_FILE,
        "config_path": page.ctx.config_path,
        "problems": [],
        "notices": [],
    }


def _notices(query: Any) -> list[str]:
    notices = []
    if query.get("saved"):
        notices.append("저장했습니다. 실행 중인 inqd가 새 시간으로 알림 일정을 다시 잡았습니다.")
    if query.get("restart"):
        notices.append(f"다시 시작해야 적용되는 항목도 바뀌었습니다: {query['restart']}")
    if query.get("added"):
        notices.append(f"{query['added']}번 휴가를 기록했습니다: 그 날들은 종일 조용하고 업무시간이 없습니다.")
    if query.get("removed"):
        notices.append(f"{query['removed']}번 휴가를 지웠습니다.")
    return notices


async def _show(page: Page) -> web.StreamResponse:
    values = await _page_values(page)
    values["notices"] = _notices(page.request.query)
    return page.html("hours.html", **values)


async def _preview(page: Page) -> web.StreamResponse:
    current = current_hours(page.ctx.settings())
    try:
        wanted = hours_from_form(_form(await page.request.post()), current)
    except FormError as err:
        values = await _page_values(page)
        values["problems"] = [str(err)]
        return page.html("hours.html", status=422, **values)
    quiet, work = wanted.items()
    return page.html(
        "hours_preview.html",
        title="바꿀 내용 확인",
        nav="hours",
        changes=week_changes(current, wanted),
        config_lines=wanted.config_lines(),
        quiet_items=quiet,
        work_items=work,
        closed_days_before=current.closed_days_quiet,
        closed_days_after=wanted.closed_days_quiet,
        kept=(*wanted.kept_quiet, *wanted.kept_work),
        bars=week_bars(wanted, page.ctx.settings()),
        weekdays=WEEKDAYS,
        can_save=page.ctx.config_path is not None,
        no_file=NO_FILE,
        config_path=page.ctx.config_path,
    )


async def _save(page: Page) -> web.StreamResponse:
    path = page.ctx.config_path
    form = await page.request.post()
    quiet = [str(v) for v in form.getall("quiet_hours", [])]
    work = [str(v) for v in form.getall("work_hours", [])]
    problems: list[str] = [NO_FILE] if path is None else []
    if path is not None:
        try:
            await asyncio.to_thread(set_hours, path, quiet, work)
        except ConfigError as err:
            problems = ["저장하지 않았습니다. 파일은 그대로입니다:", *err.problems]
    if not problems:
        reloaded = await page.ctx.reload()
        if reloaded.applied:
            query = {"saved": "1"}
            if reloaded.restart_needed:
                query["restart"] = ", ".join(reloaded.restart_needed)
            return redirect(f"/hours?{urlencode(query)}")
        problems = ["파일에는 저장했지만 실행 중인 inqd가 받아들이지 않았습니다:", *reloaded.problems]
    values = await _page_values(page)
    values["problems"] = problems
    return page.html("hours.html", status=422, **values)


def register(routes: Routes) -> None:
    """This page's routes."""
    routes.get("/hours", _show)
    routes.post("/hours/preview", _preview)
    routes.post("/hours/save", _save)
    _register_vacations(routes)


def _days_of(form: MultiDictProxy[Any]) -> tuple[date, date]:
    first = str(form.get("first", "")).strip()
    last = str(form.get("last", "")).strip() or first
    return controls.parse_days(f"{first}..{last}")


def _register_vacations(routes: Routes) -> None:
    async def refused(page: Page, problem: str) -> web.StreamResponse:
        values = await _page_values(page)
        values["problems"] = [problem]
        return page.html("hours.html", status=422, **values)

    async def preview(page: Page) -> web.StreamResponse:
        form = await page.request.post()
        try:
            first, last = _days_of(form)
        except controls.ControlError as err:
            return await refused(page, str(err))
        settings = page.ctx.settings()
        vacations = await page.ctx.store.vacation_ranges()
        policies = settings.policies([*vacations, (first, last)])
        marketplaces = sorted({acc.marketplace_kind for acc in settings.accounts}, key=lambda m: m.value)
        forecast = await controls.vacation_forecast(page.ctx.store, policies, first, last, marketplaces)
        return page.html(
            "hours_vacation.html",
            title="휴가 확인",
            nav="hours",
            first=first,
            last=last,
            note=str(form.get("note", "")).strip(),
            days=(last - first).days + 1,
            forecast=forecast,
        )

    async def add(page: Page) -> web.StreamResponse:
        form = await page.request.post()
        try:
            first, last = _days_of(form)
        except controls.ControlError as err:
            return await refused(page, str(err))
        note = str(form.get("note", "")).strip()
        vacation_id = await page.ctx.store.add_vacation(first, last, note, now=page.ctx.clock.now(), actor=ACTOR)
        page.ctx.controls_changed()
        return redirect(f"/hours?added={vacation_id}#vacations")

    async def remove(page: Page) -> web.StreamResponse:
        given = str((await page.request.post()).get("id", ""))
        removed = given.isdigit() and await page.ctx.store.remove_vacation(
            int(given), now=page.ctx.clock.now(), actor=ACTOR
        )
        if not removed:
            return await refused(page, f"{given}번 휴가가 없습니다")
        page.ctx.controls_changed()
        return redirect(f"/hours?removed={given}#vacations")

    routes.post("/hours/vacation/preview", preview)
    routes.post("/hours/vacation/add", add)
    routes.post("/hours/vacation/remove", remove)
