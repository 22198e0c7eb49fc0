"""The package layering docs/architecture.md draws holds: imports only point down.

Each product package may import only the packages listed for it (run-time imports; imports
under ``if TYPE_CHECKING:`` may also name the domain types a package carries, see
TYPE_ONLY). chat/ and ops/ render supervision snapshots, so they may read
``supervision.snapshot`` and nothing else of the runtime.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

PRODUCT = ("core", "messages", "resilience", "supervision", "market", "storage", "ops", "chat",
           "actors", "users", "cluster")
OURS = (*PRODUCT, "fakes", "bot", "bench", "tests")

ALLOWED: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "messages": frozenset({"core"}),
    "resilience": frozenset({"core"}),
    "supervision": frozenset({"core", "resilience"}),
    "market": frozenset({"core", "messages", "resilience"}),
    "users": frozenset({"core", "messages"}),
    "storage": frozenset({"core", "messages", "users"}),
    "cluster": frozenset({"core", "messages"}),
    "ops": frozenset({"core", "messages", "market", "resilience", "supervision.snapshot"}),
    "chat": frozenset({"core", "messages", "market", "storage", "ops", "resilience", "users",
                       "supervision.snapshot"}),
    "actors": frozenset({"core", "messages", "resilience", "supervision", "market", "storage",
                         "ops", "chat", "users", "cluster"}),
    "fakes": frozenset(),
}
"""Package -> what it may import at run time (a dotted entry allows just that module)."""

TYPE_ONLY: dict[str, frozenset[str]] = {
    "messages": frozenset({"market", "chat"}),
}
"""Extra imports allowed for type checking only: the domain types a message carries."""


def _imports(path: Path) -> Iterator[tuple[str, bool]]:
    """(imported module, type-checking only) for every absolute import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(child) for part in node.body for child in ast.walk(part))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        else:
            continue
        for name in names:
            yield name, id(node) in type_only


def _allowed(name: str, rules: frozenset[str]) -> bool:
    return any(name == rule or name.startswith(rule + ".") for rule in rules)


def _violations(package: str) -> list[str]:
    found = []
    for path in sorted((REPO_ROOT / package).rglob("*.py")):
        for name, type_only in _imports(path):
            top = name.split(".")[0]
            if top not in OURS or top == package:
                continue
            rules = ALLOWED[package] | (TYPE_ONLY.get(package, frozenset()) if type_only
                                        else frozenset())
            if not _allowed(name, rules):
                found.append(f"{path.relative_to(REPO_ROOT)} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_package_imports_only_the_layers_below_it(package: str) -> None:
    assert _violations(package) == []


def test_every_top_level_package_has_a_rule() -> None:
    packages = {path.parent.name for path in REPO_ROOT.glob("*/__init__.py")}
    assert packages - {"tests", "bench"} == set(ALLOWED)


def test_the_checker_catches_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    module.write_text("from actors.fetcher import FetchWorker\n"
                      "from typing import TYPE_CHECKING\n"
                      "if TYPE_CHECKING:\n    from chat.parsing import Invocation\n")
    assert list(_imports(module)) == [("actors.fetcher", False), ("typing", False),
                                      ("chat.parsing", True)]
    assert not _allowed("actors.fetcher", ALLOWED["market"])
    assert _allowed("supervision.snapshot", ALLOWED["chat"])
    assert not _allowed("supervision.supervisor", ALLOWED["chat"])
