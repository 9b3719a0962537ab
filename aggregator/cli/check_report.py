"""`inqd check`: what a valid config will do, in a few lines: accounts, channels, hours and deadlines."""

from __future__ import annotations

import sys
from pathlib import Path

from aggregator.cli.words import Words
from aggregator.notifiers.ntfy import is_public_unauthenticated
from aggregator.settings import Settings, secrets_written_in
from aggregator.settings.notify import NtfyConfig
from aggregator.store import DatabaseUnreachable, Store
from core.models import MessageKind


def _account_lines(settings: Settings, words: Words) -> list[str]:
    lines = []
    for acc in settings.accounts:
        lines.append(
            words(
                "check_account",
                id=acc.id,
                shop=words.shop(acc.marketplace_kind.label),
                ref=acc.seller_ref,
                streams=", ".join(words.stream(kind) for kind in acc.stream_kinds),
                interval=acc.poll_interval_s,
                rate=acc.max_requests_per_s,
                url=acc.base_url,
            )
        )
    return lines or [words("check_no_accounts")]


def _channel_lines(settings: Settings, words: Words) -> list[str]:
    lines = []
    for cfg in settings.notifiers:
        kinds = (
            words("check_all_kinds") if len(cfg.kinds) == len(MessageKind) else ", ".join(k.value for k in cfg.kinds)
        )
        fallback = (
            words("check_fallback", fallback=cfg.fallback, after=words.duration(cfg.fallback_after))
            if cfg.fallback
            else ""
        )
        lines.append(words("check_channel", name=cfg.name, type=cfg.type, kinds=kinds, fallback=fallback))
        if isinstance(cfg, NtfyConfig) and is_public_unauthenticated(cfg.server_url, cfg.token, cfg.username):
            lines.append(words("check_ntfy_public", name=cfg.name))
    return lines


def _policy_lines(settings: Settings, words: Words) -> list[str]:
    none = words("none")
    sla = settings.sla
    lines = [
        words(
            "check_hours",
            quiet=", ".join(settings.quiet_hours) or none,
            work=", ".join(settings.work_hours) or none,
            holidays=settings.calendar.holidays,
        ),
        words(
            "check_sla",
            deadline=words.duration(sla.default_deadline),
            warn=", ".join(sla.warn) or words("never"),
            breakthrough=words("on" if sla.breakthrough.enabled else "off"),
        ),
    ]
    for rule in sla.rules:
        parts = [
            words("check_rule_deadline", duration=words.duration(rule.deadline)) if rule.deadline else "",
            words("check_rule_target", duration=words.duration(rule.own_target)) if rule.own_target else "",
        ]
        joined = ", ".join(p for p in parts if p) or words("check_rule_defaults")
        lines.append(words("check_rule", marketplace=rule.marketplace.value, stream=rule.stream.value, parts=joined))
    return lines


def check_lines(settings: Settings, path: Path, words: Words) -> list[str]:
    """The summary `inqd check` prints for the valid config read from `path`."""
    return [
        words("check_ok", path=path),
        words("check_base", zone=settings.timezone, db=settings.database_label),
        *_account_lines(settings, words),
        *(words("check_secret_in_file", key=key) for key in secrets_written_in(path)),
        *_channel_lines(settings, words),
        *_policy_lines(settings, words),
    ]


async def database_line(settings: Settings, words: Words) -> str | None:
    """`inqd check`'s line on the database (its schema against this inqd's), or None once it has printed why the
    database cannot be used: unreachable, or newer than this inqd."""
    try:
        version, current = await Store.schema_versions(settings.database_location())
    except DatabaseUnreachable as err:
        print(words("check_database_unreachable", db=settings.database_label, reason=str(err)), file=sys.stderr)
        return None
    if version > current:
        print(words("check_database_newer", version=version, current=current), file=sys.stderr)
        return None
    return words("check_database", version=version, current=current)
