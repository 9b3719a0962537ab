"""What the crash soak of instances (bench/soak_instances.py) counts and prints: its kills, the takeovers, the
invariants, and how duplicates are charged to kills.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from bench.soak_shops import LEASE_SECONDS

INSTANCES = ("one", "two", "three")


@dataclass
class Kill:
    """One SIGKILL: of which instance, when (monotonic), which accounts it was polling, the sink sizes after."""

    instance: int
    at: float
    held: list[str]
    sink_sizes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Takeover:
    """How long after a kill an account the killed instance polled was polled again, and by which instance."""

    kill: int
    account: str
    seconds: float | None  # None: never polled again
    by: str


@dataclass(frozen=True)
class InstancesSoakResult:
    """The counts of one run; `failures` names every invariant that did not hold."""

    seed: int
    produced: int
    backlog: int
    stored_once: int
    missing: int
    foreign: int
    expected_pushes: int
    delivered: int
    undelivered: tuple[str, ...]  # the accounts of the pushes never delivered, one per push
    summaries: dict[str, int]  # "connected" (backfill) summaries sent per account: one each
    duplicates_per_kill: tuple[int, ...]
    unexplained_duplicates: int
    overlaps: dict[str, int]
    requests: dict[str, int]  # per instance
    takeovers: list[Takeover]
    kills: list[str]  # the killed instances' names, in order
    caught_up: tuple[bool, str]
    exit_codes: tuple[int, ...]
    wall_s: float
    load: tuple[str, str]  # load average before and after

    @property
    def failures(self) -> tuple[str, ...]:
        """One line per invariant that did not hold; empty when the run passed."""
        slow = [t for t in self.takeovers if t.seconds is None or t.seconds > 2 * LEASE_SECONDS]
        checks = (
            (self.missing == 0, f"{self.missing} inquiries never stored"),
            (self.stored_once == self.produced, f"{self.produced - self.stored_once} inquiries not stored once"),
            (self.foreign == 0, f"{self.foreign} stored inquiries nobody produced"),
            (
                self.delivered == self.expected_pushes,
                f"{self.expected_pushes - self.delivered} pushes not delivered ({', '.join(self.undelivered)})",
            ),
            (
                set(self.summaries.values()) == {1},
                f"connected summaries per account not one each: {self.summaries}",
            ),
            (max(self.duplicates_per_kill, default=0) <= 1, "a kill caused more than one duplicate"),
            (self.unexplained_duplicates == 0, f"{self.unexplained_duplicates} duplicates no kill explains"),
            (not any(self.overlaps.values()), f"overlapping requests per account: {self.overlaps}"),
            (not slow, f"{len(slow)} takeovers slower than {2 * LEASE_SECONDS:g} s or missing"),
            (self.caught_up[0], f"no catch-up in time: {self.caught_up[1]}"),
            (all(code == 0 for code in self.exit_codes), f"exit codes on SIGTERM {self.exit_codes}"),
        )
        return tuple(message for ok, message in checks if not ok)

    def report(self) -> str:
        """The counts as printed lines, the takeover times among them."""
        times = sorted(t.seconds for t in self.takeovers if t.seconds is not None)
        rows = (
            ("inquiries produced", f"{self.produced} ({self.backlog} before the first polls)"),
            ("stored exactly once / missing / foreign", f"{self.stored_once} / {self.missing} / {self.foreign}"),
            ("pushes expected / delivered", f"{self.expected_pushes} / {self.delivered}"),
            ("connected summaries (one per account)", str(sum(self.summaries.values()))),
            ("duplicates per kill", " ".join(map(str, self.duplicates_per_kill)) or "-"),
            ("unexplained duplicates", str(self.unexplained_duplicates)),
            ("overlapping requests (all accounts)", str(sum(self.overlaps.values()))),
            ("requests per instance", ", ".join(f"{k} {v}" for k, v in sorted(self.requests.items()))),
            ("kills", ", ".join(self.kills) or "-"),
            ("takeovers (s): min / median / max", _spread(times)),
            ("catch-up", "done" if self.caught_up[0] else f"gave up: {self.caught_up[1]}"),
            ("exit codes on SIGTERM", " ".join(map(str, self.exit_codes))),
            ("wall time", f"{self.wall_s:.1f} s"),
            ("load average before / after", f"{self.load[0]} / {self.load[1]}"),
        )
        width = max(len(name) for name, _ in rows)
        lines = [f"crash soak of {len(INSTANCES)} instances on one PostgreSQL, seed {self.seed}"]
        lines += [f"  {name:<{width}}  {value}" for name, value in rows]
        lines.append(f"takeovers (kill -> the account's next request; lease_seconds {LEASE_SECONDS:g}):")
        lines += [
            f"  kill {t.kill + 1} ({self.kills[t.kill]}): {t.account:<10} "
            + (f"{t.seconds:5.1f} s by {t.by}" if t.seconds is not None else "never")
            for t in self.takeovers
        ]
        failures = self.failures
        lines.append("result: OK" if not failures else "result: FAILED")
        lines += [f"  - {failure}" for failure in failures]
        return "\n".join(lines)


def _spread(values: Sequence[float]) -> str:
    if not values:
        return "-"
    return f"{values[0]:.1f} / {values[len(values) // 2]:.1f} / {values[-1]:.1f}"


def charge_copies(copies: Sequence[Sequence[tuple[int, int]]], kills: int) -> tuple[tuple[int, ...], int]:
    """Duplicates per kill, and those no kill explains, from each push's copies as (epoch, daemon): the epoch is
    how many kills came before the copy was written, the daemon the kill that ended the instance that wrote it
    (kills + n for an instance never killed). A copy after the first counts against the kill of the daemon that
    wrote the copy before it, if it was written after that kill by another daemon; otherwise it is unexplained."""
    per_kill = [0] * kills
    unexplained = 0
    for sequence in copies:
        ordered = sorted(sequence)
        for (_, previous), (epoch, current) in pairwise(ordered):
            if previous < kills and epoch > previous and current != previous:
                per_kill[previous] += 1
            else:
                unexplained += 1
    return tuple(per_kill), unexplained
