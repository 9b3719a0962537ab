"""`inqd templates`: list the answer templates, preview one filled for an inquiry with the check's findings, or
import the seller's own templates from the Naver seller centre."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from aggregator.answering.check import answer_check
from aggregator.answering.service import Check
from aggregator.render import kst_stamp
from aggregator.settings import NaverAccount, Settings
from aggregator.store import Store
from aggregator.templates import TemplatesFileError, append_templates, load_templates, naver_templates
from aggregator.wiring.connectors import build_connector
from connectors.base import ConnectorError
from connectors.naver.connector import NaverConnector
from core.clock import SystemClock
from core.models import Category, Inquiry, Marketplace, StreamKind
from core.redact import excerpt
from policies.templates import Rendered, Template, render, templates_for

EXIT_FAILED = 1
EXIT_CONFIG = 2
_SEVERITY_MARKS = {"block": "✖ 막음", "warn": "! 주의"}


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def add_templates_parser(sub: Any) -> None:
    """Register `inqd templates` on the subcommand parsers."""
    parser = sub.add_parser("templates", help="list the answer templates, or preview one filled for an inquiry")
    parser.add_argument("--config", "-c", type=Path, required=True, help="path to the TOML config file")
    parser.add_argument(
        "--category", choices=[c.value for c in Category], default=None, help="only this category (상품, 배송, ...)"
    )
    parser.add_argument("--preview", metavar="NAME", default=None, help="fill this template and check it")
    parser.add_argument(
        "--inquiry", type=int, metavar="ID", default=None, help="the inquiry to fill it for (default: a sample)"
    )
    parser.add_argument(
        "--import-naver",
        metavar="ACCOUNT_ID",
        default=None,
        help="append this Naver account's own answer templates (seller centre) to the templates file",
    )


def run_templates(args: argparse.Namespace, settings: Settings) -> int:
    """Run `inqd templates` with loaded settings; prints to stdout, problems to stderr."""
    if args.import_naver is not None:
        return import_naver(settings, args.import_naver)
    try:
        templates = load_templates(settings.templates_path)
    except TemplatesFileError as err:
        _err(f"inqd: {err}")
        return EXIT_CONFIG
    if args.preview is None:
        if args.inquiry is not None:
            _err("inqd: --inquiry needs --preview NAME")
            return EXIT_CONFIG
        category = None if args.category is None else Category(args.category)
        _out("\n".join(listing_lines(templates, category, settings.templates_path)))
        return 0
    chosen = next((t for t in templates if t.name == args.preview), None)
    if chosen is None:
        names = ", ".join(t.name for t in templates)
        _err(f"inqd: no template named {args.preview!r} (templates: {names})")
        return EXIT_FAILED
    return asyncio.run(_preview(chosen, settings, args.inquiry))


def listing_lines(templates: tuple[Template, ...], category: Category | None, path: Path) -> list[str]:
    """The templates by category: name, title and the variables each uses (unknown ones marked)."""
    lines = [f"답변 템플릿: {path}"]
    for cat in Category if category is None else (category,):
        chosen = templates_for(templates, cat)
        if not chosen:
            continue
        lines.append(f"[{cat.value}]")
        for template in chosen:
            variables = ", ".join(template.variables()) or "없음"
            lines.append(f"  {template.name} — {template.title} (변수: {variables})")
            if template.unknown_variables():
                lines.append(f"    ! 알 수 없는 변수: {', '.join(template.unknown_variables())}")
    if len(lines) == 1:
        lines.append("템플릿이 없습니다." if category is None else f"{category.value} 템플릿이 없습니다.")
    return lines


async def _preview(template: Template, settings: Settings, inquiry_id: int | None) -> int:
    now = SystemClock().now()
    vacations: list[Any] = []
    if inquiry_id is None:
        inquiry, heading = _sample_inquiry(now), "예시 문의 (--inquiry ID로 실제 문의에 채워 봅니다)"
    else:
        if not settings.db_path.is_file():
            _err(f"inqd: no database yet at {settings.db_path} (run the daemon first)")
            return EXIT_FAILED
        store = await Store.open(settings.database_location())
        try:
            stored = await store.get_inquiry(inquiry_id)
            vacations = await store.vacation_ranges()
        finally:
            await store.aclose()
        if stored is None:
            _err(f"inqd: no inquiry #{inquiry_id} (see inqd queue)")
            return EXIT_FAILED
        inquiry, heading = stored.inquiry, f"#{inquiry_id} {stored.inquiry.shop} {stored.inquiry.stream.label}"
    work = settings.policies(vacations).work
    rendered = render(template, inquiry, work=work, now=now, shop_name=settings.shop_name)
    _out("\n".join(preview_lines(template, rendered, inquiry, heading, check=answer_check(settings))))
    return 0


def preview_lines(template: Template, rendered: Rendered, inquiry: Inquiry, heading: str, *, check: Check) -> list[str]:
    """The filled template, its promise and the check's findings, as printed by `inqd templates --preview`."""
    lines = [f"템플릿 '{template.name}' [{template.category.value}] — {heading}", f"제목: {rendered.title}", "-" * 40]
    lines += [rendered.text, "-" * 40]
    if rendered.promise is not None:
        lines.append(f"약속: {kst_stamp(rendered.promise.at)}까지 (보낼 때 inqd 약속으로 기록할 수 있습니다)")
    findings = check(inquiry, rendered.text)
    if not findings:
        lines.append("검사: 문제 없음")
    for finding in findings:
        lines.append(f"{_SEVERITY_MARKS[finding.severity]} {finding.message}")
    return lines


