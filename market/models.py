"""Typed, frozen results of the Binance client, parsed once from Binance's JSON.

Why: Binance sends prices as strings and answers with an object or an array depending on the
parameters; code that indexes raw JSON crashes with a KeyError or, worse, computes with a wrong
number when a proxy or a new API version answers something else. Each ``from_json`` checks the
documented shape, turns numeric strings into floats and integers into ints, and raises
``MalformedResponse`` on anything unexpected, so the rest of the bot only sees checked values.
Unknown keys are ignored, as Binance asks of clients.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from market.candles import Candles, from_rows
from market.errors import InvalidCandles, MalformedResponse

__all__ = [
    "ExchangeInfo",
    "Klines",
    "PriceTicker",
    "RateLimit",
    "SymbolInfo",
    "Ticker24h",
    "banned_until_ms",
    "parse_avg_price",
    "parse_error",
]

# Kline times outside 1970..9999 are garbage: past int64 they cannot be stored, and no date
# can be shown for them.
_LAST_MS = 253_402_300_799_999
# ASCII digits, at most 16 (epoch ms has 13): int() refuses over 4300 digits, and a longer run or
# another script's digits is not a time Binance would send.
_BANNED_UNTIL = re.compile(r"banned until ([0-9]{1,16})(?![0-9])")


def _object(data: object, url: str, what: str) -> Mapping[str, object]:
    if not isinstance(data, dict):
        raise MalformedResponse(url, f"{what} should be a JSON object, got {type(data).__name__}")
    return data


def _array(data: object, url: str, what: str) -> Sequence[object]:
    if not isinstance(data, list):
        raise MalformedResponse(url, f"{what} should be a JSON array, got {type(data).__name__}")
    return data


def _text(obj: Mapping[str, object], key: str, url: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedResponse(url, f"{key!r} should be a non-empty string, got {value!r}")
    return value


def _integer(obj: Mapping[str, object], key: str, url: str) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedResponse(url, f"{key!r} should be an integer, got {value!r}")
    return value


def _number(value: object, key: str, url: str, *, minimum: float | None = 0.0) -> float:
    """A decimal string (Binance's format) or a JSON number, finite and >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise MalformedResponse(url, f"{key!r} should be a decimal string, got {value!r}")
    try:
        number = float(value)
    except (ValueError, OverflowError):  # OverflowError: a JSON integer beyond float range
        raise MalformedResponse(url, f"{key!r} is not a number: {value!r}") from None
    if not math.isfinite(number) or (minimum is not None and number < minimum):
        raise MalformedResponse(url, f"{key!r} is out of range: {value!r}")
    return number


def _field(obj: Mapping[str, object], key: str, url: str, *, signed: bool = False) -> float:
    return _number(obj.get(key), key, url, minimum=None if signed else 0.0)


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """One pair from exchangeInfo."""

    symbol: str
    """Pair name as Binance spells it, e.g. ``BTCUSDT``."""
    status: str
    """TRADING, END_OF_DAY, HALT, BREAK or CANCEL_ONLY; only TRADING counts as live."""
    base_asset: str
    """The asset being priced, e.g. ``BTC``."""
    quote_asset: str
    """The asset prices are in, e.g. ``USDT``."""
    tick_size: float | None
    """Price step from the PRICE_FILTER, or None when the pair has no such filter."""

    @property
    def is_trading(self) -> bool:
        return self.status == "TRADING"

    @classmethod
    def from_json(cls, data: object, url: str) -> SymbolInfo:
        obj = _object(data, url, "a symbols[] entry")
        tick_size = None
        for item in _array(obj.get("filters", []), url, "filters"):
            entry = _object(item, url, "a filter")
            if entry.get("filterType") == "PRICE_FILTER":
                tick_size = _field(entry, "tickSize", url)
        return cls(
            symbol=_text(obj, "symbol", url),
            status=_text(obj, "status", url),
            base_asset=_text(obj, "baseAsset", url),
            quote_asset=_text(obj, "quoteAsset", url),
            tick_size=tick_size,
        )


@dataclass(frozen=True, slots=True)
class RateLimit:
    """One ``rateLimits[]`` entry of exchangeInfo."""

    kind: str
    """REQUEST_WEIGHT, ORDERS or RAW_REQUESTS."""
    interval: str
    """SECOND, MINUTE or DAY."""
    interval_num: int
    """How many ``interval`` units the window spans."""
    limit: int
    """Most weight (or orders, or requests) allowed per window."""

    @classmethod
    def from_json(cls, data: object, url: str) -> RateLimit:
        obj = _object(data, url, "a rateLimits[] entry")
        return cls(
            kind=_text(obj, "rateLimitType", url),
            interval=_text(obj, "interval", url),
            interval_num=_integer(obj, "intervalNum", url),
            limit=_integer(obj, "limit", url),
        )


@dataclass(frozen=True, slots=True)
class ExchangeInfo:
    """The parts of ``GET /api/v3/exchangeInfo`` the bot uses."""

    server_time_ms: int
    """Binance's clock when it answered, epoch milliseconds."""
    symbols: tuple[SymbolInfo, ...]
    """Every listed pair, whatever its status."""
    rate_limits: tuple[RateLimit, ...]
    """The limits Binance enforces, to be read rather than hard-coded."""

    @property
    def request_weight_per_minute(self) -> int | None:
        """The REQUEST_WEIGHT limit per 1 MINUTE, or None if exchangeInfo does not give one."""
        for limit in self.rate_limits:
            if (limit.kind, limit.interval, limit.interval_num) == ("REQUEST_WEIGHT", "MINUTE", 1):
                return limit.limit
        return None

    @classmethod
    def from_json(cls, data: object, url: str) -> ExchangeInfo:
        obj = _object(data, url, "exchangeInfo")
        symbols = _array(obj.get("symbols"), url, "symbols")
        limits = _array(obj.get("rateLimits"), url, "rateLimits")
        return cls(
            server_time_ms=_integer(obj, "serverTime", url),
            symbols=tuple(SymbolInfo.from_json(item, url) for item in symbols),
            rate_limits=tuple(RateLimit.from_json(item, url) for item in limits),
        )


@dataclass(frozen=True, slots=True)
class PriceTicker:
    """``GET /api/v3/ticker/price``: the latest trade price of one pair."""

    symbol: str
    """Pair name, e.g. ``BTCUSDT``."""
    price: float
    """Latest price in the quote asset."""

    @classmethod
    def from_json(cls, data: object, url: str) -> PriceTicker:
        obj = _object(data, url, "a price ticker")
        return cls(symbol=_text(obj, "symbol", url), price=_field(obj, "price", url))


@dataclass(frozen=True, slots=True)
class Ticker24h:
    """``GET /api/v3/ticker/24hr`` (FULL): rolling 24-hour statistics of one pair."""

    symbol: str
    """Pair name, e.g. ``BTCUSDT``."""
    last_price: float
    """Latest trade price."""
    open_price: float
    """Price 24 h ago (the window's first trade)."""
    high_price: float
    """Highest price in the window."""
    low_price: float
    """Lowest price in the window."""
    price_change: float
    """``last_price - open_price``; may be negative."""
    price_change_percent: float
    """Already a percentage: -1.5 means -1.5 %."""
    weighted_avg_price: float
    """Volume-weighted average price over the window."""
    bid_price: float
    """Best bid now."""
    ask_price: float
    """Best ask now."""
    volume: float
    """Base-asset volume traded in the window."""
    quote_volume: float
    """Quote-asset volume traded in the window."""
    open_time_ms: int
    """Start of the window, epoch ms."""
    close_time_ms: int
    """End of the window, epoch ms."""
    trade_count: int
    """Number of trades in the window."""

    @classmethod
    def from_json(cls, data: object, url: str) -> Ticker24h:
        obj = _object(data, url, "a 24hr ticker")
        return cls(
            symbol=_text(obj, "symbol", url),
            last_price=_field(obj, "lastPrice", url),
            open_price=_field(obj, "openPrice", url),
            high_price=_field(obj, "highPrice", url),
            low_price=_field(obj, "lowPrice", url),
            price_change=_field(obj, "priceChange", url, signed=True),
            price_change_percent=_field(obj, "priceChangePercent", url, signed=True),
            weighted_avg_price=_field(obj, "weightedAvgPrice", url),
            bid_price=_field(obj, "bidPrice", url),
            ask_price=_field(obj, "askPrice", url),
            volume=_field(obj, "volume", url),
            quote_volume=_field(obj, "quoteVolume", url),
            open_time_ms=_integer(obj, "openTime", url),
            close_time_ms=_integer(obj, "closeTime", url),
            trade_count=_integer(obj, "count", url),
        )


@dataclass(frozen=True, slots=True, eq=False)
class Klines:
    """``GET /api/v3/klines``: every row Binance sent, the still-open candle included.

    Binance's last row is usually the candle that is still forming (its close time is in the
    future). It is kept, and ``last_is_open`` says whether it is, so each caller decides: a
    price display may want it, an indicator that must not repaint should use ``closed()``.
    """

    symbol: str
    """Pair name, e.g. ``BTCUSDT``."""
    interval: str
    """Kline interval as sent, e.g. ``1h``."""
    candles: Candles
    """All rows as a validated OHLCV series."""
    close_time_ms: tuple[int, ...]
    """Close time of each row (open time + interval - 1 ms), epoch ms."""
    last_is_open: bool
    """True when the last row's close time had not passed when the answer was read."""

    def closed(self) -> Candles:
        """The candles without the still-open one."""
        return self.candles[:-1] if self.last_is_open else self.candles

    @classmethod
    def from_json(
        cls, data: object, url: str, *, symbol: str, interval: str, now_ms: int
    ) -> Klines:
        rows = _array(data, url, "klines")
        checked: list[Sequence[object]] = []
        close_times: list[int] = []
        for index, item in enumerate(rows):
            row = _array(item, url, f"kline row {index}")
            if len(row) < 7:
                raise MalformedResponse(url, f"kline row {index} has {len(row)} fields, not 12")
            open_time, close_time = row[0], row[6]
            if (
                isinstance(open_time, bool)
                or isinstance(close_time, bool)
                or not isinstance(open_time, int)
                or not isinstance(close_time, int)
                or not 0 <= open_time < close_time <= _LAST_MS
            ):
                raise MalformedResponse(url, f"kline row {index} has bad open/close times")
            for column, value in enumerate(row[1:6], start=1):
                _number(value, f"kline row {index} field {column}", url)
            checked.append(row)
            close_times.append(close_time)
        try:
            candles = from_rows(checked)
        except InvalidCandles as exc:
            raise MalformedResponse(url, str(exc)) from exc
        last_is_open = bool(close_times) and close_times[-1] >= now_ms
        return cls(symbol, interval, candles, tuple(close_times), last_is_open)


def parse_avg_price(data: object, url: str) -> float:
    """``GET /api/v3/avgPrice``: the average price over the last ``mins`` minutes."""
    obj = _object(data, url, "avgPrice")
    _integer(obj, "mins", url)
    return _field(obj, "price", url)


def parse_error(content: bytes) -> tuple[int | None, str]:
    """Binance's ``{"code": -1121, "msg": "..."}``, or (None, a snippet) for anything else."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return None, content[:120].decode("utf-8", "replace")
    if isinstance(body, dict):
        code, msg = body.get("code"), body.get("msg")
        if isinstance(code, int) and not isinstance(code, bool):
            return code, msg if isinstance(msg, str) else ""
    return None, str(body)[:120]


def banned_until_ms(msg: str) -> int | None:
    """The end of a ban from a -1003 message ("IP banned until 1700000000000"), if given.

    Only data is read from the message; callers branch on the code, as Binance asks.
    """
    match = _BANNED_UNTIL.search(msg)
    return int(match.group(1)) if match else None
