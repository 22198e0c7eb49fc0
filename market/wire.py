"""Exchange answers to and from the JSON kept in the shared (Redis) response layer.

Why JSON in Binance's own shapes, never pickle: what another instance wrote to Redis is
untrusted input (anyone who can write to that Redis could otherwise run code in every bot), so
it is read back through the same ``from_json`` validators as an answer from the exchange: a
garbled entry is a ``MalformedResponse``, never a wrong number. Klines go back to Binance's rows
(open time, OHLCV, close time) and whether the last candle is still open is judged again when
the entry is read, against the reader's clock.

Only the kinds that many users ask for are shared (``SHARED_KINDS``): exchangeInfo is fetched
once an hour per instance and feeds the weight limit of the instance that reads it, so each
instance keeps fetching its own.
"""

from __future__ import annotations

import hashlib
import json

from market.errors import MalformedResponse
from market.models import Klines, PriceTicker, Ticker24h
from messages.market import FetchSpec

__all__ = ["SHARED_KINDS", "decode", "encode", "spec_hash"]

SHARED_KINDS = frozenset({"klines", "ticker_24h", "tickers_24h", "prices"})
"""Fetch kinds whose answers are shared between instances."""

_FORMAT = "v1"  # part of every key: a new format never reads an old entry


def spec_hash(spec: FetchSpec) -> str:
    """A short, stable name of one request (the same on every instance and Python version)."""
    text = json.dumps([_FORMAT, spec.kind, spec.symbol, spec.interval, spec.limit,
                       list(spec.symbols)], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def encode(spec: FetchSpec, value: object) -> object:
    """The JSON form of one answer to ``spec`` (Binance's field names and row layout)."""
    match spec.kind, value:
        case "klines", Klines(candles=candles, close_time_ms=close_times):
            return [[int(candles.open_time[i]), float(candles.open[i]), float(candles.high[i]),
                     float(candles.low[i]), float(candles.close[i]), float(candles.volume[i]),
                     close_times[i]] for i in range(len(candles))]
        case "ticker_24h", Ticker24h():
            return _ticker(value)
        case "tickers_24h", tuple():
            return [_ticker(item) for item in value if isinstance(item, Ticker24h)]
        case "prices", tuple():
            return [{"symbol": item.symbol, "price": item.price} for item in value
                    if isinstance(item, PriceTicker)]
    raise ValueError(f"cannot share a {type(value).__name__} answer to {spec.kind!r}")


def decode(spec: FetchSpec, data: object, now_ms: int) -> object:
    """The answer to ``spec`` from its JSON form; ``MalformedResponse`` if it does not fit."""
    url = f"shared:{spec.kind}"
    match spec.kind:
        case "klines":
            return Klines.from_json(data, url, symbol=spec.symbol, interval=spec.interval,
                                    now_ms=now_ms)
        case "ticker_24h":
            ticker = Ticker24h.from_json(data, url)
            _same_symbols((ticker.symbol,), (spec.symbol,), url)
            return ticker
        case "tickers_24h":
            tickers = tuple(Ticker24h.from_json(item, url) for item in _items(data, url))
            _same_symbols(tuple(item.symbol for item in tickers), spec.symbols, url)
            return tickers
        case "prices":
            prices = tuple(PriceTicker.from_json(item, url) for item in _items(data, url))
            _same_symbols(tuple(item.symbol for item in prices), spec.symbols, url)
            return prices
    raise MalformedResponse(url, "this kind is not shared")


def _ticker(item: Ticker24h) -> dict[str, object]:
    return {"symbol": item.symbol, "lastPrice": item.last_price, "openPrice": item.open_price,
            "highPrice": item.high_price, "lowPrice": item.low_price,
            "priceChange": item.price_change, "priceChangePercent": item.price_change_percent,
            "weightedAvgPrice": item.weighted_avg_price, "bidPrice": item.bid_price,
            "askPrice": item.ask_price, "volume": item.volume, "quoteVolume": item.quote_volume,
            "openTime": item.open_time_ms, "closeTime": item.close_time_ms,
            "count": item.trade_count}


def _items(data: object, url: str) -> list[object]:
    if not isinstance(data, list):
        raise MalformedResponse(url, f"expected a JSON array, got {type(data).__name__}")
    return data


def _same_symbols(got: tuple[str, ...], asked: tuple[str, ...], url: str) -> None:
    wanted = tuple(dict.fromkeys(name.strip().upper() for name in asked))
    if got != wanted:
        raise MalformedResponse(url, f"asked for {list(wanted)}, got {list(got)}")
