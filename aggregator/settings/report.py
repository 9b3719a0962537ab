"""`[report]`: the answer-time report's thresholds and the weekly summary on the phone.

Only Coupang publishes a share to stay above (90 % answered within 24 h over 30 days, dated 2016 news; the "95 %"
sellers quote is a vendor blog's, UNCONFIRMED). Naver's, G마켓's and 11번가's are unknown: the report says so, unless
the seller sets their own target here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.models import Marketplace
from policies.answer_report_figures import Threshold

COUPANG_MINIMUM = Threshold(0.90, "coupang_2016")  # https://m.etnews.com/20160906000151

Share = Annotated[float, Field(gt=0, le=1)]


class ReportConfig(BaseModel):
    """`[report]`: own 24-hour targets (a share, e.g. 0.95) and the weekly message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    coupang_24h_target: Share | None = None  # None: Coupang's own 90 %
    naver_24h_target: Share | None = None  # None: unknown ("기준 미확인")
    esm_24h_target: Share | None = None
    elevenst_24h_target: Share | None = None
    # The weekly summary on the work phone, on the first morning after quiet hours of `weekly_day`.
    weekly: bool = True
    weekly_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"

    def thresholds(self) -> dict[Marketplace, Threshold]:
        """The 30-day 24-hour share each marketplace is measured against, where one is known or set."""
        own = {
            Marketplace.COUPANG: self.coupang_24h_target,
            Marketplace.NAVER: self.naver_24h_target,
            Marketplace.ESM: self.esm_24h_target,
            Marketplace.ELEVENST: self.elevenst_24h_target,
        }
        found = {marketplace: Threshold(value, "seller") for marketplace, value in own.items() if value is not None}
        return {Marketplace.COUPANG: COUPANG_MINIMUM} | found
