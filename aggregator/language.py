"""One language per run: Korean, or English with `--lang en` (or an English locale when --lang is not given).

Every table of words a seller reads holds both languages side by side, key -> (Korean, English), so a sentence
is never written in one and forgotten in the other. A Korean template writes `{name:을}` for a value followed by
its particle: the right form (을 or 를) is chosen by how the value ends (see core.particles).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any, Literal, cast

from core.particles import PARTICLE_FORMS, particle

Lang = Literal["ko", "en"]
LANGS: tuple[Lang, ...] = ("ko", "en")
# Read in this order, as the C library reads them for messages.
_LOCALE_VARS = ("LC_ALL", "LC_MESSAGES", "LANG")


def run_language(flag: str | None, environ: Mapping[str, str]) -> Lang:
    """The language of this run: `flag` when given, else English for an `en_*` locale, else Korean."""
    if flag is not None:
        return cast(Lang, flag)
    locale = next((environ[name] for name in _LOCALE_VARS if environ.get(name)), "")
    return "en" if locale.lower().startswith("en") else "ko"


class _WithParticles(string.Formatter):
    """str.format, where a particle as the format spec (`{word:을}`) appends that particle's right form."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec in PARTICLE_FORMS:
            text = str(value)
            return text + particle(text, format_spec)
        return str(super().format_field(value, format_spec))


_FORMATTER = _WithParticles()


class Texts:
    """A table of texts in both languages: key -> (Korean, English), each a str.format template."""

    def __init__(self, table: Mapping[str, tuple[str, str]]) -> None:
        self._table = table

    def __contains__(self, key: object) -> bool:
        return key in self._table

    def __call__(self, lang: Lang, key: str, /, **values: object) -> str:
        """The text `key` in `lang`, with `values` filled in."""
        ko, en = self._table[key]
        return _FORMATTER.format(ko if lang == "ko" else en, **values)
