"""`inqd kakao-login --config FILE [--channel NAME]`: the one-time Kakao login of a kakao channel, from a terminal.

It prints Kakao's login address (and tries to open it in a browser), listens on the redirect URI's port on
127.0.0.1 with a one-route aiohttp server until Kakao sends the browser back (state checked, ten minutes at most,
Ctrl-C stops it cleanly), trades the code for tokens and writes the token file. While the daemon runs, its admin
server holds that port: the web inbox's status page has the same login as a button.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import sys
import webbrowser
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from aiohttp import web

from aggregator.cli.stops import Stops
from aggregator.kakao_login import LOGIN_ERRORS, LOGIN_TIMEOUT, PendingLogins, came_back, logged_in_text
from aggregator.logs import configure_logging
from aggregator.notifiers.kakao_auth import KakaoTokens, authorize_url, exchange_code, token_path
from aggregator.settings import Settings
from aggregator.settings.notify import KakaoConfig
from core.clock import Clock, SystemClock

EXIT_FAILED = 1
EXIT_USAGE = 2


class PortBusy(Exception):
    """The redirect URI's port is taken (most likely by the running daemon)."""


def add_kakao_login_parser(sub: Any, parents: Sequence[argparse.ArgumentParser]) -> None:
    """Register `inqd kakao-login` on the subcommand parsers."""
    parser = sub.add_parser(
        "kakao-login", help="log in to Kakao once for a kakao channel (KakaoTalk 나에게 보내기)", parents=parents
    )
    parser.add_argument("--config", "-c", type=Path, required=True, help="path to the TOML config file")
    parser.add_argument("--channel", default=None, metavar="NAME", help="the kakao channel (default: the only one)")
    parser.add_argument("--no-browser", action="store_true", help="only print the address, open no browser")


def kakao_channel(settings: Settings, name: str | None) -> KakaoConfig | str:
    """The kakao channel `name` (or the only one), or why there is none, in Korean."""
    channels = [c for c in settings.notifiers if isinstance(c, KakaoConfig)]
    if name is not None:
        found = [c for c in channels if c.name == name]
        return found[0] if found else f"설정에 kakao 채널 '{name}'이 없습니다."
    if len(channels) == 1:
        return channels[0]
    if not channels:
        return "설정에 kakao 채널이 없습니다: inqd init으로 추가하세요."
    return "kakao 채널이 여럿입니다: --channel " + " | ".join(c.name for c in channels)


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain", charset="utf-8")


async def serve_login(
    config: KakaoConfig,
    secrets_dir: Path,
    *,
    clock: Clock,
    say: Callable[[str], None],
    open_browser: Callable[[str], object] | None,
    timeout_s: float = LOGIN_TIMEOUT.total_seconds(),
    client: httpx.AsyncClient | None = None,
) -> KakaoTokens:
    """Serve the redirect URI until Kakao sends the browser back with a code, and trade it for the token file.

    PortBusy when the port is taken, TimeoutError after `timeout_s`, one of LOGIN_ERRORS when the login fails.
    A request with a state this login did not issue is answered and ignored (it is not the seller's browser).
    """
    logins = PendingLogins()
    state, challenge = logins.start(config.name, started_by="", now=clock.now())
    done: asyncio.Future[KakaoTokens] = asyncio.get_running_loop().create_future()

    async def callback(request: web.Request) -> web.StreamResponse:
        try:
            login, code = came_back(logins, request.query, clock.now())
        except LOGIN_ERRORS as err:
            if request.query.get("state") == state and not done.done():
                done.set_exception(err)  # the seller's own login came back refused: stop waiting
            return _text(400, str(err))
        try:
            tokens = await exchange_code(config, secrets_dir, code, login.verifier, clock=clock, client=client)
        except LOGIN_ERRORS as err:
            done.set_exception(err)
            return _text(502, str(err))
        done.set_result(tokens)
        return _text(200, "카카오 로그인을 마쳤습니다. 이 창을 닫고 터미널로 돌아가세요.")

    redirect = urlsplit(config.redirect_uri)
    app = web.Application()
    app.router.add_get(redirect.path or "/", callback)
    # access_log=None: a request line carries the authorization code.
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, "127.0.0.1", redirect.port).start()
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise PortBusy(str(redirect.port)) from None
            raise
        url = authorize_url(config, state, challenge)
        say(f"이 주소를 브라우저에서 열어 카카오에 로그인하세요 (10분 안에):\n{url}")
        if open_browser is not None:
            with contextlib.suppress(webbrowser.Error):  # a convenience only: a server has no browser
                open_browser(url)
        async with asyncio.timeout(timeout_s):
            return await done
    finally:
        await runner.cleanup()


def run_kakao_login(args: argparse.Namespace, settings: Settings, stops: Stops, *, clock: Clock | None = None) -> int:
    """`inqd kakao-login`: 0 logged in, 1 the login failed, 2 the config has no such channel or no secrets_dir."""
    scrubber = configure_logging(level="WARNING")
    scrubber.add(settings.secret_values())
    config = kakao_channel(settings, args.channel)
    if isinstance(config, str):
        print(f"inqd kakao-login: {config}", file=sys.stderr)
        return EXIT_USAGE
    if settings.secrets_dir is None:
        print("inqd kakao-login: 설정에 secrets_dir가 없습니다: 토큰 파일을 둘 폴더를 정하세요.", file=sys.stderr)
        return EXIT_USAGE
    clock = clock or SystemClock()
    opener = None if args.no_browser else webbrowser.open
    login = serve_login(config, settings.secrets_dir, clock=clock, say=print, open_browser=opener)
    try:
        tokens = stops.run(login)
    except PortBusy as busy:
        print(
            f"inqd kakao-login: 포트 {busy}를 이미 쓰고 있습니다. inqd가 실행 중이면 웹 화면의 상태 페이지"
            f"(http://localhost:{busy}/status)에서 '카카오 로그인' 버튼을 누르세요.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except TimeoutError:
        print("inqd kakao-login: 10분 안에 카카오에서 돌아오지 않았습니다. 다시 실행하세요.", file=sys.stderr)
        return EXIT_FAILED
    except LOGIN_ERRORS as err:
        print(f"inqd kakao-login: {scrubber.scrub(str(err))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("\n중단했습니다. 로그인하지 않았습니다.", file=sys.stderr)
        raise
    print(logged_in_text(tokens.refresh_token_expires_at, clock.now(), settings.zone))
    print(f"토큰 파일: {token_path(settings.secrets_dir, config.name)} (권한 0600, 다른 곳에 복사하지 마세요)")
    return 0
