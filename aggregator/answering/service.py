"""Answers for every surface (terminal, Telegram, web inbox): draft, approve, cancel, status.

One code path: each surface calls these, so the rules hold everywhere — nothing is approved over a blocking finding
of the check before sending, warnings need an explicit confirmation, and only the seller approves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from aggregator import control_service as controls
from aggregator.store import Store
from aggregator.store.answers import LIVE_STATES, AnswerConflict, AnswerRecord, AnswerState
from core.answers import Finding
from core.clock import Clock
from core.models import Inquiry
from policies import Policies
from policies.templates import Promise, Template, format_day, render

# The check before sending (the templates/check module provides the real one): findings about `text` as an answer
# to `inquiry`.
Check = Callable[[Inquiry, str], Sequence[Finding]]


def no_check(inquiry: Inquiry, text: str) -> list[Finding]:
    """The check that finds nothing: the default until a real one is given."""
    return []


STATE_NAMES = {
    AnswerState.DRAFT: "초안",
    AnswerState.APPROVED: "승인됨 (보낼 차례를 기다림)",
    AnswerState.SENDING: "보내는 중",
    AnswerState.SENT: "보냄 (마켓 확인 대기)",
    AnswerState.CONFIRMED: "확인됨 (마켓에 답변이 보임)",
    AnswerState.UNCERTAIN: "결과 모름 (다음 조회에서 확인 후 다시 보냄)",
    AnswerState.ALREADY_ANSWERED: "보내지 않음: 이미 답변된 문의",
    AnswerState.NOT_ANSWERABLE: "보내지 않음: 답변할 수 없는 문의",
    AnswerState.REFUSED: "마켓이 거절함",
    AnswerState.CANCELLED: "취소됨",
}


class AnswerRefused(Exception):
    """The service would not do it; the message is Korean, for the seller. `findings` when the check stopped it."""

    def __init__(self, message: str, findings: Sequence[Finding] = ()) -> None:
        super().__init__(message)
        self.findings = tuple(findings)


class WarningsNotConfirmed(AnswerRefused):
    """The check warned about the answer and the seller has not confirmed sending it anyway."""


@dataclass(frozen=True, slots=True)
class Draft:
    """A saved draft and what the check found in it."""

    answer: AnswerRecord
    findings: tuple[Finding, ...]
    promise: Promise | None = None  # the date a template's {약속일:...} promised: an inqd promise once approved
    template: str | None = None  # the template's name, when it was filled from one

    @property
    def blocked(self) -> bool:
        """True when a finding forbids sending it."""
        return any(f.blocking for f in self.findings)


@dataclass(frozen=True, slots=True)
class Approval:
    """An approved answer, and what became of the promise its template made (lines for the seller)."""

    answer: AnswerRecord
    promise_lines: tuple[str, ...] = ()


class AnswerService:
    """The seller's answers, as every surface handles them.

    `policies` (the work calendar, the promise reminder) fill templates' dates and record their promises;
    `shop_name` is the config's, for `{쇼핑몰}`.
    """

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        check: Check = no_check,
        policies: Policies | Callable[[], Policies] | None = None,
        shop_name: str | None = None,
        on_approved: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._check = check
        # A callable follows the running daemon's current policies (a vacation or a reload replaces them).
        fixed = None if callable(policies) else policies
        self._current_policies: Callable[[], Policies | None] = policies if callable(policies) else lambda: fixed
        self._shop_name = shop_name
        self._on_approved = on_approved  # wakes the daemon's sender when the approval happens in its process

    async def draft(self, inquiry_id: int, text: str, *, final: bool = True) -> Draft:
        """Save `text` as the inquiry's draft (replacing an earlier draft) and check it."""
        text = text.strip()
        if not text:
            raise AnswerRefused("답변 내용이 비어 있습니다.")
        inquiry = await self._open_inquiry(inquiry_id)
        live = [a for a in await self._store.answers_for(inquiry_id) if a.state in LIVE_STATES]
        if live:
            raise AnswerRefused(f"이 문의에는 이미 답변 #{live[0].id}이(가) 있습니다: {STATE_NAMES[live[0].state]}.")
        answer = await self._conflicts(self._store.save_draft(inquiry_id, text, now=self._clock.now(), final=final))
        return Draft(answer, tuple(self._check(inquiry, text)))

    async def draft_template(self, inquiry_id: int, template: Template) -> Draft:
        """Fill `template` for the inquiry (dates in the seller's work calendar, from now), save it and check it."""
        policies = self._current_policies()
        if policies is None:
            raise TypeError("AnswerService needs policies to fill a template")
        inquiry = await self._open_inquiry(inquiry_id)
        rendered = render(template, inquiry, work=policies.work, now=self._clock.now(), shop_name=self._shop_name)
        draft = await self.draft(inquiry_id, rendered.text)
        return replace(draft, promise=rendered.promise, template=template.name)

    async def approve_draft(self, draft: Draft, actor: str, *, confirm_warnings: bool = False) -> Approval:
        """Approve `draft` (as `approve`); a date its template promised becomes an inqd promise on the inquiry."""
        answer = await self.approve(draft.answer.id, actor, confirm_warnings=confirm_warnings)
        policies = self._current_policies()
        if draft.promise is None or policies is None:
            return Approval(answer)
        note = f"답변 #{answer.id}에서 약속한 날 {format_day(draft.promise.day)}"
        try:
            outcome = await controls.promise(
                self._store,
                policies,
                answer.inquiry_id,
                draft.promise.at,
                note,
                now=self._clock.now(),
                actor=actor,
                by_answer=True,
            )
        except controls.ControlError as err:  # the promised time already passed (a {약속일:+0영업일} late in the day)
            return Approval(answer, (f"약속은 기록하지 않았습니다: {err}.",))
        return Approval(answer, outcome.lines)

    async def approve(self, answer_id: int, actor: str, *, confirm_warnings: bool = False) -> AnswerRecord:
        """Approve a draft for sending, checking it again first; the sender posts it."""
        answer = await self._store.get_answer(answer_id)
        if answer is None:
            raise AnswerRefused(f"답변 #{answer_id}이(가) 없습니다.")
        findings = tuple(self._check(await self._open_inquiry(answer.inquiry_id), answer.text))
        if any(f.blocking for f in findings):
            raise AnswerRefused("보낼 수 없는 내용이 있습니다. 고쳐서 다시 써 주세요.", findings)
        if findings and not confirm_warnings:
            raise WarningsNotConfirmed("경고를 확인하고 그래도 보낸다고 해야 보냅니다.", findings)
        approved = await self._conflicts(self._store.approve_answer(answer_id, actor=actor, now=self._clock.now()))
        if self._on_approved is not None:
            self._on_approved()
        return approved

    async def cancel(self, answer_id: int, actor: str) -> AnswerRecord:
        """Withdraw a draft, an approved answer not yet sent, or an uncertain one (it is never sent again)."""
        return await self._conflicts(self._store.cancel_answer(answer_id, actor=actor, now=self._clock.now()))

    async def status(self, inquiry_id: int) -> list[AnswerRecord]:
        """Every answer written for the inquiry, oldest first."""
        return await self._store.answers_for(inquiry_id)

    async def _open_inquiry(self, inquiry_id: int) -> Inquiry:
        stored = await self._store.get_inquiry(inquiry_id)
        if stored is None:
            raise AnswerRefused(f"문의 #{inquiry_id}이(가) 없습니다 (inqd queue 참고).")
        if stored.inquiry.answered:
            raise AnswerRefused("이미 답변된 문의입니다. 마켓의 답변을 그대로 둡니다.")
        return stored.inquiry

    @staticmethod
    async def _conflicts(change: Awaitable[AnswerRecord]) -> AnswerRecord:
        """Run a store change, wording a refused transition for the seller."""
        try:
            return await change
        except AnswerConflict as err:
            raise AnswerRefused(_conflict_text(err)) from err


def _conflict_text(err: AnswerConflict) -> str:
    answer = err.answer
    name = f"답변 #{answer.id}" if answer else "답변"
    state = STATE_NAMES[answer.state] if answer else ""
    return {
        "not_found": "문의나 답변을 찾을 수 없습니다 (inqd queue 참고).",
        "not_draft": f"{name}은(는) 이미 '{state}' 상태입니다.",
        "not_cancellable": f"{name}은(는) '{state}' 상태라 취소할 수 없습니다.",
        "inquiry_answered": "이미 답변된 문의입니다. 마켓의 답변을 그대로 둡니다.",
        "another_live": "이 문의에는 이미 승인된 답변이 있습니다 (inqd answer ID --status).",
    }.get(err.reason, err.reason)
