"""The RSI tracker without threads: a pair is recomputed only once a new candle has closed, at
most a few a sweep, the longest waiting first; a sweep passes the refreshed values, or all of
them when asked; a failed refresh keeps the last reading."""

from __future__ import annotations

from typing import Any

from actors.alert_rsi import RsiTracker
from market.candles import from_rows
from market.errors import ExchangeTimeout
from market.indicator_set import IndicatorSet
from market.models import Klines
from messages.market import ComputeIndicators, Fetch
from supervision.pykka_adapter import fail_future

HOUR_MS = 3_600_000
T0_MS = 1_750_000_000_000 // HOUR_MS * HOUR_MS
"""An hour boundary: the candle opened at T0 is the one forming at T0 + a few minutes."""


class Clock:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> float:
        return self.now_ms / 1000


class FakeFetcher:
    """Answers each klines Fetch at once with hourly candles up to the clock, open one last."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.asked: list[tuple[str, str]] = []
        self.failing: set[str] = set()

    def offer(self, message: Fetch) -> bool:
        spec = message.spec
        self.asked.append((spec.symbol, spec.interval))
        assert message.reply_to is not None
        if spec.symbol in self.failing:
            fail_future(message.reply_to, ExchangeTimeout("https://exchange", "slow"))
            return True
        last = (self.clock.now_ms // HOUR_MS) * HOUR_MS
        opens = [last - HOUR_MS * n for n in range(20, -1, -1)]
        rows = [[t, "1", "9", "0.5", str(1 + t // HOUR_MS % 7), "10"] for t in opens]
        message.reply_to.set(Klines(symbol=spec.symbol, interval=spec.interval,
                                    candles=from_rows(rows),
                                    close_time_ms=tuple(t + HOUR_MS - 1 for t in opens),
                                    last_is_open=True))
        return True


class FakeIndicator:
    """Gives the last closed candle's open time (in hours) as the "RSI", to see what it got."""

    def __init__(self) -> None:
        self.steps = 0

    def ask(self, message: ComputeIndicators, *, timeout: float) -> Any:
        self.steps += 1
        last = int(message.candles.open_time[-1])
        return IndicatorSet(candle_count=len(message.candles), open_time=last, close=1.0,
                            rsi_14=float(last // HOUR_MS % 100))


def tracker(clock: Clock, fetcher: FakeFetcher, **options: Any) -> RsiTracker:
    return RsiTracker(fetcher=fetcher, indicator=FakeIndicator(),  # type: ignore[arg-type]
                      wall_clock=clock, clock=clock, **options)


def sweep(rsi: RsiTracker, pairs: list[tuple[str, str]], *,
          full: bool = False) -> list[tuple[str, str, float]]:
    return list(rsi.values(pairs, full=full, deadline=float("inf"), request_id="t"))


def test_a_pair_is_recomputed_only_after_its_next_candle_has_closed():
    clock = Clock(T0_MS + 5 * 60_000)
    fetcher = FakeFetcher(clock)
    rsi = tracker(clock, fetcher, full_every_s=86_400.0)
    pairs = [("BTCUSDT", "1h")]
    first = sweep(rsi, pairs)
    assert [(symbol, interval) for symbol, interval, _ in first] == pairs
    clock.now_ms = T0_MS + HOUR_MS - 1  # the candle opened at T0 is still forming
    assert sweep(rsi, pairs) == []
    assert (rsi.refreshes, len(fetcher.asked)) == (1, 1)
    clock.now_ms = T0_MS + HOUR_MS + 1000  # it has closed: one more klines call and step
    [(_, _, value)] = sweep(rsi, pairs)
    assert value == first[0][2] + 1  # the reading moved on by one closed candle
    assert (rsi.refreshes, len(fetcher.asked), rsi.states) == (2, 2, 1)


def test_between_candle_closes_only_a_full_pass_gives_the_known_values():
    clock = Clock(T0_MS + 60_000)
    rsi = tracker(clock, FakeFetcher(clock), full_every_s=600.0)
    pairs = [("BTCUSDT", "1h"), ("ETHUSDT", "1h")]
    assert len(sweep(rsi, pairs)) == 2
    clock.now_ms += 60_000
    assert sweep(rsi, pairs) == []
    assert len(sweep(rsi, pairs, full=True)) == 2  # an alert was added
    clock.now_ms += 600_000
    assert len(sweep(rsi, pairs)) == 2  # the periodic full pass


def test_at_most_max_refreshes_a_sweep_the_longest_waiting_first():
    clock = Clock(T0_MS + 60_000)
    fetcher = FakeFetcher(clock)
    rsi = tracker(clock, fetcher, max_refreshes=2)
    pairs = [("AAAUSDT", "1h"), ("BBBUSDT", "1h"), ("CCCUSDT", "1h")]
    sweep(rsi, pairs)
    sweep(rsi, pairs)
    assert fetcher.asked == [("AAAUSDT", "1h"), ("BBBUSDT", "1h"), ("CCCUSDT", "1h")]
    clock.now_ms += HOUR_MS
    sweep(rsi, pairs)
    assert fetcher.asked[3:] == [("AAAUSDT", "1h"), ("BBBUSDT", "1h")]


def test_a_failed_refresh_keeps_the_last_reading_and_is_retried():
    clock = Clock(T0_MS + 60_000)
    fetcher = FakeFetcher(clock)
    rsi = tracker(clock, fetcher, full_every_s=86_400.0)
    pairs = [("BTCUSDT", "1h")]
    [before] = sweep(rsi, pairs)
    clock.now_ms += HOUR_MS
    fetcher.failing.add("BTCUSDT")
    assert sweep(rsi, pairs) == [] and rsi.failed_refreshes == 1
    assert sweep(rsi, pairs, full=True) == [before]
    assert sweep(rsi, pairs) == [] and rsi.failed_refreshes == 1  # not retried every sweep
    fetcher.failing.clear()
    clock.now_ms += 60_000
    [after] = sweep(rsi, pairs)
    assert after[2] == before[2] + 1


def test_pairs_without_live_alerts_are_forgotten():
    clock = Clock(T0_MS + 60_000)
    rsi = tracker(clock, FakeFetcher(clock))
    sweep(rsi, [("BTCUSDT", "1h"), ("BTCUSDT", "4h")])
    assert rsi.states == 2
    sweep(rsi, [("BTCUSDT", "4h")])
    assert rsi.states == 1


def _month_start_ms(year: int, month: int) -> int:
    from datetime import datetime, timezone
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return int(datetime(year, month, 1, tzinfo=timezone.utc).timestamp() * 1000)


class MonthlyFetcher(FakeFetcher):
    """Monthly candles with the exchange's calendar close times (months are 28 to 31 days)."""

    def offer(self, message: Fetch) -> bool:
        self.asked.append((message.spec.symbol, message.spec.interval))
        assert message.reply_to is not None
        starts = [_month_start_ms(2025, month) for month in range(6, 6 + 27)]
        opens = [t for t in starts[:-1] if t <= self.clock.now_ms]
        closes = [starts[starts.index(t) + 1] - 1 for t in opens]
        rows = [[t, "1", "9", "0.5", "2", "10"] for t in opens]
        message.reply_to.set(Klines(symbol=message.spec.symbol, interval="1M",
                                    candles=from_rows(rows), close_time_ms=tuple(closes),
                                    last_is_open=closes[-1] >= self.clock.now_ms))
        return True


def test_a_monthly_pair_follows_the_calendar_not_thirty_day_months():
    # January has 31 days: on the 31st its candle is still forming (a "30-day month" took it
    # as closed, so RSI used a candle that repaints), and before February 1 nothing new has
    # closed (it was fetched again at every sweep from January 30).
    clock = Clock(_month_start_ms(2027, 1) + 30 * 86_400_000 + 12 * HOUR_MS)  # Jan 31 12:00
    fetcher = MonthlyFetcher(clock)
    indicator = FakeIndicator()
    seen: list[int] = []
    asked = indicator.ask

    def ask(message: ComputeIndicators, *, timeout: float) -> Any:
        seen.append(int(message.candles.open_time[-1]))
        return asked(message, timeout=timeout)

    indicator.ask = ask  # type: ignore[method-assign]
    rsi = RsiTracker(fetcher=fetcher, indicator=indicator,  # type: ignore[arg-type]
                     wall_clock=clock, clock=clock, full_every_s=86_400.0 * 90)
    pairs = [("BTCUSDT", "1M")]
    sweep(rsi, pairs)
    assert seen == [_month_start_ms(2026, 12)]  # December: the last closed month
    clock.now_ms += HOUR_MS
    sweep(rsi, pairs)
    assert len(fetcher.asked) == 1  # nothing new has closed
    clock.now_ms = _month_start_ms(2027, 2) + 60_000
    sweep(rsi, pairs)
    assert seen[-1] == _month_start_ms(2027, 1) and len(fetcher.asked) == 2
    clock.now_ms = _month_start_ms(2027, 3) - HOUR_MS  # February (28 days) still forming
    sweep(rsi, pairs)
    assert len(fetcher.asked) == 2
    clock.now_ms = _month_start_ms(2027, 3) + 60_000  # it closed on March 1, not March 3
    sweep(rsi, pairs)
    assert seen[-1] == _month_start_ms(2027, 2) and len(fetcher.asked) == 3
