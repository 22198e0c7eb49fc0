"""A simulator symbol whose price the test sets: flat candles at one price, moved on demand.

Why: an alert crossing across processes needs a price that moves when the test says so, while
the bots run on the real clock in other processes. The synthetic walk moves on its own and a
replay is pinned to time; this series serves every interval as flat candles at ``price`` and
``set_price`` moves it for every later request (klines, tickers, average price alike).
"""

from __future__ import annotations

import threading

import numpy as np

from fakes.exchange.catalog import INTERVALS, SYNTHETIC_LISTED_AT_MS, Interval, SymbolSpec
from fakes.exchange.series import Candle, build_candles, interval_bounds

__all__ = ["PinnedSeries", "pinned_spec"]


def pinned_spec(base: str, price: float, *, tick_size: float = 0.01) -> SymbolSpec:
    """``<base>USDT`` at ``price``; ``price`` only sets the volume scale afterwards."""
    return SymbolSpec(symbol=f"{base}USDT", base_asset=base, quote_asset="USDT", price=price,
                      annual_volatility=0.0, tick_size=tick_size, step_size=0.001,
                      daily_quote_volume=1.0e6)


class PinnedSeries:
    """Serves ``price`` (settable, thread-safe) as every candle's open, high, low and close."""

    def __init__(self, spec: SymbolSpec) -> None:
        self._spec = spec
        self._lock = threading.Lock()
        self._price = spec.price

    @property
    def spec(self) -> SymbolSpec:
        return self._spec

    @property
    def listed_at_ms(self) -> int:
        return SYNTHETIC_LISTED_AT_MS

    @property
    def stats_interval(self) -> Interval:
        return INTERVALS["1m"]

    @property
    def price(self) -> float:
        with self._lock:
            return self._price

    def set_price(self, price: float) -> None:
        """Every request from now on sees ``price``."""
        if price <= 0:
            raise ValueError(f"a price must be positive, not {price}")
        with self._lock:
            self._price = price

    def supports(self, interval: Interval) -> bool:
        return True

    def candles(self, interval: Interval, first: int, last: int, now_ms: int) -> list[Candle]:
        if last < first:
            return []
        opens, next_opens = interval_bounds(interval, first, last)
        ohlc = np.full((len(opens), 4), self.price, dtype=np.float64)
        volumes = np.ones(len(opens), dtype=np.float64)
        return build_candles(self._spec, opens, next_opens, ohlc, volumes, 0.5)

    def price_at(self, time_ms: int) -> float:
        return self.price
