"""The words of one `inqd` run in its language: the texts of aggregator.cli.texts, times, durations and names.

Korean times and durations are the ones the phone shows (aggregator.render); English ones are written here.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from aggregator.cli.texts import TEXTS
from aggregator.language import Lang
from aggregator.render import age_text, duration_text, kst_stamp, left_text
from core.models import KST, StreamKind

_SHOPS_EN = {
    "쿠팡": "Coupang",
    "스마트스토어": "Smart Store",
    "11번가": "11st",
    "G마켓": "Gmarket",
    "옥션": "Auction",
    "G마켓/옥션": "Gmarket/Auction",  # the ESM account's label (one login for both)
}
_STREAMS_EN = {
    StreamKind.PRODUCT_QNA: "product Q&A",
    StreamKind.CALL_CENTER: "call center",
    StreamKind.CUSTOMER_INQUIRY: "customer inquiry",
    StreamKind.URGENT: "urgent",
}
_WEEKDAYS = {"ko": "월화수목금토일", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def _parts_en(minutes: int, *, days_from_h: int) -> str:
    hours, mins = divmod(minutes, 60)
    if hours >= days_from_h:
        days, hours = divmod(hours, 24)
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


class Words:
    """Everything one run says, in its language: `words(key, **values)` and the formats below."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang

    def __contains__(self, key: object) -> bool:
        return key in TEXTS

    def __call__(self, key: str, /, **values: object) -> str:
        """The text `key` of aggregator.cli.texts, with `values` filled in."""
        return TEXTS(self.lang, key, **values)

    def name(self, kind: str, value: str) -> str:
        """The word for `value` among the names of `kind` ("message", "reason", "actor"); `value` if none."""
        key = f"{kind}_{value}"
        return TEXTS(self.lang, key) if key in TEXTS else value

    def stamp(self, at: datetime) -> str:
        """`11/24(화) 14:03` / `Tue 11/24 14:03`, in KST."""
        if self.lang == "ko":
            return kst_stamp(at)
        local = at.astimezone(KST)
        return f"{_WEEKDAYS['en'][local.weekday()]} {local:%m/%d %H:%M}"

    def weekday(self, at: datetime) -> str:
        """`월` / `Mon`."""
        return _WEEKDAYS[self.lang][at.weekday()]

    def age(self, delta: timedelta) -> str:
        """`3시간 5분` / `3 h 5 min`; `방금` / `just now` under a minute."""
        if self.lang == "ko":
            return age_text(delta)
        minutes = int(delta.total_seconds() // 60)
        return "just now" if minutes < 1 else _parts_en(minutes, days_from_h=24)

    def duration(self, delta: timedelta) -> str:
        """`24시간` / `24 h` (whole days from 72 h on: `3일` / `3 d`)."""
        if self.lang == "ko":
            return duration_text(delta)
        minutes = int(delta.total_seconds() // 60)
        whole_days = minutes >= 72 * 60 and minutes % (24 * 60) == 0
        return f"{minutes // (24 * 60)} d" if whole_days else _parts_en(minutes, days_from_h=10**9)

    def left(self, deadline: datetime, now: datetime) -> str:
        """`2시간 남음` / `2 h left`, `30분 지남` / `30 min overdue`, `지금` / `now`."""
        if self.lang == "ko":
            return left_text(deadline, now)
        delta = timedelta(minutes=round((deadline - now).total_seconds() / 60))
        if delta > timedelta(0):
            return f"{self.age(delta)} left"
        return f"{self.age(-delta)} overdue" if delta < timedelta(0) else "now"

    def shop(self, shop: str) -> str:
        """What the seller calls a shop (쿠팡, G마켓, ...)."""
        return shop if self.lang == "ko" else _SHOPS_EN.get(shop, shop)

    def stream(self, stream: StreamKind) -> str:
        """A stream's name: `상품문의` / `product Q&A`."""
        return stream.label if self.lang == "ko" else _STREAMS_EN[stream]
