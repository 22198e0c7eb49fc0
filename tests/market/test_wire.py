"""Exchange answers to the shared layer's JSON and back, through the exchange validators."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.config import BotConfig
from market import wire
from market.binance import BinanceClient
from market.errors import MalformedResponse
from messages.market import FetchSpec


@pytest.fixture
def client(simulator, clock):
    config = BotConfig().with_overrides(exchange_urls=(simulator.base_url,))
    with BinanceClient.from_config(config, wall_clock=clock) as made:
        yield made


def through_json(spec: FetchSpec, value: object, now_ms: int) -> object:
    return wire.decode(spec, json.loads(json.dumps(wire.encode(spec, value))), now_ms)


def test_klines_come_back_equal_and_the_open_candle_is_judged_when_read(client, clock) -> None:
    spec = FetchSpec("klines", "BTCUSDT", "1m", 50)
    fetched = client.klines("BTCUSDT", "1m", 50)
    back = through_json(spec, fetched, clock.now_ms)
    for column in ("open_time", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(back.candles, column), getattr(fetched.candles, column))
    assert back.close_time_ms == fetched.close_time_ms and back.last_is_open == fetched.last_is_open
    assert fetched.last_is_open
    later = through_json(spec, fetched, clock.now_ms + 120_000)
    assert not later.last_is_open  # read after its close: the candle is closed now


def test_tickers_and_prices_come_back_equal(client, clock) -> None:
    one = FetchSpec("ticker_24h", "ETHUSDT")
    assert through_json(one, client.ticker_24h("ETHUSDT"), clock.now_ms) == client.ticker_24h(
        "ETHUSDT")
    many = FetchSpec("tickers_24h", symbols=("BTCUSDT", "ETHUSDT"))
    tickers = client.tickers_24h(many.symbols)
    assert through_json(many, tickers, clock.now_ms) == tickers
    prices_spec = FetchSpec("prices", symbols=("BTCUSDT", "SOLUSDT"))
    prices = client.ticker_prices(prices_spec.symbols)
    assert through_json(prices_spec, prices, clock.now_ms) == prices


@pytest.mark.parametrize("data", [None, "x", [["1", "2"]], {"symbol": "ETHUSDT"}, [[1] * 12]])
def test_anything_else_is_a_malformed_response(data) -> None:
    for spec in (FetchSpec("klines", "BTCUSDT", "1h", 2), FetchSpec("ticker_24h", "BTCUSDT"),
                 FetchSpec("prices", symbols=("BTCUSDT",))):
        with pytest.raises(MalformedResponse):
            wire.decode(spec, data, 0)


def test_an_answer_for_another_symbol_is_refused(client, clock) -> None:
    ticker = wire.encode(FetchSpec("ticker_24h", "ETHUSDT"), client.ticker_24h("ETHUSDT"))
    with pytest.raises(MalformedResponse, match="asked for"):
        wire.decode(FetchSpec("ticker_24h", "BTCUSDT"), ticker, clock.now_ms)


def test_every_field_of_a_request_changes_its_name_and_only_shared_kinds_are_shared() -> None:
    base = FetchSpec("klines", "BTCUSDT", "1h", 500)
    others = [FetchSpec("klines", "ETHUSDT", "1h", 500), FetchSpec("klines", "BTCUSDT", "4h", 500),
              FetchSpec("klines", "BTCUSDT", "1h", 100), FetchSpec("ticker_24h", "BTCUSDT")]
    names = {wire.spec_hash(spec) for spec in [base, *others]}
    assert len(names) == 5 and wire.spec_hash(base) == wire.spec_hash(
        FetchSpec("klines", "BTCUSDT", "1h", 500))
    assert "exchange_info" not in wire.SHARED_KINDS
