"""Introspection: a plain-data snapshot of a supervision (sub)tree.

Nobody inside the tree blocks to build it: the caller's thread walks the tree, asking each
supervisor to :class:`~supervision.messages.Describe` itself (its children's state, restarts,
last failure, mailbox depth, handled count) and each running child for its own figures, each
ask with a timeout. A running child that does not answer in time shows as ``busy`` (hung ones
are found and restarted by heartbeats); a supervisor that does not answer, as ``unresponsive``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from supervision.address import AddressState
from supervision.errors import ChildUnavailable
from supervision.messages import Describe
from core.stats import NO_STATS, ActorStats, stat_figures

if TYPE_CHECKING:
    from resilience.breaker import BreakerSnapshot
    from supervision.address import Address

__all__ = [
    "ActorReport",
    "ActorSnapshot",
    "ChildReport",
    "ChildState",
    "collect_tree",
    "render_tree",
]

Scalar = str | int | float | bool | None
StatsT = TypeVar("StatsT", bound=ActorStats)


class ChildState(StrEnum):
    """What a supervised child is doing, as its supervisor and the introspection tree see it.

    Not :class:`~supervision.address.AddressState`, which says what the child's address does
    with a message right now (and knows no failed, busy or unresponsive): a child is ``failed``
    while its supervisor decides what to do, and its address already buffers (``restarting``).
    The values are what renderers print and the status endpoint's JSON carries.
    """

    STARTING = "starting"
    """The root only, before its first instance runs (its address is unbound or starting)."""
    RUNNING = "running"
    """An instance is running."""
    BUSY = "busy"
    """Snapshots only: running, but it did not describe itself in time (a long message)."""
    LAZY = "lazy"
    """Not started yet: its first message starts it."""
    RESTARTING = "restarting"
    """Between instances (waiting out its backoff, or for a stopping sibling)."""
    FAILED = "failed"
    """Its instance died; the supervisor is deciding (restart, retire or give up)."""
    STOPPED = "stopped"
    """Gone: retired, or its supervisor stopped."""
    UNRESPONSIVE = "unresponsive"
    """Snapshots only: a supervisor that did not describe itself in time."""

    @classmethod
    def of_address(cls, state: AddressState) -> ChildState:
        """The child state an address state stands for (the root has no supervisor record)."""
        if state in (AddressState.UNBOUND, AddressState.STARTING):
            return cls.STARTING
        return cls(state.value)


@dataclass(frozen=True, slots=True)
class ChildReport:
    """What a supervisor knows about one child without asking it."""

    name: str
    """Child name."""
    address: Address = field(compare=False)
    """The child's stable address (to ask it for its own report)."""
    is_supervisor: bool
    """True for nested supervisors."""
    state: ChildState
    """running, restarting, lazy, stopped or failed."""
    restart_type: str
    """permanent, transient or temporary."""
    priority: str
    """CRITICAL .. BACKGROUND."""
    restarts: int
    """Restarts of this child since its supervisor started."""
    last_failure: str | None
    """Phase and error of the last failure, if any."""
    mailbox_depth: int
    """Queued in the instance plus buffered in the address."""
    handled: int
    """Messages handled by the current instance."""
    generation: int
    """Current incarnation."""


@dataclass(frozen=True, slots=True)
class ActorReport:
    """What an actor says about itself when asked to describe itself."""

    stats: ActorStats
    """The actor's own figures (its ``stats()``; a subclass the runtime does not know)."""
    breakers: tuple[BreakerSnapshot, ...]
    """Circuit breakers it owns."""
    children: tuple[ChildReport, ...]
    """Supervisors only: their children, in start order."""
    strategy: str | None = None
    """Supervisors only: restart strategy."""


