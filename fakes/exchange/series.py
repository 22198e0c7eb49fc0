"""Deterministic synthetic candles for the exchange simulator, generated without stored state.

``SyntheticSeries`` is a geometric random walk whose log price at any whole second is a pure
function of ``(seed, symbol, second)``. Random access is what makes this work: the walk is cut
into eras of 2**22 s (about 48.5 days); each era boundary gets an independent draw around the
symbol's price level, and the inside of an era is filled in by Brownian-bridge midpoint
displacement, one hashed normal per midpoint. Any second is reached in 22 halvings, so any
window of any interval is generated on demand, identically across restarts, and the process is
locally an exact Brownian motion while staying near a realistic price for ever (its stationary
spread is about half a year's volatility).

Because every interval reads the same path, a candle's open and close are the same at every
interval (the 1h close is the close of its last 1m candle) and the ticker price equals the
latest close everywhere. Highs and lows come from the path sampled at the quarters of the
candle plus a seeded wick, and volumes are seeded per candle, so those two are *not* additive
across intervals: a 1h high need not bound every 1m high inside it.

The candle that contains "now" is still open: its close, high, low and volume are those of the
elapsed part only, so candles advance as the (injectable) clock moves. The helpers shared with
replayed series (``build_candles``, ``snap``, ``interval_bounds``) live here too.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from fakes.exchange.catalog import (
    INTERVALS,
    SYNTHETIC_LISTED_AT_MS,
    Interval,
    SymbolSpec,
    decimals_of,
)

__all__ = [
    "Candle",
    "FloatArray",
    "IntArray",
    "Series",
    "SyntheticSeries",
    "build_candles",
    "interval_bounds",
    "snap",
]

_ERA_BITS = 22
_ERA_SECONDS = 1 << _ERA_BITS
_SECONDS_PER_YEAR = 365.25 * 86_400
_AVERAGE_TRADE_QUOTE = 300.0
"""Typical trade size in the quote asset; turns a candle's turnover into a trade count."""
_SAMPLE_FRACTIONS = (0.0, 0.25, 0.5, 0.75)
_WICK_SCALE = 0.3
_VOLUME_NOISE = 0.35

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, slots=True, kw_only=True)
class Candle:
    """One kline with numeric fields; the API layer formats it for the wire."""

    open_time: int
    close_time: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    quote_volume: float
    trades: int
    taker_buy_base: float
    taker_buy_quote: float


class Series(Protocol):
    """What the API layer needs from a symbol's price history."""

    @property
    def spec(self) -> SymbolSpec:
        """The symbol this series prices."""

    @property
    def listed_at_ms(self) -> int:
        """No candle opens before this time."""

    @property
    def stats_interval(self) -> Interval:
        """Finest interval served; rolling 24 h statistics are built from it."""

    def supports(self, interval: Interval) -> bool:
        """Whether klines of this interval exist (False means an empty answer)."""

    def candles(self, interval: Interval, first: int, last: int, now_ms: int) -> list[Candle]:
        """Candles with indices ``first..last`` inclusive as seen at ``now_ms``."""

    def price_at(self, time_ms: int) -> float:
        """Last traded price at ``time_ms``, on the tick grid."""


def _stable_key(*parts: object) -> np.uint64:
    """A 64-bit key from text, stable across processes (``hash()`` is salted per process)."""
    digest = hashlib.blake2b("/".join(map(str, parts)).encode(), digest_size=8).digest()
    return np.uint64(int.from_bytes(digest, "big"))


