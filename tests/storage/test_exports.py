"""The storage package's public surface is exactly what its facade says."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import storage


def test_the_facade_exports_exactly_its_all():
    public = {name for name in vars(storage) if not name.startswith("_")}
    modules = {info.name for info in pkgutil.iter_modules(storage.__path__)}
    assert set(storage.__all__) == public - modules - {"annotations"}


@pytest.mark.parametrize("name", [info.name for info in pkgutil.iter_modules(storage.__path__)])
def test_every_module_declares_all_and_defines_it(name):
    module = importlib.import_module(f"storage.{name}")
    assert module.__doc__
    for exported in module.__all__:
        assert hasattr(module, exported), f"storage.{name}.{exported}"