@dataclass(frozen=True, slots=True)
class ActorSnapshot:
    """One node of the introspection tree, fit for rendering as text or JSON."""

    name: str
    state: ChildState
    """A :class:`ChildState` (a plain value, as test data and parsed JSON carry, is converted)."""
    kind: str
    restarts: int = 0
    last_failure: str | None = None
    mailbox_depth: int = 0
    handled: int = 0
    restart_type: str = "permanent"
    priority: str = "CRITICAL"
    strategy: str | None = None
    breakers: tuple[BreakerSnapshot, ...] = ()
    stats: ActorStats = NO_STATS
    children: tuple[ActorSnapshot, ...] = ()

    def __post_init__(self) -> None:
        if type(self.state) is not ChildState:
            object.__setattr__(self, "state", ChildState(self.state))

    def walk(self) -> Iterator[ActorSnapshot]:
        """This node and every descendant, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, name: str) -> ActorSnapshot | None:
        """The first node called ``name``, if any."""
        return next((node for node in self.walk() if node.name == name), None)

    def find_stats(self, kind: type[StatsT]) -> StatsT | None:
        """The figures of the first node (depth first) that reports ``kind``, if any."""
        return next((node.stats for node in self.walk() if isinstance(node.stats, kind)), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "name": self.name,
            "state": self.state.value,
            "kind": self.kind,
            "restarts": self.restarts,
            "last_failure": self.last_failure,
            "mailbox_depth": self.mailbox_depth,
            "handled": self.handled,
            "restart_type": self.restart_type,
            "priority": self.priority,
            "strategy": self.strategy,
            "breakers": [_breaker_dict(b) for b in self.breakers],
            "stats": dict(stat_figures(self.stats)),
            "children": [child.to_dict() for child in self.children],
        }


def _breaker_dict(breaker: BreakerSnapshot) -> dict[str, Any]:
    return {slot: getattr(breaker, slot) for slot in type(breaker).__slots__}


def collect_tree(
    root: Address, *, timeout_s: float = 1.0, asker: str | None = None
) -> ActorSnapshot:
    """Snapshot the tree below ``root`` (a supervisor's address).

    ``asker`` names the actor doing the asking, if it is in the tree: it cannot answer its own
    question, so it is shown as busy instead of being asked.
    """
    report = _describe(root, timeout_s)
    if report is None:
        return ActorSnapshot(name=root.name, state=ChildState.UNRESPONSIVE, kind="supervisor")
    return ActorSnapshot(
        name=root.name,
        state=ChildState.of_address(root.state),
        kind="supervisor",
        handled=0,
        strategy=report.strategy,
        breakers=report.breakers,
        stats=report.stats,
        children=tuple(_child_snapshot(child, timeout_s, asker) for child in report.children),
    )


def _describe(address: Address, timeout_s: float) -> ActorReport | None:
    try:
        report = address.ask(Describe(), timeout=timeout_s)
    except ChildUnavailable:
        return None
    return report if isinstance(report, ActorReport) else None


def _child_snapshot(child: ChildReport, timeout_s: float, asker: str | None) -> ActorSnapshot:
    asked = child.state is ChildState.RUNNING and child.name != asker
    report = _describe(child.address, timeout_s) if asked else None
    state = child.state
    if child.state is ChildState.RUNNING and report is None:
        # Heartbeats find hung actors; this one is just busy with a long message right now.
        state = ChildState.BUSY
    return ActorSnapshot(
        name=child.name,
        state=state,
        kind="supervisor" if child.is_supervisor else "worker",
        restarts=child.restarts,
        last_failure=child.last_failure,
        mailbox_depth=child.mailbox_depth,
        handled=child.handled,
        restart_type=child.restart_type,
        priority=child.priority,
        strategy=report.strategy if report else None,
        breakers=report.breakers if report else (),
        stats=report.stats if report else NO_STATS,
        children=(
            tuple(_child_snapshot(c, timeout_s, asker) for c in report.children) if report else ()
        ),
    )


def render_tree(snapshot: ActorSnapshot, *, width: int = 46) -> str:
    """A compact text tree that fits a phone-width message."""
    lines: list[str] = []
    _render(snapshot, "", "", lines, width)
    return "\n".join(lines)


_MARKS = {
    ChildState.RUNNING: "●",
    ChildState.BUSY: "●",
    ChildState.RESTARTING: "◐",
    ChildState.LAZY: "○",
    ChildState.STOPPED: "■",
}


def _render(node: ActorSnapshot, head: str, tail: str, lines: list[str], width: int) -> None:
    mark = _MARKS.get(node.state, "✖")
    detail = [node.state.value]
    if node.strategy:
        detail.append(node.strategy)
    if node.restarts:
        detail.append(f"restarts {node.restarts}")
    if node.mailbox_depth:
        detail.append(f"queue {node.mailbox_depth}")
    lines.append(f"{head}{mark} {node.name}  " + ", ".join(detail))
    info_prefix = tail + ("│ " if node.children else "  ")
    if node.last_failure:
        lines.append(f"{info_prefix}last failure: {node.last_failure}"[:width + len(tail)])
    for breaker in node.breakers:
        lines.append(f"{info_prefix}breaker {breaker.name}: {breaker.state}")
    for index, child in enumerate(node.children):
        last = index == len(node.children) - 1
        _render(child, tail + ("└─" if last else "├─"), tail + ("  " if last else "│ "), lines, width)
