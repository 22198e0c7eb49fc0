"""The periodic metrics line: one ``metrics.snapshot`` event with the tree's key figures."""

from __future__ import annotations

import logging

from actors.conversation import ConversationStats
from market.fetch_stats import FetcherStats
from actors.metrics_reporter import MetricsReporter, ReportNow, snapshot_figures
from market.cache import CacheStats, LayerStats
from supervision.snapshot import ActorSnapshot
from supervision.spec import ChildSpec
from supervision.supervisor import SupervisorStats
from supervision.tree import SupervisionTree


def test_a_report_logs_one_snapshot_event_with_totals(caplog):
    spec = ChildSpec(name="metrics",
                     factory=lambda ctx: MetricsReporter.start(ctx, interval_s=3600))
    tree = SupervisionTree([spec]).start()
    try:
        with caplog.at_level(logging.INFO):
            figures = tree.address("metrics").ask(ReportNow(), timeout=10)
        assert figures["actors"] == 2 and figures["restarts"] == 0
        lines = [r for r in caplog.records if getattr(r, "event", None) == "metrics.snapshot"]
        assert len(lines) == 1 and lines[0].fields["actors"] == 2
    finally:
        tree.stop()


def test_the_key_figures_are_read_from_the_actors_typed_stats():
    computed = LayerStats(hits=3, misses=1, stale_hits=0, evictions=0, bytes=5, hit_rate=0.75)
    conversation = ConversationStats(commands=9, buttons=0, rate_limited=2, denied=0,
                                     loading_shown=0, timed_out=0, reply_failed=0, pending=0)
    tree = ActorSnapshot(name="root", state="running", kind="supervisor",
                         stats=SupervisorStats(recent_restarts=0), children=(
        ActorSnapshot(name="c", state="running", kind="worker", mailbox_depth=4,
                      stats=CacheStats(bytes=100, max_bytes=1000,
                                       layers=(("computed", computed),),
                                       background_refreshes=0)),
        ActorSnapshot(name="f", state="running", kind="worker",
                      stats=FetcherStats(upstream_calls=5, coalesced=1,
                                         refused_circuit_open=0, in_flight=0,
                                         busy_workers=0)),
        ActorSnapshot(name="talk", state="restarting", kind="worker", restarts=1,
                      stats=conversation)))
    assert snapshot_figures(tree) == {
        "actors": 4, "not_running": 1, "restarts": 1, "max_queue": 4,
        "cache_bytes": 100, "analysis_hit_rate": 0.75, "upstream_calls": 5, "coalesced": 1,
        "commands": 9, "rate_limited": 2}
