"""The timing every sandbox inquiry generator shares: Poisson arrivals and exponentially delayed seller answers.

A subclass names its `seller_answers`, makes one item in `_add` and hands it to `_track` with how the seller answers
it; everything else, seeding a history, advancing to `now` and answering old enough items, happens here. Everything
is driven by the `random.Random` passed in: the same seed gives the same stream.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar, Generic, Protocol, TypeVar


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one `tick` changed in the sandbox."""

    added: tuple[int, ...]
    answered: tuple[int, ...]


@dataclass(slots=True)
class _Open:
    at: datetime
    will_answer: bool
    answer: Callable[[str, datetime], object]  # the seller's answer (text, at) in the marketplace's own tool


class _Store(Protocol):
    def is_answered(self, item_id: int) -> bool:
        """Whether the item has a seller answer (the generator's own or one through the API)."""
        ...


StoreT = TypeVar("StoreT", bound=_Store)


@dataclass(eq=False)
class ArrivalGenerator(Generic[StoreT]):
    """Adds items to a sandbox over time and answers a share of the older ones, as a real shop would.

    Subclasses are keyword-only dataclasses too: their own knobs are fields, and they may give `arrivals_per_h`
    a default.
    """

    seller_answers: ClassVar[tuple[str, ...]]  # what the seller writes back, picked at random

    sandbox: StoreT  # the sandbox's data, not its HTTP side: a generator never imports an api module
    _: KW_ONLY
    rng: random.Random
    arrivals_per_h: float
    answer_share: float = 0.6  # share of items the seller answers at all
    mean_answer_delay_s: float = 1800.0  # mean of the exponential delay on top of min_answer_age_s
    min_answer_age_s: float = 120.0  # nobody answers an item younger than this
    pii_share: float = 0.3  # share of texts that carry a buyer's phone number (and name, where the API shows one)
    _open: dict[int, _Open] = field(init=False, repr=False, default_factory=dict)
    _last_tick: datetime | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        if self.arrivals_per_h <= 0 or self.mean_answer_delay_s <= 0:
            raise ValueError("arrivals_per_h and mean_answer_delay_s must be positive")

    def seed(self, count: int, *, start: datetime, end: datetime) -> list[int]:
        """Add `count` items received in [start, end), some already answered; returns their ids."""
        span_s = (end - start).total_seconds()
        if count < 0 or span_s <= 0:
            raise ValueError("count must not be negative and end must be after start")
        times = sorted(start + timedelta(seconds=self.rng.uniform(0, span_s)) for _ in range(count))
        ids = [self._add(at) for at in times]
        for item_id in ids:
            item = self._open[item_id]
            answered_at = item.at + timedelta(seconds=self._answer_delay_s())
            if item.will_answer and answered_at < end:
                self._answer(item_id, answered_at)
        return ids

    def tick(self, now: datetime) -> TickReport:
        """Advance the shop to `now`: new arrivals since the last tick, then seller answers. First tick only starts."""
        last, self._last_tick = self._last_tick, now
        if last is None or now <= last:
            return TickReport((), ())
        added: list[int] = []
        at = last + timedelta(seconds=self.rng.expovariate(self.arrivals_per_h / 3600.0))
        while at <= now:
            added.append(self._add(at))
            at += timedelta(seconds=self.rng.expovariate(self.arrivals_per_h / 3600.0))
        # Exponential answer delay: each open item is answered in this tick with 1 - e^(-elapsed/mean).
        chance = 1.0 - math.exp(-(now - last).total_seconds() / self.mean_answer_delay_s)
        answered: list[int] = []
        for item_id, item in sorted(self._open.items()):
            old_enough = (now - item.at).total_seconds() >= self.min_answer_age_s
            if item.will_answer and old_enough and self.rng.random() < chance and self._answer(item_id, now):
                answered.append(item_id)
        return TickReport(tuple(added), tuple(answered))

    @property
    def open_ids(self) -> tuple[int, ...]:
        """Ids this generator added that nobody has answered yet."""
        for item_id in [i for i in self._open if self.sandbox.is_answered(i)]:
            del self._open[item_id]
        return tuple(sorted(self._open))

    def _add(self, at: datetime) -> int:
        """Add one item received at `at` to the sandbox, `_track` it, and return its id."""
        raise NotImplementedError

    def _track(self, item_id: int, at: datetime, will_answer: bool, answer: Callable[[str, datetime], object]) -> int:
        self._open[item_id] = _Open(at, will_answer, answer)
        return item_id

    def _answer(self, item_id: int, at: datetime) -> bool:
        """Answer as the seller; False when someone (the daemon, through the API) already did."""
        item = self._open.pop(item_id)
        if self.sandbox.is_answered(item_id):
            return False
        item.answer(self.rng.choice(self.seller_answers), at)
        return True

    def _phone(self) -> str:
        """A made-up mobile number, as buyers type theirs into a question."""
        return f"010-{self.rng.randint(1000, 9999)}-{self.rng.randint(1000, 9999)}"

    def _answer_delay_s(self) -> float:
        return self.min_answer_age_s + self.rng.expovariate(1.0 / self.mean_answer_delay_s)
