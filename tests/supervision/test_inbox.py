"""Guards the pykka internals the supervision layer relies on (pinned to pykka 4.x)."""

from __future__ import annotations

import threading
from typing import Any

import pykka
import pytest
from pykka import messages as pykka_messages

from supervision.errors import ChildUnavailable
from supervision.inbox import Envelope, drain_inbox


class Gate(pykka.ThreadingActor):
    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate

    def on_receive(self, message: Any) -> Any:
        self.gate.wait(5)


def test_envelopes_still_carry_message_and_reply_to():
    envelope = Envelope("m", reply_to=None)
    assert (envelope.message, envelope.reply_to) == ("m", None)


def test_draining_keeps_tells_fails_asks_and_resolves_stops():
    gate = threading.Event()
    ref = Gate.start(gate)
    try:
        ref.tell("blocker")
        ref.tell("t1")
        asked = ref.ask("a1", block=False)
        ref.tell("t2")
        stop_reply = pykka.ThreadingFuture()
        ref.actor_inbox.put(Envelope(pykka_messages._ActorStop(), reply_to=stop_reply))
        # "blocker" may or may not have been taken off the queue yet.
        kept = drain_inbox(ref.actor_inbox, "gate", "test")
        assert [m for m in kept if m != "blocker"] == ["t1", "t2"]
        with pytest.raises(ChildUnavailable):
            asked.get(timeout=1)
        assert stop_reply.get(timeout=1) is None
    finally:
        gate.set()
        ref.stop(timeout=5)


def test_pykka_sets_the_stopped_flag_before_calling_on_failure():
    """The address lock protocol assumes tells fail with ActorDeadError during on_failure."""
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
