"""Metrics: sample values read back through the Prometheus text parser, one registry per instance."""

from __future__ import annotations

import functools

from prometheus_client.parser import text_string_to_metric_families

from aggregator.metrics import Metrics

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _samples(metrics: Metrics) -> Samples:
    body, _ = metrics.exposition()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(body.decode("utf-8"))
        for s in family.samples
    }


def _labels(**labels: str) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


def _polls(metrics: Metrics) -> None:
    stream = functools.partial(metrics.poll_finished, account="shop", marketplace="coupang", stream="product_qna")
    stream(ok=True, error_kind=None, duration_s=0.2, new=3, skipped=1)
    stream(ok=True, error_kind=None, duration_s=0.3)
    stream(ok=False, error_kind="RateLimited", duration_s=45.0)


def test_poll_counters_and_histogram() -> None:
    metrics = Metrics()
    _polls(metrics)
    samples = _samples(metrics)
    stream = {"account": "shop", "marketplace": "coupang", "stream": "product_qna"}
    assert samples["inqd_polls_total", _labels(**stream, result="ok")] == 2
    assert samples["inqd_polls_total", _labels(**stream, result="error")] == 1
    assert samples["inqd_poll_errors_total", _labels(**stream, kind="RateLimited")] == 1
    per_stream = _labels(marketplace="coupang", stream="product_qna")
    assert samples["inqd_poll_duration_seconds_count", per_stream] == 3
    assert samples["inqd_poll_duration_seconds_sum", per_stream] == 45.5
    assert samples["inqd_poll_duration_seconds_bucket", per_stream | _labels(le="0.25")] == 1
    assert samples["inqd_poll_duration_seconds_bucket", per_stream | _labels(le="60.0")] == 3
    assert samples["inqd_inquiries_ingested_total", per_stream] == 3
    assert samples["inqd_items_skipped_total", per_stream] == 1


def test_a_failed_poll_without_a_kind_counts_as_unknown() -> None:
    metrics = Metrics()
    metrics.poll_finished(
        account="shop", marketplace="naver", stream="customer_inquiry", ok=False, error_kind=None, duration_s=1
    )
    labels = _labels(account="shop", marketplace="naver", stream="customer_inquiry", kind="unknown")
    assert _samples(metrics)["inqd_poll_errors_total", labels] == 1


def test_alert_and_message_counters() -> None:
    metrics = Metrics()
    metrics.sla_alert_queued("sla_warning")
    metrics.sla_alert_queued("sla_warning", count=2)
    metrics.sla_alert_queued("sla_breach")
    metrics.message_outcome(channel="ntfy", kind="new_inquiry", outcome="sent")
    metrics.message_outcome(channel="ntfy", kind="new_inquiry", outcome="sent")
    metrics.message_outcome(channel="sms", kind="sla_breach", outcome="fell_back")
    samples = _samples(metrics)
    assert samples["inqd_sla_alerts_total", _labels(kind="sla_warning")] == 3
    assert samples["inqd_sla_alerts_total", _labels(kind="sla_breach")] == 1
    assert samples["inqd_messages_total", _labels(channel="ntfy", kind="new_inquiry", outcome="sent")] == 2
    assert samples["inqd_messages_total", _labels(channel="sms", kind="sla_breach", outcome="fell_back")] == 1


def test_open_inquiries_are_replaced_not_merged() -> None:
    metrics = Metrics()
    metrics.set_open_inquiries({"coupang": 3, "naver": 0})
    samples = _samples(metrics)
    assert samples["inqd_open_inquiries", _labels(marketplace="coupang")] == 3
    assert samples["inqd_open_inquiries", _labels(marketplace="naver")] == 0

    metrics.set_open_inquiries({"naver": 2})
    samples = _samples(metrics)
    assert samples["inqd_open_inquiries", _labels(marketplace="coupang")] == 0  # exported at 0, never absent
    assert samples["inqd_open_inquiries", _labels(marketplace="naver")] == 2


def test_open_inquiries_export_every_marketplace_at_zero() -> None:
    metrics = Metrics()
    metrics.set_open_inquiries({})
    opened = {dict(k[1])["marketplace"]: v for k, v in _samples(metrics).items() if k[0] == "inqd_open_inquiries"}
    assert opened == {"coupang": 0, "naver": 0, "elevenst": 0, "esm": 0}


def test_outbox_keeps_watched_states_at_zero() -> None:
    metrics = Metrics()
    metrics.set_outbox({"pending": 4, "sent": 10})
    metrics.set_outbox({"held": 1})
    outbox = {dict(k[1])["state"]: v for k, v in _samples(metrics).items() if k[0] == "inqd_outbox_messages"}
    assert outbox == {"pending": 0, "held": 1, "failed": 0}


def test_oldest_open_age() -> None:
    metrics = Metrics()
    metrics.set_oldest_open_age(5400.5)
    assert _samples(metrics)["inqd_oldest_open_inquiry_age_seconds", frozenset()] == 5400.5
    metrics.set_oldest_open_age(None)
    assert _samples(metrics)["inqd_oldest_open_inquiry_age_seconds", frozenset()] == 0


def test_streams_replace_and_never_succeeded_has_no_timestamp() -> None:
    metrics = Metrics()
    metrics.set_streams([("shop", "product_qna", True, True, 1_790_000_000.0), ("old", "urgent", False, False, None)])
    metrics.set_streams(
        [("shop", "product_qna", True, False, 1_790_000_000.0), ("shop", "call_center", True, None, None)]
    )
    samples = _samples(metrics)
    healthy = {dict(k[1])["stream"]: v for k, v in samples.items() if k[0] == "inqd_stream_healthy"}
    assert healthy == {"product_qna": 1, "call_center": 1}
    # The health verdict forgives a short failure; the last poll's own result does not, and is absent before one.
    last_ok = {dict(k[1])["stream"]: v for k, v in samples.items() if k[0] == "inqd_stream_last_poll_ok"}
    assert last_ok == {"product_qna": 0}
    last = {dict(k[1])["stream"]: v for k, v in samples.items() if k[0] == "inqd_stream_last_success_timestamp_seconds"}
    assert last == {"product_qna": 1_790_000_000.0}


def test_instances_do_not_share_samples() -> None:
    first, second = Metrics(), Metrics()
    _polls(first)
    first.set_open_inquiries({"coupang": 3})
    samples = _samples(second)
    assert not any(name == "inqd_polls_total" for name, _ in samples)
    assert not any(name == "inqd_open_inquiries" for name, _ in samples)


def test_exposition_content_type() -> None:
    body, content_type = Metrics().exposition()
    assert content_type.startswith("text/plain")
    assert b"# TYPE inqd_polls_total counter" in body


def test_text_changes_are_counted_per_stream_from_zero() -> None:
    metrics = Metrics()
    stream = functools.partial(metrics.poll_finished, account="shop", marketplace="naver", ok=True, error_kind=None)
    stream(stream="product_qna", duration_s=0.1, text_changed=2)
    stream(stream="customer_inquiry", duration_s=0.1)
    samples = _samples(metrics)
    assert samples["inqd_inquiry_text_changed_total", _labels(marketplace="naver", stream="product_qna")] == 2
    assert samples["inqd_inquiry_text_changed_total", _labels(marketplace="naver", stream="customer_inquiry")] == 0
