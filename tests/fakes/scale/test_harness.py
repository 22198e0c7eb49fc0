"""The multi-process harness itself: it waits for readiness, reports an instance that cannot
start, and leaves no bot process behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from fakes.scale.harness import Cluster

pytestmark = pytest.mark.slow


def test_a_started_instance_reports_its_name_and_stops_cleanly_with_the_cluster(
        tmp_path: Path) -> None:
    with Cluster(tmp_path) as cluster:
        [instance] = cluster.start_instances("probe-1")
        health = instance.healthz()
        assert health is not None and health["instance"]["pid"] == instance.pid
        assert health["instance"]["id"] == "probe-1"
    # SIGTERM at the end of the block: a clean stop (exit 0), nothing left running.
    assert instance.process.returncode == 0
    assert "probe-1" in instance.log_path.read_text(encoding="utf-8")


def test_an_instance_that_cannot_start_is_reported_with_its_log(tmp_path: Path) -> None:
    with Cluster(tmp_path, env={"CRYPTOBOT_LOG_LEVEL": "loud"}) as cluster:
        instance = cluster.launch("broken")
        with pytest.raises(RuntimeError, match="broken exited with 2") as failure:
            cluster.wait_ready(instance, timeout_s=30)
    assert "CRYPTOBOT_LOG_LEVEL" in str(failure.value)
