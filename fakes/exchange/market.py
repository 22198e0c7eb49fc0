"""The simulator's market: which series back which symbol, and the queries Binance answers.

This sits between the candle generators (``series``) and the wire format (``api``):
it picks the window of candles a klines request means (Binance's startTime/endTime/limit
rules), and derives the rolling 24 h ticker and the 5-minute average price from the same
candles a client can download, so every number the simulator serves is consistent with its
klines. It is pure: time is always passed in.

Default symbols are the synthetic ``DEFAULT_SYMBOLS`` plus two replays of real data shipped in
``fakes/exchange/data``:

* ``SOLREALUSDT`` – Binance SOL/USDT hourly candles, 2024-09-20 15:00 to 2024-11-01 06:00 UTC.
* ``BTCREALUSDT`` – BTC/USD monthly candles, 2012-01 to 2024-12 (served as a USDT pair).

They carry a distinct name so they never clash with the synthetic ``SOLUSDT`` and ``BTCUSDT``.
"""

from __future__ import annotations

import importlib.resources
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from fakes.exchange.catalog import DEFAULT_SYMBOLS, INTERVALS, Interval, SymbolSpec
from fakes.exchange.replay import ReplaySeries, parse_candle_csv
from fakes.exchange.series import Candle, Series, SyntheticSeries

__all__ = [
    "DEFAULT_REPLAYS",
    "DayStats",
    "Market",
    "ReplaySource",
    "average_price",
    "day_stats",
    "kline_window",
    "replay_spec",
]

_DAY_MS = 86_400_000
_AVERAGE_PRICE_MINUTES = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaySource:
    """A packaged CSV file and the symbol it is served under."""

    symbol: str
    file_name: str
    interval: str


DEFAULT_REPLAYS: tuple[ReplaySource, ...] = (
    ReplaySource(symbol="SOLREALUSDT", file_name="SOLUSDT_1h.csv", interval="1h"),
    ReplaySource(symbol="BTCREALUSDT", file_name="BTCUSD_1M.csv", interval="1M"),
)


def replay_spec(symbol: str, closes: Iterable[float], *, tick_size: float = 0.01) -> SymbolSpec:
    """A symbol record for replayed data; its price level is informational only."""
    quote = next(
        (q for q in ("USDT", "USDC", "BTC", "USD") if symbol.endswith(q) and symbol != q), "USDT"
    )
    last_close = list(closes)[-1]
    return SymbolSpec(
        symbol=symbol,
        base_asset=symbol[: -len(quote)] if symbol.endswith(quote) else symbol,
        quote_asset=quote,
        price=last_close,
        annual_volatility=0.0,
        tick_size=tick_size,
        step_size=0.00001,
        daily_quote_volume=0.0,
    )


class Market:
    """An ordered mapping of symbol to series; the order is exchangeInfo's order."""

    def __init__(self, series: Iterable[Series] = ()) -> None:
        self._series: dict[str, Series] = {}
        for one in series:
            self.add(one)

    @classmethod
    def default(cls, *, seed: int, include_replays: bool = True) -> Market:
        """The 54 synthetic USDT pairs plus, optionally, the packaged real-data replays."""
        market = cls(SyntheticSeries(spec, seed=seed) for spec in DEFAULT_SYMBOLS)
        if include_replays:
            data_dir = importlib.resources.files("fakes.exchange").joinpath("data")
            for source in DEFAULT_REPLAYS:
                text = data_dir.joinpath(source.file_name).read_text(encoding="utf-8")
                market.add_csv(source.symbol, text, INTERVALS[source.interval])
        return market

    def add(self, series: Series) -> None:
        """List a series, replacing any previous one with the same symbol."""
        # Copy on write: server threads iterate the old mapping while a test adds a symbol.
        self._series = {**self._series, series.spec.symbol: series}

    def add_csv(
        self, symbol: str, text: str, interval: Interval, *, tick_size: float = 0.01
    ) -> ReplaySeries:
        """List CSV candles (``time,Open,High,Low,Close,Volume``) as a replayed symbol."""
        rows = parse_candle_csv(text, interval)
        series = ReplaySeries(replay_spec(symbol, rows.ohlcv[:, 3], tick_size=tick_size), rows)
        self.add(series)
        return series

    def add_csv_file(self, symbol: str, path: Path, interval: Interval) -> ReplaySeries:
        """Like ``add_csv``, reading the file at ``path``."""
        return self.add_csv(symbol, path.read_text(encoding="utf-8"), interval)

    def get(self, symbol: str) -> Series | None:
        return self._series.get(symbol)

    def symbols(self) -> list[str]:
        return list(self._series)

    def __iter__(self) -> Iterator[Series]:
        return iter(self._series.values())

    def __len__(self) -> int:
        return len(self._series)

    def as_mapping(self) -> Mapping[str, Series]:
        return dict(self._series)


