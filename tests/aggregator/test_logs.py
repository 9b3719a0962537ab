"""Log lines carry their time as ISO-8601 with the offset, in the seller's zone."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import structlog

from aggregator.logs import configure_logging
from core.models import KST


def test_log_timestamp_has_the_offset_of_the_sellers_zone() -> None:
    stream = io.StringIO()
    configure_logging(fmt="json", stream=stream)
    structlog.get_logger().info("tick")
    stamp = datetime.fromisoformat(json.loads(stream.getvalue())["timestamp"])
    assert stamp.utcoffset() == timedelta(hours=9)
    assert abs(stamp - datetime.now(KST)) < timedelta(minutes=1)


def _logged(**values: object) -> dict[str, object]:
    stream = io.StringIO()
    configure_logging(fmt="json", stream=stream).add(["canary-secret-0042"])
    structlog.get_logger().info("stream_unavailable", **values)
    line: dict[str, object] = json.loads(stream.getvalue())
    return line


def test_buyer_data_in_any_string_value_is_masked() -> None:
    line = _logged(
        error="400 rejected: 주문자 윤성민 010-4444-5555 yuki.tanaka@naver.com P123456789012",
        message="국민 123456-01-234567 환불 요청",
        account="shop",
        stream="call_center",
        count=3,
    )
    assert line["error"] == "400 rejected: 주문자 윤*민 010-****-5555 yu***@naver.com P********9012"
    assert line["message"] == "국민 ******-**-**4567 환불 요청"
    assert (line["event"], line["account"], line["stream"], line["count"]) == (
        "stream_unavailable",
        "shop",
        "call_center",
        3,
    )


def test_secrets_are_still_scrubbed_before_the_masker_runs() -> None:
    line = _logged(error="token canary-secret-0042 refused", authorization="Bearer abc")
    assert (line["error"], line["authorization"]) == ("token ********** refused", "**********")


def test_a_traceback_quoting_buyer_data_is_masked() -> None:
    stream = io.StringIO()
    configure_logging(fmt="json", stream=stream)
    try:
        raise ValueError("row of yuki.tanaka@naver.com")
    except ValueError:
        structlog.get_logger().exception("poll_crashed")
    line = json.loads(stream.getvalue())
    assert "yuki.tanaka" not in line["exception"] and "yu***@naver.com" in line["exception"]
