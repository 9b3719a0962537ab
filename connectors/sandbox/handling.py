"""The request bookkeeping every sandbox handler shares: the lock, the clock, request recording, fault injection."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar

import httpx

from connectors.sandbox.faults import Fault, FaultQueue

EndpointT = TypeVar("EndpointT", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the sandbox received, for asserting a connector's request pattern."""

    at: datetime
    method: str
    path: str
    query: str
    status: int | None  # None: the sandbox answered with a timeout


class SandboxHandler(Generic[EndpointT]):
    """Mixin of a sandbox: `handler` records every request and answers it through `_handle` under the lock.

    The sandbox sets `_lock` (its store does), `_now`, `requests` and `_faults` in its own `__init__`.
    """

    _lock: threading.RLock
    _now: Callable[[], datetime]
    requests: list[RecordedRequest]
    _faults: FaultQueue

    def handler(self, request: httpx.Request) -> httpx.Response:
        """Answer one request as the marketplace would; raises httpx.ReadTimeout for an injected TIMEOUT."""
        with self._lock:
            now = self._current_time()
            status: int | None = None
            try:
                response = self._handle(request, now)
                status = response.status_code
                return response
            finally:
                raw_path, _, raw_query = request.url.raw_path.partition(b"?")
                record = RecordedRequest(
                    now, request.method, raw_path.decode("latin-1"), raw_query.decode("latin-1"), status
                )
                self.requests.append(record)

    def inject(
        self,
        fault: Fault,
        times: int = 1,
        *,
        endpoint: EndpointT | None = None,
        status: int | None = None,
        retry_after_s: int = 30,
    ) -> None:
        """Queue `fault` for the next `times` requests to `endpoint` (None: any; MALFORMED_ITEM: list pages)."""
        with self._lock:
            self._faults.push(fault, times, endpoint=endpoint, status=status, retry_after_s=retry_after_s)

    def clear_faults(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._faults.clear()

    @property
    def pending_faults(self) -> int:
        """How many fault uses are still queued."""
        with self._lock:
            return len(self._faults)

    def _handle(self, request: httpx.Request, now: datetime) -> httpx.Response:
        """The response to one request received at `now`, called under the lock."""
        raise NotImplementedError

    def _current_time(self) -> datetime:
        now = self._now()
        if now.tzinfo is None:
            raise ValueError("the sandbox's now() must return an aware datetime")
        return now
