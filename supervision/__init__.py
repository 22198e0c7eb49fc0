"""An OTP-style supervision runtime for pykka actors: supervisors restart what fails.

Actors subclass :class:`SupervisedActor`; a :class:`SupervisionTree` starts them from
:class:`ChildSpec`\\ s under :class:`Supervisor`\\ s that restart failed children by
:class:`Strategy` within a restart intensity, with a backoff. Senders hold restart-proof
:class:`Address`\\ es (from the tree's :class:`Directory`) instead of pykka refs: tells survive a
restart, asks to a child that is down fail at once with :class:`ChildUnavailable`, and
:func:`request` is the sender's side of a message that carries its own reply future.
:func:`collect_tree` snapshots the whole tree (:class:`ActorSnapshot`, :class:`ChildState`) for
status pages. docs/supervision.md explains the design.

Everything an application needs is importable from here in one line::

    from supervision import ChildSpec, SupervisedActor, SupervisionTree, request

What it may import: pykka, the standard library, ``core`` (logging and the ``BotError`` root) and
``resilience`` (backoff arithmetic). Nothing of the application (actors, chat, market, storage,
ops, messages, bot): tests/supervision/test_boundaries.py parses every module's imports to hold
that. pykka behaviour beyond its public API is used in :mod:`supervision.pykka_adapter` only.
"""

from supervision.actor import InjectedCrash, SupervisedActor
from supervision.address import Address, AddressState, Directory
from supervision.context import ChildContext
from supervision.errors import (
    AskTimeout,
    ChildUnavailable,
    EscapedBaseException,
    MaxRestartsExceeded,
    SupervisionError,
)
from supervision.messages import ChildFailed, Describe, InjectCrash, Redelivery, SystemMessage
from supervision.pykka_adapter import fail_future
from supervision.request import request, request_future
from supervision.snapshot import (
    ActorReport,
    ActorSnapshot,
    ChildReport,
    ChildState,
    collect_tree,
    render_tree,
)
from supervision.spec import ActorFactory, ChildSpec, Priority, RestartType, SpecError
from supervision.strategies import Strategy
from supervision.supervisor import Supervisor, SupervisorSettings, SupervisorStats, supervisor_spec
from supervision.timer import PeriodicTimer
from supervision.tree import SupervisionTree

__all__ = [
    "ActorFactory",
    "ActorReport",
    "ActorSnapshot",
    "Address",
    "AddressState",
    "AskTimeout",
    "ChildContext",
    "ChildFailed",
    "ChildReport",
    "ChildSpec",
    "ChildState",
    "ChildUnavailable",
    "Describe",
    "Directory",
    "EscapedBaseException",
    "InjectCrash",
    "InjectedCrash",
    "MaxRestartsExceeded",
    "PeriodicTimer",
    "Priority",
    "Redelivery",
    "RestartType",
    "SpecError",
    "Strategy",
    "SupervisedActor",
    "SupervisionError",
    "SupervisionTree",
    "Supervisor",
    "SupervisorSettings",
    "SupervisorStats",
    "SystemMessage",
    "collect_tree",
    "fail_future",
    "render_tree",
    "request",
    "request_future",
    "supervisor_spec",
]
