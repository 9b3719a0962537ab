"""Fault injection for the sandbox marketplaces: a FIFO of failures that the next matching requests receive."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SERVER_ERROR_STATUSES = frozenset({500, 502, 503, 504})


class Fault(StrEnum):
    """A failure the sandbox can serve instead of (or on top of) a normal answer."""

    SERVER_ERROR = "server_error"  # 5xx with a JSON body
    RATE_LIMIT = "rate_limit"  # 429 with a Retry-After header
    HTML_FORBIDDEN = "html_forbidden"  # 403 with the CDN's HTML "Access Denied" page
    TIMEOUT = "timeout"  # no answer in time
    MALFORMED_ITEM = "malformed_item"  # one row of a list page is broken, the rest are fine
    MALFORMED_BODY = "malformed_body"  # 200 whose body is not JSON
    # An answer request is accepted and stored, but its response is lost: the caller cannot know it went through.
    ACCEPTED_THEN_SERVER_ERROR = "accepted_then_server_error"  # stored, then the gateway's 5xx
    ACCEPTED_THEN_TIMEOUT = "accepted_then_timeout"  # stored, then no answer in time


class Malformation(StrEnum):
    """The ways MALFORMED_ITEM breaks a row, used in turn."""

    MISSING_ID = "missing_id"
    WRONG_TYPES = "wrong_types"
    BAD_DATE = "bad_date"


# Faults that replace the response before the request reaches the API itself (CDN, gateway, network).
GATEWAY_FAULTS = frozenset({Fault.SERVER_ERROR, Fault.RATE_LIMIT, Fault.HTML_FORBIDDEN, Fault.TIMEOUT})
# Faults that only an accepted answer uses up: a refused answer or any other request leaves them queued.
ANSWER_FAULTS = frozenset({Fault.ACCEPTED_THEN_SERVER_ERROR, Fault.ACCEPTED_THEN_TIMEOUT})
_STATUS_FAULTS = frozenset({Fault.SERVER_ERROR, Fault.ACCEPTED_THEN_SERVER_ERROR})


@dataclass(slots=True)
class FaultEntry:
    """One queued fault and how many more requests it applies to."""

    fault: Fault
    remaining: int
    endpoint: str | None  # None: any endpoint
    status: int
    retry_after_s: int


class FaultQueue:
    """FIFO of faults; a request gets the oldest entry that matches it. Not thread-safe: the caller locks."""

    def __init__(self) -> None:
        self._entries: list[FaultEntry] = []

    def push(self, fault: Fault, times: int, endpoint: str | None, status: int | None, retry_after_s: int) -> None:
        """Queue `fault` for the next `times` matching requests (status None: 500 for the 5xx faults)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        if status is not None and fault not in _STATUS_FAULTS:
            raise ValueError("status applies to SERVER_ERROR and ACCEPTED_THEN_SERVER_ERROR only")
        chosen_status = 500 if status is None else status
        if fault in _STATUS_FAULTS and chosen_status not in SERVER_ERROR_STATUSES:
            raise ValueError(f"a 5xx fault's status must be one of {sorted(SERVER_ERROR_STATUSES)}")
        if retry_after_s < 0:
            raise ValueError("retry_after_s must not be negative")
        self._entries.append(FaultEntry(fault, times, endpoint, chosen_status, retry_after_s))

    def peek(self, endpoint: str | None, *, is_list: bool, is_answer: bool = False) -> FaultEntry | None:
        """The oldest entry matching a request to `endpoint` (None: an unknown path)."""
        for entry in self._entries:
            if entry.endpoint is not None and entry.endpoint != endpoint:
                continue
            # A broken row needs a list page to live in, a lost answer an answer request; others leave them queued.
            misplaced_row = entry.fault is Fault.MALFORMED_ITEM and not is_list
            if misplaced_row or (entry.fault in ANSWER_FAULTS and not is_answer):
                continue
            return entry
        return None

    def consume(self, entry: FaultEntry) -> None:
        """Count one use of `entry`, dropping it when used up."""
        entry.remaining -= 1
        if entry.remaining <= 0:
            self._entries.remove(entry)

    def clear(self) -> None:
        """Forget every queued fault."""
        self._entries.clear()

    def __len__(self) -> int:
        return sum(entry.remaining for entry in self._entries)


def akamai_access_denied_html(url: str, reference: str) -> bytes:
    """The HTML page a CDN edge serves when it blocks a caller (the shape Coupang documents for 403)."""
    escaped = "".join(f"&#{ord(ch)};" if not ch.isalnum() else ch for ch in url)
    return (
        "<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n \n"
        f'You don\'t have permission to access "{escaped}" on this server.<P>\n'
        f"Reference&#32;&#35;{reference}\n</BODY>\n</HTML>\n"
    ).encode("ascii")


def truncated(body: bytes) -> bytes:
    """`body` cut in half, as when a proxy drops the connection mid-response: no longer valid JSON."""
    return body[: max(1, len(body) // 2)]
