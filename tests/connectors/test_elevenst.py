"""11st connector: EUC-KR decoding, window walking, normalization, deadlines, result codes, maintenance, leaks.

HTTP is faked at the outermost edge with `httpx.MockTransport` (fixture files or the strict ElevenstSandbox);
time with FakeClock. No network, no sleeping.
"""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from connectors.base import AuthFailed, ConnectorError, MalformedItem, RateLimited, Unavailable
from connectors.elevenst.connector import MAINTENANCE_RETRY_AFTER_S, ElevenstConnector
from connectors.elevenst.rows import alimi_to_inquiry, date_time, deadline_at, decode, qna_to_inquiry
from connectors.sandbox import ElevenstSandbox, ElevenstWire, Fault
from core.models import KST, Category, Marketplace, StreamKind
from tests.fakes import FakeClock

FIXTURES = Path(__file__).parent.parent / "fixtures" / "elevenst"
API_KEY = "k-11st-test-secret-0123456789"
BASE_URL = "https://api.11st.co.kr"
NOW = datetime(2025, 1, 15, 12, 0, tzinfo=KST)
TODAY = NOW.date()
ROUND_TRIP = "똠방각하 햏 세트, 배송 언제 되나요? ♥ 🍎"  # 똠/햏 are outside KS X 1001; 🍎 is outside cp949 too

Responder = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def xml(status: int, body: bytes) -> Responder:
    return lambda request: httpx.Response(status, content=body, headers={"Content-Type": "text/xml;charset=EUC-KR"})


def result(code: str, text: str) -> bytes:
    doc = '<?xml version="1.0" encoding="EUC-KR"?><ns2:result xmlns:ns2="urn:x">'
    doc += f"<ns2:result_code>{code}</ns2:result_code><ns2:result_text>{text}</ns2:result_text></ns2:result>"
    return doc.encode("euc_kr")


def connector(clock: FakeClock, handler: Responder, **kwargs: object) -> ElevenstConnector:
    client = httpx.AsyncClient(base_url=BASE_URL, transport=httpx.MockTransport(handler))
    return ElevenstConnector(account_id="shop", api_key=SecretStr(API_KEY), client=client, clock=clock, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def sandbox(clock: FakeClock) -> AsyncIterator[ElevenstSandbox]:
    yield ElevenstSandbox(api_key=API_KEY, now=clock.now)


# --- EUC-KR ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("한글 문의".encode("euc_kr"), "한글 문의"),
        ("똠방각하 햏".encode("cp949"), "똠방각하 햏"),  # cp949 extension bytes
        ("똠방각하".encode("euc_kr"), "똠방각하"),  # KS X 1001 8-byte make-up sequences
        ('<?xml version="1.0" encoding="UTF-8"?><a>똠</a>'.encode(), '<?xml version="1.0" encoding="UTF-8"?><a>똠</a>'),
        ('<?xml version="1.0" encoding="ks_c_5601-1987"?><a>햏</a>'.encode("cp949"), None),
        (b"<a>\xff\xfe\x80 ok</a>", None),  # undecodable: replacement characters, no exception
    ],
)
def test_decode_accepts_every_korean_form_and_never_raises(body: bytes, expected: str | None) -> None:
    text = decode(body)
    assert text == (expected if expected is not None else text)
    assert isinstance(text, str)


@pytest.mark.parametrize("wire", list(ElevenstWire))
async def test_korean_text_round_trips_through_euc_kr(clock: FakeClock, wire: ElevenstWire) -> None:
    sandbox = ElevenstSandbox(api_key=API_KEY, now=clock.now, wire=wire)
    qna = sandbox.add_product_qna(content=ROUND_TRIP, subject="햏 문의", created_at=NOW - timedelta(hours=1))
    seq = sandbox.add_alimi(content=ROUND_TRIP, created_at=NOW - timedelta(hours=1), reply_deadline=NOW)
    conn = connector(clock, sandbox.handler)
    got = [
        *(await conn.poll(StreamKind.PRODUCT_QNA, None, now=NOW)).inquiries,
        *(await conn.poll(StreamKind.URGENT, None, now=NOW)).inquiries,
    ]
    assert [(i.external_id, i.body) for i in got] == [(str(qna), ROUND_TRIP), (str(seq), ROUND_TRIP)]
    assert got[0].title == "햏 문의"
    assert all(r.status == 200 for r in sandbox.requests)


