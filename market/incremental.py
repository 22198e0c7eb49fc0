"""Indicator state that absorbs one closed candle at a time.

The indicator actor keeps one ``IndicatorState`` per (symbol, interval): it is built once from
a full computation and then ``update``d with each newly closed candle in O(1) amortised time,
giving the same ``IndicatorSet`` a full recompute over the whole series would (to ~1e-12).
It is the only mutable object in the package; the actor owns it and nothing shares it.

What it keeps, per indicator:

* EMA, RSI, ATR, MACD, ADX: filter states (``market.smoothing.SmoothingState``) and the
  previous candle;
* SMA, Bollinger, Stochastic: the last few values in bounded deques;
* OBV, VWAP: running sums (VWAP's restart at each session);
* support/resistance: a ``market.levels.SwingTracker``.

A filter that is still warming up keeps its partial seed sum, so a state built from a short
series warms up exactly as the full computation would. The per-indicator parts live in
``market.incremental_parts``.
"""

from __future__ import annotations

import math
import sys
from collections import deque

import numpy as np

from market.candles import Candle, Candles
from market.errors import InvalidCandles
from market.incremental_parts import Directional, MacdState, StochasticState, VwapState
from market.indicator_set import (
    ATR_PERIOD,
    BOLLINGER_PERIOD,
    BOLLINGER_WIDTH,
    EMA_PERIODS,
    RSI_PERIOD,
    SMA_PERIODS,
    IndicatorSet,
    build_indicator_set,
)
from market.indicators import obv, true_range
from market.levels import SwingTracker
from market.smoothing import Smoothing, SmoothingState

__all__ = ["IndicatorState"]


