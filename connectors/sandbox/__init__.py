"""Built-in fake marketplaces: strict handlers that verify auth, enforce limits, page seeded data, inject faults.

Use a handler through `httpx.MockTransport(sandbox.handler)` in tests, or serve it on 127.0.0.1 with
`SandboxServer` for the demo and end-to-end runs.
"""

from connectors.sandbox.coupang import CoupangSandbox, Endpoint
from connectors.sandbox.coupang_rows import CallCenterStatus, CodeStyle, DateTimeFormat, Malformation
from connectors.sandbox.elevenst import ElevenstEndpoint, ElevenstSandbox
from connectors.sandbox.elevenst_generator import ElevenstInquiryGenerator
from connectors.sandbox.elevenst_store import ElevenstWire
from connectors.sandbox.esm import EsmCasing, EsmEndpoint, EsmInquiryGenerator, EsmSandbox
from connectors.sandbox.faults import Fault
from connectors.sandbox.generator import InquiryGenerator, TickReport
from connectors.sandbox.handling import RecordedRequest
from connectors.sandbox.naver import NaverEndpoint, NaverSandbox
from connectors.sandbox.naver_generator import NaverInquiryGenerator
from connectors.sandbox.naver_store import NaverDateTimeStyle
from connectors.sandbox.server import SandboxServer

__all__ = [
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
    "RecordedRequest",
    "SandboxServer",
    "TickReport",
]
