"""The simulator's candle series, intervals and market queries, tested without a server."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fakes.exchange.catalog import DEFAULT_SYMBOLS, INTERVALS, SymbolSpec
from fakes.exchange.market import DEFAULT_REPLAYS, Market, average_price, day_stats, kline_window
from fakes.exchange.replay import ReplaySeries, parse_candle_csv
from fakes.exchange.series import Candle, Series, SyntheticSeries

NOW_MS = 1_749_988_810_000  # 2025-06-15 12:00:10 UTC
HOUR_MS = 3_600_000
BTC = next(spec for spec in DEFAULT_SYMBOLS if spec.symbol == "BTCUSDT")


def utc_ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(
        dt.datetime(year, month, day, hour, minute, tzinfo=dt.timezone.utc).timestamp() * 1000
    )


def latest(series: Series, interval: str, count: int, now_ms: int = NOW_MS) -> list[Candle]:
    frame = INTERVALS[interval]
    current = frame.index_at(now_ms)
    return series.candles(frame, current - count + 1, current, now_ms)


@pytest.fixture(scope="module")
def market() -> Market:
    return Market.default(seed=42)


# -- catalog and intervals -------------------------------------------------------------------


def test_at_least_twenty_usdt_pairs_are_listed_with_distinct_names() -> None:
    symbols = [spec.symbol for spec in DEFAULT_SYMBOLS]
    assert len(symbols) >= 20
    assert len(set(symbols)) == len(symbols)
    assert all(
        spec.quote_asset == "USDT" and spec.symbol == spec.base_asset + "USDT"
        for spec in DEFAULT_SYMBOLS
    )


def test_the_default_market_adds_the_real_data_replays_under_names_of_their_own(
    market: Market,
) -> None:
    assert [replay.symbol for replay in DEFAULT_REPLAYS] == ["SOLREALUSDT", "BTCREALUSDT"]
    assert set(market.symbols()) == {spec.symbol for spec in DEFAULT_SYMBOLS} | {
        "SOLREALUSDT",
        "BTCREALUSDT",
    }


def test_prices_are_snapped_to_the_tick_grid() -> None:
    doge = SymbolSpec(
        symbol="DOGEUSDT",
        base_asset="DOGE",
        quote_asset="USDT",
        price=0.38,
        annual_volatility=1.0,
        tick_size=0.00001,
        step_size=1.0,
        daily_quote_volume=1.0,
    )
    assert doge.price_decimals == 5
    assert doge.round_price(0.123456789) == 0.12346


def test_weeks_open_on_monday_and_months_on_the_first() -> None:
    week, month = INTERVALS["1w"], INTERVALS["1M"]
    assert (
        dt.datetime.fromtimestamp(
            week.open_ms(week.index_at(NOW_MS)) / 1000, dt.timezone.utc
        ).weekday()
        == 0
    )
    assert month.open_ms(month.index_at(NOW_MS)) == utc_ms(2025, 6, 1)
    assert month.close_ms(month.index_at(NOW_MS)) == utc_ms(2025, 7, 1) - 1
    assert month.first_index_from(utc_ms(2025, 6, 1)) == month.index_at(utc_ms(2025, 6, 1))
    assert month.first_index_from(utc_ms(2025, 6, 1) + 1) == month.index_at(utc_ms(2025, 7, 1))


@given(
    time_ms=st.integers(min_value=0, max_value=4_102_444_800_000),
    name=st.sampled_from(sorted(INTERVALS)),
)
def test_every_moment_lies_in_the_candle_its_index_names(time_ms: int, name: str) -> None:
    interval = INTERVALS[name]
    index = interval.index_at(time_ms)
    assert interval.open_ms(index) <= time_ms <= interval.close_ms(index)
    assert interval.close_ms(index) + 1 == interval.open_ms(index + 1)


# -- synthetic series ------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_candles_and_another_seed_does_not() -> None:
    first, again, other = (SyntheticSeries(BTC, seed=seed) for seed in (42, 42, 7))
    assert latest(first, "1h", 50) == latest(again, "1h", 50)
    assert latest(first, "1h", 50) != latest(other, "1h", 50)


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(sorted(INTERVALS)), spec=st.sampled_from(DEFAULT_SYMBOLS))
def test_every_candle_is_well_formed(name: str, spec: SymbolSpec) -> None:
    candles = latest(SyntheticSeries(spec, seed=3), name, 20)
    for candle, following in zip(candles, candles[1:], strict=False):
        assert candle.close_time == following.open_time - 1
        assert candle.close == following.open
    for candle in candles:
        assert (
            0
            < candle.low
            <= min(candle.open, candle.close)
            <= max(candle.open, candle.close)
            <= candle.high
        )
        assert candle.volume >= 0 and candle.trades >= 0 and candle.taker_buy_base <= candle.volume


def test_opens_and_closes_agree_across_intervals() -> None:
    series = SyntheticSeries(BTC, seed=42)
    hour = latest(series, "1h", 3)[0]
    minutes = series.candles(
        INTERVALS["1m"], hour.open_time // 60_000, hour.close_time // 60_000, NOW_MS
    )
    assert len(minutes) == 60
    assert (minutes[0].open, minutes[-1].close) == (hour.open, hour.close)


def test_the_latest_close_is_the_current_price_at_every_interval() -> None:
    series = SyntheticSeries(BTC, seed=42)
    closes = {latest(series, name, 1)[0].close for name in INTERVALS}
    assert closes == {series.price_at(NOW_MS)}


def test_the_open_candle_advances_with_the_clock_and_closed_candles_do_not_change() -> None:
    series = SyntheticSeries(BTC, seed=42)
    before = latest(series, "1h", 5)
    later = latest(series, "1h", 5, now_ms=NOW_MS + 600_000)
    assert before[:-1] == later[:-1]
    assert later[-1].open_time == before[-1].open_time
    assert later[-1].close != before[-1].close
    assert later[-1].volume > before[-1].volume


def test_volatility_and_price_level_look_like_the_symbol_says() -> None:
    series = SyntheticSeries(BTC, seed=42)
    closes = np.array([candle.close for candle in latest(series, "1d", 1000)])
    annualised = float(np.std(np.diff(np.log(closes)))) * math.sqrt(365.25)
    assert annualised == pytest.approx(BTC.annual_volatility, rel=0.2)
    assert 0.4 * BTC.price < closes.min() and closes.max() < 2.5 * BTC.price


def test_no_candle_is_served_before_listing() -> None:
    window = kline_window(
        INTERVALS["1d"],
        now_ms=NOW_MS,
        listed_at_ms=NOW_MS - 3 * 86_400_000,
        start_ms=None,
        end_ms=None,
        limit=500,
    )
    assert len(window) == 4


# -- kline windows ---------------------------------------------------------------------------


def test_without_times_the_window_is_the_latest_candles_ending_with_the_open_one() -> None:
    hour = INTERVALS["1h"]
    window = kline_window(hour, now_ms=NOW_MS, listed_at_ms=0, start_ms=None, end_ms=None, limit=3)
    assert [hour.open_ms(i) for i in window] == [utc_ms(2025, 6, 15, h) for h in (10, 11, 12)]


def test_start_time_selects_the_oldest_candles_opening_at_or_after_it() -> None:
    hour = INTERVALS["1h"]
    window = kline_window(
        hour,
        now_ms=NOW_MS,
        listed_at_ms=0,
        start_ms=utc_ms(2025, 6, 15, 8) + 1,
        end_ms=utc_ms(2025, 6, 15, 10),
        limit=10,
    )
    assert [hour.open_ms(i) for i in window] == [utc_ms(2025, 6, 15, 9), utc_ms(2025, 6, 15, 10)]


def test_end_time_alone_selects_the_latest_candles_opening_at_or_before_it() -> None:
    hour = INTERVALS["1h"]
    window = kline_window(
        hour,
        now_ms=NOW_MS,
        listed_at_ms=0,
        start_ms=None,
        end_ms=utc_ms(2025, 6, 15, 5, 30),
        limit=2,
    )
    assert [hour.open_ms(i) for i in window] == [utc_ms(2025, 6, 15, 4), utc_ms(2025, 6, 15, 5)]


def test_a_window_in_the_future_is_empty() -> None:
    window = kline_window(
        INTERVALS["1h"],
        now_ms=NOW_MS,
        listed_at_ms=0,
        start_ms=NOW_MS + 2 * HOUR_MS,
        end_ms=None,
        limit=10,
    )
    assert len(window) == 0


# -- replayed real data ----------------------------------------------------------------------


def test_the_real_sol_candles_are_served_at_their_real_times(market: Market) -> None:
    sol = market.get("SOLREALUSDT")
    assert isinstance(sol, ReplaySeries)
    hour = INTERVALS["1h"]
    first = hour.index_at(utc_ms(2024, 9, 20, 15))
    candles = sol.candles(hour, first, first + 1, NOW_MS)
    assert [(c.open, c.high, c.low, c.close) for c in candles] == [
        (147.81, 148.78, 146.61, 147.88),
        (147.88, 148.42, 147.16, 147.66),
    ]
    assert candles[0].volume == pytest.approx(197950.322)
    assert sol.listed_at_ms == utc_ms(2024, 9, 20, 15)


def test_after_its_last_row_the_replay_runs_backwards_with_no_gap(market: Market) -> None:
    sol = market.get("SOLREALUSDT")
    assert sol is not None
    hour = INTERVALS["1h"]
    last_real = hour.index_at(utc_ms(2024, 11, 1, 6))
    last, mirrored, mirrored_next = sol.candles(hour, last_real, last_real + 2, NOW_MS)
    assert (last.open, last.close) == (166.95, 165.46)
    assert (mirrored.open, mirrored.high, mirrored.low, mirrored.close) == (
        165.46,
        167.0,
        165.29,
        166.95,
    )
    assert mirrored_next.open == mirrored.close


def test_coarser_intervals_aggregate_the_replayed_rows_and_finer_ones_are_empty(
    market: Market,
) -> None:
    sol = market.get("SOLREALUSDT")
    assert sol is not None
    hours = latest(sol, "1h", 4, now_ms=utc_ms(2024, 10, 1, 3, 59))
    four_hours = latest(sol, "4h", 1, now_ms=utc_ms(2024, 10, 1, 3, 59))[0]
    assert four_hours.open == hours[0].open and four_hours.close == hours[-1].close
    assert four_hours.high == max(c.high for c in hours) and four_hours.low == min(
        c.low for c in hours
    )
    assert not sol.supports(INTERVALS["15m"])
    monthly = market.get("BTCREALUSDT")
    assert monthly is not None and not monthly.supports(INTERVALS["1d"])


def test_the_monthly_btc_replay_maps_month_end_dates_to_their_month(market: Market) -> None:
    btc = market.get("BTCREALUSDT")
    assert btc is not None
    month = INTERVALS["1M"]
    first = month.index_at(utc_ms(2012, 1, 1))
    (january,) = btc.candles(month, first, first, NOW_MS)
    assert january.open_time == utc_ms(2012, 1, 1)
    assert (january.open, january.close) == (4.58, 5.55)


def test_a_csv_with_a_gap_is_refused() -> None:
    text = (
        "timestamp,Open,High,Low,Close,Volume\n"
        "2024-01-01 00:00:00,1,2,0.5,1.5,10\n"
        "2024-01-01 02:00:00,1,2,0.5,1.5,10\n"
    )
    with pytest.raises(ValueError, match="consecutive"):
        parse_candle_csv(text, INTERVALS["1h"])


def test_the_open_replayed_candle_is_revealed_in_proportion_to_elapsed_time(market: Market) -> None:
    sol = market.get("SOLREALUSDT")
    assert sol is not None
    hour_open = utc_ms(2024, 9, 20, 15)
    (half,) = latest(sol, "1h", 1, now_ms=hour_open + HOUR_MS // 2)
    assert half.open == 147.81 and half.close == pytest.approx((147.81 + 147.88) / 2, abs=0.01)
    assert half.volume == pytest.approx(197950.322 / 2, rel=1e-4)


# -- 24 h statistics and average price -------------------------------------------------------


def test_day_statistics_agree_with_the_minute_candles(market: Market) -> None:
    series = market.get("ETHUSDT")
    assert series is not None
    stats = day_stats(series, NOW_MS)
    minutes = latest(series, "1m", 1440)
    assert stats.last_price == minutes[-1].close == series.price_at(NOW_MS)
    assert stats.open_price == minutes[0].open
    assert stats.high == max(c.high for c in minutes) and stats.low == min(c.low for c in minutes)
    assert stats.volume == pytest.approx(sum(c.volume for c in minutes))
    assert stats.last_trade_id - stats.first_trade_id + 1 == stats.trades


def test_the_average_price_is_close_to_the_last_price(market: Market) -> None:
    series = market.get("BTCUSDT")
    assert series is not None
    assert average_price(series, NOW_MS) == pytest.approx(series.price_at(NOW_MS), rel=0.01)
