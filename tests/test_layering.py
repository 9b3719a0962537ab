"""The import rules of STYLE.md: an AST walk fails on any forbidden import between our own modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
OURS = ("aggregator", "connectors", "policies")

# module (or package prefix) -> our modules it may import. Third-party imports are not checked here.
ALLOWED: dict[str, tuple[str, ...]] = {
    "aggregator.models": (),
    "aggregator.clock": (),
    "aggregator.redact": (),
    "aggregator.scheduler": ("aggregator.models",),
    "aggregator.render": ("aggregator.models", "aggregator.redact"),
    "aggregator.http": ("aggregator",),  # only __version__
    "aggregator.logs": ("aggregator.redact",),
    "aggregator.settings": (
        "aggregator",
        "aggregator.models",
        "aggregator.settings_policy",
        "aggregator.settings_notify",
        "aggregator.settings_service",
        "policies",
    ),
    "aggregator.settings_service": (
        "aggregator.admin",
        "aggregator.settings_notify",
        "aggregator.settings_policy",
        "policies",
    ),
    "aggregator.metrics": (),
    "aggregator.systemd": (),
    "aggregator.admin": ("aggregator.metrics", "aggregator.action_links"),
    "aggregator.action_links": (),
    "aggregator.telegram_actions": (),
    "aggregator.controls": ("aggregator.models", "aggregator.render", "aggregator.store", "policies"),
    "aggregator.cli_controls": OURS,
    "aggregator.init_wizard": OURS,
    "aggregator.init_config": OURS,
    "aggregator.init_accounts": OURS,
    "aggregator.init_texts": ("aggregator.models",),
    "aggregator.connection_watch": (
        "aggregator.models",
        "aggregator.clock",
        "aggregator.render",
        "aggregator.store",
        "policies.health",
    ),
    "aggregator.service": (
        "aggregator.clock",
        "aggregator.connection_watch",
        "aggregator.metrics",
        "aggregator.store",
        "aggregator.systemd",
    ),
    "aggregator.settings_policy": ("aggregator.models", "policies"),
    "aggregator.settings_notify": ("aggregator.models", "aggregator.settings_policy"),
    "aggregator.store": ("aggregator.models", "aggregator.store"),
    "aggregator.notifiers": (
        "aggregator.models",
        "aggregator.http",
        "aggregator.notifiers.base",
        "aggregator.action_links",
    ),
    "aggregator.poller": (
        "aggregator.models",
        "aggregator.clock",
        "aggregator.scheduler",
        "aggregator.store",
        "connectors.base",
    ),
    "aggregator.timers": ("aggregator.models", "aggregator.clock", "aggregator.store", "policies"),
    "aggregator.dispatcher": (
        "aggregator.models",
        "aggregator.clock",
        "aggregator.scheduler",
        "aggregator.store",
        "aggregator.render",
        "aggregator.notifiers.base",
        "policies",
    ),
    "policies": ("aggregator.models", "policies"),
    "connectors.sandbox": ("aggregator.models", "aggregator.clock", "connectors.sandbox"),
    "connectors": ("aggregator.models", "aggregator.clock", "aggregator.http", "connectors"),
    # composition roots may import anything of ours
    "aggregator.daemon": OURS,
    "aggregator.demo": OURS,
    "aggregator.cli": OURS,
    "aggregator.reports": OURS,
    "aggregator.status_report": OURS,
    "aggregator.__main__": OURS,
    "aggregator": ("aggregator",),
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _rule_for(module: str) -> tuple[str, ...]:
    best = max((key for key in ALLOWED if module == key or module.startswith(key + ".")), key=len)
    return ALLOWED[best]


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:  # `from aggregator import render` imports the module aggregator.render
                sub = f"{node.module}.{alias.name}"
                is_module = (ROOT / sub.replace(".", "/")).with_suffix(".py").is_file()
                found.add(sub if is_module else node.module)
    return {name for name in found if name.split(".")[0] in OURS}


SOURCES = sorted(p for package in OURS for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_follow_the_layering(path: Path) -> None:
    module = _module_name(path)
    allowed = _rule_for(module)
    forbidden = sorted(
        name
        for name in _imports(path)
        if name != module and not any(name == a or name.startswith(a + ".") for a in allowed)
    )
    assert forbidden == [], f"{module} may not import {forbidden}"


def test_policies_do_no_io() -> None:
    banned = {"asyncio", "httpx", "aiosqlite", "socket", "time"}
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            {
                alias.name.split(".")[0]
                for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                if isinstance(node, ast.Import | ast.ImportFrom)
                for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
            }
            & banned
        )
        for path in (ROOT / "policies").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}
