"""The supervision runtime is self-contained: what it imports, and where pykka internals are used.

Imports are read with ``ast`` (every ``import`` statement, including those under
``TYPE_CHECKING`` and inside functions), so nothing is executed to check them.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

import supervision

ROOT = Path(__file__).resolve().parents[2]

APPLICATION = ("actors", "bench", "bot", "chat", "market", "messages", "ops", "storage", "tests")
"""Top-level packages and modules of the application around the runtime."""

ALLOWED = {
    "supervision": {"pykka", "core", "resilience", "supervision"},
    "resilience": {"core", "resilience"},
}
"""Besides the standard library, what each package may import."""


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            assert node.module is not None
            found.add(node.module)
    return found


def package_files(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found in {package}/"
    return files


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_standard_library_and_what_it_may(package: str) -> None:
    allowed = ALLOWED[package] | set(sys.stdlib_module_names) | {"__future__"}
    offending = {
        f"{path.relative_to(ROOT)}: {module}"
        for path in package_files(package)
        for module in imported_modules(path)
        if module.split(".")[0] not in allowed
    }
    assert not offending, "imports from outside the allowed packages:\n" + "\n".join(sorted(offending))


def test_no_application_package_is_allowed_into_the_runtime() -> None:
    assert not (ALLOWED["supervision"] | ALLOWED["resilience"]) & set(APPLICATION)


PYKKA_INTERNALS = re.compile(
    r"pykka\._|_envelope|\bEnvelope\b|_ActorStop|_create_actor_inbox|actor_inbox\.(?!empty\()"
)
"""pykka's private modules and names, and any use of an actor's inbox beyond ``empty()``."""


def test_only_the_adapter_touches_pykka_internals() -> None:
    sources = [path for path in ROOT.rglob("*.py")
               if path.relative_to(ROOT).parts[0] not in ("tests", ".git")
               and "site-packages" not in path.parts]
    touching = {str(path.relative_to(ROOT)) for path in sources
                if PYKKA_INTERNALS.search(path.read_text(encoding="utf-8"))}
    assert touching == {"supervision/pykka_adapter.py"}


def test_the_facade_exports_the_public_api_in_one_import() -> None:
    exported = set(supervision.__all__)
    assert len(exported) == len(supervision.__all__)
    assert {name for name in exported if not hasattr(supervision, name)} == set()
    assert {
        "Supervisor", "SupervisedActor", "ChildSpec", "Strategy", "Address", "Directory",
        "ChildContext", "ChildUnavailable", "ActorSnapshot", "ChildState", "request",
        "PeriodicTimer", "SupervisionTree",
    } <= exported


def test_the_package_says_what_it_is() -> None:
    assert supervision.__doc__ is not None and "placeholder" not in supervision.__doc__
    assert "may import" in supervision.__doc__
