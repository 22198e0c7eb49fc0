"""An incremental update gives the same indicators as a full recompute over the whole series."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from market.candles import Candle, Candles
from market.errors import InvalidCandles
from market.incremental import IndicatorState
from market.indicator_set import REQUIRED_CANDLES, VALUE_NAMES, IndicatorSet, compute_indicators
from tests.market.test_indicators import (
    RANDOM_WALK_START_MS,
    SOLUSDT_CSV,
    load_csv,
    random_walk_candles,
)

OSCILLATORS = {"rsi_14", "stoch_k", "stoch_d", "adx_14", "plus_di_14", "minus_di_14"}


def assert_same_indicators(
    actual: IndicatorSet, expected: IndicatorSet, candles: Candles, rel: float = 1e-9
) -> None:
    """Every value within ``rel`` of the full recompute, relative to the indicator's scale.

    The scale is the value itself, floored at the close (prices and price differences such as
    MACD), 100 (oscillators) or the traded volume (OBV), so that values crossing zero compare
    sensibly. Levels, n/a reasons and the candle count must be identical.
    """
    assert actual.candle_count == expected.candle_count
    assert (actual.open_time, actual.close) == (expected.open_time, expected.close)
    assert actual.unavailable == expected.unavailable
    assert (actual.support, actual.resistance) == (expected.support, expected.resistance)
    volume = float(candles.volume.sum())
    for name in VALUE_NAMES:
        mine, full = actual.value(name), expected.value(name)
        if full is None or mine is None:
            assert mine is None and full is None, f"{name}: {mine} vs full recompute {full}"
            continue
        if mine == full:
            continue
        floor = 100.0 if name in OSCILLATORS else volume if name == "obv" else expected.close
        assert floor is not None
        error = abs(mine - full) / max(abs(full), floor)
        assert error <= rel, f"{name}: incremental {mine!r}, full {full!r} (error {error:.2g})"


def updated(state: IndicatorState, candles: Candles, start: int) -> IndicatorSet:
    latest = state.snapshot()
    for index in range(start, len(candles)):
        latest = state.update(candles.candle(index))
    return latest


def with_flat_stretches(candles: Candles, flat: np.ndarray) -> Candles:
    """Make the ``flat`` candles open, close, high and low at the previous close."""
    close = candles.close.copy()
    open_, high, low = candles.open.copy(), candles.high.copy(), candles.low.copy()
    for index in np.flatnonzero(flat):
        if index == 0:
            continue
        price = close[index - 1]
        open_[index] = close[index] = high[index] = low[index] = price
        if index + 1 < len(close):
            open_[index + 1] = price
            high[index + 1] = max(high[index + 1], price)
            low[index + 1] = min(low[index + 1], price)
    return Candles(
        open_time=candles.open_time, open=open_, high=high, low=low, close=close,
        volume=np.where(flat, 0.0, candles.volume),
    )


@st.composite
def series_and_split(draw: st.DrawFn) -> tuple[Candles, int]:
    length = draw(st.integers(min_value=0, max_value=320))
    candles = random_walk_candles(
        draw(st.integers(min_value=0, max_value=2**32 - 1)),
        length,
        volatility=draw(st.sampled_from([0.001, 0.01, 0.05])),
        start_price=draw(st.sampled_from([1e-4, 1.0, 100.0, 60_000.0])),
    )
    # Shift and stretch time so sessions start mid-series and candles can span days.
    step_ms = draw(st.sampled_from([60_000, 3_600_000, 4 * 3_600_000, 86_400_000]))
    offset_ms = draw(st.integers(min_value=0, max_value=23)) * 3_600_000
    flat_share = draw(st.sampled_from([0.0, 0.0, 0.3, 0.9]))
    flat_seed = draw(st.integers(min_value=0, max_value=1000))
    flat = np.random.default_rng(flat_seed).random(length) < flat_share
    candles = with_flat_stretches(candles, flat)
    candles = Candles(
        open_time=RANDOM_WALK_START_MS + offset_ms + step_ms * np.arange(length, dtype=np.int64),
        open=candles.open, high=candles.high, low=candles.low, close=candles.close,
        volume=candles.volume,
    )
    return candles, draw(st.integers(min_value=0, max_value=length))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series_and_split())
def test_prefix_state_plus_updates_equals_a_full_recompute(case: tuple[Candles, int]) -> None:
    candles, split = case
    state = IndicatorState.from_candles(candles[:split])
    assert_same_indicators(updated(state, candles, split), compute_indicators(candles), candles)


def test_every_step_of_the_warm_up_matches_a_full_recompute_on_real_candles() -> None:
    candles = load_csv(SOLUSDT_CSV)[:240]
    state = IndicatorState()
    for index in range(len(candles)):
        latest = state.update(candles.candle(index))
        assert_same_indicators(latest, compute_indicators(candles[: index + 1]), candles)


@pytest.mark.parametrize("split", [1, 27, 34, 200, 999])
def test_a_state_built_from_real_candles_tracks_the_rest_of_them(split: int) -> None:
    candles = load_csv(SOLUSDT_CSV)
    state = IndicatorState.from_candles(candles[:split])
    assert state.candle_count == split
    assert_same_indicators(updated(state, candles, split), compute_indicators(candles), candles)
    assert state.candle_count == len(candles)


def test_a_state_built_from_candles_reports_what_compute_indicators_reports() -> None:
    candles = random_walk_candles(11, 500)
    expected = compute_indicators(candles)
    assert_same_indicators(IndicatorState.from_candles(candles).snapshot(), expected, candles)


def test_an_empty_state_has_every_indicator_na() -> None:
    latest = IndicatorState().snapshot()
    assert latest.candle_count == 0
    assert {name for name, _ in latest.unavailable} == set(REQUIRED_CANDLES)
    assert latest == IndicatorState.from_candles(random_walk_candles(1, 0)).snapshot()


def test_a_candle_that_is_not_newer_is_rejected_and_changes_nothing() -> None:
    candles = random_walk_candles(12, 60)
    state = IndicatorState.from_candles(candles)
    before = state.snapshot()
    with pytest.raises(InvalidCandles, match="not after the last one"):
        state.update(candles.candle(-1))
    assert state.snapshot() == before


def test_memory_stays_bounded_however_many_candles_pass_through() -> None:
    candles = random_walk_candles(13, 3000)
    state = IndicatorState.from_candles(candles[:300])
    early = state.memory_bytes()
    updated(state, candles, 300)
    assert 0 < state.memory_bytes() < 2 * early
    assert state.memory_bytes() < 64_000


def test_update_accepts_a_hand_made_candle() -> None:
    state = IndicatorState.from_candles(random_walk_candles(14, 40))
    last = state.snapshot()
    assert last.open_time is not None and last.close is not None
    candle = Candle(
        open_time=last.open_time + 3_600_000, open=last.close, high=last.close * 1.01,
        low=last.close * 0.99, close=last.close, volume=1.0,
    )
    assert state.update(candle).candle_count == 41
