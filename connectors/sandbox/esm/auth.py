"""The ESM sandbox's Bearer JWT check, written from the doc (marketplaces.md §4), independently of the connector.

HS256 signed with the secret; header kid == master ID; aud == "sa.esmplus.com"; sub == "sell"; `ssi`
"A:<옥션 id>,G:<G마켓 id>" (either part optional) naming only seeded seller ids; `exp`, when present, in the
future (`iat`/`exp` optional; `iss` required to be present, its value not checked [UNCONFIRMED upstream]).
"""

from __future__ import annotations

import warnings
from datetime import datetime

import jwt

from connectors.sandbox.esm.store import AUCTION, GMARKET

AUDIENCE = "sa.esmplus.com"


class JwtRejected(Exception):
    """The Authorization header does not carry a token ESM would accept."""


def verified_sites(
    header: str | None, *, master_id: str, secret: str, sellers: dict[str, str], now: datetime
) -> set[str]:
    """The sites (G마켓, 옥션) a valid Bearer JWT may see; raises JwtRejected otherwise."""
    if header is None or not header.startswith("Bearer "):
        raise JwtRejected("no Bearer token")
    token = header.removeprefix("Bearer ").strip()
    try:
        if jwt.get_unverified_header(token).get("kid") != master_id:
            raise jwt.InvalidTokenError("kid")
        with warnings.catch_warnings():  # a short secret is ESM's choice, not an error here
            warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
            claims = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                # Times are checked against the sandbox's own clock below, not the host's.
                options={"require": ["iss", "sub", "aud", "ssi"], "verify_exp": False, "verify_iat": False},
            )
        sites = _ssi_sites(claims.get("ssi"), sellers)
        exp = claims.get("exp")
        if claims.get("sub") != "sell" or (exp is not None and (not isinstance(exp, int) or exp <= now.timestamp())):
            raise jwt.InvalidTokenError("sub/exp")
    except jwt.PyJWTError as err:
        raise JwtRejected(str(err)) from err
    return sites


def _ssi_sites(ssi: object, sellers: dict[str, str]) -> set[str]:
    """The sites an `ssi` claim names; every part must be "A:<id>" or "G:<id>" of a seeded seller."""
    if not isinstance(ssi, str) or not ssi.strip():
        raise jwt.InvalidTokenError("ssi")
    sites: set[str] = set()
    for part in ssi.split(","):
        tag, _, seller_id = part.strip().partition(":")
        site = {"A": AUCTION, "G": GMARKET}.get(tag)
        if site is None or sellers.get(site) != seller_id or site in sites:
            raise jwt.InvalidTokenError("ssi")
        sites.add(site)
    return sites
