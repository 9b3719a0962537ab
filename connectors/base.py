"""The Connector contract, its error tree, and the one HTTP edge every marketplace connector talks through.

Error tree (translated once, at the HTTP edge, always `raise ... from err`):

    ConnectorError
    ├── AuthFailed        credentials wrong, expired or revoked: operator action, no retry loop
    ├── RateLimited       429 or a throttle signal; `retry_after` is the floor for the next attempt
    └── Unavailable       5xx, timeouts, network errors, temporary blocks, undecodable pages: retry later
"""

from __future__ import annotations

import contextvars
import json
import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import ClassVar, NamedTuple, Protocol

import httpx
import structlog

from core.answers import AnswerLimit, AnswerOutcome, AnswerRequest, AnswerResult
from core.clock import Clock
from core.http import parse_retry_after
from core.models import Cursor, Marketplace, PollResult, StreamKind

log = structlog.get_logger(__name__)

ERROR_TEXT_LIMIT = 200
DEFAULT_RETRY_AFTER_S = 60.0  # the wait after a 429 that names none
RECENT_SECRETS = 8  # how many of the tokens and signatures issued lately `hide` keeps out of error texts
# Transport errors raised before a byte of the request left: an answer that failed so surely never arrived.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol, httpx.ProxyError)


class ConnectorError(Exception):
    """Base of every error a connector raises."""

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AuthFailed(ConnectorError):
    """The marketplace refused our credentials: the seller must act (re-issue a key, fix the IP list)."""


class RateLimited(ConnectorError):
    """The marketplace asked us to slow down; `retry_after_s` is the minimum wait."""


class Unavailable(ConnectorError):
    """A transient failure: server error, timeout, network error, maintenance, an undecodable page."""


class MalformedItem(ValueError):
    """One item of a page could not be normalized; the connector skips and counts it."""


class Connector(Protocol):
    """One marketplace account; polls each of its streams independently."""

    marketplace: ClassVar[Marketplace]
    account_id: str
    streams: tuple[StreamKind, ...]

    async def poll(self, stream: StreamKind, cursor: Cursor | None, *, now: datetime) -> PollResult:
        """Fetch everything new or changed in `stream` since `cursor` (None: first run, backfill)."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP client."""
        ...


class AnsweringConnector(Connector, Protocol):
    """A connector that can post a seller's answer to an inquiry of one of its streams.

    `answer` never raises for the marketplace's refusals or outages: every outcome is an AnswerResult (errors
    are mapped once, at the edge). ONCE_ONLY names the streams whose endpoint accepts one answer per inquiry;
    ANSWER_LIMITS the length each stream's answer may have.
    """

    ONCE_ONLY: ClassVar[frozenset[StreamKind]]
    ANSWER_LIMITS: ClassVar[Mapping[StreamKind, AnswerLimit]]

    async def answer(self, request: AnswerRequest) -> AnswerResult:
        """Post `request.text` as the answer to `request.inquiry`; map the marketplace's reply to an outcome."""
        ...


class RequestBudget:
    """Spaces an account's requests so they never exceed `rate_per_s`, across all its streams.

    The marketplace limit is per seller (Coupang: per vendorId), so one budget is shared by every stream
    task of an account. A reservation is taken before waiting, so concurrent callers queue fairly. A hold
    (Retry-After, a rate-limit header) stops every request of the account until it ends, including callers
    already waiting on a reservation made before the hold arrived: they queue again behind it. A priority
    request (a seller's approved answer) takes the next slot the rate allows, ahead of the slots polls have
    booked; a booked slot that would now come too soon after it is void and queues again.
    """

    def __init__(self, rate_per_s: float, clock: Clock) -> None:
        if rate_per_s <= 0:
            raise ValueError("rate_per_s must be positive")
        self.interval_s = 1.0 / rate_per_s
        self._clock = clock
        self._next_slot = float("-inf")  # where the next ordinary booking goes
        self._hold_until = float("-inf")
        self._last_granted = float("-inf")  # the slot of the last request let through
        self._priority_slot = float("-inf")  # the slot an answer is waiting for, if any

    async def acquire(self, *, priority: bool = False) -> None:
        """Wait until a request slot is ours: spaced from the last one let through, and no hold covers it."""
        while True:
            now = self._clock.monotonic()
            slot = max(now, self._hold_until, self._last_granted + self.interval_s)
            if priority:
                self._priority_slot = slot  # ordinary bookings this close to it give way
            else:
                slot = max(slot, self._next_slot)
                self._next_slot = slot + self.interval_s
            if slot > now:
                await self._clock.sleep(slot - now)
            if self._free(slot, priority=priority):
                self._last_granted = slot
                self._next_slot = max(self._next_slot, slot + self.interval_s)
                if priority:
                    self._priority_slot = float("-inf")
                return
            # A hold arrived, a request went, or an answer claimed this slot meanwhile: queue again behind them.

    def _free(self, slot: float, *, priority: bool) -> bool:
        spaced = self._last_granted + self.interval_s <= slot + _SLOT_EPSILON_S
        claimed = not priority and abs(slot - self._priority_slot) < self.interval_s - _SLOT_EPSILON_S
        return self._hold_until <= slot and spaced and not claimed

    def push_back(self, seconds: float) -> None:
        """Hold every request of the account for `seconds` from now (a Retry-After from the server)."""
        self._hold_until = max(self._hold_until, self._clock.monotonic() + seconds)
        self._next_slot = max(self._next_slot, self._hold_until)


