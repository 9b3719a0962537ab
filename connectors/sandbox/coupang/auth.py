"""Verification of Coupang's "CEA" HMAC-SHA256 Authorization header, written from the published algorithm.

message = signed-date + METHOD + path + query, where path and query are the bytes on the wire (query
without its "?"); signature = lowercase hex HMAC-SHA256(secretKey, message); signed-date = yyMMdd'T'HHmmss'Z'
in UTC. The body is not signed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

# Gateway messages, as Coupang's guide for the same api-gateway prints them.
MSG_NOT_AUTHORIZED = "Request is not authorized."
MSG_FORMAT_INVALID = "HMAC format is invalid."
MSG_UNKNOWN_KEY = "Unknown error occurred, please contact api-gateway channel for the details."
MSG_EXPIRED = "Specified signature is expired."
MSG_INVALID_SIGNATURE = "Invalid signature."

# The portal samples join fields with ", ", the Partners Java sample with "," alone: both are official,
# so both are accepted. Field order is the only one any sample shows.
_HEADER_RE = re.compile(
    r"CEA algorithm=(?P<algorithm>[^,\s]+), ?access-key=(?P<access_key>[^,\s]+),"
    r" ?signed-date=(?P<signed_date>[^,\s]+), ?signature=(?P<signature>[^,\s]+)"
)
_SIGNED_DATE_RE = re.compile(r"[0-9]{6}T[0-9]{6}Z")
_SIGNED_DATE_FORMAT = "%y%m%dT%H%M%SZ"


class AuthRejected(Exception):
    """The gateway refuses the request; `message` is what it would say."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class CeaHeader:
    """The parsed fields of one Authorization header."""

    algorithm: str
    access_key: str
    signed_date: str
    signed_at: datetime
    signature: str


def parse_cea(value: str | None) -> CeaHeader:
    """Parse an Authorization header value; raises AuthRejected when it is absent or malformed."""
    if value is None or not value.strip():
        raise AuthRejected(MSG_NOT_AUTHORIZED)
    match = _HEADER_RE.fullmatch(value)
    if match is None or match["algorithm"] != "HmacSHA256":
        raise AuthRejected(MSG_FORMAT_INVALID)
    signed_date = match["signed_date"]
    if _SIGNED_DATE_RE.fullmatch(signed_date) is None:
        raise AuthRejected(MSG_FORMAT_INVALID)
    try:
        signed_at = datetime.strptime(signed_date, _SIGNED_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError as err:
        raise AuthRejected(MSG_FORMAT_INVALID) from err
    return CeaHeader(match["algorithm"], match["access_key"], signed_date, signed_at, match["signature"])


def signature_for(secret_key: str, signed_date: str, method: str, raw_target: bytes) -> str:
    """Hex HMAC-SHA256 over signed-date + METHOD + path + query, `raw_target` being path[?query] as sent."""
    path, _, query = raw_target.partition(b"?")
    message = signed_date.encode("ascii") + method.upper().encode("ascii") + path + query
    return hmac.new(secret_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_request(
    request: httpx.Request, *, access_key: str, secret_key: str, now: datetime, max_skew_s: float
) -> None:
    """Raise AuthRejected unless `request` carries a valid, fresh CEA signature for this key pair."""
    header = parse_cea(request.headers.get("Authorization"))
    if not hmac.compare_digest(header.access_key.encode("utf-8"), access_key.encode("utf-8")):
        raise AuthRejected(MSG_UNKNOWN_KEY)
    # Allowed skew is not documented (UNCONFIRMED); the window is symmetric so a fast client clock fails too.
    if abs((now - header.signed_at).total_seconds()) > max_skew_s:
        raise AuthRejected(MSG_EXPIRED)
    expected = signature_for(secret_key, header.signed_date, request.method, request.url.raw_path)
    if not hmac.compare_digest(expected.encode("ascii"), header.signature.encode("utf-8")):
        raise AuthRejected(MSG_INVALID_SIGNATURE)
