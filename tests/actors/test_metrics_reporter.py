"""The periodic metrics line: one ``metrics.snapshot`` event with the tree's key figures."""

from __future__ import annotations

import logging

from actors.metrics_reporter import MetricsReporter, ReportNow
from supervision.spec import ChildSpec
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
