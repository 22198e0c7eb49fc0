"""A metrics snapshot as one log line every ``metrics_interval_s``.

Operators who only have the logs (no Prometheus) still get a time series: restarts, queue
depths, cache hit rate, upstream calls, per-command outcomes — one ``metrics.snapshot`` event.
It reads the same plain-data tree as ``/actors``, asking each actor with a short timeout.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from actors.conversation import ConversationStats
from market.fetch_stats import FetcherStats
from core.config import BotConfig
from core.logs import log_event
from market.cache import CacheStats, Layer
from ops.memory import MemoryStats
from supervision.actor import SupervisedActor
from supervision.context import ChildContext
from supervision.messages import SystemMessage
from supervision.snapshot import ActorSnapshot, collect_tree
from supervision.spec import ChildSpec, Priority
from core.stats import ActorStats
from supervision.timer import PeriodicTimer, start_periodic, stop_periodic

__all__ = ["MetricsReporter", "MetricsReporterStats", "ReportNow", "metrics_spec",
           "snapshot_figures"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReportNow(SystemMessage):
    """Timer (or test): log a snapshot now. A SystemMessage, so never redelivered."""


def snapshot_figures(snapshot: ActorSnapshot) -> dict[str, Any]:
    """The figures worth a line: totals over the tree plus the market's key counters, read
    from the stats of whichever actors report them (an actor that did not answer has none)."""
    nodes = list(snapshot.walk())
    figures: dict[str, Any] = {
        "actors": len(nodes),
        "not_running": sum(node.state not in ("running", "busy", "lazy") for node in nodes),
        "restarts": sum(node.restarts for node in nodes),
        "max_queue": max((node.mailbox_depth for node in nodes), default=0),
    }
    for node in nodes:
        match node.stats:
            case CacheStats() as cache:
                computed = cache.layer(Layer.COMPUTED)
                figures["cache_bytes"] = cache.bytes
                figures["analysis_hit_rate"] = None if computed is None else computed.hit_rate
            case FetcherStats() as fetcher:
                figures["upstream_calls"] = fetcher.upstream_calls
                figures["coalesced"] = fetcher.coalesced
            case ConversationStats() as conversation:
                figures["commands"] = conversation.commands
                figures["rate_limited"] = conversation.rate_limited
            case MemoryStats() as memory:
                figures["rss_mb"] = memory.rss_mb
        for breaker in node.breakers:
            figures[f"breaker_{breaker.name}"] = breaker.state
    return figures


@dataclass(frozen=True, slots=True)
class MetricsReporterStats(ActorStats):
    """The metrics reporter's figures."""

    reports: int
    """``metrics.snapshot`` lines logged."""


class MetricsReporter(SupervisedActor):
    """Logs ``metrics.snapshot`` on its own timer."""

    def __init__(self, ctx: ChildContext, *, interval_s: float, root: str = "root") -> None:
        super().__init__(ctx)
        self._interval_s = interval_s
        self._root = ctx.directory[root]
        self._timer: PeriodicTimer | None = None
        self._reports = 0

    def setup(self) -> None:
        self._timer = start_periodic(self, ReportNow(), self._interval_s)

    def release(self) -> None:
        stop_periodic(self._timer)

    def handle(self, message: Any) -> Any:
        match message:
            case ReportNow():
                return self._on_report()
        return super().handle(message)

    def stats(self) -> MetricsReporterStats:
        return MetricsReporterStats(reports=self._reports)

    def _on_report(self) -> dict[str, Any]:
        figures = snapshot_figures(collect_tree(self._root, timeout_s=0.5, asker=self.ctx.name))
        self._reports += 1
        log_event(logger, "metrics.snapshot", logging.INFO, exc_info=None, **figures)
        return figures


def metrics_spec(config: BotConfig) -> ChildSpec:
    return ChildSpec(
        name="metrics",
        factory=lambda ctx: MetricsReporter.start(ctx, interval_s=config.metrics_interval_s),
        priority=Priority.BACKGROUND,
    )
