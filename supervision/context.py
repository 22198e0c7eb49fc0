"""What a supervised actor knows about its place in the tree, shared with its supervisor.

One :class:`ChildContext` per started instance. The child thread writes the counters (one
writer; plain attribute writes are atomic under the GIL) and the supervisor reads them for
hang detection and introspection without asking the child anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pykka

    from supervision.messages import ChildFailed
    from supervision.address import Address, Directory

__all__ = ["ChildContext"]


@dataclass(slots=True, kw_only=True, eq=False)
class ChildContext:
    """Identity, parent link and live counters of one actor instance."""

    name: str
    """The child's name (and its address's)."""
    generation: int
    """Incarnation number, 1 for the first start."""
    address: Address
    """The stable address other actors use to reach this child."""
    directory: Directory
    """Addresses of every actor in the tree, by name."""
    supervisor: pykka.ActorRef[Any] | None
    """Parent supervisor; None for the root, which escalates through ``on_escalate``."""
    on_escalate: Callable[[ChildFailed], None] | None = None
    """Root only: what to do when the whole tree gives up (bot.py exits non-zero)."""
    inflight: object | None = None
    """Message being handled right now (read by the supervisor when the child hangs)."""
    handled: int = 0
    """Messages handled by this instance."""
    errors_returned: int = 0
    """Exceptions returned to askers (the actor kept running)."""
    last_error: str | None = None
    """``repr`` of the last exception returned to an asker."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Supervisor-side knobs passed to the child (e.g. test hooks); never mutated by it."""
