"""Property tests of everything the Binance client reads from the exchange: JSON bodies, error
bodies and headers. Whatever arrives, the answer is a model whose every number is the one the
exchange sent under that key (finite, and not negative where Binance never is), or a
``MalformedResponse``; the header and error-body readers never raise.

The same bodies over real loopback HTTP, through the client and the market actors, are in
tests/actors/test_malformed_input.py.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from market.binance import _retry_after_s, _symbol
from market.errors import InvalidSymbolFormat, MalformedResponse
from market.models import (
    ExchangeInfo,
    Klines,
    PriceTicker,
    Ticker24h,
    banned_until_ms,
    parse_avg_price,
    parse_error,
)
from market.weights import WeightBudget
from tests.market.conftest import ManualClock

URL = "http://exchange.test/api/v3/endpoint"
NOW_MS = 1_700_000_000_000
UNSIGNED_DAY_FIELDS = {
    "lastPrice": "last_price", "openPrice": "open_price", "highPrice": "high_price",
    "lowPrice": "low_price", "weightedAvgPrice": "weighted_avg_price", "bidPrice": "bid_price",
    "askPrice": "ask_price", "volume": "volume", "quoteVolume": "quote_volume",
}
SIGNED_DAY_FIELDS = {"priceChange": "price_change", "priceChangePercent": "price_change_percent"}
INTEGER_DAY_FIELDS = {"openTime": "open_time_ms", "closeTime": "close_time_ms",
                      "count": "trade_count"}

PRICE = {"symbol": "BTCUSDT", "price": "65000.12000000"}
DAY = {
    "symbol": "ETHUSDT", "priceChange": "-12.50000000", "priceChangePercent": "-0.412",
    "weightedAvgPrice": "3021.5", "prevClosePrice": "3030.0", "lastPrice": "3017.5",
    "lastQty": "0.5", "bidPrice": "3017.4", "bidQty": "2.0", "askPrice": "3017.6",
    "askQty": "1.0", "openPrice": "3030.0", "highPrice": "3080.0", "lowPrice": "2990.0",
    "volume": "150000.0", "quoteVolume": "453000000.0", "openTime": NOW_MS - 86_400_000,
    "closeTime": NOW_MS, "firstId": 1, "lastId": 9000, "count": 9000,
}
AVG = {"mins": 5, "price": "65010.5", "closeTime": NOW_MS}
INFO = {
    "timezone": "UTC", "serverTime": NOW_MS,
    "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                    "limit": 6000}],
    "symbols": [{"symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC",
                 "quoteAsset": "USDT",
                 "filters": [{"filterType": "PRICE_FILTER", "tickSize": "0.01"}]}],
}
HOUR_MS = 3_600_000
KLINES = [
    [NOW_MS - 2 * HOUR_MS, "100.0", "110.0", "90.0", "105.0", "12.5", NOW_MS - HOUR_MS - 1,
     "1300.0", 10, "6.0", "600.0", "0"],
    [NOW_MS - HOUR_MS, "105.0", "108.0", "101.0", "102.0", "8.0", NOW_MS - 1,
     "820.0", 7, "4.0", "400.0", "0"],
]

# Numbers as a broken proxy, a new API version or a hostile host might send them.
number_texts = st.one_of(
    st.sampled_from(["NaN", "nan", "inf", "-inf", "Infinity", "1e400", "-1", "-0.0", "0", "",
                     " ", "1_000", "0x10", "١٢", "1e308", "12.5.3", "∞", "1,5", "+3", " 7 "]),
    st.floats().map(repr),
    st.integers().map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(),
    st.integers(min_value=2**63, max_value=10**400), st.integers(max_value=-(2**63)),
    st.floats(), st.text(max_size=12), number_texts,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=8,
)


# Drawing nested JSON is the slow part; this many examples per model keeps the file near 2 s.
JSON_EXAMPLES = settings(max_examples=60)


def paths(value: object, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document, the root included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += paths(item, (*prefix, index))
    return found


@st.composite
def damaged(draw: st.DrawFn, template: object) -> object:
    """``template`` with one place replaced by any JSON value, or removed."""
    document = copy.deepcopy(template)
    path = draw(st.sampled_from(paths(document)))
    if not path:
        return draw(json_values)
    parent = document
    for step in path[:-1]:
        parent = parent[step]  # type: ignore[index]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)  # type: ignore[index]
    return document


def sent_number(raw: Mapping[str, object], key: str, *, signed: bool = False) -> float:
    """The number the exchange sent under ``key``, as the model must hold it."""
    value = raw[key]
    assert isinstance(value, (str, int, float)) and not isinstance(value, bool)
    number = float(value)
    assert math.isfinite(number) and (signed or number >= 0)
    return number


def sent_integer(raw: Mapping[str, object], key: str) -> int:
    value = raw[key]
    assert isinstance(value, int) and not isinstance(value, bool)
    return value


def parsed_or_refused(parse: Callable[[], Any]) -> Any:
    try:
        return parse()
    except MalformedResponse as error:
        assert error.url == URL and error.reason
        return None


# --- one model per endpoint ---------------------------------------------------------------------

@JSON_EXAMPLES
@given(st.one_of(damaged(PRICE), json_values))
def test_a_price_ticker_holds_the_price_sent_or_is_refused(raw: Any) -> None:
    ticker = parsed_or_refused(lambda: PriceTicker.from_json(raw, URL))
    if ticker is not None:
        assert ticker.symbol == raw["symbol"] and ticker.symbol
        assert ticker.price == sent_number(raw, "price")


@JSON_EXAMPLES
@given(st.one_of(damaged(DAY), json_values))
def test_a_day_ticker_holds_every_number_sent_under_its_own_key_or_is_refused(raw: Any) -> None:
    day = parsed_or_refused(lambda: Ticker24h.from_json(raw, URL))
    if day is None:
        return
    assert day.symbol == raw["symbol"]
    for key, field in UNSIGNED_DAY_FIELDS.items():
        assert getattr(day, field) == sent_number(raw, key)
    for key, field in SIGNED_DAY_FIELDS.items():
        assert getattr(day, field) == sent_number(raw, key, signed=True)
    for key, field in INTEGER_DAY_FIELDS.items():
        assert getattr(day, field) == sent_integer(raw, key)


@JSON_EXAMPLES
@given(st.one_of(damaged(AVG), json_values))
def test_an_average_price_is_the_price_sent_or_is_refused(raw: Any) -> None:
    price = parsed_or_refused(lambda: parse_avg_price(raw, URL))
    if price is not None:
        sent_integer(raw, "mins")
        assert price == sent_number(raw, "price")


@JSON_EXAMPLES
@given(st.one_of(damaged(INFO), json_values))
def test_exchange_info_holds_the_symbols_and_limits_sent_or_is_refused(raw: Any) -> None:
    info = parsed_or_refused(lambda: ExchangeInfo.from_json(raw, URL))
    if info is None:
        return
    assert info.server_time_ms == sent_integer(raw, "serverTime")
    assert [one.symbol for one in info.symbols] == [one["symbol"] for one in raw["symbols"]]
    for one, sent in zip(info.symbols, raw["symbols"]):
        ticks = [f for f in sent.get("filters", []) if f.get("filterType") == "PRICE_FILTER"]
        assert one.tick_size == (sent_number(ticks[-1], "tickSize") if ticks else None)
    assert [limit.limit for limit in info.rate_limits] == [
        sent_integer(one, "limit") for one in raw["rateLimits"]]


@JSON_EXAMPLES
@given(st.one_of(damaged(KLINES), st.lists(damaged(KLINES[0]), max_size=3), json_values),
       st.integers(min_value=0, max_value=2 * NOW_MS))
def test_klines_hold_every_row_sent_in_order_or_are_refused(raw: Any, now_ms: int) -> None:
    klines = parsed_or_refused(
        lambda: Klines.from_json(raw, URL, symbol="BTCUSDT", interval="1h", now_ms=now_ms))
    if klines is None:
        return
    candles = klines.candles
    assert len(candles) == len(raw)
    for index, row in enumerate(raw):
        assert int(candles.open_time[index]) == row[0]
        assert klines.close_time_ms[index] == row[6] > row[0]
        for column, name in enumerate(("open", "high", "low", "close", "volume"), start=1):
            assert float(getattr(candles, name)[index]) == float(row[column])
    assert klines.last_is_open == (bool(raw) and raw[-1][6] >= now_ms)


@given(st.decimals(min_value=0, max_value=Decimal("1e12"), places=8))
def test_a_price_in_binances_eight_decimal_format_reads_as_that_decimal(price: Decimal) -> None:
    text = f"{price:.8f}"
    assert PriceTicker.from_json({"symbol": "X", "price": text}, URL).price == float(Decimal(text))


# --- error bodies and headers never raise ---------------------------------------------------

@given(st.one_of(st.binary(max_size=300), json_values.map(lambda v: repr(v).encode())))
def test_any_error_body_reads_as_a_code_and_a_short_message(content: bytes) -> None:
    code, message = parse_error(content)
    assert code is None or (isinstance(code, int) and not isinstance(code, bool))
    assert isinstance(message, str)
    assert code is not None or len(message) <= 120


@given(st.one_of(st.text(max_size=60), st.text(max_size=20).map(lambda t: "banned until " + t),
                 st.integers().map(lambda n: f"IP banned until {n}."),
                 st.just("banned until " + "9" * 5000)))
def test_a_ban_end_is_an_epoch_time_in_ascii_digits_or_nothing(message: str) -> None:
    until = banned_until_ms(message)
    assert until is None or 0 <= until < 10**16
    if until is not None:
        assert re.search(rf"banned until 0*{until}(?![0-9])", message)


header_values = st.one_of(st.text(max_size=30), number_texts,
                          st.integers(min_value=10**6).map(str), st.just("9" * 400),
                          st.just("9" * 5000))


@given(header_values)
def test_a_retry_after_header_is_a_positive_finite_wait_or_nothing(value: str) -> None:
    response = requests.Response()
    response.headers["Retry-After"] = value
    wait = _retry_after_s(response)
    assert wait is None or (math.isfinite(wait) and wait > 0)


@given(header_values, st.sampled_from(["sliding_window", "token_bucket"]))
def test_a_used_weight_header_never_raises_and_never_frees_weight(
    value: str, strategy: str
) -> None:
    budget = WeightBudget(1200, strategy, ManualClock())  # type: ignore[arg-type]
    budget.acquire(100)
    before = budget.snapshot().available
    budget.observe_used_weight(value)
    assert budget.snapshot().available <= before


@given(st.text(max_size=30))
def test_a_symbol_sent_to_binance_follows_its_rule_or_is_refused_before_sending(text: str) -> None:
    try:
        name = _symbol(text)
    except InvalidSymbolFormat as error:
        assert error.text == text
        return
    assert 1 <= len(name) <= 20 and name == name.upper() and name.isascii()
    assert set(name) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


@pytest.mark.parametrize("raw", [
    {"symbol": "BTCUSDT", "price": 10**400},
    {"symbol": "BTCUSDT", "price": -(10**400)},
])
def test_an_integer_beyond_float_range_is_refused_not_raised(raw: dict[str, object]) -> None:
    with pytest.raises(MalformedResponse):
        PriceTicker.from_json(raw, URL)


def test_a_kline_time_beyond_int64_is_refused_not_raised() -> None:
    row = [2**70, "1", "1", "1", "1", "1", 2**70 + 5]
    with pytest.raises(MalformedResponse):
        Klines.from_json([row], URL, symbol="BTCUSDT", interval="1h", now_ms=NOW_MS)


def test_a_huge_offending_value_is_cut_short_in_the_error_text() -> None:
    error = MalformedResponse("http://x/api", "bad price " + "9" * 1_000_000)
    assert len(str(error)) < 400 and str(error).endswith("…")
