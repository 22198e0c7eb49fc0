"""Messages of the instance registry (several instances of one bot, docs/scaling.md)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RegistryTick"]


@dataclass(frozen=True, slots=True)
class RegistryTick:
    """The registry actor's own timer: heartbeat now and read who else is live."""
