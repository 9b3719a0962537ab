"""One account, one Retry-After: a hold stops every request of the account, also those already waiting."""

from __future__ import annotations

import asyncio
import itertools

from connectors.base import RequestBudget


class SteppedClock:
    """Monotonic time that moves only when the test says; sleepers wake when time reaches their deadline."""

    def __init__(self) -> None:
        self._mono = 100.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._mono + max(0.0, seconds), future))
        await future

    async def advance_to(self, mono: float) -> None:
        """Move time forward in small steps, waking every sleeper whose deadline has come, in order."""
        while self._mono < mono:
            for _ in range(5):  # let everything runnable at this instant run before time moves
                await asyncio.sleep(0)
            self._mono = min(mono, self._mono + 0.01)
            for deadline, future in list(self._sleepers):
                if deadline <= self._mono + 1e-9 and not future.done():
                    future.set_result(None)
                    self._sleepers.remove((deadline, future))
            for _ in range(5):
                await asyncio.sleep(0)


async def test_retry_after_holds_streams_already_waiting() -> None:
    clock = SteppedClock()
    budget = RequestBudget(2.0, clock)  # type: ignore[arg-type]  # the test clock has what the budget uses
    sent: dict[str, float] = {}

    async def request(name: str) -> None:
        await budget.acquire()
        sent[name] = clock.monotonic()

    await request("first")  # the 429 answer comes back to this one
    product = asyncio.create_task(request("product_qna"))  # both streams are already waiting on their slots
    call_center = asyncio.create_task(request("call_center"))
    await clock.advance_to(100.2)
    assert sent == {"first": 100.0}
    budget.push_back(2.0)  # Retry-After: 2, read at 100.2
    await clock.advance_to(104.0)
    await asyncio.gather(product, call_center)
    assert sent["product_qna"] >= 102.2 - 1e-6
    assert sent["call_center"] >= 102.2 - 1e-6
    assert abs(sent["call_center"] - sent["product_qna"]) >= 0.5 - 1e-6  # still paced after the hold


async def test_without_a_hold_waiters_keep_their_slots() -> None:
    clock = SteppedClock()
    budget = RequestBudget(2.0, clock)  # type: ignore[arg-type]
    sent: list[float] = []

    async def request() -> None:
        await budget.acquire()
        sent.append(clock.monotonic())

    tasks = [asyncio.create_task(request()) for _ in range(3)]
    await clock.advance_to(102.0)
    await asyncio.gather(*tasks)
    assert [round(at, 6) for at in sent] == [100.0, 100.5, 101.0]


async def test_an_answer_goes_ahead_of_the_polls_booked_slots_and_the_rate_still_holds() -> None:
    clock = SteppedClock()
    budget = RequestBudget(2.0, clock)  # type: ignore[arg-type]
    sent: list[tuple[str, float]] = []

    async def request(name: str, *, priority: bool = False) -> None:
        await budget.acquire(priority=priority)
        sent.append((name, round(clock.monotonic(), 6)))

    polls = [asyncio.create_task(request(f"poll{n}")) for n in range(4)]  # booked at 100.0, 100.5, 101.0, 101.5
    await clock.advance_to(100.1)
    answer = asyncio.create_task(request("answer", priority=True))
    await clock.advance_to(104.0)
    await asyncio.gather(answer, *polls)
    assert sent[:2] == [("poll0", 100.0), ("answer", 100.5)]  # the answer takes the next slot the rate allows
    assert sorted(name for name, _ in sent[2:]) == ["poll1", "poll2", "poll3"]  # the displaced poll queues again
    assert sent[-1][1] == 102.0  # and nothing is lost: four polls and one answer in five slots
    times = [at for _, at in sent]
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.5 - 1e-6
