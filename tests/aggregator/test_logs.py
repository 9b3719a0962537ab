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
