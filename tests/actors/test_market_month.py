"""/analysis on 1M: whether the last candle has closed follows the exchange's close times, not
30-day months (January has 31 days, February 28)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from actors.market_access import MarketAccess
from market.analysis import MarketAnalysis
from market.candles import from_rows
from market.errors import ExchangeTimeout
from market.indicator_set import IndicatorSet
from market.intervals import close_of, closed_only
from market.models import Klines, Ticker24h
from messages.market import CacheLookup, ComputeIndicators, Fetch
from supervision.pykka_adapter import fail_future

HOUR_MS = 3_600_000


def month_ms(year: int, month: int) -> int:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp() * 1000)


class Clock:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> float:
        return self.now_ms / 1000


class NoCache:
    def ask(self, message: CacheLookup, *, timeout: float) -> Any:
        return (None,) * len(message.keys)

    def tell(self, message: object) -> None:
        pass


class MonthlyExchange:
    """Monthly klines as Binance sends them (the forming month last, its close in the future);
    no exchangeInfo, so the spelling is trusted."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    def offer(self, message: Fetch) -> bool:
        assert message.reply_to is not None
        spec = message.spec
        if spec.kind == "exchange_info":
            fail_future(message.reply_to, ExchangeTimeout("https://exchange", "slow"))
        elif spec.kind == "klines":
            starts = [month_ms(2025, month) for month in range(6, 6 + 27)]
            opens = [t for t in starts[:-1] if t <= self.clock.now_ms]
            closes = [starts[starts.index(t) + 1] - 1 for t in opens]
            rows = [[t, "1", "9", "0.5", "2", "10"] for t in opens]
            message.reply_to.set(Klines(symbol=spec.symbol, interval=spec.interval,
                                        candles=from_rows(rows), close_time_ms=tuple(closes),
                                        last_is_open=closes[-1] >= self.clock.now_ms))
        else:
            now = self.clock.now_ms
            message.reply_to.set(Ticker24h(spec.symbol, 2.0, 1.0, 9.0, 0.5, 1.0, 100.0, 2.0,
                                           2.0, 2.0, 10.0, 20.0, now - 86_400_000, now, 1))
        return True


class Indicator:
    def __init__(self) -> None:
        self.last_open: list[int] = []

    def ask(self, message: ComputeIndicators, *, timeout: float) -> Any:
        last = int(message.candles.open_time[-1])
        self.last_open.append(last)
        return IndicatorSet(candle_count=len(message.candles), open_time=last, close=1.0)


def test_on_the_31st_the_forming_month_is_not_taken_as_closed_and_it_counts_once_closed():
    # Before the fix, open + 30 days made January "closed" from Jan 31 00:00: the analysis
    # computed indicators on a candle still forming (they repainted until February 1).
    clock = Clock(month_ms(2027, 1) + 30 * 86_400_000 + 12 * HOUR_MS)  # Jan 31 12:00 UTC
    indicator = Indicator()
    access = MarketAccess({"cache": NoCache(), "fetcher": MonthlyExchange(clock),  # type: ignore[arg-type]
                           "indicator": indicator}, wall_clock=clock, clock=clock)
    answer = access.analysis("btc", "1M")
    assert isinstance(answer, MarketAnalysis) and answer.indicators is not None
    assert indicator.last_open == [month_ms(2026, 12)]  # December: the last closed month
    clock.now_ms = month_ms(2027, 2) + 60_000  # January closed: the next analysis includes it
    access.analysis("btc", "1M")
    assert indicator.last_open[-1] == month_ms(2027, 1)
    clock.now_ms = month_ms(2027, 3) - HOUR_MS  # February has 28 days: still forming
    access.analysis("btc", "1M")
    assert indicator.last_open[-1] == month_ms(2027, 1)
    clock.now_ms = month_ms(2027, 3) + 60_000  # closed on March 1, not March 3
    access.analysis("btc", "1M")
    assert indicator.last_open[-1] == month_ms(2027, 2)


def test_closed_only_falls_back_to_nominal_lengths_without_close_times():
    opens = [0, HOUR_MS, 2 * HOUR_MS]
    candles = from_rows([[t, "1", "2", "0.5", "1", "1"] for t in opens])
    assert len(closed_only(candles, (), "1h", 3 * HOUR_MS - 1)) == 2
    assert len(closed_only(candles, (), "1h", 3 * HOUR_MS)) == 3
    closes = tuple(t + HOUR_MS - 1 for t in opens)
    assert len(closed_only(candles, closes, "1h", 3 * HOUR_MS - 1)) == 2
    assert len(closed_only(candles, closes, "1h", 3 * HOUR_MS)) == 3
    assert len(closed_only(candles[:0], (), "1h", 0)) == 0


def test_a_month_closes_when_the_next_calendar_month_opens():
    assert close_of(month_ms(2027, 1), "1M") == month_ms(2027, 2)  # 31 days
    assert close_of(month_ms(2027, 2), "1M") == month_ms(2027, 3)  # 28 days
    assert close_of(month_ms(2026, 12), "1M") == month_ms(2027, 1)  # across the year
    assert close_of(HOUR_MS, "1h") == 2 * HOUR_MS and close_of(HOUR_MS, "7x") == HOUR_MS
