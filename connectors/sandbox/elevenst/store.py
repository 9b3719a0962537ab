"""The seeded data of the 11st sandbox (product Q&A, 긴급알리미) and the EUC-KR XML it is served as."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from operator import attrgetter
from xml.sax.saxutils import escape

from connectors.sandbox.stores import EVERY_ROW, SandboxStore, newest_first, on_korean_dates
from core.models import KST

NS = "http://skt.tmall.business.openapi.spring.service.client.domain/"
ALIMI_STATUSES = ("01", "02", "03", "04", "05", "06")
ALIMI_DONE = frozenset({"03", "05", "06"})


class ElevenstWire(StrEnum):
    """How characters outside KS X 1001 (똠, 햏) go on the wire; both are labelled EUC-KR."""

    NCR = "ncr"  # numeric character references, &#46624;
    CP949 = "cp949"  # the cp949 (UHC) extension bytes, as Windows servers send them


def euc_kr_bytes(text: str, wire: ElevenstWire = ElevenstWire.NCR) -> bytes:
    """`text` in EUC-KR; characters outside KS X 1001 as `wire` says. Never the 8-byte make-up sequences."""
    out = bytearray()
    for ch in text:
        try:
            encoded = ch.encode("euc_kr")
        except UnicodeEncodeError:
            encoded = b""
        if encoded and len(encoded) <= 2:
            out += encoded
        elif wire is ElevenstWire.CP949 and _cp949(ch):
            out += ch.encode("cp949")
        else:
            out += f"&#{ord(ch)};".encode("ascii")
    return bytes(out)


def _cp949(ch: str) -> bool:
    try:
        ch.encode("cp949")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(slots=True)
class ProductQna:
    """A seeded product question (상품 Q&A) and the seller's answer."""

    brd_info_no: int
    prd_no: int
    subject: str
    content: str
    created_at: datetime
    product_name: str
    member_name: str
    member_id: str
    detail_code: str = "01"
    order_no: str | None = None
    answer: str | None = None
    answered_at: datetime | None = None

    def xml(self) -> str:
        """The `<ns2:productQna>` element of the Q&A list."""
        created = self.created_at.astimezone(KST)
        fields = {
            "brdInfoNo": str(self.brd_info_no),
            "brdInfoClfNo": str(self.prd_no),
            "brdInfoSbjct": self.subject,
            "brdInfoCont": self.content,
            "createDt": f"{created:%Y-%m-%d %H:%M:%S}.0",
            "answerYn": "Y" if self.answer is not None else "N",
            "answerCont": self.answer or "",
            "answerDt": "" if self.answered_at is None else f"{self.answered_at.astimezone(KST):%Y/%m/%d}",
            "buyYn": "Y" if self.order_no else "N",
            "ordNoDe": self.order_no or "",
            "dispYn": "Y",
            "memID": self.member_id,
            "memNM": self.member_name,
            "prdNm": self.product_name,
            "qnaDtlsCd": self.detail_code,
            "qnaDtlsCdNm": _QNA_DETAIL_NAMES.get(self.detail_code, "기타"),
        }
        return _element("ns2:productQna", fields)


@dataclass(slots=True)
class Alimi:
    """A seeded 긴급알리미 message from 11st's call center and the seller's replies."""

    seq: int
    type_code: str  # 01 reply requested, 02 notice
    subject: str
    content: str
    created_at: datetime
    reply_deadline: datetime | None
    status: str
    product_name: str
    order_no: str | None
    member_name: str
    member_id: str
    classes: tuple[str, ...] = ("배송", "배송지연")
    replies: list[str] = field(default_factory=list)

    def xml(self) -> str:
        """The `<ns2:alimListInfo>` element of the 긴급알리미 list."""
        created = self.created_at.astimezone(KST)
        deadline = self.reply_deadline
        fields = {
            "emerNtceSeq": str(self.seq),
            "emerCtntSeq": str(self.seq * 10 + 1),
            "emerTypeCd": self.type_code,
            "emerNtceSubject": self.subject,
            "emerCtnt": self.content,
            "createDt": f"{created:%Y%m%d}",
            "createTm": f"{created:%H:%M:%S}",
            "emerReplyDt": "" if deadline is None else f"{deadline.astimezone(KST):%Y%m%d%H%M%S}",
            "emerNtceCrntCd": self.status,
            "prdNm": self.product_name,
            "ordNo": self.order_no or "",
            "ordPrdSeq": "1" if self.order_no else "",
            "memId": self.member_id,
            "memNm": self.member_name,
            "deptNm": "11번가 고객센터",
            "empNm": "상담원",
        }
        for i, name in enumerate(self.classes[:3], start=1):
            fields[f"emerNtceClfNo{i}"] = str(i)
            fields[f"emerNtceClfNm{i}"] = name
        replies = "".join(f"<emerReplyCtnt>{escape(r)}</emerReplyCtnt>" for r in self.replies)
        return _element("ns2:alimListInfo", fields, f"<emerReplyList>{replies}</emerReplyList>")


_QNA_DETAIL_NAMES = {"01": "상품", "02": "배송", "03": "반품/환불/취소", "04": "교환/변경", "05": "기타"}


