"""Pure timing maths: when to poll next, when to retry a notification. No I/O, no clock reads."""

from __future__ import annotations

MAX_POLL_BACKOFF_S = 900.0
MAX_DELIVERY_BACKOFF_S = 600.0
FIRST_DELIVERY_RETRY_S = 5.0


def next_poll_delay_s(
    interval_s: float,
    *,
    consecutive_failures: int,
    retry_after_s: float | None,
    jitter: float,
    rand: float,
) -> float:
    """Seconds until a stream's next poll.

    Healthy: the interval, jittered by +/- `jitter` so many accounts never poll in lockstep.
    Failing: exponential backoff from the interval up to 15 minutes, with half jitter.
    A server's Retry-After is a floor either way. `rand` is a uniform draw in [0, 1).
    """
    if consecutive_failures <= 0:
        delay = interval_s * (1.0 + jitter * (2.0 * rand - 1.0))
    else:
        backoff = min(MAX_POLL_BACKOFF_S, interval_s * 2.0 ** min(consecutive_failures - 1, 16))
        delay = backoff * (0.5 + rand / 2.0)
    return max(delay, retry_after_s or 0.0, 0.0)


def delivery_retry_delay_s(attempts: int, *, retry_after_s: float | None) -> float:
    """Seconds before retrying a notification that failed `attempts` times (5 s, 10 s, ... 10 min)."""
    backoff = min(MAX_DELIVERY_BACKOFF_S, FIRST_DELIVERY_RETRY_S * 2.0 ** min(max(attempts - 1, 0), 16))
    return max(backoff, retry_after_s or 0.0)


def should_fall_back(*, retryable: bool, failing_for_s: float, fallback_after_s: float) -> bool:
    """Hand a message to the fallback channel: at once when the channel refused it for good, else once the
    channel has failed it for `fallback_after_s` (e.g. ntfy down for 10 minutes moves to SMS)."""
    return not retryable or failing_for_s >= fallback_after_s
