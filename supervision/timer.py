"""A thread that tells an actor a message at a fixed interval (a supervisor's sweep clock).

Actors must never sleep; this keeps the waiting on one small thread of its own, which stops
promptly (``threading.Event.wait`` with a timeout, joined with a timeout).

``start_periodic`` and ``stop_periodic`` are the two lines an actor with a clock writes in its
``setup()`` and ``release()``: they name the timer after the actor and tolerate a ``release()``
that runs after a ``setup()`` that never got as far as starting the timer.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pykka

if TYPE_CHECKING:
    from supervision.actor import SupervisedActor

__all__ = ["PeriodicTimer", "start_periodic", "stop_periodic"]


class PeriodicTimer:
    """Tells ``message`` to ``target`` every ``interval_s`` seconds until stopped."""

    def __init__(self, target: pykka.ActorRef[Any], message: object, interval_s: float, name: str) -> None:
        self._target = target
        self._message = message
        self._interval_s = interval_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"timer-{name}", daemon=True)

    def start(self) -> PeriodicTimer:
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 2.0) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval_s):
            try:
                self._target.tell(self._message)
            except pykka.ActorDeadError:
                return


def start_periodic(actor: SupervisedActor, message: object, interval_s: float) -> PeriodicTimer:
    """Starts a timer that tells ``message`` to ``actor`` every ``interval_s`` seconds.

    The timer's thread is named after the actor's context, so a thread dump says whose clock it
    is; call it from ``setup()`` and hand the result to ``stop_periodic`` in ``release()``.
    """
    return PeriodicTimer(actor.actor_ref, message, interval_s, actor.ctx.name).start()


def stop_periodic(timer: PeriodicTimer | None) -> None:
    """Stops ``timer`` if there is one: ``release()`` also runs after a ``setup()`` that failed
    before it started its timer (or for a timer the actor's configuration turned off)."""
    if timer is not None:
        timer.stop()