async def test_fixture_rows_normalize_with_ns2_prefixes_cp949_bytes_and_references(clock: FakeClock) -> None:
    routes = {"00": xml(200, fixture("prodqnalist.xml")), "02": xml(200, b"<ns2:productQnas xmlns:ns2='urn:x'/>")}
    conn = connector(clock, lambda request: routes[request.url.path.rsplit("/", 1)[1]](request))
    polled = await conn.poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    first, second = polled.inquiries
    assert first.body == "똠방각하 세트 언제 와요? 햏"
    assert (first.marketplace, first.external_id, first.answer_ref) == (Marketplace.ELEVENST, "71001", "1234567890")
    assert (first.buyer, first.order_id, first.category, first.answered) == (
        "김민수",
        "202501140000123",
        Category.DELIVERY,
        False,
    )
    assert first.received_at == datetime(2025, 1, 15, 9, 30, tzinfo=KST)
    assert (second.answered, second.answered_at, second.order_id) == (
        True,
        datetime(2025, 1, 15, tzinfo=KST),
        None,
    )
    assert "minsu0312" not in repr(polled)  # memID is not stored
    assert polled.open_snapshot is not None
    assert polled.open_snapshot.open_external_ids == frozenset()


async def test_alimi_fixture_keeps_deadline_status_and_notice(clock: FakeClock) -> None:
    conn = connector(clock, xml(200, fixture("alimilist.xml")))
    polled = await conn.poll(StreamKind.URGENT, None, now=NOW)
    urgent, notice = polled.inquiries
    assert urgent.deadline_at == datetime(2025, 1, 16, 10, 15, tzinfo=KST)
    assert (urgent.received_at, urgent.answered, urgent.answer_ref) == (
        datetime(2025, 1, 15, 10, 15, tzinfo=KST),
        False,
        "5590777",
    )
    assert (notice.title, notice.answered, notice.deadline_at) == ("[공지] 정책 변경 안내", True, None)
    assert polled.open_snapshot is not None
    assert polled.open_snapshot.open_external_ids == frozenset({"5590777"})


# --- deadlines ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("20250116101500", datetime(2025, 1, 16, 10, 15, tzinfo=KST)),
        ("202501161015", datetime(2025, 1, 16, 10, 15, tzinfo=KST)),
        ("20250116", datetime(2025, 1, 16, 23, 59, 59, tzinfo=KST)),
        ("2025-01-16 10:15:00", datetime(2025, 1, 16, 10, 15, tzinfo=KST)),
        ("2025-01-16 10:15:00.0", datetime(2025, 1, 16, 10, 15, tzinfo=KST)),
        ("2025-01-16", datetime(2025, 1, 16, 23, 59, 59, tzinfo=KST)),
        ("2025/01/16", datetime(2025, 1, 16, 23, 59, 59, tzinfo=KST)),
        ("2025-01-16T01:15:00+00:00", datetime(2025, 1, 16, 10, 15, tzinfo=KST)),
    ],
)
def test_emer_reply_dt_forms_parse_as_kst(raw: str, expected: datetime) -> None:
    assert deadline_at(raw) == expected


@pytest.mark.parametrize("raw", ["2025-13-01", "20251301", "tomorrow", "2025011"])
def test_bad_times_are_malformed_items(raw: str) -> None:
    with pytest.raises(MalformedItem, match="emerReplyDt"):
        date_time(raw, "emerReplyDt")


async def test_deadline_from_emer_reply_dt_is_stored_on_the_inquiry(clock: FakeClock, sandbox: ElevenstSandbox) -> None:
    deadline = datetime(2025, 1, 16, 9, 0, tzinfo=KST)
    sandbox.add_alimi(content="회신 바랍니다", created_at=NOW - timedelta(hours=3), reply_deadline=deadline)
    polled = await connector(clock, sandbox.handler).poll(StreamKind.URGENT, None, now=NOW)
    assert [i.deadline_at for i in polled.inquiries] == [deadline]
    assert polled.inquiries[0].deadline_at is not None
    assert polled.inquiries[0].deadline_at.utcoffset() == timedelta(hours=9)


# --- windows -----------------------------------------------------------------------------------------------------


async def test_75_day_alimi_backfill_walks_three_windows_without_loss(
    clock: FakeClock, sandbox: ElevenstSandbox
) -> None:
    seqs = {
        str(sandbox.add_alimi(content=f"{d}일 전", created_at=NOW - timedelta(days=d), reply_deadline=None))
        for d in range(76)
    }
    polled = await connector(clock, sandbox.handler, backfill_days=75).poll(StreamKind.URGENT, None, now=NOW)
    assert {i.external_id for i in polled.inquiries} == seqs
    windows = [tuple(r.path.split("/")[4:6]) for r in sandbox.requests]
    starts = [date(int(s[:4]), int(s[4:6]), int(s[6:])) for s, _ in windows]
    ends = [date(int(e[:4]), int(e[4:6]), int(e[6:])) for _, e in windows]
    assert (len(windows), starts[0], ends[-1]) == (3, TODAY - timedelta(days=75), TODAY)
    assert [s - e for s, e in zip(starts[1:], ends, strict=False)] == [timedelta(days=1)] * 2  # no gap, no overlap
    assert all((e - s).days + 1 <= 30 for s, e in zip(starts, ends, strict=True))
    assert polled.requests == 3


