"""A pinned symbol: every endpoint serves the price the test set, and moves when it is set."""

from __future__ import annotations

import pytest
import requests

from fakes.exchange.catalog import INTERVALS
from fakes.exchange.simulator import ExchangeSimulator
from fakes.scale.pinned import PinnedSeries, pinned_spec


def test_candles_are_flat_at_the_price_and_follow_it() -> None:
    series = PinnedSeries(pinned_spec("PIN", 100.0))
    interval = INTERVALS["1h"]
    now_ms = 1_750_000_000_000
    last = interval.index_at(now_ms)

    before = series.candles(interval, last - 2, last, now_ms)
    series.set_price(110.5)
    after = series.candles(interval, last - 2, last, now_ms)

    assert [(c.open, c.high, c.low, c.close) for c in before] == [(100.0,) * 4] * 3
    assert [c.close for c in after] == [110.5] * 3
    assert series.price_at(now_ms) == 110.5
    assert series.candles(interval, last, last - 1, now_ms) == []


def test_a_price_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PinnedSeries(pinned_spec("PIN", 1.0)).set_price(0)


def test_the_simulator_lists_it_and_its_ticker_moves_with_the_price() -> None:
    series = PinnedSeries(pinned_spec("PIN", 100.0))
    with ExchangeSimulator() as simulator, requests.Session() as http:
        simulator.market.add(series)

        def last_price() -> str:
            answer = http.get(f"{simulator.base_url}/api/v3/ticker/price",
                              params={"symbol": "PINUSDT"}, timeout=5)
            answer.raise_for_status()
            return str(answer.json()["price"])

        listed = http.get(f"{simulator.base_url}/api/v3/exchangeInfo", timeout=5).json()
        first = last_price()
        series.set_price(123.45)

        assert "PINUSDT" in [entry["symbol"] for entry in listed["symbols"]]
        assert (float(first), float(last_price())) == (100.0, 123.45)
