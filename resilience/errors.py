"""Errors raised by the resilience utilities.

Hierarchy::

    BotError                  core.errors
    └── CircuitOpenError      a circuit breaker refuses calls for now
"""

from __future__ import annotations

from core.errors import BotError

__all__ = ["CircuitOpenError"]


class CircuitOpenError(BotError):
    """A circuit breaker is open (or probing) and refuses the call."""

    def __init__(self, name: str, retry_after_s: float) -> None:
        self.name = name
        self.retry_after_s = retry_after_s
        super().__init__(f"circuit {name!r} is open; retry in {retry_after_s:.1f} s")
