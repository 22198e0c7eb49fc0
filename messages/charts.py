"""Messages of the chart conversation: a render request and the cache key of its picture.

The chart actor does not fetch: the caller already holds the closed candles (it fetched them for
the analysis), passes them along and caches the PNG under a :class:`ChartKey`. The key names
the last candle, so the same picture is drawn once per candle and interval, whoever asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from market.candles import Candles

__all__ = ["ChartKey", "RenderChart"]


@dataclass(frozen=True, slots=True)
class ChartKey:
    """Cache key of a rendered chart (stored in the cache's CHARTS layer)."""

    symbol: str
    """Exchange symbol, e.g. BTCUSDT."""
    interval: str
    """Kline interval; the cache derives the chart's freshness from it."""
    last_open_time: int
    """Open time (ms, UTC) of the last candle drawn: a new candle means a new picture."""


@dataclass(frozen=True, slots=True)
class RenderChart:
    """Ask the chart actor for a PNG of these candles; answered with ``bytes``.

    Fails with ``chat.charts.ChartUnavailable`` when no chart can be drawn (too few candles,
    charts paused while memory is low, matplotlib missing); the caller then sends text.
    """

    symbol: str
    """Exchange symbol shown in the title."""
    interval: str
    """Kline interval shown in the title and used for the time labels."""
    candles: Candles
    """Closed candles, oldest first (read-only arrays); the last 120 are drawn."""
    request_id: str | None = None
    """Correlates logs of one user request."""
