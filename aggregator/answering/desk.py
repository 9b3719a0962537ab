"""What a phone surface needs around the answer service: templates suggested and filled for one inquiry, the check
before sending, and a send that approves only the text the seller was shown.

The Telegram answer flow and the web composer use it; it knows nothing of either. A send names the template the
seller started from, so the date it promised becomes an inqd promise as from `inqd answer`. Templates are read from
the file at every suggestion, so an edit of templates.toml counts at the next tap, without a restart.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from aggregator.answering.service import STATE_NAMES, AnswerRefused, AnswerService, Approval, Check, Draft
from aggregator.store import Store, StoredInquiry
from aggregator.store.answers import LIVE_STATES, AnswerRecord, AnswerState
from aggregator.templates import TemplatesFileError, load_templates
from core.answers import Finding
from core.clock import Clock
from core.models import Category, Inquiry
from policies.intervals import Schedule
from policies.templates import Promise, Rendered, Template, format_day, render, templates_for

log = structlog.get_logger("inqd.answers")

SUGGESTIONS = 3  # templates offered per inquiry: more buttons than this do not fit a phone screen
NO_TEMPLATES_FILE = "템플릿 파일을 읽지 못했습니다 (inqd templates로 확인해 주세요)."
TEMPLATE_GONE = "템플릿이 바뀌었습니다. [답변]을 다시 눌러 주세요."
TEXT_CHANGED = "미리보기 뒤에 내용이 바뀌었습니다. 새 미리보기를 확인하고 보내 주세요."


class AlreadySent(AnswerRefused):
    """The answer is approved already (a second tap on 보내기): nothing more to do."""


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One template filled for one inquiry."""

    key: str  # short and stable while the template keeps its name: what a button carries
    name: str
    text: str
    category: Category | None = None


@dataclass(frozen=True, slots=True)
class Suggestions:
    """The templates offered for an inquiry (at most SUGGESTIONS), or why there are none."""

    inquiry: StoredInquiry
    items: tuple[Suggestion, ...]
    problem: str = ""


def template_key(name: str) -> str:
    """A template's short id: 8 hex digits of its name (a Korean name would not fit a button's 64 bytes)."""
    return f"{zlib.crc32(name.encode()):08x}"


