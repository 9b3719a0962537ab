"""The answer composer of the inquiry page: templates filled for the inquiry, the check as the seller types, a draft
and its confirm step, the send (only the text the seller saw: its digest travels with the form), cancel.

Every route works as a plain form (the whole page comes back); the page's script posts the same forms with
`fragment=1` and swaps in the piece that changed. The rules are the answer desk's (aggregator/answering/desk.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from aggregator.answering.desk import AlreadySent, Suggestion, text_digest
from aggregator.answering.service import STATE_NAMES, AnswerRefused
from aggregator.cli.words import Words
from aggregator.store import StoredInquiry
from aggregator.store.answers import LIVE_STATES, AnswerRecord, AnswerState
from aggregator.web.pages import Page, Routes, redirect
from core.answers import Finding
from core.redact import mask_pii

ACTOR = "web"
WORDS = Words("ko")
# The way an answer goes once approved; other end states (refused, cancelled, ...) are shown by name alone.
PROGRESS = (AnswerState.APPROVED, AnswerState.SENDING, AnswerState.SENT, AnswerState.CONFIRMED)
# Withdrawable from the page: approved and not yet claimed by the sender, or uncertain (then never sent again).
CANCELLABLE = frozenset({AnswerState.APPROVED, AnswerState.UNCERTAIN})
MAX_TEXT = 20_000  # far above every marketplace's limit: the check names the real one

FullPage = Callable[[Page, StoredInquiry, dict[str, Any], int], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Checked:
    """What the check found in the composer's text; `draft` when it was saved and may be sent from here."""

    findings: tuple[Finding, ...]
    draft: AnswerRecord | None = None

    @property
    def blocked(self) -> bool:
        """A finding forbids sending."""
        return any(f.blocking for f in self.findings)

    @property
    def warned(self) -> bool:
        """Warnings the seller must confirm before sending."""
        return any(not f.blocking for f in self.findings)

    @property
    def digest(self) -> str:
        """The digest of the draft's text: the send form carries it, so only this text is approved."""
        return text_digest(self.draft.text) if self.draft else ""


def _answer_view(answer: AnswerRecord, page: Page, stored: StoredInquiry) -> dict[str, Any]:
    names = (stored.inquiry.buyer,) if stored.inquiry.buyer else ()
    return {
        "id": answer.id,
        "state": answer.state.value,
        "state_name": STATE_NAMES[answer.state],
        "text": mask_pii(answer.text, known_names=names) if page.masked else answer.text,
        "approved_at": answer.approved_at and WORDS.stamp(answer.approved_at),
        "sent_at": answer.sent_at and WORDS.stamp(answer.sent_at),
        "message": mask_pii(answer.message) if answer.message else "",
        "steps": [
            {
                "name": STATE_NAMES[s],
                "done": PROGRESS.index(s) <= PROGRESS.index(answer.state),
                "now": s is answer.state,
            }
            for s in PROGRESS
        ]
        if answer.state in PROGRESS
        else [],
        "cancellable": answer.state in CANCELLABLE,
    }


def _grouped(items: tuple[Suggestion, ...]) -> list[dict[str, Any]]:
    groups: dict[str, list[Suggestion]] = {}
    for item in items:
        groups.setdefault(item.category.value if item.category else "", []).append(item)
    return [{"category": category, "templates": members} for category, members in groups.items()]


