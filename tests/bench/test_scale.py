"""bench/scale.py: opt-in behind --scale, and its table judged against the one-instance run."""

from __future__ import annotations

import pytest

from bench import __main__ as runner
from bench.scale import ModeFigures, combine, scale_rows

ONE = ModeFigures(instances=1, ticker_calls=1, analysis_per_s=15.0, analysis_p95_ms=3000.0,
                  burst_answered=300, burst_total=300, burst_twice=0, burst_429s=0,
                  burst_per_s=29.9)
SHARED = ModeFigures(instances=2, ticker_calls=1, analysis_per_s=22.0, analysis_p95_ms=2100.0,
                     burst_answered=300, burst_total=300, burst_twice=0, burst_429s=0,
                     burst_per_s=29.8)
UNSHARED = ModeFigures(instances=2, ticker_calls=2, analysis_per_s=10.0, analysis_p95_ms=5000.0,
                       burst_answered=300, burst_total=300, burst_twice=200, burst_429s=207,
                       burst_per_s=15.1)


def test_the_scale_section_runs_only_when_asked_for() -> None:
    default = runner.plan(runner.parse_args([]))
    both = runner.plan(runner.parse_args(["--scale"]))
    alone = runner.plan(runner.parse_args(["--only", "scale", "--scale", "1"]))

    assert "scale" not in [name for name, _, _ in default]
    assert both[-1][0] == "scale" and both[-1][1].module == "bench.scale"
    assert both[-1][2] == (2.0,)
    assert [(name, args) for name, _, args in alone] == [("scale", (1.0,))]
    with pytest.raises(SystemExit):
        runner.parse_args(["--only", "scale"])


def test_two_instances_that_share_meet_every_goal_against_the_one_instance_baseline() -> None:
    rows = scale_rows(ONE, SHARED)

    assert all(row.passed for row in rows)
    analysis = next(row for row in rows if row.metric.startswith("cold /analysis"))
    assert (analysis.measured, analysis.baseline) == (22.0, 15.0)
    assert analysis.ratio == pytest.approx(22.0 / 15.0)


def test_two_instances_that_share_nothing_fail_on_upstream_calls_duplicates_and_429s() -> None:
    failed = [row.metric for row in scale_rows(ONE, UNSHARED) if not row.passed]

    assert len(failed) == 4
    assert "upstream ticker calls" in failed[0] and "commands/s" in failed[1]
    assert "more than once" in failed[2] and "429s" in failed[3]


def test_the_one_instance_run_alone_reports_without_a_baseline() -> None:
    rows = scale_rows(ONE, None)

    assert all("1 instance" in row.metric for row in rows if "instance" in row.metric)
    assert all(row.passed for row in rows)
    assert [row.baseline for row in rows[:3]] == [None, None, None]


def test_rounds_combine_into_mean_rates_and_the_worst_counts() -> None:
    worse = ModeFigures(instances=2, ticker_calls=2, analysis_per_s=18.0, analysis_p95_ms=2500.0,
                        burst_answered=299, burst_total=300, burst_twice=1, burst_429s=3,
                        burst_per_s=29.0)

    both = combine([SHARED, worse])

    assert (both.analysis_per_s, both.analysis_p95_ms) == (20.0, 2300.0)
    assert (both.ticker_calls, both.burst_answered, both.burst_twice, both.burst_429s) == (
        2, 299, 1, 3)
