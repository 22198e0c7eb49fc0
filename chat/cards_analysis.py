"""The /analysis card: a dozen lines a user reads at a glance, and the details behind a button.

Why this shape: peers either dump every indicator (a wall of numbers) or give a bare verdict.
The compact card answers "where is it and which way is it going" (price, 24h, trend verdict,
RSI, MACD, EMAs, Bollinger) with a word next to each number; Details adds levels, volatility,
momentum and volume, and the rules behind the verdict. Anything stale or degraded is labelled
on the first line with its age and reason; an indicator that is n/a says why.
"""

from __future__ import annotations

from chat.cards_format import (
    arrow,
    format_age,
    format_compact,
    format_percent,
    format_price,
    format_signed,
    format_time,
)
from chat.html import bold, escape, italic
from market.analysis import MarketAnalysis
from market.indicator_set import IndicatorSet
from market.intervals import close_of
from market.trend import RSI_OVERBOUGHT, RSI_OVERSOLD

__all__ = ["STOCH_OVERBOUGHT", "STOCH_OVERSOLD", "analysis_card", "status_label"]

STOCH_OVERBOUGHT = 80.0
STOCH_OVERSOLD = 20.0
_NEAR_BAND = 0.2
"""%B within this of 0 or 1 counts as "near" the band."""


def status_label(analysis: MarketAnalysis) -> str | None:
    """The warning line for stale or degraded data, or None when the data is current."""
    if analysis.stale:
        reason = analysis.degraded_reason or "the source did not say why"
        return f"⚠️ Stale: data is {format_age(analysis.age_s)} old — {escape(reason)}"
    if analysis.degraded_reason:
        return f"⚠️ Degraded: {escape(analysis.degraded_reason)}"
    return None


def _na(ind: IndicatorSet, name: str) -> str:
    reason = ind.reason(name)
    return f"n/a ({escape(reason)})" if reason else "n/a"


def _side(price: float | None, level: float) -> str:
    if price is None:
        return ""
    if price > level:
        return " — price above"
    if price < level:
        return " — price below"
    return " — price at it"


def _rsi_line(ind: IndicatorSet) -> str:
    if ind.rsi_14 is None:
        return f"RSI(14) {_na(ind, 'rsi_14')}"
    zone = ("overbought" if ind.rsi_14 > RSI_OVERBOUGHT
            else "oversold" if ind.rsi_14 < RSI_OVERSOLD else "neutral")
    return f"RSI(14) {ind.rsi_14:.1f} — {zone}"


def _macd_line(ind: IndicatorSet) -> str:
    histogram = ind.macd_histogram
    if histogram is None:
        return f"MACD {_na(ind, 'macd_histogram')}"
    if histogram > 0:
        wording = "above signal, bullish"
    elif histogram < 0:
        wording = "below signal, bearish"
    else:
        wording = "crossing its signal"
    return f"MACD hist {escape(format_signed(histogram))} — {wording}"


def _ema_line(ind: IndicatorSet, name: str, label: str) -> str:
    value = ind.value(name)
    if value is None:
        return f"{label} {_na(ind, name)}"
    return f"{label} {escape(format_price(value))}{_side(ind.close, value)}"


def _bollinger_line(ind: IndicatorSet) -> str:
    upper, lower, close = ind.bollinger_upper, ind.bollinger_lower, ind.close
    if upper is None or lower is None:
        return f"Bollinger {_na(ind, 'bollinger_upper')}"
    if close is None or upper <= lower:
        return "Bollinger bands flat (no volatility)"
    percent_b = (close - lower) / (upper - lower)
    if percent_b > 1:
        where = "above the upper band"
    elif percent_b < 0:
        where = "below the lower band"
    elif percent_b >= 1 - _NEAR_BAND:
        where = "near the upper band"
    elif percent_b <= _NEAR_BAND:
        where = "near the lower band"
    else:
        where = "mid-band"
    return f"Bollinger %B {percent_b:.2f} — {where}"


def _compact_lines(analysis: MarketAnalysis, ind: IndicatorSet) -> list[str]:
    summary = analysis.summary
    trend = (f"Trend: {bold(summary.verdict)} (score {summary.score:+d} of ±5)"
             if summary is not None else "Trend: n/a")
    return [
        trend,
        _rsi_line(ind),
        _macd_line(ind),
        _ema_line(ind, "ema_50", "EMA50"),
        _ema_line(ind, "ema_200", "EMA200"),
        _bollinger_line(ind),
    ]


