"""What every group of `inqd init` questions (accounts, hours, channel) needs of the wizard that mixes them in.

The wizard owns the console, the config file and the ask-validate-check loop that every account and channel goes
through; each group of steps asks its own questions and hands its drafts to that loop.
A helper of the init_wizard composition root: it may import anything of ours.
"""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod

import httpx

from aggregator.init.config import EXIT_USAGE, ConfigFile, Draft, Hours, StopInit
from aggregator.init.console import Console
from aggregator.init.texts import Lang, say
from core.clock import Clock
from core.redact import SecretScrubber


def flag_values(flag: str, text: str, allowed: set[str]) -> dict[str, str]:
    """The `KEY=VALUE,...` part of an --account or --channel flag; raises StopInit on a key not in `allowed`."""
    values: dict[str, str] = {}
    for part in filter(None, text.split(",")):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in allowed:
            raise StopInit(EXIT_USAGE, f"{flag}: unknown key {key.strip()!r} (expected {', '.join(sorted(allowed))})")
        values[key.strip()] = value.strip()
    return values


class WizardSteps(ABC):
    """The wizard's state and loop, as its groups of steps see them."""

    args: argparse.Namespace
    io: Console
    lang: Lang
    file: ConfigFile
    drafts: list[Draft]
    hours: Hours
    scrubber: SecretScrubber
    clock: Clock
    transport: httpx.AsyncBaseTransport | None

    @property
    def interactive(self) -> bool:
        """False with --non-interactive: flags and defaults only."""
        return self.io.interactive

    def _section(self, key: str) -> None:
        """Announce the section `key` when asking questions."""
        if self.interactive:
            self.io.say(say(self.lang, key))

    @abstractmethod
    def _draft(self, section: str, kind: str, owner: str, given: dict[str, str], flag: str) -> Draft:
        """The draft of `owner`: what the config, the flags, env and secrets_dir know of it."""

    @abstractmethod
    def _settle(self, draft: Draft, *, ask_all: bool) -> None:
        """Ask what is missing, validate, check; again until it passes."""
