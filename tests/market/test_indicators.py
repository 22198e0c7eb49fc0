"""The numpy kernels equal TA-Lib's output and every indicator degrades to "n/a" on its own."""

from __future__ import annotations

import csv
import importlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import talib

from fakes.exchange.catalog import DEFAULT_SYMBOLS, INTERVALS
from fakes.exchange.series import SyntheticSeries
from market.candles import Candles, FloatArray, load_csv
from market.indicator_set import REQUIRED_CANDLES, VALUE_NAMES, IndicatorSet, compute_indicators
from market.indicators import (
    adx,
    atr,
    bollinger,
    ema,
    macd,
    obv,
    rsi,
    sma,
    stochastic,
    vwap,
)

DATA = Path(__file__).resolve().parents[1] / "data"
SOLUSDT_CSV = DATA / "SOLUSDT_1h.csv"
HOUR_MS = 3_600_000
SMA_TYPE = talib.MA_Type.SMA
DAY_MS = 86_400_000
RANDOM_WALK_START_MS = 1_700_000_000_000 // DAY_MS * DAY_MS
"""2023-11-14 00:00 UTC: a session start, so VWAP has a complete session from the start."""


def random_walk_candles(
    seed: int, n: int, *, volatility: float = 0.01, start_price: float = 100.0
) -> Candles:
    """Hourly candles of a seeded geometric random walk with wicks and log-normal volume."""
    rng = np.random.default_rng(seed)
    close = start_price * np.exp(np.cumsum(rng.normal(0.0, volatility, n)))
    open_ = np.concatenate(([start_price], close))[:n]
    wick = volatility / 2
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, wick, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, wick, n)))
    return Candles(
        open_time=RANDOM_WALK_START_MS + HOUR_MS * np.arange(n, dtype=np.int64),
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=rng.lognormal(10.0, 0.5, n),
    )


def simulator_candles(symbol: str, n: int) -> Candles:
    """``n`` closed hourly candles from the exchange simulator's synthetic series."""
    spec = next(spec for spec in DEFAULT_SYMBOLS if spec.symbol == symbol)
    series = SyntheticSeries(spec, seed=20_241_101)
    interval = INTERVALS["1h"]
    first = interval.index_at(1_704_067_200_000)  # 2024-01-01: long after the listing
    rows = series.candles(interval, first, first + n - 1, now_ms=interval.open_ms(first + n))
    return Candles(
        open_time=np.array([row.open_time for row in rows], dtype=np.int64),
        open=np.array([row.open for row in rows]),
        high=np.array([row.high for row in rows]),
        low=np.array([row.low for row in rows]),
        close=np.array([row.close for row in rows]),
        volume=np.array([row.volume for row in rows]),
    )


SERIES: dict[str, Callable[[], Candles]] = {
    "SOLUSDT 1h": lambda: load_csv(SOLUSDT_CSV),
    "random walk, 1 % steps": lambda: random_walk_candles(1, 1000),
    "random walk, 5 % steps": lambda: random_walk_candles(2, 1000, volatility=0.05),
    "random walk at 1e-5 (a micro-priced coin)": lambda: random_walk_candles(
        3, 600, start_price=1e-5
    ),
    "random walk at 60,000": lambda: random_walk_candles(4, 600, start_price=60_000.0),
    "random walk, 6,000 candles (several closed-form blocks)": lambda: random_walk_candles(
        5, 6000
    ),
    "simulator SOLUSDT 1h": lambda: simulator_candles("SOLUSDT", 1000),
    "simulator DOGEUSDT 1h (coarse ticks)": lambda: simulator_candles("DOGEUSDT", 1000),
}

