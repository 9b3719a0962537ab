"""The words of answering: what a seller's reply asks of a marketplace, and the few outcomes every API maps to.

Each marketplace answers in its own way (JSON 200/204, XML result codes, "already answered" errors); a connector
maps its marketplace's answer once, at the edge, into an AnswerResult, so the store and the seller see one small
set of outcomes whatever the marketplace.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from core.models import Inquiry


class AnswerOutcome(StrEnum):
    """What became of one answer request."""

    ACCEPTED = "accepted"  # the marketplace took the answer
    ALREADY_ANSWERED = "already_answered"  # answered before (in the seller centre, or by an earlier request of ours)
    NOT_ANSWERABLE = "not_answerable"  # closed, deleted, transferred or past its window: only the seller centre can act
    REFUSED = "refused"  # the marketplace refused this answer; `message` has its words (too long, bad field, ...)
    RETRY_LATER = "retry_later"  # transient (down, rate-limited, maintenance) or the outcome is unknown


@dataclass(frozen=True, slots=True)
class AnswerRequest:
    """One approved answer to post: the stored inquiry it answers and the text, already checked."""

    inquiry: Inquiry  # carries external_id, stream, site and answer_ref (the per-item key an answer call needs)
    text: str
    final: bool = True  # ESM 게시판: answerStatus 2 (처리완료) when True, 1 (처리중) keeps it open


@dataclass(frozen=True, slots=True)
class AnswerResult:
    """A marketplace's answer to an answer request, mapped once at the connector edge."""

    outcome: AnswerOutcome
    message: str = ""  # the marketplace's own words (scrubbed of secrets), for REFUSED / NOT_ANSWERABLE
    retry_after_s: float | None = None  # RETRY_LATER: the marketplace asked for this wait
    # RETRY_LATER only: the request may have reached the marketplace (a timeout after sending, a 5xx). On a
    # once-only endpoint the next attempt must wait for a poll to tell whether the answer landed.
    maybe_delivered: bool = False


@dataclass(frozen=True, slots=True)
class AnswerLimit:
    """The length a stream's answer may have; `documented` False means a third-party figure (warn, do not block)."""

    max_length: int
    unit: str = "chars"  # "chars", or an encoding name when the limit is in bytes ("euc-kr", "utf-8")
    min_length: int = 1
    documented: bool = True


FindingSeverity = Literal["block", "warn"]


@dataclass(frozen=True, slots=True)
class Finding:
    """What the check before sending found in an answer: "block" stops the send, "warn" needs a second yes."""

    code: str  # stable, for code and tests: "direct_contact", "blame", "too_long", ...
    severity: FindingSeverity
    message: str  # Korean, for the seller, naming the words it found
    words: tuple[str, ...] = ()  # the words as they stand in the answer

    @property
    def blocking(self) -> bool:
        """True when the answer may not be sent with this finding."""
        return self.severity == "block"
