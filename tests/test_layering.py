"""The layering of docs/architecture.md: an AST walk fails on any forbidden import between our own modules.

The house reads bottom-up: core (the shared words) -> connectors, policies -> aggregator (the app). Imports under
TYPE_CHECKING count too: a circle that only the type checker sees is still a circle for a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
OURS = ("core", "aggregator", "connectors", "policies")
LAYERS = {"core": 0, "connectors": 1, "policies": 1, "aggregator": 2}

# module (or package prefix) -> our modules it may import. Third-party imports are not checked here.
ALLOWED: dict[str, tuple[str, ...]] = {
    "core": ("core",),
    "aggregator.scheduler": ("core.models",),
    "aggregator.render": ("core.models", "core.redact"),
    "aggregator.logs": ("core.redact",),
    "aggregator.settings": (
        "aggregator",
        "core.models",
        "aggregator.settings.policy",
        "aggregator.settings.notify",
        "aggregator.settings.service",
        "policies",
    ),
    "aggregator.settings.service": (
        "aggregator.admin",
        "aggregator.settings.notify",
        "aggregator.settings.policy",
        "aggregator.settings.problems",
        "policies",
    ),
    "aggregator.metrics": (),
    "aggregator.systemd": (),
    "aggregator.memory": ("core.clock",),
    "aggregator.holiday_tables": ("core.files", "policies", "policies.calendar"),
    # The admin server binds at start and builds its aiohttp application (admin_app) on the first connection.
    "aggregator.admin": ("aggregator.admin_app", "aggregator.metrics"),
    "aggregator.admin_app": ("aggregator.metrics", "aggregator.notifiers.action_links"),
    "aggregator.notifiers.action_links": (),
    "aggregator.notifiers.telegram_actions": ("aggregator.notifiers.telegram_bot",),
    # Answering from Telegram is a surface of the answer service, like `inqd answer`: it speaks to the desk.
    "aggregator.notifiers.telegram_answers": (
        "aggregator.notifiers.telegram",
        "aggregator.notifiers.telegram_bot",
        "aggregator.answering.desk",
        "aggregator.answering.service",
        "aggregator.render",
        "aggregator.store",
    ),
    # KakaoTalk: built from its own config (the brief's signature), its preview says the time left as render does.
    "aggregator.notifiers.kakao": (
        "aggregator.notifiers.base",
        "aggregator.notifiers.action_links",
        "aggregator.notifiers.kakao_auth",  # its stored login: one KakaoLoginNeeded, one token file path
        "aggregator.settings.notify",
        "aggregator.render",
    ),
    "aggregator.control_service": ("core.models", "aggregator.render", "aggregator.store", "policies"),
    "aggregator.cli.control_commands": OURS,
    "aggregator.init.wizard": OURS,
    "aggregator.init.config": OURS,
    "aggregator.init.accounts": OURS,
    "aggregator.init.texts": ("core.models", "aggregator.language"),
    "aggregator.language": (),
    "aggregator.connection_messages": ("core.models", "core.particles", "aggregator.render"),
    "aggregator.connection_watch": (
        "core.models",
        "core.clock",
        "aggregator.connection_messages",
        "aggregator.render",
        "aggregator.store",
        "policies.health",
    ),
    "aggregator.service": (
        "core.clock",
        "aggregator.connection_watch",
        "aggregator.metrics",
        "aggregator.store",
        "aggregator.systemd",
    ),
    "aggregator.settings.policy": (
        "core.models",
        "policies",
        "aggregator.settings.hours",
        "aggregator.settings.problems",
    ),
    "aggregator.settings.notify": ("core.models", "aggregator.settings.policy", "aggregator.settings.problems"),
    "aggregator.store": ("core.models", "aggregator.store"),
    # the report's read returns the report's own facts (policies.answer_report's types, no rule)
    "aggregator.store.report": ("core.models", "aggregator.store", "policies.answer_report"),
    "aggregator.report.text": ("aggregator", "policies.answer_report"),
    "aggregator.report.reading": (
        "aggregator.settings",
        "aggregator.store",
        "aggregator.report",
        "core.models",
        "policies",
    ),
    "aggregator.templates": ("policies.templates",),
    "aggregator.notifiers": (
        "core.models",
        "core.http",
        "aggregator.notifiers.base",
        "aggregator.notifiers.action_links",
        "aggregator.notifiers.telegram_bot",
    ),
    "aggregator.poller": (
        "core.models",
        "core.clock",
        "aggregator.scheduler",
        "aggregator.store",
        "connectors.base",
    ),
    "aggregator.leases": ("core.clock", "aggregator.store", "policies.leases"),
    "aggregator.alert_timer": ("core.models", "core.clock", "aggregator.store", "policies"),
    "aggregator.report.weekly": (
        "core.models",
        "core.clock",
        "aggregator.settings.report",
        "aggregator.store",
        "policies",
    ),
    "aggregator.answering": (
        "aggregator.answering",
        "aggregator.store",
        "aggregator.control_service",  # a template's promised date becomes an inqd promise
        "connectors.base",
        "policies",
    ),
    # the check as every surface builds it: the config's accounts, their connector classes' declared limits
    "aggregator.answering.check": (
        "aggregator.answering.service",
        "aggregator.settings",
        "aggregator.wiring",
        "policies.answer_check",
        "policies.templates",
    ),
    # A phone's way into the answer service: templates (file and filling) and the check come together here.
    "aggregator.answering.desk": (
        "aggregator.answering",
        "aggregator.store",
        "aggregator.templates",
        "connectors.base",
        "policies",
    ),
    "aggregator.report.chart": ("policies.answer_report",),  # draws the report's figures, computes nothing
    "aggregator.dispatcher": (
        "core.models",
        "core.clock",
        "aggregator.scheduler",
        "aggregator.store",
        "aggregator.render",
        "aggregator.notifiers.base",
        "policies",
    ),
    "policies": ("core", "policies"),
    "connectors.sandbox": ("core", "connectors.sandbox"),
    "connectors": ("core", "connectors"),
    # composition roots may import anything of ours
    "aggregator.daemon": OURS,
    "aggregator.daemon_surfaces": OURS,  # the composition root's surfaces (phone, admin API, web inbox)
    "aggregator.demo": OURS,
    "aggregator.demo_state": OURS,  # the demo's helper: the sandbox shops it keeps with its data dir
    "aggregator.wiring": OURS,
    "aggregator.wiring.phone": OURS,  # a composition root's piece: the Telegram surfaces of one channel
    "aggregator.cli": OURS,
    # the web inbox is a surface like the CLI: it reads the store and calls the same services (never a connector)
    "aggregator.web": ("core", "policies", "aggregator"),
    "aggregator.init": OURS,
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
    allowed = (*_rule_for(module), "core")  # the kernel is below everything
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


def _graph() -> dict[str, set[str]]:
    """Every module of ours -> the modules of ours it imports (packages resolved to their __init__)."""
    modules = {_module_name(path): path for path in SOURCES}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        graph[name] = {imported for imported in _imports(path) if imported in modules and imported != name}
    return graph


def test_packages_import_downwards_only() -> None:
    crossings = sorted(
        (module, imported)
        for module, imports in _graph().items()
        for imported in imports
        if LAYERS[imported.split(".")[0]] > LAYERS[module.split(".")[0]]
        or (
            module.split(".")[0] != imported.split(".")[0]
            and LAYERS[imported.split(".")[0]] == LAYERS[module.split(".")[0]]
        )
    )
    assert crossings == []


def test_no_module_circle() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert circles == []
