"""`inqd answer ID`: fill a template (-t), write an answer (-m, or -e in $EDITOR with the question quoted), see what
the check finds, and approve it after a y/N; the running daemon sends it within seconds. `--status` shows its life,
`--cancel` stops it.

The terminal is one surface of aggregator/answering/service.py: the same rules as every other surface.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from aggregator.admin import poke_answer_sender
from aggregator.answering.check import answer_check
from aggregator.answering.service import AnswerRefused, AnswerService, Check, Draft
from aggregator.cli.reports import answer_lines
from aggregator.cli.words import Words
from aggregator.render import kst_stamp
from aggregator.settings import Settings
from aggregator.store import Store, StoredInquiry
from aggregator.store.answers import CANCELLABLE_STATES
from aggregator.templates import TemplatesFileError, load_templates
from core.answers import Finding
from core.clock import Clock, SystemClock
from core.redact import mask_pii
from policies.templates import Template

_EXIT_REFUSED = 1
_EXIT_BAD_INPUT = 2
_COMMENT = "#"

Ask = Callable[[str], str]


def add_answer_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `inqd answer`."""
    answer = sub.add_parser("answer", help="answer an inquiry: write, check, approve; the running daemon sends it")
    answer.add_argument("inquiry_id", type=int, metavar="ID", help="the id shown by `inqd queue`")
    text = answer.add_mutually_exclusive_group()
    text.add_argument("-t", "--template", metavar="NAME", help="fill this template for the inquiry (inqd templates)")
    text.add_argument("-m", "--message", metavar="TEXT", help="the answer's text")
    text.add_argument("-e", "--edit", action="store_true", help="write it in $EDITOR, the question quoted")
    text.add_argument("--status", action="store_true", help="the answers written for this inquiry and their state")
    text.add_argument("--cancel", action="store_true", help="withdraw the answer not sent yet")
    answer.add_argument("--yes", "-y", action="store_true", help="approve without asking (for scripts)")
    answer.add_argument("--accept-warnings", action="store_true", help="with --yes: approve even when the check warns")
    answer.add_argument("--config", "-c", type=Path, required=True, help="path to the TOML config file")


def run_answer(
    args: argparse.Namespace, settings: Settings, *, check: Check | None = None, ask: Ask | None = None
) -> int:
    """Run `inqd answer`; 0 approved (or shown), 1 refused or declined, 2 bad input. `ask` reads a y/N (input);
    `check` is the check before sending (default: the one every surface uses, aggregator/answering/check.py)."""
    if not settings.database_exists():
        print(f"inqd: no database yet at {settings.database_label} (run the daemon first)", file=sys.stderr)
        return _EXIT_REFUSED
    return asyncio.run(answer_from_terminal(args, settings, check=check, ask=ask or input, clock=SystemClock()))


async def answer_from_terminal(
    args: argparse.Namespace, settings: Settings, *, check: Check | None, ask: Ask, clock: Clock
) -> int:
    """`inqd answer` inside a running event loop (tests drive it on a fake clock beside a daemon)."""
    store = await Store.open(settings.database_location())
    try:
        service = AnswerService(
            store,
            clock,
            check=check or answer_check(settings),
            policies=settings.policies(await store.vacation_ranges()),
            shop_name=settings.shop_name,
            on_approved=lambda: wake_daemon(settings),
        )
        return await _run(service, store, args, settings, ask)
    except AnswerRefused as err:
        _print_findings(err.findings)
        print(f"inqd: {err}", file=sys.stderr)
        return _EXIT_REFUSED
    finally:
        await store.aclose()


async def _run(service: AnswerService, store: Store, args: argparse.Namespace, settings: Settings, ask: Ask) -> int:
    stored = await store.get_inquiry(args.inquiry_id)
    if stored is None:
        print(f"inqd: no inquiry #{args.inquiry_id} (see inqd queue)", file=sys.stderr)
        return _EXIT_REFUSED
    if args.status:
        return await _status(service, stored)
    if args.cancel:
        return await _cancel(service, stored)
    if args.template is not None:
        template = _template(settings, args.template)
        if template is None:
            return _EXIT_BAD_INPUT
        draft = await service.draft_template(stored.id, template)
    else:
        text = answer_text(args, stored)
        if text is None:
            print("inqd: give the answer with -t NAME, -m TEXT or write it with -e", file=sys.stderr)
            return _EXIT_BAD_INPUT
        draft = await service.draft(stored.id, text)
    return await _show_and_approve(service, stored, draft, args, ask)


def _template(settings: Settings, name: str) -> Template | None:
    """The template named `name` in the seller's templates file; None (the reason printed) when there is none."""
    try:
        templates = load_templates(settings.templates_path)
    except TemplatesFileError as err:
        print(f"inqd: {err}", file=sys.stderr)
        return None
    chosen = next((t for t in templates if t.name == name), None)
    if chosen is None:
        names = ", ".join(t.name for t in templates) or "none"
        print(f"inqd: no template named {name!r} (templates: {names}; see inqd templates)", file=sys.stderr)
    return chosen


def wake_daemon(settings: Settings) -> None:
    """After the approval is committed: poke the running daemon's sender (else its store check finds it in ~2 s)."""
    admin = settings.admin
    if admin.enabled:
        poke_answer_sender(admin.host, admin.port, admin.token.get_secret_value() if admin.token else None)


