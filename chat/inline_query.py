"""What an inline query asks for: ``btc`` a price, ``btc 4h`` an analysis, ``btc eth sol`` prices.

Pure and cheap, because it runs on every keystroke: the conversation reads each query once
when it arrives (an empty or unreadable one is answered with help at once, without a worker),
and the worker answers the reading. Words are separated by spaces or commas; a leading
``price``/``analysis`` (with or without a slash, as in the commands) is understood and dropped.
Coins are not checked here: the market resolves them (an unknown coin gets suggestions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chat.arguments import DEFAULT_INTERVAL, UsageError, parse_interval, shown

__all__ = ["MAX_INLINE_COINS", "QUERY_MAX", "AnalysisQuery", "HelpQuery", "InlineReading",
           "PriceQuery", "read_inline_query"]

MAX_INLINE_COINS = 5
"""Coins one inline query may price: one ticker call, a handful of results."""
QUERY_MAX = 256
"""Telegram never sends a longer query; anything longer is cut to this before reading."""
_SEPARATORS = re.compile(r"[\s,]+")
_PRICE_WORDS = frozenset({"price", "/price"})
_ANALYSIS_WORDS = frozenset({"analysis", "/analysis"})


@dataclass(frozen=True, slots=True)
class PriceQuery:
    """Price cards for one or more coins."""

    coins: tuple[str, ...]
    """Coin texts as typed (1 to ``MAX_INLINE_COINS``)."""
    interval_ignored: bool = False
    """An interval came with several coins: an analysis takes one coin, so prices instead."""


@dataclass(frozen=True, slots=True)
class AnalysisQuery:
    """The analysis summary of one coin on one interval."""

    coin: str
    """Coin text as typed."""
    interval: str
    """A checked Binance interval."""


@dataclass(frozen=True, slots=True)
class HelpQuery:
    """Nothing to look up: answer how to use inline mode (and what was wrong, if anything)."""

    problem: str | None = None
    """Plain text: why the query could not be read; None for an empty query."""


InlineReading = PriceQuery | AnalysisQuery | HelpQuery


def _interval(word: str) -> str | None:
    try:
        return parse_interval(word)
    except UsageError:
        return None


def read_inline_query(query: str) -> InlineReading:
    """The meaning of ``query`` (what the user typed after the bot's username)."""
    words = [word for word in _SEPARATORS.split(query[:QUERY_MAX].strip()) if word]
    analysis_word = bool(words) and words[0].lower() in _ANALYSIS_WORDS
    if words and (analysis_word or words[0].lower() in _PRICE_WORDS):
        words = words[1:]
    if not words:
        return HelpQuery()
    if len(words) > MAX_INLINE_COINS + 1:
        return HelpQuery(f"At most {MAX_INLINE_COINS} coins at a time.")
    intervals = [(word, found) for word in words if (found := _interval(word)) is not None]
    coins = tuple(word for word in words if _interval(word) is None)
    if len(coins) > MAX_INLINE_COINS:
        return HelpQuery(f"At most {MAX_INLINE_COINS} coins at a time.")
    if len(intervals) > 1:
        return HelpQuery("One interval at most, like btc 4h.")
    if not coins:
        return HelpQuery(f"Type a coin before the interval, like btc {shown(words[0])}.")
    if intervals and len(coins) == 1:
        return AnalysisQuery(coins[0], intervals[0][1])
    if analysis_word and len(coins) == 1:
        return AnalysisQuery(coins[0], DEFAULT_INTERVAL)
    return PriceQuery(coins, interval_ignored=bool(intervals))
