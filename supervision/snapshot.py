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
from typing import TYPE_CHECKING, Any

from supervision.errors import ChildUnavailable
from supervision.messages import Describe

if TYPE_CHECKING:
    from supervision.address import Address
    from resilience.breaker import BreakerSnapshot

__all__ = ["ActorReport", "ActorSnapshot", "ChildReport", "collect_tree", "render_tree"]

Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class ChildReport:
    """What a supervisor knows about one child without asking it."""

    name: str
    """Child name."""
    address: Address = field(compare=False)
    """The child's stable address (to ask it for its own report)."""
    is_supervisor: bool
    """True for nested supervisors."""
    state: str
    """running, restarting, lazy, stopped, failed."""
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

    stats: tuple[tuple[str, Any], ...]
    """Actor-specific figures, sorted by key."""
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
    state: str
    kind: str
    restarts: int = 0
    last_failure: str | None = None
    mailbox_depth: int = 0
    handled: int = 0
    restart_type: str = "permanent"
    priority: str = "CRITICAL"
    strategy: str | None = None
    breakers: tuple[BreakerSnapshot, ...] = ()
    stats: tuple[tuple[str, Any], ...] = ()
    children: tuple[ActorSnapshot, ...] = ()

    def walk(self) -> Iterator[ActorSnapshot]:
        """This node and every descendant, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, name: str) -> ActorSnapshot | None:
        """The first node called ``name``, if any."""
        return next((node for node in self.walk() if node.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "name": self.name,
            "state": self.state,
            "kind": self.kind,
            "restarts": self.restarts,
            "last_failure": self.last_failure,
            "mailbox_depth": self.mailbox_depth,
            "handled": self.handled,
            "restart_type": self.restart_type,
            "priority": self.priority,
            "strategy": self.strategy,
            "breakers": [_breaker_dict(b) for b in self.breakers],
            "stats": dict(self.stats),
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
        return ActorSnapshot(name=root.name, state="unresponsive", kind="supervisor")
    return ActorSnapshot(
        name=root.name,
        state=root.state.value,
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
    asked = child.state == "running" and child.name != asker
    report = _describe(child.address, timeout_s) if asked else None
    state = child.state
    if child.state == "running" and report is None:
        # Heartbeats find hung actors; this one is just busy with a long message right now.
        state = "busy"
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
        stats=report.stats if report else (),
        children=(
            tuple(_child_snapshot(c, timeout_s, asker) for c in report.children) if report else ()
        ),
    )


def render_tree(snapshot: ActorSnapshot, *, width: int = 46) -> str:
    """A compact text tree that fits a phone-width message."""
    lines: list[str] = []
    _render(snapshot, "", "", lines, width)
    return "\n".join(lines)


def _render(node: ActorSnapshot, head: str, tail: str, lines: list[str], width: int) -> None:
    marks = {"running": "●", "busy": "●", "restarting": "◐", "lazy": "○", "stopped": "■"}
    mark = marks.get(node.state, "✖")
    detail = [node.state]
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
