"""Pure timing maths of the poll loop and the delivery retries."""

from __future__ import annotations

import pytest

from aggregator.scheduler import delivery_retry_delay_s, next_poll_delay_s


@pytest.mark.parametrize(
    ("failures", "retry_after", "rand", "expected"),
    [
        (0, None, 0.5, 60.0),  # healthy, no jitter at the midpoint
        (0, None, 0.0, 54.0),  # -10 %
        (0, None, 0.999999, 65.99999),  # just under +10 %
        (1, None, 1.0, 60.0),  # first failure: the interval, half jitter
        (3, None, 1.0, 240.0),  # doubling
        (3, None, 0.0, 120.0),
        (12, None, 1.0, 900.0),  # capped at 15 minutes
        (0, 300.0, 0.5, 300.0),  # Retry-After is a floor even when healthy
        (2, 30.0, 1.0, 120.0),  # backoff beats a short Retry-After
    ],
)
def test_next_poll_delay(failures: int, retry_after: float | None, rand: float, expected: float) -> None:
    delay = next_poll_delay_s(60.0, consecutive_failures=failures, retry_after_s=retry_after, jitter=0.1, rand=rand)
    assert delay == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    ("attempts", "retry_after", "expected"),
    [(1, None, 5.0), (2, None, 10.0), (4, None, 40.0), (20, None, 600.0), (1, 120.0, 120.0)],
)
def test_delivery_retry_delay(attempts: int, retry_after: float | None, expected: float) -> None:
    assert delivery_retry_delay_s(attempts, retry_after_s=retry_after) == expected
