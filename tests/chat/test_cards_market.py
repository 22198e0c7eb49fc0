"""/price lines and /top movers: one line per symbol, whatever the market side had for it."""

from __future__ import annotations

from chat.cards import price_lines, top_movers
from chat.html import is_balanced, visible_text
from market.analysis import MarketUnavailable
from market.models import PriceTicker, Ticker24h
from tests.chat.builders import analysis


def ticker(symbol: str, change: float, quote_volume: float = 5e6, price: float = 1.5) -> Ticker24h:
    return Ticker24h(
        symbol=symbol, last_price=price, open_price=price, high_price=price, low_price=price,
        price_change=0.0, price_change_percent=change, weighted_avg_price=price,
        bid_price=price, ask_price=price, volume=1000.0, quote_volume=quote_volume,
        open_time_ms=0, close_time_ms=1, trade_count=10,
    )


def shown(text: str) -> list[str]:
    assert is_balanced(text), text
    return visible_text(text).split("\n")


def test_price_lines_show_each_symbol_whatever_was_available() -> None:
    text = price_lines([
        analysis(),
        ticker("ETHUSDT", -1.25, price=3_100.0),
        PriceTicker("SOLUSDT", 150.25),
        MarketUnavailable("DOGEUSDT", "the exchange is not answering", 30.0),
    ])
    assert shown(text) == [
        "BTCUSDT 65,000.00  ▲ +2.35%",
        "ETHUSDT 3,100.00  ▼ -1.25%",
        "SOLUSDT 150.2500",
        "DOGEUSDT n/a — the exchange is not answering",
    ]


def test_a_stale_price_is_labelled_under_its_line() -> None:
    stale = analysis().served_stale(300.0, "cache only: exchange down")
    assert shown(price_lines([stale])) == [
        "BTCUSDT 65,000.00  ▲ +2.35%",
        "    ⚠️ Stale: data is 5 min old — cache only: exchange down",
    ]


def test_no_prices_say_so() -> None:
    assert price_lines([]) == "No prices to show."


def test_top_movers_rank_usdt_pairs_with_real_volume() -> None:
    tickers = [
        ticker("PEPEUSDT", 25.1, price=0.00001234),
        ticker("SOLUSDT", 8.0),
        ticker("THINUSDT", 300.0, quote_volume=5_000.0),  # one trade on a thin pair
        ticker("ETHBTC", 50.0),  # not a USDT pair
        ticker("BTCUSDT", -2.5),
        ticker("LUNAUSDT", -40.0),
        ticker("FLATUSDT", 0.0),
    ]
    text = top_movers(tickers)
    assert shown(text) == [
        "Top movers, 24h (USDT pairs)",
        "▲ Gainers",
        "PEPE        +25.10%  0.00001234",
        "SOL          +8.00%  1.5000",
        "▼ Losers",
        "LUNA        -40.00%  1.5000",
        "BTC          -2.50%  1.5000",
        "Pairs under 1.00M USDT volume are left out.",
    ]


def test_top_movers_keep_only_n_per_side() -> None:
    tickers = [ticker(f"C{index}USDT", float(index - 10)) for index in range(21)]
    lines = shown(top_movers(tickers, n=3))
    assert [line.split()[0] for line in lines[2:5]] == ["C20", "C19", "C18"]
    assert [line.split()[0] for line in lines[6:9]] == ["C0", "C1", "C2"]


def test_top_movers_without_liquid_pairs_say_so() -> None:
    assert shown(top_movers([ticker("THINUSDT", 5.0, quote_volume=10.0)])) == [
        "Top movers, 24h (USDT pairs)",
        "No USDT pair moved with over 1.00M volume.",
    ]
