"""Each chat module declares exactly its public names, and the package imports no submodule."""

from __future__ import annotations

import importlib
import inspect

import pytest

import chat

MODULES = ["arguments", "callbacks", "cards", "charts", "cards_admin", "cards_analysis",
           "cards_format", "cards_market", "chunking", "commands", "html", "keyboards", "parsing",
           "policy", "replies", "alert_notices"]


def test_the_package_itself_exports_nothing() -> None:
    assert chat.__all__ == []


@pytest.mark.parametrize("name", MODULES)
def test_all_lists_every_public_name_defined_in_the_module(name: str) -> None:
    module = importlib.import_module(f"chat.{name}")
    exported = set(module.__all__)
    assert all(hasattr(module, item) for item in exported)
    defined_here = {
        item for item, value in vars(module).items()
        if not item.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and getattr(value, "__module__", None) == module.__name__
    }
    assert defined_here <= exported, defined_here - exported
