"""Memory pressure policy: thresholds, hysteresis, targets and what actors report as size."""

from __future__ import annotations

import pytest

from messages.system import MemoryPressure
from market.cache import CacheStats, LayerStats
from ops.memory import PressurePolicy, PsutilSampler, size_figures
from core.stats import FlatStats

# Limit 1000 MB, warning at 80 %: warning from 800 MB, critical from 1000 MB,
# back to normal below 750 MB, back to warning below 950 MB.
POLICY = PressurePolicy(limit_mb=1000, warning_percent=80)


class TestThresholds:
    @pytest.mark.parametrize(
        ("rss_mb", "level"),
        [(0, "normal"), (799.9, "normal"), (800, "warning"), (999.9, "warning"),
         (1000, "critical"), (4000, "critical")],
    )
    def test_a_fresh_process_is_classified_by_the_thresholds(self, rss_mb, level):
        assert POLICY.classify(rss_mb) == level

    def test_warning_returns_to_normal_only_five_points_below_the_threshold(self):
        assert POLICY.classify(790, "warning") == "warning"
        assert POLICY.classify(750, "warning") == "warning"
        assert POLICY.classify(749.9, "warning") == "normal"

    def test_critical_steps_down_with_the_same_band(self):
        assert POLICY.classify(960, "critical") == "critical"
        assert POLICY.classify(940, "critical") == "warning"
        assert POLICY.classify(760, "critical") == "warning"
        assert POLICY.classify(700, "critical") == "normal"

    def test_hysteresis_never_holds_a_level_that_was_not_reached(self):
        assert POLICY.classify(960, "warning") == "warning"
        assert POLICY.classify(760, "normal") == "normal"

    def test_a_tiny_warning_percent_still_has_a_reachable_release_point(self):
        policy = PressurePolicy(limit_mb=1000, warning_percent=2)
        assert policy.classify(25, "warning") == "warning"
        assert policy.classify(9, "warning") == "normal"

    @pytest.mark.parametrize(("limit_mb", "warning_percent"), [(0, 80), (100, 0), (100, 100)])
    def test_a_nonsensical_policy_is_refused(self, limit_mb, warning_percent):
        with pytest.raises(ValueError):
            PressurePolicy(limit_mb, warning_percent)


class TestDecisions:
    def test_targets_shrink_with_the_level(self):
        assert [POLICY.target_fraction(level) for level in ("normal", "warning", "critical")] == [
            1.0, 0.5, 0.1]

    def test_a_sample_at_the_same_level_changes_nothing(self):
        decision = POLICY.decide(850, "warning")
        assert (decision.level, decision.changed, decision.collect_garbage) == (
            "warning", False, False)

    def test_becoming_critical_collects_garbage_once(self):
        assert POLICY.decide(1200, "warning").collect_garbage
        assert not POLICY.decide(1300, "critical").collect_garbage

    def test_recovering_is_a_change_without_garbage_collection(self):
        decision = POLICY.decide(100, "critical")
        assert (decision.level, decision.changed, decision.collect_garbage) == (
            "normal", True, False)

    def test_the_broadcast_carries_level_rss_limit_and_target(self):
        assert POLICY.pressure_message("critical", 1234.56) == MemoryPressure(
            level="critical", rss_mb=1234.6, limit_mb=1000.0, target_fraction=0.1)


class TestSizeFigures:
    def test_byte_counts_are_kept_and_budgets_breakdowns_and_other_figures_dropped(self):
        stats = FlatStats((("bytes", 2048), ("max_bytes", 4096), ("state_bytes", 10.0),
                           ("series", 3), ("paused", True), ("raw.bytes", 7)))
        assert size_figures("cache", stats) == {"cache.bytes": 2048, "cache.state_bytes": 10}

    def test_the_cache_stats_give_their_total_only(self):
        layer = LayerStats(hits=1, misses=0, stale_hits=0, evictions=0, bytes=7, hit_rate=1.0)
        stats = CacheStats(bytes=2048, max_bytes=4096, layers=(("raw", layer),),
                           background_refreshes=0)
        assert size_figures("cache", stats) == {"cache.bytes": 2048}


class TestPsutilSampler:
    def test_it_samples_this_process(self):
        sample = PsutilSampler().sample()
        assert sample.rss_mb > 1
        assert sample.threads >= 1
        assert sample.open_files >= 1
        assert sample.system_available_mb > 0
        assert 0 <= sample.system_percent <= 100
