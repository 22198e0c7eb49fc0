"""Messages of the supervision conversation: failures, restarts, heartbeats, introspection.

Every class derives from :class:`SystemMessage`; the base actor never redelivers one after a
crash (a stale heartbeat or restart order must not be replayed into a new instance).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ChildFailed",
    "Describe",
    "InjectCrash",
    "Ping",
    "Redelivery",
    "RestartChildren",
    "StartLazy",
    "SystemMessage",
    "Tick",
]


@dataclass(frozen=True, slots=True)
class SystemMessage:
    """Marker base class for messages the supervision layer sends to itself."""


@dataclass(frozen=True, slots=True)
class ChildFailed(SystemMessage):
    """A child instance died; sent by the child itself or synthesised by its supervisor."""

    name: str
    """Child name as in its spec."""
    generation: int
    """Which incarnation failed; reports about older generations are ignored."""
    phase: str
    """How it died: "start" (on_start raised), "message", "hang" or "dead" (found by a sweep)."""
    error: str
    """``repr`` of the exception, or a description for hangs and silent deaths."""
    inflight: object | None
    """The message being handled when it died (None if none or not redeliverable)."""
    drained: tuple[object, ...]
    """Tells that were queued behind it, in order, kept for the new instance."""
    failed_at: float
    """Monotonic time of the failure."""
    permanent: str | None = None
    """``str()`` of a :class:`~core.errors.PermanentFault` (one line: the cause and what to
    do) when the failure is one no restart can fix; the supervisor then gives up at once."""


@dataclass(frozen=True, slots=True)
class Redelivery(SystemMessage):
    """A message handed to a fresh instance after it crashed the previous one."""

    message: object
    """The original message, unchanged."""
    attempt: int
    """1 for the first redelivery; a crash at the limit sends it to the dead letters."""


@dataclass(frozen=True, slots=True)
class RestartChildren(SystemMessage):
    """Start new instances of these children (sent by a backoff timer)."""

    names: tuple[str, ...]
    """Children to start, in start order."""


@dataclass(frozen=True, slots=True)
class StartLazy(SystemMessage):
    """A lazily started child received its first message."""

    name: str
    """The child to start now."""


@dataclass(frozen=True, slots=True)
class Tick(SystemMessage):
    """Periodic sweep: find dead threads and hung children."""


@dataclass(frozen=True, slots=True)
class Ping(SystemMessage):
    """Heartbeat ask; any live, non-hung actor answers it at once."""


@dataclass(frozen=True, slots=True)
class Describe(SystemMessage):
    """Ask an actor for its introspection report (custom stats, breakers, children)."""


@dataclass(frozen=True, slots=True)
class InjectCrash(SystemMessage):
    """Chaos testing: make the receiving actor crash, like Erlang's ``exit(Pid, Reason)``.

    Its supervisor restarts it exactly as after a real bug; the fault matrix uses this to
    prove that no reply and no acknowledged write is lost when any actor dies under load, and
    an admin's ``/restart`` uses it so that an operator's restart is nothing but a crash.
    """

    reason: str = "injected crash"
    """Ends up as the crash's error text (``last_failure`` in the tree, the crash event)."""
    armed: bool = False
    """False: crash at once. True: crash when the next ordinary message arrives, before
    handling it, so a crash in the middle of a user's request is exercised (it is redelivered)."""
