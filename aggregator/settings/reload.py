"""Which parts of an edited config a running daemon can take without a restart.

The policies (hours, intervals, calendar, SLA, controls) are rebuilt from settings whenever the calendar changes
anyway: those apply live. Accounts, channels, the admin server, the database, the time zone and what the phone's
answer flow was built with (shop name, templates file) are set up once at start-up: a change there is reported as
needing a restart and not applied, so the running daemon never holds half of each.
"""

from __future__ import annotations

from dataclasses import dataclass

from aggregator.settings.root import Settings


@dataclass(frozen=True, slots=True)
class Reloaded:
    """The result of applying an edited config file to the running daemon."""

    applied: bool
    problems: tuple[str, ...] = ()  # one line each, as `inqd check` prints them, when refused
    restart_needed: tuple[str, ...] = ()  # changed keys that only a restart applies (accounts, channels, ...)


LIVE_KEYS = (
    "quiet_hours",
    "work_hours",
    "time_intervals",
    "calendar",
    "sla",
    "controls",
)


def split_reload(running: Settings, loaded: Settings) -> tuple[Settings, tuple[str, ...]]:
    """The settings to run with now (`running` with the live keys taken from `loaded`) and the other keys that
    differ, which only a restart applies."""
    restart = tuple(
        key
        for key in type(running).model_fields
        if key not in LIVE_KEYS and getattr(running, key) != getattr(loaded, key)
    )
    applied = running.model_copy(update={key: getattr(loaded, key) for key in LIVE_KEYS})
    return applied, restart
