"""Binance kline intervals and their lengths: the one table every market module reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from market.candles import Candles
from market.errors import MarketError

__all__ = ["INTERVAL_MS", "InvalidInterval", "check_interval", "close_of", "closed_only",
           "is_open"]

INTERVAL_MS: dict[str, int] = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
    "1M": 2_592_000_000,
}
"""Nominal lengths (1M as 30 days): a fallback only when the exchange's close times are missing;
whether a candle is still open is decided from its close time (``closed_only``)."""


class InvalidInterval(MarketError):
    """An interval Binance does not serve."""

    def __init__(self, interval: str) -> None:
        self.interval = interval
        super().__init__(
            f"unknown interval {interval!r}; use one of {', '.join(INTERVAL_MS)}"
        )


def check_interval(interval: str) -> str:
    """Return ``interval`` if Binance serves it; ``1H``/``1D`` are accepted as ``1h``/``1d``."""
    if interval in INTERVAL_MS:
        return interval
    lowered = interval.lower()
    if lowered in INTERVAL_MS and lowered != "1m":  # "1M" (month) and "1m" differ by case only
        return lowered
    raise InvalidInterval(interval)


def is_open(open_time_ms: int, interval: str, now_ms: int) -> bool:
    """Whether the candle opened at ``open_time_ms`` is still forming at ``now_ms``."""
    return open_time_ms + INTERVAL_MS[interval] > now_ms


def closed_only(candles: Candles, close_times: Sequence[int], interval: str,
                now_ms: int) -> Candles:
    """``candles`` without the last one if it is still forming at ``now_ms``.

    Decided by the exchange's close time of that candle when there is one per candle (a month
    is 28 to 31 days, not ``INTERVAL_MS["1M"]``); by open time + the nominal length otherwise.
    """
    if not len(candles):
        return candles
    if len(close_times) == len(candles):
        still_open = close_times[-1] >= now_ms
    else:
        still_open = is_open(int(candles.open_time[-1]), interval, now_ms)
    return candles[: len(candles) - 1] if still_open else candles


def close_of(open_time_ms: int, interval: str) -> int:
    """When the candle opened at ``open_time_ms`` closes (the next one opens), epoch ms: for 1M
    the first of the next calendar month (UTC, as Binance counts months), else open + length.
    For display (a card's "as of"); an unknown interval adds nothing."""
    if interval == "1M":
        opened = datetime.fromtimestamp(open_time_ms / 1000, UTC)
        year, month = divmod(opened.year * 12 + opened.month, 12)  # the next month, 0-based
        return int(datetime(year, month + 1, 1, tzinfo=UTC).timestamp() * 1000)
    return open_time_ms + INTERVAL_MS.get(interval, 0)
