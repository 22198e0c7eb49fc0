"""Every chat reply's text: pure renderers from market, storage and supervision data to HTML.

Why: formatting is where bots go wrong in front of users (a stray ``<`` drops a whole reply, an
unlabelled stale price misleads), so it lives in pure functions with readable tests, away from
the actors. All dynamic text is escaped here; callers pass the result straight to the
transport, which splits anything over 4096 characters (``chat.chunking``).

This module is the one to import from. It defines the watchlist card and the
error texts, with the plain records storage maps its rows to, and re-exports the analysis
(``chat.cards_analysis``), multi-symbol (``chat.cards_market``) and admin
(``chat.cards_admin``) cards; /alert and /alerts have ``chat.cards_alerts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chat.arguments import shown
from chat.cards_admin import (
    actors_tree,
    command_stats_text,
    health_text,
    runtime_stats_text,
    weight_line,
)
from chat.cards_analysis import analysis_card, status_label
from chat.cards_format import arrow, format_age, format_percent, format_price
from chat.cards_market import (
    PriceItem,
    chart_unavailable_note,
    price_lines,
    stale_chart_caption,
    stale_line,
    top_movers,
)
from chat.html import bold, code, escape
from market.analysis import MarketUnavailable
from market.models import Ticker24h
from market.errors import InvalidSymbolFormat, UnknownSymbol

__all__ = [
    "UNCONFIRMED",
    "PriceItem",
    "WatchRow",
    "actors_tree",
    "alert_deleted_text",
    "alert_rearmed_text",
    "alert_twin_text",
    "analysis_card",
    "chart_unavailable_note",
    "command_stats_text",
    "health_text",
    "not_saved_text",
    "price_lines",
    "quotes_text",
    "runtime_stats_text",
    "stale_chart_caption",
    "stale_line",
    "status_label",
    "symbol_error_text",
    "unknown_coins_lines",
    "top_movers",
    "unavailable_text",
    "watch_changed_text",
    "watch_note",
    "watchlist",
    "weight_line",
]

_NAME_WIDTH = 10
UNCONFIRMED = ("⚠️ I could not confirm that this was saved (the database is slow right now). "
               "Check with /alerts or /watchlist in a moment before trying again.")
"""The answer when the database writer did not acknowledge a write in time."""


def not_saved_text(reason: str) -> str:
    """The answer when the database refused a write (nothing changed): the rule it broke."""
    return f"⚠️ {escape(reason)}"


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
    quoted = code(shown(error.text))
    if isinstance(error, InvalidSymbolFormat):
        return f"⚠️ {quoted} is not a coin: {escape(error.reason)}."
    if error.status is not None:
        return f"⚠️ {quoted} is not trading right now (status {escape(shown(error.status))})."
    line = f"⚠️ I don't know the coin {quoted}."
    if error.suggestions:
        line += " Did you mean " + ", ".join(code(s) for s in error.suggestions[:5]) + "?"
    return line


def quotes_text(
    tickers: Sequence[Ticker24h],
    unknown: Sequence[tuple[str, str]] = (),
    *,
    stale_age_s: float | None = None,
    reason: str | None = None,
    unavailable: MarketUnavailable | None = None,
) -> str:
    """/price: the coins' lines (stale ones labelled), then one line about the coins not
    understood: a single one quoted (cut short) with why, several counted with one excerpt.
    Ten 400-character arguments once came back in full, twice each: 10 messages, 33 KB."""
    if unavailable is not None:
        lines = [unavailable_text(unavailable)]
    else:
        lines = [price_lines(tickers)] if tickers else []
        if stale_age_s is not None:
            lines.insert(0, stale_line(stale_age_s, reason))
    lines.extend(unknown_coins_lines(unknown))
    return "\n".join(lines) or "No prices to show."


_PROBLEM_MAX = 160
"""A problem text is ours, but quotes the exchange's suggestions: bounded all the same."""


def unknown_coins_lines(unknown: Sequence[tuple[str, str]]) -> list[str]:
    """At most one line, quoting at most one excerpt of what the user typed."""
    if not unknown:
        return []
    text, problem = unknown[0]
    if len(unknown) == 1:
        reason = problem if len(problem) <= _PROBLEM_MAX else problem[:_PROBLEM_MAX - 1] + "…"
        return [f"⚠️ {code(shown(text))}: {escape(reason)}"]
    more = len(unknown) - 1
    return [f"⚠️ {len(unknown)} of your coins were not recognised: {code(shown(text))} and "
            f"{more} more."]


def alert_deleted_text(alert_id: int) -> str:
    return f"🗑 Alert #{alert_id} deleted."


def alert_rearmed_text(alert_id: int) -> str:
    return (f"🔁 Alert #{alert_id} re-armed: it fires at the next crossing, once the value is "
            "back across the level.")


def alert_twin_text(alert_id: int, twin_id: int) -> str:
    """Re-arm pressed while the same condition is watched by another live alert."""
    return (f"🔁 Alert #{alert_id} was not re-armed: alert #{twin_id} already watches the same "
            "condition.")


def watch_changed_text(symbol: str, added: bool, changed: bool) -> str:
    """/watch and /unwatch, saying so when nothing had to change."""
    verb = "added to" if added else "removed from"
    note = "" if changed else " (it already was)"
    return f"👀 {bold(symbol)} {verb} your watchlist{note}."


def _watch_line(row: WatchRow) -> str:
    price = "n/a" if row.price is None else format_price(row.price)
    if row.change_pct is None:
        change = f"  {'n/a':>8}"
    else:
        change = f"{arrow(row.change_pct)} {format_percent(row.change_pct):>8}"
    line = f"{row.symbol:<{_NAME_WIDTH}} {change}  {price}"
    return line + (f"  ({row.note})" if row.note else "")


def watch_note(*, stale_age_s: float | None = None, missing: str | None = None) -> str | None:
    """The note after a watchlist row: why its figures are missing, or how old they are."""
    if missing is not None:
        return missing or "unavailable"
    return None if stale_age_s is None else f"stale: {format_age(stale_age_s)} old"


def watchlist(rows: Sequence[WatchRow]) -> str:
    """/watchlist: a monospace table of the watched symbols."""
    if not rows:
        return f"Your watchlist is empty. Add a coin with {code('/watch btc')}."
    table = escape("\n".join(_watch_line(row) for row in rows))
    return f"{bold('Watchlist')}\n<pre>{table}</pre>"
