"""Coupang's CEA request signing (HMAC-SHA256 over signed-date + method + path + query), as an httpx.Auth."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Generator
from datetime import UTC, datetime

import httpx
from pydantic import SecretStr

SIGNED_DATE_FORMAT = "%y%m%dT%H%M%SZ"


def cea_signature(secret_key: str, signed_date: str, method: str, path: str, query: str) -> str:
    """Lowercase hex HMAC-SHA256 of `signed_date + METHOD + path + query` (query without the `?`)."""
    message = f"{signed_date}{method.upper()}{path}{query}"
    return hmac.new(secret_key.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()


class CoupangAuth(httpx.Auth):
    """Signs every outgoing request with a fresh `Authorization: CEA ...` header."""

    def __init__(self, *, access_key: SecretStr, secret_key: SecretStr, now: Callable[[], datetime]) -> None:
        self._access_key = access_key
        self._secret_key = secret_key
        self._now = now

    def __repr__(self) -> str:
        return f"CoupangAuth(access_key={self._access_key!r}, secret_key={self._secret_key!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the CEA header, signed over the path and query exactly as they go on the wire."""
        request.headers["Authorization"] = self.header_value(request)
        yield request

    def header_value(self, request: httpx.Request) -> str:
        """The `Authorization` value for `request`, signed at the injected `now`."""
        at = self._now()
        if at.tzinfo is None:
            # A naive time would be read as the host's local zone and sign a date hours off.
            raise ValueError("CoupangAuth needs a timezone-aware `now`")
        signed_date = at.astimezone(UTC).strftime(SIGNED_DATE_FORMAT)
        # raw_path is what httpx writes on the request line, so re-encoding cannot change the signed bytes.
        path, _, query = request.url.raw_path.decode("ascii").partition("?")
        signature = cea_signature(self._secret_key.get_secret_value(), signed_date, request.method, path, query)
        return (
            f"CEA algorithm=HmacSHA256, access-key={self._access_key.get_secret_value()}, "
            f"signed-date={signed_date}, signature={signature}"
        )
