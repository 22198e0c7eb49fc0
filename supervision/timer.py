"""A thread that tells an actor a message at a fixed interval (a supervisor's sweep clock).

Actors must never sleep; this keeps the waiting on one small thread of its own, which stops
promptly (``threading.Event.wait`` with a timeout, joined with a timeout).
"""

from __future__ import annotations

import threading
from typing import Any

import pykka

__all__ = ["PeriodicTimer"]


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
