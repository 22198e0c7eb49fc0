"""Cards for many symbols at once: /price with several coins, and /top movers.

Why separate from the analysis card: these take whatever the market side has for each symbol
(a full analysis, a bare 24h ticker, a last price, or "unavailable") and must render one line
per symbol whatever it got, so a single failing coin never hides the others.
"""

from __future__ import annotations

from collections.abc import Sequence

from chat.cards_analysis import status_label
from chat.cards_format import arrow, format_age, format_compact, format_percent, format_price
from chat.html import bold, escape
from market.analysis import MarketAnalysis, MarketUnavailable
from market.models import PriceTicker, Ticker24h

__all__ = [
    "MIN_QUOTE_VOLUME",
    "PriceItem",
    "chart_unavailable_note",
    "price_lines",
    "stale_chart_caption",
    "stale_line",
    "top_movers",
]

PriceItem = MarketAnalysis | MarketUnavailable | Ticker24h | PriceTicker
MIN_QUOTE_VOLUME = 1_000_000.0
"""Pairs that traded less than this (in the quote asset) over 24h are left out of /top: on thin
pairs a single trade makes a +300% "gainer"."""
_NAME_WIDTH = 10


def _price_line(item: PriceItem) -> str:
    match item:
        case MarketAnalysis():
            change = item.change_24h_pct
            line = (f"{bold(item.symbol)} {escape(format_price(item.last_price))}  "
                    f"{arrow(change)} {escape(format_percent(change))}")
            label = status_label(item)
            return line if label is None else f"{line}\n    {label}"
        case Ticker24h():
            change = item.price_change_percent
            return (f"{bold(item.symbol)} {escape(format_price(item.last_price))}  "
                    f"{arrow(change)} {escape(format_percent(change))}")
        case PriceTicker():
            return f"{bold(item.symbol)} {escape(format_price(item.price))}"
        case MarketUnavailable():
            return f"{bold(item.symbol)} n/a — {escape(item.reason)}"
    raise TypeError(f"cannot show a price for {item!r}")


def price_lines(items: Sequence[PriceItem]) -> str:
    """One line per symbol (price and 24h change), stale ones labelled below their line."""
    if not items:
        return "No prices to show."
    return "\n".join(_price_line(item) for item in items)


def stale_line(age_s: float, reason: str | None) -> str:
    """The label above figures served from cache past their freshness."""
    return f"⚠️ Stale: {format_age(age_s)} old — {escape(reason or '')}"


def chart_unavailable_note(reason: object) -> str:
    """Above the text analysis sent instead of a chart that could not be drawn."""
    return escape(f"🖼 Chart unavailable right now ({reason}); here is the text analysis instead.")


def stale_chart_caption(age_s: float, caption: str) -> str:
    """A chart drawn from candles served from cache past their freshness."""
    return f"⚠️ stale chart: {format_age(age_s)} old\n{caption}"


def _table(tickers: Sequence[Ticker24h], quote: str) -> str:
    rows = []
    for ticker in tickers:
        name = ticker.symbol.removesuffix(quote)
        change = format_percent(ticker.price_change_percent)
        rows.append(f"{name:<{_NAME_WIDTH}} {change:>8}  {format_price(ticker.last_price)}")
    return "<pre>" + escape("\n".join(rows)) + "</pre>"


def top_movers(
    tickers: Sequence[Ticker24h],
    n: int = 5,
    *,
    quote: str = "USDT",
    min_quote_volume: float = MIN_QUOTE_VOLUME,
) -> str:
    """The ``n`` biggest 24h gainers and losers among ``quote`` pairs with real volume."""
    liquid = [
        ticker for ticker in tickers
        if ticker.symbol.endswith(quote) and ticker.symbol != quote
        and ticker.quote_volume >= min_quote_volume
    ]
    gainers = sorted((t for t in liquid if t.price_change_percent > 0),
                     key=lambda t: (-t.price_change_percent, t.symbol))[:n]
    losers = sorted((t for t in liquid if t.price_change_percent < 0),
                    key=lambda t: (t.price_change_percent, t.symbol))[:n]
    threshold = escape(format_compact(min_quote_volume))
    lines = [f"<b>Top movers, 24h</b> ({escape(quote)} pairs)"]
    if not gainers and not losers:
        lines.append(f"No {escape(quote)} pair moved with over {threshold} volume.")
        return "\n".join(lines)
    if gainers:
        lines += ["▲ <b>Gainers</b>", _table(gainers, quote)]
    if losers:
        lines += ["▼ <b>Losers</b>", _table(losers, quote)]
    lines.append(f"<i>Pairs under {threshold} {escape(quote)} volume are left out.</i>")
    return "\n".join(lines)
