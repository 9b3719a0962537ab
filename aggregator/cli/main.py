"""The `inqd` command: parse arguments, load settings, run a subcommand. Config errors exit 2, one line each."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from aggregator.cli.answer_command import add_answer_parser, run_answer
from aggregator.cli.control_commands import COMMANDS as CONTROL_COMMANDS
from aggregator.cli.control_commands import add_control_parsers, run_control
from aggregator.cli.reports import explain_lines, queue_entries, schedule_lines
from aggregator.cli.templates_command import add_templates_parser, run_templates
from aggregator.init.wizard import add_init_parser, run_init
from aggregator.logs import configure_logging
from aggregator.notifiers.base import DeliveryError
from aggregator.notifiers.ntfy import is_public_unauthenticated
from aggregator.render import channel_test_messages, duration_text
from aggregator.settings import ConfigError, Settings, load_settings, secrets_written_in
from aggregator.settings.notify import NtfyConfig
from aggregator.store import Store
from aggregator.templates import TemplatesFileError, checked_templates
from aggregator.wiring import build_notifier
from core import __version__
from core.clock import SystemClock
from core.models import MessageKind
from core.redact import excerpt

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inqd",
        description="One queue for Korean marketplace customer inquiries, with alerts to a work phone.",
    )
    parser.add_argument("--version", action="version", version=f"inqd {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", "-c", type=Path, required=True, help="path to the TOML config file")

    def with_logs(p: argparse.ArgumentParser) -> None:
        p.add_argument("--log-format", choices=("console", "json"), default="console")
        p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))

    run = sub.add_parser("run", help="run the daemon with a config file")
    with_config(run)
    with_logs(run)

    demo = sub.add_parser("demo", help="run the daemon on the built-in sandbox with the console sink (no accounts)")
    demo.add_argument("--duration", type=float, default=None, metavar="SECONDS", help="stop after this long")
    demo.add_argument("--data-dir", type=Path, default=None, help="where the demo DB and sink file go (default: temp)")
    demo.add_argument("--poll-interval", type=float, default=3.0, metavar="SECONDS")
    with_logs(demo)

    check = sub.add_parser("check", help="validate a config file")
    with_config(check)

    queue = sub.add_parser("queue", help="list open inquiries, oldest first")
    source = queue.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", "-c", type=Path, help="path to the TOML config file (its db_path is read)")
    source.add_argument("--db", type=Path, help="path to the database itself (e.g. the demo's)")
    queue.add_argument("--json", action="store_true", help="machine-readable output")

    schedule = sub.add_parser("schedule", help="the coming quiet and work windows, holidays named")
    schedule.add_argument("--config", "-c", type=Path, help="config file (default: the built-in hours and KR holidays)")
    schedule.add_argument("--from", dest="start", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD")
    schedule.add_argument("--days", type=int, default=7, metavar="N")

    test_notify = sub.add_parser("test-notify", help="send a clearly marked test to each channel (one at max priority)")
    test_notify.add_argument("--config", "-c", type=Path, required=True, help="path to the TOML config file")
    test_notify.add_argument("--channel", default=None, metavar="NAME", help="only this channel")

    add_control_parsers(sub)
    add_answer_parser(sub)
    add_init_parser(sub)
    add_templates_parser(sub)

    status = sub.add_parser("status", help="each stream's last poll and errors, open counts, outages, failed channels")
    status.add_argument("--config", "-c", type=Path, required=True, help="path to the TOML config file")
    status.add_argument("--json", action="store_true", help="machine-readable output")

    explain = sub.add_parser("explain", help="an inquiry's timeline and the reason for every decision")
    explain.add_argument("inquiry_id", type=int, metavar="ID", help="the id shown by `inqd queue`")
    explain.add_argument("--config", "-c", type=Path, required=True, help="path to the TOML config file")
    return parser


def _load(path: Path) -> Settings | None:
    try:
        return load_settings(path)
    except ConfigError as err:
        for line in err.problems:
            print(f"inqd: config error: {line}", file=sys.stderr)
        return None


def _check(settings: Settings, path: Path) -> int:
    templates = settings.templates_path
    try:
        count = len(checked_templates(templates)) if templates.is_file() else None
    except TemplatesFileError as err:
        print(f"inqd: config error: {err}", file=sys.stderr)
        return EXIT_CONFIG
    print(f"{path}: OK")
    if count is not None:
        print(f"  answer templates: {count} in {templates}")
    print(f"  time zone: {settings.timezone}; database: {settings.db_path}")
    for acc in settings.accounts:
        streams = ", ".join(kind.label for kind in acc.stream_kinds)
        print(
            f"  account {acc.id}: {acc.marketplace_kind.label} ({acc.seller_ref}) — {streams}; "
            f"every {acc.poll_interval_s:g} s, at most {acc.max_requests_per_s:g} req/s, {acc.base_url}"
        )
    if not settings.accounts:
        print("  no accounts configured: nothing will be polled")
    for acc in settings.accounts:
        for line in acc.answer_warnings:
            print(f"  warning: account {acc.id}: {line}")
    for key in secrets_written_in(path):
        print(f"  warning: {key} is written in the config file; move it to an env var or secrets_dir")
    for cfg in settings.notifiers:
        kinds = "all messages" if len(cfg.kinds) == len(MessageKind) else ", ".join(k.value for k in cfg.kinds)
        fallback = f"; falls back to {cfg.fallback} after {duration_text(cfg.fallback_after)}" if cfg.fallback else ""
        print(f"  channel {cfg.name}: {cfg.type} — {kinds}{fallback}")
        if isinstance(cfg, NtfyConfig) and is_public_unauthenticated(cfg.server_url, cfg.token, cfg.username):
            print(
                f"  warning: notifiers: {cfg.name} publishes to ntfy.sh without auth: anyone who guesses the topic "
                "can read your buyers' questions; use a long random topic, a token, or your own ntfy server"
            )
    quiet = ", ".join(settings.quiet_hours) or "none"
    print(
        f"  quiet hours: {quiet}; work hours: {', '.join(settings.work_hours) or 'none'}; "
        f"holidays: {settings.calendar.holidays}"
    )
    sla = settings.sla
    print(
        f"  SLA: deadline {duration_text(sla.default_deadline)} unless a rule says otherwise; warn at "
        f"{', '.join(sla.warn) or 'never'}; breakthrough {'on' if sla.breakthrough.enabled else 'off'}"
    )
    for rule in sla.rules:
        parts = [
            f"deadline {duration_text(rule.deadline)}" if rule.deadline else "",
            f"own target {duration_text(rule.own_target)} of work hours" if rule.own_target else "",
        ]
        print(f"    {rule.marketplace.value}.{rule.stream.value}: {', '.join(p for p in parts if p) or 'defaults'}")
    return 0


def _queue(settings: Settings, db_path: Path, *, as_json: bool) -> int:
    if not db_path.is_file():
        print(f"inqd: no database yet at {db_path} (run the daemon first)", file=sys.stderr)
        return 1
    return asyncio.run(_print_queue(settings, db_path, as_json=as_json))


async def _print_queue(settings: Settings, db_path: Path, *, as_json: bool) -> int:
    store = await Store.open(db_path)
    try:
        rows = await store.open_inquiries()
        vacations = await store.vacation_ranges()
    finally:
        await store.aclose()
    entries = queue_entries(rows, settings.policies(vacations), now=SystemClock().now())
    if as_json:
        print(json.dumps(entries, ensure_ascii=False, indent=2))
        return 0
    if not entries:
        print("No open inquiries.")
        return 0
    print(
        f"{'ID':>5}  {'MARKETPLACE':<8} {'STREAM':<10} {'RECEIVED (KST)':<15} {'DEADLINE (KST)':<15} "
        f"{'LEFT':<12} EXCERPT"
    )
    for entry in entries:
        marks = " ".join(
            mark
            for mark in (
                f"[약속 {entry['promise_kst']}]" if entry["promise_kst"] else "",
                "[미룸]" if entry["snoozed_until"] else "",
                "[처리함]" if entry["handled"] else "",
            )
            if mark
        )
        print(
            f"{entry['id']:>5}  {entry['marketplace_label']:<8} {entry['stream_label']:<10} "
            f"{entry['received_kst']:<15} {entry['deadline_kst']:<15} {entry['left']:<12} "
            f"{(marks + ' ') if marks else ''}{excerpt(entry['excerpt'], 60)}"
        )
    print(f"{len(entries)} open")
    return 0


def _schedule(settings: Settings, args: argparse.Namespace) -> int:
    if not 1 <= args.days <= 366:
        print("inqd: --days must be between 1 and 366", file=sys.stderr)
        return EXIT_CONFIG
    policies = settings.policies(_stored_vacations(settings))
    start = args.start or SystemClock().now().astimezone(policies.zone).date()
    quiet, work = ", ".join(settings.quiet_hours), ", ".join(settings.work_hours)
    print(f"시간대 {settings.timezone} · 조용한 시간: {quiet} · 업무시간: {work}")
    for line in schedule_lines(policies, start, args.days):
        print(line)
    return 0


def _stored_vacations(settings: Settings) -> list[tuple[date, date]]:
    """Vacations recorded with `inqd vacation add` (none before the daemon has made its database)."""
    if not settings.db_path.is_file():
        return []

    async def read() -> list[tuple[date, date]]:
        store = await Store.open(settings.db_path)
        try:
            return await store.vacation_ranges()
        finally:
            await store.aclose()

    return asyncio.run(read())


def _explain(settings: Settings, inquiry_id: int) -> int:
    if not settings.db_path.is_file():
        print(f"inqd: no database yet at {settings.db_path} (run the daemon first)", file=sys.stderr)
        return 1
    return asyncio.run(_print_explain(settings, inquiry_id))


async def _print_explain(settings: Settings, inquiry_id: int) -> int:
    store = await Store.open(settings.db_path)
    try:
        vacations = await store.vacation_ranges()
        lines = await explain_lines(store, settings.policies(vacations), inquiry_id, now=SystemClock().now())
    finally:
        await store.aclose()
    if lines is None:
        print(f"inqd: no inquiry #{inquiry_id} (see inqd queue)", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def _status(settings: Settings, *, as_json: bool) -> int:
    if not settings.db_path.is_file():
        print(f"inqd: no database yet at {settings.db_path} (run the daemon first)", file=sys.stderr)
        return 1
    return asyncio.run(_print_status(settings, as_json=as_json))


async def _print_status(settings: Settings, *, as_json: bool) -> int:
    from aggregator.cli.status_report import status_lines, status_report
    from aggregator.connection_watch import WatchedStream

    streams = [
        WatchedStream(acc.id, acc.marketplace_kind, stream, acc.poll_interval_s)
        for acc in settings.accounts
        for stream in acc.stream_kinds
    ]
    now = SystemClock().now()
    store = await Store.open(settings.db_path)
    try:
        report = await status_report(
            store,
            streams,
            settings.policies(await store.vacation_ranges()),
            now=now,
            lost_after=settings.health.lost_after,
        )
    finally:
        await store.aclose()
    if as_json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print("\n".join(status_lines(report, now=now)))
    unhealthy = not all(row["healthy"] for row in report["streams"]) or bool(report["channel_failures"])
    return 3 if unhealthy else 0


async def _test_notify(settings: Settings, only: str | None) -> int:
    configs = [cfg for cfg in settings.notifiers if only in (None, cfg.name)]
    if not configs:
        print(
            f"inqd: no channel named {only!r} (channels: {', '.join(c.name for c in settings.notifiers)})",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    configure_logging(level="WARNING").add(settings.secret_values())
    clock = SystemClock()
    failed = 0
    for cfg in configs:
        notifier = build_notifier(cfg, clock=clock)
        messages = channel_test_messages(cfg.name, now=clock.now())
        if cfg.type == "sms":
            messages = messages[1:]  # SMS costs money: only the max-priority test
        try:
            for message in messages:
                await notifier.send(message)
        except DeliveryError as err:
            failed += 1
            kind = "will retry in the daemon" if err.retryable else "fix the config"
            print(f"{cfg.name} ({cfg.type}): FAILED: {err} ({kind})")
        else:
            print(f"{cfg.name} ({cfg.type}): sent {len(messages)} test message(s); check the work phone")
        finally:
            await notifier.aclose()
    return 1 if failed else 0


async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from aggregator.daemon import Daemon  # the daemon pulls in every connector; only needed here
    from aggregator.instance_lock import AlreadyRunning

    scrubber = configure_logging(fmt=args.log_format, level=args.log_level)
    scrubber.add(settings.secret_values())
    try:
        daemon = await Daemon.build(settings, clock=SystemClock())
    except AlreadyRunning as err:
        print(f"inqd: {err}", file=sys.stderr)
        return 1
    daemon.install_signal_handlers()
    try:
        await daemon.run()
    finally:
        await daemon.aclose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `inqd` command."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from aggregator.demo import run_demo

        configure_logging(fmt=args.log_format, level=args.log_level)
        return asyncio.run(
            run_demo(duration_s=args.duration, data_dir=args.data_dir, poll_interval_s=args.poll_interval)
        )
    if args.command == "init":
        return run_init(args)
    if args.command == "queue" and args.db is not None:
        return _queue(Settings(), args.db, as_json=args.json)
    if args.command == "schedule" and args.config is None:
        return _schedule(Settings(), args)
    settings = _load(args.config)
    if settings is None:
        return EXIT_CONFIG
    if args.command == "check":
        return _check(settings, args.config)
    if args.command == "queue":
        return _queue(settings, settings.db_path, as_json=args.json)
    if args.command == "schedule":
        return _schedule(settings, args)
    if args.command == "explain":
        return _explain(settings, args.inquiry_id)
    if args.command == "status":
        return _status(settings, as_json=args.json)
    if args.command in CONTROL_COMMANDS:
        return run_control(args, settings)
    if args.command == "answer":
        return run_answer(args, settings)
    if args.command == "templates":
        return run_templates(args, settings)
    if args.command == "test-notify":
        return asyncio.run(_test_notify(settings, args.channel))
    return asyncio.run(_run(settings, args))
