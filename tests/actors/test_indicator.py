"""The indicator actor: incremental steps for new candles, rebuilds otherwise, bounded state."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from actors.indicator import IndicatorActor, IndicatorStats
from market.candles import load_csv
from market.indicator_set import VALUE_NAMES, compute_indicators
from messages.market import ComputeIndicators
from messages.system import MemoryPressure
from supervision.messages import Describe
from supervision.spec import ChildSpec
from supervision.tree import SupervisionTree

SOLUSDT = load_csv(Path(__file__).resolve().parents[1] / "data" / "SOLUSDT_1h.csv")


@pytest.fixture
def indicator():
    tree = SupervisionTree(
        [ChildSpec(name="indicator", factory=lambda ctx: IndicatorActor.start(ctx, max_series=2))]
    ).start()
    yield tree.address("indicator")
    tree.stop()


def assert_same(a, b) -> None:
    for name in VALUE_NAMES:
        x, y = a.value(name), b.value(name)
        assert (x is None) == (y is None), name
        if x is not None:
            assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12), (name, x, y)


def stats(address) -> IndicatorStats:
    figures = address.ask(Describe(), timeout=5).stats
    assert isinstance(figures, IndicatorStats)
    return figures


def test_new_closed_candles_are_fed_incrementally_and_match_a_full_recompute(indicator):
    indicator.ask(ComputeIndicators("SOLUSDT", "1h", SOLUSDT[:500]), timeout=5)
    result = indicator.ask(ComputeIndicators("SOLUSDT", "1h", SOLUSDT[:503]), timeout=5)
    assert_same(result, compute_indicators(SOLUSDT[:503]))
    figures = stats(indicator)
    assert figures.rebuilds == 1 and figures.incremental_steps == 3


def test_a_sliding_window_extends_the_state_that_saw_the_older_candles(indicator):
    indicator.ask(ComputeIndicators("SOLUSDT", "1h", SOLUSDT[:500]), timeout=5)
    result = indicator.ask(ComputeIndicators("SOLUSDT", "1h", SOLUSDT[2:502]), timeout=5)
    assert_same(result, compute_indicators(SOLUSDT[:502]))


def test_the_same_window_again_reuses_the_result(indicator):
    first = indicator.ask(ComputeIndicators("SOLUSDT", "1h", SOLUSDT[:500]), timeout=5)
    again = indicator.ask(ComputeIndicators("SOLUSDT", "1h", SOLUSDT[:500]), timeout=5)
    assert_same(first, again)
    assert stats(indicator).reused == 1


def test_a_gap_larger_than_the_incremental_limit_rebuilds(indicator):
    indicator.ask(ComputeIndicators("SOLUSDT", "1h", SOLUSDT[:300]), timeout=5)
    result = indicator.ask(ComputeIndicators("SOLUSDT", "1h", SOLUSDT[200:700]), timeout=5)
    assert_same(result, compute_indicators(SOLUSDT[200:700]))
    assert stats(indicator).rebuilds == 2


def test_state_is_bounded_and_dropped_under_memory_pressure(indicator):
    for symbol in ("A", "B", "C"):
        indicator.ask(ComputeIndicators(symbol, "1h", SOLUSDT[:100]), timeout=5)
    assert stats(indicator).series == 2
    indicator.tell(MemoryPressure("critical", 900.0, 512.0, 0.0))
    assert stats(indicator).series == 0