def import_naver(settings: Settings, account_id: str) -> int:
    """`inqd templates --import-naver ID`: the account's own Naver templates, appended to the templates file."""
    account = next((a for a in settings.accounts if a.id == account_id), None)
    if not isinstance(account, NaverAccount):
        naver = ", ".join(a.id for a in settings.accounts if isinstance(a, NaverAccount)) or "none configured"
        _err(f"inqd: {account_id!r} is not a Naver account of this config (Naver accounts: {naver})")
        return EXIT_CONFIG
    try:
        rows = asyncio.run(_fetch_naver_templates(account))
    except ConnectorError as err:
        _err(f"inqd: Naver did not give the templates: {excerpt(str(err), 200)}")
        return EXIT_FAILED
    path = settings.templates_path
    clock = SystemClock()
    try:
        report = append_templates(
            path,
            naver_templates(rows),
            source="네이버 스마트스토어센터",
            today=clock.now().astimezone(settings.zone).date(),
        )
    except TemplatesFileError as err:
        _err(f"inqd: {err}")
        return EXIT_CONFIG
    added, skipped = len(report.added), len(report.skipped)
    _out(f"네이버 템플릿 {len(rows)}개: {added}개 추가, {skipped}개는 같은 이름이 있어 건너뜀 → {path}")
    _out("\n".join([*(f"  + {name}" for name in report.added), *(f"  = {name}" for name in report.skipped)]))
    if report.backup is not None:
        _out(f"이전 파일: {report.backup}")
    return 0


async def _fetch_naver_templates(account: NaverAccount) -> list[tuple[str, str, str]]:
    connector = build_connector(account, clock=SystemClock())
    try:
        assert isinstance(connector, NaverConnector)  # the registry builds a NaverConnector for a NaverAccount
        return await connector.answer_templates()
    finally:
        await connector.aclose()


def _sample_inquiry(now: datetime) -> Inquiry:
    return Inquiry(
        account_id="sample",
        marketplace=Marketplace.COUPANG,
        stream=StreamKind.CALL_CENTER,
        external_id="sample",
        received_at=now,
        body="언제 받을 수 있나요?",
        category=Category.DELIVERY,
        product_name="예시 상품 (블랙, L)",
        order_id="2000012345678",
    )
