"""Prometheus metrics of one bot, exposed through prometheus-client.

Why: operators already run Prometheus and Grafana; a ``/metrics`` page they can scrape turns
"the fetcher restarted twice last night" and "the exchange breaker keeps opening" into graphs
and alerts without anyone opening Telegram. The exposition format, histograms and the process
figures come from prometheus-client, the well-kept library, rather than from hand-written text.

Each bot owns a :class:`BotMetrics` with its own ``CollectorRegistry``, never the library's
global one: several bots run in one test process, and each must scrape only its own figures.
The registry holds three kinds of figures:

* :class:`SnapshotCollector`: read at scrape time from one actor-tree snapshot: the health
  verdict, every actor's state, restarts, mailbox depth and handled messages, every numeric
  figure its typed ``stats()`` reports (flattened by ``core.stats.stat_figures`` into the
  ``stat`` label: ``computed.hit_rate``, ``weight.used``), and each circuit breaker. Actor
  names are unique in a tree (the directory is keyed by name), so ``actor`` alone identifies a
  series; ``None`` (a hit rate before the first lookup) and text are left out, not invented.
* live instruments fed as things happen: the command latency histogram and command counter
  (from the conversation's command listener, :meth:`BotMetrics.observe_command`) and the
  exchange request latency histogram (from the fetch workers,
  :meth:`BotMetrics.observe_exchange_request`). They are called from actor threads directly:
  prometheus-client's metric objects guard their values with a lock, so concurrent updates are
  safe, and an ``observe`` costs a lock and an addition where a message to a metrics actor would
  add a mailbox hop (and a thread switch) per command and per upstream request.
* the library's process collector (``process_resident_memory_bytes``, CPU seconds, open fds)
  and platform collector (``python_info``), registered on the bot's registry.
* ``cryptobot_instance_info``: which process this is (``core.instance``), as constant labels
  of a series worth 1, to join onto the others (``* on(job) group_left(host, instance_id)``).
  Its label is ``instance_id``, not ``instance``: Prometheus sets ``instance`` on every
  series to the scrape target, and would rename ours to ``exported_instance``.

Label values are bounded: commands and outcomes come from the command table and the policy
(unknown commands are all ``unknown``), request kinds from ``FetchSpec.kind``, and a failed
request's result is its ``MarketError`` class name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram, Info
from prometheus_client import PlatformCollector, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.errors import BotError
from core.instance import InstanceId, this_instance
from core.instances import RegistryStats
from core.stats import stat_figures
from messages.chat import CommandDone
from ops.health import HEALTHY_STATES, assess
from supervision.snapshot import ActorSnapshot

__all__ = ["COMMAND_LATENCY_BUCKETS_S", "CONTENT_TYPE", "EXCHANGE_LATENCY_BUCKETS_S",
           "BotMetrics", "SnapshotCollector", "SnapshotUnavailable", "render_metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""What ``generate_latest`` writes (the library's ``CONTENT_TYPE_PLAIN_0_0_4``). Spelled here
because the library's ``CONTENT_TYPE_LATEST`` names the 1.0.0 text format since 0.22 while
``generate_latest`` still writes 0.0.4, and older releases lack the 0.0.4 constant."""

