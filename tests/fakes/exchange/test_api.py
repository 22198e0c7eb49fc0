"""Binance endpoint semantics of the simulator (validation, weights, shapes) without sockets."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest

from fakes.exchange.api import handle_api, request_weight
from fakes.exchange.market import Market

NOW_MS = 1_749_988_810_000


@pytest.fixture(scope="module")
def market() -> Market:
    return Market.default(seed=42)


def call(market: Market, path: str, query: str = "") -> tuple[int, object]:
    reply = handle_api(path, parse_qsl(query, keep_blank_values=True), now_ms=NOW_MS, market=market)
    return reply.status, json.loads(reply.body())


def symbols_param(*names: str) -> str:
    return "symbols=" + json.dumps(list(names), separators=(",", ":"))


@pytest.mark.parametrize(
    ("path", "query", "code"),
    [
        ("/api/v3/klines", "interval=1h", -1102),
        ("/api/v3/klines", "symbol=BTCUSDT", -1102),
        ("/api/v3/klines", "symbol=&interval=1h", -1102),
        ("/api/v3/klines", "symbol=btcusdt&interval=1h", -1100),
        ("/api/v3/klines", "symbol=NOPEUSDT&interval=1h", -1121),
        ("/api/v3/klines", "symbol=BTCUSDT&interval=1H", -1120),
        ("/api/v3/klines", "symbol=BTCUSDT&interval=1s", -1120),
        ("/api/v3/klines", "symbol=BTCUSDT&interval=1h&limit=None", -1100),
        ("/api/v3/klines", "symbol=BTCUSDT&interval=1h&limit=0", -1130),
        ("/api/v3/klines", "symbol=BTCUSDT&interval=1h&limit=1001", -1130),
        ("/api/v3/klines", "symbol=BTCUSDT&interval=1h&startTime=-5", -1100),
        ("/api/v3/klines", "symbol=BTCUSDT&interval=1h&startTime=20&endTime=10", -1023),
        ("/api/v3/klines", "symbol=BTCUSDT&interval=1h&timeZone=8", -1130),
        ("/api/v3/klines", "symbol=BTCUSDT&symbol=ETHUSDT&interval=1h", -1101),
        ("/api/v3/ticker/price", 'symbols=["BTCUSDT", "ETHUSDT"]', -1100),
        ("/api/v3/ticker/price", 'symbols=["btcusdt"]', -1100),
        ("/api/v3/ticker/price", 'symbols=["BTCUSDT","BTCUSDT"]', -1151),
        ("/api/v3/ticker/price", 'symbols=["BTCUSDT","NOPEUSDT"]', -1121),
        ("/api/v3/ticker/price", 'symbol=BTCUSDT&symbols=["ETHUSDT"]', -1128),
        ("/api/v3/ticker/price", "symbol=BTCUSDT&symbolStatus=HALT", -1220),
        ("/api/v3/ticker/24hr", "symbol=BTCUSDT&symbolStatus=SLEEPING", -1122),
        ("/api/v3/ticker/24hr", "symbol=BTCUSDT&type=TINY", -1130),
        ("/api/v3/exchangeInfo", "symbol=NOPEUSDT", -1121),
        ("/api/v3/exchangeInfo", "symbol=BTCUSDT&symbolStatus=TRADING", -1128),
        ("/api/v3/avgPrice", "", -1102),
    ],
)
def test_bad_requests_get_http_400_and_binances_error_code(
    market: Market, path: str, query: str, code: int
) -> None:
    status, body = call(market, path, query)
    assert status == 400
    assert isinstance(body, dict) and body["code"] == code and isinstance(body["msg"], str)


def test_a_lower_case_symbol_is_an_illegal_character_not_an_unknown_symbol(market: Market) -> None:
    _, body = call(market, "/api/v3/ticker/price", "symbol=btcusdt")
    assert body == {
        "code": -1100,
        "msg": "Illegal characters found in parameter 'symbol'; "
        "legal range is '^[A-Z0-9-_.]{1,20}$'.",
    }


def test_an_unknown_path_is_a_404(market: Market) -> None:
    assert call(market, "/api/v3/depth", "symbol=BTCUSDT")[0] == 404


@pytest.mark.parametrize(
    ("path", "query", "weight"),
    [
        ("/api/v3/ping", "", 1),
        ("/api/v3/time", "", 1),
        ("/api/v3/exchangeInfo", "", 20),
        ("/api/v3/klines", "symbol=BTCUSDT&interval=1h", 2),
        ("/api/v3/avgPrice", "symbol=BTCUSDT", 2),
        ("/api/v3/ticker/price", "symbol=BTCUSDT", 2),
        ("/api/v3/ticker/price", "", 4),
        ("/api/v3/ticker/price", symbols_param("BTCUSDT", "ETHUSDT"), 4),
        ("/api/v3/ticker/24hr", "symbol=BTCUSDT", 2),
        ("/api/v3/ticker/24hr", "", 80),
        ("/api/v3/ticker/24hr", symbols_param(*[f"S{i}" for i in range(20)]), 2),
        ("/api/v3/ticker/24hr", symbols_param(*[f"S{i}" for i in range(21)]), 40),
        ("/api/v3/ticker/24hr", symbols_param(*[f"S{i}" for i in range(100)]), 40),
        ("/api/v3/ticker/24hr", symbols_param(*[f"S{i}" for i in range(101)]), 80),
    ],
)
def test_each_request_weighs_what_binance_charges(path: str, query: str, weight: int) -> None:
    assert request_weight(path, parse_qsl(query)) == weight


def test_klines_honour_limit_and_times(market: Market) -> None:
    status, default = call(market, "/api/v3/klines", "symbol=ETHUSDT&interval=1m")
    assert status == 200 and isinstance(default, list) and len(default) == 500
    _, most = call(market, "/api/v3/klines", "symbol=ETHUSDT&interval=1m&limit=1000")
    assert isinstance(most, list) and len(most) == 1000
    _, since = call(
        market, "/api/v3/klines", f"symbol=ETHUSDT&interval=1h&startTime={NOW_MS - 3 * 3_600_000}"
    )
    assert isinstance(since, list) and len(since) == 3


def test_symbols_lists_and_missing_symbols_give_arrays_and_one_symbol_an_object(
    market: Market,
) -> None:
    _, one = call(market, "/api/v3/ticker/price", "symbol=BTCUSDT")
    _, two = call(market, "/api/v3/ticker/price", symbols_param("BTCUSDT", "ETHUSDT"))
    _, every = call(market, "/api/v3/ticker/price")
    assert isinstance(one, dict) and one["symbol"] == "BTCUSDT"
    assert isinstance(two, list) and [t["symbol"] for t in two] == ["BTCUSDT", "ETHUSDT"]
    assert isinstance(every, list) and len(every) == len(market)


def test_a_status_filter_on_many_symbols_drops_the_ones_that_do_not_match(market: Market) -> None:
    assert call(market, "/api/v3/ticker/price", "symbolStatus=HALT") == (200, [])
    _, info = call(market, "/api/v3/exchangeInfo", "symbolStatus=BREAK")
    assert isinstance(info, dict) and info["symbols"] == []


def test_exchange_info_can_be_narrowed_to_some_symbols(market: Market) -> None:
    _, info = call(market, "/api/v3/exchangeInfo", symbols_param("ETHUSDT", "SOLREALUSDT"))
    assert isinstance(info, dict)
    assert [(s["symbol"], s["baseAsset"], s["quoteAsset"]) for s in info["symbols"]] == [
        ("ETHUSDT", "ETH", "USDT"),
        ("SOLREALUSDT", "SOLREAL", "USDT"),
    ]
