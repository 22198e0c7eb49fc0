"""The latest value of every indicator, each one "n/a" on its own when data is short.

A chat reply shows one number per indicator, so ``compute_indicators`` returns an
``IndicatorSet`` of latest values rather than whole series. Each indicator is computed only when
the series is long enough for it (``REQUIRED_CANDLES``); one that is not gets ``None`` and a
reason such as "needs 34 candles, have 12", and the others are computed all the same.

Windowed indicators (SMA, Bollinger, Stochastic, VWAP, levels) only depend on the last few
candles, so they run on that tail; recursive ones (EMA, RSI, MACD, ATR, ADX) and OBV need the
whole series. Periods are fixed module constants: the bot shows one standard set.

VWAP is anchored to the UTC day (``VWAP_SESSION_MS``): it does not depend on how far back the
fetched window reaches, so a restarted actor recomputes the same value. It is n/a when the
series starts inside the current day (its opening volume is missing) or nothing traded yet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from market.candles import Candles, FloatArray
from market.indicators import adx, atr, bollinger, ema, macd, obv, rsi, stochastic, vwap
from market.levels import SWING_WINDOW, Levels, support_resistance

__all__ = [
    "ADX_PERIOD",
    "ATR_PERIOD",
    "BOLLINGER_PERIOD",
    "BOLLINGER_WIDTH",
    "EMA_PERIODS",
    "MACD_PERIODS",
    "REQUIRED_CANDLES",
    "RSI_PERIOD",
    "SMA_PERIODS",
    "STOCHASTIC_PERIODS",
    "VALUE_NAMES",
    "VWAP_NO_VOLUME_REASON",
    "VWAP_PARTIAL_REASON",
    "VWAP_SESSION_MS",
    "IndicatorSet",
    "build_indicator_set",
    "compute_indicators",
]

SMA_PERIODS = (20, 50)
EMA_PERIODS = (12, 26, 50, 200)
RSI_PERIOD = 14
MACD_PERIODS = (12, 26, 9)
"""Fast EMA, slow EMA and signal EMA periods."""
BOLLINGER_PERIOD = 20
BOLLINGER_WIDTH = 2.0
ATR_PERIOD = 14
STOCHASTIC_PERIODS = (14, 3, 3)
"""%K lookback, %K slowing and %D periods."""
ADX_PERIOD = 14
VWAP_SESSION_MS = 86_400_000
"""VWAP restarts at every UTC midnight, like the intraday VWAP on trading screens; on daily or
longer candles each candle is its own session, so VWAP equals its typical price."""


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicatorSet:
    """Latest indicator values after the last closed candle; ``None`` means "n/a".

    ``unavailable`` pairs each n/a name with the reason, e.g. ``("rsi_14", "needs 15 candles,
    have 10")``.
    """

    candle_count: int
    open_time: int | None
    """Open time (ms, UTC) of the last candle, None for an empty series."""
    close: float | None
    sma_20: float | None = None
    sma_50: float | None = None
    ema_12: float | None = None
    ema_26: float | None = None
    ema_50: float | None = None
    ema_200: float | None = None
    rsi_14: float | None = None
    macd: float | None = None
    macd_signal: float | None = None
    macd_histogram: float | None = None
    bollinger_upper: float | None = None
    bollinger_middle: float | None = None
    bollinger_lower: float | None = None
    atr_14: float | None = None
    stoch_k: float | None = None
    stoch_d: float | None = None
    obv: float | None = None
    vwap: float | None = None
    adx_14: float | None = None
    plus_di_14: float | None = None
    minus_di_14: float | None = None
    support: tuple[float, ...] | None = None
    """Up to 3 support levels below the close, nearest first (see ``market.levels``)."""
    resistance: tuple[float, ...] | None = None
    """Up to 3 resistance levels above the close, nearest first."""
    unavailable: tuple[tuple[str, str], ...] = ()

    def value(self, name: str) -> float | None:
        """The latest value of the scalar indicator ``name`` (one of ``VALUE_NAMES``)."""
        if name not in REQUIRED_CANDLES or name in ("support", "resistance"):
            raise KeyError(name)
        result: float | None = getattr(self, name)
        return result

    def reason(self, name: str) -> str | None:
        """Why ``name`` is n/a, or None when it has a value."""
        return dict(self.unavailable).get(name)


def _required() -> dict[str, int]:
    fast, slow, signal = MACD_PERIODS
    k_period, k_slowing, d_period = STOCHASTIC_PERIODS
    needs = {f"sma_{period}": period for period in SMA_PERIODS}
    needs |= {f"ema_{period}": period for period in EMA_PERIODS}
    needs[f"rsi_{RSI_PERIOD}"] = RSI_PERIOD + 1
    needs |= dict.fromkeys(("macd", "macd_signal", "macd_histogram"), slow + signal - 1)
    bands = ("bollinger_upper", "bollinger_middle", "bollinger_lower")
    needs |= dict.fromkeys(bands, BOLLINGER_PERIOD)
    needs[f"atr_{ATR_PERIOD}"] = ATR_PERIOD + 1
    needs |= dict.fromkeys(("stoch_k", "stoch_d"), k_period + k_slowing + d_period - 2)
    needs |= {"obv": 1, "vwap": 1}
    needs[f"adx_{ADX_PERIOD}"] = 2 * ADX_PERIOD
    needs |= dict.fromkeys((f"plus_di_{ADX_PERIOD}", f"minus_di_{ADX_PERIOD}"), ADX_PERIOD + 1)
    needs |= dict.fromkeys(("support", "resistance"), 2 * SWING_WINDOW + 1)
    return needs


REQUIRED_CANDLES: Mapping[str, int] = MappingProxyType(_required())
"""Candles each indicator needs before it has a value (TA-Lib's lookback + 1)."""
VALUE_NAMES: tuple[str, ...] = tuple(
    name for name in REQUIRED_CANDLES if name not in ("support", "resistance")
)
"""Names of the scalar indicators, in display order."""

VWAP_PARTIAL_REASON = "the series starts after the current session opened"
VWAP_NO_VOLUME_REASON = "no volume traded yet in the current session"


def build_indicator_set(
    *,
    candle_count: int,
    open_time: int | None,
    close: float | None,
    values: Mapping[str, float],
    levels: Levels | None,
    special_reasons: Mapping[str, str] | None = None,
) -> IndicatorSet:
    """Assemble an ``IndicatorSet``, turning NaN or missing values into n/a with a reason.

    A missing value on a series long enough for it takes its reason from ``special_reasons``.
    """
    fields: dict[str, float | None] = {
        name: value for name, value in values.items() if not math.isnan(value)
    }
    unavailable = [
        (name, _reason(name, candle_count, special_reasons))
        for name in VALUE_NAMES
        if name not in fields
    ]
    if levels is None:
        for side in ("support", "resistance"):
            unavailable.append((side, _reason(side, candle_count, None)))
    return IndicatorSet(
        candle_count=candle_count,
        open_time=open_time,
        close=close,
        support=None if levels is None else levels.support,
        resistance=None if levels is None else levels.resistance,
        unavailable=tuple(unavailable),
        **fields,
    )


def _reason(name: str, candle_count: int, special_reasons: Mapping[str, str] | None) -> str:
    needed = REQUIRED_CANDLES[name]
    if candle_count < needed:
        return f"needs {needed} candles, have {candle_count}"
    if special_reasons and name in special_reasons:
        return special_reasons[name]
    return "undefined for this data"


def _last(series: FloatArray) -> float:
    return float(series[-1])


def compute_indicators(candles: Candles) -> IndicatorSet:
    """Compute every indicator's latest value from a whole series (see the module docstring)."""
    count = len(candles)
    high, low, close = candles.high, candles.low, candles.close
    values: dict[str, float] = {}

    def ready(name: str) -> bool:
        return count >= REQUIRED_CANDLES[name]

    for period in SMA_PERIODS:
        if ready(f"sma_{period}"):
            values[f"sma_{period}"] = float(close[-period:].sum()) / period
    for period in EMA_PERIODS:
        if ready(f"ema_{period}"):
            values[f"ema_{period}"] = _last(ema(close, period))
    if ready(f"rsi_{RSI_PERIOD}"):
        values[f"rsi_{RSI_PERIOD}"] = _last(rsi(close, RSI_PERIOD))
    if ready("macd"):
        line, signal, histogram = macd(close, *MACD_PERIODS)
        values |= {"macd": _last(line), "macd_signal": _last(signal)}
        values["macd_histogram"] = _last(histogram)
    if ready("bollinger_middle"):
        tail = close[-BOLLINGER_PERIOD:]
        upper, middle, lower = bollinger(tail, BOLLINGER_PERIOD, BOLLINGER_WIDTH)
        values |= {"bollinger_upper": _last(upper), "bollinger_middle": _last(middle)}
        values["bollinger_lower"] = _last(lower)
    if ready(f"atr_{ATR_PERIOD}"):
        values[f"atr_{ATR_PERIOD}"] = _last(atr(high, low, close, ATR_PERIOD))
    if ready("stoch_k"):
        tail_length = REQUIRED_CANDLES["stoch_k"]
        k, d = stochastic(
            high[-tail_length:], low[-tail_length:], close[-tail_length:], *STOCHASTIC_PERIODS
        )
        values |= {"stoch_k": _last(k), "stoch_d": _last(d)}
    if ready("obv"):
        values["obv"] = _last(obv(close, candles.volume))
    special: dict[str, str] = {}
    if ready("vwap"):
        values["vwap"], special["vwap"] = _latest_vwap(candles)
    if ready(f"plus_di_{ADX_PERIOD}"):
        average, plus_di, minus_di = adx(high, low, close, ADX_PERIOD)
        values[f"plus_di_{ADX_PERIOD}"] = _last(plus_di)
        values[f"minus_di_{ADX_PERIOD}"] = _last(minus_di)
        values[f"adx_{ADX_PERIOD}"] = _last(average)
    levels = None
    if ready("support"):
        levels = support_resistance(high, low, close)
    return build_indicator_set(
        candle_count=count,
        open_time=int(candles.open_time[-1]) if count else None,
        close=float(close[-1]) if count else None,
        values=values,
        levels=levels,
        special_reasons=special,
    )


def _latest_vwap(candles: Candles) -> tuple[float, str]:
    """VWAP of the last session and the reason it would be n/a."""
    open_time = candles.open_time
    session_open = int(open_time[-1]) // VWAP_SESSION_MS * VWAP_SESSION_MS
    start = int(np.searchsorted(open_time, session_open))
    if start == 0 and int(open_time[0]) != session_open:
        return math.nan, VWAP_PARTIAL_REASON
    window = slice(start, None)
    value = vwap(
        candles.high[window], candles.low[window], candles.close[window], candles.volume[window]
    )
    return _last(value), VWAP_NO_VOLUME_REASON

