"""The inbox: every open inquiry, nearest deadline first, filtered and searched with plain GET parameters, one page
of rows at a time; the page's script fetches the rows again every few seconds (`/inbox/rows`, answered 304 while
nothing was written) so new inquiries appear without a reload.

The order is the nearer of the two clocks (the marketplace deadline and the seller's own target). The own target
is counted on work hours, which costs ~16 µs an inquiry: with 10,000 open that is most of the page's budget, so
both deadlines of each inquiry are kept until the policies change (a reload) or its stored times do.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from aiohttp import web

from aggregator.answering.service import STATE_NAMES
from aggregator.cli.words import Words
from aggregator.render import masked_excerpt
from aggregator.store import Store, StoredInquiry
from aggregator.store.answers import AnswerState
from aggregator.store.inbox import QueueKey
from aggregator.web.pages import Page, Routes
from core.models import KST, Inquiry, Marketplace, StreamKind
from core.redact import excerpt
from policies import Policies
from policies.sla import Deadlines, deadlines

PAGE_SIZE = 50
EXCERPT_CHARS = 140
WORDS = Words("ko")
_MARKETPLACES = {m.value: m for m in Marketplace}
_STREAMS = {s.value: s for s in StreamKind}
_URGENT = timedelta(hours=1)  # as app.js colours a countdown: under an hour left
_KEPT_ORDERS = 8  # filter and search combinations whose order is kept between writes
_READ_ALL_EVERY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class InboxQuery:
    """The list the seller asked for: filters, search words and the page number (from the URL's query)."""

    marketplace: Marketplace | None = None
    stream: StreamKind | None = None
    search: str = ""
    page: int = 1

    @classmethod
    def of(cls, query: Mapping[str, str]) -> InboxQuery:
        """Read the query string; an unknown filter value means no filter, a bad page number the first page."""
        page_text = query.get("p", "1")
        return cls(
            marketplace=_MARKETPLACES.get(query.get("marketplace", "")),
            stream=_STREAMS.get(query.get("stream", "")),
            search=query.get("q", "").strip()[:200],
            page=max(1, int(page_text)) if page_text.isdigit() else 1,
        )

    @property
    def filtered(self) -> bool:
        """Whether anything narrows the list."""
        return bool(self.marketplace or self.stream or self.search)

    def params(self, page: int | None = None) -> dict[str, str]:
        """The query string's fields (without empty ones), on `page` if given."""
        values = {
            "marketplace": self.marketplace.value if self.marketplace else "",
            "stream": self.stream.value if self.stream else "",
            "q": self.search,
            "p": str(page or self.page) if (page or self.page) > 1 else "",
        }
        return {key: value for key, value in values.items() if value}

    def url(self, path: str = "/", page: int | None = None) -> str:
        """`path` with this query (on `page`)."""
        params = self.params(page)
        return f"{path}?{urlencode(params)}" if params else path


class DeadlineBook:
    """Both deadlines of each open inquiry, computed once for the policies in force and its stored times; and the
    last orders asked for, kept while nothing is written to the database (paging, reloads, other tabs).

    After a write it reads the open ids and only the rows written since it last looked (and any id it does not
    know); every few minutes it reads them all again, so a change it could not see (a row rewritten in the very
    microsecond of the last one read) cannot leave the order wrong for long.
    """

    def __init__(self) -> None:
        self._policies: Policies | None = None
        self._by_id: dict[int, tuple[QueueKey, float, Deadlines]] = {}
        self._watermark: str | None = None  # the latest `updated_at` read; None: read every row next time
        self._read_all_at: datetime | None = None
        self._orders: OrderedDict[tuple[str, ...], tuple[str, list[int]]] = OrderedDict()

    async def order(
        self, store: Store, query: InboxQuery, written: str, policies: Policies, now: datetime
    ) -> list[int]:
        """The ids `query` selects, by the nearer of their two deadlines (then by id)."""
        if policies is not self._policies:  # a reload: every clock may have moved
            self._policies, self._by_id, self._watermark = policies, {}, None
            self._orders.clear()
        filters = (query.marketplace or "", query.stream or "", query.search)
        known = self._orders.get(filters)
        if known is not None and known[0] == written:
            return known[1]
        await self._catch_up(store, policies, now)
        ids = await store.open_ids(marketplace=query.marketplace, stream=query.stream, search=query.search)
        missing = [inquiry_id for inquiry_id in ids if inquiry_id not in self._by_id]
        if missing:  # new rows written in the same instant as the last one read, or between the two reads
            self._learn(await store.open_queue_keys(ids=missing), policies)
        book = self._by_id
        nearest = [(book[inquiry_id][1], inquiry_id) for inquiry_id in ids if inquiry_id in book]
        nearest.sort()
        ordered = [inquiry_id for _, inquiry_id in nearest]
        self._orders[filters] = (written, ordered)
        self._orders.move_to_end(filters)
        while len(self._orders) > _KEPT_ORDERS:
            self._orders.popitem(last=False)
        return ordered

    async def _catch_up(self, store: Store, policies: Policies, now: datetime) -> None:
        if self._watermark is None or self._read_all_at is None or now - self._read_all_at > _READ_ALL_EVERY:
            rows = await store.open_queue_keys()
            # Answered inquiries leave the book here; the kept orders may name them, so they go too.
            self._by_id = {key[0]: self._by_id[key[0]] for key, _ in rows if key[0] in self._by_id}
            self._orders.clear()
            self._read_all_at = now
        else:
            rows = await store.open_queue_keys(updated_since=self._watermark)
        self._learn(rows, policies)

    def _learn(self, rows: Sequence[tuple[QueueKey, str]], policies: Policies) -> None:
        book = self._by_id
        for key, updated in rows:
            known = book.get(key[0])
            if known is None or known[0] != key:
                clocks = deadlines(_bare_inquiry(key), policies.sla, policies.work)
                nearer = min(clocks.marketplace, clocks.own) if clocks.own else clocks.marketplace
                book[key[0]] = (key, nearer.timestamp(), clocks)
            if self._watermark is None or updated > self._watermark:
                self._watermark = updated

    def clocks(self, inquiry_id: int) -> Deadlines:
        """The deadlines of an inquiry this book has ordered."""
        return self._by_id[inquiry_id][2]


def _bare_inquiry(key: QueueKey) -> Inquiry:
    """Just what the deadlines depend on (marketplace, stream, received, its own deadline)."""
    inquiry_id, marketplace, stream, received_at, deadline_at = key
    return Inquiry(
        account_id="",
        marketplace=_MARKETPLACES[marketplace],
        stream=_STREAMS[stream],
        external_id=str(inquiry_id),
        received_at=datetime.fromisoformat(received_at),
        body="",
        deadline_at=datetime.fromisoformat(deadline_at) if deadline_at else None,
    )


@dataclass(frozen=True, slots=True)
class Clock:
    """One countdown of a row: its label, deadline, the text and colour it starts with."""

    label: str
    deadline: datetime
    received: datetime
    left: str
    tone: str  # "", "urgent" or "late": app.js keeps it up to date (and adds "soon")

    @classmethod
    def of(cls, label: str, deadline: datetime, received: datetime, now: datetime) -> Clock:
        """The countdown to `deadline` as it reads at `now`."""
        tone = "late" if deadline < now else "urgent" if deadline - now < _URGENT else ""
        return cls(label, deadline, received, WORDS.left(deadline, now), tone)


@dataclass(frozen=True, slots=True)
class Badge:
    """A mark on a row: promise, snoozed, handled or pending, with its words and a longer title."""

    kind: str
    text: str
    title: str


@dataclass(frozen=True, slots=True)
class Row:
    """One open inquiry as the list shows it."""

    id: int
    shop: str
    stream: str
    received: datetime
    received_text: str
    question: str
    product: str
    clocks: tuple[Clock, ...]
    badges: tuple[Badge, ...]
    handled: bool


def _badges(stored: StoredInquiry, pending: AnswerState | None, now: datetime) -> tuple[Badge, ...]:
    controls, badges = stored.controls, []
    if controls.promise_at is not None:
        local, today = controls.promise_at.astimezone(KST), now.astimezone(KST).date()
        when = f"{local:%H:%M}" if local.date() == today else f"{local:%m/%d %H:%M}"
        note = f": {controls.promise_note}" if controls.promise_note else ""
        badges.append(Badge("promise", f"약속 {when}", f"{WORDS.stamp(controls.promise_at)} 연락 약속{note}"))
    if controls.snoozed_until is not None and controls.snoozed_until > now:
        badges.append(Badge("snoozed", "미룸", f"{WORDS.stamp(controls.snoozed_until)}까지 알림을 미룸"))
    if controls.handled_at is not None:
        badges.append(Badge("handled", "처리함", f"{WORDS.stamp(controls.handled_at)}에 처리함으로 표시"))
    if pending is not None:
        badges.append(Badge("pending", "답변 대기", f"답변: {STATE_NAMES[pending]}"))
    return tuple(badges)


def _row(stored: StoredInquiry, clocks: Deadlines, pending: AnswerState | None, now: datetime, masked: bool) -> Row:
    inq = stored.inquiry
    text = inq.body or inq.title or ""
    shown = [Clock.of("마켓", clocks.marketplace, inq.received_at, now)]
    if clocks.own is not None:
        shown.append(Clock.of("목표", clocks.own, inq.received_at, now))
    return Row(
        id=stored.id,
        shop=WORDS.shop(inq.shop),
        stream=WORDS.stream(inq.stream),
        received=inq.received_at,
        received_text=WORDS.stamp(inq.received_at),
        question=masked_excerpt(text, EXCERPT_CHARS, inq) if masked else excerpt(text, EXCERPT_CHARS),
        product=excerpt(inq.product_name or "", 60),
        clocks=tuple(shown),
        badges=_badges(stored, pending, now),
        handled=stored.controls.handled_at is not None,
    )


@dataclass(frozen=True, slots=True)
class Listing:
    """One page of the inbox: its rows and where it sits in the whole list."""

    query: InboxQuery
    rows: tuple[Row, ...]
    total: int
    first: int  # 1-based position of the first row shown (0 when none)
    pages: int

    @property
    def last(self) -> int:
        """Position of the last row shown."""
        return self.first + len(self.rows) - 1 if self.rows else 0


async def listing(page: Page, query: InboxQuery, book: DeadlineBook, written: str) -> Listing:
    """The rows of `query`'s page: the filtered queue ordered (again only when something was `written` since),
    then only the shown page read in full."""
    store, now = page.ctx.store, page.ctx.clock.now()
    ordered = await book.order(store, query, written, page.ctx.policies(), now)
    pages = max(1, -(-len(ordered) // PAGE_SIZE))
    number = min(query.page, pages)
    ids = ordered[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    stored = await store.inquiries_by_id(ids)
    pending = await store.pending_answer_states(ids)
    rows = tuple(
        _row(stored[i], book.clocks(i), pending.get(i), now, page.masked)
        for i in ids
        if i in stored and not stored[i].inquiry.answered
    )
    first = (number - 1) * PAGE_SIZE + 1 if rows else 0
    return Listing(InboxQuery(query.marketplace, query.stream, query.search, number), rows, len(ordered), first, pages)


def rows_version(page: Page, query: InboxQuery, written: str) -> str:
    """An ETag for the rows of `query` as this page would show them: the database's write version, the policies,
    the masking, and the minute (a snooze ends, a promise's day turns)."""
    now = page.ctx.clock.now()
    parts = (
        written,
        str(id(page.ctx.policies())),
        str(page.masked),
        query.url(),
        now.strftime("%Y%m%d%H%M"),
    )
    return '"' + hashlib.sha256("|".join(parts).encode()).hexdigest()[:20] + '"'


MARKETPLACE_CHOICES = tuple((m.value, m.label) for m in Marketplace)
STREAM_CHOICES = tuple((s.value, WORDS.stream(s)) for s in StreamKind)


def register(routes: Routes) -> None:
    """GET / (the inbox) and GET /inbox/rows (its list, for the script's refresh)."""
    book = DeadlineBook()

    async def show(page: Page) -> web.StreamResponse:
        query = InboxQuery.of(page.request.query)
        written = await page.ctx.store.write_version()
        found = await listing(page, query, book, written)
        return page.html(
            "inbox.html",
            title="문의함",
            nav="inbox",
            listing=found,
            version=rows_version(page, query, written),
            here=page.request.path_qs,
            marketplaces=MARKETPLACE_CHOICES,
            streams=STREAM_CHOICES,
        )

    async def rows(page: Page) -> web.StreamResponse:
        query = InboxQuery.of(page.request.query)
        written = await page.ctx.store.write_version()
        version = rows_version(page, query, written)
        if page.request.headers.get("If-None-Match") == version:
            return web.Response(status=304, headers={"ETag": version})
        found = await listing(page, query, book, written)
        response = page.fragment("inbox_rows.html", listing=found, version=version)
        response.headers["ETag"] = version
        return response

    routes.get("/", show)
    routes.get("/inbox/rows", rows)
