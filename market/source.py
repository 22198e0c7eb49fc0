"""The bridge from a ``FetchSpec`` (what the fetcher coalesces and caches) to the client call.

Also the one rule of which errors say the exchange itself is unhealthy (they count against the
circuit breaker) and which do not (a bad symbol, our own rate limiting).
"""

from __future__ import annotations

from market.binance import BinanceClient
from market.errors import ExchangeUnavailable, MalformedResponse
from messages.market import FetchSpec

__all__ = ["BinanceSource", "is_upstream_failure"]


class BinanceSource:
    """Runs one ``FetchSpec`` against a ``BinanceClient``; one per fetch worker."""

    def __init__(self, client: BinanceClient) -> None:
        self.client = client

    def call(self, spec: FetchSpec) -> object:
        client = self.client
        match spec.kind:
            case "klines":
                return client.klines(spec.symbol, spec.interval, limit=spec.limit or 500)
            case "ticker_24h":
                return client.ticker_24h(spec.symbol)
            case "tickers_24h":
                return client.tickers_24h(spec.symbols)
            case "prices":
                return client.ticker_prices(spec.symbols)
            case "exchange_info":
                return client.exchange_info()
        raise ValueError(f"unknown fetch kind {spec.kind!r}")

    def close(self) -> None:
        self.client.close()


def is_upstream_failure(error: Exception) -> bool:
    """True for errors that mean the exchange is failing (5xx, timeouts, refused, garbage)."""
    return isinstance(error, (ExchangeUnavailable, MalformedResponse))
