"""Indicator speed against the issue's goals, on the real SOLUSDT candles.

Goals: the full indicator set on 1,000 candles within 10x TA-Lib's time for the same set on the
same arrays, and an incremental update per newly closed candle within 100 us. Every figure is
the median of repeated ``time.perf_counter`` runs; ours and TA-Lib's runs are interleaved so
both see the same machine load.

Run ``python bench/indicators_bench.py`` (or ``python -m bench.indicators_bench``) from the
project root to print the table; ``python -m bench`` runs it with the other benchmarks.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import talib

from bench.report import Row, print_table
from market.candles import Candles, load_csv
from market.incremental import IndicatorState
from market.indicator_set import compute_indicators
from market.indicators import adx, atr, bollinger, ema, macd, obv, rsi, sma, stochastic

__all__ = ["run"]

SOLUSDT_CSV = Path(__file__).resolve().parents[1] / "tests" / "data" / "SOLUSDT_1h.csv"
SET_GOAL_RATIO = 10.0
UPDATE_GOAL_US = 100.0
_ROUNDS = 400
_UPDATES = 1000


def _numpy_set(c: Candles) -> None:
    """The TA-Lib-comparable set as full series: what ``_talib_set`` computes, with our kernels."""
    sma(c.close, 20)
    sma(c.close, 50)
    for period in (12, 26, 50, 200):
        ema(c.close, period)
    rsi(c.close, 14)
    macd(c.close, 12, 26, 9)
    bollinger(c.close, 20, 2.0)
    atr(c.high, c.low, c.close, 14)
    stochastic(c.high, c.low, c.close, 14, 3, 3)
    obv(c.close, c.volume)
    adx(c.high, c.low, c.close, 14)


def _talib_set(c: Candles) -> None:
    talib.SMA(c.close, 20)
    talib.SMA(c.close, 50)
    for period in (12, 26, 50, 200):
        talib.EMA(c.close, period)
    talib.RSI(c.close, 14)
    talib.MACD(c.close, 12, 26, 9)
    talib.BBANDS(c.close, 20, 2.0, 2.0, talib.MA_Type.SMA)
    talib.ATR(c.high, c.low, c.close, 14)
    talib.STOCH(c.high, c.low, c.close, 14, 3, talib.MA_Type.SMA, 3, talib.MA_Type.SMA)
    talib.OBV(c.close, c.volume)
    talib.ADX(c.high, c.low, c.close, 14)
    talib.PLUS_DI(c.high, c.low, c.close, 14)
    talib.MINUS_DI(c.high, c.low, c.close, 14)


def _interleaved_medians(jobs: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median microseconds per job, running the jobs in turn each round after a warm-up."""
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    for round_index in range(rounds + 10):
        for name, job in jobs.items():
            started = time.perf_counter()
            job()
            elapsed = time.perf_counter() - started
            if round_index >= 10:
                samples[name].append(elapsed * 1e6)
    return {name: statistics.median(values) for name, values in samples.items()}


def _update_us(candles: Candles) -> float:
    """Median microseconds of ``IndicatorState.update`` over the series replayed once more."""
    state = IndicatorState.from_candles(candles)
    shift = int(candles.open_time[-1] - candles.open_time[0]) + 3_600_000
    replay = [candles.candle(index % len(candles)) for index in range(_UPDATES)]
    timings: list[float] = []
    for candle in replay:
        later = type(candle)(
            open_time=candle.open_time + shift, open=candle.open, high=candle.high,
            low=candle.low, close=candle.close, volume=candle.volume,
        )
        started = time.perf_counter()
        state.update(later)
        timings.append((time.perf_counter() - started) * 1e6)
    return statistics.median(timings)


def _row(metric: str, goal: str, measured: float, baseline: float | None, limit: float) -> Row:
    """Pass against ``limit`` as a ratio to the baseline, or as microseconds without one."""
    ratio = measured / baseline if baseline else None
    passed = ratio <= limit if ratio is not None else measured <= limit
    return Row(metric, goal, measured, "us", baseline, ratio, passed)


def run() -> list[Row]:
    """Measure and return one row per goal (times in microseconds)."""
    candles = load_csv(SOLUSDT_CSV)
    medians = _interleaved_medians(
        {
            "talib": lambda: _talib_set(candles),
            "numpy": lambda: _numpy_set(candles),
            "latest": lambda: compute_indicators(candles),
        },
        _ROUNDS,
    )
    build = _interleaved_medians({"build": lambda: IndicatorState.from_candles(candles)}, 30)
    goal = f"<= {SET_GOAL_RATIO:g}x TA-Lib"
    return [
        _row("full set, 1,000 candles, numpy kernels", goal, medians["numpy"], medians["talib"],
             SET_GOAL_RATIO),
        _row("compute_indicators, 1,000 candles, + VWAP and levels", goal, medians["latest"],
             medians["talib"], SET_GOAL_RATIO),
        _row("IndicatorState.update per new candle", f"<= {UPDATE_GOAL_US:g} us",
             _update_us(candles), None, UPDATE_GOAL_US),
        Row("IndicatorState.from_candles, 1,000 candles", "(info)", build["build"], "us", None,
            None, True),
    ]


if __name__ == "__main__":
    print_table(f"bench/indicators_bench.py: indicators vs TA-Lib on {SOLUSDT_CSV.name} "
                f"(medians of {_ROUNDS} interleaved rounds)", run())
