"""The multi-step indicators' incremental states, used by ``market.incremental``.

Each part can be built from a whole series (``from_series``, vectorised) or from nothing and
then ``push``ed one candle at a time; both paths follow TA-Lib's warm-up, so a part built from
any prefix and pushed through the rest ends where the full computation does. ``values``
returns only the values that exist yet, keyed by ``IndicatorSet`` field names.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from market.candles import Candle, Candles, FloatArray
from market.indicator_set import (
    ADX_PERIOD,
    MACD_PERIODS,
    STOCHASTIC_PERIODS,
    VWAP_NO_VOLUME_REASON,
    VWAP_PARTIAL_REASON,
    VWAP_SESSION_MS,
)
from market.indicators import directional_movement
from market.smoothing import Smoothing, SmoothingState, smooth

__all__ = ["Directional", "MacdState", "StochasticState", "VwapState"]


class MacdState:
    """MACD's three EMAs; the fast one starts ``slow - fast`` candles late, as in TA-Lib."""

    __slots__ = ("_count", "_fast", "_signal", "_slow")

    def __init__(self) -> None:
        fast, slow, signal = MACD_PERIODS
        self._count = 0
        self._fast = SmoothingState(Smoothing.ema(fast))
        self._slow = SmoothingState(Smoothing.ema(slow))
        self._signal = SmoothingState(Smoothing.ema(signal))

    @classmethod
    def from_series(cls, close: FloatArray) -> MacdState:
        fast, slow, signal = MACD_PERIODS
        state = cls()
        state._count = int(close.shape[0])
        state._slow = SmoothingState.after(Smoothing.ema(slow), close)
        state._fast = SmoothingState.after(Smoothing.ema(fast), close[slow - fast :])
        if state._count >= slow:
            fast_ema = smooth(close[slow - fast :], Smoothing.ema(fast))[fast - 1 :]
            line = fast_ema - smooth(close, Smoothing.ema(slow))[slow - 1 :]
            state._signal = SmoothingState.after(Smoothing.ema(signal), line)
        return state

    def push(self, close: float) -> None:
        fast, slow, _ = MACD_PERIODS
        self._count += 1
        slow_value = self._slow.push(close)
        if self._count > slow - fast:
            fast_value = self._fast.push(close)
            if not math.isnan(slow_value):
                self._signal.push(fast_value - slow_value)

    def values(self) -> dict[str, float]:
        signal = self._signal.value
        if math.isnan(signal):
            return {}
        line = self._fast.value - self._slow.value
        return {"macd": line, "macd_signal": signal, "macd_histogram": line - signal}


class StochasticState:
    """Highest high / lowest low windows and the fast and slow %K windows."""

    __slots__ = ("_fast_k", "_highs", "_lows", "_slow_k")

    def __init__(self) -> None:
        k_period, k_slowing, d_period = STOCHASTIC_PERIODS
        self._highs: deque[float] = deque(maxlen=k_period)
        self._lows: deque[float] = deque(maxlen=k_period)
        self._fast_k: deque[float] = deque(maxlen=k_slowing)
        self._slow_k: deque[float] = deque(maxlen=d_period)

    @classmethod
    def from_series(cls, high: FloatArray, low: FloatArray, close: FloatArray) -> StochasticState:
        # Only the last k_period + k_slowing + d_period candles reach the windows.
        state = cls()
        start = max(0, close.shape[0] - sum(STOCHASTIC_PERIODS))
        for candle_high, candle_low, candle_close in zip(
            high[start:].tolist(), low[start:].tolist(), close[start:].tolist()
        ):
            state._push(candle_high, candle_low, candle_close)
        return state

    def push(self, candle: Candle) -> None:
        self._push(candle.high, candle.low, candle.close)

    def _push(self, high: float, low: float, close: float) -> None:
        self._highs.append(high)
        self._lows.append(low)
        if len(self._highs) < (self._highs.maxlen or 0):
            return
        lowest = min(self._lows)
        span = max(self._highs) - lowest
        self._fast_k.append((close - lowest) / span * 100.0 if span != 0.0 else 0.0)
        if len(self._fast_k) == self._fast_k.maxlen:
            self._slow_k.append(sum(self._fast_k) / len(self._fast_k))

    def values(self) -> dict[str, float]:
        if len(self._slow_k) < (self._slow_k.maxlen or 0):
            return {}
        return {"stoch_k": self._slow_k[-1], "stoch_d": sum(self._slow_k) / len(self._slow_k)}