Kernel = Callable[[Candles], tuple[FloatArray, ...]]
# (label, ours, TA-Lib's), each giving the outputs in the same order.
CASES: list[tuple[str, Kernel, Kernel]] = [
    ("SMA(20)", lambda c: (sma(c.close, 20),), lambda c: (talib.SMA(c.close, 20),)),
    ("EMA(12)", lambda c: (ema(c.close, 12),), lambda c: (talib.EMA(c.close, 12),)),
    ("EMA(26)", lambda c: (ema(c.close, 26),), lambda c: (talib.EMA(c.close, 26),)),
    ("EMA(50)", lambda c: (ema(c.close, 50),), lambda c: (talib.EMA(c.close, 50),)),
    ("EMA(200)", lambda c: (ema(c.close, 200),), lambda c: (talib.EMA(c.close, 200),)),
    ("RSI(14)", lambda c: (rsi(c.close, 14),), lambda c: (talib.RSI(c.close, 14),)),
    ("MACD(12,26,9)", lambda c: macd(c.close, 12, 26, 9), lambda c: talib.MACD(c.close, 12, 26, 9)),
    (
        "BBANDS(20,2,2)",
        lambda c: bollinger(c.close, 20, 2.0),
        lambda c: talib.BBANDS(c.close, 20, 2.0, 2.0, talib.MA_Type.SMA),
    ),
    (
        "ATR(14)",
        lambda c: (atr(c.high, c.low, c.close, 14),),
        lambda c: (talib.ATR(c.high, c.low, c.close, 14),),
    ),
    (
        "STOCH(14,3,SMA,3,SMA)",
        lambda c: stochastic(c.high, c.low, c.close, 14, 3, 3),
        lambda c: talib.STOCH(
            c.high, c.low, c.close, 14, 3, talib.MA_Type.SMA, 3, talib.MA_Type.SMA
        ),
    ),
    ("OBV", lambda c: (obv(c.close, c.volume),), lambda c: (talib.OBV(c.close, c.volume),)),
    (
        "ADX(14), +DI(14), -DI(14)",
        lambda c: adx(c.high, c.low, c.close, 14),
        lambda c: (
            talib.ADX(c.high, c.low, c.close, 14),
            talib.PLUS_DI(c.high, c.low, c.close, 14),
            talib.MINUS_DI(c.high, c.low, c.close, 14),
        ),
    ),
]


def assert_matches_talib(
    actual: FloatArray, expected: FloatArray, label: str, rel: float = 1e-6
) -> None:
    """Same warm-up as TA-Lib (NaN at the same places), then relative error <= ``rel``.

    Values within 1e-12 of the series' own scale of zero (a MACD histogram crossing zero) are
    compared against that scale instead of their own tiny magnitude.
    """
    assert actual.shape == expected.shape, f"{label}: shape {actual.shape} != {expected.shape}"
    nan_mismatch = np.flatnonzero(np.isnan(actual) != np.isnan(expected))
    assert nan_mismatch.size == 0, (
        f"{label}: warm-up differs from TA-Lib at indices {nan_mismatch[:5].tolist()} "
        f"(ours {actual[nan_mismatch[:5]]}, TA-Lib {expected[nan_mismatch[:5]]})"
    )
    valid = ~np.isnan(expected)
    if not valid.any():
        return
    scale = float(np.max(np.abs(expected[valid])))
    error = np.abs(actual[valid] - expected[valid])
    relative = error / np.maximum(np.abs(expected[valid]), 1e-12 * scale)
    worst = int(np.argmax(relative))
    index = int(np.flatnonzero(valid)[worst])
    assert relative[worst] <= rel, (
        f"{label}: relative error {relative[worst]:.3g} > {rel:g} at index {index} "
        f"(ours {actual[index]!r}, TA-Lib {expected[index]!r})"
    )


@pytest.fixture(scope="module", params=sorted(SERIES))
def series(request: pytest.FixtureRequest) -> Candles:
    return SERIES[request.param]()


@pytest.mark.parametrize(("label", "ours", "theirs"), CASES, ids=[case[0] for case in CASES])
def test_kernels_equal_talib_after_warm_up(
    series: Candles, label: str, ours: Kernel, theirs: Kernel
) -> None:
    expected = theirs(series)
    actual = ours(series)
    assert len(actual) == len(expected)
    for index, (mine, reference) in enumerate(zip(actual, expected)):
        assert_matches_talib(mine, reference, f"{label} output {index}")


@pytest.mark.parametrize("length", [0, 1, 5, 13, 14, 15, 17, 18, 27, 28, 33, 34, 35])
@pytest.mark.parametrize(("label", "ours", "theirs"), CASES, ids=[case[0] for case in CASES])
def test_kernels_warm_up_like_talib_on_short_series(
    length: int, label: str, ours: Kernel, theirs: Kernel
) -> None:
    candles = load_csv(SOLUSDT_CSV)[:length]
    for index, (mine, reference) in enumerate(zip(ours(candles), theirs(candles))):
        assert_matches_talib(mine, reference, f"{label} output {index} on {length} candles")


