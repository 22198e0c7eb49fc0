"""The one module that relies on pykka beyond its public API.

pykka drops queued tells without a trace when an actor dies and fails queued asks with a bare
``ActorDeadError``. The supervision runtime empties the inbox first: tells are kept for the next
instance, asks fail at once with :class:`ChildUnavailable`, and queued stop requests resolve as
pykka would resolve them. Doing that, and sending cheaply, needs a few things pykka 4 does but
does not promise; they are all here, and ``tests/supervision/test_pykka_adapter.py`` pins each
one, so a pykka upgrade that changes them fails a test instead of losing messages:

1. ``Actor.__init__`` takes the inbox from the ``_create_actor_inbox`` hook, and the actor loop
   uses only ``put``/``get``/``empty`` of it: :class:`DrainableActor` installs a
   :class:`DrainableInbox`, a project-owned queue that can also be drained and measured.
2. The loop reads only ``.message`` and ``.reply_to`` of what the inbox hands it, so the runtime
   posts its own :class:`Letter` (no import of pykka's private ``Envelope``), and takes pykka's
   own envelopes (from ``ActorRef.tell``/``ask``/``stop``) out of an inbox the same way.
3. The loop handles the message it just took with ``get()``, in the actor thread; an exception
   goes back to the asker if the message was asked (the actor lives on), else to
   ``on_failure`` (the actor dies). So :attr:`DrainableActor.answering_ask` tells a handler's
   error that is returned to an asker from one that kills the actor.
4. A stop request is a ``pykka.messages._ActorStop`` with the stop future as ``reply_to``;
   draining resolves it with ``None``, as pykka's own teardown does.
5. Completing a ``ThreadingFuture`` twice raises ``queue.Full``.
6. ``ActorRef.tell`` is "if the stopped flag is set raise ``ActorDeadError``, else put an
   envelope": :func:`post` does the same without the exception, one call cheaper on the
   hottest path of the bot.
7. pykka logs an actor's unhandled exception with its traceback on the ``pykka`` logger;
   :class:`QuietPermanentFaults` drops those records for a
   :class:`~core.errors.PermanentFault` (the supervisors log it as one line and give up), so
   a rejected token is not a screen of tracebacks.

Only :class:`DrainableActor` has a :class:`DrainableInbox`; for any other pykka threading actor
the functions fall back on the ``queue`` methods of pykka's default inbox (``qsize``,
``get_nowait``).
"""

from __future__ import annotations

import logging
import queue
from typing import TYPE_CHECKING, Any

import pykka
from pykka import messages as pykka_messages

from core.errors import PermanentFault
from supervision.errors import ChildUnavailable

if TYPE_CHECKING:
    from pykka._actor import ActorInbox

__all__ = [
    "DrainableActor",
    "DrainableInbox",
    "Letter",
    "QuietPermanentFaults",
    "drain_inbox",
    "enqueue",
    "fail_future",
    "inbox_depth",
    "is_stop_request",
    "post",
]


class Letter:
    """A message in an inbox, with the future to answer if it was asked (pykka's envelope)."""

    __slots__ = ("message", "reply_to")

    def __init__(self, message: object, reply_to: pykka.Future[Any] | None = None) -> None:
        self.message = message
        self.reply_to = reply_to

    def __repr__(self) -> str:
        return f"Letter(message={self.message!r}, reply_to={self.reply_to!r})"


class DrainableInbox(queue.SimpleQueue[Any]):
    """pykka's inbox protocol (``put``, ``get``, ``empty``), drainable, with a depth.

    ``get`` is called by the actor loop only (actor thread): it notes whether the letter it
    hands out was asked. ``get_nowait`` (used to drain) does not go through ``get``.
    """

    __slots__ = ("answering_ask",)

    def __init__(self) -> None:
        super().__init__()
        self.answering_ask = False

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        letter = super().get(block, timeout)
        self.answering_ask = letter.reply_to is not None
        return letter


class QuietPermanentFaults(logging.Filter):
    """Drops pykka's traceback record for an actor that died of a ``PermanentFault``."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc_info = record.exc_info
        return not (exc_info and isinstance(exc_info[1], PermanentFault))


_PYKKA_LOGGER = logging.getLogger("pykka")
if not any(isinstance(f, QuietPermanentFaults) for f in _PYKKA_LOGGER.filters):
    _PYKKA_LOGGER.addFilter(QuietPermanentFaults())


class DrainableActor(pykka.ThreadingActor):
    """A ``ThreadingActor`` whose inbox is a :class:`DrainableInbox`."""

    @staticmethod
    def _create_actor_inbox() -> ActorInbox:
        return DrainableInbox()

    @property
    def answering_ask(self) -> bool:
        """Whether the message being handled was asked (read in the actor thread only).

        True: an exception goes back to the asker and this instance keeps running. False: it
        was told, and an exception ends this instance through ``on_failure``.
        """
        inbox = self.actor_inbox
        return isinstance(inbox, DrainableInbox) and inbox.answering_ask


def post(ref: pykka.ActorRef[Any], message: object) -> bool:
    """Tell ``message`` to a live instance; False (nothing sent) if it has stopped."""
    if ref.actor_stopped.is_set():
        return False
    ref.actor_inbox.put(Letter(message))  # type: ignore[arg-type]
    return True


def enqueue(ref: pykka.ActorRef[Any], message: object, reply_to: pykka.Future[Any] | None) -> None:
    """Put a message (asked if ``reply_to`` is set) into the inbox, alive or not."""
    ref.actor_inbox.put(Letter(message, reply_to))  # type: ignore[arg-type]


def inbox_depth(ref: pykka.ActorRef[Any]) -> int:
    """Messages queued in this instance's inbox."""
    inbox: Any = ref.actor_inbox  # a DrainableInbox or pykka's default queue.Queue
    return int(inbox.qsize())


def is_stop_request(message: object) -> bool:
    """Whether ``message`` is pykka's own stop request (``ActorRef.stop``)."""
    return isinstance(message, pykka_messages._ActorStop)  # noqa: SLF001


def fail_future(future: pykka.Future[Any], error: BaseException) -> None:
    """Complete a pykka future with ``error`` unless someone completed it already."""
    try:
        future.set_exception(exc_info=(type(error), error, None))
    except queue.Full:
        pass


def drain_inbox(ref: pykka.ActorRef[Any], name: str, reason: str) -> tuple[object, ...]:
    """Empty the inbox; return the queued tells in order and answer every queued ask."""
    inbox: Any = ref.actor_inbox  # a DrainableInbox or pykka's default queue.Queue
    kept: list[object] = []
    while True:
        try:
            letter = inbox.get_nowait()
        except queue.Empty:
            return tuple(kept)
        reply_to = letter.reply_to
        if reply_to is None:
            kept.append(letter.message)
        elif is_stop_request(letter.message):
            try:
                reply_to.set(None)
            except queue.Full:
                pass
        else:
            fail_future(reply_to, ChildUnavailable(name, reason))