class VwapState:
    """Running price * volume and volume of the current session."""

    __slots__ = ("_complete", "_price_volume", "_session", "_volume")

    def __init__(self) -> None:
        self._session = -1
        self._complete = False
        """Whether the session's first candle was seen (else VWAP would miss its start)."""
        self._price_volume = 0.0
        self._volume = 0.0

    @classmethod
    def from_series(cls, candles: Candles) -> VwapState:
        state = cls()
        sessions = candles.open_time // VWAP_SESSION_MS
        state._session = int(sessions[-1])
        start = int(np.searchsorted(sessions, sessions[-1]))
        state._complete = start > 0 or int(candles.open_time[0]) % VWAP_SESSION_MS == 0
        typical = (candles.high[start:] + candles.low[start:] + candles.close[start:]) / 3.0
        state._price_volume = float(np.cumsum(typical * candles.volume[start:])[-1])
        state._volume = float(np.cumsum(candles.volume[start:])[-1])
        return state

    def push(self, candle: Candle, *, first: bool) -> None:
        session = candle.open_time // VWAP_SESSION_MS
        if session != self._session:
            self._complete = not first or candle.open_time % VWAP_SESSION_MS == 0
            self._session = session
            self._price_volume = 0.0
            self._volume = 0.0
        typical = (candle.high + candle.low + candle.close) / 3.0
        self._price_volume += typical * candle.volume
        self._volume += candle.volume

    def values(self) -> dict[str, float]:
        if not self._complete or self._volume <= 0.0:
            return {}
        return {"vwap": self._price_volume / self._volume}

    def reason(self) -> str:
        """Why VWAP is n/a when it is (with at least one candle taken in)."""
        return VWAP_NO_VOLUME_REASON if self._complete else VWAP_PARTIAL_REASON


class Directional:
    """ADX: Wilder sums of +DM, -DM and true range, then the DX seed and ADX smoothing."""

    __slots__ = ("_adx", "_dx_count", "_dx_seed", "_sums")

    def __init__(self) -> None:
        smoothing = Smoothing.wilder_sum(ADX_PERIOD)
        self._sums = tuple(SmoothingState(smoothing) for _ in range(3))
        self._dx_count = 0
        self._dx_seed = 0.0
        self._adx = math.nan

    @classmethod
    def from_series(cls, high: FloatArray, low: FloatArray, ranges: FloatArray) -> Directional:
        """Build from highs, lows and the true ranges of candles 1..n-1."""
        state = cls()
        plus_dm, minus_dm = directional_movement(high, low)
        smoothing = Smoothing.wilder_sum(ADX_PERIOD)
        inputs = (plus_dm, minus_dm, ranges)
        state._sums = tuple(SmoothingState.after(smoothing, moves) for moves in inputs)
        if ranges.shape[0] >= ADX_PERIOD:
            # Replaying DX through ``_fold`` keeps TA-Lib's seed/skip rule in one place.
            plus, minus = (smooth(moves, smoothing)[ADX_PERIOD - 1 :] for moves in inputs[:2])
            for plus_sum, minus_sum in zip(plus.tolist(), minus.tolist()):
                state._fold(plus_sum, minus_sum)
        return state

    def push(self, previous: Candle, candle: Candle, ranged: float) -> None:
        up = candle.high - previous.high
        down = previous.low - candle.low
        plus_sum, minus_sum, range_sum = self._sums
        plus = plus_sum.push(max(up, 0.0) if up > down else 0.0)
        minus = minus_sum.push(max(down, 0.0) if down > up else 0.0)
        range_sum.push(ranged)
        if range_sum.count >= ADX_PERIOD:
            self._fold(plus, minus)

    def _fold(self, plus: float, minus: float) -> None:
        """Fold one DX into ADX: undefined DX counts 0 in the seed and is skipped after."""
        directional = plus + minus
        index = abs(plus - minus) / directional * 100.0 if directional != 0.0 else math.nan
        self._dx_count += 1
        if self._dx_count <= ADX_PERIOD:
            self._dx_seed += 0.0 if math.isnan(index) else index
            if self._dx_count == ADX_PERIOD:
                self._adx = self._dx_seed / ADX_PERIOD
        elif not math.isnan(index):
            self._adx = (1.0 - 1.0 / ADX_PERIOD) * self._adx + index / ADX_PERIOD

    def values(self) -> dict[str, float]:
        plus_sum, minus_sum, range_sum = self._sums
        if range_sum.count < ADX_PERIOD:
            return {}
        ranged = range_sum.value
        if ranged == 0.0:
            plus_di = minus_di = 0.0
        else:
            plus_di = plus_sum.value / ranged * 100.0
            minus_di = minus_sum.value / ranged * 100.0
        return {
            f"adx_{ADX_PERIOD}": self._adx,
            f"plus_di_{ADX_PERIOD}": plus_di,
            f"minus_di_{ADX_PERIOD}": minus_di,
        }
