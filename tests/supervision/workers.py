"""Test actors and message types shared by the supervision tests."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from supervision.actor import SupervisedActor
from supervision.context import ChildContext


@dataclass(frozen=True, slots=True)
class Work:
    seq: int
    poison: bool = False
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Crash:
    """Told: the worker raises while handling it."""


@dataclass(frozen=True, slots=True)
class Echo:
    value: object


@dataclass(frozen=True, slots=True)
class Block:
    release: threading.Event


@dataclass(frozen=True, slots=True)
class RaiseCancelled:
    pass


class Journal:
    """Thread-safe record of what every worker instance saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.attempts: Counter[tuple[str, int]] = Counter()
        self.completed: Counter[tuple[str, int]] = Counter()
        self.starts: Counter[str] = Counter()
        self.crash_next: set[str] = set()
        self.fail_setup: Counter[str] = Counter()
        self.released = Counter[str]()
        self.changed = threading.Condition(self.lock)

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout)

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

    def release(self) -> None:
        self.journal.note(self.journal.released, self.ctx.name)

    def handle(self, message: Any) -> Any:
        match message:
            case Work():
                return self._on_work(message)
            case Crash():
                raise RuntimeError("crash on purpose")
            case Echo(value=value):
                return value
            case Block(release=release):
                release.wait(10)
                return None
            case RaiseCancelled():
                import asyncio

                raise asyncio.CancelledError()
        return super().handle(message)

    def stats(self) -> dict[str, object]:
        return {"kind": "test-worker"}

    def _on_work(self, message: Work) -> int:
        key = (self.ctx.name, message.seq)
        self.journal.note(self.journal.attempts, key)
        with self.journal.lock:
            crash = self.ctx.name in self.journal.crash_next
            self.journal.crash_next.discard(self.ctx.name)
        if crash or message.poison:
            raise RuntimeError(f"crash while handling {message.seq}")
        self.journal.note(self.journal.completed, key)
        return message.seq