def test_adx_holds_its_value_while_the_directional_index_is_undefined_as_talib_does() -> None:
    # Twenty inside candles move the close but never the high or low: no directional movement.
    count = 60
    high = np.full(count, 10.0)
    low = np.full(count, 9.0)
    close = np.where(np.arange(count) % 2 == 0, 9.2, 9.8)
    trend = np.cumsum(np.abs(np.random.default_rng(5).normal(0.0, 1.0, count - 20)))
    high[20:] += trend
    low[20:] += trend
    close[20:] = (high[20:] + low[20:]) / 2
    for mine, reference in zip(adx(high, low, close), talib.ADX(high, low, close, 14)[None]):
        assert_matches_talib(mine, reference, "ADX with undefined DX")


def test_flat_prices_give_talibs_zero_for_rsi_stochastic_and_adx() -> None:
    flat = np.full(40, 5.0)
    assert rsi(flat)[-1] == talib.RSI(flat)[-1] == 0.0
    assert stochastic(flat, flat, flat).k[-1] == 0.0
    assert adx(flat, flat, flat).adx[-1] == talib.ADX(flat, flat, flat, 14)[-1] == 0.0


def test_period_one_averages_return_their_input() -> None:
    close = random_walk_candles(6, 30).close
    np.testing.assert_allclose(ema(close, 1), close, rtol=1e-15)
    np.testing.assert_allclose(sma(close, 1), close, rtol=1e-12)


def test_sma_of_five_is_available_on_ten_candles() -> None:
    close = load_csv(SOLUSDT_CSV).close[:10]
    assert sma(close, 5)[-1] == pytest.approx(close[-5:].mean(), rel=1e-12)
    assert np.isnan(rsi(close, 14)).all()


def test_vwap_is_cumulative_typical_price_times_volume_over_cumulative_volume() -> None:
    candles = random_walk_candles(7, 50)
    typical = (candles.high + candles.low + candles.close) / 3
    direct = [
        sum(typical[: i + 1] * candles.volume[: i + 1]) / sum(candles.volume[: i + 1])
        for i in range(len(candles))
    ]
    np.testing.assert_allclose(
        vwap(candles.high, candles.low, candles.close, candles.volume), direct, rtol=1e-12
    )


def test_vwap_matches_the_stockcharts_table_while_its_window_spans_the_whole_series() -> None:
    # The table's source (the `ta` project) uses a rolling 14-row window; until row 14 that
    # window is the whole series, i.e. the cumulative definition used here.
    with open(DATA / "stockcharts" / "cs-vwap.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    high, low, close, volume, expected = (
        np.array([float(row[column]) for row in rows])
        for column in ("High", "Low", "Close", "Volume", "vwap")
    )
    np.testing.assert_allclose(vwap(high, low, close, volume)[:14], expected[:14], rtol=1e-9)


def test_vwap_restarts_at_each_session() -> None:
    candles = random_walk_candles(8, 72)
    session = candles.open_time // 86_400_000
    values = vwap(candles.high, candles.low, candles.close, candles.volume, session)
    for day in np.unique(session):
        rows = session == day
        alone = vwap(
            candles.high[rows], candles.low[rows], candles.close[rows], candles.volume[rows]
        )
        np.testing.assert_allclose(values[rows], alone, rtol=1e-12)


def test_vwap_is_nan_while_the_session_has_no_volume() -> None:
    prices = np.array([10.0, 11.0, 12.0])
    values = vwap(prices, prices, prices, np.array([0.0, 0.0, 2.0]))
    assert np.isnan(values[:2]).all() and values[2] == pytest.approx(12.0)


# --- compute_indicators: latest values and per-indicator n/a -------------------------------


def test_latest_values_equal_the_last_talib_values_on_real_candles() -> None:
    candles = load_csv(SOLUSDT_CSV)
    latest = compute_indicators(candles)
    c = candles
    expected = {
        "sma_20": talib.SMA(c.close, 20),
        "sma_50": talib.SMA(c.close, 50),
        "ema_12": talib.EMA(c.close, 12),
        "ema_200": talib.EMA(c.close, 200),
        "rsi_14": talib.RSI(c.close, 14),
        "macd_histogram": talib.MACD(c.close, 12, 26, 9)[2],
        "bollinger_upper": talib.BBANDS(c.close, 20, 2.0, 2.0, talib.MA_Type.SMA)[0],
        "atr_14": talib.ATR(c.high, c.low, c.close, 14),
        "stoch_d": talib.STOCH(c.high, c.low, c.close, 14, 3, SMA_TYPE, 3, SMA_TYPE)[1],
        "obv": talib.OBV(c.close, c.volume),
        "adx_14": talib.ADX(c.high, c.low, c.close, 14),
        "minus_di_14": talib.MINUS_DI(c.high, c.low, c.close, 14),
    }
    for name, series in expected.items():
        assert latest.value(name) == pytest.approx(series[-1], rel=1e-6), name
    assert latest.unavailable == ()
    assert latest.candle_count == 1000 and latest.close == c.close[-1]


