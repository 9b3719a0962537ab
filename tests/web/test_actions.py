"""The control routes the inbox and the inquiry page post to: handled, snooze, promise (JSON and plain forms)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from aggregator.store import StoredInquiry
from core.models import StreamKind
from tests.conftest import MakeSettings, quiet_sink
from tests.web.conftest import WebDaemon, csrf_of
from tests.web.desk import NOON, desk_daemon, inquiry, record


@pytest.fixture
async def desk(make_settings: MakeSettings, tmp_path: Path) -> AsyncIterator[WebDaemon]:
    """A daemon at NOON (Wednesday) serving its inbox."""
    async with desk_daemon(make_settings(quiet_sink(tmp_path), quiet_hours=())) as running:
        yield running


@pytest.fixture
async def http(desk: WebDaemon) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding a session (it opened the inbox)."""
    async with httpx.AsyncClient(base_url=desk.url, follow_redirects=False) as client:
        await client.get("/")
        yield client


@pytest.fixture
async def open_id(desk: WebDaemon) -> int:
    """One open inquiry, received an hour ago."""
    (row_id,) = await record(desk.daemon.store, inquiry("a1", received=NOON - timedelta(hours=1)), now=NOON)
    return row_id


async def _stored(desk: WebDaemon, row_id: int) -> StoredInquiry:
    stored = await desk.daemon.store.get_inquiry(row_id)
    assert stored is not None
    return stored


async def _token(http: httpx.AsyncClient) -> str:
    return csrf_of((await http.get("/")).text)


def _json(token: str) -> dict[str, str]:
    return {"X-CSRF-Token": token, "Accept": "application/json"}


async def test_handled_from_a_script_marks_the_inquiry(desk: WebDaemon, http: httpx.AsyncClient, open_id: int) -> None:
    reply = await http.post(f"/inquiries/{open_id}/handled", headers=_json(await _token(http)))

    assert reply.status_code == 200
    assert reply.json()["ok"] is True and "처리함" in reply.json()["reply"]
    assert (await _stored(desk, open_id)).controls.handled_at == NOON
    timeline = await desk.daemon.store.events_for(open_id)
    assert any(event.detail.get("actor") == "web" for event in timeline)


@pytest.mark.parametrize(
    ("typed", "until"),
    [
        ("1h", NOON + timedelta(hours=1)),
        ("18:00", NOON.replace(hour=18)),
        ("내일 9:00", NOON.replace(day=10, hour=9)),
        ("내일 9시", NOON.replace(day=10, hour=9)),
        ("2026-12-09 15:30", NOON.replace(hour=15, minute=30)),
    ],
)
async def test_snooze_takes_what_the_terminal_takes(
    desk: WebDaemon, http: httpx.AsyncClient, open_id: int, typed: str, until: object
) -> None:
    reply = await http.post(f"/inquiries/{open_id}/snooze", data={"until": typed}, headers=_json(await _token(http)))

    assert reply.status_code == 200, reply.text
    assert reply.json()["ok"] is True and "미뤘습니다" in reply.json()["reply"]
    assert (await _stored(desk, open_id)).controls.snoozed_until == until


async def test_promise_records_the_time_and_note(desk: WebDaemon, http: httpx.AsyncClient, open_id: int) -> None:
    reply = await http.post(
        f"/inquiries/{open_id}/promise",
        data={"at": "16:00", "note": "재고 확인 후 전화"},
        headers=_json(await _token(http)),
    )

    assert reply.status_code == 200 and reply.json()["ok"] is True
    controls = (await _stored(desk, open_id)).controls
    assert controls.promise_at == NOON.replace(hour=16) and controls.promise_note == "재고 확인 후 전화"


@pytest.mark.parametrize(
    ("action", "form", "reason"),
    [
        ("snooze", {"until": "언젠가"}, "처럼 주세요"),
        ("snooze", {"until": ""}, "얼마나 미룰까요"),
        ("snooze", {"until": "내일 25:00"}, "시각이 아닙니다"),
        ("promise", {"at": "2026-12-01 10:00"}, "이미 지났습니다"),
    ],
)
async def test_a_control_that_cannot_be_done_is_400_with_the_reason(
    desk: WebDaemon, http: httpx.AsyncClient, open_id: int, action: str, form: dict[str, str], reason: str
) -> None:
    reply = await http.post(f"/inquiries/{open_id}/{action}", data=form, headers=_json(await _token(http)))

    assert reply.status_code == 400
    assert reply.json()["ok"] is False and reason in reply.json()["reply"]
    assert (await _stored(desk, open_id)).controls.snoozed_until is None


async def test_an_answered_or_unknown_inquiry_is_refused(desk: WebDaemon, http: httpx.AsyncClient) -> None:
    answered = inquiry("done", received=NOON - timedelta(hours=2), stream=StreamKind.CALL_CENTER)
    (answered_id,) = await record(desk.daemon.store, answered, now=NOON)
    await record(desk.daemon.store, replace(answered, answered=True, answered_at=NOON), now=NOON)
    token = await _token(http)

    on_answered = await http.post(f"/inquiries/{answered_id}/handled", headers=_json(token))
    on_unknown = await http.post("/inquiries/999999/handled", headers=_json(token))

    assert on_answered.status_code == 400 and "이미 답변" in on_answered.json()["reply"]
    assert on_unknown.status_code == 400 and "문의가 없습니다" in on_unknown.json()["reply"]


async def test_a_plain_form_post_goes_back_to_its_page(desk: WebDaemon, http: httpx.AsyncClient, open_id: int) -> None:
    token = await _token(http)

    back = await http.post(f"/inquiries/{open_id}/snooze", data={"csrf": token, "until": "1h", "next": "/?q=배송"})
    no_next = await http.post(f"/inquiries/{open_id}/handled", data={"csrf": token})
    elsewhere = await http.post(
        f"/inquiries/{open_id}/promise", data={"csrf": token, "at": "17:00", "next": "//evil.example/x"}
    )
    refused = await http.post(f"/inquiries/{open_id}/snooze", data={"csrf": token, "until": "언젠가", "next": "/"})

    assert back.status_code == 303 and back.headers["Location"] == "/?q=배송"
    assert no_next.status_code == 303 and no_next.headers["Location"] == f"/inquiries/{open_id}"
    assert elsewhere.status_code == 303 and elsewhere.headers["Location"] == f"/inquiries/{open_id}"
    assert refused.status_code == 400 and "처럼 주세요" in refused.text and 'href="/"' in refused.text
    controls = (await _stored(desk, open_id)).controls
    assert controls.handled_at == NOON and controls.promise_at == NOON.replace(hour=17)


async def test_an_action_without_the_csrf_token_changes_nothing(
    desk: WebDaemon, http: httpx.AsyncClient, open_id: int
) -> None:
    reply = await http.post(f"/inquiries/{open_id}/handled", headers={"Accept": "application/json"})

    assert reply.status_code == 403
    assert (await _stored(desk, open_id)).controls.handled_at is None
