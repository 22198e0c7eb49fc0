from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pykka
import pytest

from supervision.spec import ChildSpec
from supervision.supervisor import SupervisorSettings
from supervision.tree import SupervisionTree
from tests.supervision.workers import FAST, Journal


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
def make_tree() -> Iterator[Callable[..., SupervisionTree]]:
    trees: list[SupervisionTree] = []

    def make(
        specs: Sequence[ChildSpec], settings: SupervisorSettings = FAST, **tree_options: object
    ) -> SupervisionTree:
        tree = SupervisionTree(specs, settings, **tree_options).start()  # type: ignore[arg-type]
        trees.append(tree)
        return tree

    yield make
    for tree in trees:
        tree.stop(timeout_s=5)
    leftovers = pykka.ActorRegistry.get_all()
    pykka.ActorRegistry.stop_all(timeout=5)
    assert not leftovers, f"actors left running: {leftovers}"
