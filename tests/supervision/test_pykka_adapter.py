"""Pins what supervision/pykka_adapter.py relies on in pykka beyond its public API.

Each test is one numbered point of the adapter's docstring. pykka is pinned to 4.x (setup.cfg);
if an upgrade changes any of this, a test here fails instead of messages getting lost.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

import pykka
import pytest

from supervision.errors import ChildUnavailable
from supervision.pykka_adapter import (
    DrainableActor,
    DrainableInbox,
    drain_inbox,
    enqueue,
    fail_future,
    inbox_depth,
    is_stop_request,
    post,
)

ACTOR_KINDS = [DrainableActor, pykka.ThreadingActor]
"""The runtime's own actors, and plain pykka actors (tests attach those to addresses)."""


def gate_actor(base: type[pykka.ThreadingActor], gate: threading.Event) -> pykka.ActorRef[Any]:
    """An actor busy with a first message until ``gate`` is set, so later ones stay queued."""
    busy = threading.Event()

    class Gate(base):  # type: ignore[misc, valid-type]
        def on_receive(self, message: Any) -> Any:
            busy.set()
            gate.wait(5)
            return message

    ref = Gate.start()
    ref.tell("blocker")
    assert busy.wait(5)
    return ref


class Recorder(DrainableActor):
    """Answers with what it saw; raises for "raise"; records whether each message was asked."""

    def __init__(self, seen: list[tuple[object, bool]], failed: threading.Event) -> None:
        super().__init__()
        self.seen = seen
        self.failed = failed

    def on_receive(self, message: Any) -> Any:
        self.seen.append((message, self.answering_ask))
        if message == "raise":
            raise RuntimeError("boom")
        return ("got", message)

    def on_failure(self, *exc_info: object) -> None:
        self.failed.set()


# -- 1. the inbox hook ---------------------------------------------------------------------------


def test_1_the_inbox_comes_from_the_create_actor_inbox_hook():
    ref = DrainableActor.start()
    try:
        assert isinstance(ref.actor_inbox, DrainableInbox)
    finally:
        ref.stop(timeout=5)


# -- 2. letters in, pykka's envelopes out --------------------------------------------------------


def test_2_the_actor_loop_takes_the_runtimes_own_letters():
    seen: list[tuple[object, bool]] = []
    ref = Recorder.start(seen, threading.Event())
    try:
        answer: pykka.ThreadingFuture[Any] = pykka.ThreadingFuture()
        assert post(ref, "told")
        enqueue(ref, "asked", answer)
        assert answer.get(timeout=5) == ("got", "asked")
        assert [message for message, _ in seen] == ["told", "asked"]
    finally:
        ref.stop(timeout=5)


@pytest.mark.parametrize("base", ACTOR_KINDS, ids=lambda kind: kind.__name__)
def test_2_4_draining_keeps_tells_fails_asks_and_resolves_stops(base: type[pykka.ThreadingActor]):
    """pykka's own envelopes (tell, ask, stop) come out with .message and .reply_to."""
    gate = threading.Event()
    ref = gate_actor(base, gate)
    try:
        ref.tell("t1")
        asked = ref.ask("a1", block=False)
        post(ref, "t2")
        stopped = ref.stop(block=False)
        assert drain_inbox(ref, "gate", "test") == ("t1", "t2")
        with pytest.raises(ChildUnavailable):
            asked.get(timeout=1)
        assert stopped.get(timeout=1) is True  # resolved as pykka's own teardown would
    finally:
        gate.set()
        ref.stop(timeout=5)


@pytest.mark.parametrize("base", ACTOR_KINDS, ids=lambda kind: kind.__name__)
def test_2_the_inbox_depth_counts_what_waits(base: type[pykka.ThreadingActor]):
    gate = threading.Event()
    ref = gate_actor(base, gate)
    try:
        assert inbox_depth(ref) == 0
        for n in range(3):
            post(ref, n)
        assert inbox_depth(ref) == 3
    finally:
        gate.set()
        ref.stop(timeout=5)


# -- 3. asked or told ----------------------------------------------------------------------------


def test_3_an_asked_error_goes_back_to_the_asker_and_the_actor_lives_on():
    seen: list[tuple[object, bool]] = []
    failed = threading.Event()
    ref = Recorder.start(seen, failed)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            ref.ask("raise", timeout=5)
        assert ref.ask("after", timeout=5) == ("got", "after")
        assert not failed.is_set()
        assert seen == [("raise", True), ("after", True)]
    finally:
        ref.stop(timeout=5)


def test_3_a_told_error_ends_the_actor_through_on_failure():
    seen: list[tuple[object, bool]] = []
    failed = threading.Event()
    ref = Recorder.start(seen, failed)
    ref.tell("raise")
    assert failed.wait(5)
    assert seen == [("raise", False)]
    assert not post(ref, "too late")


def test_3_pykka_sets_the_stopped_flag_before_calling_on_failure():
    """The address lock protocol assumes tells fail during on_failure."""
    seen: list[bool] = []
    done = threading.Event()

    class Failing(pykka.ThreadingActor):
        def on_receive(self, message: Any) -> Any:
            raise RuntimeError("boom")

        def on_failure(self, *exc_info: object) -> None:
            seen.append(self.actor_ref.is_alive())
            done.set()

    ref = Failing.start()
    ref.tell("x")
    assert done.wait(5)
    assert seen == [False]


# -- 4. stop requests ----------------------------------------------------------------------------


def test_4_a_stop_request_is_recognised_and_nothing_else_is():
    gate = threading.Event()
    ref = gate_actor(DrainableActor, gate)
    try:
        ref.tell("queued")
        ref.stop(block=False)
        inbox: Any = ref.actor_inbox
        letters = []
        while True:
            try:
                letters.append(inbox.get_nowait())
            except queue.Empty:
                break
        assert [(letter.message, letter.reply_to is None) for letter in letters][0] == ("queued", True)
        assert [is_stop_request(letter.message) for letter in letters] == [False, True]
        assert letters[1].reply_to is not None  # the stop future, resolved with None
        letters[1].reply_to.set(None)
    finally:
        gate.set()
        ref.stop(timeout=5)


# -- 5. futures complete once --------------------------------------------------------------------


def test_5_completing_a_threading_future_twice_raises_queue_full():
    future: pykka.ThreadingFuture[Any] = pykka.ThreadingFuture()
    future.set(1)
    with pytest.raises(queue.Full):
        future.set(2)
    with pytest.raises(queue.Full):
        future.set_exception(exc_info=(RuntimeError, RuntimeError("late"), None))
    fail_future(future, RuntimeError("late"))  # swallowed: the first answer stands
    assert future.get(timeout=0) == 1


# -- 6. post is ActorRef.tell without the exception ----------------------------------------------


def test_6_post_refuses_a_stopped_instance_where_tell_raises():
    ref = DrainableActor.start()
    ref.stop(timeout=5)
    assert post(ref, "late") is False
    with pytest.raises(pykka.ActorDeadError):
        ref.tell("late")
