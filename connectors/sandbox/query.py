"""Reading request fields as the marketplaces' servers do: one value per query parameter, checked against its shape.

Every check raises ParamProblem naming the field; each marketplace turns it into its own error body.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import httpx

T = TypeVar("T")


class ParamProblem(Exception):
    """One request field (query parameter or body field) is missing or malformed."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


def single(params: httpx.QueryParams, name: str) -> str | None:
    """The one value of optional query parameter `name`; empty counts as absent, repeats are refused."""
    values = params.get_list(name)
    if len(values) > 1:
        raise ParamProblem(name, "must be given only once")
    if not values or values[0] == "":
        return None
    return values[0]


def required(params: httpx.QueryParams, name: str, *, missing: str) -> str:
    """The value of a mandatory query parameter; `missing` is the marketplace's message when it is absent."""
    value = single(params, name)
    if value is None:
        raise ParamProblem(name, missing)
    return value


@dataclass(frozen=True, slots=True)
class Shape(Generic[T]):
    """What a field must look like and how it is read; the messages may name the value sent as {raw}."""

    pattern: re.Pattern[str]  # matched against the whole value
    parse: Callable[[str], T]  # ValueError: the value has the shape but cannot be (a 02-30 date)
    wrong_shape: str
    invalid: str

    def read(self, name: str, raw: str) -> T:
        """`raw` parsed, or ParamProblem naming `name`."""
        if self.pattern.fullmatch(raw) is None:
            raise ParamProblem(name, self.wrong_shape.format(raw=raw))
        try:
            return self.parse(raw)
        except ValueError as err:
            raise ParamProblem(name, self.invalid.format(raw=raw)) from err


@dataclass(frozen=True, slots=True)
class Page:
    """The page a list request asks for: `number` counts from 1, `size` rows each."""

    number: int
    size: int

    def rows(self) -> slice:
        """Which of all the matching rows are on this page."""
        first = (self.number - 1) * self.size
        return slice(first, first + self.size)