_SLOT_EPSILON_S = 1e-6  # slots are sums of floats: "exactly one interval later" may come out a hair early
# Set while an answer request is made: the edge lets it ahead of the polls' booked slots (answer_exchange).
_ANSWERING: contextvars.ContextVar[bool] = contextvars.ContextVar("inqd_answering", default=False)


# A marketplace's reading of its documented answer replies; None leaves the response to `HttpEdge.answer_status`.
AnswerReader = Callable[[httpx.Response], AnswerResult | None]


class ErrorBody(NamedTuple):
    """What a refusal's body says, as the marketplace words it: its own error code, if it has them, and a message."""

    code: str | None
    message: str


class RequestCount(Protocol):
    """Where the edge counts a request: a poll's tally."""

    requests: int


class HttpEdge:
    """One account's HTTP edge: every request of every stream goes out, and every refusal comes back, through it.

    It spends the account's request budget, counts the request, turns a transport error into Unavailable, maps a
    non-2xx response into the error tree (the marketplace's own `refusal` first, then the shared mapping), logs an
    undecodable page once, and keeps the account's secrets out of every error text and log line it writes.
    A marketplace's edge is a subclass naming its `marketplace` and overriding `read_error` and `refusal`.
    """

    marketplace: ClassVar[Marketplace]

    def __init__(
        self,
        account_id: str,
        *,
        client: httpx.AsyncClient,
        clock: Clock,
        rate_per_s: float,
        auth: httpx.Auth | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.source = self.marketplace.value
        self.account_id = account_id
        self.budget = RequestBudget(rate_per_s, clock)
        self.last_sent_s = float("-inf")  # on the clock's monotonic scale
        self._client = client
        self._clock = clock
        self._auth = auth
        self._secrets = tuple(s for s in secrets if s)
        self._recent: deque[str] = deque(maxlen=RECENT_SECRETS)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account_id={self.account_id!r})"

    def read_error(self, response: httpx.Response) -> ErrorBody:
        """The error code and message of a non-2xx response as the marketplace writes them (scrubbed later)."""
        return ErrorBody(None, response.text)

    def refusal(self, response: httpx.Response, path: str, body: ErrorBody) -> ConnectorError | None:
        """The marketplace's own reading of a non-2xx response, or None to leave it to the shared mapping."""
        return None

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    def hide(self, value: str) -> None:
        """Keep `value` (a token, a signature just issued) out of every error text from now on."""
        if value:
            self._recent.append(value)

    def scrub(self, text: str) -> str:
        """`text` without our secrets, on one line and cut short: error bodies may echo what we sent."""
        for secret in (*self._secrets, *self._recent):
            text = text.replace(secret, "***")
        return " ".join(text.split())[:ERROR_TEXT_LIMIT]

    def retry_after_s(self, response: httpx.Response) -> float | None:
        """The wait the response's Retry-After asks for, if it asks for one."""
        return parse_retry_after(response.headers.get("Retry-After"), now=self._clock.now())

    def error_body(self, response: httpx.Response) -> ErrorBody:
        """The response's error code and message, the message scrubbed."""
        code, message = self.read_error(response)
        return ErrorBody(code, self.scrub(message))

    async def send(
        self,
        method: str,
        path: str,
        *,
        count: RequestCount | None = None,
        params: httpx.QueryParams | None = None,
        content: str | bytes | None = None,
        form: Mapping[str, str] | None = None,
        payload: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One request through the account's budget, counted in `count`; a transport error is Unavailable.

        `payload` goes as a UTF-8 JSON body: line breaks become `\\n` escapes, as Coupang requires of answers.
        """
        if payload is not None:
            content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        await self.budget.acquire(priority=_ANSWERING.get())
        self.last_sent_s = self._clock.monotonic()
        if count is not None:
            count.requests += 1
        try:
            return await self._client.request(
                method,
                path,
                params=params,
                content=content,
                data=None if form is None else dict(form),
                headers=headers,
                auth=self._auth or httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.RequestError as err:
            raise Unavailable(f"{self.source} request failed: {type(err).__name__}") from err

    def json_body(self, response: httpx.Response, path: str) -> object:
        """The decoded JSON body of a 2xx response, or the ConnectorError the response means."""
        self.raise_for_status(response, path)
        try:
            return json.loads(response.content)
        except (ValueError, RecursionError) as err:
            raise self.undecodable(response, path, "JSON") from err

    def raise_for_status(self, response: httpx.Response, path: str) -> None:
        """Translate a non-2xx response into the error tree; the poller owns retries and their logging."""
        status = response.status_code
        if 200 <= status < 300:
            return
        body = self.error_body(response)
        error = self.status_error(response, path, body)
        if error is not None:
            raise error
        # Our request no longer fits the API: a connector bug or an API change, worth an error line.
        log.error(
            f"{self.source}.request_rejected",
            account_id=self.account_id,
            status=status,
            path=path,
            code=body.code,
            message=body.message,
        )
        code = "" if body.code is None else f"{body.code}: "
        raise Unavailable(f"{self.source}: {status} request rejected: {code}{body.message}")

    def status_error(self, response: httpx.Response, path: str, body: ErrorBody) -> ConnectorError | None:
        """The error a non-2xx status means (the marketplace's `refusal` first), or None for a plain rejection."""
        status = response.status_code
        error = self.refusal(response, path, body)
        if error is not None:
            return error
        asked_s = self.retry_after_s(response)
        if status == 429:
            retry_after_s = DEFAULT_RETRY_AFTER_S if asked_s is None else asked_s
            self.budget.push_back(retry_after_s)  # the limit is the account's: every stream waits
            return RateLimited(f"{self.source}: 429 Too Many Requests", retry_after_s=retry_after_s)
        if status in (401, 403):
            return AuthFailed(f"{self.source}: {status} {body.code or 'credentials refused'}: {body.message}")
        if status >= 500:
            return Unavailable(
                f"{self.source}: server error {status} {body.code or ''}".rstrip(), retry_after_s=asked_s
            )
        return None

    async def answer_exchange(
        self, path: str, send: Callable[[], Awaitable[httpx.Response]], read: AnswerReader
    ) -> AnswerResult:
        """Make one answer request with `send` and map what comes back, once: `read` first, then `answer_status`.

        `read` knows the marketplace's documented answer replies (result codes in a 200, "already answered"
        errors) and returns None for anything else. Nothing raises: a transport error or a throttle is RETRY_LATER,
        with `maybe_delivered` False only when the request surely never left.
        """
        token = _ANSWERING.set(True)  # this task only: the account's polls keep their own pace
        try:
            response = await send()
        except ConnectorError as err:
            left = not isinstance(err, RateLimited) and not isinstance(err.__cause__, _NOT_SENT)
            return self.retry_later(err, maybe_delivered=left)
        finally:
            _ANSWERING.reset(token)
        return read(response) or self.answer_status(response, path)

    def retry_later(self, error: ConnectorError, *, maybe_delivered: bool) -> AnswerResult:
        """RETRY_LATER for `error`, with its wait and its message scrubbed."""
        return AnswerResult(
            AnswerOutcome.RETRY_LATER,
            self.scrub(str(error)),
            retry_after_s=error.retry_after_s,
            maybe_delivered=maybe_delivered,
        )

    def answer_status(self, response: httpx.Response, path: str) -> AnswerResult:
        """The shared reading of an answer's HTTP status: 2xx accepted, throttles and outages retried, 4xx refused."""
        status = response.status_code
        if 200 <= status < 300:
            return AnswerResult(AnswerOutcome.ACCEPTED)
        body = self.error_body(response)
        error = self.status_error(response, path, body)
        if error is not None:
            # Credentials refused, a throttle, a block: the marketplace turned the request away before taking it.
            # A server error may come after it took the answer.
            return self.retry_later(error, maybe_delivered=status >= 500)
        log.warning(
            f"{self.source}.answer_refused", account_id=self.account_id, status=status, path=path, code=body.code
        )
        code = "" if body.code is None else f"{body.code}: "
        return AnswerResult(AnswerOutcome.REFUSED, f"{status} {code}{body.message}")

    def undecodable(self, response: httpx.Response, path: str, kind: str) -> Unavailable:
        """Log a page that is not `kind` (JSON, XML) once, and the Unavailable it means."""
        log.warning(
            f"{self.source}.undecodable_page",
            account_id=self.account_id,
            path=path,
            content_type=response.headers.get("Content-Type"),
            length=len(response.content),
        )
        return Unavailable(f"{self.source}: {response.status_code} response is not {kind}")


def json_error_text(response: httpx.Response, message_of: Callable[[Mapping[str, object]], str | None]) -> str:
    """The message `message_of` finds in a JSON error object; otherwise the body as it came."""
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):
        return response.text
    found = message_of(body) if isinstance(body, Mapping) else None
    return found if found is not None else json.dumps(body, ensure_ascii=False)


# A marketplace's refusal wordings that name an outcome other than REFUSED.
AnswerWords = Sequence[tuple[re.Pattern[str], AnswerOutcome]]


def outcome_by_words(message: str, words: AnswerWords) -> AnswerOutcome:
    """The outcome the first pattern of `words` found in a marketplace's refusal names; REFUSED when none does."""
    return next((outcome for pattern, outcome in words if pattern.search(message)), AnswerOutcome.REFUSED)


def answer_by_words(message: str, words: AnswerWords) -> AnswerResult:
    """The refusal `message` as an AnswerResult, its outcome read from its words."""
    return AnswerResult(outcome_by_words(message, words), message)