def test_ten_candles_leave_rsi_na_with_a_reason_and_still_give_obv_vwap_and_levels() -> None:
    candles = load_csv(SOLUSDT_CSV)[:12]
    latest = compute_indicators(candles[:10])
    assert latest.rsi_14 is None
    assert latest.reason("rsi_14") == "needs 15 candles, have 10"
    assert latest.reason("macd") == "needs 34 candles, have 10"
    assert latest.obv == pytest.approx(talib.OBV(candles.close[:10], candles.volume[:10])[-1])
    assert latest.vwap is not None and latest.reason("vwap") is None
    assert latest.support is None and latest.reason("support") == "needs 11 candles, have 10"
    assert compute_indicators(candles).support is not None


@pytest.mark.parametrize("length", [0, 1, 14, 15, 27, 28, 33, 34, 199, 200])
def test_each_indicator_is_na_exactly_until_it_has_the_candles_it_needs(length: int) -> None:
    latest = compute_indicators(random_walk_candles(9, length))
    for name in VALUE_NAMES:
        if length >= REQUIRED_CANDLES[name]:
            assert latest.value(name) is not None, f"{name} should exist with {length} candles"
        else:
            assert latest.value(name) is None
            assert latest.reason(name) == f"needs {REQUIRED_CANDLES[name]} candles, have {length}"


def test_vwap_is_na_when_the_series_starts_after_the_session_opened() -> None:
    latest = compute_indicators(load_csv(SOLUSDT_CSV)[:5])  # 15:00 to 19:00 on one day
    assert latest.vwap is None
    assert latest.reason("vwap") == "the series starts after the current session opened"
    assert latest.sma_20 is None and latest.obv is not None


def test_an_empty_series_gives_an_all_na_set() -> None:
    latest = compute_indicators(random_walk_candles(1, 0))
    assert latest.candle_count == 0 and latest.close is None and latest.open_time is None
    assert {name for name, _ in latest.unavailable} == set(REQUIRED_CANDLES)


def test_the_indicator_set_is_frozen_and_slotted() -> None:
    latest = compute_indicators(random_walk_candles(1, 30))
    with pytest.raises(AttributeError):
        latest.rsi_14 = 50.0  # type: ignore[misc]
    assert not hasattr(latest, "__dict__")
    assert isinstance(latest, IndicatorSet)


def test_asking_for_an_unknown_indicator_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        compute_indicators(random_walk_candles(1, 30)).value("support")


def test_vwap_is_na_while_the_current_session_has_no_volume() -> None:
    candles = random_walk_candles(10, 30)
    silent = Candles(
        open_time=candles.open_time, open=candles.open, high=candles.high, low=candles.low,
        close=candles.close, volume=np.where(np.arange(30) >= 24, 0.0, candles.volume),
    )
    latest = compute_indicators(silent)
    assert latest.vwap is None
    assert latest.reason("vwap") == "no volume traded yet in the current session"


def test_every_indicator_name_is_a_field_of_the_indicator_set() -> None:
    fields = set(IndicatorSet.__dataclass_fields__)
    assert set(REQUIRED_CANDLES) <= fields
    assert set(VALUE_NAMES) == set(REQUIRED_CANDLES) - {"support", "resistance"}


@pytest.mark.parametrize(
    "module_name",
    [
        "market.candles",
        "market.errors",
        "market.incremental",
        "market.incremental_parts",
        "market.indicator_set",
        "market.indicators",
        "market.levels",
        "market.smoothing",
        "market.trend",
    ],
)
def test_every_exported_name_exists_and_is_sorted(module_name: str) -> None:
    def isort_style(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    module = importlib.import_module(module_name)
    assert list(module.__all__) == sorted(module.__all__, key=isort_style)
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.__all__ names missing {name}"
