"""The marketplace accounts of `inqd init`: the --account flag, which accounts to set up, one real poll of each.

The wizard mixes these steps in (see init.steps).
A helper of the init wizard composition root: it may import anything of ours.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aggregator.init.config import (
    ACCOUNT_FIELDS,
    EXIT_FAILED,
    EXIT_USAGE,
    OWNER_ID,
    Draft,
    StopInit,
)
from aggregator.init.steps import WizardSteps, flag_values
from aggregator.init.texts import auth_hint, market_name, say
from aggregator.settings import Account
from aggregator.wiring.connectors import build_connector
from connectors.base import AuthFailed, ConnectorError
from core.models import Marketplace

CHECK_TIMEOUT_S = 60.0


class AccountSteps(WizardSteps):
    """The account steps of the wizard, which mixes them in: --account, the questions, the credential check."""

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
