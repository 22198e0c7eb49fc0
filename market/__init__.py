"""Market data: the Binance client and the pure analysis it feeds (indicators, levels, trends).

Submodules are imported directly (``from market.binance import BinanceClient``) so that
importing the package stays cheap for code that needs only one part of it.
"""

from __future__ import annotations

__all__: list[str] = []
