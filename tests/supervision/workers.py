"""Test actors and message types shared by the supervision tests."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.spec import ChildSpec
from core.stats import ActorStats
from supervision.supervisor import SupervisorSettings


@dataclass(frozen=True, slots=True)
class Work:
    seq: int
    poison: bool = False
    request_id: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Crash:
    """Told: the worker raises on the first ``times`` deliveries of this very message."""

    times: int = 1


@dataclass(frozen=True, slots=True)
class Echo:
    value: object


@dataclass(frozen=True, slots=True)
class Block:
    release: threading.Event


@dataclass(frozen=True, slots=True)
class RaiseCancelled:
    pass


@dataclass(frozen=True, slots=True)
class StopSelf:
    """The worker stops itself without telling anyone (a silent death)."""


@dataclass(frozen=True, slots=True)
class WorkerStats(ActorStats):
    """A test worker's one figure."""

    kind: str


class Journal:
    """Thread-safe record of what every worker instance saw."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.attempts: Counter[tuple[str, int]] = Counter()
        self.completed: Counter[tuple[str, int]] = Counter()
        self.starts: Counter[str] = Counter()
        self.crash_next: set[str] = set()
        self.fail_setup: Counter[str] = Counter()
        self.released = Counter[str]()
        self.events: list[tuple[str, str]] = []
        self.crashes: Counter[int] = Counter()
        self.changed = threading.Condition(self.lock)

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout)

    def record(self, what: str, name: str) -> None:
        with self.changed:
            self.events.append((what, name))
            self.changed.notify_all()

    def order(self, what: str) -> list[str]:
        with self.lock:
            return [name for kind, name in self.events if kind == what]

    def note(self, field: Counter[Any], key: Any) -> None:
        with self.changed:
            field[key] += 1
            self.changed.notify_all()


class Worker(SupervisedActor):
    """Records attempts and completions; crashes on request."""

    def __init__(self, ctx: ChildContext, journal: Journal) -> None:
        super().__init__(ctx)
        self.journal = journal

    def setup(self) -> None:
        with self.journal.lock:
            fail = self.journal.fail_setup[self.ctx.name] > 0
            if fail:
                self.journal.fail_setup[self.ctx.name] -= 1
        if fail:
            raise RuntimeError("setup failed on purpose")
        self.journal.note(self.journal.starts, self.ctx.name)
        self.journal.record("start", self.ctx.name)

    def release(self) -> None:
        self.journal.note(self.journal.released, self.ctx.name)
        self.journal.record("release", self.ctx.name)

    def handle(self, message: Any) -> Any:
        match message:
            case Work():
                return self._on_work(message)
            case Crash(times=times):
                with self.journal.lock:
                    self.journal.crashes[id(message)] += 1
                    crash = self.journal.crashes[id(message)] <= times
                if crash:
                    raise RuntimeError("crash on purpose")
                return None
            case Echo(value=value):
                return value
            case Block(release=release):
                release.wait(10)
                return None
            case RaiseCancelled():
                raise asyncio.CancelledError()
            case StopSelf():
                self.stop()
                return None
        return super().handle(message)

    def stats(self) -> WorkerStats:
        return WorkerStats(kind="test-worker")

    def _on_work(self, message: Work) -> int:
        key = (self.ctx.name, message.seq)
        self.journal.note(self.journal.attempts, key)
        with self.journal.lock:
            # Injected crashes hit first deliveries only: a redelivered message that crashed
            # again would (rightly) be dead-lettered as poison.
            crash = self.ctx.name in self.journal.crash_next and self.journal.attempts[key] == 1
            if crash:
                self.journal.crash_next.discard(self.ctx.name)
        if crash or message.poison:
            raise RuntimeError(f"crash while handling {message.seq}")
        self.journal.note(self.journal.completed, key)
        return message.seq


def worker_spec(name: str, journal: Journal, **fields: Any) -> ChildSpec:
    return ChildSpec(name=name, factory=lambda ctx: Worker.start(ctx, journal), **fields)


FAST = SupervisorSettings(
    backoff_base_s=0.0, heartbeat_interval_s=0.05, hang_timeout_s=0.5, max_restarts=50, period_s=30
)