async def test_qna_walks_seven_day_windows_for_new_work_and_open_snapshot(
    clock: FakeClock, sandbox: ElevenstSandbox
) -> None:
    open_id = sandbox.add_product_qna(content="열린 문의", created_at=NOW - timedelta(days=10))
    done_id = sandbox.add_product_qna(content="답변된 문의", created_at=NOW - timedelta(days=2))
    sandbox.answer_product_qna(done_id, "답변", NOW - timedelta(days=1))
    polled = await connector(clock, sandbox.handler, backfill_days=20).poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    statuses = [r.path.rsplit("/", 1)[1] for r in sandbox.requests]
    assert statuses == ["00", "00", "00", "02", "02"]  # 21 dates in 3 windows, then 14 dates in 2
    assert {i.external_id: i.answered for i in polled.inquiries} == {str(open_id): False, str(done_id): True}
    assert polled.open_snapshot is not None
    assert polled.open_snapshot.open_external_ids == frozenset({str(open_id)})
    assert polled.open_snapshot.received_from == datetime(2025, 1, 2, tzinfo=KST)


async def test_typical_poll_request_counts_and_headers(clock: FakeClock, sandbox: ElevenstSandbox) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return sandbox.handler(request)

    conn = connector(clock, handler)
    first = await conn.poll(StreamKind.PRODUCT_QNA, None, now=NOW)
    later = NOW + timedelta(minutes=5)
    qna = await conn.poll(StreamKind.PRODUCT_QNA, first.cursor, now=later)
    urgent = await conn.poll(StreamKind.URGENT, first.cursor, now=later)
    swept = await conn.poll(StreamKind.PRODUCT_QNA, first.cursor, now=NOW + timedelta(hours=1))
    # Quick polls: the unanswered Q&A of the last 7 dates, and the one 긴급알리미 listing. The hourly sweep: every
    # Q&A since the last sweep (one window) and the unanswered ones of the 14-date recheck range (two windows).
    assert (qna.requests, urgent.requests, swept.requests) == (1, 1, 3)
    assert all(r.headers["openapikey"] == API_KEY and "content-type" not in r.headers for r in seen)
    assert all(r.status == 200 for r in sandbox.requests)


@pytest.mark.parametrize(
    ("status", "open_ids"),
    [("01", 1), ("02", 1), ("04", 1), ("03", 0), ("05", 0), ("06", 0)],
)
async def test_alimi_open_set_is_statuses_01_02_04(
    clock: FakeClock, sandbox: ElevenstSandbox, status: str, open_ids: int
) -> None:
    seq = sandbox.add_alimi(content="확인", created_at=NOW - timedelta(days=1), reply_deadline=None, status=status)
    polled = await connector(clock, sandbox.handler).poll(StreamKind.URGENT, None, now=NOW)
    assert polled.open_snapshot is not None
    assert len(polled.open_snapshot.open_external_ids) == open_ids
    assert polled.inquiries[0].answered is (open_ids == 0)
    assert polled.inquiries[0].external_id == str(seq)


async def test_malformed_rows_are_skipped_and_counted(clock: FakeClock, sandbox: ElevenstSandbox) -> None:
    for hours in (1, 2, 3):
        sandbox.add_alimi(content="확인", created_at=NOW - timedelta(hours=hours), reply_deadline=None)
    sandbox.inject(Fault.MALFORMED_ITEM)
    polled = await connector(clock, sandbox.handler).poll(StreamKind.URGENT, None, now=NOW)
    assert (len(polled.inquiries), polled.skipped) == (2, 1)


# --- errors, maintenance, leaks ----------------------------------------------------------------------------------


async def test_maintenance_backs_off_quietly(clock: FakeClock, sandbox: ElevenstSandbox) -> None:
    sandbox.maintenance = True
    conn = connector(clock, sandbox.handler)
    with capture_logs() as logs:
        errors = [await _error(conn.poll(stream, None, now=NOW)) for stream in (StreamKind.PRODUCT_QNA,) * 3]
        errors.append(await _error(conn.poll(StreamKind.URGENT, None, now=NOW)))
    assert all(isinstance(e, Unavailable) for e in errors)
    assert {e.retry_after_s for e in errors} == {MAINTENANCE_RETRY_AFTER_S}
    assert MAINTENANCE_RETRY_AFTER_S >= 1800
    assert {entry["log_level"] for entry in logs} == {"info"}
    assert len(sandbox.requests) == 4  # one request per poll, no retry storm inside the connector


