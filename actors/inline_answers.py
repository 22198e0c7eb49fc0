"""A command worker's inline work: look the query up in the market, quickly, and build results.

Not an actor: runs in a command worker's thread (``actors.command_worker``), like a command
handler. Everything goes through :class:`~actors.market_access.MarketAccess` with a short
deadline (``INLINE_DEADLINE_S``), so a fresh cache entry answers at once, a slow or failing
exchange gives the cached figures labelled stale, and nothing cached gives "no data right
now": a user typing never waits on the exchange for long, and Telegram stops waiting after
a few seconds anyway. Every path ends in results (an error too), never in silence.
"""

from __future__ import annotations

import logging

from actors.market_access import MarketAccess
from chat.cards_inline import (
    INTERVAL_IGNORED,
    InlineResults,
    analysis_results,
    answer_to,
    failed_results,
    help_results,
    price_results,
    unknown_coin_results,
    with_help,
)
from chat.inline_query import AnalysisQuery, HelpQuery, PriceQuery
from core.errors import BotError
from core.logs import log_event
from market.errors import InvalidSymbolFormat, UnknownSymbol
from messages.inline import InlineDone, RunInline

__all__ = ["INLINE_DEADLINE_S", "answer_inline", "inline_results"]

logger = logging.getLogger(__name__)

INLINE_DEADLINE_S = 2.0
"""Longest wait on the market for one inline answer (a command waits up to 5 s)."""


def inline_results(market: MarketAccess, run: RunInline, *,
                   deadline_s: float = INLINE_DEADLINE_S) -> InlineResults:
    """The results for ``run``'s reading; raises only on unexpected ``BotError``s."""
    reading, request_id = run.reading, run.request_id
    try:
        match reading:
            case PriceQuery():
                quotes = market.quotes(reading.coins, request_id=request_id,
                                       deadline_s=deadline_s)
                results = price_results(quotes.tickers, quotes.unknown,
                                        stale_age_s=quotes.stale_age_s, reason=quotes.reason,
                                        unavailable=quotes.unavailable)
                return with_help(results, INTERVAL_IGNORED) if reading.interval_ignored \
                    else results
            case AnalysisQuery():
                return analysis_results(market.analysis(
                    reading.coin, reading.interval, request_id=request_id,
                    deadline_s=deadline_s))
            case HelpQuery():
                return help_results(reading.problem)
    except (UnknownSymbol, InvalidSymbolFormat) as exc:
        return unknown_coin_results(exc)
    raise TypeError(f"not an inline reading: {reading!r}")


def answer_inline(market: MarketAccess, run: RunInline, worker: str, *,
                  deadline_s: float = INLINE_DEADLINE_S) -> InlineDone:
    """``run`` answered: its results, or help saying something went wrong."""
    try:
        results = inline_results(market, run, deadline_s=deadline_s)
    except BotError as exc:
        log_event(logger, "chat.inline_failed", logging.ERROR, error=repr(exc),
                  request_id=run.request_id)
        results = failed_results()
    return InlineDone(request_id=run.request_id, user_id=run.query.user_id,
                      answer=answer_to(run.query, results), outcome=results.outcome,
                      worker=worker)
