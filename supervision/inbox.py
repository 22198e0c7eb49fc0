"""Taking the queued messages out of a pykka actor's inbox before pykka throws them away.

pykka drops queued tells without a trace when an actor dies and fails queued asks with a bare
``ActorDeadError``. The supervision layer empties the inbox first: tells are kept for the next
instance, asks fail at once with :class:`ChildUnavailable`, and queued stop requests resolve as
pykka would resolve them. This relies on pykka's internal ``Envelope`` (``message`` and
``reply_to``); pykka is pinned to 4.x and ``tests/supervision/test_inbox.py`` guards the shape.
"""

from __future__ import annotations

import queue
from typing import Any

from pykka import messages as pykka_messages
from pykka._envelope import Envelope

from supervision.errors import ChildUnavailable

__all__ = ["Envelope", "drain_inbox", "fail_future"]


def fail_future(future: Any, error: BaseException) -> None:
    """Complete a pykka future with ``error`` unless someone completed it already."""
    try:
        future.set_exception(exc_info=(type(error), error, None))
    except queue.Full:
        pass


def drain_inbox(inbox: Any, name: str, reason: str) -> tuple[object, ...]:
    """Empty ``inbox``; return the queued tells in order and answer every queued ask."""
    kept: list[object] = []
    while True:
        try:
            envelope = inbox.get_nowait()
        except queue.Empty:
            return tuple(kept)
        reply_to = envelope.reply_to
        if reply_to is None:
            kept.append(envelope.message)
        elif isinstance(envelope.message, pykka_messages._ActorStop):  # noqa: SLF001
            try:
                reply_to.set(None)
            except queue.Full:
                pass
        else:
            fail_future(reply_to, ChildUnavailable(name, reason))