def _element(tag: str, fields: dict[str, str], extra: str = "") -> str:
    inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
    return f"<{tag}>{inner}{extra}</{tag}>"


def document(root: str, body: str) -> str:
    """A whole response document with the ns2 namespace declared on its root."""
    prolog = '<?xml version="1.0" encoding="EUC-KR" standalone="yes"?>'
    if not body:
        return f'{prolog}<ns2:{root} xmlns:ns2="{NS}"/>'
    return f'{prolog}<ns2:{root} xmlns:ns2="{NS}">{body}</ns2:{root}>'


def result(root: str, code: str, text: str) -> str:
    """A result-code document: `<ns2:{root}><ns2:result_code/><ns2:result_text/></ns2:{root}>`."""
    return document(
        root, f"<ns2:result_code>{escape(code)}</ns2:result_code><ns2:result_text>{escape(text)}</ns2:result_text>"
    )


class ElevenstStore(SandboxStore):
    """Product Q&A posts and 긴급알리미 messages of one seller; ids come from one counter. Thread-safe."""

    def __init__(self) -> None:
        super().__init__()
        self._ids = itertools.count(5_590_001)
        self.qnas: dict[int, ProductQna] = {}
        self.alimis: dict[int, Alimi] = {}

    def add_product_qna(
        self,
        *,
        content: str,
        created_at: datetime,
        subject: str = "상품 문의",
        prd_no: int = 1_234_567_890,
        product_name: str = "샌드박스 상품",
        member_name: str = "김민수",
        member_id: str = "minsu0312",
        detail_code: str = "01",
        order_no: str | None = None,
    ) -> int:
        """Add one unanswered product question; returns its brdInfoNo."""
        with self._lock:
            item_id = next(self._ids)
            self.qnas[item_id] = ProductQna(
                item_id,
                prd_no,
                subject,
                content,
                created_at,
                product_name,
                member_name,
                member_id,
                detail_code,
                order_no,
            )
            return item_id

    def answer_product_qna(self, brd_info_no: int, text: str, at: datetime) -> None:
        """Answer a question as the seller would in the seller office."""
        with self._lock:
            qna = self.qnas[brd_info_no]
            qna.answer, qna.answered_at = text, at

    def add_alimi(
        self,
        *,
        content: str,
        created_at: datetime,
        reply_deadline: datetime | None,
        subject: str = "배송 지연 문의",
        type_code: str = "01",
        status: str = "01",
        product_name: str = "샌드박스 상품",
        order_no: str | None = "202601010000001",
        member_name: str = "이서연",
        member_id: str = "seoyeon_lee",
        classes: tuple[str, ...] = ("배송", "배송지연"),
    ) -> int:
        """Add one 긴급알리미 message; returns its emerNtceSeq."""
        if status not in ALIMI_STATUSES or type_code not in ("01", "02"):
            raise ValueError("status must be 01..06 and type_code 01 or 02")
        with self._lock:
            item_id = next(self._ids)
            self.alimis[item_id] = Alimi(
                item_id,
                type_code,
                subject,
                content,
                created_at,
                reply_deadline,
                status,
                product_name,
                order_no,
                member_name,
                member_id,
                classes,
            )
            return item_id

    def answer_alimi(self, seq: int, text: str, at: datetime) -> None:
        """Answer (or, for a notice, confirm) a 긴급알리미 message: 03 답변완료, 05 after a re-answer request."""
        with self._lock:
            alimi = self.alimis[seq]
            alimi.replies.append(text)
            alimi.status = "05" if alimi.status == "04" else "03"

    def set_alimi_status(self, seq: int, status: str) -> None:
        """Move a message to `status` (e.g. 04 재답변요청 from the buyer, 06 처리완료 by 11st)."""
        if status not in ALIMI_STATUSES:
            raise ValueError("status must be 01..06")
        with self._lock:
            self.alimis[seq].status = status

    def is_answered(self, item_id: int) -> bool:
        """Whether the question or message `item_id` is answered (unknown ids: False)."""
        with self._lock:
            if item_id in self.qnas:
                return self.qnas[item_id].answer is not None
            alimi = self.alimis.get(item_id)
            return alimi is not None and alimi.status in ALIMI_DONE

    def qna_rows(self, start: date, end: date, answer_status: str) -> list[str]:
        """Questions created on [start, end] (KST), newest first; answerStatus 00 all, 01 answered, 02 unanswered."""
        with self._lock:
            found = (
                q
                for q in self.qnas.values()
                if on_korean_dates(q.created_at, start, end)
                and (answer_status == "00" or (q.answer is not None) == (answer_status == "01"))
            )
            return newest_first(found, key=_CREATED, page=EVERY_ROW, row=ProductQna.xml)[0]

    def alimi_rows(self, start: date, end: date, status: str | None, order_no: str | None) -> list[str]:
        """Messages created on [start, end] (KST), of `status` and `order_no` if given, newest first."""
        with self._lock:
            found = (
                a
                for a in self.alimis.values()
                if on_korean_dates(a.created_at, start, end)
                and status in (None, a.status)
                and order_no in (None, a.order_no)
            )
            return newest_first(found, key=_CREATED, page=EVERY_ROW, row=Alimi.xml)[0]


_CREATED = attrgetter("created_at")
