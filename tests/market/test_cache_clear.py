"""/cache clear: one symbol's entries go from every layer, other coins' stay warm."""

from __future__ import annotations

from actors.cache import layer_of
from market.cache import Layer, LayeredCache
from market.cache_clear import clear_cache, concerns_symbol
from messages.charts import ChartKey
from messages.market import AnalysisKey, FetchSpec

BTC_KLINES = FetchSpec("klines", "BTCUSDT", "1h", 200)
BTC_4H = FetchSpec("klines", "BTCUSDT", "4h", 200)
BTC_TICKER = FetchSpec("ticker_24h", "BTCUSDT")
PRICES = FetchSpec("prices", symbols=("BTCUSDT", "ETHUSDT"))
ETH_KLINES = FetchSpec("klines", "ETHUSDT", "1h", 200)
EVERY_TICKER = FetchSpec("tickers_24h")
BTC_ANALYSIS = AnalysisKey("BTCUSDT", "1h")
ETH_ANALYSIS = AnalysisKey("ETHUSDT", "1h")
BTC_CHART = ChartKey("BTCUSDT", "1h", 0)


def filled() -> LayeredCache:
    cache = LayeredCache(10_000_000, clock=lambda: 0.0, layer_of=layer_of)
    for key in (BTC_KLINES, BTC_4H, BTC_TICKER, PRICES, ETH_KLINES, EVERY_TICKER):
        cache.put(key, {"data": str(key)}, ttl_s=60)
    for key in (BTC_ANALYSIS, ETH_ANALYSIS):
        cache.put(key, "analysis", ttl_s=60, size=100)
    cache.put(BTC_CHART, b"png" * 10, ttl_s=60)
    return cache


def test_a_key_concerns_the_symbol_it_names_or_lists():
    assert concerns_symbol(BTC_KLINES, "BTCUSDT") and concerns_symbol(BTC_CHART, "BTCUSDT")
    assert concerns_symbol(PRICES, "ETHUSDT") and concerns_symbol(BTC_ANALYSIS, "BTCUSDT")
    assert not concerns_symbol(ETH_KLINES, "BTCUSDT")
    assert not concerns_symbol(EVERY_TICKER, "BTCUSDT")


def test_clearing_a_symbol_empties_its_keys_in_every_layer_and_keeps_the_others():
    cache = filled()
    raw_bytes_before = cache.stats()[Layer.RAW].bytes
    cleared = clear_cache(cache, "BTCUSDT")
    assert cleared.symbol == "BTCUSDT"
    assert {layer: entries for layer, entries, _ in cleared.layers} == {
        "raw": 4, "computed": 1, "charts": 1}
    assert set(cache.keys(Layer.RAW)) == {ETH_KLINES, EVERY_TICKER}
    assert set(cache.keys(Layer.COMPUTED)) == {ETH_ANALYSIS}
    assert cache.get(BTC_CHART) is None
    stats = cache.stats()
    assert stats[Layer.RAW].bytes == raw_bytes_before - dict(
        (layer, freed) for layer, _, freed in cleared.layers)["raw"]
    assert stats[Layer.RAW].entries == 2 and stats[Layer.CHARTS].entries == 0


def test_clearing_everything_leaves_no_bytes_but_keeps_the_hit_counters():
    cache = filled()
    cache.get(ETH_KLINES)
    cleared = clear_cache(cache, None)
    assert cleared.entries == 9 and cleared.bytes > 0
    assert cache.total_bytes() == 0
    assert cache.stats()[Layer.RAW].hits == 1
    assert all(figures.entries == 0 for figures in cache.stats().values())


def test_clearing_a_symbol_nobody_asked_for_removes_nothing():
    cache = filled()
    cleared = clear_cache(cache, "DOGEUSDT")
    assert cleared.entries == 0 and cleared.bytes == 0
