"""The Notifier contract and its one error type."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Protocol, runtime_checkable

import httpx

from core.http import parse_retry_after
from core.models import Message


class DeliveryError(Exception):
    """A channel did not accept a message.

    `retryable` False means retrying cannot help (bad token, unknown topic): the row is kept as failed and
    surfaced to the operator. `retry_after_s` is the server's requested minimum wait, if it gave one.
    `status` is the channel's HTTP status when it answered; `network` says why it could not be reached
    ("timeout", "unreachable" or "other"): what `inqd test-notify` tells the seller to check.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after_s: float | None = None,
        status: int | None = None,
        network: str | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s
        self.status = status
        self.network = network


class Notifier(Protocol):
    """One configured channel to the work phone."""

    kind: ClassVar[str]
    name: str

    async def send(self, message: Message) -> None:
        """Deliver `message`, or raise DeliveryError."""
        ...

    async def aclose(self) -> None:
        """Release resources."""
        ...


@runtime_checkable
class ClearingNotifier(Protocol):
    """A channel that can take back what it showed about one group (an inquiry) once it is answered."""

    async def clear(self, group_key: str) -> bool:
        """Clear the group's notification; False when the server cannot (too old), DeliveryError on failure."""
        ...


@runtime_checkable
class PictureNotifier(Protocol):
    """A channel that shows `Message.image` with the text (Telegram sendPhoto, an ntfy attachment); the others send
    the text alone, so nothing is drawn for them."""

    shows_images: ClassVar[bool]


def raise_for_delivery(response: httpx.Response, *, channel: str, now: datetime, detail: str = "") -> None:
    """Classify a channel's HTTP answer once, Alertmanager-style: 2xx ok; 5xx and 429 retry (429 honours
    Retry-After); every other status is permanent. The message never contains the URL (tokens live in URLs).
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    text = f"{channel}: HTTP {status}" + (f" ({detail})" if detail else "")
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=now)
        raise DeliveryError(text, retryable=True, retry_after_s=retry_after, status=status)
    if status >= 500 or status == 408:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=now)
        raise DeliveryError(text, retryable=True, retry_after_s=retry_after, status=status)
    raise DeliveryError(text, retryable=False, status=status)


def transport_failure(err: httpx.HTTPError, *, channel: str) -> DeliveryError:
    """A timeout or network error: retryable; named by type only, never with the request URL."""
    network = (
        "timeout"
        if isinstance(err, httpx.TimeoutException)
        else "unreachable"
        if isinstance(err, httpx.ConnectError)
        else "other"
    )
    return DeliveryError(f"{channel}: {type(err).__name__}", retryable=True, network=network)