async def test_empty_result_is_not_an_error(clock: FakeClock) -> None:
    polled = await connector(clock, xml(200, fixture("alimi_empty.xml"))).poll(StreamKind.URGENT, None, now=NOW)
    assert (polled.inquiries, polled.skipped) == ((), 0)
    assert polled.open_snapshot is not None


@pytest.mark.parametrize(
    ("responder", "error", "retry_after_s"),
    [
        (xml(200, fixture("maintenance.xml")), Unavailable, MAINTENANCE_RETRY_AFTER_S),
        (xml(503, fixture("maintenance.xml")), Unavailable, MAINTENANCE_RETRY_AFTER_S),
        (xml(200, result("-1", "업무 오류")), Unavailable, None),
        (xml(200, result("-10004", "최대 조회기간은 30일 입니다.")), Unavailable, None),
        (xml(200, result("500", "최대 조회기간은 7일 입니다.")), Unavailable, None),
        (xml(200, result("-999", "openapikey 인증 실패")), AuthFailed, None),
        (xml(401, b""), AuthFailed, None),
        (xml(403, b"<html>Forbidden</html>"), AuthFailed, None),
        (xml(500, b"<html>oops</html>"), Unavailable, None),
        (xml(200, b"<ns2:productQnas><ns2:productQna>"), Unavailable, None),
        (lambda r: httpx.Response(429, headers={"Retry-After": "7"}), RateLimited, 7.0),
    ],
)
async def test_errors_map_to_the_error_tree(
    clock: FakeClock, responder: Responder, error: type[ConnectorError], retry_after_s: float | None
) -> None:
    caught = await _error(connector(clock, responder).poll(StreamKind.URGENT, None, now=NOW))
    assert type(caught) is error
    assert caught.retry_after_s == retry_after_s


@pytest.mark.parametrize("exc", [httpx.ReadTimeout, httpx.ConnectError])
async def test_network_failures_are_unavailable(clock: FakeClock, exc: type[httpx.TransportError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    assert isinstance(await _error(connector(clock, handler).poll(StreamKind.URGENT, None, now=NOW)), Unavailable)


@pytest.mark.parametrize(
    "responder",
    [
        xml(200, result("-1", f"잘못된 요청 openapikey={API_KEY}")),
        xml(401, result("-999", f"키 {API_KEY} 인증 실패")),
        xml(400, f"bad key {API_KEY}".encode()),
    ],
)
async def test_key_never_appears_in_errors_or_logs(clock: FakeClock, responder: Responder) -> None:
    conn = connector(clock, responder)
    with capture_logs() as logs:
        caught = await _error(conn.poll(StreamKind.URGENT, None, now=NOW))
    rendered = "".join(traceback.format_exception(caught)) + repr(logs) + repr(conn)
    assert API_KEY not in rendered
    assert "***" in str(caught)


async def test_wrong_key_against_sandbox_is_auth_failed(clock: FakeClock, sandbox: ElevenstSandbox) -> None:
    client = httpx.AsyncClient(base_url=BASE_URL, transport=httpx.MockTransport(sandbox.handler))
    conn = ElevenstConnector(account_id="shop", api_key=SecretStr("wrong"), client=client, clock=clock)
    assert isinstance(await _error(conn.poll(StreamKind.PRODUCT_QNA, None, now=NOW)), AuthFailed)
    assert [r.status for r in sandbox.requests] == [401]


@pytest.mark.parametrize(
    "kwargs",
    [{"streams": ()}, {"streams": (StreamKind.CALL_CENTER,)}, {"backfill_days": -1}, {"api_key": SecretStr("")}],
)
def test_constructor_rejects_bad_arguments(clock: FakeClock, kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"account_id": "shop", "api_key": SecretStr(API_KEY), "client": None, "clock": clock}
    with pytest.raises(ValueError, match="must"):
        ElevenstConnector(**{**args, **kwargs})  # type: ignore[arg-type]


async def _error(awaitable: object) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        await awaitable  # type: ignore[misc]
    return caught.value


@pytest.mark.parametrize("field", ["memNM", "memNm"])
def test_buyer_name_read_in_either_documented_spelling(field: str) -> None:
    qna = {"brdInfoNo": "1", "brdInfoClfNo": "2", "brdInfoCont": "문의", "createDt": "2025-01-15 09:30:00.0"}
    alimi = {"emerNtceSeq": "3", "emerCtnt": "고객 요청", "createDt": "20250115", "createTm": "10:00:00"}
    got = [qna_to_inquiry({**qna, field: "김민수"}, "shop"), alimi_to_inquiry({**alimi, field: "김민수"}, "shop")]
    assert [i.buyer for i in got] == ["김민수", "김민수"]
