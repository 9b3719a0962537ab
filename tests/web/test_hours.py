"""The hours page over plain HTTP: the week grid from the running settings, a preview that writes nothing, a save
that writes the seller's file (comments kept, a `.bak`) and applies it live, a refused file, CSRF, vacations."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from pathlib import Path

import httpx
import pytest

from aggregator.settings import load_settings
from connectors.sandbox import CoupangSandbox
from tests.conftest import SHOP_ACCOUNT
from tests.fakes import FakeClock
from tests.web.conftest import WebDaemon, csrf_of, start_web_daemon

CONFIG = """# the seller's own notes
db_path = "{db}"
quiet_hours = ["night", "closed-days"]  # nights and holidays
work_hours = ["cs-hours"]

[[accounts]]  # the shop
marketplace = "coupang"
id = "shop"
vendor_id = "A00012345"
access_key = "ak"
secret_key = "sk"
base_url = "http://127.0.0.1:9"
streams = ["product_qna"]

[[notifiers]]
type = "sink"
console = false
file = "{sink}"
"""
# The default grid, as the page's form sends it back: nights 22-09 every day, work Mon-Fri 13-18.
WEEK_FORM = {
    **{f"quiet-{d}-start": "22:00" for d in range(7)},
    **{f"quiet-{d}-end": "09:00" for d in range(7)},
    **{f"work-{d}-start": "13:00" for d in range(5)},
    **{f"work-{d}-end": "18:00" for d in range(5)},
    "closed-days": "1",
}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "inqd.toml"
    path.write_text(CONFIG.format(db=tmp_path / "inqd.db", sink=tmp_path / "sink.jsonl"), encoding="utf-8")
    return path


@pytest.fixture
async def file_daemon(config: Path, real_clock: FakeClock, sandbox: CoupangSandbox) -> AsyncIterator[WebDaemon]:
    """A daemon started from a config file (as `inqd run --config` starts), its inbox on 127.0.0.1."""
    assert SHOP_ACCOUNT["vendor_id"] == "A00012345"
    running = await start_web_daemon(load_settings(config), real_clock, sandbox)
    try:
        yield running
    finally:
        await running.admin.aclose()
        await running.daemon.aclose()


@pytest.fixture
async def http(file_daemon: WebDaemon) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=file_daemon.url, follow_redirects=False) as client:
        await client.get("/hours")
        yield client


async def _csrf(http: httpx.AsyncClient) -> str:
    return csrf_of((await http.get("/hours")).text)


async def test_the_page_shows_the_running_hours_as_a_week(http: httpx.AsyncClient) -> None:
    page = (await http.get("/hours")).text
    assert page.count('name="quiet-0-start" value="22:00"') == 1
    assert 'name="quiet-6-end" value="09:00"' in page
    assert 'name="work-4-start" value="13:00"' in page and 'name="work-5-start"' not in page
    assert 'name="closed-days" value="1" checked' in page
    assert page.count('<li class="open"') + page.count('<li class="closed"') == 60
    assert 'style="' not in page and "<script>" not in page  # CSP: no inline styles or scripts


async def test_preview_shows_the_change_and_writes_nothing(http: httpx.AsyncClient, config: Path) -> None:
    before = config.read_bytes()
    form = {**WEEK_FORM, "quiet-5-start": "00:00", "quiet-5-end": "24:00", "csrf": await _csrf(http)}
    response = await http.post("/hours/preview", data=form)
    text = html.unescape(response.text)
    assert response.status_code == 200
    assert "<del>22:00-09:00</del> → <ins>00:00-24:00</ins>" in text  # Saturday
    assert 'quiet_hours = ["월-금,일 22:00-09:00", "토 00:00-24:00", "closed-days"]' in text
    assert 'name="quiet_hours" value="토 00:00-24:00"' in text
    assert config.read_bytes() == before
    assert not config.with_name("inqd.toml.bak").exists()


async def test_a_bad_time_on_the_form_is_said_and_nothing_previewed(http: httpx.AsyncClient) -> None:
    form = {**WEEK_FORM, "quiet-2-end": "25:00", "csrf": await _csrf(http)}
    response = await http.post("/hours/preview", data=form)
    assert response.status_code == 422
    assert "25:00" in html.unescape(response.text) and 'role="alert"' in response.text


async def test_save_writes_the_file_and_the_daemon_applies_it(
    http: httpx.AsyncClient, config: Path, file_daemon: WebDaemon
) -> None:
    before = config.read_text(encoding="utf-8")
    quiet = ["월-금 20:00-08:00", "토,일 00:00-24:00", "closed-days"]
    form = {"quiet_hours": quiet, "work_hours": ["월-금 09:00-18:00"], "csrf": await _csrf(http)}
    response = await http.post("/hours/save", data=form)
    assert response.status_code == 303 and response.headers["location"] == "/hours?saved=1"
    written = config.read_text(encoding="utf-8")
    assert 'quiet_hours = ["월-금 20:00-08:00", "토,일 00:00-24:00", "closed-days"]  # nights and holidays' in written
    assert "# the seller's own notes" in written and "[[accounts]]  # the shop" in written
    assert config.with_name("inqd.toml.bak").read_text(encoding="utf-8") == before
    daemon = file_daemon.daemon
    assert daemon.settings.quiet_hours == tuple(quiet)
    monday = file_daemon.clock.now().date() - timedelta(days=file_daemon.clock.now().weekday()) + timedelta(days=7)
    assert daemon.policies.quiet.contains(datetime.combine(monday, time(21), tzinfo=daemon.policies.zone))
    page = (await http.get(response.headers["location"])).text
    assert "저장했습니다" in page and 'name="quiet-0-start" value="20:00"' in page


async def test_a_refused_file_shows_its_problems_and_changes_nothing(
    http: httpx.AsyncClient, config: Path, file_daemon: WebDaemon
) -> None:
    before = config.read_bytes()
    form = {"quiet_hours": ["월-금 20:00-08:00", "no-such-interval"], "work_hours": [], "csrf": await _csrf(http)}
    response = await http.post("/hours/save", data=form)
    assert response.status_code == 422
    problems = html.unescape(response.text)
    assert "파일은 그대로입니다" in problems and "quiet_hours[1]" in problems
    assert config.read_bytes() == before
    assert sorted(p.name for p in config.parent.iterdir() if p.name.startswith("inqd.toml")) == ["inqd.toml"]
    assert file_daemon.daemon.settings.quiet_hours == ("night", "closed-days")


@pytest.mark.parametrize("path", ["/hours/save", "/hours/preview", "/hours/vacation/add", "/hours/vacation/remove"])
async def test_a_post_without_the_csrf_token_is_refused(http: httpx.AsyncClient, config: Path, path: str) -> None:
    before = config.read_bytes()
    response = await http.post(path, data={"quiet_hours": ["00:00-24:00"], "first": "2030-01-01", "id": "1"})
    assert response.status_code == 403
    assert config.read_bytes() == before


async def test_a_daemon_without_a_file_says_it_cannot_save(client: httpx.AsyncClient) -> None:
    page = (await client.get("/hours")).text
    assert "설정 파일 없이 시작되어" in page
    csrf = csrf_of(page)
    response = await client.post("/hours/save", data={"quiet_hours": ["night"], "csrf": csrf})
    assert response.status_code == 422 and "설정 파일 없이 시작되어" in response.text


async def test_a_vacation_is_previewed_with_its_forecast_then_added_and_removed(
    http: httpx.AsyncClient, file_daemon: WebDaemon
) -> None:
    now = file_daemon.clock.now()
    file_daemon.sandbox.add_product_inquiry(content="휴가 중 마감 문의", inquiry_at=now)
    await file_daemon.poll()
    first = (now + timedelta(days=1)).date()
    form = {"first": str(first), "last": str(first + timedelta(days=2)), "note": "가족 여행", "csrf": await _csrf(http)}
    preview = html.unescape((await http.post("/hours/vacation/preview", data=form)).text)
    assert "동안 마켓 마감이 오는 미답변 문의: 1건" in preview and "휴가 중 마감 문의" in preview
    assert await file_daemon.daemon.store.vacations() == []
    added = await http.post("/hours/vacation/add", data=form)
    assert added.status_code == 303
    stored = await file_daemon.daemon.store.vacations()
    assert [(v.first_day, v.note) for v in stored] == [(first, "가족 여행")]
    page = (await http.get("/hours")).text
    assert f'data-day="{first}"' in page and "휴가 · 가족 여행" in page
    removed = await http.post("/hours/vacation/remove", data={"id": str(stored[0].id), "csrf": await _csrf(http)})
    assert removed.status_code == 303
    assert await file_daemon.daemon.store.vacations() == []


async def test_a_vacation_ending_before_it_starts_is_refused(http: httpx.AsyncClient, file_daemon: WebDaemon) -> None:
    today = file_daemon.clock.now().date()
    form = {"first": str(today + timedelta(days=3)), "last": str(today), "csrf": await _csrf(http)}
    response = await http.post("/hours/vacation/add", data=form)
    assert response.status_code == 422 and "끝나는 날이 시작하는 날보다 앞입니다" in html.unescape(response.text)
    assert await file_daemon.daemon.store.vacations() == []
    assert isinstance(today, date)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, 200),  # our own form under no-referrer
        ({"Origin": "null"}, 403),
        ({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, 403),
    ],
)
async def test_an_opaque_origin_is_ours_only_when_the_browser_says_same_origin(
    http: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    form = {**WEEK_FORM, "csrf": await _csrf(http)}
    response = await http.post("/hours/preview", data=form, headers=headers)
    assert response.status_code == status
