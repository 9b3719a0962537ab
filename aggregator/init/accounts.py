"""The marketplace accounts of `inqd init`: the --account flag, which accounts to set up, one real poll of each.

The wizard mixes these steps in: it owns the console, the config and the ask-validate-check loop that every
account and channel goes through.
A helper of the init_wizard composition root: it may import anything of ours.
"""

from __future__ import annotations

import argparse
import asyncio
from abc import ABC, abstractmethod
from typing import Any, Protocol

import httpx

from aggregator.init.config import (
    ACCOUNT_FIELDS,
    EXIT_FAILED,
    EXIT_USAGE,
    OWNER_ID,
    ConfigFile,
    Draft,
    StopInit,
)
from aggregator.init.texts import Lang, auth_hint, market_name, say
from aggregator.settings import Account
from aggregator.wiring import build_connector
from connectors.base import AuthFailed, ConnectorError
from core.clock import Clock
from core.models import Marketplace
from core.redact import SecretScrubber

CHECK_TIMEOUT_S = 60.0


class Prompts(Protocol):
    """The console questions the account steps ask."""

    def say(self, text: str) -> None:
        """Write one message."""

    def ask(self, prompt: str, default: str = "", *, optional: bool = False) -> str:
        """A value; Enter takes `default`."""

    def yes(self, prompt: str, default: bool) -> bool:
        """y or n; Enter takes `default`."""


def flag_values(flag: str, text: str, allowed: set[str]) -> dict[str, str]:
    """The `KEY=VALUE,...` part of an --account or --channel flag; raises StopInit on a key not in `allowed`."""
    values: dict[str, str] = {}
    for part in filter(None, text.split(",")):
        key, sep, value = part.partition("=")
        if not sep or key.strip() not in allowed:
            raise StopInit(EXIT_USAGE, f"{flag}: unknown key {key.strip()!r} (expected {', '.join(sorted(allowed))})")
        values[key.strip()] = value.strip()
    return values


class AccountSteps(ABC):
    """The account steps of the wizard, which mixes them in: --account, the questions, the credential check."""

    # The wizard's state, shared with its hours and channel steps.
    args: argparse.Namespace
    io: Prompts
    lang: Lang
    file: ConfigFile
    drafts: list[Draft]
    scrubber: SecretScrubber
    clock: Clock
    transport: httpx.AsyncBaseTransport | None

    @property
    @abstractmethod
    def interactive(self) -> bool:
        """False with --non-interactive: flags and defaults only."""

    @abstractmethod
    def _section(self, key: str) -> None:
        """Announce the section `key` when asking questions."""

    @abstractmethod
    def _draft(self, section: str, kind: str, owner: str, given: dict[str, str], flag: str) -> Draft:
        """The draft of `owner`: what the config, the flags, env and secrets_dir know of it."""

    @abstractmethod
    def _settle(self, draft: Draft, *, ask_all: bool) -> None:
        """Ask what is missing, validate, check; again until it passes."""

    def _account_flag(self, spec: str) -> Draft:
        kind, _, rest = spec.partition(":")
        owner, _, text = rest.partition(":")
        if "=" in owner:  # no id given: "coupang:vendor_id=..."
            owner, text = "", rest
        if kind not in ACCOUNT_FIELDS:
            raise StopInit(
                EXIT_USAGE,
                f"--account {spec.split(':')[0]}: unknown marketplace (expected coupang, naver, elevenst, esm)",
            )
        flag = f"--account {kind}:{owner or kind}"
        if not OWNER_ID.match(owner or kind):
            raise StopInit(EXIT_USAGE, f"{flag}: the id must be 1-40 of a-z 0-9 - _, starting with a letter or digit")
        given = flag_values(flag, text, {f.name for f in ACCOUNT_FIELDS[kind]} | {"base_url"})
        return self._draft("accounts", kind, owner or kind, given, flag)

    def _accounts(self, flagged: list[Draft]) -> None:
        self._section("section_accounts")
        for draft in flagged:
            self._settle(draft, ask_all=False)
        if flagged or not self.interactive:
            return
        for marketplace in Marketplace:
            market = market_name(self.lang, marketplace)
            kind = marketplace.value
            mine = [t for t in self.file.tables("accounts") if t.get("marketplace") == kind]
            for table in mine:
                if self.io.yes(say(self.lang, "edit_account", market=market, owner=table.get("id")), False):
                    self._settle(
                        self._draft("accounts", kind, str(table.get("id")), {}, str(table.get("id"))), ask_all=True
                    )
            question = "add_another" if mine else "add_account"
            while self.io.yes(say(self.lang, question, market=market), False):
                owner = self._ask_owner(kind)
                self._settle(self._draft("accounts", kind, owner, {}, owner), ask_all=True)
                question = "add_another"
        if not self.file.tables("accounts") and not self.drafts:
            self.io.say(say(self.lang, "no_accounts"))

    def _ask_owner(self, kind: str) -> str:
        taken = {str(t.get("id")) for t in self.file.tables("accounts")} | {d.owner for d in self.drafts}
        default = next(n for n in (kind, *(f"{kind}-{i}" for i in range(2, 100))) if n not in taken)
        while True:
            owner = self.io.ask(say(self.lang, "account_id"), default)
            if not OWNER_ID.match(owner):
                self.io.say(say(self.lang, "bad_id"))
            elif owner in taken:
                self.io.say(say(self.lang, "id_taken", owner=owner))
            else:
                return owner

    def _check(self, draft: Draft, account: Any) -> bool:
        """One real poll of today's window: True to keep the account, False to ask again."""
        if self.args.no_check:
            return True
        market = market_name(self.lang, account.marketplace_kind)
        self.io.say(say(self.lang, "checking", market=market))
        probe = account.model_copy(update={"backfill_days": 0, "recheck_days": 1})
        error = asyncio.run(self._poll_once(probe))
        if error is None:
            self.io.say(say(self.lang, "check_ok", market=market))
            return True
        text = self.scrubber.scrub(str(error) or type(error).__name__)
        if isinstance(error, AuthFailed):
            hint = auth_hint(self.lang, account.marketplace_kind)
            self.io.say(say(self.lang, "auth_failed", market=market, error=text, hint=hint))
            if not self.interactive:
                raise StopInit(EXIT_FAILED, f"{draft.flag}: the marketplace refused the credentials ({text})")
            if self.io.yes(say(self.lang, "retry_account"), True):
                return False
            raise StopInit(EXIT_FAILED, say(self.lang, "quit"))
        self.io.say(say(self.lang, "unreachable", market=market, error=text))
        if not self.interactive or self.io.yes(say(self.lang, "keep_anyway"), True):
            self.io.say(say(self.lang, "kept_unchecked"))
            return True
        return False

    async def _poll_once(self, account: Account) -> ConnectorError | TimeoutError | None:
        connector = build_connector(account, clock=self.clock, transport=self.transport)
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                await connector.poll(account.stream_kinds[0], None, now=self.clock.now())
        except (ConnectorError, TimeoutError) as err:
            return err
        finally:
            await connector.aclose()
        return None
