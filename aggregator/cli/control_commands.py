"""The seller's controls from the terminal: `inqd snooze`, `inqd handled`, `inqd promise`, `inqd vacation`.

They write to the database the daemon uses; a running daemon picks the change up within seconds.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime, time
from pathlib import Path

from aggregator import control_service as controls
from aggregator.cli.stops import Stops
from aggregator.render import kst_stamp
from aggregator.settings import Settings
from aggregator.store import Store
from core.clock import SystemClock
from core.particles import with_particle

COMMANDS = ("snooze", "handled", "promise", "vacation")
_EXIT_BAD_INPUT = 2


def add_control_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], *, parents: list[argparse.ArgumentParser]
) -> None:
    """Add the control subcommands (each with the flags of `parents`)."""

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", "-c", type=Path, required=True, help="path to the TOML config file")

    snooze = sub.add_parser(
        "snooze", parents=parents, help="postpone an inquiry's warnings and repeats (or every inquiry's: --all)"
    )
    snooze.add_argument("inquiry_id", type=int, nargs="?", metavar="ID", help="the id shown by `inqd queue`")
    snooze.add_argument("until", nargs="?", metavar="WHEN", help="2h, 90m, 18:00 or '2026-11-24 18:00'")
    snooze.add_argument("--all", dest="all_until", metavar="WHEN", help="every open inquiry, e.g. --all 1h")
    snooze.add_argument("--off", action="store_true", help="end the snooze (of ID, or of --all with no ID)")
    with_config(snooze)

    handled = sub.add_parser(
        "handled", parents=parents, help="stop an inquiry's alerts until the marketplace shows it answered"
    )
    handled.add_argument("inquiry_id", type=int, metavar="ID")
    with_config(handled)

    promise = sub.add_parser(
        "promise", parents=parents, help="promise a call-back time: a reminder before it, escalation after"
    )
    promise.add_argument("inquiry_id", type=int, metavar="ID")
    promise.add_argument("at", nargs="?", metavar="WHEN", help="18:00, 2h or '2026-11-24 18:00'")
    promise.add_argument("note", nargs="*", help="what you promised (shown in the reminder)")
    promise.add_argument("--cancel", action="store_true", help="withdraw the promise")
    with_config(promise)

    vacation = sub.add_parser(
        "vacation", parents=parents, help="days off: closed days for quiet and work hours, with a forecast"
    )
    vacation.add_argument("action", choices=("add", "list", "remove"))
    vacation.add_argument("days", nargs="?", metavar="DAYS", help="add: 2026-12-24..2026-12-27; remove: the id")
    vacation.add_argument("--note", default="", help="add: a note (e.g. 가족 여행)")
    with_config(vacation)


def run_control(args: argparse.Namespace, settings: Settings, stops: Stops) -> int:
    """Run one control subcommand; 0 done, 1 refused (no such inquiry, already answered), 2 bad input."""
    if not settings.database_exists():
        print(f"inqd: no database yet at {settings.database_label} (run the daemon first)", file=sys.stderr)
        return 1
    try:
        return stops.run(_run(args, settings))
    except controls.ControlError as err:
        print(f"inqd: {err}", file=sys.stderr)
        return 1 if isinstance(err, controls.ControlRefused) else _EXIT_BAD_INPUT


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    now = SystemClock().now()
    actor = f"terminal:{getpass.getuser()}"
    store = await Store.open(settings.database_location())
    try:
        vacations = await store.vacation_ranges()
        policies = settings.policies(vacations)
        zone = policies.zone
        if args.command == "vacation":
            return await _vacation(args, settings, store, actor=actor)
        if args.command == "handled":
            outcome = await controls.mark_handled(store, args.inquiry_id, now=now, actor=actor)
        elif args.command == "promise":
            if args.cancel:
                done = await store.promise(args.inquiry_id, None, "", now=now, actor=actor)
                outcome = controls.Outcome(
                    (f"#{args.inquiry_id} 약속을 취소했습니다" if done else "열린 문의가 아닙니다",)
                )
            elif args.at is None:
                raise controls.ControlError("약속 시각을 주세요: inqd promise ID 18:00 [메모]")
            else:
                at = controls.parse_until(args.at, now=now, zone=zone)
                outcome = await controls.promise(
                    store, policies, args.inquiry_id, at, " ".join(args.note), now=now, actor=actor
                )
        elif args.all_until is not None or (args.off and args.inquiry_id is None):
            if args.off:
                await store.snooze_all(None, now=now, actor=actor)
                outcome = controls.Outcome(("전체 미루기를 끝냈습니다",))
            else:
                until = controls.parse_until(args.all_until, now=now, zone=zone)
                outcome = await controls.snooze_all(store, policies, until, now=now, actor=actor)
        elif args.inquiry_id is None:
            raise controls.ControlError("inqd snooze ID 2h, 또는 inqd snooze --all 1h")
        elif args.off:
            done = await store.snooze(args.inquiry_id, None, now=now, actor=actor)
            outcome = controls.Outcome((f"#{args.inquiry_id} 미루기를 끝냈습니다" if done else "열린 문의가 아닙니다",))
        elif args.until is None:
            raise controls.ControlError("얼마나 미룰까요? 예: inqd snooze ID 2h")
        else:
            until = controls.parse_until(args.until, now=now, zone=zone)
            outcome = await controls.snooze(store, policies, args.inquiry_id, until, now=now, actor=actor)
    finally:
        await store.aclose()
    print("\n".join(outcome.lines))
    return 0


async def _vacation(args: argparse.Namespace, settings: Settings, store: Store, *, actor: str) -> int:
    now = SystemClock().now()
    if args.action == "list":
        found = await store.vacations()
        if not found:
            print("기록된 휴가가 없습니다")
        for v in found:
            note = f" · {v.note}" if v.note else ""
            print(f"{v.id:>3}  {v.first_day}..{v.last_day}{note}")
        return 0
    if args.days is None:
        raise controls.ControlError("날짜를 주세요: inqd vacation add 2026-12-24..2026-12-27 / remove ID")
    if args.action == "remove":
        if not args.days.isdigit():
            raise controls.ControlError(f"{args.days!r}: 지울 휴가의 번호를 주세요 (inqd vacation list)")
        if not await store.remove_vacation(int(args.days), now=now, actor=actor):
            raise controls.ControlError(f"{args.days}번 휴가가 없습니다")
        print(f"{args.days}번 휴가를 지웠습니다")
        return 0
    first, last = controls.parse_days(args.days)
    vacation_id = await store.add_vacation(first, last, args.note, now=now, actor=actor)
    vacations = await store.vacation_ranges()
    policies = settings.policies(vacations)
    days = with_particle(f"{first}..{last}", "를")
    print(f"{vacation_id}번 휴가 {days} 기록했습니다: 그 날들은 종일 조용하고 업무시간이 없습니다.")
    back = policies.quiet.span_end(datetime.combine(first, time(12), tzinfo=policies.zone))
    if back is not None:
        print(f"알림이 다시 울리는 때: {kst_stamp(back)} (자세히: inqd schedule --from {first})")
    marketplaces = sorted({acc.marketplace_kind for acc in settings.accounts}, key=lambda m: m.value)
    print("\n".join(await controls.vacation_forecast(store, policies, first, last, marketplaces)))
    return 0