def _levels_line(ind: IndicatorSet, name: str, label: str) -> str:
    levels: tuple[float, ...] | None = getattr(ind, name)
    if levels is None:
        return f"{label} {_na(ind, name)}"
    if not levels:
        return f"{label}: none found nearby"
    return f"{label} " + " · ".join(escape(format_price(level)) for level in levels)


def _detail_lines(analysis: MarketAnalysis, ind: IndicatorSet) -> list[str]:
    lines = ["", bold("Details"), _levels_line(ind, "support", "Support"),
             _levels_line(ind, "resistance", "Resistance")]
    if ind.atr_14 is None:
        lines.append(f"ATR(14) {_na(ind, 'atr_14')}")
    else:
        share = f" ({ind.atr_14 / ind.close * 100:.2f}% of price)" if ind.close else ""
        lines.append(f"ATR(14) {escape(format_price(ind.atr_14))}{share}")
    if ind.stoch_k is None or ind.stoch_d is None:
        lines.append(f"Stochastic {_na(ind, 'stoch_k')}")
    else:
        zone = ("overbought" if ind.stoch_k > STOCH_OVERBOUGHT
                else "oversold" if ind.stoch_k < STOCH_OVERSOLD else "neutral")
        lines.append(f"Stochastic %K {ind.stoch_k:.1f} / %D {ind.stoch_d:.1f} — {zone}")
    if ind.adx_14 is not None and ind.plus_di_14 is not None and ind.minus_di_14 is not None:
        lines.append(f"ADX(14) {ind.adx_14:.1f} (+DI {ind.plus_di_14:.1f} / "
                     f"-DI {ind.minus_di_14:.1f})")
    else:
        lines.append(f"ADX(14) {_na(ind, 'adx_14')}")
    obv = "n/a" if ind.obv is None else escape(format_compact(ind.obv))
    lines.append(f"OBV {obv}")
    lines.append(_ema_line(ind, "vwap", "VWAP"))
    if ind.bollinger_upper is not None and ind.bollinger_lower is not None:
        lines.append(f"Bollinger bands {escape(format_price(ind.bollinger_lower))} – "
                     f"{escape(format_price(ind.bollinger_upper))}")
    lines.append(_volume_line(analysis))
    if analysis.summary is not None and analysis.summary.rules:
        lines.append(italic("Why: " + "; ".join(analysis.summary.rules)))
    return lines


def _volume_line(analysis: MarketAnalysis) -> str:
    return (f"Volume 24h {escape(format_compact(analysis.volume_24h))} "
            f"(quote {escape(format_compact(analysis.quote_volume_24h))})")


def _footer(analysis: MarketAnalysis, zone_name: str) -> str | None:
    parts = []
    if analysis.as_of_ms is not None:
        # as_of_ms is the last closed candle's open time; its close is what "as of" means.
        closed_at = close_of(analysis.as_of_ms, analysis.interval)  # a month is not 30 days
        parts.append(f"as of {escape(format_time(closed_at, analysis.interval, zone_name))}")
    elif analysis.computed_at > 0:
        computed_ms = int(analysis.computed_at * 1000)
        parts.append(f"as of {escape(format_time(computed_ms, None, zone_name))}")
    if analysis.source == "cache" and analysis.age_s >= 1:
        parts.append(f"cached {format_age(analysis.age_s)} ago")
    return italic(" · ".join(parts)) if parts else None


def analysis_card(analysis: MarketAnalysis, *, expanded: bool, zone_name: str = "UTC") -> str:
    """The card as HTML: compact (about a dozen lines) or with the details expanded; its time
    in the user's zone."""
    change = analysis.change_24h_pct
    lines = [
        f"{bold(analysis.symbol)} · {escape(analysis.interval)}",
        f"Price {bold(format_price(analysis.last_price))}  {arrow(change)} "
        f"{escape(format_percent(change))} (24h)",
        f"24h range {escape(format_price(analysis.low_24h))} – "
        f"{escape(format_price(analysis.high_24h))}",
    ]
    label = status_label(analysis)
    if label is not None:
        lines.insert(0, label)
    ind = analysis.indicators
    if ind is None:
        note = analysis.indicators_note or "not available right now"
        lines.append(f"Indicators: n/a — {escape(note)}")
        if expanded:
            lines.append(_volume_line(analysis))
    else:
        lines += _compact_lines(analysis, ind)
        if expanded:
            lines += _detail_lines(analysis, ind)
    footer = _footer(analysis, zone_name)
    if footer is not None:
        lines.append(footer)
    return "\n".join(lines)
