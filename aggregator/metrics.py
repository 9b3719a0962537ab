"""Prometheus metrics of the daemon: counters fed by the loops, gauges set from a store snapshot."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from core.models import Marketplace

# Marketplace polls are HTTP round trips with paging: tens of milliseconds when warm, up to the client timeout
# (and beyond, with several pages) when a marketplace is struggling.
POLL_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)

# Outbox states an alert rule would watch: always exported (0 when empty) so `state="failed" > 0` never goes absent.
_WATCHED_OUTBOX_STATES = ("pending", "held", "failed")


class Metrics:
    """All inqd metric families on a registry of their own, so two daemons (or two tests) never share samples."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        stream_labels = ["account", "marketplace", "stream"]
        self._polls = Counter("inqd_polls_total", "Finished polls.", [*stream_labels, "result"], registry=r)
        self._poll_errors = Counter(
            "inqd_poll_errors_total", "Failed polls by error class.", [*stream_labels, "kind"], registry=r
        )
        self._poll_duration = Histogram(
            "inqd_poll_duration_seconds",
            "Wall time of one poll, paging included.",
            ["marketplace", "stream"],
            buckets=POLL_BUCKETS_S,
            registry=r,
        )
        self._ingested = Counter(
            "inqd_inquiries_ingested_total", "New inquiries stored.", ["marketplace", "stream"], registry=r
        )
        self._skipped = Counter(
            "inqd_items_skipped_total", "Malformed marketplace items skipped.", ["marketplace", "stream"], registry=r
        )
        self._text_changed = Counter(
            "inqd_inquiry_text_changed_total",
            "Known inquiries the marketplace reported with another question's text (the stored text is kept).",
            ["marketplace", "stream"],
            registry=r,
        )
        self._sla_alerts = Counter("inqd_sla_alerts_total", "SLA alerts queued for the phone.", ["kind"], registry=r)
        self._messages = Counter(
            "inqd_messages_total", "Outbox message outcomes.", ["channel", "kind", "outcome"], registry=r
        )
        self._answers = Counter(
            "inqd_answers_total",
            "Answer requests by the marketplace's outcome.",
            ["marketplace", "outcome"],
            registry=r,
        )
        self._open = Gauge("inqd_open_inquiries", "Unanswered inquiries.", ["marketplace"], registry=r)
        self._outbox = Gauge("inqd_outbox_messages", "Outbox rows per state.", ["state"], registry=r)
        self._oldest_open = Gauge(
            "inqd_oldest_open_inquiry_age_seconds", "Age of the oldest unanswered inquiry (0 when none).", registry=r
        )
        self._stream_healthy = Gauge(
            "inqd_stream_healthy",
            "1 when the stream's health verdict is good (a successful poll within its bound, or start-up grace).",
            ["account", "stream"],
            registry=r,
        )
        self._stream_last_poll_ok = Gauge(
            "inqd_stream_last_poll_ok",
            "1 when the stream's latest poll succeeded, 0 when it failed (absent before its first poll).",
            ["account", "stream"],
            registry=r,
        )
        self._stream_last_success = Gauge(
            "inqd_stream_last_success_timestamp_seconds",
            "Unix time of the stream's last successful poll (absent if it never succeeded).",
            ["account", "stream"],
            registry=r,
        )

    def poll_finished(
        self,
        *,
        account: str,
        marketplace: str,
        stream: str,
        ok: bool,
        error_kind: str | None,
        duration_s: float,
        new: int = 0,
        skipped: int = 0,
        text_changed: int = 0,
    ) -> None:
        """Count one finished poll, its duration, and what it stored, skipped or refused to overwrite."""
        self._polls.labels(account, marketplace, stream, "ok" if ok else "error").inc()
        if not ok:
            self._poll_errors.labels(account, marketplace, stream, error_kind or "unknown").inc()
        self._poll_duration.labels(marketplace, stream).observe(duration_s)
        # inc(0) still creates the series, so rate() has a zero baseline before the first inquiry arrives.
        self._ingested.labels(marketplace, stream).inc(new)
        self._skipped.labels(marketplace, stream).inc(skipped)
        self._text_changed.labels(marketplace, stream).inc(text_changed)

    def sla_alert_queued(self, kind: str, count: int = 1) -> None:
        """Count SLA alerts put in the outbox (sla_warning, sla_breach, sla_repeat, evening_warning)."""
        self._sla_alerts.labels(kind).inc(count)

    def message_outcome(self, *, channel: str, kind: str, outcome: str) -> None:
        """Count one outbox message outcome (sent, held, failed, dropped, retried, fell_back)."""
        self._messages.labels(channel, kind, outcome).inc()

    def answer_outcome(self, marketplace: str, outcome: str) -> None:
        """Count one answer request: accepted, already_answered, not_answerable, refused, retry_later or uncertain."""
        self._answers.labels(marketplace, outcome).inc()

    def set_open_inquiries(self, counts: Mapping[str, int]) -> None:
        """Replace the open-inquiry gauge; every marketplace is exported, 0 when nothing is open there.

        A series that vanished at 0 would make `inqd_open_inquiries > 0` alerts resolve by absence and graphs gap.
        """
        self._open.clear()
        for known in Marketplace:
            self._open.labels(known.value).set(0)
        for marketplace, n in counts.items():
            self._open.labels(marketplace).set(n)

    def set_outbox(self, counts: Mapping[str, int]) -> None:
        """Replace the outbox gauge with rows per state."""
        self._outbox.clear()
        for state in _WATCHED_OUTBOX_STATES:
            self._outbox.labels(state).set(0)
        for state, n in counts.items():
            self._outbox.labels(state).set(n)

    def set_oldest_open_age(self, seconds: float | None) -> None:
        """Set the age of the oldest open inquiry; None (nothing open) exports 0 so `> threshold` rules stay quiet."""
        self._oldest_open.set(seconds or 0.0)

    def set_streams(self, rows: Iterable[tuple[str, str, bool, bool | None, float | None]]) -> None:
        """Replace the per-stream gauges from (account, stream, healthy, last poll ok, last success unix time)."""
        self._stream_healthy.clear()
        self._stream_last_poll_ok.clear()
        self._stream_last_success.clear()
        for account, stream, healthy, last_poll_ok, last_success in rows:
            self._stream_healthy.labels(account, stream).set(1 if healthy else 0)
            if last_poll_ok is not None:
                self._stream_last_poll_ok.labels(account, stream).set(1 if last_poll_ok else 0)
            if last_success is not None:
                self._stream_last_success.labels(account, stream).set(last_success)

    def exposition(self) -> tuple[bytes, str]:
        """The registry in the Prometheus text format, with its Content-Type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
