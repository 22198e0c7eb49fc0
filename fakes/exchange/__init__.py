"""The exchange simulator: Binance Spot market data on loopback, with faults on demand.

``simulator`` is the server and its command line (``python bot.py exchange-sim``); ``api`` and
``params`` answer the endpoints, ``catalog``, ``series``, ``replay`` and ``market`` make the
candles (real ones from ``data/``), ``faults`` puts faults and rate limits on the wire. See
docs/exchange-simulator.md.
"""

from __future__ import annotations

__all__: list[str] = []
