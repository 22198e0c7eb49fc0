"""SLO windows on a fake clock: what counts, how windows slide, percentiles, the memory bound."""

from __future__ import annotations

from core.stats import stat_figures
from ops.slo import MAX_COMMANDS, SloWindows


def test_ok_and_degraded_are_successes_error_and_unavailable_are_errors_usage_is_not_counted():
    slo = SloWindows()
    for outcome in ("ok", "ok", "degraded", "error", "unavailable", "usage", "denied"):
        slo.record("price", outcome, 100.0, at=1000.0)
    figures = slo.stats(now=1000.0).last_5m
    assert (figures.count, figures.errors, figures.degraded) == (5, 2, 1)
    assert figures.success_rate == 0.6 and figures.error_rate == 0.4
    assert slo.stats(now=1000.0).recorded == 7


def test_nothing_counted_gives_no_rates_rather_than_a_perfect_score():
    slo = SloWindows()
    slo.record("price", "usage", 3.0, at=0.0)
    figures = slo.stats(now=0.0).last_5m
    assert figures.count == 0 and figures.success_rate is None and figures.p95_ms is None


def test_an_outcome_leaves_the_5_minute_window_after_5_minutes_and_the_hour_after_an_hour():
    slo = SloWindows()
    slo.record("price", "error", 50.0, at=1000.0)
    assert slo.stats(now=1000.0 + 289).last_5m.errors == 1
    assert slo.stats(now=1000.0 + 301).last_5m.count == 0
    assert slo.stats(now=1000.0 + 301).last_1h.errors == 1
    assert slo.stats(now=1000.0 + 3601).last_1h.count == 0


def test_percentiles_are_never_understated_and_at_most_ten_percent_high():
    slo = SloWindows()
    for latency in range(1, 101):  # 1..100 ms
        slo.record("analysis", "ok", float(latency) * 10, at=5.0)
    figures = slo.stats(now=5.0).last_5m
    assert figures.p50_ms is not None and 500 <= figures.p50_ms <= 550
    assert figures.p95_ms is not None and 950 <= figures.p95_ms <= 1045
    assert figures.p99_ms is not None and 990 <= figures.p99_ms <= 1089


def test_each_command_has_its_own_figures_busiest_first_and_they_add_up_to_the_overall():
    slo = SloWindows()
    slo.record("price", "ok", 10.0, at=0.0)
    for _ in range(3):
        slo.record("analysis", "unavailable", 2000.0, at=0.0)
    stats = slo.stats(now=1.0)
    assert [name for name, _ in stats.commands] == ["analysis", "price"]
    analysis = dict(stats.commands)["analysis"]
    assert analysis.last_5m.error_rate == 1.0 and analysis.last_1h.count == 3
    assert stats.last_5m.count == 4 and stats.last_5m.error_rate == 0.75


def test_memory_stays_bounded_however_long_it_runs_and_however_many_names_it_sees():
    slo = SloWindows()
    for second in range(0, 3 * 3600, 3):
        slo.record(f"cmd{second % 200}", "ok", 20.0, at=float(second))
    assert slo.buckets() <= 30 + 60
    assert len(slo.stats(now=3 * 3600.0).commands) <= MAX_COMMANDS + 1


def test_a_clock_that_goes_back_adds_to_the_newest_bucket_instead_of_resurrecting_old_ones():
    slo = SloWindows()
    slo.record("price", "ok", 10.0, at=1000.0)
    slo.record("price", "error", 10.0, at=10.0)
    assert slo.stats(now=1000.0).last_5m.count == 2


def test_the_figures_flatten_to_stable_dotted_names_for_the_generic_renderers():
    slo = SloWindows()
    slo.record("price", "ok", 10.0, at=0.0)
    names = dict(stat_figures(slo.stats(now=0.0)))
    assert names["last_5m.p95_ms"] == names["commands.price.last_5m.p95_ms"]
    assert names["commands.price.last_1h.success_rate"] == 1.0