async def answer_values(
    page: Page,
    stored: StoredInquiry,
    *,
    template_key: str = "",
    text: str | None = None,
    checked: Checked | None = None,
    message: str = "",
    notes: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The answer section's values: answers so far, and (while one may be written) the composer.

    `template_key` names the template the seller picked: the composer and the confirm step carry it to the send, so
    the date the template promised is recorded (the desk checks the text still says it)."""
    desk = page.ctx.desk()
    answers = await page.ctx.store.answers_for(stored.id)
    live = next((a for a in reversed(answers) if a.state in LIVE_STATES), None)
    composing = not stored.inquiry.answered and live is None
    values: dict[str, Any] = {
        "answers": [_answer_view(a, page, stored) for a in answers if a.state is not AnswerState.DRAFT],
        "live": live and _answer_view(live, page, stored),
        "composing": composing,
        "answered_at": stored.inquiry.answered_at and WORDS.stamp(stored.inquiry.answered_at),
        "template_groups": [],
        "templates_problem": "",
        "own_category": stored.inquiry.category.value,
        "text": "",
        "checked": checked,
        "message": message,
        "notes": notes,
        "template_key": "",
        "answer_url": f"/inquiries/{stored.id}/answer",
    }
    if not composing:
        return values
    suggestions = await desk.every_template(stored.id)
    values["template_groups"] = _grouped(suggestions.items)
    values["templates_problem"] = suggestions.problem
    chosen = next((s for s in suggestions.items if s.key == template_key), None)
    values["template_key"] = chosen.key if chosen else ""
    draft = next((a for a in reversed(answers) if a.state is AnswerState.DRAFT), None)
    values["text"] = text if text is not None else chosen.text if chosen else draft.text if draft else ""
    return values


async def _form(page: Page) -> dict[str, str]:
    form = await page.request.post()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _answer_id(form: dict[str, str]) -> int | None:
    raw = form.get("answer_id", "")
    return int(raw) if raw.isdigit() and len(raw) < 18 else None


class Composer:
    """The answer section's routes for the inquiry page: each finds the inquiry, runs the desk, answers with the
    section alone (the page's script) or the whole page (no script)."""

    def __init__(self, stored_inquiry: Callable[[Page], Awaitable[StoredInquiry | None]], full: FullPage) -> None:
        self._stored_inquiry = stored_inquiry
        self._full = full

    async def _respond(
        self, page: Page, stored: StoredInquiry, form: dict[str, str], *, piece: str, status: int = 200, **given: Any
    ) -> web.StreamResponse:
        values = await answer_values(page, stored, **given)
        if form.get("fragment") == "1" or page.request.method == "GET":
            response = page.fragment(piece, stored=stored, **values)
            response.set_status(status)
            return response
        return await self._full(page, stored, values, status)

    async def _inquiry(self, page: Page) -> StoredInquiry:
        stored = await self._stored_inquiry(page)
        if stored is None:
            raise web.HTTPNotFound()
        return stored

    async def _posted(self, page: Page) -> tuple[StoredInquiry, dict[str, str]]:
        """The inquiry the URL names (404 when there is none) and the posted form's text fields."""
        return await self._inquiry(page), await _form(page)

    async def section(self, page: Page) -> web.StreamResponse:
        stored = await self._inquiry(page)
        return await self._respond(page, stored, {}, piece="inquiry_answer.html")

    async def check(self, page: Page) -> web.StreamResponse:
        stored, form = await self._posted(page)
        text, template = form.get("text", "")[:MAX_TEXT], form.get("template", "")
        findings = await page.ctx.desk().check(stored.id, text)
        checked = Checked(findings)
        if form.get("fragment") == "1":
            # The script asks this as the seller types: the findings alone need no answers, templates or page.
            return page.fragment(
                "inquiry_check.html",
                checked=checked,
                message="",
                template_key=template,
                answer_url=f"/inquiries/{stored.id}/answer",
            )
        return await self._respond(
            page, stored, form, piece="inquiry_check.html", text=text, checked=checked, template_key=template
        )

    async def draft(self, page: Page) -> web.StreamResponse:
        stored, form = await self._posted(page)
        text, template = form.get("text", "")[:MAX_TEXT], form.get("template", "")
        try:
            saved = await page.ctx.desk().draft(stored.id, text)
        except AnswerRefused as err:
            message, piece = str(err), "inquiry_check.html"
            return await self._respond(
                page, stored, form, piece=piece, status=409, text=text, message=message, template_key=template
            )
        checked = Checked(saved.findings, saved.answer)
        return await self._respond(
            page,
            stored,
            form,
            piece="inquiry_check.html",
            text=saved.answer.text,
            checked=checked,
            template_key=template,
        )

    async def send(self, page: Page) -> web.StreamResponse:
        stored, form = await self._posted(page)
        answer_id = _answer_id(form)
        answer = await page.ctx.store.get_answer(answer_id) if answer_id is not None else None
        if answer is None or answer.inquiry_id != stored.id:
            return await self._respond(
                page, stored, form, piece="inquiry_answer.html", status=404, message="답변이 없습니다."
            )
        confirmed = form.get("confirm_warnings") in ("1", "on", "true")
        template = form.get("template", "")
        try:
            approval = await page.ctx.desk().send(
                answer.id, ACTOR, digest=form.get("digest", ""), confirm_warnings=confirmed, template_key=template
            )
        except AlreadySent as err:
            return await self._respond(page, stored, form, piece="inquiry_answer.html", status=409, message=str(err))
        except AnswerRefused as err:
            # The check again (warnings not confirmed, a block) or a text changed since the confirm step.
            current = await page.ctx.store.get_answer(answer.id)
            findings = err.findings or await page.ctx.desk().check(stored.id, answer.text)
            checked = Checked(findings, current if current and current.state is AnswerState.DRAFT else None)
            return await self._respond(
                page,
                stored,
                form,
                piece="inquiry_answer.html",
                status=409,
                checked=checked,
                message=str(err),
                template_key=template,
            )
        if form.get("fragment") == "1" or approval.promise_lines:  # the promise lines would not survive a redirect
            return await self._respond(page, stored, form, piece="inquiry_answer.html", notes=approval.promise_lines)
        return redirect(f"/inquiries/{stored.id}#answer-section")

    async def cancel(self, page: Page) -> web.StreamResponse:
        stored, form = await self._posted(page)
        answer_id = _answer_id(form)
        answer = await page.ctx.store.get_answer(answer_id) if answer_id is not None else None
        if answer is None or answer.inquiry_id != stored.id:
            return await self._respond(
                page, stored, form, piece="inquiry_answer.html", status=404, message="답변이 없습니다."
            )
        try:
            await page.ctx.desk().cancel(answer.id, ACTOR)
        except AnswerRefused as err:
            return await self._respond(page, stored, form, piece="inquiry_answer.html", status=409, message=str(err))
        if form.get("fragment") == "1":
            message = f"답변 #{answer.id}을(를) 취소했습니다."
            return await self._respond(page, stored, form, piece="inquiry_answer.html", message=message)
        return redirect(f"/inquiries/{stored.id}#answer-section")


def register(routes: Routes, stored_inquiry: Callable[[Page], Awaitable[StoredInquiry | None]], full: FullPage) -> None:
    """POST /inquiries/{id}/answer/{check,draft,send,cancel} and GET /inquiries/{id}/answer (the section alone)."""
    composer = Composer(stored_inquiry, full)
    routes.get("/inquiries/{id}/answer", composer.section)
    routes.post("/inquiries/{id}/answer/check", composer.check)
    routes.post("/inquiries/{id}/answer/draft", composer.draft)
    routes.post("/inquiries/{id}/answer/send", composer.send)
    routes.post("/inquiries/{id}/answer/cancel", composer.cancel)
