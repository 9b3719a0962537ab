"""Who polled an account when: a wrapper around a sandbox handler for runs of several inqd instances.

Each instance's config points at its own `SandboxServer` for the account, bound to a loopback address of its own
(127.0.0.1, 127.0.0.2, ...), and every server wraps the one sandbox object behind the account with this counter,
naming the instance. The counter then tells the instances' requests apart: it records any moment two instances
had a request for the account in flight at once (an account must be polled by one instance at a time), and each
request's (instance, start, end), from which a run reads when another instance took an account over.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

Handler = Callable[[httpx.Request], httpx.Response]


@dataclass(frozen=True, slots=True)
class RequestSpan:
    """One request to the account: which instance made it, and when it came in and was answered (`clock`)."""

    instance: str
    start: float
    end: float


class OverlapCounter:
    """Counts requests in flight per instance for one account; `overlaps` counts each request that came while
    another instance had one in flight, `requests` the requests per instance, `spans` every answered request."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._in_flight: dict[str, int] = {}
        self.overlaps = 0
        self.requests: dict[str, int] = {}
        self.spans: list[RequestSpan] = []

    def wrap(self, handler: Handler, instance: str) -> Handler:
        """`handler`, counting the requests that come through it as `instance`'s."""

        def counted(request: httpx.Request) -> httpx.Response:
            with self._lock:
                start = self._clock()
                self._in_flight[instance] = self._in_flight.get(instance, 0) + 1
                self.overlaps += sum(1 for other, n in self._in_flight.items() if other != instance and n)
                self.requests[instance] = self.requests.get(instance, 0) + 1
            try:
                return handler(request)
            finally:
                with self._lock:
                    self._in_flight[instance] -= 1
                    self.spans.append(RequestSpan(instance, start, self._clock()))

        return counted

    def first_after(self, moment: float) -> RequestSpan | None:
        """The first request that came in after `moment`, or None."""
        with self._lock:
            later = [span for span in self.spans if span.start > moment]
        return min(later, key=lambda span: span.start, default=None)

    def last_before(self, moment: float) -> RequestSpan | None:
        """The last request that came in before `moment`, or None."""
        with self._lock:
            earlier = [span for span in self.spans if span.start < moment]
        return max(earlier, key=lambda span: span.start, default=None)
