"""One inquiry: the question, both deadlines with live countdowns, the timeline `inqd explain` prints, the seller's
controls (handled, snooze, promise), a link into the seller centre, and the answer composer (`composer.py`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from aggregator.cli.reports import explain_lines
from aggregator.cli.words import Words
from aggregator.render import SELLER_CENTER_URLS
from aggregator.store import StoredInquiry
from aggregator.web import composer
from aggregator.web.pages import Page, Routes
from core.models import KST, Inquiry, Marketplace, StreamKind
from core.redact import mask_name, mask_pii
from policies.sla import deadlines

WORDS = Words("ko")

# Where the seller answers each stream in the marketplace's own seller centre. The marketplaces publish no deep
# links to one inquiry; these list pages are the ones sellers' own automation scripts open (public code).
# 11번가 셀러오피스 and ESM+ have no list URL we could confirm: their front page (render.SELLER_CENTER_URLS).
_SELLER_CENTRE_PAGES: dict[tuple[Marketplace, StreamKind], tuple[str, str]] = {
    (Marketplace.COUPANG, StreamKind.PRODUCT_QNA): (
        "https://wing.coupang.com/tenants/cs/product/inquiries",
        "쿠팡 WING 상품문의",
    ),
    (Marketplace.COUPANG, StreamKind.CALL_CENTER): (
        "https://wing.coupang.com/tenants/cs/csinquiry",
        "쿠팡 WING 고객센터문의",
    ),
    (Marketplace.NAVER, StreamKind.PRODUCT_QNA): (
        "https://sell.smartstore.naver.com/#/comment/",
        "스마트스토어센터 문의관리",
    ),
    (Marketplace.NAVER, StreamKind.CUSTOMER_INQUIRY): (
        "https://sell.smartstore.naver.com/#/naverpay/qnas",
        "스마트스토어센터 문의관리 (고객문의)",
    ),
}
_FRONT_PAGE_NAMES = {
    Marketplace.COUPANG: "쿠팡 WING",
    Marketplace.NAVER: "스마트스토어센터",
    Marketplace.ELEVENST: "11번가 셀러오피스 (Q&A·긴급알리미)",
    Marketplace.ESM: "ESM+ (고객문의)",
}


def seller_centre(inquiry: Inquiry) -> tuple[str, str]:
    """The seller-centre page where this inquiry can be answered by hand: (URL, name)."""
    page = _SELLER_CENTRE_PAGES.get((inquiry.marketplace, inquiry.stream))
    if page is not None:
        return page
    return SELLER_CENTER_URLS[inquiry.marketplace], _FRONT_PAGE_NAMES[inquiry.marketplace]


def _clock(deadline: datetime | None, received: datetime, now: datetime) -> dict[str, str] | None:
    if deadline is None:
        return None
    return {
        "iso": deadline.isoformat(),
        "received": received.isoformat(),
        "stamp": WORDS.stamp(deadline),
        "left": WORDS.left(deadline, now),
    }


def question_facts(stored: StoredInquiry, *, masked: bool) -> dict[str, Any]:
    """The question and who asked about what, buyer data masked on a page reached through the network."""
    inq = stored.inquiry
    names = (inq.buyer,) if inq.buyer else ()

    def shown(text: str | None) -> str:
        return mask_pii(text, known_names=names) if masked and text else text or ""

    return {
        "body": shown(inq.body),
        "title": shown(inq.title),
        "buyer": (mask_name(inq.buyer) if masked else inq.buyer) if inq.buyer else "",
        "product": inq.product_name or "",
        "orders": [o.strip() for o in (inq.order_id or "").split(",") if o.strip()],
    }


async def timeline(page: Page, stored: StoredInquiry) -> list[str]:
    """`inqd explain` in words, without its one-line excerpt of the question (the page shows it in full)."""
    lines = await explain_lines(page.ctx.store, page.ctx.policies(), stored.id, now=page.ctx.clock.now(), words=WORDS)
    return [line for line in lines or [] if not line.startswith("“")]


def _snooze_choices(now: datetime) -> list[tuple[str, str]]:
    """(value for `until` in `inqd snooze` syntax, label): an hour, tomorrow 9:00."""
    tomorrow = (now.astimezone(KST) + timedelta(days=1)).date()
    return [("1h", "1시간"), (f"{tomorrow.isoformat()} 09:00", "내일 9시")]


async def inquiry_values(page: Page, stored: StoredInquiry) -> dict[str, Any]:
    """Everything the page shows about the inquiry except the composer."""
    inq = stored.inquiry
    now = page.ctx.clock.now()
    clocks = deadlines(inq, page.ctx.policies().sla, page.ctx.policies().work)
    url, centre = seller_centre(inq)
    controls = stored.controls
    return {
        "stored": stored,
        "inq": inq,
        "question": question_facts(stored, masked=page.masked),
        "shop": WORDS.shop(inq.shop),
        "stream": WORDS.stream(inq.stream),
        "received": WORDS.stamp(inq.received_at),
        "marketplace_clock": None if inq.answered else _clock(clocks.marketplace, inq.received_at, now),
        "own_clock": None if inq.answered else _clock(clocks.own, inq.received_at, now),
        "deadline_stamps": {
            "marketplace": WORDS.stamp(clocks.marketplace),
            "own": clocks.own and WORDS.stamp(clocks.own),
        },
        "handled_at": controls.handled_at and WORDS.stamp(controls.handled_at),
        "snoozed_until": controls.snoozed_until
        and controls.snoozed_until > now
        and WORDS.stamp(controls.snoozed_until),
        "promise_at": controls.promise_at and WORDS.stamp(controls.promise_at),
        "promise_note": mask_pii(controls.promise_note) if page.masked else controls.promise_note,
        "snooze_choices": _snooze_choices(now),
        "seller_centre": {"url": url, "name": centre},
        "timeline": await timeline(page, stored),
        "here": f"/inquiries/{stored.id}",
    }


async def stored_inquiry(page: Page) -> StoredInquiry | None:
    """The inquiry the URL names, if it exists."""
    raw = page.request.match_info["id"]
    if not raw.isdigit() or len(raw) > 18:
        return None
    return await page.ctx.store.get_inquiry(int(raw))


def not_found(page: Page) -> web.Response:
    """The 404 page, in Korean."""
    return page.html("inquiry_missing.html", status=404, title="문의를 찾을 수 없습니다", nav="inbox")


async def full_page(page: Page, stored: StoredInquiry, answer: dict[str, Any], status: int = 200) -> web.Response:
    """The whole page with the answer section's values (a form posted without the script comes back here)."""
    facts = await inquiry_values(page, stored)
    return page.html("inquiry.html", status=status, title=f"문의 #{stored.id}", nav="inbox", **facts, **answer)


def register(routes: Routes) -> None:
    """GET /inquiries/{id}; the answer routes are composer.py's."""

    async def show(page: Page) -> web.StreamResponse:
        stored = await stored_inquiry(page)
        if stored is None:
            return not_found(page)
        template = page.request.query.get("template", "")
        return await full_page(page, stored, await composer.answer_values(page, stored, template_key=template))

    routes.get("/inquiries/{id}", show)
    composer.register(routes, stored_inquiry, full_page)
