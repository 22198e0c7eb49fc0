"""A running supervision tree: the root supervisor, its directory of addresses, and the exit.

The root is a :class:`Supervisor` like any other, except that nobody supervises it: when it
gives up (restart intensity exceeded at the top, or a crash of the root itself) the tree calls
``on_root_failure`` once, and ``bot.py`` exits the process non-zero so an external process
manager (systemd) restarts it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pykka

from core.logs import log_event
from resilience.backoff import Rng
from supervision.address import Address, Directory
from supervision.context import ChildContext
from supervision.messages import ChildFailed
from supervision.snapshot import ActorSnapshot, collect_tree
from supervision.spec import ChildSpec
from supervision.supervisor import Supervisor, SupervisorSettings

__all__ = ["SupervisionTree"]

logger = logging.getLogger(__name__)


class SupervisionTree:
    """Start, inspect and stop one tree of supervised actors."""

    def __init__(
        self,
        specs: Sequence[ChildSpec],
        settings: SupervisorSettings = SupervisorSettings(),
        *,
        name: str = "root",
        on_root_failure: Callable[[ChildFailed], None] | None = None,
        directory: Directory | None = None,
        rng: Rng | None = None,
    ) -> None:
        self.name = name
        self.directory = directory or Directory()
        self._specs = tuple(specs)
        self._settings = settings
        self._on_root_failure = on_root_failure
        self._rng = rng
        self._ref: pykka.ActorRef[Any] | None = None
        self.failed = threading.Event()
        """Set once the root has given up; ``failure`` says why."""
        self.failure: ChildFailed | None = None

    @property
    def root(self) -> Address:
        return self.directory[self.name]

    def address(self, name: str) -> Address:
        """The stable address of any actor in the tree."""
        return self.directory[name]

    def start(self) -> SupervisionTree:
        ctx = ChildContext(
            name=self.name,
            generation=1,
            address=self.root,
            directory=self.directory,
            supervisor=None,
            on_escalate=self._root_failed,
        )
        self._ref = Supervisor.start(
            ctx, specs=self._specs, settings=self._settings, rng=self._rng
        )
        self.root.attach(self._ref, 1)
        log_event(logger, "supervision.started", logging.INFO, root=self.name, children=len(self._specs))
        return self

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop every actor in reverse start order; True if all stopped in time."""
        ref, self._ref = self._ref, None
        if ref is None:
            return True
        self.root.detach(self.root.generation)
        try:
            stopped_in_time = bool(ref.stop(block=True, timeout=timeout_s))
        except pykka.Timeout:
            stopped_in_time = False
        for name in self.directory.names():
            self.directory[name].close("bot shutting down")
        log_event(logger, "supervision.stopped", logging.INFO, root=self.name, in_time=stopped_in_time)
        return stopped_in_time

    def snapshot(self, timeout_s: float = 1.0) -> ActorSnapshot:
        """Plain-data snapshot of the whole tree."""
        return collect_tree(self.root, timeout_s=timeout_s)

    def __enter__(self) -> SupervisionTree:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _root_failed(self, report: ChildFailed) -> None:
        self.failure = report
        log_event(
            logger,
            "supervision.root_failed",
            logging.CRITICAL,
            root=self.name,
            error=report.error,
            phase=report.phase,
        )
        self.failed.set()
        if self._on_root_failure is not None:
            self._on_root_failure(report)