def _mix64(values: NDArray[np.uint64]) -> NDArray[np.uint64]:
    # splitmix64's finaliser: cheap, vectorised, and good enough to decorrelate neighbours.
    values = values + np.uint64(0x9E3779B97F4A7C15)
    values = (values ^ (values >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    values = (values ^ (values >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


def _hashed_normals(key: np.uint64, indices: IntArray) -> FloatArray:
    """Standard normal draws that depend only on ``(key, index)``."""
    hashed = _mix64(_mix64(np.atleast_1d(indices).astype(np.uint64)) ^ key)
    uniform_a = ((hashed >> np.uint64(32)).astype(np.float64) + 0.5) / 2.0**32
    uniform_b = ((hashed & np.uint64(0xFFFFFFFF)).astype(np.float64) + 0.5) / 2.0**32
    normals: FloatArray = np.sqrt(-2.0 * np.log(uniform_a)) * np.cos(2.0 * math.pi * uniform_b)
    return normals


def interval_bounds(interval: Interval, first: int, last: int) -> tuple[IntArray, IntArray]:
    """Open times of candles ``first..last`` and of the candle after each."""
    if interval.length_ms is not None:
        opens = np.arange(first, last + 1, dtype=np.int64) * interval.length_ms + interval.offset_ms
        return opens, opens + interval.length_ms
    edges = np.array([interval.open_ms(index) for index in range(first, last + 2)], dtype=np.int64)
    return edges[:-1], edges[1:]


class SyntheticSeries:
    """A seeded random walk around ``spec.price`` with ``spec.annual_volatility``."""

    def __init__(self, spec: SymbolSpec, *, seed: int) -> None:
        self._spec = spec
        self._seed = seed
        self._path_key = _stable_key(seed, spec.symbol, "path")
        self._sigma = spec.annual_volatility / math.sqrt(_SECONDS_PER_YEAR)
        self._stationary_sd = self._sigma * math.sqrt(_ERA_SECONDS / 2)
        self._log_level = math.log(spec.price)

    @property
    def spec(self) -> SymbolSpec:
        return self._spec

    @property
    def listed_at_ms(self) -> int:
        return SYNTHETIC_LISTED_AT_MS

    @property
    def stats_interval(self) -> Interval:
        return INTERVALS["1m"]

    def supports(self, interval: Interval) -> bool:
        return True

    def log_prices(self, seconds: IntArray) -> FloatArray:
        """Model log price at each whole epoch second (before tick rounding)."""
        unique_seconds, positions = np.unique(
            np.asarray(seconds, dtype=np.int64), return_inverse=True
        )
        era_start = (unique_seconds >> _ERA_BITS) << _ERA_BITS
        target = unique_seconds - era_start
        low = np.zeros_like(target)
        high = np.full_like(target, _ERA_SECONDS)
        low_value = self._anchor(era_start)
        high_value = self._anchor(era_start + _ERA_SECONDS)
        for _ in range(_ERA_BITS):
            span = high - low
            middle = low + span // 2
            noise = _hashed_normals(self._path_key, era_start + middle)
            middle_value = (low_value + high_value) / 2 + self._sigma * np.sqrt(span) / 2 * noise
            go_left = target < middle
            high = np.where(go_left, middle, high)
            high_value = np.where(go_left, middle_value, high_value)
            low = np.where(go_left, low, middle)
            low_value = np.where(go_left, low_value, middle_value)
        result: FloatArray = low_value[positions.reshape(-1)]
        return result

    def _anchor(self, era_start: IntArray) -> FloatArray:
        # Index era_start is never a bridge midpoint, so its draw is independent of the bridge's.
        anchors: FloatArray = self._log_level + self._stationary_sd * _hashed_normals(
            self._path_key, era_start
        )
        return anchors

    def price_at(self, time_ms: int) -> float:
        log_price = self.log_prices(np.array([time_ms // 1000], dtype=np.int64))
        return float(snap(np.exp(log_price), self._spec.tick_size)[0])

    def candles(self, interval: Interval, first: int, last: int, now_ms: int) -> list[Candle]:
        if last < first:
            return []
        opens, next_opens = interval_bounds(interval, first, last)
        ends = np.minimum(next_opens, now_ms)
        samples = [
            np.minimum(opens + ((next_opens - opens) * f).astype(np.int64), ends)
            for f in _SAMPLE_FRACTIONS
        ]
        samples.append(ends)
        grid = np.stack(samples, axis=1)
        log_grid = self.log_prices(grid.reshape(-1) // 1000).reshape(grid.shape)
        elapsed_s = np.maximum(ends - opens, 0) / 1000.0
        salt = interval.name
        wick_up = _hashed_normals(
            _stable_key(self._seed, self._spec.symbol, salt, "wick-up"), opens
        )
        wick_down = _hashed_normals(
            _stable_key(self._seed, self._spec.symbol, salt, "wick-down"), opens
        )
        volume_noise = _hashed_normals(
            _stable_key(self._seed, self._spec.symbol, salt, "volume"), opens
        )
        taker_noise = _hashed_normals(
            _stable_key(self._seed, self._spec.symbol, salt, "taker"), opens
        )
        wick_scale = _WICK_SCALE * self._sigma * np.sqrt(elapsed_s)
        highs = np.exp(log_grid.max(axis=1) + wick_scale * np.abs(wick_up))
        lows = np.exp(log_grid.min(axis=1) - wick_scale * np.abs(wick_down))
        base_per_second = self._spec.daily_quote_volume / self._spec.price / 86_400
        lognormal_mean_one = np.exp(_VOLUME_NOISE * volume_noise - _VOLUME_NOISE**2 / 2)
        volumes = base_per_second * elapsed_s * lognormal_mean_one
        taker_share = np.clip(0.5 + 0.08 * taker_noise, 0.2, 0.8)
        ohlc = np.stack([np.exp(log_grid[:, 0]), highs, lows, np.exp(log_grid[:, -1])], axis=1)
        return build_candles(self._spec, opens, next_opens, ohlc, volumes, taker_share)


def snap(values: FloatArray, step: float) -> FloatArray:
    """Round to a multiple of ``step``: the one rounding rule for every served number."""
    snapped: FloatArray = np.round(np.round(values / step) * step, decimals_of(step))
    return snapped


def build_candles(
    spec: SymbolSpec,
    opens_ms: IntArray,
    next_opens_ms: IntArray,
    ohlc: FloatArray,
    volumes: FloatArray,
    taker_share: FloatArray | float,
) -> list[Candle]:
    """Candles from columns: ``ohlc`` has shape (n, 4), volumes are in the base asset."""
    # Rounding is monotone, so low <= open, close <= high survives it.
    prices = snap(ohlc, spec.tick_size)
    volume = snap(volumes, spec.step_size)
    quote_volume = volume * prices.mean(axis=1)
    opens, highs, lows, closes = prices.T.tolist()
    trades = (quote_volume / _AVERAGE_TRADE_QUOTE).astype(np.int64).tolist()
    taker_base = (volume * taker_share).tolist()
    taker_quote = (quote_volume * taker_share).tolist()
    return [
        Candle(
            open_time=open_ms,
            close_time=next_open_ms - 1,
            open=opens[row],
            high=highs[row],
            low=lows[row],
            close=closes[row],
            volume=base,
            quote_volume=quote,
            trades=trades[row],
            taker_buy_base=taker_base[row],
            taker_buy_quote=taker_quote[row],
        )
        for row, (open_ms, next_open_ms, base, quote) in enumerate(
            zip(
                opens_ms.tolist(),
                next_opens_ms.tolist(),
                volume.tolist(),
                quote_volume.tolist(),
                strict=True,
            )
        )
    ]
