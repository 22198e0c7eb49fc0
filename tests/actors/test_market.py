"""The market subtree end to end over loopback HTTP against the exchange simulator."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

import pykka
import pytest

from market.analysis import MarketAnalysis, MarketUnavailable
from market.errors import UnknownSymbol
from market.intervals import InvalidInterval
from fakes.exchange.catalog import DEFAULT_SYMBOLS
from messages.market import Fetch, FetchSpec

KLINES = "/api/v3/klines"
TICKER = "/api/v3/ticker/24hr"


def analysis_of(market, symbol: str, interval: str = "1h") -> MarketAnalysis:
    answer = market.access.analysis(symbol, interval)
    assert isinstance(answer, MarketAnalysis), answer
    return answer


class TestFreshAnalysis:
    def test_an_analysis_is_fetched_once_then_served_from_the_cache(self, market):
        first = analysis_of(market, "btc")
        assert (first.symbol, first.interval, first.source, first.stale) == (
            "BTCUSDT", "1h", "exchange", False)
        assert first.last_price > 0 and first.high_24h >= first.low_24h
        assert first.indicators is not None and first.indicators.rsi_14 is not None
        assert first.summary is not None and first.summary.verdict
        second = analysis_of(market, "BTC/USDT")
        assert second.source == "cache" and second.last_price == first.last_price
        assert market.upstream_calls(KLINES) == 1 and market.upstream_calls(TICKER) == 1

    def test_the_analysis_is_immutable(self, market):
        answer = analysis_of(market, "eth")
        with pytest.raises(dataclasses.FrozenInstanceError):
            answer.last_price = 0.0  # type: ignore[misc]

    def test_indicators_use_closed_candles_only(self, market):
        answer = analysis_of(market, "eth", "1m")
        assert answer.indicators is not None and answer.as_of_ms is not None
        now_ms = market.simulator.now_ms()
        assert answer.as_of_ms + 60_000 <= now_ms  # the last candle used has closed

    def test_unknown_symbols_and_intervals_are_typed_errors_with_help(self, market):
        with pytest.raises(UnknownSymbol) as info:
            market.access.analysis("BTCC")
        assert "BTCUSDT" in info.value.suggestions
        with pytest.raises(InvalidInterval, match="use one of"):
            market.access.analysis("btc", "7h")


class TestCoalescing:
    def test_two_hundred_identical_concurrent_fetches_make_one_upstream_call(self, market):
        market.simulator.inject("slow", endpoint=KLINES, delay_s=0.5)
        spec = FetchSpec("klines", "SOLUSDT", "1h", 500)
        fetcher = market.tree.address("fetcher")
        futures = []
        for _ in range(200):
            future: pykka.ThreadingFuture = pykka.ThreadingFuture()
            fetcher.tell(Fetch(spec, future))
            futures.append(future)
        results = [f.get(timeout=10) for f in futures]
        assert all(r is results[0] for r in results)
        assert market.upstream_calls(KLINES) == 1

    def test_fifty_concurrent_analyses_of_one_symbol_all_complete_with_one_fetch(self, market):
        barrier = threading.Barrier(50)

        def ask(_: int):
            barrier.wait(5)
            return market.access.analysis("ada")

        with ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(ask, range(50)))
        assert all(isinstance(a, MarketAnalysis) for a in answers)
        assert market.upstream_calls(KLINES) == 1

    def test_fifty_concurrent_analyses_of_different_symbols_all_complete(self, market):
        symbols = [spec.symbol for spec in DEFAULT_SYMBOLS][:50]
        assert len(symbols) == 50
        with ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(market.access.analysis, symbols))
        assert [a.symbol for a in answers] == symbols
        incomplete = [a for a in answers if not isinstance(a, MarketAnalysis) or not a.indicators]
        assert not incomplete
        assert market.upstream_calls(KLINES) == 50


class TestDegradation:
    def test_a_failing_exchange_serves_the_last_analysis_labelled_stale_with_its_age(self, market):
        analysis_of(market, "btc")
        market.age_cache(30)
        market.simulator.inject("5xx", endpoint="*", status=503)
        answer = analysis_of(market, "btc")
        assert answer.stale and answer.source == "stale-cache"
        assert answer.age_s == pytest.approx(30, abs=1)
        assert answer.degraded_reason and "exchange" in answer.degraded_reason

    def test_with_nothing_cached_a_failing_exchange_gives_unavailable_with_a_retry_delay(
        self, market
    ):
        analysis_of(market, "btc")  # learns the symbols
        market.simulator.inject("5xx", endpoint="*", status=500)
        answer = market.access.analysis("sol")
        assert isinstance(answer, MarketUnavailable)
        assert answer.symbol == "SOLUSDT" and answer.retry_after_s > 0

    def test_an_open_breaker_answers_at_once_without_calling_the_exchange(self, market):
        analysis_of(market, "btc")
        market.simulator.inject("5xx", endpoint="*", status=502)
        for symbol in ("eth", "sol", "xrp", "ada"):
            market.access.analysis(symbol)
        assert market.breaker_state() == "open"
        market.simulator.reset_counters()
        answer = market.access.analysis("doge")
        assert isinstance(answer, MarketUnavailable) and "paused" in answer.reason
        assert market.simulator.counters()["total_requests"] == 0

    def test_a_hanging_exchange_is_cut_off_at_the_request_deadline(self, market):
        analysis_of(market, "btc")
        market.simulator.inject("timeout", endpoint=KLINES, delay_s=20)
        answer = market.access.analysis("link")
        assert isinstance(answer, MarketUnavailable)

    def test_without_the_indicator_actor_price_and_24h_stats_still_arrive(self, market):
        market.tree.address("indicator").close("taken down by the test")
        answer = analysis_of(market, "bnb")
        assert answer.last_price > 0 and answer.indicators is None and answer.summary is None
        assert answer.indicators_note and "unavailable" in answer.indicators_note


class TestBackgroundRefresh:
    def test_a_hot_key_about_to_expire_is_refreshed_before_anyone_misses(self, market):
        from messages.market import RefreshDue
        from supervision.messages import Describe

        analysis_of(market, "btc")
        for _ in range(2):  # analyses expire after 5 s; the 1h klines stay fresh for 60 s
            market.age_cache(6)
            analysis_of(market, "btc")
        market.age_cache(35)  # 47 s old: in the last quarter of its TTL
        before = market.tree.address("fetcher").ask(Describe(), timeout=5).stats
        market.tree.address("cache").tell(RefreshDue())
        market.settle()
        after = market.tree.address("fetcher").ask(Describe(), timeout=5).stats
        cache = market.tree.address("cache").ask(Describe(), timeout=5).stats
        assert cache.background_refreshes == 1
        assert after.upstream_calls == before.upstream_calls + 1


class TestConfiguredFreshness:
    def test_the_cache_keeps_data_fresh_exactly_as_long_as_the_settings_say(self, make_market):
        market = make_market(cache_ticker_ttl_s=3.0, cache_analysis_ttl_s=3.0,
                             cache_klines_ttl_max_s=30.0)  # 1h candles: 60 s, capped at 30
        analysis_of(market, "btc")
        market.age_cache(2.5)
        assert analysis_of(market, "btc").source == "cache"
        market.age_cache(1.0)  # 3.5 s: past the ticker's 3 s (the default would be 5 s)
        analysis_of(market, "btc")
        assert (market.upstream_calls(TICKER), market.upstream_calls(KLINES)) == (2, 1)
        market.age_cache(27.0)  # 30.5 s: past the candles' cap (the default would be 60 s)
        analysis_of(market, "btc")
        assert (market.upstream_calls(TICKER), market.upstream_calls(KLINES)) == (3, 2)


def test_preload_on_start_warms_the_cache_for_the_listed_symbols(simulator):
    from bot import CryptoBot
    from core.config import BotConfig

    config = BotConfig().with_overrides(exchange_urls=(simulator.base_url,),
                                        preload_on_start=True, preload_symbols=("BTC", "ETH"))
    bot = CryptoBot(config).start()
    try:
        assert bot.preloaded.wait(30)
        assert bot.market_analysis("eth").source == "cache"
    finally:
        bot.stop()
