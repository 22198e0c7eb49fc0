"""Child states: an enum inside the runtime, the same plain text and JSON outside."""

from __future__ import annotations

import json

import pytest

from supervision.address import AddressState
from supervision.snapshot import ActorSnapshot, ChildState, render_tree


@pytest.mark.parametrize("state", list(AddressState), ids=lambda state: state.value)
def test_every_address_state_stands_for_a_child_state(state: AddressState) -> None:
    child_state = ChildState.of_address(state)
    assert isinstance(child_state, ChildState)
    if state not in (AddressState.UNBOUND, AddressState.STARTING):
        assert child_state.value == state.value


def test_a_plain_value_becomes_a_child_state_and_json_carries_the_plain_value() -> None:
    node = ActorSnapshot(name="cache", state="lazy", kind="worker")  # type: ignore[arg-type]
    assert node.state is ChildState.LAZY
    data = node.to_dict()
    assert type(data["state"]) is str and data["state"] == "lazy"
    assert json.loads(json.dumps(data))["state"] == "lazy"


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError):
        ActorSnapshot(name="x", state="sleepy", kind="worker")  # type: ignore[arg-type]


def test_the_tree_text_shows_the_plain_values() -> None:
    tree = ActorSnapshot(name="root", state=ChildState.RUNNING, kind="supervisor",
                         strategy="one_for_one", children=(
        ActorSnapshot(name="fetcher", state=ChildState.RESTARTING, kind="worker", restarts=2),
        ActorSnapshot(name="charts", state=ChildState.LAZY, kind="worker"),
        ActorSnapshot(name="writer", state=ChildState.FAILED, kind="worker"),
    ))
    assert render_tree(tree) == "\n".join([
        "● root  running, one_for_one",
        "├─◐ fetcher  restarting, restarts 2",
        "├─○ charts  lazy",
        "└─✖ writer  failed",
    ])