def text_digest(text: str) -> str:
    """A digest of an answer text: a preview remembers it, and only that text may be sent from it."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class AnswerDesk:
    """The answer service as a phone uses it: suggest, draft, send what was shown, cancel."""

    def __init__(
        self,
        service: AnswerService,
        store: Store,
        clock: Clock,
        *,
        check: Check,
        templates_path: Path,
        work: Callable[[], Schedule],
        shop_name: str | None = None,
    ) -> None:
        self._service = service
        self._check = check  # the one the service runs too: the preview shows what approving will find
        self._store = store
        self._clock = clock
        self._templates_path = templates_path
        self._work = work  # the current work calendar: a vacation added while running moves 영업일 dates
        self._shop_name = shop_name

    async def inquiry(self, inquiry_id: int) -> StoredInquiry:
        """The stored inquiry; AnswerRefused when there is none."""
        stored = await self._store.get_inquiry(inquiry_id)
        if stored is None:
            raise AnswerRefused(f"문의 #{inquiry_id}이(가) 없습니다.")
        return stored

    async def suggestions(self, inquiry_id: int) -> Suggestions:
        """Up to SUGGESTIONS templates of the inquiry's category, filled for it; AnswerRefused once it is answered."""
        stored = await self.inquiry(inquiry_id)
        if stored.inquiry.answered:
            raise AnswerRefused("이미 답변된 문의입니다. 마켓의 답변을 그대로 둡니다.")
        live = [a for a in await self._service.status(inquiry_id) if a.state in LIVE_STATES]
        if live:  # the service would refuse the draft: say so before the seller picks a template
            raise AnswerRefused(f"이 문의에는 이미 답변 #{live[0].id}이(가) 있습니다: {STATE_NAMES[live[0].state]}.")
        try:
            templates = templates_for(load_templates(self._templates_path), stored.inquiry.category)
        except TemplatesFileError as err:
            log.warning("answer_templates_unreadable", error=str(err))
            return Suggestions(stored, (), NO_TEMPLATES_FILE)
        items = tuple(self._fill(t, stored.inquiry) for t in templates[:SUGGESTIONS])
        return Suggestions(stored, items)

    async def every_template(self, inquiry_id: int) -> Suggestions:
        """Every template of the file filled for the inquiry, its own category first (the web composer lists them
        all, by category; a phone shows SUGGESTIONS). No refusal here: the caller shows the inquiry's state."""
        stored = await self.inquiry(inquiry_id)
        try:
            templates = load_templates(self._templates_path)
        except TemplatesFileError as err:
            log.warning("answer_templates_unreadable", error=str(err))
            return Suggestions(stored, (), NO_TEMPLATES_FILE)
        own = stored.inquiry.category
        ordered = sorted(templates, key=lambda t: t.category is not own)  # stable: file order within each
        return Suggestions(stored, tuple(self._fill(t, stored.inquiry) for t in ordered))

    async def check(self, inquiry_id: int, text: str) -> tuple[Finding, ...]:
        """What the check finds in `text` as the inquiry's answer, without saving a draft (checked as it is typed)."""
        return tuple(self._check((await self.inquiry(inquiry_id)).inquiry, text.strip()))

    async def draft_template(self, inquiry_id: int, key: str) -> Draft:
        """Draft the inquiry's answer from the template `key` names, filled now."""
        stored = await self.inquiry(inquiry_id)
        try:
            templates = load_templates(self._templates_path)
        except TemplatesFileError as err:
            raise AnswerRefused(NO_TEMPLATES_FILE) from err
        chosen = next(
            (t for t in templates_for(templates, stored.inquiry.category) if template_key(t.name) == key), None
        )
        if chosen is None:
            raise AnswerRefused(TEMPLATE_GONE)
        return await self._service.draft(inquiry_id, self._fill(chosen, stored.inquiry).text)

    async def draft(self, inquiry_id: int, text: str) -> Draft:
        """Draft the seller's own text (replacing an earlier draft) and check it."""
        return await self._service.draft(inquiry_id, text)

    async def findings(self, answer: AnswerRecord) -> tuple[Finding, ...]:
        """What the check finds in a stored answer now."""
        return tuple(self._check((await self.inquiry(answer.inquiry_id)).inquiry, answer.text))

    async def send(
        self, answer_id: int, actor: str, *, digest: str, confirm_warnings: bool, template_key: str = ""
    ) -> Approval:
        """Approve the answer if it still has the text whose `digest` the seller saw; AlreadySent on a second tap.

        `template_key` names the template the seller started from: when it promises a date ({약속일:...}) and the
        text still says that date, the promise is recorded as `inqd answer` records it (a reminder before the day).
        """
        answer = await self._store.get_answer(answer_id)
        if answer is None:
            raise AnswerRefused(f"답변 #{answer_id}이(가) 없습니다.")
        if answer.state in LIVE_STATES or answer.state is AnswerState.CONFIRMED:
            raise AlreadySent("이미 보낸 답변입니다.")
        if answer.state is AnswerState.DRAFT and text_digest(answer.text) != digest:
            raise AnswerRefused(TEXT_CHANGED)
        promised = await self._promise_kept(answer, template_key) if template_key else None
        if promised is None:
            return Approval(await self._service.approve(answer_id, actor, confirm_warnings=confirm_warnings))
        promise, name = promised
        draft = Draft(answer, (), promise=promise, template=name)
        return await self._service.approve_draft(draft, actor, confirm_warnings=confirm_warnings)

    async def cancel(self, answer_id: int, actor: str) -> AnswerRecord:
        """Withdraw the draft (or an approved answer not yet sent)."""
        return await self._service.cancel(answer_id, actor)

    async def _promise_kept(self, answer: AnswerRecord, key: str) -> tuple[Promise, str] | None:
        """The promise the template `key` makes for the answer's inquiry now, and its name, if the answer's text
        still says the promised date as the template wrote it (the seller may have edited the other words)."""
        try:
            templates = load_templates(self._templates_path)
        except TemplatesFileError as err:
            log.warning("answer_templates_unreadable", error=str(err))
            return None
        chosen = next((t for t in templates if template_key(t.name) == key), None)
        if chosen is None:
            return None
        inquiry = (await self.inquiry(answer.inquiry_id)).inquiry
        promise = self._render(chosen, inquiry).promise
        if promise is None or format_day(promise.day) not in answer.text:
            return None
        return promise, chosen.name

    def _render(self, template: Template, inquiry: Inquiry) -> Rendered:
        return render(template, inquiry, work=self._work(), now=self._clock.now(), shop_name=self._shop_name)

    def _fill(self, template: Template, inquiry: Inquiry) -> Suggestion:
        rendered = self._render(template, inquiry)
        return Suggestion(template_key(template.name), template.name, rendered.text, template.category)
