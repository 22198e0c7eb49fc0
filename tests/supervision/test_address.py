"""Stable addresses: buffering, ordering, lazy start, dead letters, fast-failing asks."""

from __future__ import annotations

import logging
from typing import Any

import pykka
import pytest

from supervision.address import Address, AddressState, Directory
from supervision.errors import AskTimeout, ChildUnavailable
from supervision.messages import StartLazy


class Recorder(pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Any] = []

    def on_receive(self, message: Any) -> Any:
        if message == "dump":
            return list(self.seen)
        if message == "silence":
            return None
        self.seen.append(message)
        return message


@pytest.fixture
def recorder():
    ref = Recorder.start()
    yield ref
    ref.stop(timeout=5)


def test_tells_before_the_first_start_are_kept_and_delivered_in_order(recorder):
    address = Address("r")
    for n in range(3):
        address.tell(n)
    assert address.buffered == 3
    address.attach(recorder, 1)
    address.tell(3)
    assert address.ask("dump", timeout=5) == [0, 1, 2, 3]


def test_requeued_messages_of_a_dead_instance_go_ahead_of_newer_ones(recorder):
    address = Address("r")
    address.tell("sent-after-crash")
    address.requeue_front(["in-flight", "queued"])
    address.attach(recorder, 1)
    assert address.ask("dump", timeout=5) == ["in-flight", "queued", "sent-after-crash"]


def test_an_ask_while_restarting_fails_at_once_with_a_typed_error(recorder):
    address = Address("r")
    address.attach(recorder, 1)
    assert address.detach(1)
    with pytest.raises(ChildUnavailable, match="restarting"):
        address.ask("hello", timeout=5)


def test_detaching_an_old_generation_does_not_touch_the_new_instance(recorder):
    address = Address("r")
    address.attach(recorder, 2)
    assert not address.detach(1)
    assert address.state is AddressState.RUNNING


def test_an_ask_to_a_lazy_child_requests_its_start_once_and_waits_for_it(recorder):
    supervisor = Recorder.start()
    try:
        address = Address("lazy")
        address.bind(supervisor, lazy=True)
        first = address.ask_future("one")
        second = address.ask_future("two")
        assert supervisor.ask("dump", timeout=5) == [StartLazy("lazy")]
        address.attach(recorder, 1)
        assert (first.get(timeout=5), second.get(timeout=5)) == ("one", "two")
    finally:
        supervisor.stop(timeout=5)


def test_an_ask_that_gets_no_answer_in_time_raises_ask_timeout():
    class Slow(pykka.ThreadingActor):
        def on_receive(self, message: Any) -> Any:
            return None

    address = Address("slow")
    address.bind(Slow.start(), lazy=False)  # supervisor ref unused while starting
    with pytest.raises(AskTimeout):
        address.ask("x", timeout=0.05)  # still starting: the ask waits, then times out
    pykka.ActorRegistry.stop_all(timeout=5)


def test_messages_to_a_closed_address_are_logged_dead_letters(caplog):
    address = Address("gone")
    address.tell("kept")
    with caplog.at_level(logging.WARNING):
        address.close("bot shutting down")
        address.tell("late")
    dead = [r for r in caplog.records if getattr(r, "event", None) == "actor.dead_letter"]
    assert len(dead) == 2 and address.dead_letters == 2
    with pytest.raises(ChildUnavailable):
        address.ask("x", timeout=1)


def test_a_full_restart_buffer_turns_extra_messages_into_dead_letters(caplog):
    address = Address("small", buffer_limit=2)
    with caplog.at_level(logging.WARNING):
        for n in range(3):
            address.tell(n)
    assert address.buffered == 2 and address.dead_letters == 1


def test_a_directory_hands_out_one_address_per_name():
    directory = Directory()
    assert directory["x"] is directory["x"]
    assert directory.names() == ("x",)
