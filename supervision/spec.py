"""Child specifications and the order children start and stop in.

A spec says how to start a child and what to do when it dies (restart type), how important it
is (priority) and what it needs running first (dependencies). Start order is a topological
order of the dependencies that prefers higher priority, then declaration order; stop order is
exactly the reverse, whatever restarts happened in between (unlike pykka's ``stop_all``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any

from supervision.errors import SupervisionError

if TYPE_CHECKING:
    import pykka

    from supervision.context import ChildContext

__all__ = ["ChildSpec", "Priority", "RestartType", "SpecError", "start_order"]


class RestartType(StrEnum):
    """OTP restart types."""

    PERMANENT = "permanent"
    """Always restarted."""
    TRANSIENT = "transient"
    """Restarted only after a failure, not after a normal stop."""
    TEMPORARY = "temporary"
    """Never restarted, not even when a sibling's failure takes it down."""


class Priority(IntEnum):
    """Start priority among children whose dependencies are met (lower starts first)."""

    CRITICAL = 0
    HIGH = 1
    MEDIUM = 2
    LOW = 3
    BACKGROUND = 4


class SpecError(SupervisionError):
    """The child specs of a supervisor are inconsistent (duplicate, unknown dependency, cycle)."""


ActorFactory = Callable[["ChildContext"], "pykka.ActorRef[Any]"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildSpec:
    """How to start one child and how to treat its death."""

    name: str
    """Unique among siblings; also the name of its stable address."""
    factory: ActorFactory
    """Starts a new instance, e.g. ``lambda ctx: Fetcher.start(ctx, config)``."""
    restart: RestartType = RestartType.PERMANENT
    """What a death leads to."""
    priority: Priority = Priority.MEDIUM
    """Earlier start among children whose dependencies are met."""
    depends_on: tuple[str, ...] = ()
    """Siblings that must be started before this one."""
    lazy: bool = False
    """Start on the first message sent to its address instead of with the supervisor."""
    is_supervisor: bool = False
    """True for nested supervisors (introspection recurses into them)."""
    hang_timeout_s: float | None = None
    """Heartbeat silence that counts as hung; None takes the supervisor's default."""


def start_order(specs: Sequence[ChildSpec]) -> tuple[ChildSpec, ...]:
    """Return the specs in start order, or raise :class:`SpecError` for inconsistent specs."""
    by_name: dict[str, ChildSpec] = {}
    for spec in specs:
        if spec.name in by_name:
            raise SpecError(f"duplicate child name {spec.name!r}")
        by_name[spec.name] = spec
    for spec in specs:
        for dependency in spec.depends_on:
            if dependency not in by_name:
                raise SpecError(f"child {spec.name!r} depends on unknown {dependency!r}")
    position = {spec.name: index for index, spec in enumerate(specs)}
    started: list[ChildSpec] = []
    done: set[str] = set()
    while len(started) < len(specs):
        ready = [
            spec
            for spec in specs
            if spec.name not in done and all(dep in done for dep in spec.depends_on)
        ]
        if not ready:
            waiting = sorted(spec.name for spec in specs if spec.name not in done)
            raise SpecError(f"dependency cycle among {', '.join(waiting)}")
        chosen = min(ready, key=lambda spec: (spec.priority, position[spec.name]))
        started.append(chosen)
        done.add(chosen.name)
    return tuple(started)
