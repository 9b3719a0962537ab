"""The demo's sandbox shops kept with its data dir, so that a second run on it continues the same shops.

The shops are made by their generators, and a generator is driven by its seeded `random.Random` and the times
it is ticked at: the same seed and ticks make the same inquiries, under the same ids, answered at the same
times. So the state kept is that record, not the shops: per run, its start, each shop's seed and backlog, and
every tick (milliseconds from the start), in `sandbox-state.json`. A run rebuilds the shops by replaying the
runs before it, then ticks them on fresh generators (the seller's shops do not fill up while the demo is off).

Each tick is written before the shops show it, atomically: after a crash the record holds every tick the
daemon may have seen, so a stored inquiry is never met again under its id with another question.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from connectors.sandbox import TickReport

STATE_FILE = "sandbox-state.json"
_VERSION = 1
# The backlog a new data dir starts with: inquiries received over the two days before the demo's first start.
_BACKLOG_FROM = timedelta(days=2)
_BACKLOG_TO = timedelta(minutes=5)


class DemoGenerator(Protocol):
    """What the demo needs of a sandbox's inquiry generator."""

    def seed(self, count: int, *, start: datetime, end: datetime) -> list[int]:
        """Add `count` inquiries received in [start, end)."""
        ...

    def tick(self, now: datetime) -> TickReport:
        """Advance the shop to `now`."""
        ...


# A new generator over one shop's sandbox, driven by the given random source.
GeneratorFactory = Callable[[random.Random], DemoGenerator]


class DataDirRefused(Exception):
    """The data dir has a database whose shops cannot be rebuilt: the demo would mix two shops' inquiries."""


@dataclass
class _Run:
    """One run of the demo as the state keeps it: enough to replay what its generators did."""

    started_at: datetime
    seeds: dict[str, int]
    backlog: int
    ticks_ms: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The run as the state file stores it."""
        return {
            "started_at": self.started_at.isoformat(),
            "seeds": self.seeds,
            "backlog": self.backlog,
            "ticks_ms": self.ticks_ms,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> _Run:
        """The run stored as `data`; KeyError, TypeError or ValueError when it is not one."""
        started_at = datetime.fromisoformat(data["started_at"])
        if started_at.tzinfo is None:
            raise ValueError("naive start")
        seeds = {str(name): int(seed) for name, seed in dict(data["seeds"]).items()}
        return cls(started_at, seeds, int(data["backlog"]), [int(ms) for ms in data["ticks_ms"]])

    def at(self, tick_ms: int) -> datetime:
        """The time of a tick of this run."""
        return self.started_at + timedelta(milliseconds=tick_ms)

    def generators(self, factories: Mapping[str, GeneratorFactory]) -> dict[str, DemoGenerator]:
        """This run's generators, the backlog seeded if it has one (the first run of a data dir)."""
        made = {name: factories[name](random.Random(seed)) for name, seed in self.seeds.items() if name in factories}
        if self.backlog:
            start, end = self.started_at - _BACKLOG_FROM, self.started_at - _BACKLOG_TO
            for generator in made.values():
                generator.seed(self.backlog, start=start, end=end)
        return made


class DemoSandboxes:
    """This run's generators over the demo's shops, and the record that lets the next run rebuild the shops."""

    def __init__(self, path: Path, runs: list[_Run], generators: dict[str, DemoGenerator]) -> None:
        self._path = path
        self._runs = runs
        self._generators = generators

    @classmethod
    def open(
        cls,
        data_dir: Path,
        factories: Mapping[str, GeneratorFactory],
        *,
        now: datetime,
        backlog: int,
        rng: random.Random | None = None,
    ) -> DemoSandboxes:
        """Rebuild the shops of `data_dir` (new ones with `backlog` each) and start this run's generators.

        `factories` make a generator over each shop's sandbox, by shop name; the sandboxes must be new.
        Raises DataDirRefused when the data dir has a database but no readable state of its shops.
        """
        path = data_dir / STATE_FILE
        runs = _load(path, database=data_dir / "inqd.db")
        for run in runs:
            replayed = run.generators(factories).values()
            for tick_ms in run.ticks_ms:
                for generator in replayed:
                    generator.tick(run.at(tick_ms))
        seeds = rng or random.SystemRandom()
        run = _Run(now.astimezone(UTC), {name: seeds.randrange(2**63) for name in factories}, 0 if runs else backlog)
        sandboxes = cls(path, [*runs, run], run.generators(factories))
        sandboxes._save()  # before the daemon sees a new backlog
        return sandboxes

    def tick(self, now: datetime) -> list[tuple[str, TickReport]]:
        """Advance every shop to `now` (to the millisecond); returns what each shop's tick changed."""
        run = self._runs[-1]
        tick_ms = round((now - run.started_at) / timedelta(milliseconds=1))
        run.ticks_ms.append(tick_ms)
        self._save()  # first: the record must hold every tick the daemon may have seen
        return [(name, generator.tick(run.at(tick_ms))) for name, generator in self._generators.items()]

    def _save(self) -> None:
        state = {"version": _VERSION, "runs": [run.as_json() for run in self._runs]}
        temporary = self._path.with_name(self._path.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as fh:
            json.dump(state, fh, separators=(",", ":"))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, self._path)


def _load(path: Path, *, database: Path) -> list[_Run]:
    """The runs recorded at `path`: none for a new data dir; DataDirRefused when they cannot be read back."""
    if not path.exists() and not database.exists():
        return []
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if state["version"] != _VERSION:
            raise ValueError(f"version {state['version']!r}")
        return [_Run.from_json(run) for run in state["runs"]]
    except (OSError, ValueError, KeyError, TypeError) as err:
        if not database.exists():
            return []  # nothing stored that the shops could contradict: they start over
        raise DataDirRefused(
            f"inqd demo: {path.parent} 폴더에 데이터베이스가 있지만 그 샌드박스 상태({path.name})가 없거나 읽을 수 "
            "없어 이어서 실행할 수 없습니다. 다른 폴더를 --data-dir 로 주거나 이 폴더를 지운 뒤 다시 실행하세요."
        ) from err
