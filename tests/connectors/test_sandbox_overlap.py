"""The overlap counter: requests of two instances for one account, in flight at once or one after the other."""

from __future__ import annotations

import itertools
import threading

import httpx

from connectors.sandbox import OverlapCounter, RequestSpan


def _held_handler(entered: threading.Event, release: threading.Event) -> object:
    def handler(request: httpx.Request) -> httpx.Response:
        entered.set()
        assert release.wait(10)
        return httpx.Response(200)

    return handler


def test_a_request_while_another_instance_has_one_in_flight_is_an_overlap() -> None:
    counter = OverlapCounter(clock=itertools.count().__next__)
    entered, release = threading.Event(), threading.Event()
    held = counter.wrap(_held_handler(entered, release), "one")  # type: ignore[arg-type]
    quick = counter.wrap(lambda request: httpx.Response(200), "two")
    same = counter.wrap(lambda request: httpx.Response(200), "one")
    request = httpx.Request("GET", "http://127.0.0.1/")
    first = threading.Thread(target=held, args=(request,))
    first.start()
    assert entered.wait(10)
    same(request)  # the same instance twice at once is no overlap (its own two streams)
    assert counter.overlaps == 0
    quick(request)
    release.set()
    first.join(10)
    assert counter.overlaps == 1
    assert counter.requests == {"one": 2, "two": 1}


def test_one_after_the_other_is_no_overlap_and_the_spans_say_who_came_when() -> None:
    counter = OverlapCounter(clock=itertools.count().__next__)
    request = httpx.Request("GET", "http://127.0.0.1/")
    for instance in ("one", "one", "two"):
        counter.wrap(lambda request: httpx.Response(200), instance)(request)
    assert counter.overlaps == 0
    assert counter.spans == [RequestSpan("one", 0, 1), RequestSpan("one", 2, 3), RequestSpan("two", 4, 5)]
    assert counter.first_after(2.5) == RequestSpan("two", 4, 5)
    assert counter.last_before(2.5) == RequestSpan("one", 2, 3)
    assert counter.first_after(4) is None
