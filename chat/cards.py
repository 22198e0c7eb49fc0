"""Every chat reply's text: pure renderers from market, storage and supervision data to HTML.

Why: formatting is where bots go wrong in front of users (a stray ``<`` drops a whole reply, an
unlabelled stale price misleads), so it lives in pure functions with readable tests, away from
the actors. All dynamic text is escaped here; callers pass the result straight to the
transport, which splits anything over 4096 characters (``chat.chunking``).

This module is the one to import from. It defines the list cards (/alerts, /watchlist) and the
error texts, with the plain records storage maps its rows to, and re-exports the analysis
(``chat.cards_analysis``), multi-symbol (``chat.cards_market``) and admin
(``chat.cards_admin``) cards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chat.cards_admin import (
    actors_tree,
    command_stats_text,
    health_text,
    runtime_stats_text,
    weight_line,
)
from chat.cards_analysis import analysis_card, status_label
from chat.cards_format import arrow, format_age, format_date, format_percent, format_price
from chat.cards_market import PriceItem, price_lines, top_movers
from chat.html import bold, code, escape
from market.analysis import MarketUnavailable
from market.errors import InvalidSymbolFormat, UnknownSymbol

__all__ = [
    "AlertView",
    "PriceItem",
    "WatchRow",
    "actors_tree",
    "alerts_list",
    "analysis_card",
    "command_stats_text",
    "health_text",
    "price_lines",
    "runtime_stats_text",
    "status_label",
    "symbol_error_text",
    "top_movers",
    "unavailable_text",
    "watchlist",
    "weight_line",
]

_NAME_WIDTH = 10


@dataclass(frozen=True, slots=True)
class AlertView:
    """One alert as /alerts shows it."""

    id: int
    """Storage id, what /delalert takes."""
    symbol: str
    """Exchange symbol, e.g. BTCUSDT."""
    direction: str
    """"above" or "below"."""
    price: float
    """The level."""
    created_at: float
    """When it was set, epoch seconds."""


@dataclass(frozen=True, slots=True)
class WatchRow:
    """One watched symbol with its latest figures (None when they could not be fetched)."""

    symbol: str
    """Exchange symbol."""
    price: float | None
    """Last price."""
    change_pct: float | None
    """24h change in percent."""
    note: str | None = None
    """Why the figures are missing or old, e.g. "stale: 5 min old"."""


def unavailable_text(answer: MarketUnavailable) -> str:
    """No data and nothing cached: why, and when trying again makes sense."""
    reason = answer.reason.rstrip(".")
    return (f"⚠️ No data for {bold(answer.symbol)} right now: {escape(reason)}.\n"
            f"Try again in {escape(format_age(answer.retry_after_s))}.")


def symbol_error_text(error: InvalidSymbolFormat | UnknownSymbol) -> str:
    """The answer to a coin the exchange does not have, with suggestions when there are any.

    The user's text is quoted cut to 24 characters: 5,000 characters of garbage must not come
    back as several messages."""
    shown = code(error.text if len(error.text) <= 24 else error.text[:23] + "…")
    if isinstance(error, InvalidSymbolFormat):
        return f"⚠️ {shown} is not a coin: {escape(error.reason)}."
    if error.status is not None:
        return f"⚠️ {shown} is not trading right now (status {escape(error.status)})."
    line = f"⚠️ I don't know the coin {shown}."
    if error.suggestions:
        line += " Did you mean " + ", ".join(code(s) for s in error.suggestions[:5]) + "?"
    return line


def alerts_list(alerts: Sequence[AlertView]) -> str:
    """/alerts: one line per alert, oldest first as given, and how to delete one."""
    if not alerts:
        return f"You have no alerts. Set one with {code('/alert btc above 70k')}."
    lines = [f"{bold('Your alerts')} ({len(alerts)})"]
    for alert in alerts:
        lines.append(f"#{alert.id} {bold(alert.symbol)} {escape(alert.direction)} "
                     f"{escape(format_price(alert.price))} · set {format_date(alert.created_at)}")
    lines.append(f"Delete one with {code('/delalert ID')}.")
    return "\n".join(lines)


def _watch_line(row: WatchRow) -> str:
    price = "n/a" if row.price is None else format_price(row.price)
    if row.change_pct is None:
        change = f"  {'n/a':>8}"
    else:
        change = f"{arrow(row.change_pct)} {format_percent(row.change_pct):>8}"
    line = f"{row.symbol:<{_NAME_WIDTH}} {change}  {price}"
    return line + (f"  ({row.note})" if row.note else "")


def watchlist(rows: Sequence[WatchRow]) -> str:
    """/watchlist: a monospace table of the watched symbols."""
    if not rows:
        return f"Your watchlist is empty. Add a coin with {code('/watch btc')}."
    table = escape("\n".join(_watch_line(row) for row in rows))
    return f"{bold('Watchlist')}\n<pre>{table}</pre>"
