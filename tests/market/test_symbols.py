"""What users type becomes the Binance symbol they mean, or a helpful error."""

from __future__ import annotations

import pytest

from market.errors import ExchangeTimeout, InvalidSymbolFormat, UnknownSymbol
from market.models import ExchangeInfo, SymbolInfo
from market.symbols import SymbolCache, SymbolDirectory, normalize_symbol
from tests.market.conftest import ManualClock


def pair(symbol: str, base: str, quote: str, status: str = "TRADING") -> SymbolInfo:
    return SymbolInfo(symbol, status, base, quote, 0.01)


PAIRS = (
    pair("BTCUSDT", "BTC", "USDT"),
    pair("ETHUSDT", "ETH", "USDT"),
    pair("ETHBTC", "ETH", "BTC"),
    pair("SOLUSDT", "SOL", "USDT"),
    pair("BNBUSDT", "BNB", "USDT"),
    pair("WBTCBTC", "WBTC", "BTC"),
    pair("LUNAUSDT", "LUNA", "USDT", status="BREAK"),
)


@pytest.fixture
def directory() -> SymbolDirectory:
    return SymbolDirectory(PAIRS, "USDT")


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("BTC", "BTCUSDT"),
        ("btc", "BTCUSDT"),
        ("BTCUSDT", "BTCUSDT"),
        ("btcusdt", "BTCUSDT"),
        ("BTC/USDT", "BTCUSDT"),
        ("btc-usdt", "BTCUSDT"),
        ("btc_usdt", "BTCUSDT"),
        ("BTC USDT", "BTCUSDT"),
        ("  Btc / Usdt  ", "BTCUSDT"),
        ("$btc", "BTCUSDT"),
        ("eth/btc", "ETHBTC"),
        ("1000SATS", "1000SATSUSDT"),
    ],
)
def test_every_usual_spelling_means_the_same_pair(typed: str, meant: str) -> None:
    assert normalize_symbol(typed, "USDT") == meant


def test_the_default_quote_comes_from_config() -> None:
    assert normalize_symbol("btc", "fdusd") == "BTCFDUSD"


@pytest.mark.parametrize(
    ("typed", "hint"),
    [
        ("", "type a coin"),
        ("   ", "type a coin"),
        ("$", "type a coin"),
        ("$$$", "letters and digits"),
        ("BTC!", "letters and digits"),
        ("BTC/USDT/EUR", "at most one quote"),
        ("/USDT", "at most one quote"),
        ("BTC/", "at most one quote"),
        ("Биткоин", "Latin letters"),
        ("ß", "Latin letters"),
        ("A" * 17, "too long"),
    ],
)
def test_text_that_cannot_be_a_symbol_gets_a_helpful_reason(typed: str, hint: str) -> None:
    with pytest.raises(InvalidSymbolFormat) as refused:
        normalize_symbol(typed, "USDT")
    assert hint in refused.value.reason
    assert refused.value.text == typed
    assert "BTC/USDT" in refused.value.reason or "20" in refused.value.reason


def test_a_quote_that_is_not_a_symbol_is_a_configuration_bug() -> None:
    with pytest.raises(ValueError):
        normalize_symbol("btc", "US-DT")


# -- the directory ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("btc", "BTCUSDT"), ("BTC/USDT", "BTCUSDT"), ("ethbtc", "ETHBTC"), ("eth-btc", "ETHBTC")],
)
def test_the_directory_resolves_live_pairs(
    directory: SymbolDirectory, typed: str, meant: str
) -> None:
    assert directory.resolve(typed) == meant


def test_only_trading_pairs_are_live(directory: SymbolDirectory) -> None:
    assert "LUNAUSDT" not in directory
    assert len(directory) == 6
    assert directory.live_symbols()[0] == "BNBUSDT"
    with pytest.raises(UnknownSymbol) as refused:
        directory.resolve("luna")
    assert refused.value.status == "BREAK"
    assert "not trading" in str(refused.value)


@pytest.mark.parametrize(
    ("typed", "best"),
    [("BTCC", "BTCUSDT"), ("ETHER", "ETHUSDT"), ("solana", "SOLUSDT"), ("BNBB/USDT", "BNBUSDT")],
)
def test_an_unknown_symbol_comes_with_did_you_mean(
    directory: SymbolDirectory, typed: str, best: str
) -> None:
    with pytest.raises(UnknownSymbol) as refused:
        directory.resolve(typed)
    assert refused.value.suggestions[0] == best
    assert len(refused.value.suggestions) <= 3
    assert f"did you mean {best}" in str(refused.value)
    assert refused.value.permanent is True


def test_a_base_with_no_pair_in_the_default_quote_suggests_another_pair() -> None:
    directory = SymbolDirectory(PAIRS, "USDT")
    assert directory.suggest("WBTC")[0] == "WBTCBTC"


def test_something_far_from_every_symbol_has_no_suggestion(directory: SymbolDirectory) -> None:
    with pytest.raises(UnknownSymbol) as refused:
        directory.resolve("XYZQWV")
    assert refused.value.suggestions == ()
    assert directory.suggest("$$$") == ()


def test_info_gives_the_exchange_entry_of_a_live_symbol(directory: SymbolDirectory) -> None:
    assert directory.info("ETHBTC").quote_asset == "BTC"
    with pytest.raises(UnknownSymbol):
        directory.info("LUNAUSDT")


# -- the cache --------------------------------------------------------------------------------


class FakeExchange:
    def __init__(self) -> None:
        self.calls = 0
        self.failing = False
        self.pairs: tuple[SymbolInfo, ...] = PAIRS

    def exchange_info(self) -> ExchangeInfo:
        self.calls += 1
        if self.failing:
            raise ExchangeTimeout("http://exchange", "timed out")
        return ExchangeInfo(server_time_ms=0, symbols=self.pairs, rate_limits=())


def test_the_cache_fetches_once_and_refreshes_after_its_ttl() -> None:
    exchange, clock = FakeExchange(), ManualClock()
    cache = SymbolCache(exchange.exchange_info, "USDT", ttl_s=600, clock=clock)
    assert cache.resolve("btc") == "BTCUSDT"
    assert cache.resolve("eth") == "ETHUSDT"
    assert exchange.calls == 1
    exchange.pairs = (*PAIRS, pair("DOGEUSDT", "DOGE", "USDT"))
    clock.advance(600)
    assert cache.resolve("doge") == "DOGEUSDT"
    assert exchange.calls == 2


def test_a_failed_refresh_keeps_the_old_directory_and_retries_later() -> None:
    exchange, clock = FakeExchange(), ManualClock()
    cache = SymbolCache(exchange.exchange_info, "USDT", ttl_s=600, retry_s=30, clock=clock)
    cache.directory()
    exchange.failing = True
    clock.advance(601)
    assert cache.resolve("btc") == "BTCUSDT"
    assert cache.resolve("btc") == "BTCUSDT"
    assert exchange.calls == 2
    clock.advance(30)
    exchange.failing = False
    cache.directory()
    assert exchange.calls == 3


def test_with_nothing_cached_a_failed_fetch_is_the_callers_error() -> None:
    exchange = FakeExchange()
    exchange.failing = True
    cache = SymbolCache(exchange.exchange_info, "USDT", clock=ManualClock())
    with pytest.raises(ExchangeTimeout):
        cache.directory()


def test_invalidate_forces_a_refetch() -> None:
    exchange = FakeExchange()
    cache = SymbolCache(exchange.exchange_info, "USDT", clock=ManualClock())
    cache.directory()
    cache.invalidate()
    cache.directory()
    assert exchange.calls == 2
