"""Readable test data for the chat cards: an analysis whose every number is chosen by hand."""

from __future__ import annotations

import dataclasses
from typing import Any

from market.analysis import MarketAnalysis
from market.indicator_set import IndicatorSet
from market.trend import summarize_trend

# 2024-05-01 13:00 UTC: the last closed 1h candle opened then and closed at 14:00.
OPEN_TIME_MS = 1_714_568_400_000

FULL_INDICATORS: dict[str, Any] = {
    "candle_count": 500,
    "open_time": OPEN_TIME_MS,
    "close": 65_000.0,
    "sma_20": 64_500.0,
    "sma_50": 64_000.0,
    "ema_12": 64_800.0,
    "ema_26": 64_600.0,
    "ema_50": 64_000.0,
    "ema_200": 60_000.0,
    "rsi_14": 72.4,
    "macd": 150.0,
    "macd_signal": 120.0,
    "macd_histogram": 30.0,
    "bollinger_upper": 65_500.0,
    "bollinger_middle": 64_500.0,
    "bollinger_lower": 63_500.0,
    "atr_14": 650.0,
    "stoch_k": 85.0,
    "stoch_d": 80.5,
    "obv": 1_234_567.0,
    "vwap": 64_800.0,
    "adx_14": 28.0,
    "plus_di_14": 25.0,
    "minus_di_14": 15.0,
    "support": (63_800.0, 62_000.0),
    "resistance": (66_200.0,),
}


def indicators(**changes: Any) -> IndicatorSet:
    return IndicatorSet(**(FULL_INDICATORS | changes))


def analysis(ind: IndicatorSet | None = None, **changes: Any) -> MarketAnalysis:
    """BTCUSDT on 1h at 65,000 (+2.35% in 24h), with ``ind`` or the full indicator set."""
    chosen = indicators() if ind is None else ind
    base = MarketAnalysis(
        symbol="BTCUSDT",
        interval="1h",
        last_price=65_000.0,
        change_24h_pct=2.35,
        high_24h=66_000.0,
        low_24h=63_000.0,
        volume_24h=12_345.6,
        quote_volume_24h=800_500_000.0,
        indicators=chosen,
        summary=summarize_trend(chosen),
        as_of_ms=chosen.open_time,
        computed_at=1_714_572_000.0,
    )
    return dataclasses.replace(base, **changes)