class IndicatorState:
    """Everything needed to move the indicator set forward by one closed candle."""

    __slots__ = (
        "_atr",
        "_candle",
        "_closes",
        "_count",
        "_directional",
        "_emas",
        "_macd",
        "_obv",
        "_rsi_gain",
        "_rsi_loss",
        "_stochastic",
        "_swings",
        "_vwap",
    )

    def __init__(self) -> None:
        """An empty state: every indicator n/a until candles arrive through ``update``."""
        self._count = 0
        self._candle: Candle | None = None
        self._closes: deque[float] = deque(maxlen=max(*SMA_PERIODS, BOLLINGER_PERIOD))
        self._emas = {period: SmoothingState(Smoothing.ema(period)) for period in EMA_PERIODS}
        self._macd = MacdState()
        self._rsi_gain = SmoothingState(Smoothing.wilder_average(RSI_PERIOD))
        self._rsi_loss = SmoothingState(Smoothing.wilder_average(RSI_PERIOD))
        self._atr = SmoothingState(Smoothing.wilder_average(ATR_PERIOD))
        self._stochastic = StochasticState()
        self._obv = math.nan
        self._vwap = VwapState()
        self._directional = Directional()
        self._swings = SwingTracker()

    @classmethod
    def from_candles(cls, candles: Candles) -> IndicatorState:
        """The state after every candle of ``candles``, built with the vectorised kernels."""
        state = cls()
        count = len(candles)
        if count == 0:
            return state
        high, low, close = candles.high, candles.low, candles.close
        state._count = count
        state._candle = candles.candle(-1)
        state._closes.extend(close[-(state._closes.maxlen or 0) :].tolist())
        state._emas = {p: SmoothingState.after(Smoothing.ema(p), close) for p in EMA_PERIODS}
        state._macd = MacdState.from_series(close)
        change = np.diff(close)
        wilder = Smoothing.wilder_average(RSI_PERIOD)
        state._rsi_gain = SmoothingState.after(wilder, np.maximum(change, 0.0))
        state._rsi_loss = SmoothingState.after(wilder, np.maximum(-change, 0.0))
        ranges = true_range(high, low, close)[1:]
        state._atr = SmoothingState.after(Smoothing.wilder_average(ATR_PERIOD), ranges)
        state._stochastic = StochasticState.from_series(high, low, close)
        state._obv = float(obv(close, candles.volume)[-1])
        state._vwap = VwapState.from_series(candles)
        state._directional = Directional.from_series(high, low, ranges)
        state._swings = SwingTracker.from_series(high, low)
        return state

    @property
    def candle_count(self) -> int:
        """How many candles the state has taken in."""
        return self._count

    def update(self, candle: Candle) -> IndicatorSet:
        """Take in the next closed candle and return the indicators after it.

        Raises ``InvalidCandles`` when the candle does not open after the last one.
        """
        previous = self._candle
        if previous is not None and candle.open_time <= previous.open_time:
            raise InvalidCandles(
                f"candle opened at {candle.open_time} is not after the last one "
                f"({previous.open_time})"
            )
        self._count += 1
        close = candle.close
        self._closes.append(close)
        for ema in self._emas.values():
            ema.push(close)
        self._macd.push(close)
        if previous is None:
            self._obv = candle.volume
        else:
            change = close - previous.close
            self._rsi_gain.push(max(change, 0.0))
            self._rsi_loss.push(max(-change, 0.0))
            ranged = max(candle.high, previous.close) - min(candle.low, previous.close)
            self._atr.push(ranged)
            self._directional.push(previous, candle, ranged)
            if change:
                self._obv += math.copysign(candle.volume, change)
        self._stochastic.push(candle)
        self._vwap.push(candle, first=previous is None)
        self._swings.push(candle.high, candle.low)
        self._candle = candle
        return self.snapshot()

    def snapshot(self) -> IndicatorSet:
        """The indicators after the last candle taken in."""
        candle = self._candle
        if candle is None:
            return build_indicator_set(
                candle_count=0, open_time=None, close=None, values={}, levels=None
            )
        values: dict[str, float] = {}
        closes = list(self._closes)
        for period in SMA_PERIODS:
            if len(closes) >= period:
                values[f"sma_{period}"] = sum(closes[-period:]) / period
        for period, ema in self._emas.items():
            values[f"ema_{period}"] = ema.value
        if self._rsi_gain.count >= RSI_PERIOD:
            gain, loss = self._rsi_gain.value, self._rsi_loss.value
            total = gain + loss
            values[f"rsi_{RSI_PERIOD}"] = gain / total * 100.0 if total != 0.0 else 0.0
        if len(closes) >= BOLLINGER_PERIOD:
            values |= _bollinger(closes[-BOLLINGER_PERIOD:])
        values[f"atr_{ATR_PERIOD}"] = self._atr.value
        values["obv"] = self._obv
        values |= self._macd.values()
        values |= self._stochastic.values()
        values |= self._vwap.values()
        values |= self._directional.values()
        return build_indicator_set(
            candle_count=self._count,
            open_time=candle.open_time,
            close=candle.close,
            values=values,
            levels=self._swings.levels(candle.close),
            special_reasons={"vwap": self._vwap.reason()},
        )

    def memory_bytes(self) -> int:
        """Approximate bytes held by the state: its objects, containers and the numbers in them."""
        return _deep_size(self)


def _bollinger(window: list[float]) -> dict[str, float]:
    mean = sum(window) / len(window)
    spread = math.sqrt(sum((x - mean) * (x - mean) for x in window) / len(window))
    width = BOLLINGER_WIDTH * spread
    return {
        "bollinger_upper": mean + width,
        "bollinger_middle": mean,
        "bollinger_lower": mean - width,
    }


def _deep_size(root: object) -> int:
    """``sys.getsizeof`` summed over everything reachable through slots and containers."""
    seen: set[int] = set()
    pending: list[object] = [root]
    total = 0
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        total += sys.getsizeof(item)
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (deque, list, tuple)):
            pending.extend(item)
        for cls in type(item).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if hasattr(item, slot):
                    pending.append(getattr(item, slot))
    return total
