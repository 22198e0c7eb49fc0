"""Binance Spot market-data endpoints as pure functions: (path, query, now) -> reply.

The HTTP server only moves bytes; everything a client could observe about an answer (status,
JSON shape, which fields are strings and which integers, request weight) is decided here, so
it is tested without sockets. Wire details follow Binance: prices and quantities are strings
with eight decimals, times are integer milliseconds, errors are ``{"code", "msg"}`` with HTTP
400, and weights are the post-2023-08-25 values (24hr: 2 for one symbol, 2/40/80 for 1-20,
21-100 and more symbols, 80 for all).

Choices where Binance's behaviour is not documented: a klines ``limit`` of 0 or above 1000 is
refused with -1130 rather than clamped; a ``symbols`` list naming one unknown symbol fails the
whole request with -1121; ``timeZone`` other than UTC is refused with -1130; an unknown
``/api`` path is a 404 with a -1000 body.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from fakes.exchange.catalog import INTERVALS, SymbolSpec, format_decimal
from fakes.exchange.market import Market, average_price, candles_in, day_stats, kline_window
from fakes.exchange.params import BinanceError, Params
from fakes.exchange.series import Candle, Series

__all__ = [
    "ApiReply",
    "ENDPOINTS",
    "handle_api",
    "request_weight",
]

_DEFAULT_KLINE_LIMIT = 500
_MAX_KLINE_LIMIT = 1000
_STATUSES = ("TRADING", "HALT", "BREAK")
_ORDER_TYPES = [
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
]
_STP_MODES = ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH", "DECREMENT"]


@dataclass(frozen=True, slots=True)
class ApiReply:
    """An answer before it is put on the wire."""

    status: int
    payload: object

    def body(self) -> bytes:
        return json.dumps(self.payload, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class _Request:
    params: Params
    now_ms: int
    market: Market
    weight_limit: int


def _ping(request: _Request) -> object:
    return {}


def _time(request: _Request) -> object:
    return {"serverTime": request.now_ms}


def _lookup(market: Market, symbol: str) -> Series:
    series = market.get(symbol)
    if series is None:
        raise BinanceError.invalid_symbol()
    return series


def _selected(request: _Request) -> tuple[list[Series], bool]:
    """Series named by symbol/symbols (or all of them), and whether one object is wanted."""
    symbol, symbols = request.params.symbol_or_symbols()
    if symbol is not None:
        return [_lookup(request.market, symbol)], True
    if symbols is not None:
        return [_lookup(request.market, name) for name in symbols], False
    return list(request.market), False


def _status_filter(request: _Request, single: bool) -> bool:
    """Whether the listed symbols pass ``symbolStatus`` (all simulated symbols are TRADING)."""
    status = request.params.text("symbolStatus")
    if status is None:
        return True
    if status not in _STATUSES:
        raise BinanceError(-1122, "Invalid symbolStatus.")
    if status != "TRADING" and single:
        raise BinanceError(-1220, "The symbol's status does not match the requested symbolStatus.")
    return status == "TRADING"


def _exchange_info(request: _Request) -> object:
    params = request.params
    if (params.has("symbol") or params.has("symbols")) and (
        params.has("permissions") or params.has("symbolStatus")
    ):
        raise BinanceError(-1128, "Combination of optional parameters invalid.")
    series, _single = _selected(request)
    if not _status_filter(request, single=False):
        series = []
    show_sets = params.choice("showPermissionSets", ("true", "false"), default="true") == "true"
    return {
        "timezone": "UTC",
        "serverTime": request.now_ms,
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": request.weight_limit,
            },
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            {
                "rateLimitType": "RAW_REQUESTS",
                "interval": "MINUTE",
                "intervalNum": 5,
                "limit": 300000,
            },
        ],
        "exchangeFilters": [],
        "symbols": [_symbol_info(one.spec, show_sets) for one in series],
    }


def _symbol_info(spec: SymbolSpec, show_permission_sets: bool) -> dict[str, object]:
    return {
        "symbol": spec.symbol,
        "status": "TRADING",
        "baseAsset": spec.base_asset,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote_asset,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": list(_ORDER_TYPES),
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "opoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "amendAllowed": True,
        "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": format_decimal(spec.tick_size),
                "maxPrice": format_decimal(1_000_000.0),
                "tickSize": format_decimal(spec.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": format_decimal(spec.step_size),
                "maxQty": format_decimal(9_000_000.0),
                "stepSize": format_decimal(spec.step_size),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": format_decimal(5.0),
                "applyMinToMarket": True,
                "maxNotional": format_decimal(9_000_000.0),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]] if show_permission_sets else [],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": list(_STP_MODES),
    }


def _ticker_price(request: _Request) -> object:
    series, single = _selected(request)
    if not _status_filter(request, single):
        series = []
    tickers = [
        {"symbol": one.spec.symbol, "price": format_decimal(one.price_at(request.now_ms))}
        for one in series
    ]
    return tickers[0] if single else tickers


def _ticker_24hr(request: _Request) -> object:
    series, single = _selected(request)
    kind = request.params.choice("type", ("FULL", "MINI"), default="FULL")
    if not _status_filter(request, single):
        series = []
    tickers = [_day_ticker(one, request.now_ms, mini=kind == "MINI") for one in series]
    return tickers[0] if single else tickers


def _day_ticker(series: Series, now_ms: int, *, mini: bool) -> dict[str, object]:
    stats = day_stats(series, now_ms)
    spec = series.spec
    ids_and_times: dict[str, object] = {
        "openTime": stats.open_time,
        "closeTime": stats.close_time,
        "firstId": stats.first_trade_id,
        "lastId": stats.last_trade_id,
        "count": stats.trades,
    }
    if mini:
        return {
            "symbol": spec.symbol,
            "openPrice": format_decimal(stats.open_price),
            "highPrice": format_decimal(stats.high),
            "lowPrice": format_decimal(stats.low),
            "lastPrice": format_decimal(stats.last_price),
            "volume": format_decimal(stats.volume),
            "quoteVolume": format_decimal(stats.quote_volume),
            **ids_and_times,
        }
    # A typical trade is worth a few hundred USDT; the book is one tick wide around the last price.
    last_qty = max(
        spec.step_size, round(300.0 / stats.last_price / spec.step_size) * spec.step_size
    )
    return {
        "symbol": spec.symbol,
        "priceChange": format_decimal(stats.price_change),
        "priceChangePercent": format_decimal(stats.price_change_percent, 3),
        "weightedAvgPrice": format_decimal(stats.weighted_average_price),
        "prevClosePrice": format_decimal(stats.prev_close_price),
        "lastPrice": format_decimal(stats.last_price),
        "lastQty": format_decimal(last_qty),
        "bidPrice": format_decimal(stats.last_price),
        "bidQty": format_decimal(last_qty * 3),
        "askPrice": format_decimal(spec.round_price(stats.last_price + spec.tick_size)),
        "askQty": format_decimal(last_qty * 2),
        "openPrice": format_decimal(stats.open_price),
        "highPrice": format_decimal(stats.high),
        "lowPrice": format_decimal(stats.low),
        "volume": format_decimal(stats.volume),
        "quoteVolume": format_decimal(stats.quote_volume),
        **ids_and_times,
    }


def _klines(request: _Request) -> object:
    params = request.params
    series = _lookup(request.market, str(params.symbol(mandatory=True)))
    interval_name = params.text("interval", mandatory=True)
    interval = INTERVALS.get(str(interval_name))
    if interval is None:
        raise BinanceError(-1120, "Invalid interval.")
    start_ms = params.integer("startTime")
    end_ms = params.integer("endTime")
    limit = params.integer("limit", default=_DEFAULT_KLINE_LIMIT)
    params.utc_time_zone()
    if limit is None or not 1 <= limit <= _MAX_KLINE_LIMIT:
        raise BinanceError.not_valid("limit")
    if start_ms is not None and end_ms is not None and start_ms > end_ms:
        raise BinanceError(-1023, "Start time is greater than end time.")
    window = kline_window(
        interval,
        now_ms=request.now_ms,
        listed_at_ms=series.listed_at_ms,
        start_ms=start_ms,
        end_ms=end_ms,
        limit=limit,
    )
    return [_kline_row(candle) for candle in candles_in(series, interval, window, request.now_ms)]


def _kline_row(candle: Candle) -> list[object]:
    return [
        candle.open_time,
        format_decimal(candle.open),
        format_decimal(candle.high),
        format_decimal(candle.low),
        format_decimal(candle.close),
        format_decimal(candle.volume),
        candle.close_time,
        format_decimal(candle.quote_volume),
        candle.trades,
        format_decimal(candle.taker_buy_base),
        format_decimal(candle.taker_buy_quote),
        "0",
    ]


def _avg_price(request: _Request) -> object:
    series = _lookup(request.market, str(request.params.symbol(mandatory=True)))
    return {
        "mins": 5,
        "price": format_decimal(average_price(series, request.now_ms)),
        "closeTime": request.now_ms,
    }


def _weight_by_symbol_count(
    params: Params, *, one: int, all_symbols: int, tiers: tuple[tuple[int, int], ...]
) -> int:
    if params.has("symbol"):
        return one
    count = params.count_symbols_leniently()
    if count is None:
        return all_symbols
    return next((weight for most, weight in tiers if count <= most), all_symbols)


_Handler = Callable[[_Request], object]
_Weigher = Callable[[Params], int]

ENDPOINTS: dict[str, tuple[_Handler, _Weigher]] = {
    "/api/v3/ping": (_ping, lambda params: 1),
    "/api/v3/time": (_time, lambda params: 1),
    "/api/v3/exchangeInfo": (_exchange_info, lambda params: 20),
    "/api/v3/ticker/price": (
        _ticker_price,
        lambda params: _weight_by_symbol_count(params, one=2, all_symbols=4, tiers=()),
    ),
    "/api/v3/ticker/24hr": (
        _ticker_24hr,
        lambda params: _weight_by_symbol_count(
            params, one=2, all_symbols=80, tiers=((20, 2), (100, 40))
        ),
    ),
    "/api/v3/klines": (_klines, lambda params: 2),
    "/api/v3/uiKlines": (_klines, lambda params: 2),
    "/api/v3/avgPrice": (_avg_price, lambda params: 2),
}
"""Served paths, each with its handler and its request-weight rule."""


def request_weight(path: str, pairs: Iterable[tuple[str, str]]) -> int:
    """Weight Binance charges for this request; charged even when the request is refused."""
    entry = ENDPOINTS.get(path)
    if entry is None:
        return 1
    return entry[1](Params(pairs))


def handle_api(
    path: str,
    pairs: Iterable[tuple[str, str]],
    *,
    now_ms: int,
    market: Market,
    weight_limit: int = 6000,
) -> ApiReply:
    """Answer one GET on a Binance path, errors included, as Binance would."""
    entry = ENDPOINTS.get(path)
    if entry is None:
        return ApiReply(404, {"code": -1000, "msg": f"Unknown endpoint {path}."})
    params = Params(pairs)
    try:
        params.check_no_duplicates()
        payload = entry[0](
            _Request(params=params, now_ms=now_ms, market=market, weight_limit=weight_limit)
        )
    except BinanceError as error:
        return ApiReply(error.status, error.body())
    return ApiReply(200, payload)
