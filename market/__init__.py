"""Market data: the Binance client, its exchange simulator and the pure analysis they feed.

Submodules are imported directly (``from fakes.exchange.simulator import ExchangeSimulator``) so that
importing the package stays cheap for code that needs only one part of it.
"""

from __future__ import annotations

__all__: list[str] = []
