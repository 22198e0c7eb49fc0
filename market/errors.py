"""Errors raised on purpose by the market package.

Hierarchy (extends ``core.errors``)::

    BotError
    └── MarketError                 market.errors: anything about market data
        └── InvalidCandles          candle data breaks an invariant (shape, finiteness, order)

Errors carry their data as attributes so callers never parse messages.
"""

from __future__ import annotations

from core.errors import BotError

__all__ = ["InvalidCandles", "MarketError"]


class MarketError(BotError):
    """Base class of the market package's errors."""


class InvalidCandles(MarketError):
    """Candle data was rejected; ``index`` is the first offending row when one is to blame."""

    def __init__(self, reason: str, index: int | None = None) -> None:
        self.reason = reason
        self.index = index
        where = "" if index is None else f" (row {index})"
        super().__init__(f"invalid candles{where}: {reason}")
