"""The one lookup both registries go through: an unregistered type is a KeyError naming it, never a default."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

_F = TypeVar("_F")


def registered(registry: Mapping[type[Any], _F], kind: type[Any], what: str) -> _F:
    try:
        return registry[kind]
    except KeyError:
        raise KeyError(f"no {what} is registered for {kind.__name__} (see aggregator/wiring/)") from None
