"""Support and resistance levels from swing pivots, by one stated rule.

Levels are where price turned before, so the rule looks for turning points and groups the
ones that sit at about the same price:

1. **Swing pivots.** Candle ``i`` is a swing high when its high is above the highs of the
   ``SWING_WINDOW`` (5) candles before it and not below those of the 5 after it (a flat top
   counts once, at its first candle); a swing low mirrors this with lows. A pivot therefore
   needs 5 later candles and is confirmed 5 candles after it happened.
2. **Lookback.** Only pivots among the last ``LEVEL_LOOKBACK`` (200) candles count.
3. **Clustering.** The pivot prices (swing highs and swing lows together: old resistance can
   become support) are sorted; a price joins the current cluster when it is within
   ``LEVEL_TOLERANCE`` (0.5 %) above the cluster's lowest price, otherwise it opens a new one.
   A cluster's level is the mean of its prices.
4. **Selection.** Support is the levels strictly below the last close, resistance the levels
   strictly above it, each nearest first and at most ``MAX_LEVELS`` (3).

With fewer than ``2 * SWING_WINDOW + 1`` candles no pivot can exist and the levels are "n/a";
with enough candles but no level on one side, that side is an empty tuple.

``support_resistance`` evaluates the rule on a series with numpy; ``SwingTracker`` keeps the
same rule up to date one candle at a time for the incremental indicator state.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from market.candles import FloatArray
from market.indicators import rolling_max, rolling_min

__all__ = [
    "LEVEL_LOOKBACK",
    "LEVEL_TOLERANCE",
    "MAX_LEVELS",
    "SWING_WINDOW",
    "Levels",
    "SwingTracker",
    "cluster_levels",
    "nearest_levels",
    "support_resistance",
]

SWING_WINDOW = 5
LEVEL_LOOKBACK = 200
LEVEL_TOLERANCE = 0.005
MAX_LEVELS = 3


class Levels(NamedTuple):
    """Support levels below and resistance levels above the last close, nearest first."""

    support: tuple[float, ...]
    resistance: tuple[float, ...]


def cluster_levels(pivot_prices: Iterable[float]) -> list[float]:
    """Group pivot prices into levels, ascending (rule 3)."""
    levels: list[float] = []
    cluster: list[float] = []
    for price in sorted(pivot_prices):
        if cluster and price > cluster[0] * (1.0 + LEVEL_TOLERANCE):
            levels.append(sum(cluster) / len(cluster))
            cluster = []
        cluster.append(price)
    if cluster:
        levels.append(sum(cluster) / len(cluster))
    return levels


def nearest_levels(levels: list[float], close: float) -> Levels:
    """Pick the levels nearest to ``close`` on each side from ascending ``levels`` (rule 4)."""
    below = bisect.bisect_left(levels, close)
    above = bisect.bisect_right(levels, close)
    support = levels[max(0, below - MAX_LEVELS) : below]
    return Levels(tuple(reversed(support)), tuple(levels[above : above + MAX_LEVELS]))


def _pivot_prices(values: FloatArray, extreme: FloatArray, *, tops: bool) -> FloatArray:
    """Prices of the swing highs (``tops``) or lows among ``values`` (rule 1).

    ``extreme`` is the rolling max (tops) or min of ``values`` over SWING_WINDOW candles.
    """
    window = SWING_WINDOW
    centre = values[window : values.shape[0] - window]
    before = extreme[: centre.shape[0]]
    after = extreme[window + 1 : window + 1 + centre.shape[0]]
    if tops:
        return centre[(centre > before) & (centre >= after)]
    return centre[(centre < before) & (centre <= after)]


def support_resistance(high: FloatArray, low: FloatArray, close: FloatArray) -> Levels | None:
    """Apply the module's rule to a series; None ("n/a") when no pivot can exist yet."""
    if close.shape[0] < 2 * SWING_WINDOW + 1:
        return None
    start = max(0, close.shape[0] - LEVEL_LOOKBACK - SWING_WINDOW)
    high, low = high[start:], low[start:]
    tops = _pivot_prices(high, rolling_max(high, SWING_WINDOW), tops=True)
    bottoms = _pivot_prices(low, rolling_min(low, SWING_WINDOW), tops=False)
    levels = cluster_levels(np.concatenate((tops, bottoms)).tolist())
    return nearest_levels(levels, float(close[-1]))


class SwingTracker:
    """The same rule, updated one closed candle at a time in O(1) amortised time.

    It keeps the last ``2 * SWING_WINDOW + 1`` highs and lows and the pivots still inside the
    lookback (a bounded number, independent of the series length), and re-clusters them only
    when a pivot enters or leaves.
    """

    __slots__ = ("_count", "_highs", "_levels", "_lows", "_pivots")

    def __init__(self) -> None:
        span = 2 * SWING_WINDOW + 1
        self._count = 0
        self._highs: deque[float] = deque(maxlen=span)
        self._lows: deque[float] = deque(maxlen=span)
        self._pivots: deque[tuple[int, float]] = deque()
        self._levels: list[float] | None = None
        """Clustered levels of the current pivots; None when the pivots changed since."""

    @classmethod
    def from_series(cls, high: FloatArray, low: FloatArray) -> SwingTracker:
        """Build a tracker equivalent to having pushed every candle of the series."""
        tracker = cls()
        start = max(0, high.shape[0] - LEVEL_LOOKBACK - SWING_WINDOW)
        # Candles before the lookback cannot contribute a pivot any more; only the count matters.
        tracker._count = start
        for candle_high, candle_low in zip(high[start:].tolist(), low[start:].tolist()):
            tracker.push(candle_high, candle_low)
        return tracker

    def push(self, high: float, low: float) -> None:
        """Take in the next closed candle and confirm the pivot SWING_WINDOW candles back."""
        self._highs.append(high)
        self._lows.append(low)
        self._count += 1
        if len(self._highs) == self._highs.maxlen:
            centre = self._count - 1 - SWING_WINDOW
            highs, lows = list(self._highs), list(self._lows)
            top, bottom = highs[SWING_WINDOW], lows[SWING_WINDOW]
            if top > max(highs[:SWING_WINDOW]) and top >= max(highs[SWING_WINDOW + 1 :]):
                self._pivots.append((centre, top))
                self._levels = None
            if bottom < min(lows[:SWING_WINDOW]) and bottom <= min(lows[SWING_WINDOW + 1 :]):
                self._pivots.append((centre, bottom))
                self._levels = None
        oldest_kept = self._count - LEVEL_LOOKBACK
        while self._pivots and self._pivots[0][0] < oldest_kept:
            self._pivots.popleft()
            self._levels = None

    def levels(self, close: float) -> Levels | None:
        """Levels around ``close``; None ("n/a") until a pivot could have been confirmed."""
        if self._count < 2 * SWING_WINDOW + 1:
            return None
        if self._levels is None:
            self._levels = cluster_levels(price for _, price in self._pivots)
        return nearest_levels(self._levels, close)
