"""The `inqd` command: parse arguments, load settings, run a subcommand. Config errors exit 2, one line each.

One language per run: Korean, or English with `--lang en` (before or after the command) or an English locale.
Commands that use no secret (queue, schedule, explain, status, the seller controls) read the config without them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import date, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

from aggregator.cli.stops import Stops
from aggregator.cli.words import Words
from aggregator.language import LANGS, run_language
from aggregator.logs import configure_logging
from aggregator.settings import ConfigError, Settings, load_settings
from aggregator.store import Store, StoredInquiry
from core import __version__
from core.clock import SystemClock
from core.models import KST

EXIT_CONFIG = 2
EXIT_NO_DATABASE = 1
# The commands that need the config's secrets; every other one reads the config without them.
_USE_SECRETS = {"check", "run", "test-notify", "kakao-login"}
# The commands whose parsers live with their code: (command names, module, the function adding the parsers, whether
# it takes `parents`). Only the command being run has its module imported: `inqd run` never loads the init wizard,
# the answer editor or the report's printing (bench.idle: ~1 MiB of a quiet daemon's memory).
_COMMAND_MODULES: tuple[tuple[frozenset[str], str, str, bool], ...] = (
    (
        frozenset({"snooze", "handled", "promise", "vacation"}),
        "aggregator.cli.control_commands",
        "add_control_parsers",
        True,
    ),
    (frozenset({"answer"}), "aggregator.cli.answer_command", "add_answer_parser", False),
    (frozenset({"init"}), "aggregator.init.wizard", "add_init_parser", False),
    (frozenset({"templates"}), "aggregator.cli.templates_command", "add_templates_parser", False),
    (frozenset({"report"}), "aggregator.cli.report_command", "add_report_parser", True),
    (frozenset({"kakao-login"}), "aggregator.cli.kakao_login", "add_kakao_login_parser", True),
    (frozenset({"migrate"}), "aggregator.cli.migrate_command", "add_migrate_parser", True),
)


def with_config(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    """Add --config to a command's parser."""
    p.add_argument("--config", "-c", type=Path, required=required, help="path to the TOML config file")


def with_logs(p: argparse.ArgumentParser) -> None:
    """Add the log format and level to a long-running command's parser."""
    p.add_argument("--log-format", choices=("console", "json"), default="console")
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))


# The commands whose parsers are made here.
_OWN_COMMANDS = frozenset({"run", "demo", "check", "queue", "schedule", "test-notify", "status", "explain"})


