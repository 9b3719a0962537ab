"""What every connector shares around its polls: the options it takes beside its credentials and their defaults."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, TypedDict

from connectors.base import HttpEdge
from connectors.polling import Lookback, enabled_streams
from core.models import StreamKind


class PollOptions(TypedDict, total=False):
    """What every connector takes beside its credentials: the streams to poll, the pace, how far back to read."""

    streams: Sequence[StreamKind]
    max_requests_per_s: float
    backfill_days: int
    overlap_days: int
    recheck_days: int
    sweep_minutes: float


@dataclass(frozen=True, slots=True)
class PollDefaults:
    """A marketplace's defaults for PollOptions; `streams` is also every stream its connector knows."""

    streams: tuple[StreamKind, ...]
    max_requests_per_s: float
    recheck_days: int
    backfill_days: int = 3
    overlap_days: int = 1
    sweep_minutes: float = 60.0  # the full sweep between quick polls (connectors/polling.py)


class PollingConnector:
    """The part every connector shares: its streams, lookback and pace from PollOptions, and its edge's closing."""

    DEFAULTS: ClassVar[PollDefaults]
    account_id: str
    streams: tuple[StreamKind, ...]
    _edge: HttpEdge

    def _configure(self, account_id: str, options: PollOptions) -> float:
        """Take the account id, the streams and the lookback; return the request rate for the edge."""
        defaults = self.DEFAULTS
        self.account_id = account_id
        self.streams = enabled_streams(options.get("streams", defaults.streams), defaults.streams)
        self._lookback = Lookback.of_days(
            options.get("backfill_days", defaults.backfill_days),
            options.get("overlap_days", defaults.overlap_days),
            options.get("recheck_days", defaults.recheck_days),
            options.get("sweep_minutes", defaults.sweep_minutes),
        )
        return options.get("max_requests_per_s", defaults.max_requests_per_s)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._edge.aclose()
