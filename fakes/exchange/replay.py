"""Real candles from CSV files, replayed by the exchange simulator.

``ReplaySeries`` serves a file's rows at their real timestamps. After the last row the file
plays backwards (each candle mirrored: open and close swapped), then forwards again, and so on,
so prices stay continuous and bounded for ever without inventing data. Before the first row
there is nothing, as before a listing. Coarser intervals that are whole multiples of the file's
interval are aggregated from it; finer ones are not served (an empty klines answer).

The candle that contains "now" is revealed in proportion to the elapsed part of its period, so
a replayed symbol advances with the clock like a synthetic one.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

import numpy as np

from fakes.exchange.catalog import Interval, SymbolSpec
from fakes.exchange.series import Candle, FloatArray, build_candles, interval_bounds, snap

__all__ = ["ReplayRows", "ReplaySeries", "parse_candle_csv"]

_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class ReplayRows:
    """Consecutive real candles of one interval, as parsed from a CSV file."""

    interval: Interval
    first_index: int
    """Candle index (in ``interval``) of the first row."""
    ohlcv: FloatArray
    """Shape (rows, 5): open, high, low, close, volume."""


def parse_candle_csv(text: str, interval: Interval) -> ReplayRows:
    """Parse ``time,Open,High,Low,Close,Volume`` rows; times are ISO dates in UTC.

    A date stands for the candle that contains it, so month-end dates of a monthly file map to
    their month. Rows must be consecutive candles: a gap would silently shift the replay.
    """
    reader = csv.reader(io.StringIO(text))
    header = [name.strip().lower() for name in next(reader)]
    columns = [header.index(name) for name in ("open", "high", "low", "close", "volume")]
    indices: list[int] = []
    values: list[list[float]] = []
    for row in reader:
        if not row:
            continue
        moment = dt.datetime.fromisoformat(row[0]).replace(tzinfo=dt.timezone.utc)
        indices.append(interval.index_at(int(moment.timestamp() * 1000)))
        values.append([float(row[column]) for column in columns])
    if not indices:
        raise ValueError("candle CSV has no rows")
    if indices != list(range(indices[0], indices[0] + len(indices))):
        raise ValueError(f"candle CSV rows are not consecutive {interval.name} candles")
    return ReplayRows(
        interval=interval, first_index=indices[0], ohlcv=np.array(values, dtype=np.float64)
    )


class ReplaySeries:
    """Real candles replayed at their real times, then mirrored back and forth for ever."""

    def __init__(self, spec: SymbolSpec, rows: ReplayRows) -> None:
        self._spec = spec
        self._rows = rows
        self._native = rows.interval

    @property
    def spec(self) -> SymbolSpec:
        return self._spec

    @property
    def listed_at_ms(self) -> int:
        return self._native.open_ms(self._rows.first_index)

    @property
    def stats_interval(self) -> Interval:
        return self._native

    def supports(self, interval: Interval) -> bool:
        native_length = self._native.length_ms
        if interval == self._native:
            return True
        if native_length is None:
            return False
        if interval.length_ms is None:
            return _DAY_MS % native_length == 0
        aligned = (interval.offset_ms - self._native.offset_ms) % native_length == 0
        return interval.length_ms % native_length == 0 and aligned

    def _native_ohlcv(self, first: int, last: int, now_ms: int) -> FloatArray:
        """Native candles ``first..last`` (mirrored where the replay runs backwards)."""
        count = len(self._rows.ohlcv)
        cycle, position = np.divmod(np.arange(first, last + 1) - self._rows.first_index, count)
        backwards = cycle % 2 == 1
        rows = self._rows.ohlcv[np.where(backwards, count - 1 - position, position)].copy()
        rows[backwards, 0], rows[backwards, 3] = rows[backwards, 3], rows[backwards, 0].copy()
        if last == self._native.index_at(now_ms):
            _reveal_partially(rows[-1], self._fraction_elapsed(last, now_ms))
        return rows

    def _fraction_elapsed(self, index: int, now_ms: int) -> float:
        open_ms = self._native.open_ms(index)
        return (now_ms - open_ms) / (self._native.open_ms(index + 1) - open_ms)

    def candles(self, interval: Interval, first: int, last: int, now_ms: int) -> list[Candle]:
        if last < first or not self.supports(interval):
            return []
        opens, next_opens = interval_bounds(interval, first, last)
        ends = np.minimum(next_opens - 1, now_ms)
        native_first = max(self._native.index_at(int(opens[0])), self._rows.first_index)
        native_last = self._native.index_at(int(ends[-1]))
        if native_last < native_first:
            return []
        native = self._native_ohlcv(native_first, native_last, now_ms)
        # Row ranges [starts[k], stops[k]) of native candles inside each requested candle.
        starts = np.array([self._native.first_index_from(int(t)) for t in opens]) - native_first
        starts = np.clip(starts, 0, len(native) - 1)
        lasts = np.maximum(np.append(starts[1:], len(native)) - 1, starts)
        ohlc = np.stack(
            [
                native[starts, 0],
                np.maximum.reduceat(native[:, 1], starts),
                np.minimum.reduceat(native[:, 2], starts),
                native[lasts, 3],
            ],
            axis=1,
        )
        volumes = np.add.reduceat(native[:, 4], starts)
        return build_candles(self._spec, opens, next_opens, ohlc, volumes, 0.5)

    def price_at(self, time_ms: int) -> float:
        index = max(self._native.index_at(time_ms), self._rows.first_index)
        close = self._native_ohlcv(index, index, time_ms)[:, 3]
        return float(snap(close, self._spec.tick_size)[0])


def _reveal_partially(row: FloatArray, fraction: float) -> None:
    """Shrink a full candle to what had traded after ``fraction`` of its period, in place."""
    open_, high, low, close, volume = (float(value) for value in row)
    partial_close = open_ + (close - open_) * fraction
    row[1] = max(open_, partial_close) + (high - max(open_, close)) * fraction
    row[2] = min(open_, partial_close) - (min(open_, close) - low) * fraction
    row[3] = partial_close
    row[4] = volume * fraction
