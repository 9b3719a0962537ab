"""Built-in fake marketplaces: strict handlers that verify auth, enforce limits, page seeded data, inject faults.

Use a handler through `httpx.MockTransport(sandbox.handler)` in tests, or serve it on 127.0.0.1 with
`SandboxServer` for the demo and end-to-end runs.

One folder per marketplace (coupang/, naver/, elevenst/, esm/): api.py is the HTTP side (routes, auth check, the
marketplace's own answers), store.py the seeded data and the rows it lists, generator.py the demo's inquiries, and
auth.py / params.py where a marketplace has enough of them. Shared by all four: handling.py (the handler base:
lock, request log, routing, fault injection, early answers, the answer log), faults.py (the fault queue), query.py
(reading request fields), stores.py (the store base and newest-first pages), arrivals.py (the generators' timing),
server.py (real HTTP on 127.0.0.1) and overlap.py (which instance polled an account when, for runs of several
inqd instances).

Every sandbox accepts answers on its marketplace's documented answer endpoints, with the same auth check as its
lists; `sandbox.answers` records each answer request that reached the answer logic (`AnswerRecord`, accepted or
refused) and `sandbox.accepted_answers(item_id)` counts the stored ones. Fault.ACCEPTED_THEN_SERVER_ERROR and
Fault.ACCEPTED_THEN_TIMEOUT store the next accepted answer and then lose its response (an unknown outcome).
"""

from connectors.sandbox.coupang.api import CoupangSandbox, Endpoint
from connectors.sandbox.coupang.generator import InquiryGenerator, TickReport
from connectors.sandbox.coupang.rows import CallCenterStatus, CodeStyle, DateTimeFormat
from connectors.sandbox.elevenst.api import ElevenstEndpoint, ElevenstSandbox
from connectors.sandbox.elevenst.generator import ElevenstInquiryGenerator
from connectors.sandbox.elevenst.store import ElevenstWire
from connectors.sandbox.esm.api import EsmEndpoint, EsmSandbox
from connectors.sandbox.esm.generator import EsmInquiryGenerator
from connectors.sandbox.esm.store import EsmCasing
from connectors.sandbox.faults import Fault, Malformation
from connectors.sandbox.handling import AnswerRecord, RecordedRequest
from connectors.sandbox.naver.api import NaverEndpoint, NaverSandbox
from connectors.sandbox.naver.generator import NaverInquiryGenerator
from connectors.sandbox.naver.store import NaverDateTimeStyle
from connectors.sandbox.overlap import OverlapCounter, RequestSpan
from connectors.sandbox.server import SandboxServer

__all__ = [
    "AnswerRecord",
    "CallCenterStatus",
    "CodeStyle",
    "CoupangSandbox",
    "DateTimeFormat",
    "ElevenstEndpoint",
    "ElevenstInquiryGenerator",
    "ElevenstSandbox",
    "ElevenstWire",
    "Endpoint",
    "EsmCasing",
    "EsmEndpoint",
    "EsmInquiryGenerator",
    "EsmSandbox",
    "Fault",
    "InquiryGenerator",
    "Malformation",
    "NaverDateTimeStyle",
    "NaverEndpoint",
    "NaverInquiryGenerator",
    "NaverSandbox",
    "OverlapCounter",
    "RecordedRequest",
    "RequestSpan",
    "SandboxServer",
    "TickReport",
]
