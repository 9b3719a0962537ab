"""The Notifier contract and its one error type."""

from __future__ import annotations

from typing import ClassVar, Protocol

from aggregator.models import Message


class DeliveryError(Exception):
    """A channel did not accept a message.

    `retryable` False means retrying cannot help (bad token, unknown topic): the row is kept as failed and
    surfaced to the operator. `retry_after_s` is the server's requested minimum wait, if it gave one.
    """

    def __init__(self, message: str, *, retryable: bool, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after_s = retry_after_s


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
