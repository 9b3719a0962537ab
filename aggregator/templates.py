"""The seller's templates file: reading it, checking it for `inqd check`, and appending the seller's own Naver
templates to it (the I/O around policies.templates, which parses and renders, purely)."""

from __future__ import annotations

import os
import re
import shutil
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from core.models import Category
from policies.templates import Template, TemplateError, parse_templates

# Naver's questionType (GET /v1/contents/qnas/templates, marketplaces.md §8) -> our category.
NAVER_CATEGORIES = {
    "PRODUCT": Category.PRODUCT,
    "DELIVERY": Category.DELIVERY,
    "RETURN": Category.RETURN,
    "EXCHANGE": Category.EXCHANGE,
    "REFUND": Category.REFUND,
    "ETC": Category.OTHER,
}
NAVER_SUFFIX = " (네이버)"  # imported names say where they came from and never take a starter template's name
_LITERAL_BRACES = str.maketrans({"{": "｛", "}": "｝"})  # braces are for our variables only
_INDEX = re.compile(r"^templates\[(\d+)\]")
_NEW_FILE = "# inqd 답변 템플릿 (inqd templates --import-naver가 만들었습니다. 마음껏 고치세요.)\n"


class TemplatesFileError(Exception):
    """The templates file cannot be used; the message names the file and, where it can, the template and key."""


def load_templates(path: Path) -> tuple[Template, ...]:
    """The templates in `path`; TemplatesFileError names the file and the problem."""
    try:
        return parse_templates(_read(path))
    except TemplateError as err:
        raise TemplatesFileError(f"{path}: {err}") from err


def checked_templates(path: Path) -> tuple[Template, ...]:
    """The templates in `path` for `inqd check`: the bad template named as well as its key, and a variable no
    inquiry can fill refused too."""
    text = _read(path)
    try:
        templates = parse_templates(text)
    except TemplateError as err:
        raise TemplatesFileError(f"{path}: {_with_name(str(err), text)}") from err
    for index, template in enumerate(templates):
        unknown = template.unknown_variables()
        if unknown:
            where = "title" if f"{{{unknown[0]}}}" in template.title else "body"
            raise TemplatesFileError(
                f"{path}: templates[{index}] ({template.name!r}).{where}: unknown variable {{{unknown[0]}}} "
                "(see inqd templates for the ones inqd fills)"
            )
    return templates


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise TemplatesFileError(f"{path}: no templates file (inqd init writes a starter set)") from err
    except (OSError, UnicodeDecodeError) as err:
        raise TemplatesFileError(f"{path}: cannot read: {err}") from err


def _with_name(message: str, text: str) -> str:
    """`templates[2].category: ...` as `templates[2] ('배송 지연').category: ...` when the table has a name."""
    index = _INDEX.match(message)
    if index is None:
        return message
    try:
        tables = tomllib.loads(text).get("templates", [])
        name = tables[int(index[1])].get("name")
    except (tomllib.TOMLDecodeError, AttributeError, IndexError, TypeError):
        return message
    return f"{index[0]} ({name!r}){message[index.end() :]}" if isinstance(name, str) and name else message


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import added to the templates file, what it left out, and where the old file was kept."""

    added: tuple[str, ...]
    skipped: tuple[str, ...]  # names already in the file
    backup: Path | None = None


def naver_templates(rows: Iterable[tuple[str, str, str]]) -> list[Template]:
    """Our templates from Naver's (questionType, subject, content) rows: named after the subject, "(네이버)" added."""
    found = []
    for number, (kind, subject, content) in enumerate(rows, start=1):
        title = (subject.strip() or f"네이버 템플릿 {number}").translate(_LITERAL_BRACES)
        body = content.strip().translate(_LITERAL_BRACES)
        found.append(Template(title + NAVER_SUFFIX, NAVER_CATEGORIES.get(kind, Category.OTHER), title, body))
    return found


def append_templates(path: Path, new: Sequence[Template], *, source: str, today: date) -> ImportReport:
    """Append the templates whose names are not in `path` yet (comments and all else kept; the old file kept as
    `<name>.bak`); the result is parsed before it replaces the file."""
    text = _read(path) if path.exists() else _NEW_FILE
    have = {t.name for t in (load_templates(path) if path.exists() else ())}
    added: list[Template] = []
    skipped: list[str] = []
    for template in new:
        if template.name in have:
            skipped.append(template.name)
        else:
            have.add(template.name)
            added.append(template)
    if not added:
        return ImportReport((), tuple(skipped))
    import tomlkit  # only here, to append imported templates: a running daemon never holds it (~0.4 MiB)

    addition = tomlkit.document()
    addition.add(tomlkit.comment(f"── {source}에서 가져옴 ({today.isoformat()}) ──"))
    tables = tomlkit.aot()
    for template in added:
        table = tomlkit.table()
        table.add("name", template.name)
        table.add("category", template.category.value)
        table.add("title", template.title)
        table.add("body", tomlkit.string(template.body + "\n", multiline=True))
        tables.append(table)
    addition.append("templates", tables)
    updated = text.rstrip("\n") + "\n\n" + tomlkit.dumps(addition)
    try:
        parse_templates(updated)
    except TemplateError as err:  # e.g. a file that writes its templates as an inline array
        raise TemplatesFileError(f"{path}: cannot append to it: {_with_name(str(err), updated)}") from err
    return ImportReport(tuple(t.name for t in added), tuple(skipped), _replace(path, updated))


def _replace(path: Path, text: str) -> Path | None:
    """Write `text` to `path` atomically, the old file copied to `<name>.bak` first; returns the backup."""
    backup = None
    if path.exists():
        backup = path.with_name(path.name + ".bak")
        shutil.copy2(path, backup)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return backup
