"""`inqd init`: a guided setup that writes a commented config and the secrets (0600) it needs.

It asks for each marketplace account and checks it with one real poll, asks for quiet and work hours, sets up
one phone channel and sends a test to it. Flags answer questions ahead (`--non-interactive` asks nothing).
On an existing config it edits in place with tomlkit: comments and every key it did not ask about stay.
The writing of the config and secrets is in init_config, the account questions and check in init_accounts.
A composition root: it may import anything of ours.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import re
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import httpx
from pydantic import TypeAdapter, ValidationError

from aggregator.init.accounts import AccountSteps, flag_values
from aggregator.init.config import (
    CHANNEL_FIELDS,
    EXIT_FAILED,
    EXIT_USAGE,
    OWNER_ID,
    ConfigFile,
    Draft,
    Hours,
    StopInit,
    owner_of,
)
from aggregator.init.texts import Lang, field_prompt, say
from aggregator.logs import configure_logging
from aggregator.notifiers.base import DeliveryError
from aggregator.render import channel_test_messages
from aggregator.settings import Account, secret_env_name
from aggregator.settings.notify import NotifierConfig
from aggregator.wiring import build_notifier
from core.clock import Clock, SystemClock
from core.redact import SecretScrubber
from policies.intervals import IntervalError, parse_interval
from policies.intervals_parse import WEEKDAYS, parse_time_range

CHANNEL_NAMES = {"ntfy": "phone", "telegram": "telegram", "sms": "sms", "sink": "sink"}
_ACCOUNTS: TypeAdapter[Any] = TypeAdapter(Account)
_CHANNELS: TypeAdapter[Any] = TypeAdapter(NotifierConfig)
_YES = {"y", "yes", "예", "네", "ㅇ"}
_NO = {"n", "no", "아니오", "아니요", "ㄴ"}

# The built-in intervals of settings_policy, as the specs an answer is compared with.
_BUILTIN: dict[str, dict[str, list[str]]] = {
    "night": {"times": ["22:00-09:00"]},
    "cs-hours": {"weekdays": ["monday:friday"], "times": ["13:00-18:00"]},
}
_DAYS = {d: d for d in WEEKDAYS} | {d[:3]: d for d in WEEKDAYS} | dict(zip("월화수목금토일", WEEKDAYS, strict=True))
_NONE_WORDS = {"none", "없음", "-"}


class _EndOfInput(Exception):
    """stdin ended before the wizard did."""


def parse_hours(text: str) -> dict[str, list[str]] | None:
    """An answer such as `"mon-fri 13:00-18:00"` or `"22:00-09:00"` as one interval spec; None for "none".

    Raises IntervalError (one readable line) when the policies' own parser refuses it.
    """
    if text.strip().lower() in _NONE_WORDS:
        return None
    days: list[str] = []
    times: list[str] = []
    for token in re.split(r"[\s,]+", text.strip().replace("~", "-")):
        if not token or token.lower() in {"daily", "매일"}:
            continue
        if token[0].isdigit():
            times.append(token)
            continue
        first, sep, last = token.lower().partition("-")
        days.append(f"{_DAYS.get(first, first)}:{_DAYS.get(last, last)}" if sep else _DAYS.get(first, first))
    if not times:
        raise IntervalError("times", "give a time range such as 22:00-09:00")
    spec = {"weekdays": days, "times": times} if days else {"times": times}
    parse_interval("answer", [spec])
    minutes = [parse_time_range(t, "times") for t in times]  # canonical HH:MM, so equal answers compare equal
    spec["times"] = [f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in minutes]
    return spec


def hours_text(spec: dict[str, Any]) -> str:
    """The answer form of a spec: `"mon-fri 13:00-18:00"`."""
    days = ",".join("-".join(p[:3] for p in str(d).split(":")) for d in spec.get("weekdays", ()))
    return f"{days} {', '.join(spec['times'])}".strip()


class _Console:
    """Prompts on `out`, answers from `inp`; secrets are read hidden when `inp` is a terminal."""

    def __init__(self, inp: TextIO, out: TextIO, lang: Lang, *, interactive: bool) -> None:
        self.inp, self.out, self.lang, self.interactive = inp, out, lang, interactive

    def say(self, text: str) -> None:
        """Write one message."""
        self.out.write(text + "\n")
        self.out.flush()

    def line(self, prompt: str) -> str:
        """One answer, stripped; raises _EndOfInput at the end of stdin."""
        self.out.write(prompt)
        self.out.flush()
        answer = self.inp.readline()
        if not answer:
            raise _EndOfInput
        return answer.strip()

    def ask(self, prompt: str, default: str = "", *, optional: bool = False) -> str:
        """A value; Enter takes `default`."""
        while True:
            answer = self.line(f"{prompt} [{default}]: " if default else f"{prompt}: ") or default
            if answer or optional:
                return answer
            self.say(say(self.lang, "required"))

    def secret(self, prompt: str, keep: str, *, optional: bool) -> str:
        """A secret, never echoed on a terminal; "" means keep the current one (`keep` names it) or none."""
        shown = f"{prompt} [{keep}]: " if keep else f"{prompt}: "
        while True:
            if self.inp.isatty():
                try:
                    answer = getpass.getpass(shown, stream=self.out).strip()
                except EOFError as err:
                    raise _EndOfInput from err
            else:
                answer = self.line(shown)
            if answer or keep or optional:
                return answer
            self.say(say(self.lang, "required"))

    def yes(self, prompt: str, default: bool) -> bool:
        """y or n; Enter takes `default`."""
        while True:
            answer = self.line(f"{prompt} [{'Y/n' if default else 'y/N'}]: ").lower()
            if not answer:
                return default
            if answer in _YES or answer in _NO:
                return answer in _YES
            self.say(say(self.lang, "yes_no"))

    def choose(self, prompt: str, count: int, default: int) -> int:
        """A number 1..count."""
        while True:
            answer = self.line(f"{prompt} [{default}]: ") or str(default)
            if answer.isdigit() and 1 <= int(answer) <= count:
                return int(answer)
            self.say(say(self.lang, "pick_number", count=count))


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


class _Wizard(AccountSteps):
    """One run of `inqd init`."""

    io: _Console  # the account steps need only its Prompts; the rest of the wizard needs all of it

    def __init__(
        self,
        args: argparse.Namespace,
        io: _Console,
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

    @property
    def interactive(self) -> bool:
        """False with --non-interactive: flags and defaults only."""
        return self.io.interactive

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

    def _section(self, key: str) -> None:
        if self.interactive:
            self.io.say(say(self.lang, key))

    # --- flags -------------------------------------------------------------------------------------------------

    def _channel_flag(self, spec: str) -> Draft:
        kind, _, text = spec.partition(":")
        if kind not in CHANNEL_FIELDS:
            raise StopInit(EXIT_USAGE, f"--channel {kind}: unknown channel (expected ntfy, telegram, sms, sink)")
        allowed = (
            {f.name for f in CHANNEL_FIELDS[kind]} | {"name"} | ({"base_url"} if kind in {"sms", "telegram"} else set())
        )
        given = flag_values(f"--channel {kind}", text, allowed)
        name = given.pop("name", "") or self._channel_name(kind)
        if not OWNER_ID.match(name):
            raise StopInit(
                EXIT_USAGE, f"--channel {kind}: the name must be 1-40 of a-z 0-9 - _, starting with a letter or digit"
            )
        return self._draft("notifiers", kind, name, given, f"--channel {kind}")

    def _hours_flag(self, flag: str, text: str | None, *, none_ok: bool) -> str | None:
        if text is None:
            return None
        try:
            if parse_hours(text) is None and not none_ok:
                raise IntervalError("times", "give a time range such as 13:00-18:00")
        except IntervalError as err:
            raise StopInit(EXIT_USAGE, f"{flag}: {err}") from err
        return text

    # --- drafts ------------------------------------------------------------------------------------------------

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

    # --- checks ------------------------------------------------------------------------------------------------

    def _test(self, draft: Draft, channel: Any) -> bool:
        """The test notifications of `inqd test-notify`: True to keep the channel, False to ask again."""
        if draft.kind == "sink" or self.args.no_test:
            return True
        if draft.kind == "ntfy" and self.interactive:
            self.io.line(say(self.lang, "ntfy_subscribe", topic=channel.topic, server=channel.server_url) + " ")
        elif draft.kind == "ntfy":
            self.io.say(say(self.lang, "ntfy_topic", topic=channel.topic, server=channel.server_url))
        self.io.say(say(self.lang, "sending_test", name=draft.owner))
        messages = channel_test_messages(draft.owner, now=self.clock.now())
        messages = messages[1:] if draft.kind == "sms" else messages  # SMS costs money: the max-priority one only
        error = asyncio.run(self._send(channel, messages))
        if error is None:
            self.io.say(say(self.lang, "test_ok", count=len(messages)))
            return True
        text = self.scrubber.scrub(str(error))
        self.io.say(say(self.lang, "test_failed", error=text))
        if not self.interactive:
            if error.retryable:
                return True
            raise StopInit(EXIT_FAILED, f"{draft.flag}: the test notification was refused ({text})")
        return not self.io.yes(say(self.lang, "reenter_channel"), True)

    async def _send(self, channel: NotifierConfig, messages: Sequence[Any]) -> DeliveryError | None:
        notifier = build_notifier(channel, clock=self.clock)
        try:
            for message in messages:
                await notifier.send(message)
        except DeliveryError as err:
            return err
        finally:
            await notifier.aclose()
        return None

    # --- questions ---------------------------------------------------------------------------------------------

    def _channel_name(self, kind: str) -> str:
        types = {owner_of("notifiers", t): t.get("type") for t in self.file.tables("notifiers")}
        for name in (CHANNEL_NAMES[kind], kind, *(f"{kind}-{i}" for i in range(2, 100))):
            if types.get(name, kind) == kind:
                return name
        raise StopInit(EXIT_USAGE, "--channel: too many channels of one type")

    def _channel(self, flagged: Draft | None) -> None:
        self._section("section_channel")
        if flagged is not None:
            self._settle(flagged, ask_all=False)
            return
        if not self.interactive:
            return
        phones = [f"{owner_of('notifiers', t)} ({t.get('type')})" for t in self.file.tables("notifiers")]
        phones = [p for p in phones if not p.endswith("(sink)")]
        if phones and not self.io.yes(say(self.lang, "change_channel", names=", ".join(phones)), False):
            return
        self.io.say(say(self.lang, "channel_menu"))
        kind = ("ntfy", "telegram", "sms", "sink")[self.io.choose(say(self.lang, "number"), 4, 1) - 1]
        if kind == "sink" and self.file.tables("notifiers"):
            return
        if kind == "ntfy":
            self.io.say(say(self.lang, "ntfy_public"))
        self._settle(self._draft("notifiers", kind, self._channel_name(kind), {}, kind), ask_all=True)

    def _hours(self, quiet_flag: str | None, work_flag: str | None) -> None:
        self._section("section_hours")
        user = {str(t.get("name")): t.get("time_intervals") for t in self.file.tables("time_intervals")}
        quiet_now = list(self.file.plain.get("quiet_hours", ["night", "closed-days"]))
        holidays_now = "closed-days" in quiet_now
        quiet = self._ask_hours("quiet", quiet_flag, [n for n in quiet_now if n != "closed-days"], user)
        holidays = self.args.holidays_quiet
        if holidays is None:
            holidays = self.io.yes(say(self.lang, "holidays_quiet"), holidays_now) if self.interactive else holidays_now
        quiet += ["closed-days"] if holidays else []
        if sorted(quiet) != sorted(quiet_now):
            self.hours.quiet = quiet
        work_now = list(self.file.plain.get("work_hours", ["cs-hours"]))
        work = self._ask_hours("work", work_flag, work_now, user)
        if sorted(work) != sorted(work_now):
            self.hours.work = work

    def _ask_hours(self, own: str, flag: str | None, names: list[str], user: dict[str, Any]) -> list[str]:
        """The interval names of the answer; a new spec is kept in self.hours.intervals under `own`."""
        specs = (user.get(names[0]) or [_BUILTIN.get(names[0])]) if len(names) == 1 else None
        spec_now = specs[0] if isinstance(specs, list) and len(specs) == 1 and isinstance(specs[0], dict) else None
        # Only a plain "days + times" spec can be shown as an answer; anything richer is kept as it is.
        simple = (
            spec_now
            if spec_now is not None
            and set(spec_now) <= {"times", "weekdays"}
            and all(isinstance(v, list) and all(isinstance(i, str) for i in v) for v in spec_now.values())
            and spec_now.get("times")
            else None
        )
        text_now = ("none" if self.lang == "en" else "없음") if not names else hours_text(simple) if simple else ""
        if flag is None and not self.interactive:
            return names
        while True:
            default = text_now or say(self.lang, "keep_current", names=", ".join(names))
            answer = flag if flag is not None else self.io.ask(say(self.lang, own), default)
            if answer == default and not text_now:
                return names
            try:
                spec = parse_hours(answer)
                if spec is None and own == "work":
                    raise IntervalError("times", say(self.lang, "need_range"))
            except IntervalError as err:
                self.io.say(say(self.lang, "invalid", problem=str(err)))
                continue
            break
        if spec is None:
            return []
        if simple and spec == simple:
            return names
        builtin = "night" if own == "quiet" else "cs-hours"
        if spec == _BUILTIN[builtin] and builtin not in user:
            return [builtin]
        self.hours.intervals[own] = spec
        return [own]


def _add_flags(parser: argparse.ArgumentParser) -> None:
    env = "INQD_<ID>__<FIELD>, e.g. INQD_MYSHOP_COUPANG__SECRET_KEY"
    parser.add_argument("--config", "-c", type=Path, default=Path("inqd.toml"), help="config file to write or edit")
    parser.add_argument(
        "--secrets-dir", type=Path, default=None, help="where secrets go (default: <config dir>/secrets)"
    )
    parser.add_argument("--db-path", type=Path, default=None, help="the database (default: <config dir>/inqd.db)")
    parser.add_argument("--lang", choices=("ko", "en"), default="ko", help="language of prompts and comments")
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
        "sms:api_key=...,sender=...,recipient=..., or sink; name=... to name it. Its secrets (token, bot_token, "
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
    io = _Console(stdin or sys.stdin, stdout or sys.stdout, args.lang, interactive=not args.non_interactive)
    scrubber = configure_logging(level="ERROR")
    try:
        wizard = _Wizard(args, io, scrubber, transport=transport, clock=clock or SystemClock())
        return wizard.run()
    except StopInit as stop:
        if stop.line:
            sys.stderr.write(f"inqd init: {scrubber.scrub(stop.line)}\n")
        return stop.code
    except _EndOfInput:
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
