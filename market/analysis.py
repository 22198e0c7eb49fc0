"""The market analysis a user sees, and the typed answer when there is none.

Pure assembly: the 24h ticker gives price and daily stats, the indicator set (over closed
candles) and its trend summary give the technical view. Every analysis says where it came from
and whether it is stale; a degraded answer always carries the reason, so nothing unlabelled
ever reaches a user.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from market.indicator_set import IndicatorSet
from market.trend import TrendSummary, summarize_trend

__all__ = ["MarketAnalysis", "MarketUnavailable", "build_analysis"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MarketAnalysis:
    """Price, 24h statistics and indicators for one symbol and interval."""

    symbol: str
    """Exchange symbol, e.g. BTCUSDT."""
    interval: str
    """Candle interval the indicators were computed on."""
    last_price: float
    """Last traded price (24h ticker)."""
    change_24h_pct: float
    """Rolling 24h change in percent."""
    high_24h: float
    """Rolling 24h high."""
    low_24h: float
    """Rolling 24h low."""
    volume_24h: float
    """Rolling 24h volume in the base asset."""
    quote_volume_24h: float
    """Rolling 24h volume in the quote asset."""
    indicators: IndicatorSet | None
    """Indicators after the last closed candle; None when they could not be computed now."""
    summary: TrendSummary | None
    """Rule-based trend verdict from the indicators."""
    indicators_note: str | None = None
    """Why indicators are missing (e.g. the indicator actor is restarting)."""
    as_of_ms: int | None = None
    """Open time of the last closed candle used."""
    computed_at: float = 0.0
    """Wall-clock time (epoch s) the analysis was assembled."""
    source: str = "exchange"
    """"exchange" (just fetched), "cache" (fresh from cache) or "stale-cache"."""
    stale: bool = False
    """True when served from data older than its freshness limit."""
    age_s: float = 0.0
    """Age of the data when served."""
    degraded_reason: str | None = None
    """Why a stale or partial answer was given (always set when ``stale``)."""

    def served_from_cache(self, age_s: float) -> MarketAnalysis:
        return dataclasses.replace(self, source="cache", age_s=age_s)

    def served_stale(self, age_s: float, reason: str) -> MarketAnalysis:
        return dataclasses.replace(
            self, source="stale-cache", stale=True, age_s=age_s, degraded_reason=reason
        )


@dataclass(frozen=True, slots=True)
class MarketUnavailable:
    """No analysis can be given now, and nothing is cached: try again later."""

    symbol: str
    """Exchange symbol asked for."""
    reason: str
    """Plain-language cause, e.g. "the exchange is not answering"."""
    retry_after_s: float
    """When trying again makes sense."""


def build_analysis(
    *,
    symbol: str,
    interval: str,
    ticker: object,
    indicators: IndicatorSet | None,
    indicators_note: str | None,
    computed_at: float,
) -> MarketAnalysis:
    """Assemble an analysis from a 24h ticker (``market.models.Ticker24h``) and indicators."""
    return MarketAnalysis(
        symbol=symbol,
        interval=interval,
        last_price=float(getattr(ticker, "last_price")),
        change_24h_pct=float(getattr(ticker, "price_change_percent")),
        high_24h=float(getattr(ticker, "high_price")),
        low_24h=float(getattr(ticker, "low_price")),
        volume_24h=float(getattr(ticker, "volume")),
        quote_volume_24h=float(getattr(ticker, "quote_volume")),
        indicators=indicators,
        summary=summarize_trend(indicators) if indicators is not None else None,
        indicators_note=indicators_note,
        as_of_ms=indicators.open_time if indicators is not None else None,
        computed_at=computed_at,
    )
