"""`inqd explain` names alerts in words, never by their internal keys."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aggregator.cli.reports import alert_words
from aggregator.cli.words import Words

PROMISE = datetime(2026, 12, 2, 0, 0, tzinfo=UTC).isoformat()  # 09:00 KST


@pytest.mark.parametrize(
    ("key", "korean", "english"),
    [
        ("marketplace:warn:50%", "마켓 답변 마감 경고 (50% 지남)", "marketplace deadline warning (50% elapsed)"),
        ("marketplace:warn:2h", "마켓 답변 마감 경고 (2h 남음)", "marketplace deadline warning (2h left)"),
        ("marketplace:breach", "마켓 답변 마감 지남", "marketplace deadline passed"),
        (
            "marketplace:repeat:2",
            "마켓 답변 마감 지난 뒤 다시 알림 (2번째)",
            "marketplace deadline passed, reminder #2",
        ),
        ("own:warn:80%", "내 목표 시간 경고 (80% 지남)", "own target warning (80% elapsed)"),
        ("own:breach", "내 목표 시간 지남", "own target passed"),
        (f"promise:remind:{PROMISE}", "약속(12/02(수) 09:00) 전 알림", "reminder before the promise (Wed 12/02 09:00)"),
        (
            f"promise:missed:{PROMISE}",
            "약속 시각(12/02(수) 09:00) 지남: 아직 미답변",
            "promise time (Wed 12/02 09:00) passed, still open",
        ),
        (
            f"marketplace:evening:{PROMISE}",
            "저녁 알림: 조용한 시간(12/02(수) 09:00) 전에 답하세요",
            "evening warning: answer before quiet hours (Wed 12/02 09:00)",
        ),
    ],
)
def test_alert_keys_read_as_words(key: str, korean: str, english: str) -> None:
    assert (alert_words(key, Words("ko")), alert_words(key, Words("en"))) == (korean, english)


def test_an_unknown_key_is_shown_as_it_is() -> None:
    assert alert_words("someday:thing", Words("ko")) == "someday:thing"
