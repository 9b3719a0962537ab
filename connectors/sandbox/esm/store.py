"""The ESM sandbox's state: seeded 게시판 문의 and 긴급알리미 of one G마켓/옥션 seller, and the rows they are listed as.

Rows (marketplaces.md §4): 게시판 rows use the official partial list's exact spellings (MessageNo, QnaType, SellerId,
InformStatus, ReAsking, but token and contractType) and PascalCase for the rest with `EsmCasing.OFFICIAL`, or the
third-party all-camelCase list with `EsmCasing.CAMEL`. 긴급알리미 rows (field names UNCONFIRMED upstream, assumed):
EmerMessageNo, SellerId, SiteType "A"/"G", Title, Contents, RegDate, Status, OrderNo, token (G마켓 only).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any

from connectors.sandbox.stores import EVERY_ROW, SandboxStore, newest_first
from core.models import KST

GMARKET, AUCTION = "G마켓", "옥션"


class EsmCasing(StrEnum):
    """How bulletin-board row keys are spelled."""

    OFFICIAL = "official"  # the official partial list's spellings (mostly PascalCase)
    CAMEL = "camel"  # the third-party list: all camelCase


@dataclass(slots=True)
class EsmItem:
    """One seeded 게시판 문의 (urgent=False) or 긴급알리미 (urgent=True)."""

    key: int
    site: str
    urgent: bool
    message_no: int
    qna_type: int
    title: str
    details: str
    received_at: datetime
    token: str | None
    contract_type: str
    order_no: str | None
    answer: str | None = None
    answered_at: datetime | None = None

    @property
    def answered(self) -> bool:
        """Whether the seller has answered."""
        return self.answered_at is not None

    def board_row(self, seller_id: str, casing: EsmCasing) -> dict[str, Any]:
        """The row of the bulletin-board list."""
        row = {
            "MessageNo": str(self.message_no),
            "QnaType": self.qna_type,
            "SellerId": seller_id,
            "GoodsNo": str(1_000_000 + self.key),
            "SiteGoodsNo": str(2_000_000 + self.key),
            "OrderNo": self.order_no,
            "PayNo": None,
            "InformStatus": "처리완료" if self.answered else "미처리",
            "ReceiveDate": _wall_time(self.received_at),
            "AnswerDate": None if self.answered_at is None else _wall_time(self.answered_at),
            "contractType": self.contract_type,
            "Title": self.title,
            "Details": self.details,
            "token": self.token,
            "ReAsking": False,
        }
        if casing is EsmCasing.CAMEL:
            return {k[0].lower() + k[1:]: v for k, v in row.items()}
        return row

    def urgent_row(self, seller_id: str) -> dict[str, Any]:
        """The row of the 긴급알리미 list."""
        row: dict[str, Any] = {
            "EmerMessageNo": str(self.message_no),
            "SellerId": seller_id,
            "SiteType": "G" if self.site == GMARKET else "A",
            "Title": self.title,
            "Contents": self.details,
            "RegDate": _wall_time(self.received_at),
            "Status": "처리완료" if self.answered else "미처리",
            "OrderNo": self.order_no,
        }
        if self.token is not None:
            row["token"] = self.token
        return row


def _wall_time(at: datetime) -> str:
    return at.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")


class EsmStore(SandboxStore):
    """The questions and 긴급알리미 of one master ID's G마켓 and/or 옥션 seller. Thread-safe."""

    def __init__(self, *, gmarket_seller_id: str | None, auction_seller_id: str | None) -> None:
        super().__init__()
        self.sellers = {site: sid for site, sid in ((GMARKET, gmarket_seller_id), (AUCTION, auction_seller_id)) if sid}
        self._items: dict[int, EsmItem] = {}
        self._keys = itertools.count(1)
        self._numbers = itertools.count(3_578_000)

    def add_question(
        self,
        *,
        site: str,
        title: str,
        details: str,
        received_at: datetime,
        qna_type: int | None = None,
        contract_type: str = "상품",
        order_no: str | None = None,
        message_no: int | None = None,
    ) -> int:
        """Seed a 게시판 문의 on `site` (G마켓 or 옥션); returns its sandbox key."""
        return self._add(site, False, title, details, received_at, qna_type, contract_type, order_no, message_no)

    def add_urgent(
        self, *, site: str, title: str, contents: str, received_at: datetime, order_no: str | None = None
    ) -> int:
        """Seed a 긴급알리미 from ESM's CS about `site`; returns its sandbox key."""
        return self._add(site, True, title, contents, received_at, None, "기타", order_no, None)

    def _add(
        self,
        site: str,
        urgent: bool,
        title: str,
        details: str,
        received_at: datetime,
        qna_type: int | None,
        contract_type: str,
        order_no: str | None,
        message_no: int | None,
    ) -> int:
        if site not in (GMARKET, AUCTION):
            raise ValueError("site must be G마켓 or 옥션")
        if received_at.tzinfo is None:
            raise ValueError("received_at must be aware")
        with self._lock:
            key = next(self._keys)
            number = next(self._numbers) if message_no is None else message_no
            kind = qna_type if qna_type is not None else (3 if site == GMARKET else 1)
            token = None if urgent and site == AUCTION else f"tok-{key:04d}-{number}"
            self._items[key] = EsmItem(
                key, site, urgent, number, kind, title, details, received_at, token, contract_type, order_no
            )
            return key

    def item(self, key: int) -> EsmItem:
        """The seeded item `key`."""
        with self._lock:
            return self._items[key]

    def is_answered(self, key: int) -> bool:
        """Whether item `key` has a seller answer."""
        with self._lock:
            return self._items[key].answered

    def answer(self, key: int, text: str, at: datetime, *, completed: bool = True) -> None:
        """Answer as the seller would in ESM+; `completed` False (처리중) keeps the text but leaves the item open."""
        with self._lock:
            item = self._items[key]
            item.answer = text
            if completed:
                item.answered_at = at

    def rows(
        self,
        *,
        urgent: bool,
        start: datetime,
        end: datetime,
        now: datetime,
        wanted: Callable[[EsmItem], bool],
        casing: EsmCasing,
    ) -> list[dict[str, Any]]:
        """List rows of the `wanted` items of one kind received in [start, end) and by `now`, newest first."""

        def row(item: EsmItem) -> dict[str, Any]:
            seller_id = self.sellers[item.site]
            return item.urgent_row(seller_id) if urgent else item.board_row(seller_id, casing)

        with self._lock:
            found = (
                i
                for i in self._items.values()
                if i.urgent == urgent and wanted(i) and start <= i.received_at < end and i.received_at <= now
            )
            return newest_first(found, key=attrgetter("received_at"), page=EVERY_ROW, row=row)[0]

    def find(self, number: object, sites: set[str], *, urgent: bool) -> EsmItem | None:
        """The item of one kind whose message number is `number` (as the request sent it) on one of `sites`."""
        if not isinstance(number, (str, int)) or not str(number).isdigit():
            return None
        with self._lock:
            return next(
                (
                    i
                    for i in self._items.values()
                    if i.urgent == urgent and i.site in sites and i.message_no == int(number)
                ),
                None,
            )
