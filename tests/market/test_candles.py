"""Candles are validated once, at the boundary, and stay read-only afterwards."""

from __future__ import annotations

import math

import numpy as np
import pytest

from market.candles import Candle, Candles, from_rows, load_csv
from market.errors import InvalidCandles, MarketError
from tests.market.test_indicators import HOUR_MS, SOLUSDT_CSV


def _kline(open_time: int, *prices_and_volume: str) -> list[object]:
    """A Binance kline row: open time, open/high/low/close/volume as strings, then extras."""
    return [open_time, *prices_and_volume, open_time + HOUR_MS - 1, "0", 10, "0", "0", "0"]


def test_binance_kline_rows_become_candles() -> None:
    candles = from_rows(
        [
            _kline(0, "1.5", "2.0", "1.0", "1.75", "10"),
            _kline(HOUR_MS, "1.75", "1.8", "1.7", "1.7", "0"),
        ]
    )
    assert candles.close.tolist() == [1.75, 1.7]
    assert candles.open_time.dtype == np.int64 and candles.open_time.tolist() == [0, HOUR_MS]
    assert candles.candle(-1) == Candle(
        open_time=HOUR_MS, open=1.75, high=1.8, low=1.7, close=1.7, volume=0.0
    )


def test_the_csv_loader_reads_the_real_candles() -> None:
    candles = load_csv(SOLUSDT_CSV)
    assert len(candles) == 1000
    assert candles.candle(0) == Candle(
        open_time=1_726_844_400_000,
        open=147.81,
        high=148.78,
        low=146.61,
        close=147.88,
        volume=197950.322,
    )


def test_candle_arrays_are_read_only_copies() -> None:
    close = np.array([1.0, 2.0])
    candles = Candles(
        open_time=np.array([0, 1]), open=close, high=close, low=close, close=close, volume=close
    )
    close[0] = 5.0
    assert candles.close[0] == 1.0
    for name in ("open_time", "open", "high", "low", "close", "volume"):
        with pytest.raises(ValueError):
            getattr(candles, name)[0] = 3


BROKEN = {
    "lengths differ": dict(high=[2.0]),
    "not finite": dict(close=[1.5, math.nan]),
    "high below low": dict(high=[2.0, 0.5]),
    "high below close": dict(high=[2.0, 1.2], close=[1.5, 1.6]),
    "low above open": dict(low=[1.0, 1.55]),
    "non-positive price": dict(low=[0.0, 1.0]),
    "negative volume": dict(volume=[1.0, -1.0]),
    "times not increasing": dict(open_time=[5, 5]),
    "two-dimensional": dict(volume=[[1.0, 1.0]]),
}


@pytest.mark.parametrize("change", BROKEN.values(), ids=BROKEN.keys())
def test_invalid_candles_are_rejected_with_a_typed_error(change: dict[str, object]) -> None:
    fields: dict[str, object] = dict(
        open_time=[0, 1],
        open=[1.5, 1.5],
        high=[2.0, 2.0],
        low=[1.0, 1.0],
        close=[1.5, 1.5],
        volume=[1.0, 1.0],
    )
    fields |= change
    with pytest.raises(InvalidCandles) as caught:
        Candles(**fields)  # type: ignore[arg-type]
    assert isinstance(caught.value, MarketError)


def test_rejections_name_the_first_offending_row() -> None:
    with pytest.raises(InvalidCandles) as caught:
        from_rows([_kline(0, "1", "1", "1", "1", "1"), _kline(1, "1", "0.5", "1", "1", "1")])
    assert caught.value.index == 1


def test_a_malformed_kline_row_is_rejected() -> None:
    with pytest.raises(InvalidCandles, match="non-numeric"):
        from_rows([[0, "abc", "1", "1", "1", "1"]])
    with pytest.raises(InvalidCandles, match="at least 6 fields"):
        from_rows([[0, "1", "1"]])


def test_a_single_candle_is_validated_too() -> None:
    with pytest.raises(InvalidCandles):
        Candle(open_time=0, open=1.0, high=0.9, low=0.8, close=1.0, volume=1.0)


def test_slices_are_candles_and_steps_are_refused() -> None:
    candles = load_csv(SOLUSDT_CSV)
    assert candles[10:20].close.tolist() == candles.close[10:20].tolist()
    assert len(candles[:0]) == 0
    with pytest.raises(InvalidCandles, match="step"):
        candles[::2]


def test_candles_compare_by_identity_not_element_by_element() -> None:
    candles = load_csv(SOLUSDT_CSV)
    assert candles == candles
    assert candles != candles[:]