COMMAND_LATENCY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""From a cached /price (milliseconds) to the conversation's 30 s apology."""
EXCHANGE_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""From a loopback simulator (milliseconds) to a read timeout with retries."""

SnapshotProvider = Callable[[], ActorSnapshot]
HEALTH_LEVELS = ("ok", "degraded", "failing")


class SnapshotUnavailable(BotError):
    """No actor snapshot could be taken for a scrape; the status endpoint answers 503."""

    def __init__(self, cause: Exception) -> None:
        self.cause = cause
        super().__init__(f"snapshot failed: {type(cause).__name__}: {cause}")


class SnapshotCollector(Collector):
    """The actor tree as metric families, read from a fresh snapshot on every scrape."""

    def __init__(self, snapshot_provider: SnapshotProvider, uptime_s: Callable[[], float]) -> None:
        self._snapshot_provider = snapshot_provider
        self._uptime_s = uptime_s

    def describe(self) -> list[Metric]:
        # Nothing up front: registering must not take a snapshot (the tree may not run yet).
        return []

    def collect(self) -> Iterator[Metric]:
        try:
            snapshot = self._snapshot_provider()
        except Exception as error:  # the tree is stopping, a bug: the scrape says so (503)
            raise SnapshotUnavailable(error) from error
        yield from snapshot_families(snapshot, uptime_s=self._uptime_s())


def snapshot_families(snapshot: ActorSnapshot, *, uptime_s: float) -> Iterator[Metric]:
    """Process-level gauges, then each per-actor family that has samples (pure)."""
    up = GaugeMetricFamily("cryptobot_up", "1 when the bot answered this scrape.", value=1)
    uptime = GaugeMetricFamily("cryptobot_uptime_seconds", "Seconds since the bot started.",
                               value=uptime_s)
    health = GaugeMetricFamily(
        "cryptobot_health", "1 for the current verdict of /healthz (ok, degraded or failing).",
        labels=["level"])
    level = assess(snapshot).level
    for name in HEALTH_LEVELS:
        health.add_metric([name], int(name == level))
    yield from (up, uptime, health)
    registry = snapshot.find_stats(RegistryStats)
    if registry is not None:  # redis_url set: several instances may share the token
        yield GaugeMetricFamily("cryptobot_redis_up", "1 while Redis answers this instance "
                                "(0: its budgets are local, at a safe share).",
                                value=int(registry.redis_up))
        yield GaugeMetricFamily("cryptobot_instances_live", "Instances of this bot in the "
                                "registry at the last heartbeat.", value=registry.instances_live)
    nodes = list(snapshot.walk())
    for family in (_actor_families(nodes), _breaker_families(nodes)):
        yield from (metric for metric in family if metric.samples)


def _actor_families(nodes: Sequence[ActorSnapshot]) -> Iterator[Metric]:
    actor_up = GaugeMetricFamily(
        "cryptobot_actor_up",
        "1 while the actor is running, busy or lazy; 0 when restarting, stopped or failed.",
        labels=["actor", "kind"])
    state = GaugeMetricFamily(
        "cryptobot_actor_state", "1 for the actor's current state (see the state label).",
        labels=["actor", "state"])
    restarts = CounterMetricFamily(
        "cryptobot_actor_restarts", "Restarts of the actor since its supervisor started.",
        labels=["actor"])
    mailbox = GaugeMetricFamily("cryptobot_actor_mailbox_depth", "Messages waiting for the actor.",
                                labels=["actor"])
    handled = CounterMetricFamily(
        "cryptobot_actor_messages_handled",
        "Messages handled by the actor's current incarnation.", labels=["actor"])
    stats = GaugeMetricFamily(
        "cryptobot_actor_stat",
        "A numeric figure the actor reports about itself (see the stat label).",
        labels=["actor", "stat"])
    for node in nodes:
        actor_up.add_metric([node.name, node.kind], int(node.state in HEALTHY_STATES))
        state.add_metric([node.name, node.state], 1)
        restarts.add_metric([node.name], node.restarts)
        mailbox.add_metric([node.name], node.mailbox_depth)
        handled.add_metric([node.name], node.handled)
        for key, value in stat_figures(node.stats):
            if isinstance(value, (int, float)):  # bool included: 1 or 0
                stats.add_metric([node.name, str(key)], float(value))
    yield from (actor_up, state, restarts, mailbox, handled, stats)


def _breaker_families(nodes: Sequence[ActorSnapshot]) -> Iterator[Metric]:
    is_open = GaugeMetricFamily(
        "cryptobot_breaker_open",
        "1 while the circuit breaker is not closed (open or half_open, see the state label).",
        labels=["actor", "breaker", "state"])
    trips = CounterMetricFamily(
        "cryptobot_breaker_trips",
        "Times the circuit breaker has opened, failed trial calls included.",
        labels=["actor", "breaker"])
    for node in nodes:
        for breaker in node.breakers:
            is_open.add_metric([node.name, breaker.name, breaker.state],
                               int(breaker.state != "closed"))
            trips.add_metric([node.name, breaker.name], breaker.trips)
    yield from (is_open, trips)


def render_metrics(snapshot: ActorSnapshot, *, uptime_s: float) -> str:
    """The exposition of one snapshot alone (no live instruments): tests and one-off dumps."""
    collector = SnapshotCollector(lambda: snapshot, lambda: uptime_s)
    return generate_latest(collector).decode()


class BotMetrics:
    """One bot's registry: the snapshot collector, live instruments, process figures and the
    instance's info series (``instance``: this process's id when not given)."""

    def __init__(
        self,
        snapshot_provider: SnapshotProvider,
        *,
        clock: Callable[[], float] = time.monotonic,
        started_at: float | None = None,
        process: bool = True,
        instance: InstanceId | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self.instance = instance if instance is not None else this_instance()
        self._clock = clock
        self._started_at = clock() if started_at is None else started_at
        self.registry.register(SnapshotCollector(snapshot_provider, self._uptime_s))
        self.commands = Counter(
            "cryptobot_commands", "Commands answered, by command and outcome.",
            ["command", "outcome"], registry=self.registry)
        self.command_latency = Histogram(
            "cryptobot_command_latency_seconds",
            "From the update arriving to the final answer, by command and outcome.",
            ["command", "outcome"], buckets=COMMAND_LATENCY_BUCKETS_S, registry=self.registry)
        self.exchange_latency = Histogram(
            "cryptobot_exchange_request_seconds",
            "One upstream exchange request by a fetch worker (retries included), by request "
            "kind and result (ok or the MarketError class).",
            ["kind", "result"], buckets=EXCHANGE_LATENCY_BUCKETS_S, registry=self.registry)
        Info("cryptobot_instance", "The process behind these figures: host, pid, start "
             "time (UTC) and its id in logs and /healthz.", registry=self.registry).info({
                 "host": self.instance.host, "pid": str(self.instance.pid),
                 "instance_id": self.instance.key, "started": self.instance.started_iso})
        if process:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)

    def _uptime_s(self) -> float:
        return max(0.0, self._clock() - self._started_at)

    def observe_command(self, done: CommandDone, latency_ms: float) -> None:
        """The conversation's command listener: one answered command (any thread)."""
        self.commands.labels(done.command, done.outcome).inc()
        self.command_latency.labels(done.command, done.outcome).observe(
            max(0.0, latency_ms) / 1000)

    def observe_exchange_request(self, kind: str, result: str, elapsed_s: float) -> None:
        """A fetch worker's upstream request, timed around the client call (any thread)."""
        self.exchange_latency.labels(kind, result).observe(max(0.0, elapsed_s))

    def exposition(self) -> bytes:
        """The whole scrape; raises :class:`SnapshotUnavailable` when no snapshot is taken."""
        return generate_latest(self.registry)
