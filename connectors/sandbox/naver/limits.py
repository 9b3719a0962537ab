"""The Naver sandbox gateway's request limits: a token bucket per API and the 2026 token-standard penalty.

Rate limit [official, docs/restriction]: a token bucket per API and application; it refills at the replenish
rate and holds twice that (burst). Responses that passed it say so in GNCP-GW-RateLimit-* headers.
Penalty [2026 enforcement notices; the details below are the sandbox's choice]: after a non-standard token
request the whole application may make one call per KST clock hour (GNCP-GW-Quota-Period HOURS, Limit 1)
until 09:00 KST the morning after a full KST calendar day without another one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum

from core.models import KST

PENALTY_LIFTS_AT = time(9, 0)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: datetime


class GatewayLimits:
    """Per-API token buckets and the application-wide hourly quota penalty. Not thread-safe: the caller locks."""

    def __init__(self, *, replenish_rate_per_s: int) -> None:
        if replenish_rate_per_s < 1:
            raise ValueError("replenish_rate_per_s must be at least 1")
        self.replenish_rate_per_s = replenish_rate_per_s
        self.penalty_until: datetime | None = None
        self._penalty_hour: datetime | None = None
        self._buckets: dict[StrEnum, _Bucket] = {}

    @property
    def burst_capacity(self) -> int:
        """Twice the replenish rate, as the docs define it."""
        return 2 * self.replenish_rate_per_s

    def take(self, api: StrEnum, now: datetime) -> int | None:
        """One request from `api`'s bucket: the whole tokens left after it, or None when the bucket is empty."""
        burst = float(self.burst_capacity)
        bucket = self._buckets.setdefault(api, _Bucket(burst, now))
        elapsed_s = max(0.0, (now - bucket.at).total_seconds())
        bucket.tokens, bucket.at = min(burst, bucket.tokens + elapsed_s * self.replenish_rate_per_s), now
        if bucket.tokens < 1.0:
            return None
        bucket.tokens -= 1.0
        return math.floor(bucket.tokens)

    def rate_headers(self, remaining: int) -> dict[str, str]:
        """The GNCP-GW-RateLimit-* headers of a response that went through a bucket."""
        return {
            "GNCP-GW-RateLimit-Replenish-Rate": str(self.replenish_rate_per_s),
            "GNCP-GW-RateLimit-Burst-Capacity": str(self.burst_capacity),
            "GNCP-GW-RateLimit-Remaining": str(remaining),
        }

    def penalize(self, now: datetime) -> None:
        """Start (or restart) the penalty for a non-standard token request made at `now`."""
        lifts = datetime.combine(now.astimezone(KST).date() + timedelta(days=2), PENALTY_LIFTS_AT, KST)
        self.penalty_until = max(lifts, self.penalty_until or lifts)
        self._penalty_hour = _hour(now)  # the offending call was this hour's one call

    def admit(self, now: datetime) -> bool:
        """Whether a call may go on: always outside a penalty, the first call of each KST hour inside one."""
        if self.penalty_until is not None and now >= self.penalty_until:
            self.penalty_until = self._penalty_hour = None
        if self.penalty_until is None:
            return True
        if self._penalty_hour != _hour(now):
            self._penalty_hour = _hour(now)
            return True
        return False

    def quota_headers(self, now: datetime) -> dict[str, str]:
        """The GNCP-GW-Quota-* headers while a penalty lasts, none otherwise."""
        if self.penalty_until is None or now >= self.penalty_until:
            return {}
        return {"GNCP-GW-Quota-Period": "HOURS", "GNCP-GW-Quota-Limit": "1", "GNCP-GW-Quota-Remaining": "0"}


def _hour(now: datetime) -> datetime:
    return now.astimezone(KST).replace(minute=0, second=0, microsecond=0)
