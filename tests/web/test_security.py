"""The web inbox's guards over plain HTTP (issue 16, "Security"): CSRF, same origin, login and its throttle, the
session cookie, open redirects, DNS rebinding, the CSP header, static files, logout, session expiry, masking."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import make_mocked_request
from pydantic import SecretStr

from aggregator.settings.service import AdminConfig
from aggregator.web.pages import Page
from aggregator.web.security import SESSION_IDLE, SESSION_LIFETIME, LoginThrottle, is_local_request, peer_of
from connectors.sandbox import CoupangSandbox
from tests.conftest import MakeSettings, quiet_sink
from tests.fakes import FakeClock
from tests.web.conftest import WebDaemon, csrf_of, start_web_daemon

TOKEN = "correct-horse-battery"
PAGES = ("/", "/status", "/hours")


@pytest.fixture
async def token_daemon(
    tmp_path: Path, real_clock: FakeClock, sandbox: CoupangSandbox, make_settings: MakeSettings
) -> AsyncIterator[WebDaemon]:
    """A daemon whose inbox asks for `[admin] token` (as one reached through Tailscale would)."""
    settings = make_settings(quiet_sink(tmp_path), quiet_hours=(), admin=AdminConfig(token=SecretStr(TOKEN)))
    running = await start_web_daemon(settings, real_clock, sandbox)
    try:
        yield running
    finally:
        await running.admin.aclose()
        await running.daemon.aclose()


@asynccontextmanager
async def _logged_in(daemon: WebDaemon) -> AsyncIterator[httpx.AsyncClient]:
    """A client that has logged in through the form."""
    async with httpx.AsyncClient(base_url=daemon.url) as http:
        response = await http.post("/login", data={"token": TOKEN, "next": "/"})
        assert response.status_code == 303
        yield http


async def _login(http: httpx.AsyncClient, token: str, *, peer: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": peer} if peer else {}
    return await http.post("/login", data={"token": token, "next": "/"}, headers=headers)


# ---- CSRF and same origin ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", [None, "not-the-token", ""])
async def test_a_post_without_the_sessions_csrf_token_is_refused(client: httpx.AsyncClient, given: str | None) -> None:
    data = {} if given is None else {"csrf": given}
    response = await client.post("/status/test/sink", data=data)
    assert response.status_code == 403
    assert "CSRF" in response.text


async def test_the_csrf_token_in_the_header_is_accepted(client: httpx.AsyncClient) -> None:
    csrf = csrf_of((await client.get("/status")).text)
    response = await client.post("/status/test/sink", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling host of the same site is another origin
        {"Origin": "null"},
    ],
)
async def test_a_cross_origin_post_is_refused_even_with_a_session_and_its_token(
    token_daemon: WebDaemon, headers: dict[str, str]
) -> None:
    async with _logged_in(token_daemon) as http:
        csrf = csrf_of((await http.get("/status")).text)
        refused = await http.post("/status/test/sink", data={"csrf": csrf}, headers=headers)
        same = await http.post("/status/test/sink", data={"csrf": csrf}, headers={"Origin": token_daemon.url})
    assert refused.status_code == 403
    assert same.status_code == 200  # the same request from the page's own origin goes through


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, 200),  # the browser vouches for it
        ({"Origin": "null", "Sec-Fetch-Site": "none"}, 403),
        ({"Origin": "null"}, 403),
    ],
)
async def test_an_origin_of_null_passes_only_when_the_browser_says_same_origin(
    token_daemon: WebDaemon, headers: dict[str, str], status: int
) -> None:
    async with _logged_in(token_daemon) as http:
        csrf = csrf_of((await http.get("/status")).text)
        response = await http.post("/status/test/sink", data={"csrf": csrf}, headers=headers)
    assert response.status_code == status


@pytest.mark.parametrize(("origin", "status"), [("https://inbox.tail1234.ts.net", 200), ("https://evil.example", 403)])
async def test_behind_a_proxy_on_this_machine_the_browsers_origin_is_the_forwarded_host(
    token_daemon: WebDaemon, origin: str, status: int
) -> None:
    proxied = {"X-Forwarded-For": "100.64.0.7", "X-Forwarded-Host": "inbox.tail1234.ts.net"}
    async with _logged_in(token_daemon) as http:
        csrf = csrf_of((await http.get("/status", headers=proxied)).text)
        response = await http.post("/status/test/sink", data={"csrf": csrf}, headers={**proxied, "Origin": origin})
    assert response.status_code == status


# ---- login --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "target"), [("/", "/login"), ("/status?x=1", "/login?next=%2Fstatus%3Fx%3D1")])
async def test_without_a_session_a_page_goes_to_the_login(token_daemon: WebDaemon, path: str, target: str) -> None:
    async with httpx.AsyncClient(base_url=token_daemon.url) as http:
        page = await http.get(path)
        change = await http.post("/status/test/sink", data={"csrf": "whatever"})
    assert (page.status_code, page.headers["Location"]) == (303, target)
    assert change.status_code == 401


async def test_a_wrong_token_is_refused_then_slowed_down_until_the_delay_passes(token_daemon: WebDaemon) -> None:
    async with httpx.AsyncClient(base_url=token_daemon.url) as http:
        first = await _login(http, "guess-1")
        second = await _login(http, "guess-2")
        right_too_soon = await _login(http, TOKEN)
        token_daemon.clock.advance(int(second.headers["Retry-After"]) + 1)
        after_the_delay = await _login(http, "guess-3")
    assert first.status_code == 401 and "토큰이 맞지 않습니다" in first.text
    assert second.status_code == 429 and int(second.headers["Retry-After"]) >= 1
    assert right_too_soon.status_code == 429  # even the right token waits: the throttle does not leak which is right
    assert after_the_delay.status_code == 401  # allowed to try again (and wrong again)


async def test_many_peers_guessing_together_share_one_overall_limit(token_daemon: WebDaemon) -> None:
    limit = LoginThrottle().overall_after
    async with httpx.AsyncClient(base_url=token_daemon.url) as http:
        tries = [await _login(http, f"guess-{n}", peer=f"100.64.1.{n}") for n in range(limit)]
        fresh_peer = await _login(http, "guess-x", peer="100.64.2.1")
    assert {r.status_code for r in tries} == {401}
    assert fresh_peer.status_code == 429 and "Retry-After" in fresh_peer.headers


async def test_a_guesser_cannot_escape_its_throttle_by_changing_the_address_it_claims(
    token_daemon: WebDaemon,
) -> None:
    async with httpx.AsyncClient(base_url=token_daemon.url) as http:
        first = await _login(http, "guess-1", peer="1.1.1.1, 100.64.0.9")
        second = await _login(http, "guess-2", peer="2.2.2.2, 100.64.0.9")
    assert (first.status_code, second.status_code) == (401, 429)


async def test_the_right_token_sets_an_httponly_samesite_strict_session_cookie(token_daemon: WebDaemon) -> None:
    async with httpx.AsyncClient(base_url=token_daemon.url) as http:
        response = await http.post("/login", data={"token": TOKEN, "next": "/status"})
        page = await http.get("/status")
    assert (response.status_code, response.headers["Location"]) == (303, "/status")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("inqd_session=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on loopback; a proxy saying https gets Secure
    assert page.status_code == 200


async def test_the_session_cookie_is_secure_behind_an_https_proxy(token_daemon: WebDaemon) -> None:
    async with httpx.AsyncClient(base_url=token_daemon.url) as http:
        response = await http.post(
            "/login", data={"token": TOKEN}, headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "100.64.0.3"}
        )
    assert "Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize(
    ("next_", "location"),
    [
        ("/inquiries/3", "/inquiries/3"),
        ("//evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("evil.example", "/"),
    ],
)
async def test_login_never_redirects_to_another_site(token_daemon: WebDaemon, next_: str, location: str) -> None:
    async with httpx.AsyncClient(base_url=token_daemon.url) as http:
        response = await http.post("/login", data={"token": TOKEN, "next": next_})
    assert (response.status_code, response.headers["Location"]) == (303, location)


async def test_a_cross_origin_login_is_refused(token_daemon: WebDaemon) -> None:
    async with httpx.AsyncClient(base_url=token_daemon.url) as http:
        response = await http.post("/login", data={"token": TOKEN}, headers={"Origin": "http://evil.example"})
    assert response.status_code == 403 and "Set-Cookie" not in response.headers


# ---- sessions -----------------------------------------------------------------------------------------------------


async def test_logout_drops_the_session(token_daemon: WebDaemon) -> None:
    async with _logged_in(token_daemon) as http:
        cookie = http.cookies["inqd_session"]
        csrf = csrf_of((await http.get("/status")).text)
        out = await http.post("/logout", data={"csrf": csrf})
        http.cookies.set("inqd_session", cookie)  # the old cookie, replayed
        again = await http.get("/status")
    assert (out.status_code, out.headers["Location"]) == (303, "/login")
    assert again.status_code == 303 and again.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    ("steps", "still_in"),
    [
        ((SESSION_IDLE.total_seconds() - 60,), True),
        ((SESSION_IDLE.total_seconds() + 1,), False),  # idle too long
        ((3 * 3600,) * 3 + (SESSION_LIFETIME.total_seconds() - 9 * 3600 + 1,), False),  # in use, but past its life
    ],
)
async def test_sessions_expire_when_idle_and_after_their_lifetime(
    token_daemon: WebDaemon, steps: tuple[float, ...], still_in: bool
) -> None:
    async with _logged_in(token_daemon) as http:
        for seconds in steps:
            token_daemon.clock.advance(seconds)
            response = await http.get("/status")
    assert (response.status_code == 200) is still_in


# ---- loopback only without a token ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "status"),
    [("evil.example", 403), ("evil.example:80", 403), ("127.0.0.1", 200), ("localhost:9464", 200)],
)
async def test_without_a_token_a_foreign_host_name_is_refused(web_daemon: WebDaemon, host: str, status: int) -> None:
    async with httpx.AsyncClient(base_url=web_daemon.url) as http:
        response = await http.get("/status", headers={"Host": host})
    assert response.status_code == status


async def test_without_a_token_a_request_through_a_proxy_is_refused(web_daemon: WebDaemon) -> None:
    async with httpx.AsyncClient(base_url=web_daemon.url) as http:
        response = await http.get("/status", headers={"X-Forwarded-For": "100.64.0.7"})
    assert response.status_code == 403


# ---- headers and static files -------------------------------------------------------------------------------------


def _assert_guarded_headers(responses: list[httpx.Response]) -> None:
    for response in responses:
        policy = response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
        assert "script-src 'self'" in policy and "default-src 'none'" in policy
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_every_page_carries_the_csp_without_inline_script_or_style(token_daemon: WebDaemon) -> None:
    async with httpx.AsyncClient(base_url=token_daemon.url) as anonymous:
        responses = [await anonymous.get("/login"), await anonymous.get("/status")]
    async with _logged_in(token_daemon) as http:
        responses += [await http.get(path) for path in PAGES]
    assert [r.status_code for r in responses] == [200, 303] + [200] * len(PAGES)
    _assert_guarded_headers(responses)


async def test_the_loopback_inbox_carries_the_csp_too(client: httpx.AsyncClient) -> None:
    responses = [await client.get(path) for path in PAGES]
    assert [r.status_code for r in responses] == [200] * len(PAGES)
    _assert_guarded_headers(responses)


async def test_static_files_are_served_and_nothing_outside_them(client: httpx.AsyncClient) -> None:
    css = await client.get("/static/app.css")
    script = await client.get("/static/status.js")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    for path in (
        "/static/..%2Fpages.py",
        "/static/..%2F..%2Fsettings%2F__init__.py",
        "/static/%2E%2E%2Fsecurity.py",
        "/static/.hidden.css",
        "/static/../web/pages.py",
        "/static/pages.py",
        "/static/nothing.css",
        "/static/%2e%2e%5Cpages.css",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert b"import" not in response.content


# ---- masking: who counts as "this machine" -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("remote", "headers", "local"),
    [
        ("127.0.0.1", {"Host": "127.0.0.1:9464"}, True),
        ("::1", {"Host": "[::1]:9464"}, True),
        ("127.0.0.1", {"Host": "127.0.0.1:9464", "X-Forwarded-For": "100.64.0.7"}, False),
        ("127.0.0.1", {"Host": "127.0.0.1:9464", "Tailscale-User-Login": "seller@example.com"}, False),
        ("127.0.0.1", {"Host": "inbox.tail1234.ts.net"}, False),
        ("100.64.0.7", {"Host": "127.0.0.1:9464"}, False),
    ],
)
@pytest.mark.parametrize("show_remote", [False, True])
def test_buyer_data_is_masked_only_for_a_page_reached_from_elsewhere_unless_the_seller_allows_it(
    web_daemon: WebDaemon, remote: str, headers: dict[str, str], local: bool, show_remote: bool
) -> None:
    request = make_mocked_request("GET", "/", headers=headers, transport=_Transport(remote))
    ctx = web_daemon.daemon.web_context()
    ctx.show_buyer_data_remote = show_remote
    page = Page(request, ctx, ctx.sessions.create(web_daemon.clock.now()), is_local_request(request))
    assert page.local is local
    assert page.masked is (not local and not show_remote)


def test_failed_logins_count_against_the_address_the_proxy_added() -> None:
    request = make_mocked_request(
        "POST", "/login", headers={"X-Forwarded-For": "6.6.6.6, 100.64.0.9"}, transport=_Transport("127.0.0.1")
    )
    assert peer_of(request) == "100.64.0.9"
    direct = make_mocked_request(
        "POST", "/login", headers={"X-Forwarded-For": "6.6.6.6"}, transport=_Transport("203.0.113.5")
    )
    assert peer_of(direct) == "203.0.113.5"  # only a proxy on this machine is believed


class _Transport:
    """What `make_mocked_request` reads the peer address from."""

    def __init__(self, peer: str) -> None:
        self._peer = peer

    def get_extra_info(self, name: str, default: object = None) -> object:
        return (self._peer, 50000) if name == "peername" else default
