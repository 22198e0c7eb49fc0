"""Errors raised by the supervision layer.

Hierarchy::

    BotError                                  core.errors
    └── SupervisionError
        ├── ChildUnavailable                  an actor is restarting, stopped or never started
        │   └── AskTimeout                    no answer within the ask timeout
        ├── MaxRestartsExceeded               restart intensity exceeded; escalates to the parent
        ├── PermanentChildFault               a child failed with a PermanentFault: escalated
        │                                     at once (also a core.errors.PermanentFault)
        └── EscapedBaseException              a BaseException that library code raised in a handler
"""

from __future__ import annotations

from core.errors import BotError, PermanentFault

__all__ = [
    "AskTimeout",
    "ChildUnavailable",
    "EscapedBaseException",
    "MaxRestartsExceeded",
    "PermanentChildFault",
    "SupervisionError",
]


class SupervisionError(BotError):
    """Base class of the supervision layer's errors."""


class ChildUnavailable(SupervisionError):
    """An ask could not be answered because the actor behind an address is not running.

    Raised at once instead of letting the caller hang on a dead actor; ``retry_after_s`` is the
    supervisor's best guess of when the actor will be back (0 when unknown).
    """

    def __init__(self, name: str, reason: str, retry_after_s: float = 0.0) -> None:
        self.name = name
        self.reason = reason
        self.retry_after_s = retry_after_s
        super().__init__(f"actor {name!r} is unavailable: {reason}")


class MaxRestartsExceeded(SupervisionError):
    """More restarts than the intensity allows happened within the period."""

    def __init__(self, supervisor: str, restarts: int, period_s: float) -> None:
        self.supervisor = supervisor
        self.restarts = restarts
        self.period_s = period_s
        super().__init__(
            f"supervisor {supervisor!r} exceeded {restarts - 1} restarts within {period_s:g} s"
        )


class PermanentChildFault(SupervisionError, PermanentFault):
    """A child failed in a way no restart can fix; the supervisor gives up without restarting.

    ``str()`` is the child's own one-line reason, so it reaches the top of the tree unchanged.
    """

    def __init__(self, child: str, reason: str) -> None:
        self.child = child
        self.reason = reason
        super().__init__(reason)


class EscapedBaseException(SupervisionError):
    """A non-``Exception`` BaseException (CancelledError, GeneratorExit, ...) left a handler.

    pykka answers such an exception by stopping every actor in the process; the base actor
    turns it into this ordinary failure so only the one actor restarts.
    """


class AskTimeout(ChildUnavailable):
    """An ask got no answer within its timeout (the actor may be busy or hung)."""

    def __init__(self, name: str, timeout_s: float) -> None:
        super().__init__(name, f"no answer within {timeout_s:g} s")
        self.timeout_s = timeout_s
