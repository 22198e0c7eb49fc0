"""The test doubles stay out of the product: no product module imports ``fakes``.

Only bot.py's ``demo`` and ``exchange-sim`` paths import the exchange simulator, lazily, inside
the functions that need it. The installed wheel ships ``fakes.exchange`` for them, never
``fakes.telegram``, so the exchange side must not import the Bot API fake either.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT_PACKAGES = ("market", "chat", "ops", "actors", "supervision", "storage", "core", "cluster",
                    "messages")

_IMPORT_EVERYTHING = """
import importlib, json, pkgutil, sys
import bot
for name in %r:
    package = importlib.import_module(name)
    for module in pkgutil.walk_packages(package.__path__, name + "."):
        importlib.import_module(module.name)
print(json.dumps(sorted(m for m in sys.modules if m == "fakes" or m.startswith("fakes."))))
""" % (PRODUCT_PACKAGES,)


def _modules_after(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_importing_bot_and_every_product_module_loads_no_fake() -> None:
    assert _modules_after(_IMPORT_EVERYTHING) == []


def test_the_exchange_simulator_does_not_pull_in_the_bot_api_fake() -> None:
    code = ("import json, sys; import fakes.exchange.simulator; "
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('fakes.'))))")

    assert not [name for name in _modules_after(code) if name.startswith("fakes.telegram")]


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every module name ``path`` imports (at any depth), with its line."""
    names: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append((node.module, node.lineno))
    return names


@pytest.mark.parametrize("package", PRODUCT_PACKAGES)
def test_no_product_source_imports_a_fake(package: str) -> None:
    offenders = [f"{path.relative_to(ROOT)}:{line} imports {name}"
                 for path in sorted((ROOT / package).rglob("*.py"))
                 for name, line in _imports(path)
                 if name == "fakes" or name.startswith("fakes.")]

    assert offenders == []


@pytest.mark.parametrize("package", PRODUCT_PACKAGES)
def test_product_source_does_not_even_mention_a_double(package: str) -> None:
    # The check, literally: `grep -rln "fake\|sim_"` over the product packages finds
    # nothing, so a double (or a comment pointing at one) cannot creep back in unnoticed.
    offenders = [f"{path.relative_to(ROOT)}:{number}"
                 for path in sorted((ROOT / package).rglob("*.py"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if "fake" in line or "sim_" in line]

    assert offenders == []


def test_bot_imports_the_simulator_only_inside_functions() -> None:
    tree = ast.parse((ROOT / "bot.py").read_text(encoding="utf-8"))
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    names = [alias.name for node in top_level for alias in node.names] + [
        node.module or "" for node in top_level if isinstance(node, ast.ImportFrom)]

    assert not [name for name in names if name == "fakes" or name.startswith("fakes.")]
