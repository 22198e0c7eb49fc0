"""One judgement of the bot's health from a snapshot of its tree: ok, degraded or failing.

Why one module: the /health card, ``GET /healthz`` and the Prometheus gauges must never
disagree about whether the bot is well, so all three read :func:`assess`.

* **ok**: every actor is running, busy or lazy and every circuit breaker is closed.
* **degraded**: the bot still answers, but not at its best: an actor is restarting, a
  breaker is open (answers are stale and labelled), memory is under pressure, Redis does not
  answer (several instances: each keeps to a safe share of the shared budgets alone).
* **failing**: the bot can no longer do its job: an actor it cannot answer without (the chat
  path, the database writer, the market fetcher, their supervisors) is stopped or failed for
  good, or no fetch worker is left. A process manager should restart the process.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from core.instances import RegistryStats
from ops.cluster_view import redis_down_reason
from ops.memory import MemoryStats
from supervision.snapshot import ActorSnapshot

__all__ = ["ESSENTIAL_ACTORS", "HEALTHY_STATES", "Health", "HealthLevel", "assess"]

HealthLevel = Literal["ok", "degraded", "failing"]

HEALTHY_STATES = frozenset({"running", "busy", "lazy"})
"""A lazy child waits for its first message by design and a busy one is handling a long
message (hung ones are restarted by heartbeats), so neither makes the bot degraded."""

DEAD_STATES = frozenset({"stopped", "failed"})
"""States a supervisor leaves a child in once it has given up on it (no restart coming)."""

ESSENTIAL_ACTORS = frozenset({"root", "chat", "conversation", "transport", "storage",
                              "db_writer", "market", "fetcher"})
"""Without any one of these no command can be answered or no write acknowledged."""


@dataclass(frozen=True, slots=True)
class Health:
    """The verdict and why, one line per problem, actors named by their path below the root."""

    level: HealthLevel
    """ok, degraded or failing."""
    reasons: tuple[str, ...]
    """Empty when ok."""

    @property
    def ok(self) -> bool:
        return self.level == "ok"


def assess(snapshot: ActorSnapshot) -> Health:
    """Judge the whole tree (see the module docstring for the levels)."""
    reasons: list[str] = []
    failing = False
    workers = healthy_workers = 0
    for path, node in _walk(snapshot, None):
        if node.state not in HEALTHY_STATES:
            failure = f" (last failure: {node.last_failure})" if node.last_failure else ""
            reasons.append(f"{path} is {node.state}{failure}")
            failing |= node.name in ESSENTIAL_ACTORS and node.state in DEAD_STATES
        for breaker in node.breakers:
            if breaker.state != "closed":
                retry = (f", retry in {breaker.retry_after_s:.0f} s"
                         if breaker.retry_after_s > 0 else "")
                reasons.append(f"breaker {breaker.name} is {breaker.state}{retry} ({path})")
        if node.name.startswith("fetch_worker_"):
            workers += 1
            healthy_workers += node.state in HEALTHY_STATES
        reasons.extend(_memory_reasons(node))
        problem = node.stats.health_problem()
        if problem is not None:
            reasons.append(problem)
        if isinstance(node.stats, RegistryStats):
            redis = redis_down_reason(node.stats)
            reasons.extend(() if redis is None else (redis,))
    if workers and not healthy_workers:
        reasons.append(f"no fetch worker is running (0 of {workers})")
        failing = True
    level: HealthLevel = "failing" if failing else "degraded" if reasons else "ok"
    return Health(level=level, reasons=tuple(reasons))


def _walk(node: ActorSnapshot, parent: str | None) -> Iterator[tuple[str, ActorSnapshot]]:
    path = node.name if parent is None else f"{parent}/{node.name}"
    yield (path.split("/", 1)[1] if "/" in path else path), node  # the root prefixes all
    for child in node.children:
        yield from _walk(child, path)


def _memory_reasons(node: ActorSnapshot) -> list[str]:
    memory = node.stats
    if not isinstance(memory, MemoryStats) or memory.level == "normal":
        return []
    return [f"memory is {memory.level}: {memory.rss_mb} MB of {memory.limit_mb} MB"]
