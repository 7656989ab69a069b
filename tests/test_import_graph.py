"""The import graph of the packages: ``api``, ``gui`` and ``db`` never import ``sniffer`` (the
sensor), and no two modules import each other (docs/ARCHITECTURE.md). Read from the source (AST),
so lazy imports inside functions and ``TYPE_CHECKING`` imports count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("sniffer", "db", "api", "gui")
SENSOR_FREE = ("api", "gui", "db")

KNOWN_CYCLES: set[tuple[str, str]] = set()
"""Two-way references allowed: none."""


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def imports_of(name: str) -> set[str]:
    """Every module ``name`` imports (absolute names, wherever the import statement is)."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                out.add(sub if sub in MODULES else module)  # `from pkg import submodule`
    return out


def test_the_graph_is_read() -> None:
    assert "db.records" in MODULES and "sniffer.analyzer" in MODULES
    assert "db.records" in imports_of("db.queries.values")
    assert "db.queries.values" in imports_of("db.queries.calls")


@pytest.mark.parametrize("name", sorted(m for m in MODULES if m.startswith(SENSOR_FREE)))
def test_api_gui_and_db_import_nothing_from_the_sensor(name: str) -> None:
    bad = sorted(m for m in imports_of(name) if m == "sniffer" or m.startswith("sniffer."))
    assert not bad, f"{name} imports {bad}"


def test_no_two_modules_import_each_other() -> None:
    graph = {name: imports_of(name) & MODULES.keys() for name in MODULES}
    cycles = {(a, b) for a in graph for b in graph[a] if a < b and a in graph.get(b, set())}
    assert cycles - KNOWN_CYCLES == set()