def _command_of(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` names (its first word that is a command's name), or None (then help or an error)."""
    names = _OWN_COMMANDS.union(*(names for names, *_ in _COMMAND_MODULES))
    return next((arg for arg in argv if arg in names), None)


def _parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; with `only` (a command's name) the modules of the other commands stay unloaded."""
    parser = argparse.ArgumentParser(
        prog="inqd",
        description="One queue for Korean marketplace customer inquiries, with alerts to a work phone.",
    )
    parser.add_argument("--version", action="version", version=f"inqd {__version__}")
    parser.add_argument("--lang", dest="lang_global", choices=LANGS, default=None, help="ko (default) or en")
    # Also after the command; SUPPRESS so that a command's default never hides the one given before it.
    lang = argparse.ArgumentParser(add_help=False)
    lang.add_argument("--lang", choices=LANGS, default=argparse.SUPPRESS, help="ko (default) or en")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=text, parents=[lang])

    run = command("run", "run the daemon with a config file")
    with_config(run)
    with_logs(run)

    demo = command("demo", "run the daemon on the built-in sandbox with the console sink (no accounts)")
    demo.add_argument("--duration", type=float, default=None, metavar="SECONDS", help="stop after this long")
    demo.add_argument("--data-dir", type=Path, default=None, help="where the demo DB and sink file go (default: temp)")
    demo.add_argument("--poll-interval", type=float, default=3.0, metavar="SECONDS")
    with_logs(demo)

    with_config(command("check", "validate a config file"))

    queue = command("queue", "list open inquiries, oldest first")
    source = queue.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", "-c", type=Path, help="path to the TOML config file (its db_path is read)")
    source.add_argument("--db", type=Path, help="path to the database itself (e.g. the demo's)")
    queue.add_argument("--json", action="store_true", help="machine-readable output")

    schedule = command("schedule", "the coming quiet and work windows, holidays named")
    with_config(schedule, required=False)
    schedule.add_argument("--from", dest="start", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD")
    schedule.add_argument("--days", type=int, default=7, metavar="N")

    test_notify = command("test-notify", "send a clearly marked test to each channel (one at max priority)")
    with_config(test_notify)
    test_notify.add_argument("--channel", default=None, metavar="NAME", help="only this channel")

    for names, module, adder, takes_parents in _COMMAND_MODULES:
        if only is None or only in names:
            add = getattr(import_module(module), adder)
            if takes_parents:
                add(sub, parents=[lang])
            else:
                add(sub)

    status = command("status", "each stream's last poll and errors, open counts, outages, failed channels")
    with_config(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")

    explain = command("explain", "an inquiry's timeline and the reason for every decision")
    explain.add_argument("inquiry_id", type=int, metavar="ID", help="the id shown by `inqd queue`")
    with_config(explain)
    return parser


class _Command:
    """One run of a subcommand: its arguments, its words, and how it stops."""

    def __init__(self, args: argparse.Namespace, words: Words, stops: Stops) -> None:
        self.args, self.words, self.stops = args, words, stops

    def load(self, path: Path) -> Settings | None:
        """The settings at `path` (with secrets only for the commands that use them); None after saying why."""
        try:
            # `templates --import-naver` asks Naver for the seller's templates: the one read command with a request.
            secrets = self.args.command in _USE_SECRETS or bool(getattr(self.args, "import_naver", None))
            return load_settings(path, lang=self.words.lang, secrets=secrets)
        except ConfigError as err:
            for line in err.problems:
                print(self.words("config_error", line=line), file=sys.stderr)
            return None

    def has_database(self, settings: Settings) -> bool:
        """True when the settings' database exists (a PostgreSQL one always does); else says so."""
        if not settings.database_exists():
            print(self.words("no_database", path=settings.database_label), file=sys.stderr)
        return settings.database_exists()

    def check(self, settings: Settings) -> int:
        """`inqd check`: the summary of a valid config (and of its answer templates, when the file exists)."""
        from aggregator.cli.check_report import check_lines, database_line
        from aggregator.templates import TemplatesFileError, checked_templates

        templates = settings.templates_path
        try:
            count = len(checked_templates(templates)) if templates.is_file() else None
        except TemplatesFileError as err:
            print(self.words("config_error", line=str(err)), file=sys.stderr)
            return EXIT_CONFIG
        lines = check_lines(settings, self.args.config, self.words)
        reached = self.stops.run(database_line(settings, self.words))
        if reached is None:
            return EXIT_CONFIG
        lines.append(reached)
        if count is not None:
            lines.append(self.words("check_templates", count=count, path=templates))
            if settings.shop_name is None:
                lines.append(self.words("check_no_shop_name"))
        lines += [
            self.words("check_answer_warning", id=acc.id, line=line)
            for acc in settings.accounts
            for line in acc.answer_warnings
        ]
        print("\n".join(lines))
        return 0

    def test_notify(self, settings: Settings) -> int:
        """`inqd test-notify`: a marked test to each channel."""
        from aggregator.cli.notify_check import send_test_messages

        return self.stops.run(send_test_messages(settings, self.args.channel, self.words))

    def control(self, settings: Settings) -> int:
        """`inqd snooze`, `handled`, `promise`, `vacation`."""
        from aggregator.cli.control_commands import run_control

        return run_control(self.args, settings, self.stops)

    def queue(self, settings: Settings) -> int:
        """`inqd queue`: open inquiries by marketplace deadline."""
        from aggregator.cli.queue_table import queue_table
        from aggregator.cli.reports import queue_entries

        if not self.has_database(settings):
            return EXIT_NO_DATABASE
        rows, vacations = self.stops.run(_open_inquiries(settings.database_location()))
        entries = queue_entries(rows, settings.policies(vacations), now=SystemClock().now(), words=self.words)
        if self.args.json:
            print(json.dumps(entries, ensure_ascii=False, indent=2))
        else:
            print("\n".join(queue_table(entries, self.words) if entries else [self.words("queue_empty")]))
        return 0

    def schedule(self, settings: Settings) -> int:
        """`inqd schedule`: the coming quiet and work windows."""
        from aggregator.cli.reports import schedule_lines

        if not 1 <= self.args.days <= 366:
            print(self.words("days_range"), file=sys.stderr)
            return EXIT_CONFIG
        vacations = self.stops.run(_vacations(settings.database_location())) if settings.database_exists() else []
        policies = settings.policies(vacations)
        start = self.args.start or SystemClock().now().astimezone(policies.zone).date()
        none = self.words("none")
        quiet, work = ", ".join(settings.quiet_hours) or none, ", ".join(settings.work_hours) or none
        print(self.words("schedule_head", zone=settings.timezone, quiet=quiet, work=work))
        print("\n".join(schedule_lines(policies, start, self.args.days, self.words)))
        return 0

    def explain(self, settings: Settings) -> int:
        """`inqd explain ID`: one inquiry's timeline."""
        if not self.has_database(settings):
            return EXIT_NO_DATABASE
        lines = self.stops.run(_explain(settings, self.args.inquiry_id, self.words))
        if lines is None:
            print(self.words("no_inquiry", id=self.args.inquiry_id), file=sys.stderr)
            return 1
        print("\n".join(lines))
        return 0

    def status(self, settings: Settings) -> int:
        """`inqd status`: exit 3 when a stream or a channel needs attention."""
        from aggregator.cli.status_report import needs_attention, status_lines

        if not self.has_database(settings):
            return EXIT_NO_DATABASE
        now = SystemClock().now()
        report = self.stops.run(_status(settings, now, self.words))
        if self.args.json:
            print(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            print("\n".join(status_lines(report, now=now, words=self.words)))
        return 3 if needs_attention(report) else 0

    def run_daemon(self, settings: Settings) -> int:
        """`inqd run`: until SIGTERM (exit 0) or Ctrl-C (exit 130)."""
        scrubber = configure_logging(fmt=self.args.log_format, level=self.args.log_level)
        scrubber.add(settings.secret_values())
        return self.stops.exit_code(self.stops.run(_daemon(settings, self.stops)))

    def demo(self) -> int:
        """`inqd demo`: the daemon on the built-in sandboxes."""
        from aggregator.demo import run_demo  # the sandboxes: only needed here

        configure_logging(fmt=self.args.log_format, level=self.args.log_level)
        demo = run_demo(
            duration_s=self.args.duration,
            data_dir=self.args.data_dir,
            poll_interval_s=self.args.poll_interval,
            stops=self.stops,
            words=self.words,
        )
        return self.stops.exit_code(self.stops.run(demo))


async def _open_inquiries(location: Path | str) -> tuple[list[StoredInquiry], list[tuple[date, date]]]:
    store = await Store.open(location)
    try:
        return await store.open_inquiries(), await store.vacation_ranges()
    finally:
        await store.aclose()


async def _vacations(location: Path | str) -> list[tuple[date, date]]:
    """Vacations recorded with `inqd vacation add`."""
    store = await Store.open(location)
    try:
        return await store.vacation_ranges()
    finally:
        await store.aclose()


async def _explain(settings: Settings, inquiry_id: int, words: Words) -> list[str] | None:
    from aggregator.cli.reports import explain_lines

    store = await Store.open(settings.database_location())
    try:
        policies = settings.policies(await store.vacation_ranges())
        return await explain_lines(store, policies, inquiry_id, now=SystemClock().now(), words=words)
    finally:
        await store.aclose()


async def _status(settings: Settings, now: datetime, words: Words) -> dict[str, Any]:
    from aggregator.cli.status_report import kakao_login_readers, status_report, watched_streams

    streams = watched_streams(settings)
    store = await Store.open(settings.database_location())
    try:
        policies = settings.policies(await store.vacation_ranges())
        lost_after = settings.health.lost_after
        kakao_logins = {name: read() for name, read in kakao_login_readers(settings).items()}
        return await status_report(
            store, streams, policies, now=now, lost_after=lost_after, words=words, kakao_logins=kakao_logins
        )
    finally:
        await store.aclose()


async def _daemon(settings: Settings, stops: Stops) -> int:
    from aggregator.daemon import Daemon  # the daemon pulls in every connector; only needed here
    from aggregator.holiday_tables import seed_daemon_holidays
    from aggregator.instance_lock import AlreadyRunning

    if settings.calendar.holidays != "none":
        # Before any calendar is built: the dates come from a short-lived process, not a ~14 MiB import here.
        seed_daemon_holidays(settings.db_path.parent, SystemClock().now().astimezone(KST).date())
    try:
        daemon = await Daemon.build(settings, clock=SystemClock())
    except AlreadyRunning as err:
        print(f"inqd: {err}", file=sys.stderr)
        return 1
    reloads: set[asyncio.Task[object]] = set()

    def reload() -> None:
        task: asyncio.Task[object] = asyncio.get_running_loop().create_task(daemon.reload_settings())
        reloads.add(task)  # held until done (RUF006); the daemon logs what came of it
        task.add_done_callback(reloads.discard)

    with stops.redirect(daemon.request_stop), stops.hangup(reload):
        try:
            await daemon.run()
        finally:
            await daemon.aclose()
    return 0


def _run(module: str, function: str) -> Callable[..., int]:
    """A command's run function from its module in aggregator.cli, imported now that it runs."""
    run: Callable[..., int] = getattr(import_module(f"aggregator.cli.{module}"), function)
    return run


def main(argv: Sequence[str] | None = None) -> int:
    """The `inqd` command (aggregator.cli.entry runs it and turns signals and closed pipes into exit codes)."""
    argv = sys.argv[1:] if argv is None else argv
    args = _parser(_command_of(argv)).parse_args(argv)
    words = Words(run_language(getattr(args, "lang", None) or args.lang_global, os.environ))
    command = _Command(args, words, Stops())
    if args.command == "demo":
        return command.demo()
    if args.command == "init":
        from aggregator.init.wizard import run_init

        args.lang = words.lang
        return run_init(args)
    if args.command == "queue" and args.db is not None:
        return command.queue(Settings(db_path=args.db, database_url=None))  # --db names the SQLite file
    if args.command == "schedule" and args.config is None:
        return command.schedule(Settings())
    settings = command.load(args.config)
    if settings is None:
        return EXIT_CONFIG
    handlers: dict[str, Callable[[Settings], int]] = {
        "check": command.check,
        "queue": command.queue,
        "schedule": command.schedule,
        "explain": command.explain,
        "status": command.status,
        "test-notify": command.test_notify,
        "run": command.run_daemon,
        "answer": lambda loaded: _run("answer_command", "run_answer")(args, loaded),
        "templates": lambda loaded: _run("templates_command", "run_templates")(args, loaded),
        "report": lambda loaded: _run("report_command", "run_report")(args, loaded, words, command.stops),
        "kakao-login": lambda loaded: _run("kakao_login", "run_kakao_login")(args, loaded, command.stops),
        "migrate": lambda loaded: _run("migrate_command", "run_migrate")(args, loaded, words, command.stops),
    }
    return handlers.get(args.command, command.control)(settings)
