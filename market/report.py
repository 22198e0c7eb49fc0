"""Plain-text rendering of an analysis (the console demo; the chat issue adds HTML cards)."""

from __future__ import annotations

from market.analysis import MarketAnalysis, MarketUnavailable

__all__ = ["format_analysis", "format_price", "format_unavailable"]


def format_price(value: float) -> str:
    """Prices with sensible precision across BTC (95,000.00) and SHIB (0.00002200)."""
    if value >= 1000:
        return f"{value:,.2f}"
    if value >= 1:
        return f"{value:.4f}"
    return f"{value:.8f}".rstrip("0").rstrip(".") if value else "0"


def _staleness(analysis: MarketAnalysis) -> list[str]:
    if not analysis.stale:
        return []
    return [f"⚠ stale: {analysis.age_s:.0f} s old — {analysis.degraded_reason}"]


def format_analysis(analysis: MarketAnalysis) -> str:
    """A dozen lines: price, 24h, verdict, main indicators, and any staleness note."""
    lines = [
        f"{analysis.symbol} · {analysis.interval}",
        f"price {format_price(analysis.last_price)}  24h {analysis.change_24h_pct:+.2f}%",
        f"24h range {format_price(analysis.low_24h)} – {format_price(analysis.high_24h)}",
        *_staleness(analysis),
    ]
    ind = analysis.indicators
    if ind is None:
        lines.append(f"indicators: n/a ({analysis.indicators_note})")
        return "\n".join(lines)
    if analysis.summary is not None:
        lines.append(f"trend: {analysis.summary.verdict} (score {analysis.summary.score:+d})")

    def value(name: str, digits: int = 2) -> str:
        number = ind.value(name)
        return "n/a" if number is None else f"{number:.{digits}f}"

    lines += [
        f"RSI(14) {value('rsi_14', 1)}",
        f"MACD {value('macd', 4)} signal {value('macd_signal', 4)} hist {value('macd_histogram', 4)}",
        f"EMA50 {value('ema_50')}  EMA200 {value('ema_200')}",
        f"Bollinger {value('bollinger_lower')} – {value('bollinger_upper')}",
    ]
    return "\n".join(lines)


def format_unavailable(answer: MarketUnavailable) -> str:
    return f"{answer.symbol}: {answer.reason}; try again in {answer.retry_after_s:.0f} s"
