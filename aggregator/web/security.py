"""Who may see the web inbox and change things through it: sessions, CSRF tokens, the login throttle, headers.

The rules (issue 16): without `[admin] token` the server listens on loopback only and a browser on this machine
gets a session without logging in; with a token, a login page asks for it and sets an HttpOnly, SameSite=Strict
session cookie. Every state-changing request carries the session's CSRF token and must not come from another
origin. Pages are sent with a Content-Security-Policy that allows no inline script and no other host.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from aiohttp import web

SESSION_COOKIE = "inqd_session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
# A seller's working day, then log in again; idle sessions go sooner.
SESSION_LIFETIME = timedelta(hours=12)
SESSION_IDLE = timedelta(hours=4)
_MAX_SESSIONS = 200  # oldest dropped first: a flood of logins cannot grow the daemon's memory
# No inline script or style, nothing from another host, not framed; forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# A drawn chart (report/chart.py: matplotlib writes its colours as style attributes and a <style> element), when
# opened on its own rather than through an <img> (Chromium applies no policy of an image's own response there):
# inline styles, and nothing else — no script, nothing fetched.
DRAWING_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # A link to a seller centre must not tell it which inquiry page the seller came from. Not "no-referrer":
    # under it browsers send `Origin: null` on the page's own form posts, which the same-origin check refuses.
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})
# Headers a reverse proxy (tailscale serve, nginx, Caddy) adds: the browser is then elsewhere, even though
# the connection comes from this machine.
_FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP", "X-Forwarded-Host", "Tailscale-User-Login")


def _host_name(host_header: str) -> str:
    """`Host` without its port: `127.0.0.1:9464` → `127.0.0.1`, `[::1]:9464` → `::1`."""
    if host_header.startswith("["):
        return host_header[1:].partition("]")[0]
    return host_header.rpartition(":")[0] if host_header.count(":") == 1 else host_header


def is_loopback_address(address: str | None) -> bool:
    """Whether a peer address is this machine."""
    if not address:
        return False
    try:
        return ipaddress.ip_address(address.partition("%")[0]).is_loopback
    except ValueError:
        return False


def is_local_request(request: web.Request) -> bool:
    """Whether the browser runs on this machine: a loopback peer, a loopback Host, and no proxy in between."""
    if not is_loopback_address(request.remote):
        return False
    if any(name in request.headers for name in _FORWARDING_HEADERS):
        return False
    return _host_name(request.headers.get("Host", "")).lower() in _LOOPBACK_NAMES


def local_path(target: str) -> str | None:
    """`target` when it is a path on this server, else None: never `//evil.example`, a scheme or `\\` (read as `/`),
    and nothing a browser drops before reading the URL (tabs, newlines: `/\t/evil.example` is `//evil.example`).
    An open redirect would help phishing."""
    plain = all(char.isprintable() and not char.isspace() for char in target)
    return target if plain and target.startswith("/") and not target.startswith("//") and "\\" not in target else None


def same_origin(request: web.Request) -> bool:
    """False when the browser says the request comes from another site (Origin, Sec-Fetch-Site)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser's cross-site request (browsers send Origin on every cross-origin POST)
    if origin == "null":
        # A browser says "null" for a sandboxed frame or a privacy-redirected post; only its own word that the
        # request comes from this origin (a header no page can set) lets it through.
        return site == "same-origin"
    hosts = {request.headers.get("Host", "").lower()}
    if is_loopback_address(request.remote):
        # Behind a proxy on this machine (tailscale serve, Caddy) the browser's host is the proxy's: a page on
        # another site cannot set this header on a form post, and a script setting it needs a CORS preflight.
        hosts.add(request.headers.get("X-Forwarded-Host", "").split(",")[0].strip().lower())
    return urlsplit(origin).netloc.lower() in hosts - {""}


@dataclass(slots=True)
class Session:
    """One browser's login: its CSRF token and its times."""

    id: str
    csrf: str
    created: datetime
    seen: datetime


class Sessions:
    """Sessions in memory (a restart logs everyone out, which is the safe direction); bounded in number."""

    def __init__(self) -> None:
        self._by_id: OrderedDict[str, Session] = OrderedDict()

    def create(self, now: datetime) -> Session:
        """A new session with fresh random id and CSRF token."""
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now, now)
        self._by_id[session.id] = session
        while len(self._by_id) > _MAX_SESSIONS:
            self._by_id.popitem(last=False)
        return session

    def get(self, session_id: str | None, now: datetime) -> Session | None:
        """The live session of that id (its idle clock restarted), or None."""
        session = self._by_id.get(session_id or "")
        if session is None:
            return None
        if now - session.created > SESSION_LIFETIME or now - session.seen > SESSION_IDLE:
            del self._by_id[session.id]
            return None
        session.seen = now
        self._by_id.move_to_end(session.id)
        return session

    def drop(self, session_id: str | None) -> None:
        """Log out."""
        self._by_id.pop(session_id or "", None)


def csrf_ok(session: Session, given: str | None) -> bool:
    """Whether a request carries the session's CSRF token."""
    return bool(given) and hmac.compare_digest(str(given).encode(), session.csrf.encode())


@dataclass(slots=True)
class _Failures:
    count: int = 0
    next_allowed: datetime | None = None


@dataclass
class LoginThrottle:
    """Failed logins slow the next try: 1 s after the first failure, doubling to 5 minutes, per peer and overall.

    Refusing early attempts (429 with Retry-After) rather than sleeping keeps no request waiting in the daemon.
    """

    first_delay: timedelta = timedelta(seconds=1)
    max_delay: timedelta = timedelta(minutes=5)
    # Many peers guessing together (a botnet behind a public URL) share this budget.
    overall_after: int = 20
    _peers: dict[str, _Failures] = field(default_factory=dict)
    _overall: _Failures = field(default_factory=_Failures)

    def wait(self, peer: str, now: datetime) -> timedelta | None:
        """How long `peer` must still wait before its next try, or None when it may try now."""
        waits = [f.next_allowed - now for f in (self._peers.get(peer), self._overall) if f and f.next_allowed]
        longest = max(waits, default=timedelta(0))
        return longest if longest > timedelta(0) else None

    def failed(self, peer: str, now: datetime) -> None:
        """Count a wrong token from `peer`."""
        if len(self._peers) > 10_000:
            self._peers.clear()  # bounded memory; the overall counter still holds the line
        failures = self._peers.setdefault(peer, _Failures())
        failures.count += 1
        failures.next_allowed = now + self._delay(failures.count)
        self._overall.count += 1
        if self._overall.count >= self.overall_after:
            self._overall.next_allowed = now + self._delay(self._overall.count - self.overall_after + 1)

    def succeeded(self, peer: str) -> None:
        """A right token: that peer starts afresh (the overall count only decays with successes)."""
        self._peers.pop(peer, None)
        self._overall.count = max(0, self._overall.count - 1)

    def _delay(self, count: int) -> timedelta:
        delay: timedelta = self.first_delay * 2 ** min(count - 1, 20)
        return min(delay, self.max_delay)


def peer_of(request: web.Request) -> str:
    """The address failed logins are counted against (the proxy's client address when one forwards it)."""
    # The last address is the one our proxy added; those before it are whatever the client sent, and counting
    # them would let a guesser escape its own throttle by changing the header on every try.
    forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
    return forwarded if forwarded and is_loopback_address(request.remote) else request.remote or "?"