def kline_window(
    interval: Interval,
    *,
    now_ms: int,
    listed_at_ms: int,
    start_ms: int | None,
    end_ms: int | None,
    limit: int,
) -> range:
    """Candle indices a klines request selects, following Binance's documented rules.

    No times: the latest ``limit`` candles (the last one still open). startTime alone, or with
    endTime: the oldest candles opening at or after it, stopping at endTime. endTime alone: the
    latest candles opening at or before it. Nothing opens before listing or after now.
    """
    earliest = interval.index_at(listed_at_ms)
    latest = interval.index_at(now_ms)
    if end_ms is not None:
        latest = min(latest, interval.index_at(end_ms))
    if start_ms is not None:
        first = max(earliest, interval.first_index_from(start_ms))
        return range(first, min(latest, first + limit - 1) + 1)
    first = max(earliest, latest - limit + 1)
    return range(first, latest + 1)


def candles_in(series: Series, interval: Interval, window: range, now_ms: int) -> list[Candle]:
    """Candles of ``window`` (empty when the series does not serve ``interval``)."""
    if not window or not series.supports(interval):
        return []
    return series.candles(interval, window.start, window.stop - 1, now_ms)


@dataclass(frozen=True, slots=True, kw_only=True)
class DayStats:
    """Rolling 24 h statistics, computed from the series' finest candles."""

    open_time: int
    close_time: int
    open_price: float
    prev_close_price: float
    high: float
    low: float
    last_price: float
    volume: float
    quote_volume: float
    trades: int
    first_trade_id: int
    last_trade_id: int

    @property
    def price_change(self) -> float:
        return self.last_price - self.open_price

    @property
    def price_change_percent(self) -> float:
        return 100.0 * self.price_change / self.open_price if self.open_price else 0.0

    @property
    def weighted_average_price(self) -> float:
        return self.quote_volume / self.volume if self.volume else self.last_price


def day_stats(series: Series, now_ms: int) -> DayStats:
    """The 24 h ticker: candles opening in the last 24 h, the current one still open."""
    interval = series.stats_interval
    earliest = interval.index_at(series.listed_at_ms)
    current = max(earliest, interval.index_at(now_ms))
    first = max(earliest, min(current, interval.first_index_from(now_ms - _DAY_MS)))
    previous = first - 1 if first > earliest else first
    candles = series.candles(interval, previous, current, now_ms)
    prev_close = candles[0].close if previous < first else candles[0].open
    window = candles[1:] if previous < first else candles
    trades = sum(candle.trades for candle in window)
    # Trade ids are synthetic: about one id per trade since listing, so they grow with time.
    trade_rate = max(trades, 1) / max(now_ms - window[0].open_time, 1)
    first_id = int((window[0].open_time - series.listed_at_ms) * trade_rate)
    return DayStats(
        open_time=window[0].open_time,
        close_time=now_ms,
        open_price=window[0].open,
        prev_close_price=prev_close,
        high=max(candle.high for candle in window),
        low=min(candle.low for candle in window),
        last_price=window[-1].close,
        volume=sum(candle.volume for candle in window),
        quote_volume=sum(candle.quote_volume for candle in window),
        trades=trades,
        first_trade_id=first_id if trades else -1,
        last_trade_id=first_id + trades - 1 if trades else -1,
    )


def average_price(series: Series, now_ms: int) -> float:
    """avgPrice: the mean of the last price sampled once a minute over the last 5 minutes."""
    samples = [
        series.price_at(now_ms - minute * 60_000) for minute in range(_AVERAGE_PRICE_MINUTES)
    ]
    return math.fsum(samples) / len(samples)