def answer_text(args: argparse.Namespace, stored: StoredInquiry) -> str | None:
    """The answer's text from the command line: -m, or $EDITOR with -e (-t fills a template instead)."""
    if args.message is not None:
        return str(args.message)
    if args.edit:
        return edit_in_editor(stored)
    return None


def question_comment(stored: StoredInquiry) -> str:
    """The inquiry quoted as comment lines under an empty answer: what the editor opens with."""
    inq = stored.inquiry
    known = [inq.buyer] if inq.buyer else []
    about = " · ".join(p for p in (inq.product_name, inq.category.value) if p)
    lines = [
        "위에 답변을 쓰세요. '#'로 시작하는 줄은 보내지 않습니다. 비워 두면 보내지 않습니다.",
        f"[{inq.shop}] {inq.stream.label} #{stored.id}" + (f" · {about}" if about else ""),
        *(f"> {line}" for line in mask_pii(inq.body, known_names=known).splitlines()),
    ]
    return "\n\n" + "\n".join(f"{_COMMENT} {line}" for line in lines) + "\n"


def without_comments(text: str) -> str:
    """The text the seller wrote: comment lines dropped, outer blank space trimmed."""
    return "\n".join(line for line in text.splitlines() if not line.startswith(_COMMENT)).strip()


def edit_in_editor(stored: StoredInquiry) -> str:
    """Open $VISUAL / $EDITOR (vi by default) on the quoted question; returns what the seller wrote."""
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    # mkstemp: a file only the seller can read, for the buyer's question is in it.
    fd, name = tempfile.mkstemp(prefix="inqd-answer-", suffix=".txt")
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(question_comment(stored))
        subprocess.run([*shlex.split(editor), str(path)], check=False)
        return without_comments(path.read_text(encoding="utf-8"))
    finally:
        path.unlink(missing_ok=True)


def _print_findings(findings: Sequence[Finding]) -> None:
    for finding in findings:
        mark = "막음" if finding.blocking else "경고"
        words = f" ({', '.join(finding.words)})" if finding.words else ""
        print(f"  [{mark}] {finding.message}{words}")


def _yes(ask: Ask, question: str) -> bool:
    try:
        return ask(question).strip().lower() in ("y", "yes", "네", "예")
    except EOFError:  # no terminal to answer from: the default, no
        return False


async def _show_and_approve(
    service: AnswerService, stored: StoredInquiry, draft: Draft, args: argparse.Namespace, ask: Ask
) -> int:
    inq = stored.inquiry
    source = f", 템플릿 '{draft.template}'" if draft.template else ""
    print(f"[{inq.shop}] {inq.stream.label} #{stored.id}에 보낼 답변 (초안 #{draft.answer.id}{source}):")
    print("\n".join(f"  {line}" for line in draft.answer.text.splitlines()))
    if draft.promise is not None:
        print(f"약속: {kst_stamp(draft.promise.at)}까지 ({draft.promise.variable}). 승인하면 inqd 약속으로 기록합니다.")
    if draft.findings:
        print("검사 결과:")
        _print_findings(draft.findings)
    if draft.blocked:
        print(f"보내지 않았습니다: 고쳐서 다시 써 주세요. (초안 #{draft.answer.id} 저장됨)", file=sys.stderr)
        return _EXIT_REFUSED
    if not _confirmed(draft, args, ask):
        print(f"보내지 않았습니다. (초안 #{draft.answer.id} 저장됨)", file=sys.stderr)
        return _EXIT_REFUSED
    approval = await service.approve_draft(
        draft, f"terminal:{getpass.getuser()}", confirm_warnings=bool(draft.findings)
    )
    print(
        f"승인했습니다 (답변 #{approval.answer.id}). 실행 중인 inqd가 몇 초 안에 보냅니다. "
        f"확인: inqd answer {stored.id} --status"
    )
    for line in approval.promise_lines:
        print(line)
    return 0


def _confirmed(draft: Draft, args: argparse.Namespace, ask: Ask) -> bool:
    """The seller's yes: asked on the terminal, or --yes (and --accept-warnings when the check warned)."""
    if args.yes:
        if draft.findings and not args.accept_warnings:
            print("경고가 있어 --yes만으로는 보내지 않습니다: --accept-warnings를 함께 주세요.", file=sys.stderr)
            return False
        return True
    if not _yes(ask, "이 답변을 보낼까요? [y/N] "):
        return False
    return not draft.findings or _yes(ask, "경고를 확인했습니다. 그래도 보낼까요? [y/N] ")


async def _status(service: AnswerService, stored: StoredInquiry) -> int:
    answers = await service.status(stored.id)
    if not answers:
        print(f"#{stored.id}: 아직 쓴 답변이 없습니다 (inqd answer {stored.id} -m ...)")
        return 0
    print("\n".join(answer_lines(answers, now=SystemClock().now(), words=Words("ko"))))
    return 0


async def _cancel(service: AnswerService, stored: StoredInquiry) -> int:
    pending = [a for a in await service.status(stored.id) if a.state in CANCELLABLE_STATES]
    if not pending:
        print(f"inqd: #{stored.id}에는 취소할 답변이 없습니다 (inqd answer {stored.id} --status)", file=sys.stderr)
        return _EXIT_REFUSED
    for answer in pending:
        await service.cancel(answer.id, f"terminal:{getpass.getuser()}")
        print(f"답변 #{answer.id}을(를) 취소했습니다. 보내지 않습니다.")
    return 0
