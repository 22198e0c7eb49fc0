"""Full-series technical indicators as numpy kernels that reproduce TA-Lib's numbers.

Users compare the bot's numbers with their charting tools, and those mostly follow TA-Lib, so the
kernels copy TA-Lib's conventions, warm-up included, rather than inventing their own:

* every kernel returns an array as long as its input, NaN while the indicator warms up
  (TA-Lib's "lookback"); a series shorter than the warm-up gives all NaN, never an error;
* EMA is seeded with the SMA of its first ``period`` values (lookback ``period - 1``);
* RSI, ATR and ADX use Wilder smoothing seeded with a plain average (RSI/ATR) or sum (ADX's
  directional movement and true range) of the first values, with no extra unstable period;
* MACD seeds its fast EMA at the slow EMA's first output, so all three outputs start at index
  ``slow + signal - 2`` (33 for 12/26/9), as TA-Lib's ``MACD`` does;
* Bollinger uses the population standard deviation; Stochastic smooths with SMAs;
  OBV starts at the first candle's volume;
* ratios over a zero range are 0 as in TA-Lib (flat RSI and %K), and ADX keeps its last value
  while the directional index is undefined.

VWAP is not in TA-Lib; here it is the cumulative typical-price * volume over the cumulative
volume of each session (see ``vwap``).

Recursive filters (EMA, Wilder) come from ``market.smoothing``, which evaluates them in
vectorised closed form; everything else is plain numpy, with no Python loop per candle.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from market.candles import FloatArray, IntArray
from market.smoothing import Smoothing, recurrence, smooth

__all__ = [
    "Adx",
    "Bollinger",
    "DirectionalSums",
    "Macd",
    "Stochastic",
    "adx",
    "adx_from_sums",
    "atr",
    "bollinger",
    "directional_movement",
    "directional_sums",
    "ema",
    "macd",
    "obv",
    "rolling_max",
    "rolling_min",
    "rsi",
    "sma",
    "stochastic",
    "true_range",
    "vwap",
]


class Macd(NamedTuple):
    """MACD line (fast EMA - slow EMA), its signal EMA and the histogram (line - signal)."""

    line: FloatArray
    signal: FloatArray
    histogram: FloatArray


class Bollinger(NamedTuple):
    """Bollinger bands: SMA middle band and the bands ``width`` standard deviations away."""

    upper: FloatArray
    middle: FloatArray
    lower: FloatArray


class Stochastic(NamedTuple):
    """Slow stochastic: %K (SMA of the fast %K) and %D (SMA of %K)."""

    k: FloatArray
    d: FloatArray


class Adx(NamedTuple):
    """Average directional index with the directional indicators it is built from."""

    adx: FloatArray
    plus_di: FloatArray
    minus_di: FloatArray


class DirectionalSums(NamedTuple):
    """Wilder-smoothed sums of +DM, -DM and true range (ADX's inner state)."""

    plus_dm: FloatArray
    minus_dm: FloatArray
    true_range: FloatArray


def _nans(length: int) -> FloatArray:
    return np.full(length, np.nan)


def sma(values: FloatArray, period: int) -> FloatArray:
    """Simple moving average over ``period`` values."""
    length = values.shape[0]
    if length < period:
        return _nans(length)
    totals = np.cumsum(values)
    out = np.empty(length)
    out[: period - 1] = np.nan
    out[period - 1] = totals[period - 1]
    np.subtract(totals[period:], totals[:-period], out=out[period:])
    out[period - 1 :] /= period
    return out


def ema(values: FloatArray, period: int) -> FloatArray:
    """Exponential moving average, k = 2 / (period + 1), seeded with the SMA of the first values."""
    return smooth(values, Smoothing.ema(period))


def rsi(close: FloatArray, period: int = 14) -> FloatArray:
    """Wilder's relative strength index (0..100); 0 when the window never moved, like TA-Lib."""
    length = close.shape[0]
    out = _nans(length)
    if length <= period:
        return out
    change = np.diff(close)
    smoothing = Smoothing.wilder_average(period)
    average_gain = smooth(np.maximum(change, 0.0), smoothing)[period - 1 :]
    average_loss = smooth(np.maximum(-change, 0.0), smoothing)[period - 1 :]
    total = average_gain + average_loss
    ratio = np.divide(average_gain, total, out=np.zeros_like(total), where=total != 0.0)
    out[period:] = ratio * 100.0
    return out


def macd(close: FloatArray, fast: int = 12, slow: int = 26, signal: int = 9) -> Macd:
    """MACD as TA-Lib computes it: the fast EMA is seeded where the slow EMA starts."""
    length = close.shape[0]
    first_output = slow + signal - 2
    if length <= first_output:
        return Macd(_nans(length), _nans(length), _nans(length))
    slow_ema = ema(close, slow)[slow - 1 :]
    fast_ema = ema(close[slow - fast :], fast)[fast - 1 :]
    raw_line = fast_ema - slow_ema
    line = _nans(length)
    signal_line = _nans(length)
    signal_line[slow - 1 :] = ema(raw_line, signal)
    line[first_output:] = raw_line[signal - 1 :]
    return Macd(line, signal_line, line - signal_line)


def bollinger(close: FloatArray, period: int = 20, width: float = 2.0) -> Bollinger:
    """Bollinger bands around the SMA, using the population standard deviation.

    The spread comes from a rolling sum of squared deviations updated Welford-style, which
    avoids the cancellation of the textbook sum-of-squares formula at high prices.
    """
    length = close.shape[0]
    if length < period:
        return Bollinger(_nans(length), _nans(length), _nans(length))
    middle = sma(close, period)
    mean = middle[period - 1 :]
    squares = np.empty(length - period + 1)
    centred = close[:period] - mean[0]
    squares[0] = centred @ centred
    entering, leaving = close[period:], close[:-period]
    step = (entering - leaving) * (entering - mean[1:] + leaving - mean[:-1])
    np.cumsum(step, out=squares[1:])
    squares[1:] += squares[0]
    deviation = _nans(length)
    deviation[period - 1 :] = np.sqrt(np.maximum(squares, 0.0) / period)
    deviation *= width
    return Bollinger(middle + deviation, middle, middle - deviation)


def true_range(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """True range; NaN for the first candle, which has no previous close (as in TA-Lib)."""
    out = np.empty(close.shape[0])
    out[:1] = np.nan
    previous_close = close[:-1]
    np.subtract(
        np.maximum(high[1:], previous_close), np.minimum(low[1:], previous_close), out=out[1:]
    )
    return out


def atr(high: FloatArray, low: FloatArray, close: FloatArray, period: int = 14) -> FloatArray:
    """Wilder's average true range, first value at index ``period``."""
    out = np.empty(close.shape[0])
    out[:1] = np.nan
    out[1:] = smooth(true_range(high, low, close)[1:], Smoothing.wilder_average(period))
    return out


def _rolling_extreme(values: FloatArray, period: int, pick: np.ufunc) -> FloatArray:
    # Doubling spans: after k steps each entry covers 2^k values, and one overlapping step
    # finishes any period, so a 14-wide window costs 4 vectorised passes instead of 14.
    extreme = values
    span = 1
    while span * 2 <= period:
        extreme = pick(extreme[:-span], extreme[span:])
        span *= 2
    if span < period:
        extreme = pick(extreme[: span - period], extreme[period - span :])
    return extreme


def rolling_max(values: FloatArray, period: int) -> FloatArray:
    """Maximum of each run of ``period`` values; entry j covers values[j : j + period]."""
    return _rolling_extreme(values, period, np.maximum) if values.shape[0] >= period else _nans(0)


def rolling_min(values: FloatArray, period: int) -> FloatArray:
    """Minimum of each run of ``period`` values; entry j covers values[j : j + period]."""
    return _rolling_extreme(values, period, np.minimum) if values.shape[0] >= period else _nans(0)


def stochastic(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    k_period: int = 14,
    k_slowing: int = 3,
    d_period: int = 3,
) -> Stochastic:
    """Slow stochastic with SMA smoothing (TA-Lib ``STOCH`` with both MA types = SMA).

    As in TA-Lib, %K is reported only from where %D exists.
    """
    length = close.shape[0]
    first_output = k_period + k_slowing + d_period - 3
    if length <= first_output:
        return Stochastic(_nans(length), _nans(length))
    highest = rolling_max(high, k_period)
    lowest = rolling_min(low, k_period)
    span = highest - lowest
    fast_k = np.divide(
        close[k_period - 1 :] - lowest, span, out=np.zeros_like(span), where=span != 0.0
    )
    fast_k *= 100.0
    slow_k = sma(fast_k, k_slowing)[k_slowing - 1 :]
    slow_d = sma(slow_k, d_period)
    k = _nans(length)
    d = _nans(length)
    k[first_output:] = slow_k[d_period - 1 :]
    d[first_output:] = slow_d[d_period - 1 :]
    return Stochastic(k, d)


def obv(close: FloatArray, volume: FloatArray) -> FloatArray:
    """On-balance volume; the first value is the first candle's volume, as in TA-Lib."""
    out = np.empty(close.shape[0])
    if close.shape[0] == 0:
        return out
    out[0] = volume[0]
    np.multiply(np.sign(np.diff(close)), volume[1:], out=out[1:])
    return np.cumsum(out, out=out)


def vwap(
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
    session: IntArray | None = None,
) -> FloatArray:
    """Volume-weighted average of the typical price (h + l + c) / 3, anchored per session.

    ``session`` labels each candle's session (e.g. ``open_time // 86_400_000`` for UTC days);
    the sums restart whenever the label changes. Without it the whole series is one session.
    NaN while a session has traded no volume.
    """
    weighted = (high + low + close) / 3.0 * volume
    price_volume = np.cumsum(weighted)
    total_volume = np.cumsum(volume)
    if session is not None and session.shape[0] > 1:
        positions = np.arange(session.shape[0])
        opens_session = np.concatenate(([True], session[1:] != session[:-1]))
        session_start = np.maximum.accumulate(np.where(opens_session, positions, 0))
        before = session_start - 1
        # Running totals minus those reached before the session began; the round-off this
        # adds is relative to the series total, far below the tolerances that matter here.
        price_volume = price_volume - np.where(before >= 0, price_volume[before], 0.0)
        total_volume = total_volume - np.where(before >= 0, total_volume[before], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total_volume > 0.0, price_volume / total_volume, np.nan)


def directional_movement(high: FloatArray, low: FloatArray) -> tuple[FloatArray, FloatArray]:
    """+DM and -DM from the second candle on (length n - 1); ties count as neither."""
    up = high[1:] - high[:-1]
    down = low[:-1] - low[1:]
    # A move counts only when positive and larger than the opposite one; max(move, 0) folds
    # the "positive" test into the value.
    plus_dm = np.where(up > down, np.maximum(up, 0.0), 0.0)
    minus_dm = np.where(down > up, np.maximum(down, 0.0), 0.0)
    return plus_dm, minus_dm


def directional_sums(
    high: FloatArray, low: FloatArray, close: FloatArray, period: int = 14
) -> DirectionalSums:
    """Wilder sums of +DM, -DM and true range, first value at index ``period - 1``."""
    length = close.shape[0]
    if length < period:
        return DirectionalSums(_nans(length), _nans(length), _nans(length))
    plus_dm, minus_dm = directional_movement(high, low)
    smoothing = Smoothing.wilder_sum(period)
    sums = DirectionalSums(np.empty(length), np.empty(length), np.empty(length))
    for out, moves in zip(sums, (plus_dm, minus_dm, true_range(high, low, close)[1:])):
        out[0] = np.nan
        out[1:] = smooth(moves, smoothing)
    return sums


def adx_from_sums(sums: DirectionalSums, period: int = 14) -> Adx:
    """+DI, -DI (from index ``period``) and ADX (from index ``2 * period - 1``) from the sums."""
    length = sums.true_range.shape[0]
    plus_di, minus_di, average = _nans(length), _nans(length), _nans(length)
    if length <= period:
        return Adx(average, plus_di, minus_di)
    plus, minus, ranged = (part[period:] for part in sums)
    if (ranged != 0.0).all():
        np.divide(plus, ranged, out=plus_di[period:])
        np.divide(minus, ranged, out=minus_di[period:])
    else:
        has_range = ranged != 0.0
        plus_di[period:] = np.divide(plus, ranged, out=np.zeros_like(plus), where=has_range)
        minus_di[period:] = np.divide(minus, ranged, out=np.zeros_like(minus), where=has_range)
    plus_di *= 100.0
    minus_di *= 100.0
    # DX = 100 |+DI - -DI| / (+DI + -DI); the true range cancels, so use the sums directly.
    directional = plus + minus
    defined = directional != 0.0
    index = np.abs(plus - minus)
    np.divide(index, directional, out=index, where=defined)
    index *= 100.0
    first = 2 * period - 1
    if length > first:
        # Undefined DX counts as 0 in the seed average and is skipped afterwards (TA-Lib).
        seed = float(np.where(defined[:period], index[:period], 0.0).sum()) / period
        average[first] = seed
        kept = defined[period:]
        later = index[period:]
        if kept.all():
            average[first + 1 :] = recurrence(1.0 - 1.0 / period, later / period, seed)
        else:
            moved = recurrence(1.0 - 1.0 / period, later[kept] / period, seed)
            average[first + 1 :] = np.concatenate(([seed], moved))[np.cumsum(kept)]
    return Adx(average, plus_di, minus_di)


def adx(high: FloatArray, low: FloatArray, close: FloatArray, period: int = 14) -> Adx:
    """Wilder's ADX with +DI/-DI, TA-Lib style (ADX from index 27 for period 14)."""
    return adx_from_sums(directional_sums(high, low, close, period), period)
