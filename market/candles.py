"""Immutable OHLCV candle series, validated once at the boundary.

Indicator kernels trust their input: every check (equal lengths, finite numbers, high >= low,
increasing open times) happens here, when a series is built, so the kernels stay branch-free.
The arrays are private copies marked read-only, so a ``Candles`` can be shared between actors
without anyone mutating it behind the others' backs.

Prices arrive from Binance as strings (``["1700000000000", "37000.1", ...]``) and from the test
data as CSV; ``from_rows`` and ``load_csv`` turn both into the same container.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from market.errors import InvalidCandles

__all__ = ["Candle", "Candles", "FloatArray", "IntArray", "from_rows", "load_csv"]

FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.int64]

_PRICE_FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True, slots=True)
class Candle:
    """One closed candle, the unit of an incremental indicator update."""

    open_time: int
    """Open time in milliseconds since the Unix epoch (UTC)."""
    open: float
    high: float
    low: float
    close: float
    volume: float
    """Base-asset volume traded during the candle."""

    def __post_init__(self) -> None:
        prices = (self.open, self.high, self.low, self.close, self.volume)
        if not all(math.isfinite(value) for value in prices):
            raise InvalidCandles("a candle field is not finite")
        if self.low <= 0.0:
            raise InvalidCandles("prices must be positive")
        if self.high < max(self.open, self.close) or self.low > min(self.open, self.close):
            raise InvalidCandles("high and low must bracket open and close")
        if self.volume < 0.0:
            raise InvalidCandles("volume is negative")


@dataclass(frozen=True, slots=True, eq=False)
class Candles:
    """A validated, read-only OHLCV series in chronological order.

    The constructor copies each argument into a fresh float64 (``open_time``: int64) array and
    marks it read-only; it raises ``InvalidCandles`` when the series breaks an invariant.
    An empty series is valid: every indicator is then "n/a". Equality is identity, since
    element-wise array comparison has no single truth value.
    """

    open_time: IntArray
    """Open times in milliseconds since the Unix epoch (UTC), strictly increasing."""
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __post_init__(self) -> None:
        open_time = _frozen_copy(self.open_time, np.int64, "open_time")
        object.__setattr__(self, "open_time", open_time)
        for name in _PRICE_FIELDS:
            object.__setattr__(self, name, _frozen_copy(getattr(self, name), np.float64, name))
        _check_series(self)

    def __len__(self) -> int:
        return int(self.close.shape[0])

    def __getitem__(self, rows: slice) -> Candles:
        """Return the candles in ``rows`` (a slice; a step is not allowed) as a new series."""
        if rows.step not in (None, 1):
            raise InvalidCandles(f"a candle slice cannot have a step, got {rows.step}")
        return Candles(
            open_time=self.open_time[rows],
            open=self.open[rows],
            high=self.high[rows],
            low=self.low[rows],
            close=self.close[rows],
            volume=self.volume[rows],
        )

    def candle(self, index: int) -> Candle:
        """Return the candle at ``index`` (negative indices count from the end)."""
        return Candle(
            open_time=int(self.open_time[index]),
            open=float(self.open[index]),
            high=float(self.high[index]),
            low=float(self.low[index]),
            close=float(self.close[index]),
            volume=float(self.volume[index]),
        )


def from_rows(rows: Iterable[Sequence[object]]) -> Candles:
    """Build a series from Binance kline rows ``[open_time, "o", "h", "l", "c", "v", ...]``.

    Extra columns (close time, quote volume, trade count...) are ignored.
    """
    columns: list[list[float]] = [[] for _ in _PRICE_FIELDS]
    open_times: list[int] = []
    for index, row in enumerate(rows):
        if len(row) < 6:
            raise InvalidCandles(f"a kline row needs at least 6 fields, got {len(row)}", index)
        try:
            open_times.append(int(str(row[0])))
            for column, field in zip(columns, row[1:6]):
                column.append(float(str(field)))
        except ValueError as exc:
            raise InvalidCandles(f"non-numeric field in kline row: {exc}", index) from exc
    return _from_columns(open_times, columns)


def load_csv(path: str | Path) -> Candles:
    """Read a CSV whose columns are time, Open, High, Low, Close, Volume (with a header row).

    The time column holds ISO dates or date-times, taken as UTC; this is the format of the
    project's test data (``tests/data/SOLUSDT_1h.csv``).
    """
    columns: list[list[float]] = [[] for _ in _PRICE_FIELDS]
    open_times: list[int] = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for index, row in enumerate(reader):
            if len(row) < 6:
                raise InvalidCandles(f"a CSV row needs 6 columns, got {len(row)}", index)
            try:
                stamp = datetime.fromisoformat(row[0]).replace(tzinfo=UTC)
                open_times.append(round(stamp.timestamp() * 1000))
                for column, field in zip(columns, row[1:6]):
                    column.append(float(field))
            except ValueError as exc:
                raise InvalidCandles(f"unreadable CSV row: {exc}", index) from exc
    return _from_columns(open_times, columns)


def _from_columns(open_times: list[int], columns: list[list[float]]) -> Candles:
    opens, highs, lows, closes, volumes = columns
    return Candles(
        open_time=np.array(open_times, dtype=np.int64),
        open=np.array(opens, dtype=np.float64),
        high=np.array(highs, dtype=np.float64),
        low=np.array(lows, dtype=np.float64),
        close=np.array(closes, dtype=np.float64),
        volume=np.array(volumes, dtype=np.float64),
    )


def _frozen_copy(values: ArrayLike, dtype: type[np.generic], name: str) -> NDArray[np.generic]:
    try:
        array = np.array(values, dtype=dtype, copy=True)
    except (TypeError, ValueError) as exc:
        raise InvalidCandles(f"{name} cannot be read as {np.dtype(dtype).name}: {exc}") from exc
    if array.ndim != 1:
        raise InvalidCandles(f"{name} must be one-dimensional, got shape {array.shape}")
    array.flags.writeable = False
    return array


def _first(mask: NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


def _check_series(candles: Candles) -> None:
    length = candles.open_time.shape[0]
    for name in _PRICE_FIELDS:
        if getattr(candles, name).shape[0] != length:
            shape = getattr(candles, name).shape
            raise InvalidCandles(f"{name} has shape {shape}, open_time has length {length}")
    for name in _PRICE_FIELDS:
        not_finite = ~np.isfinite(getattr(candles, name))
        if not_finite.any():
            raise InvalidCandles(f"{name} is not finite", _first(not_finite))
    rules = (
        (candles.low <= 0.0, "prices must be positive"),
        (candles.high < candles.low, "high is below low"),
        (candles.high < np.maximum(candles.open, candles.close), "high is below open or close"),
        (candles.low > np.minimum(candles.open, candles.close), "low is above open or close"),
        (candles.volume < 0.0, "volume is negative"),
    )
    for broken, reason in rules:
        if broken.any():
            raise InvalidCandles(reason, _first(broken))
    not_increasing = np.diff(candles.open_time) <= 0
    if not_increasing.any():
        raise InvalidCandles("open times must increase strictly", _first(not_increasing) + 1)

