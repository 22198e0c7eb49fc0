"""Support/resistance follow their stated rule and the trend summary its rule table."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from market.indicator_set import IndicatorSet, compute_indicators
from market.levels import (
    LEVEL_LOOKBACK,
    SWING_WINDOW,
    Levels,
    SwingTracker,
    cluster_levels,
    nearest_levels,
    support_resistance,
)
from market.trend import TrendSummary, summarize_trend
from tests.market.test_indicators import SOLUSDT_CSV, load_csv, random_walk_candles

# --- support and resistance --------------------------------------------------------------


def zigzag(peaks: list[float], troughs: list[float], leg: int = 6) -> tuple[np.ndarray, ...]:
    """Highs and lows that rise to each peak and fall to each trough over ``leg`` candles."""
    path: list[float] = []
    for peak, trough in zip(peaks, troughs):
        start = path[-1] if path else trough
        path.extend(np.linspace(start, peak, leg + 1)[1:].tolist())
        path.extend(np.linspace(peak, trough, leg + 1)[1:].tolist())
    price = np.array(path)
    return price + 0.1, price - 0.1, price


def test_swing_highs_and_lows_become_levels_around_the_close() -> None:
    high, low, close = zigzag([110.0, 120.0, 130.0], [100.0, 90.0, 95.0])
    # Peaks at 110.1/120.1/130.1 are swing highs; troughs at 99.9/89.9 are swing lows (the last
    # trough, at the close of 95, has no five candles after it yet, so it is not confirmed).
    levels = support_resistance(high, low, close)
    assert levels is not None
    assert levels.support == pytest.approx((89.9,))
    assert levels.resistance == pytest.approx((99.9, 110.1, 120.1))
    close_in_middle = np.concatenate((close[:-1], [105.0]))
    levels = support_resistance(high, low, close_in_middle)
    assert levels is not None
    assert levels.support == pytest.approx((99.9, 89.9))
    assert levels.resistance == pytest.approx((110.1, 120.1, 130.1))


def test_pivots_within_half_a_percent_merge_into_one_level_at_their_mean() -> None:
    assert cluster_levels([101.0, 100.0, 200.0, 100.4]) == pytest.approx([100.2, 101.0, 200.0])
    # A cluster is measured from its lowest price, so it cannot creep upwards link by link.
    assert cluster_levels([100.0, 100.45, 100.9]) == pytest.approx([100.225, 100.9])


def test_nearest_levels_come_first_and_at_most_three_per_side() -> None:
    levels = [90.0, 95.0, 98.0, 99.0, 100.0, 101.0, 102.0, 105.0, 110.0]
    assert nearest_levels(levels, 100.0) == Levels(
        support=(99.0, 98.0, 95.0), resistance=(101.0, 102.0, 105.0)
    )
    assert nearest_levels([], 100.0) == Levels((), ())


def test_a_flat_top_counts_as_one_pivot() -> None:
    high = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 9.0, 9.0, 5.0, 4.0, 3.0, 2.0, 1.0, 1.0])
    low = high - 0.5
    assert support_resistance(high, low, np.full(high.shape, 6.0)) == Levels((), (9.0,))


def test_levels_are_na_until_a_pivot_can_be_confirmed() -> None:
    candles = random_walk_candles(21, 2 * SWING_WINDOW + 1)
    assert support_resistance(candles.high[:-1], candles.low[:-1], candles.close[:-1]) is None
    assert support_resistance(candles.high, candles.low, candles.close) is not None


def test_pivots_older_than_the_lookback_are_forgotten() -> None:
    high, low, close = zigzag([120.0], [100.0])
    quiet = np.full(LEVEL_LOOKBACK, 110.0)
    late_high = np.concatenate((high, quiet + 0.01))
    late_low = np.concatenate((low, quiet - 0.01))
    assert support_resistance(late_high, late_low, np.concatenate((close, quiet))) == Levels((), ())


def test_the_tracker_follows_the_vectorised_rule_candle_by_candle() -> None:
    candles = load_csv(SOLUSDT_CSV)[:400]
    tracker = SwingTracker()
    for index in range(len(candles)):
        tracker.push(float(candles.high[index]), float(candles.low[index]))
        prefix = slice(0, index + 1)
        high, low, close = candles.high[prefix], candles.low[prefix], candles.close[prefix]
        expected = support_resistance(high, low, close)
        assert tracker.levels(float(candles.close[index])) == expected, f"after candle {index}"


def test_a_tracker_built_from_a_series_equals_one_fed_candle_by_candle() -> None:
    candles = random_walk_candles(22, 500)
    fed = SwingTracker()
    for high, low in zip(candles.high.tolist(), candles.low.tolist()):
        fed.push(high, low)
    built = SwingTracker.from_series(candles.high, candles.low)
    close = float(candles.close[-1])
    assert built.levels(close) == fed.levels(close)


# --- trend summary -------------------------------------------------------------------------


def indicators(**values: Any) -> IndicatorSet:
    """An indicator set after 300 candles with a close of 100 unless ``values`` say otherwise."""
    return replace(IndicatorSet(candle_count=300, open_time=0, close=100.0), **values)


BULLISH = dict(
    ema_50=95.0, ema_200=90.0, macd_histogram=0.4, rsi_14=60.0,
    plus_di_14=30.0, minus_di_14=12.0, bollinger_upper=104.0, bollinger_lower=92.0,
)
BEARISH = dict(
    ema_50=105.0, ema_200=110.0, macd_histogram=-0.4, rsi_14=40.0,
    plus_di_14=12.0, minus_di_14=30.0, bollinger_upper=108.0, bollinger_lower=96.0,
)


def test_all_five_bullish_rules_with_a_strong_adx_make_a_strong_uptrend() -> None:
    summary = summarize_trend(indicators(**BULLISH, adx_14=32.0))
    assert summary == TrendSummary(
        verdict="strong uptrend",
        score=5,
        rules=(
            "close above EMA50 (+1)",
            "EMA50 above EMA200 (+1)",
            "MACD histogram > 0 (+1)",
            "RSI above 50 (+1)",
            "+DI above -DI (+1)",
            "ADX > 25 confirms trend strength",
        ),
    )


def test_a_high_score_without_adx_strength_is_only_an_uptrend() -> None:
    summary = summarize_trend(indicators(**BULLISH, adx_14=18.0))
    assert (summary.verdict, summary.score) == ("uptrend", 5)
    assert summary.rules[-1] == "ADX < 20: weak trend (info)"


def test_all_bearish_rules_with_a_strong_adx_make_a_strong_downtrend() -> None:
    summary = summarize_trend(indicators(**BEARISH, adx_14=40.0))
    assert (summary.verdict, summary.score) == ("strong downtrend", -5)


@pytest.mark.parametrize(
    ("score_changes", "verdict", "score"),
    [
        (dict(rsi_14=45.0, plus_di_14=10.0, macd_histogram=-0.1), "sideways", -1),
        (dict(rsi_14=45.0, plus_di_14=10.0), "sideways", 1),
        (dict(rsi_14=45.0), "uptrend", 3),
        (dict(close=94.0, rsi_14=45.0), "sideways", 1),
    ],
)
def test_the_verdict_follows_the_score_thresholds(
    score_changes: dict[str, float], verdict: str, score: int
) -> None:
    summary = summarize_trend(indicators(**(BULLISH | score_changes), adx_14=30.0))
    assert (summary.verdict, summary.score) == (verdict, score)


def test_overbought_rsi_and_a_close_above_the_upper_band_are_warnings_worth_no_points() -> None:
    summary = summarize_trend(indicators(**(BULLISH | dict(rsi_14=75.0)), close=105.0))
    assert summary.score == 5
    assert "RSI > 70: overbought (warn)" in summary.rules
    assert "close above upper Bollinger band (warn)" in summary.rules


def test_oversold_rsi_and_a_close_below_the_lower_band_are_warnings() -> None:
    summary = summarize_trend(indicators(**(BEARISH | dict(rsi_14=25.0)), close=95.0))
    assert "RSI < 30: oversold (warn)" in summary.rules
    assert "close below lower Bollinger band (warn)" in summary.rules


def test_rules_with_na_inputs_are_skipped_and_named() -> None:
    summary = summarize_trend(indicators(ema_50=95.0, rsi_14=55.0))
    assert summary == TrendSummary(
        verdict="uptrend",
        score=2,
        rules=("close above EMA50 (+1)", "RSI above 50 (+1)"),
        skipped=("EMA50 vs EMA200", "MACD histogram", "+DI vs -DI"),
    )


def test_nothing_to_judge_is_sideways_with_every_rule_skipped() -> None:
    summary = summarize_trend(compute_indicators(random_walk_candles(23, 0)))
    assert (summary.verdict, summary.score, summary.rules) == ("sideways", 0, ())
    assert len(summary.skipped) == 5


def test_ties_score_nothing() -> None:
    summary = summarize_trend(indicators(ema_50=100.0, macd_histogram=0.0, rsi_14=50.0))
    assert (summary.score, summary.rules) == (0, ())
    assert summary.skipped == ("EMA50 vs EMA200", "+DI vs -DI")


def test_the_real_candles_end_in_a_strong_downtrend_with_oversold_rsi() -> None:
    summary = summarize_trend(compute_indicators(load_csv(SOLUSDT_CSV)))
    assert summary.verdict == "strong downtrend" and summary.score == -5
    assert "RSI < 30: oversold (warn)" in summary.rules
    assert summary == summarize_trend(compute_indicators(load_csv(SOLUSDT_CSV)))
