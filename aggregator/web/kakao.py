"""The Kakao login from the status page: GET /kakao/login/{channel} sends the browser to Kakao with a state bound
to the session that asked, and Kakao's redirect (the channel's redirect URI, /kakao/callback by default) trades the
code for the token file the running notifier reads on its next message.

The redirect is guarded by its `state` (random, one use, ten minutes, issued only to a session), not by the session
cookie: the cookie is SameSite=Strict, so a browser does not send it on a navigation that Kakao's site starts, and
it belongs to the host the seller typed (127.0.0.1), not to the redirect URI's (localhost). The page rules of the
rest of the inbox still hold: without a token only a browser on this machine is served.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from aiohttp import web

from aggregator.admin import requires_token
from aggregator.kakao_login import LOGIN_ERRORS, KakaoLoginFailed, came_back, logged_in_text, until_text
from aggregator.notifiers.kakao_auth import KakaoLoginNeeded, authorize_url, exchange_code, read_tokens, token_path
from aggregator.settings import Settings
from aggregator.settings.notify import KakaoConfig
from aggregator.web.context import WebContext
from aggregator.web.pages import Page, Routes, environment, redirect, respond
from aggregator.web.security import is_local_request

DEFAULT_CALLBACK = "/kakao/callback"


def _channel(settings: Settings, name: str) -> KakaoConfig | None:
    return next((c for c in settings.notifiers if isinstance(c, KakaoConfig) and c.name == name), None)


def login_lines(settings: Settings, now: datetime) -> dict[str, str]:
    """For each kakao channel, what the status page says of its login (until when, or that there is none)."""
    lines = {}
    for config in settings.notifiers:
        if not isinstance(config, KakaoConfig):
            continue
        if settings.secrets_dir is None:
            lines[config.name] = "설정에 secrets_dir가 없어 로그인할 수 없습니다"
            continue
        try:
            tokens = read_tokens(token_path(settings.secrets_dir, config.name))
        except KakaoLoginNeeded as err:
            lines[config.name] = str(err)
            continue
        if tokens is None or tokens.refresh_token_expires_at <= now:
            lines[config.name] = "로그인이 필요합니다"
        else:
            lines[config.name] = "리프레시 토큰: " + until_text(tokens.refresh_token_expires_at, now, settings.zone)
    return lines


def address_problems(request: web.Request, config: KakaoConfig, settings: Settings) -> list[str]:
    """Why Kakao's redirect would not come back to this inqd, in Korean (none: it will)."""
    back = urlsplit(config.redirect_uri)
    sockname = request.transport.get_extra_info("sockname") if request.transport else None
    port = int(sockname[1]) if sockname else request.url.port
    problems = []
    if settings.secrets_dir is None:
        problems.append("설정에 secrets_dir가 없습니다: 토큰 파일을 둘 폴더를 정하세요.")
    if back.port != port:
        problems.append(
            f"카카오는 로그인 뒤 {config.redirect_uri} 로 돌아오는데, 이 inqd는 포트 {port}에서 열려 있습니다. "
            f"설정의 redirect_uri를 http://localhost:{port}{back.path} 로 바꾸고 카카오 앱의 Redirect URI도 "
            "똑같이 등록하세요."
        )
    host = settings.admin.host
    if requires_token(host) and host not in ("", "0.0.0.0", "::"):
        problems.append(f"관리 서버가 {host}에서만 열려 있어 localhost로 돌아오는 카카오 로그인이 닿지 않습니다.")
    if not is_local_request(request):
        problems.append(
            f"Redirect URI가 이 컴퓨터({back.hostname})를 가리킵니다: inqd가 도는 컴퓨터의 브라우저에서 "
            f"http://localhost:{back.port}/status 를 열어 로그인하거나, 그 컴퓨터에서 inqd kakao-login 을 쓰세요."
        )
    return problems


def _result(*, ok: bool, text: str) -> web.StreamResponse:
    page = environment().get_template("kakao_result.html").render(ok=ok, text=text)
    return respond(web.Response(text=page, status=200 if ok else 400, content_type="text/html", charset="utf-8"))


def callback_paths(settings: Settings) -> set[str]:
    """The paths Kakao sends the browser back to: every kakao channel's redirect URI's, and the default's."""
    paths = {urlsplit(c.redirect_uri).path for c in settings.notifiers if isinstance(c, KakaoConfig)}
    return {path for path in paths if path} | {DEFAULT_CALLBACK}


def register(routes: Routes) -> None:
    """GET /kakao/login/{channel} and GET of each redirect URI's path."""
    ctx: WebContext = routes.ctx

    async def start(page: Page) -> web.StreamResponse:
        settings = page.ctx.settings()
        config = _channel(settings, page.request.match_info["channel"])
        if config is None:
            raise web.HTTPNotFound(text="그런 kakao 채널이 없습니다.")
        problems = address_problems(page.request, config, settings)
        if problems:
            title = "카카오 로그인"
            return page.html("kakao_login.html", title=title, nav="status", channel=config.name, problems=problems)
        state, challenge = page.ctx.kakao_logins.start(config.name, started_by=page.session.id, now=ctx.clock.now())
        return redirect(authorize_url(config, state, challenge))

    async def callback(request: web.Request) -> web.StreamResponse:
        if ctx.token is None and not is_local_request(request):
            return _result(ok=False, text="이 주소로는 열 수 없습니다. 이 컴퓨터에서 여세요.")
        now = ctx.clock.now()
        settings = ctx.settings()
        try:
            login, code = came_back(ctx.kakao_logins, request.query, now)
            config = _channel(settings, login.channel)
            if config is None or settings.secrets_dir is None:
                raise KakaoLoginFailed(f"kakao 채널 '{login.channel}'이 설정에서 사라졌습니다.")
            tokens = await exchange_code(config, settings.secrets_dir, code, login.verifier, clock=ctx.clock)
        except LOGIN_ERRORS as err:
            return _result(ok=False, text=str(err))
        return _result(ok=True, text=logged_in_text(tokens.refresh_token_expires_at, ctx.clock.now(), settings.zone))

    routes.get("/kakao/login/{channel}", start)
    for path in sorted(callback_paths(ctx.settings())):
        routes.open("GET", path, callback)
