"""`inqd init`: a guided setup that writes a commented config and the secrets (0600) it needs.

It asks for each marketplace account and checks it with one real poll, asks for quiet and work hours, sets up
one phone channel and sends a test to it. Flags answer questions ahead (`--non-interactive` asks nothing).
On an existing config it edits in place with tomlkit: comments and every key it did not ask about stay.
The questions are grouped in steps the wizard mixes in: init.accounts (and their check), init.hours and
init.channels (and the test notification); the console is init.console, the writing of the config and secrets
init.config. The wizard keeps what they share: each draft's defaults and the ask-validate-check loop.
A composition root: it may import anything of ours.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import httpx
from pydantic import TypeAdapter, ValidationError

from aggregator.init.accounts import AccountSteps
from aggregator.init.channels import ChannelSteps
from aggregator.init.config import EXIT_USAGE, ConfigFile, Draft, Hours, StopInit, owner_of
from aggregator.init.console import Console, EndOfInput
from aggregator.init.hours import HoursSteps
from aggregator.init.texts import field_prompt, say
from aggregator.language import LANGS, run_language
from aggregator.logs import configure_logging
from aggregator.settings import Account, NotifierConfig, secret_env_name
from core.clock import Clock, SystemClock
from core.redact import SecretScrubber

_ACCOUNTS: TypeAdapter[Any] = TypeAdapter(Account)
_CHANNELS: TypeAdapter[Any] = TypeAdapter(NotifierConfig)


def _problem_lines(err: ValidationError, kind: str) -> list[str]:
    lines = []
    for error in err.errors(include_url=False, include_input=False):  # never the input: it may be a secret
        path = [str(p) for p in error["loc"] if p != kind and not str(p).startswith("function-")]
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "sub_path":
            path.append(str(error["ctx"]["sub_path"]))
            message = str(error["ctx"]["message"])
        lines.append(f"{'.'.join(path) or kind}: {message}")
    return lines


class _Wizard(AccountSteps, HoursSteps, ChannelSteps):
    """One run of `inqd init`."""

    def __init__(
        self,
        args: argparse.Namespace,
        io: Console,
        scrubber: SecretScrubber,
        *,
        transport: httpx.AsyncBaseTransport | None,
        clock: Clock,
    ) -> None:
        self.args, self.io, self.lang, self.scrubber = args, io, io.lang, scrubber
        self.transport, self.clock = transport, clock
        self.file = ConfigFile(args.config, secrets_dir=args.secrets_dir, db_path=args.db_path, lang=io.lang)
        self.drafts: list[Draft] = []
        self.hours = Hours()

    def run(self) -> int:
        """Ask, check, write; returns the exit code."""
        accounts = [self._account_flag(spec) for spec in self.args.account or ()]
        channel = self._channel_flag(self.args.channel) if self.args.channel else None
        quiet = self._hours_flag("--quiet", self.args.quiet, none_ok=True)
        work = self._hours_flag("--work", self.args.work, none_ok=False)
        if not self.interactive and not self.file.existing and not accounts:
            raise StopInit(EXIT_USAGE, "--account: at least one account is needed for a new config")
        self.io.say(say(self.lang, "intro", path=self.file.path))
        self.io.say(say(self.lang, "intro_edit" if self.file.existing else "intro_new"))
        if self.interactive:
            self.io.say(say(self.lang, "intro_enter"))
        self._accounts(accounts)
        self._hours(quiet, work)
        self._channel(channel)
        return self.file.save(self.drafts, self.hours, tell=self.io.say)

    def _draft(self, section: str, kind: str, owner: str, given: dict[str, str], flag: str) -> Draft:
        kind_key = "marketplace" if section == "accounts" else "type"
        base = next((t for t in self.file.tables(section) if owner_of(section, t) == owner), {})
        if base and base.get(kind_key) != kind:
            raise StopInit(EXIT_USAGE, f"{flag}: {owner!r} is already a {base.get(kind_key)} entry in {self.file.path}")
        draft = Draft(section, kind, owner, dict(base), flag)
        if not base and kind == "ntfy":
            draft.values = {"server_url": "https://ntfy.sh", "topic": "inqd-" + secrets.token_urlsafe(18)}
        for f in draft.fields:
            value = given.pop(f.name, "")
            env = os.environ.get(secret_env_name(owner, f.name), "").strip() if f.secret else ""
            stored = self.file.secrets_dir / f"{owner}.{f.name}"
            if f.secret and (value or env):
                draft.secrets[f.name] = value or env
                if not value:
                    draft.from_env.add(f.name)
            elif f.secret and stored.is_file():
                draft.secrets[f.name] = stored.read_text(encoding="utf-8").strip()
            elif f.secret and isinstance(base.get(f.name), str):
                draft.secrets[f.name] = base[f.name]  # written in the TOML by hand: moved to secrets_dir
            elif value:
                draft.values[f.name] = value
        draft.values.update(given)  # base_url
        self.scrubber.add(draft.secrets.values())
        return draft

    def _settle(self, draft: Draft, *, ask_all: bool) -> None:
        """Ask what is missing (everything with `ask_all`), validate, check; again until it passes."""
        typed: set[str] = set()
        while True:
            self._fill(draft, ask_all=ask_all, typed=typed)
            adapter = _ACCOUNTS if draft.section == "accounts" else _CHANNELS
            try:
                model = adapter.validate_python(draft.entry())
            except ValidationError as err:
                problems = [self.scrubber.scrub(p) for p in _problem_lines(err, draft.kind)]
                if not self.interactive:
                    raise StopInit(EXIT_USAGE, f"{draft.flag}: {problems[0]}") from err
                for problem in problems:
                    self.io.say(say(self.lang, "invalid", problem=problem))
                ask_all = True
                continue
            if self._check(draft, model) if draft.section == "accounts" else self._test(draft, model):
                break
            ask_all = True
        self.drafts = [d for d in self.drafts if (d.section, d.owner) != (draft.section, draft.owner)] + [draft]

    def _fill(self, draft: Draft, *, ask_all: bool, typed: set[str]) -> None:
        for f in draft.fields:
            current = draft.secrets.get(f.name, "") if f.secret else draft.current(f.name)
            if not self.interactive or not (ask_all or not (current or f.optional)):
                if not current and not f.optional:
                    env = f" or set env {secret_env_name(draft.owner, f.name)}" if f.secret else ""
                    raise StopInit(EXIT_USAGE, f"{draft.flag}: {f.name} missing (add {f.name}=...{env})")
                continue
            prompt = field_prompt(self.lang, draft.kind, f.name)
            if not f.secret:
                draft.values[f.name] = self.io.ask(prompt, current, optional=f.optional)
                continue
            keep = ""
            if current:
                env_name = secret_env_name(draft.owner, f.name)
                keep = say(self.lang, "keep_typed" if f.name in typed else "keep_stored")
                keep = say(self.lang, "keep_env", env=env_name) if f.name in draft.from_env else keep
            answer = self.io.secret(prompt, keep, optional=f.optional)
            if answer:
                self.scrubber.add([answer])
                draft.secrets[f.name] = answer
                draft.from_env.discard(f.name)
                typed.add(f.name)


def _add_flags(parser: argparse.ArgumentParser) -> None:
    env = "INQD_<ID>__<FIELD>, e.g. INQD_MYSHOP_COUPANG__SECRET_KEY"
    parser.add_argument("--config", "-c", type=Path, default=Path("inqd.toml"), help="config file to write or edit")
    parser.add_argument(
        "--secrets-dir", type=Path, default=None, help="where secrets go (default: <config dir>/secrets)"
    )
    parser.add_argument("--db-path", type=Path, default=None, help="the database (default: <config dir>/inqd.db)")
    parser.add_argument(
        "--lang", choices=LANGS, default=None, help="language of prompts and comments (default: ko, or en_* LANG)"
    )
    parser.add_argument("--non-interactive", action="store_true", help="never prompt: flags and defaults only")
    parser.add_argument(
        "--account",
        action="append",
        default=None,
        metavar="MARKET:ID[:KEY=VALUE,...]",
        help="an account, e.g. coupang:myshop:vendor_id=A00012345 (repeatable). Keys: coupang vendor_id, "
        "access_key, secret_key, key_issued_at; naver client_id, client_secret; elevenst api_key; esm master_id, "
        "gmarket_seller_id, auction_seller_id, secret_key; any: base_url (a test server). Secrets as KEY=VALUE end "
        f"up in your shell history: set them as env vars named like the daemon's instead ({env})",
    )
    parser.add_argument("--quiet", default=None, metavar="HOURS", help='quiet hours, e.g. "22:00-09:00" or "none"')
    parser.add_argument(
        "--holidays-quiet",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep every public holiday quiet all day (default: yes)",
    )
    parser.add_argument("--work", default=None, metavar="HOURS", help='work hours, e.g. "mon-fri 13:00-18:00"')
    parser.add_argument(
        "--channel",
        default=None,
        metavar="TYPE[:KEY=VALUE,...]",
        help="the phone channel: ntfy:topic=...[,server_url=...], telegram:chat_id=..., "
        "sms:api_key=...,sender=...,recipient=..., kakao:rest_api_key=...[,client_secret=...] (then inqd "
        "kakao-login), or sink; name=... to name it. Its secrets (token, bot_token, "
        "api_secret) from env too, e.g. INQD_PHONE__TOKEN for the ntfy channel 'phone'",
    )
    parser.add_argument("--no-check", action="store_true", help="do not check the accounts with the marketplace")
    parser.add_argument("--no-test", action="store_true", help="do not send a test notification")


def add_init_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `init` subcommand and its flags."""
    parser = sub.add_parser(
        "init",
        help="guided setup: accounts, quiet and work hours, one phone channel",
        description="Write or edit a config (and its secrets, mode 0600) step by step. Re-running edits it.",
    )
    _add_flags(parser)


def run_init(
    args: argparse.Namespace,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
) -> int:
    """Run `inqd init`: 0 saved, 1 a check failed and the user quit, 2 bad input (nothing saved but on 0)."""
    args.lang = run_language(args.lang, os.environ)
    io = Console(stdin or sys.stdin, stdout or sys.stdout, args.lang, interactive=not args.non_interactive)
    scrubber = configure_logging(level="ERROR")
    try:
        wizard = _Wizard(args, io, scrubber, transport=transport, clock=clock or SystemClock())
        return wizard.run()
    except StopInit as stop:
        if stop.line:
            sys.stderr.write(f"inqd init: {scrubber.scrub(stop.line)}\n")
        return stop.code
    except EndOfInput:
        io.say("\n" + say(args.lang, "eof"))
        return EXIT_USAGE
    except KeyboardInterrupt:
        io.say("\n" + say(args.lang, "interrupted"))
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """`inqd init` on its own: `python -m aggregator.init.wizard [flags]`."""
    parser = argparse.ArgumentParser(prog="inqd init", description="Guided setup of an inqd config.")
    _add_flags(parser)
    return run_init(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
