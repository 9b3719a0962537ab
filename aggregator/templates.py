"""Reading the seller's templates file: the I/O around policies.templates (which parses and renders, purely)."""

from __future__ import annotations

from pathlib import Path

from policies.templates import Template, TemplateError, parse_templates


class TemplatesFileError(Exception):
    """The templates file cannot be used; the message names the file and, where it can, the key."""


def load_templates(path: Path) -> tuple[Template, ...]:
    """The templates in `path`; TemplatesFileError names the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise TemplatesFileError(f"{path}: no templates file (inqd init writes a starter set)") from err
    except (OSError, UnicodeDecodeError) as err:
        raise TemplatesFileError(f"{path}: cannot read: {err}") from err
    try:
        return parse_templates(text)
    except TemplateError as err:
        raise TemplatesFileError(f"{path}: {err}") from err
