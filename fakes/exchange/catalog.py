"""What the exchange simulator lists: its symbols and Binance's kline intervals.

The simulator has to look like Binance Spot to a client that knows nothing about it, so the
symbol table carries the facts a client reads from ``exchangeInfo`` (assets, tick size, lot
step) next to the facts the candle generator needs (a realistic price level, an annualised
volatility, a daily turnover). Keeping both in one frozen record means a symbol cannot be
listed without a way to price it.

Intervals are modelled as integer candle *indices*: index ``i`` of an interval opens at
``interval.open_ms(i)`` and closes one millisecond before ``interval.open_ms(i + 1)``. That one
abstraction covers fixed-length intervals (minutes to weeks) and calendar months alike, so the
window arithmetic of ``/api/v3/klines`` (startTime, endTime, limit) is plain integer arithmetic.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
from dataclasses import dataclass

__all__ = [
    "DEFAULT_SYMBOLS",
    "INTERVALS",
    "SYNTHETIC_LISTED_AT_MS",
    "Interval",
    "SymbolSpec",
    "decimals_of",
    "format_decimal",
]

_MINUTE_MS = 60_000
_HOUR_MS = 60 * _MINUTE_MS
_DAY_MS = 24 * _HOUR_MS

# 1970-01-01 was a Thursday; Binance weeks open on Monday 00:00 UTC, four days later.
_WEEK_OFFSET_MS = 4 * _DAY_MS

SYNTHETIC_LISTED_AT_MS = 1_577_836_800_000
"""2020-01-01T00:00:00Z: no synthetic candle opens earlier, as if every pair was listed then."""


def format_decimal(value: float, decimals: int = 8) -> str:
    """Format a number the way Binance does on the wire: fixed decimals, as a string."""
    return f"{value:.{decimals}f}"


@dataclass(frozen=True, slots=True, kw_only=True)
class SymbolSpec:
    """One tradable pair: its exchangeInfo facts and the parameters of its price process."""

    symbol: str
    """Pair name as Binance spells it, e.g. ``BTCUSDT``."""
    base_asset: str
    """Asset being priced, e.g. ``BTC``."""
    quote_asset: str
    """Asset the price is quoted in, e.g. ``USDT``."""
    price: float
    """Price level the synthetic walk fluctuates around; ignored by replayed series."""
    annual_volatility: float
    """Standard deviation of the yearly log return, e.g. 0.6 for 60 %."""
    tick_size: float
    """Price granularity (PRICE_FILTER.tickSize); every served price is a multiple of it."""
    step_size: float
    """Quantity granularity (LOT_SIZE.stepSize)."""
    daily_quote_volume: float
    """Typical 24 h turnover in the quote asset, used to size candle volumes."""

    @property
    def price_decimals(self) -> int:
        """How many decimals a tick has, e.g. 2 for a tick of 0.01."""
        return decimals_of(self.tick_size)

    def round_price(self, price: float) -> float:
        """Snap a raw model price to the tick grid, as a matching engine would."""
        return round(round(price / self.tick_size) * self.tick_size, self.price_decimals)


@functools.lru_cache(maxsize=64)
def decimals_of(step: float) -> int:
    """How many decimals a step such as a tick size has (0.01 -> 2); Binance uses at most 8."""
    text = f"{step:.8f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def _usdt(
    base: str, price: float, vol: float, tick: float, step: float, turnover: float
) -> SymbolSpec:
    return SymbolSpec(
        symbol=f"{base}USDT",
        base_asset=base,
        quote_asset="USDT",
        price=price,
        annual_volatility=vol,
        tick_size=tick,
        step_size=step,
        daily_quote_volume=turnover,
    )


# Price levels are late-2024 magnitudes and volatilities are typical realised values, so charts
# and indicators look plausible; exactness is not the point. MATIC is listed under its current
# name POL (renamed on Binance in September 2024).
DEFAULT_SYMBOLS: tuple[SymbolSpec, ...] = (
    _usdt("BTC", 95_000.0, 0.55, 0.01, 0.00001, 2.0e9),
    _usdt("ETH", 3_400.0, 0.70, 0.01, 0.0001, 1.2e9),
    _usdt("BNB", 650.0, 0.55, 0.01, 0.001, 1.5e8),
    _usdt("SOL", 180.0, 0.90, 0.01, 0.001, 6.0e8),
    _usdt("XRP", 2.3, 0.85, 0.0001, 0.1, 5.0e8),
    _usdt("ADA", 0.95, 0.85, 0.0001, 0.1, 1.2e8),
    _usdt("DOGE", 0.38, 1.00, 0.00001, 1.0, 3.0e8),
    _usdt("TRX", 0.25, 0.60, 0.0001, 0.1, 8.0e7),
    _usdt("DOT", 7.5, 0.85, 0.001, 0.01, 5.0e7),
    _usdt("LINK", 22.0, 0.90, 0.01, 0.01, 9.0e7),
    _usdt("POL", 0.50, 0.95, 0.0001, 0.1, 3.0e7),
    _usdt("LTC", 100.0, 0.75, 0.01, 0.001, 6.0e7),
    _usdt("AVAX", 38.0, 0.95, 0.01, 0.01, 7.0e7),
    _usdt("ATOM", 6.5, 0.85, 0.001, 0.01, 3.0e7),
    _usdt("UNI", 13.0, 0.95, 0.001, 0.01, 4.0e7),
    _usdt("XLM", 0.40, 0.85, 0.0001, 0.1, 4.0e7),
    _usdt("ETC", 27.0, 0.80, 0.01, 0.01, 2.5e7),
    _usdt("FIL", 5.2, 0.95, 0.001, 0.01, 3.0e7),
    _usdt("NEAR", 5.3, 1.00, 0.001, 0.1, 5.0e7),
    _usdt("APT", 9.5, 1.00, 0.001, 0.01, 4.0e7),
    _usdt("ARB", 0.75, 1.00, 0.0001, 0.1, 4.0e7),
    _usdt("OP", 1.9, 1.00, 0.001, 0.01, 3.0e7),
    _usdt("SUI", 4.0, 1.10, 0.0001, 0.1, 1.5e8),
    _usdt("BCH", 450.0, 0.75, 0.1, 0.001, 5.0e7),
    # A longer tail, so load tests can ask for 50+ distinct symbols.
    _usdt("SHIB", 0.000022, 1.10, 0.00000001, 1.0, 1.0e8),
    _usdt("PEPE", 0.000018, 1.40, 0.00000001, 1.0, 2.0e8),
    _usdt("TON", 5.5, 0.80, 0.001, 0.01, 3.0e7),
    _usdt("ICP", 10.0, 1.00, 0.001, 0.01, 2.0e7),
    _usdt("HBAR", 0.28, 1.10, 0.00001, 1.0, 5.0e7),
    _usdt("VET", 0.045, 1.00, 0.00001, 1.0, 2.0e7),
    _usdt("ALGO", 0.40, 1.00, 0.0001, 1.0, 2.5e7),
    _usdt("AAVE", 330.0, 0.95, 0.01, 0.001, 6.0e7),
    _usdt("MKR", 1_600.0, 0.85, 1.0, 0.0001, 1.5e7),
    _usdt("INJ", 24.0, 1.10, 0.01, 0.01, 3.0e7),
    _usdt("RENDER", 7.5, 1.10, 0.001, 0.01, 3.0e7),
    _usdt("GRT", 0.25, 1.05, 0.0001, 1.0, 2.0e7),
    _usdt("SAND", 0.60, 1.05, 0.0001, 1.0, 2.0e7),
    _usdt("MANA", 0.55, 1.05, 0.0001, 1.0, 1.5e7),
    _usdt("AXS", 7.0, 1.05, 0.001, 0.01, 1.5e7),
    _usdt("EGLD", 35.0, 0.95, 0.01, 0.01, 1.0e7),
    _usdt("THETA", 2.0, 1.00, 0.001, 0.1, 1.0e7),
    _usdt("XTZ", 1.3, 0.95, 0.001, 0.1, 1.0e7),
    _usdt("EOS", 0.90, 0.95, 0.0001, 0.1, 1.5e7),
    _usdt("FLOW", 0.85, 1.00, 0.001, 0.01, 8.0e6),
    _usdt("KAVA", 0.50, 1.00, 0.0001, 0.1, 8.0e6),
    _usdt("RUNE", 5.0, 1.10, 0.001, 0.1, 2.0e7),
    _usdt("SNX", 2.5, 1.05, 0.001, 0.1, 1.0e7),
    _usdt("CRV", 0.90, 1.10, 0.001, 0.1, 3.0e7),
    _usdt("LDO", 1.9, 1.05, 0.001, 0.01, 2.0e7),
    _usdt("IMX", 1.5, 1.10, 0.0001, 0.01, 1.5e7),
    _usdt("STX", 1.8, 1.10, 0.0001, 0.1, 1.5e7),
    _usdt("SEI", 0.45, 1.20, 0.0001, 0.1, 3.0e7),
    _usdt("TIA", 6.0, 1.20, 0.001, 0.01, 3.0e7),
    _usdt("WLD", 2.4, 1.30, 0.001, 0.1, 6.0e7),
)


@dataclass(frozen=True, slots=True)
class Interval:
    """A Binance kline interval, mapping candle indices to open times and back."""

    name: str
    """Wire name, e.g. ``1h``; case matters (``1m`` is a minute, ``1M`` a month)."""
    length_ms: int | None
    """Fixed candle length, or None for calendar months."""
    offset_ms: int = 0
    """Where index 0 opens relative to the Unix epoch (weeks start on a Monday)."""

    def index_at(self, time_ms: int) -> int:
        """Index of the candle that contains ``time_ms``."""
        if self.length_ms is None:
            moment = dt.datetime.fromtimestamp(time_ms // 1000, tz=dt.timezone.utc)
            return moment.year * 12 + moment.month - 1
        return (time_ms - self.offset_ms) // self.length_ms

    def first_index_from(self, time_ms: int) -> int:
        """Index of the first candle that opens at or after ``time_ms``."""
        index = self.index_at(time_ms)
        return index if self.open_ms(index) == time_ms else index + 1

    def open_ms(self, index: int) -> int:
        """Open time of candle ``index`` in epoch milliseconds."""
        if self.length_ms is None:
            year, month0 = divmod(index, 12)
            return calendar.timegm((year, month0 + 1, 1, 0, 0, 0)) * 1000
        return index * self.length_ms + self.offset_ms

    def close_ms(self, index: int) -> int:
        """Close time as Binance reports it: one millisecond before the next candle opens."""
        return self.open_ms(index + 1) - 1


INTERVALS: dict[str, Interval] = {
    interval.name: interval
    for interval in (
        Interval("1m", _MINUTE_MS),
        Interval("3m", 3 * _MINUTE_MS),
        Interval("5m", 5 * _MINUTE_MS),
        Interval("15m", 15 * _MINUTE_MS),
        Interval("30m", 30 * _MINUTE_MS),
        Interval("1h", _HOUR_MS),
        Interval("2h", 2 * _HOUR_MS),
        Interval("4h", 4 * _HOUR_MS),
        Interval("6h", 6 * _HOUR_MS),
        Interval("8h", 8 * _HOUR_MS),
        Interval("12h", 12 * _HOUR_MS),
        Interval("1d", _DAY_MS),
        Interval("3d", 3 * _DAY_MS),
        Interval("1w", 7 * _DAY_MS, _WEEK_OFFSET_MS),
        Interval("1M", None),
    )
}
"""Every interval Binance Spot serves except ``1s``, keyed by wire name."""
